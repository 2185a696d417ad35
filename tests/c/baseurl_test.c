/*
** baseurl_test.c -- the base URL parser (host/pure/baseurl.c): what it
** accepts and how it normalizes, what it refuses and with which message
** (never quoting the URL), agreement with netpolicy, and agreement with
** libcurl itself: every URL it accepts, from the table and from 40000
** random mutations, must be one curl parses to the same scheme, host
** and port. libcurl is the oracle here, not a part: it is loaded with
** dlopen at run time, and the test links only pure modules.
*/
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>          /* types only: nothing of it is linked */

#include "pure/baseurl.h"
#include "pure/netpolicy.h"
#include "unit.h"

struct good {
    const char *in, *scheme, *host;
    unsigned port;
    const char *url;
};

static const struct good good[] = {
    {"http://127.0.0.1:8000/", "http", "127.0.0.1", 8000,
     "http://127.0.0.1:8000"},
    {"https://ondemand.thetaedgecloud.com", "https",
     "ondemand.thetaedgecloud.com", 443,
     "https://ondemand.thetaedgecloud.com"},
    {"https://x.example/api//", "https", "x.example", 443,
     "https://x.example/api"},
    {"HTTPS://X.EXAMPLE", "https", "x.example", 443, "HTTPS://X.EXAMPLE"},
    {"hTtP://Example.COM.:8080/v1/", "http", "example.com", 8080,
     "hTtP://Example.COM.:8080/v1"},
    {"http://[::1]:9/", "http", "::1", 9, "http://[::1]:9"},
    {"http://[2001:DB8::1]", "http", "2001:db8::1", 80,
     "http://[2001:DB8::1]"},
    {"https://[::ffff:127.0.0.1]:8443/x", "https", "::ffff:127.0.0.1",
     8443, "https://[::ffff:127.0.0.1]:8443/x"},
    {"https://a.b/c/d", "https", "a.b", 443, "https://a.b/c/d"},
    {"https://x.example///", "https", "x.example", 443,
     "https://x.example"},
    {"http://localhost:65535", "http", "localhost", 65535,
     "http://localhost:65535"},
    {"http://x_y.example:1/", "http", "x_y.example", 1,
     "http://x_y.example:1"},
    {"http://x.example:0080", "http", "x.example", 80,
     "http://x.example:0080"},
    {"http://10.0.0.7:80/a%20b/\xc3\xbc", "http", "10.0.0.7", 80,
     "http://10.0.0.7:80/a%20b/\xc3\xbc"},
};

#define NGOOD (sizeof good / sizeof good[0])

static const char MSG_EMPTY[] = "empty URL";
static const char MSG_LONG[] = "URL too long";
static const char MSG_BLANK[] = "a URL has no spaces or control characters";
static const char MSG_SCHEME[] = "expected an http:// or https:// URL";
static const char MSG_CRED[] = "credentials in the URL (user:pass@) are "
    "refused: give them to their own secret setting";
static const char MSG_QUERY[] = "a base URL has no ?query or #fragment";
static const char MSG_BAD[] = "not a valid URL";

static const struct bad {
    const char *in, *msg;
} bad[] = {
    {"", MSG_EMPTY},
    {"   ", MSG_BLANK},
    {" http://x.example", MSG_BLANK},
    {"http://x.example ", MSG_BLANK},
    {"http://x.ex ample", MSG_BLANK},
    {"http://x.example/a\nb", MSG_BLANK},
    {"http://x.example/\tSeCrEt", MSG_BLANK},
    {"http://x.example/\x7fSeCrEt", MSG_BLANK},
    {"http://x.example/\x01", MSG_BLANK},
    {"http://x.example\r", MSG_BLANK},
    {"ftp://x.example", MSG_SCHEME},
    {"x.example", MSG_SCHEME},
    {"//x.example", MSG_SCHEME},
    {"javascript:alert(1)", MSG_SCHEME},
    {"file:///etc/passwd", MSG_SCHEME},
    {"http:/x.example", MSG_SCHEME},
    {"http:x.example", MSG_SCHEME},
    {"httpx://x.example", MSG_SCHEME},
    {"ws://x.example", MSG_SCHEME},
    {"http://user:SeCrEtPw@x.example", MSG_CRED},
    {"http://SeCrEtUser@x.example/", MSG_CRED},
    {"http://@x.example", MSG_CRED},
    {"http://x.example\\@y.example/", MSG_CRED},
    {"http://x.example/@SeCrEt", MSG_CRED},
    {"http://x.example/?key=SeCrEt", MSG_QUERY},
    {"http://x.example/#SeCrEt", MSG_QUERY},
    {"http://x.example?", MSG_QUERY},
    {"http://x.example\\SeCrEt", MSG_BAD},
    {"https://", MSG_BAD},
    {"http://", MSG_BAD},
    {"https://:443", MSG_BAD},
    {"http://:80/", MSG_BAD},
    {"http:///x.example", MSG_BAD},
    {"http://[::1", MSG_BAD},
    {"http://[::1]x", MSG_BAD},
    {"http://[]/", MSG_BAD},
    {"http://[127.0.0.1]/", MSG_BAD},
    {"http://[x.example]/", MSG_BAD},
    {"http://[fe80::1%25eth0]/", MSG_BAD},
    {"http://::1/", MSG_BAD},
    {"http://x.example:", MSG_BAD},
    {"http://x.example:/", MSG_BAD},
    {"http://[::1]:", MSG_BAD},
    {"http://x.example:0", MSG_BAD},
    {"http://x.example:65536", MSG_BAD},
    {"http://x.example:123456", MSG_BAD},
    {"http://x.example:8o", MSG_BAD},
    {"http://x.example:+80", MSG_BAD},
    {"http://x.example:-1", MSG_BAD},
    {"http://x.example:80:80", MSG_BAD},
    {"http://127.1/", MSG_BAD},
    {"http://0x7f.0.0.1/", MSG_BAD},
    {"http://010.0.0.1/", MSG_BAD},
    {"http://2130706433/", MSG_BAD},
    {"http://127.0.0.1./", MSG_BAD},
    {"http://1.2.3.4.5/", MSG_BAD},
    {"http://999.1.1.1/", MSG_BAD},
    {"http://b\xc3\xbc" "cher.example/", MSG_BAD},
    {"http://b%C3%BCcher.example/", MSG_BAD},
    {"http://x..example/", MSG_BAD},
    {"http://.x.example/", MSG_BAD},
    {"http://x.123/", MSG_BAD},
    {"http://x!y.example/", MSG_BAD},
};

#define NBAD (sizeof bad / sizeof bad[0])

/* ---- the table ---- */

static void test_accepts_and_normalizes(void)
{
    struct baseurl b;
    char err[256];
    for (size_t i = 0; i < NGOOD; i++) {
        err[0] = '\0';
        if (baseurl_parse(good[i].in, &b, err, sizeof err) != 0) {
            fprintf(stderr, "  refused: %s (%s)\n", good[i].in, err);
            CHECK(0);
            continue;
        }
        CHECK_STR(b.scheme, good[i].scheme);
        CHECK_STR(b.host, good[i].host);
        CHECK_INT(b.port, good[i].port);
        CHECK_STR(b.url, good[i].url);
        CHECK_INT(b.len, strlen(good[i].url));
    }
}

static void test_refuses_with_its_message(void)
{
    struct baseurl b;
    char err[256];
    for (size_t i = 0; i < NBAD; i++) {
        err[0] = '\0';
        int rc = baseurl_parse(bad[i].in, &b, err, sizeof err);
        if (rc != -1 || strcmp(err, bad[i].msg) != 0)
            fprintf(stderr, "  %s: got %d \"%s\"\n", bad[i].in, rc, err);
        CHECK_INT(rc, -1);
        CHECK_STR(err, bad[i].msg);
        CHECK(strstr(err, "SeCrEt") == NULL);   /* never quotes input */
    }
}

static void test_lengths(void)
{
    static char url[BASEURL_MAX + 2];
    struct baseurl b;
    char err[256];
    memcpy(url, "https://x.example/", 18);
    memset(url + 18, 'a', BASEURL_MAX - 18);
    url[BASEURL_MAX] = '\0';
    CHECK_INT(baseurl_parse(url, &b, err, sizeof err), 0);
    CHECK_INT(b.len, BASEURL_MAX);
    url[BASEURL_MAX] = 'a';
    url[BASEURL_MAX + 1] = '\0';
    CHECK_INT(baseurl_parse(url, &b, err, sizeof err), -1);
    CHECK_STR(err, MSG_LONG);
    memcpy(url, "https://", 8);         /* a 300-byte host */
    memset(url + 8, 'h', 300);
    url[308] = '\0';
    CHECK_INT(baseurl_parse(url, &b, err, sizeof err), -1);
    CHECK_STR(err, MSG_BAD);
    CHECK_INT(baseurl_parse("http://x", &b, NULL, 0), 0);  /* no err */
    CHECK_INT(baseurl_parse("http://", &b, NULL, 0), -1);
    CHECK_INT(baseurl_parse("http://x", &b, err, 4), 0);
    CHECK_INT(baseurl_parse("ftp://x", &b, err, 4), -1);
    CHECK_STR(err, "exp");              /* cut, still terminated */
}

/*
** The host and port it gives are the ones the egress policy and the
** secret bindings compare: already normalized, configured as they are,
** and matching the URL's host however it was spelled.
*/
static void test_agrees_with_netpolicy(void)
{
    struct netpolicy np;
    struct netpolicy_verdict v;
    struct baseurl b;
    char err[256], again[NETPOLICY_HOST_MAX], spelled[NETPOLICY_HOST_MAX];
    for (size_t i = 0; i < NGOOD; i++) {
        if (baseurl_parse(good[i].in, &b, err, sizeof err) != 0)
            continue;
        netpolicy_init(&np);
        CHECK(netpolicy_host_normalize(b.host, again, sizeof again, NULL,
                                       0) > 0);
        CHECK_STR(again, b.host);
        CHECK_INT(netpolicy_add_host(&np, b.host, b.port, err, sizeof err),
                  0);
        const char *h = good[i].in + strlen(b.scheme) + 3;
        size_t hn = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
        snprintf(spelled, sizeof spelled, "%.*s", (int)hn, h);
        CHECK(netpolicy_is_configured(&np, spelled, b.port));
        CHECK(!netpolicy_is_configured(&np, spelled, b.port + 1));
        CHECK(netpolicy_check_url(&np, b.scheme, b.host, b.port, &v));
    }
}

/* ---- libcurl as the oracle ---- */

static struct {
    CURLU *(*url)(void);
    void (*cleanup)(CURLU *);
    CURLUcode (*set)(CURLU *, CURLUPart, const char *, unsigned int);
    CURLUcode (*get)(const CURLU *, CURLUPart, char **, unsigned int);
    void (*free)(void *);
} cu;

static int curl_open(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return -1;
    *(void **)&cu.url = dlsym(h, "curl_url");
    *(void **)&cu.cleanup = dlsym(h, "curl_url_cleanup");
    *(void **)&cu.set = dlsym(h, "curl_url_set");
    *(void **)&cu.get = dlsym(h, "curl_url_get");
    *(void **)&cu.free = dlsym(h, "curl_free");
    return cu.url && cu.cleanup && cu.set && cu.get && cu.free ? 0 : -1;
}

/* Does curl read `in` as the same scheme, host and port as b? */
static int curl_agrees(const char *in, const struct baseurl *b)
{
    CURLU *u = cu.url();
    char *scheme = NULL, *host = NULL, *port = NULL, norm[256];
    int same = u && cu.set(u, CURLUPART_URL, in, 0) == CURLUE_OK &&
        cu.get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        cu.get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        cu.get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
        CURLUE_OK &&
        strcmp(scheme, b->scheme) == 0 &&
        netpolicy_host_normalize(host, norm, sizeof norm, NULL, 0) > 0 &&
        strcmp(norm, b->host) == 0 && strtoul(port, NULL, 10) == b->port;
    cu.free(scheme);
    cu.free(host);
    cu.free(port);
    cu.cleanup(u);
    return same;
}

static int check_with_curl(const char *in)
{
    struct baseurl b;
    if (baseurl_parse(in, &b, NULL, 0) != 0)
        return 0;
    if (!curl_agrees(in, &b) || !curl_agrees(b.url, &b)) {
        fprintf(stderr, "  curl reads it otherwise: %s\n", in);
        CHECK(0);
    }
    return 1;
}

/* One random edit of s: a byte from a set that matters to URLs put in,
** replaced or taken out. */
static void mutate(char *s, size_t size, unsigned *seed)
{
    static const char alphabet[] = ":/@[]\\.%?#0123456789abcfxAF_- \t"
                                   "\x7f\xc3\xbc";
    size_t n = strlen(s), at = n ? (size_t)rand_r(seed) % (n + 1) : 0;
    char c = alphabet[rand_r(seed) % (int)(sizeof alphabet - 1)];
    int op = rand_r(seed) % 3;
    if (op == 0 && n + 1 < size) {
        memmove(s + at + 1, s + at, n - at + 1);
        s[at] = c;
    } else if (op == 1 && at < n) {
        s[at] = c;
    } else if (at < n) {
        memmove(s + at, s + at + 1, n - at);
    }
}

static void test_never_looser_than_curl(void)
{
    unsigned seed = 20240501;
    int accepted = 0;
    char s[128];
    if (curl_open() != 0) {
        fprintf(stderr, "  libcurl.so.4 not found: comparison skipped\n");
        return;
    }
    for (size_t i = 0; i < NGOOD; i++)
        accepted += check_with_curl(good[i].in);
    CHECK_INT(accepted, NGOOD);
    for (int t = 0; t < 40000; t++) {
        const char *seedurl = t % 2 ? good[(size_t)t / 2 % NGOOD].in
                                    : bad[(size_t)t / 2 % NBAD].in;
        snprintf(s, sizeof s, "%s", seedurl);
        for (int k = 1 + rand_r(&seed) % 3; k > 0; k--)
            mutate(s, sizeof s, &seed);
        accepted += check_with_curl(s);
    }
    CHECK(accepted > 4000);             /* the mutations reach both sides */
}

int main(void)
{
    RUN(test_accepts_and_normalizes);
    RUN(test_refuses_with_its_message);
    RUN(test_lengths);
    RUN(test_agrees_with_netpolicy);
    RUN(test_never_looser_than_curl);
    return unit_done("baseurl");
}
