/*
** retry.c -- when an HTTP attempt may be tried again, and after how
** long.
**
** Safe-to-retry is decided by whether the server could have acted
** (urllib3 and gRPC do the same, reliability-anchors 2.2): a refusal
** that says "not now" (429, 425, Theta's 409) or a failure before
** sending is always retried; anything the server may have processed
** only for idempotent methods or with an idempotency key.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pure/retry.h"

#define MAX_RETRY_AFTER_MS (24L * 3600 * 1000)

int retry_is_capacity(const char *body, size_t len)
{
    static const char *const words[] = {"no", "instances", "available"};
    size_t i = 0;
    if (!body)
        return 0;
    /* "no\s+instances\s+available", case-insensitive, anywhere */
    for (size_t start = 0; start < len; start++) {
        i = start;
        int w;
        for (w = 0; w < 3; w++) {
            size_t k = strlen(words[w]);
            if (i + k > len || strncasecmp(body + i, words[w], k) != 0)
                break;
            i += k;
            if (w < 2) {
                if (i >= len || !isspace((unsigned char)body[i]))
                    break;
                while (i < len && isspace((unsigned char)body[i]))
                    i++;
            }
        }
        if (w == 3)
            return 1;
    }
    return 0;
}

/* Statuses that say "try later" without the request being applied. */
static const char *refusal(const struct retry_attempt *a)
{
    switch (a->status) {
    case 425: return "425 too early";
    case 429: return "429 too many requests";
    case 409:
        if (retry_is_capacity(a->body, a->body_len))
            return "409 no instances available";
        /* with an idempotency key, 409 means the first request with
        ** that key is still running (IETF idempotency-key draft) */
        return a->has_key ? "409 request with this key in flight" : NULL;
    default: return NULL;
    }
}

/* Statuses after which the server may have done the work. */
static const char *maybe_applied(long status)
{
    if (status == 408)
        return "408 request timeout";
    if (status >= 500 && status <= 599 && status != 501 && status != 505)
        return "server error";
    return NULL;
}

const char *retry_should(const struct retry_attempt *a)
{
    const char *why;
    if (a->stream_started || a->outcome == RETRY_FINAL)
        return NULL;
    if (a->outcome == RETRY_NOT_SENT)
        return "connection failed before sending";
    if (a->outcome == RETRY_MAYBE_SENT)
        return a->idempotent || a->has_key ?
               "connection failed after sending" : NULL;
    if ((why = refusal(a)) != NULL)
        return why;
    why = maybe_applied(a->status);
    return why && (a->idempotent || a->has_key) ? why : NULL;
}

long retry_backoff_ms(int n, long base_ms, long cap_ms, double unit)
{
    double ceiling = (double)base_ms;
    for (int i = 1; i < n && ceiling < (double)cap_ms; i++)
        ceiling *= 2;
    if (ceiling > (double)cap_ms)
        ceiling = (double)cap_ms;
    if (unit < 0 || unit >= 1)
        unit = 0;
    return (long)(unit * (ceiling + 1));
}

long retry_after_ms(const char *value, time_t now)
{
    struct tm tm;
    char *end;
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    if (isdigit((unsigned char)*value)) {
        long s = strtol(value, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end || s < 0)
            return -1;
        return s > MAX_RETRY_AFTER_MS / 1000 ? MAX_RETRY_AFTER_MS :
               s * 1000;
    }
    /* IMF-fixdate, then the obsolete RFC 850 and asctime forms that
    ** RFC 9110 5.6.7 says recipients must accept */
    static const char *const forms[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                        "%A, %d-%b-%y %H:%M:%S GMT",
                                        "%a %b %e %H:%M:%S %Y", NULL};
    end = NULL;
    for (int i = 0; forms[i] && !(end && !*end); i++) {
        memset(&tm, 0, sizeof tm);
        end = strptime(value, forms[i], &tm);
    }
    if (!end || *end)
        return -1;
    time_t at = timegm(&tm);
    if (at <= now)
        return 0;
    double ms = difftime(at, now) * 1000.0;
    return ms > MAX_RETRY_AFTER_MS ? MAX_RETRY_AFTER_MS : (long)ms;
}
