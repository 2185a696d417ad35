/*
** retry.h -- when an HTTP attempt may be tried again, and after how
** long. Pure policy: no curl, no Lua (DESIGN section 4,
** reliability-anchors section 2).
*/
#ifndef CLAWHOST_RETRY_H
#define CLAWHOST_RETRY_H

#include <stddef.h>
#include <time.h>

/* How an attempt ended. */
enum retry_outcome {
    RETRY_RESPONSE,         /* a status line arrived */
    RETRY_NOT_SENT,         /* failed before any byte was sent (dns,
                               connect, TLS handshake) */
    RETRY_MAYBE_SENT,       /* failed after sending began (timeout,
                               reset, truncated reply) */
    RETRY_FINAL             /* never retried (policy, size, cancel) */
};

struct retry_attempt {
    enum retry_outcome outcome;
    long status;            /* for RETRY_RESPONSE */
    const char *body;       /* response body, for Theta's 409 */
    size_t body_len;
    int idempotent;         /* GET, HEAD, PUT, DELETE, OPTIONS */
    int has_key;            /* carries an Idempotency-Key */
    int stream_started;     /* a stream already handed data over */
};

/*
** Whether to try again: 408, 425, 429, most 5xx, Theta's 409 "No
** instances available" (and any 409 for a request with an idempotency
** key: its first attempt is still running), and failures before
** sending. A request the server may have acted on (a 5xx, a timeout
** after sending) is repeated only when the method is idempotent or it
** carries an idempotency key (RFC 9110 9.2.2). Returns a short reason,
** or NULL for "do not retry".
*/
const char *retry_should(const struct retry_attempt *a);

/*
** Full-jitter backoff before retry number n (1-based):
** uniform in [0, min(cap_ms, base_ms * 2^(n-1))]; `unit` is a random
** number in [0, 1).
*/
long retry_backoff_ms(int n, long base_ms, long cap_ms, double unit);

/*
** A Retry-After header value in milliseconds from `now`: delta-seconds
** or an HTTP date (RFC 9110 10.2.3). -1 when absent or unparsable;
** dates in the past give 0.
*/
long retry_after_ms(const char *value, time_t now);

/* Is `body` Theta's temporary capacity refusal? */
int retry_is_capacity(const char *body, size_t len);

#endif
