/*
** curlurl.c -- a request URL built with libcurl's URL API (curlurl.h).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl/curlfn.h"
#include "curl/curlurl.h"

static int part(CURLU *u, CURLUPart which, unsigned flags, char *out,
                size_t size)
{
    char *v = NULL;
    int ok = curl_url_get(u, which, &v, flags) == CURLUE_OK;
    if (ok)
        snprintf(out, size, "%s", v);
    curl_free(v);
    return ok;
}

/* Scheme, host and port as libcurl will connect; credentials refused,
** since they would travel outside the secret type and show in logs. */
static int take_apart(CURLU *u, struct curlurl *out)
{
    char port[16], user[8];
    if (part(u, CURLUPART_USER, 0, user, sizeof user))
        return CURLURL_CREDENTIALS;
    part(u, CURLUPART_SCHEME, 0, out->scheme, sizeof out->scheme);
    part(u, CURLUPART_HOST, CURLU_PUNYCODE, out->host, sizeof out->host);
    part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, port, sizeof port);
    out->port = (unsigned)atoi(port);
    return CURLURL_OK;
}

static int parse(const char *url, const char *const *pairs,
                 size_t npairs, struct curlurl *out)
{
    char *full = NULL;
    int st;
    CURLU *u = curl_url();
    if (!u)
        return CURLURL_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
        CURLUE_OK)
        st = CURLURL_INVALID;
    else
        st = take_apart(u, out);
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    for (size_t i = 0; st == CURLURL_OK && i < npairs; i++)
        curl_url_set(u, CURLUPART_QUERY, pairs[i],
                     CURLU_APPENDQUERY | CURLU_URLENCODE);
    if (st == CURLURL_OK)
        curl_url_get(u, CURLUPART_URL, &full, 0);
    curl_url_cleanup(u);
    if (st == CURLURL_OK && !(out->url = full ? strdup(full) : NULL))
        st = CURLURL_NOMEM;
    curl_free(full);
    return st;
}

/*
** The last URL without query pairs that parsed, and what it gave: the
** parse is a function of the text alone, and requests in a row to one
** URL (polling, a bench) would parse it again each time, about a tenth
** of a small request's time (bench/README.md section 7).
*/
static struct {
    char *in;
    struct curlurl out;
} last;

static int remembered(const char *url, struct curlurl *out)
{
    if (!last.in || strcmp(last.in, url) != 0)
        return 0;
    *out = last.out;
    out->url = strdup(last.out.url);
    return 1;
}

static void remember(const char *url, const struct curlurl *out)
{
    char *in = strdup(url), *copy = strdup(out->url);
    if (!in || !copy) {
        free(in);
        free(copy);
        return;
    }
    curlurl_forget();
    last.in = in;
    last.out = *out;
    last.out.url = copy;
}

void curlurl_forget(void)
{
    free(last.in);
    free(last.out.url);
    memset(&last, 0, sizeof last);
}

int curlurl_build(const char *url, const char *const *pairs, size_t npairs,
                  struct curlurl *out, char *err, size_t errlen)
{
    int st;
    memset(out, 0, sizeof *out);
    if (curlfn_load(err, errlen) != 0)
        return CURLURL_NO_LIBCURL;
    if (npairs == 0 && remembered(url, out))
        st = out->url ? CURLURL_OK : CURLURL_NOMEM;
    else if ((st = parse(url, pairs, npairs, out)) == CURLURL_OK &&
             npairs == 0)
        remember(url, out);
    snprintf(err, errlen, "%s", st == CURLURL_INVALID ? "not a valid "
             "absolute URL" : st == CURLURL_CREDENTIALS ? "credentials in "
             "the URL are refused" : st == CURLURL_NOMEM ? "out of memory"
             : "");
    return st;
}
