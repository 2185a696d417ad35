/*
** curlurl.h -- a request URL taken apart and put together by libcurl's
** URL API, so that the policy checks and the request agree on the host
** (libcurl-security.md: parse once, with the parser that connects).
*/
#ifndef CLAWHOST_CURLURL_H
#define CLAWHOST_CURLURL_H

#include <stddef.h>

#include "pure/netpolicy.h"

enum curlurl_status {
    CURLURL_OK = 0,
    CURLURL_INVALID,            /* not an absolute URL libcurl takes */
    CURLURL_CREDENTIALS,        /* user:password@ in it */
    CURLURL_NOMEM,
    CURLURL_NO_LIBCURL          /* libcurl could not be loaded */
};

struct curlurl {
    char scheme[16];
    char host[NETPOLICY_HOST_MAX];  /* as libcurl connects: punycode */
    unsigned port;                  /* effective: 443 for https, ... */
    char *url;                      /* malloc'd: the whole URL, sent */
};

/*
** Parse url, drop its fragment, append the query pairs ("k=v", each
** URL-encoded by libcurl, in the order given) and fill out. On failure
** out->url is NULL and err says why (for CURLURL_NO_LIBCURL, what the
** loader said).
*/
int curlurl_build(const char *url, const char *const *pairs, size_t npairs,
                  struct curlurl *out, char *err, size_t errlen);

/* Drop the remembered last URL (at exit). */
void curlurl_forget(void);

#endif
