/*
** baseurl.h -- a configured base URL (THREADS_FASTAPI_BASE_URL, ...),
** parsed strictly and without libcurl.
**
** Accepted: http:// or https:// (any case), a host that is a DNS name,
** an IPv4 address in dotted decimal or an IPv6 address in [brackets],
** an optional :PORT (1-65535), an optional /path. Refused: user:pass@,
** ?query, #fragment, spaces, control bytes, backslashes, non-ASCII
** hosts, and anything else libcurl might read differently: every URL
** accepted here is one libcurl parses to the same scheme, host and port
** (tests/c/baseurl_test.c holds both to that), never the other way.
**
** Messages never quote the URL: it may hold a token in its path.
**
**     struct baseurl b;
**     if (baseurl_parse(value, &b, err, sizeof err) == 0)
**         netpolicy_add_host(&np, b.host, b.port, err, sizeof err);
*/
#ifndef CLAWHOST_BASEURL_H
#define CLAWHOST_BASEURL_H

#include <stddef.h>

#include "pure/netpolicy.h"

#define BASEURL_MAX 2048        /* bytes of a base URL */

struct baseurl {
    char scheme[6];                 /* "http" or "https" */
    char host[NETPOLICY_HOST_MAX];  /* netpolicy_host_normalize'd */
    unsigned port;                  /* as written, else 80 or 443 */
    char url[BASEURL_MAX + 1];      /* as written, trailing '/' removed */
    size_t len;                     /* of url */
};

/*
** Parse the NUL-terminated text `in` (no blanks around it: a caller
** that takes input from people trims first). Returns 0 with *out
** filled, or -1 with a one-line message in err (*out then undefined).
*/
int baseurl_parse(const char *in, struct baseurl *out, char *err,
                  size_t errlen);

#endif
