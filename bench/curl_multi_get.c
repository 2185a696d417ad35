/*
** curl_multi_get.c -- the plain libcurl baseline of `make bench`
** section 7: what a careful C program gets from the same libcurl.
** Not part of the host; it links libcurl directly and talks to the
** loopback bench server only.
**
**   build/bench/curl_multi_get URL N [BODY_BYTES [same-headers]]
**
** One multi handle and one easy handle whose options are set once; each
** of the N GETs adds the handle, drives the multi handle with
** curl_multi_poll until the transfer is done, and removes it, so the
** connection is kept alive and reused as clawhost's loop does. One
** untimed GET first (libcurl start, the connection). Every response
** must be a 200 with BODY_BYTES bytes (default 13). With same-headers
** the requests also carry the User-Agent and Accept-Encoding headers
** clawhost always sends (the same bytes on the wire; libcurl formats
** them for every request). Prints
** {"requests": N, "seconds": S, "rps": R, "failures": F}.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t count(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    *(size_t *)ud += size * n;
    return size * n;
}

/* One GET on the reused handle: 0 when it was a 200 of `want` bytes. */
static int get_one(CURLM *m, CURL *e, size_t *got, size_t want)
{
    int running = 1, left;
    long status = 0;
    CURLcode rc = CURLE_OK;
    CURLMsg *msg;
    *got = 0;
    if (curl_multi_add_handle(m, e) != CURLM_OK)
        return -1;
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
            rc = msg->data.result;
    curl_multi_remove_handle(m, e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    return rc == CURLE_OK && status == 200 && *got == want ? 0 : -1;
}

int main(int argc, char **argv)
{
    size_t got = 0, want = argc > 3 ? strtoul(argv[3], NULL, 10) : 13;
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0, failures = 0;
    if (argc < 3 || n < 1) {
        fprintf(stderr, "usage: curl_multi_get URL N [BODY_BYTES "
                "[same-headers]]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    CURL *e = curl_easy_init();
    if (!m || !e)
        return 1;
    curl_easy_setopt(e, CURLOPT_URL, argv[1]);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, count);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");     /* no proxy from env */
    if (argc > 4 && strcmp(argv[4], "same-headers") == 0) {
        curl_easy_setopt(e, CURLOPT_USERAGENT, "clawhost/0.1.0");
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    }
    if (get_one(m, e, &got, want) != 0) {
        fprintf(stderr, "curl_multi_get: the first GET failed\n");
        return 1;
    }
    double t0 = now();
    for (long i = 0; i < n; i++)
        failures += get_one(m, e, &got, want) != 0;
    double s = now() - t0;
    printf("{\"requests\": %ld, \"seconds\": %.6f, \"rps\": %.1f, "
           "\"failures\": %ld}\n", n, s, (double)n / s, failures);
    curl_easy_cleanup(e);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
