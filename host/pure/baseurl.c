/*
** baseurl.c -- a configured base URL, parsed strictly and without curl.
**
** Settings validation, a secret's host binding and the egress policy
** all need the scheme, host and port of a base URL. Asking libcurl cost
** a dlopen of 30-odd libraries for a check that is only a few rules, and
** curl is lenient where a base URL should not be ("http:/x", "127.1",
** "x\@y" naming host y). So this parser is narrower than RFC 3986 and
** than curl: whatever it accepts, curl reads the same way.
*/
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pure/baseurl.h"
#include "pure/netpolicy.h"

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -1;
}

static int has_blank_or_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* Length of "http://" or "https://" (any case), else 0. */
static size_t scheme_len(const char *s, struct baseurl *out)
{
    if (strncasecmp(s, "http://", 7) == 0) {
        memcpy(out->scheme, "http", 5);
        out->port = 80;
        return 7;
    }
    if (strncasecmp(s, "https://", 8) == 0) {
        memcpy(out->scheme, "https", 6);
        out->port = 443;
        return 8;
    }
    return 0;
}

/*
** The rules on the whole text, in the order the messages are best
** read: an '@' anywhere is refused as userinfo (curl also finds one
** after a backslash, "http://a\@b" being host b), '?' and '#' because
** a base URL gets paths appended, a backslash because curl and
** browsers read it as '/' in some places and not in others.
*/
static int check_text(const char *s, size_t n, struct baseurl *out,
                      size_t *skip, char *err, size_t errlen)
{
    if (n == 0)
        return fail(err, errlen, "empty URL");
    if (n > BASEURL_MAX)
        return fail(err, errlen, "URL too long");
    if (has_blank_or_control(s, n))
        return fail(err, errlen, "a URL has no spaces or control "
                    "characters");
    if (!(*skip = scheme_len(s, out)))
        return fail(err, errlen, "expected an http:// or https:// URL");
    if (memchr(s, '@', n))
        return fail(err, errlen, "credentials in the URL (user:pass@) "
                    "are refused: give them to their own secret setting");
    if (memchr(s, '?', n) || memchr(s, '#', n))
        return fail(err, errlen, "a base URL has no ?query or #fragment");
    if (memchr(s, '\\', n))
        return fail(err, errlen, "not a valid URL");
    return 0;
}

/*
** host[:port] (a[0..n), between "://" and the path) into the host's
** length and the port text. An IPv6 host has colons of its own, so it
** must be in brackets (RFC 3986 section 3.2.2).
*/
static int split_authority(const char *a, size_t n, size_t *hn,
                           const char **port, size_t *pn)
{
    const char *colon;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return -1;
        *hn = (size_t)(close - a) + 1;
        colon = *hn < n ? a + *hn : NULL;
        if (colon && *colon != ':')
            return -1;
    } else {
        colon = memchr(a, ':', n);
        *hn = colon ? (size_t)(colon - a) : n;
    }
    *port = colon ? colon + 1 : NULL;
    *pn = colon ? n - *hn - 1 : 0;
    return 0;
}

/*
** The host, normalized by netpolicy so bindings and the egress policy
** compare the same text. Brackets hold IPv6 and nothing else; an IPv4
** address must be written as the four decimal numbers it is: "127.1",
** "0x7f.0.0.1" and "010.0.0.1" (octal, 8.0.0.1) hide what they mean.
*/
static int take_host(const char *h, size_t hn, struct baseurl *out)
{
    char text[NETPOLICY_HOST_MAX];
    int kind;
    if (hn >= sizeof text)
        return -1;
    memcpy(text, h, hn);
    text[hn] = '\0';
    kind = netpolicy_host_normalize(text, out->host, sizeof out->host,
                                    NULL, 0);
    if (h[0] == '[')
        return kind == NETPOLICY_HOST_IPV6 ? 0 : -1;
    if (kind == NETPOLICY_HOST_IPV4)
        return strcmp(text, out->host) == 0 ? 0 : -1;
    return kind == NETPOLICY_HOST_NAME ? 0 : -1;
}

int baseurl_parse(const char *in, struct baseurl *out, char *err,
                  size_t errlen)
{
    size_t n = strlen(in), skip = 0, hn, pn;
    const char *auth, *slash, *port;
    memset(out, 0, sizeof *out);
    if (check_text(in, n, out, &skip, err, errlen) != 0)
        return -1;
    auth = in + skip;
    slash = memchr(auth, '/', n - skip);
    if (split_authority(auth, slash ? (size_t)(slash - auth) : n - skip,
                        &hn, &port, &pn) != 0 || hn == 0 ||
        (port && netpolicy_port_parse(port, pn, &out->port) != 0) ||
        take_host(auth, hn, out) != 0)
        return fail(err, errlen, "not a valid URL");
    while (n > skip && in[n - 1] == '/')  /* threads-api.md 4.3: "//api" */
        n--;
    memcpy(out->url, in, n);
    out->url[n] = '\0';
    out->len = n;
    return 0;
}
