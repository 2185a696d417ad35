/*
** transfer.h -- one HTTP attempt over libcurl's multi interface, and
** the I/O source the event loop polls. No Lua here: http.c is the
** binding, netpolicy.c the rules, retry.c the retry policy.
*/
#ifndef CLAWHOST_TRANSFER_H
#define CLAWHOST_TRANSFER_H

#include <stddef.h>

#include "pure/netpolicy.h"
#include "pure/retry.h"
#include "util/dynbuf.h"

struct transfer;

/* A request's header lines ("Name: value") as libcurl takes them. */
struct transfer_hdrs;

/* Append a copy of line; 0, or -1 out of memory (*h unchanged). */
int transfer_hdrs_add(struct transfer_hdrs **h, const char *line);

/* Wipe (they may hold credentials) and free; *h becomes NULL. */
void transfer_hdrs_free(struct transfer_hdrs **h);

/* Load libcurl if it is not yet; 0, or -1 with what the loader said. */
int transfer_load(char *err, size_t errlen);

/* libcurl's version ("8.5.0"), or NULL when it cannot be loaded. */
const char *transfer_curl_version(void);

/* Failure kinds; their names are the stable err.code values. */
enum xfer_error {
    XE_NONE = 0, XE_TIMEOUT, XE_DNS, XE_CONNECT, XE_TLS, XE_BLOCKED,
    XE_TOO_LARGE, XE_CANCELLED, XE_PROTOCOL
};

/* What the transfer tells its owner (from loop context, no Lua). */
enum xfer_event { XEV_HEADERS, XEV_DATA, XEV_DONE };

/* One part of a multipart/form-data body (RFC 7578): a field, or a
** file when filename is set. The bytes are borrowed. */
struct transfer_part {
    const char *name;
    const char *data;
    size_t len;
    const char *filename;           /* NULL: a plain field */
    const char *type;               /* NULL: libcurl's default */
};

struct transfer_opts {
    const char *method;             /* upper case */
    const char *url;                /* absolute, query included */
    const char *host;               /* the URL's host, for the policy */
    unsigned port;
    const struct transfer_hdrs *headers;    /* borrowed; must outlive it */
    const char *body;               /* borrowed; NULL for none */
    size_t body_len;
    long timeout_ms;                /* whole attempt; 0: none */
    long connect_timeout_ms;
    long first_byte_ms;             /* streams: 0 = none */
    long idle_ms;                   /* streams: 0 = none */
    size_t max_bytes;               /* body cap */
    int stream;                     /* deliver the body in pieces */
    int fresh_connection;           /* never on a reused connection */
    dynbuf_alloc_fn alloc;          /* the body buffer's allocator (the
                                       recipe's capped one) or NULL */
    void *alloc_ud;
    int wipe;                       /* zero body memory before reuse */
    void (*on_event)(struct transfer *, enum xfer_event, void *);
    void *ud;
    const struct transfer_part *parts;  /* a form body (POST/PUT), or NULL;
                                           borrowed like body */
    size_t nparts;
    /* bytes sent and received so far, as libcurl reports them (totals
    ** 0 when unknown); called from inside the multi's work, no Lua */
    void (*on_progress)(void *ud, double up, double up_total,
                        double down, double down_total);
};

struct xfer_header {
    char *name;                     /* lower case */
    char *value;
};

/* Start an attempt. Returns NULL and a message when it cannot start. */
struct transfer *transfer_start(const struct transfer_opts *o, char *err,
                                size_t errlen);

/* Stop it (if running) and free everything. */
void transfer_free(struct transfer *t);

/* Abort a running attempt; a later XEV_DONE is not sent. */
void transfer_abort(struct transfer *t);

int transfer_done(const struct transfer *t);
int transfer_headers_done(const struct transfer *t);
long transfer_status(const struct transfer *t);
const struct xfer_header *transfer_headers(const struct transfer *t,
                                           size_t *n);
const char *transfer_header(const struct transfer *t, const char *name);

/* The body so far (non-stream: the whole body once done). */
const char *transfer_body(const struct transfer *t, size_t *len);

/* Streams: the bytes buffered and not read yet, valid until
** transfer_consume(n) marks the first n of them read. Once all are, the
** buffer is emptied (its memory kept) and a paused transfer goes on. */
const char *transfer_peek(const struct transfer *t, size_t *len);
void transfer_consume(struct transfer *t, size_t n);

/* Failure kind, message (names the host) and retry classification. */
enum xfer_error transfer_error(const struct transfer *t);
const char *transfer_message(const struct transfer *t);
enum retry_outcome transfer_outcome(const struct transfer *t);

long transfer_elapsed_ms(const struct transfer *t);
size_t transfer_bytes(const struct transfer *t);

/* Stable code of a failure kind ("timeout", "dns", ...). */
const char *transfer_error_code(enum xfer_error e);

/* The egress policy built from the environment and the CLI. */
const struct netpolicy *transfer_policy(void);

/* netpolicy_check_url against transfer_policy(), the last verdict
** that allowed remembered (the policy does not change in a run). */
int transfer_check_url(const char *scheme, const char *host,
                       unsigned port, struct netpolicy_verdict *v);

/* Why the policy could not be built as configured, or NULL. */
const char *transfer_policy_error(void);

/* Free the multi handle and libcurl's global state (at exit). */
void transfer_shutdown(void);

#endif
