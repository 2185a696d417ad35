/*
** fuzz_sse.c -- libFuzzer target for the SSE parser (host/pure/sse.c).
**
** Oracle: the same bytes must give the same events however they are cut.
** Each input is parsed (1) whole, (2) cut into input-derived random
** pieces (some empty), optionally stopping after every event and
** resuming, and (3) by a deliberately naive reference that follows the
** WHATWG steps literally on the whole buffer. Event lists, the final
** code and the "dropped" flag must agree; a mismatch aborts. The first
** input byte also picks small caps now and then, so the cap errors are
** reached as well.
*/
#include "pure/sse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A byte log of events: lengths and bytes of each field, then retry. */
struct log {
    unsigned char *p;
    size_t len, cap;
    int end, dropped;
};

static void log_add(struct log *l, const void *s, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < l->len + n)
            cap *= 2;
        l->p = realloc(l->p, cap);
        if (!l->p)
            abort();
        l->cap = cap;
    }
    if (n)
        memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void log_field(struct log *l, const char *s, size_t n)
{
    log_add(l, &n, sizeof n);
    log_add(l, s, n);
}

static void log_event(struct log *l, const char *type, size_t tlen,
                      const char *d, size_t dlen, const char *id,
                      size_t idlen, long long retry)
{
    log_field(l, type, tlen);
    log_field(l, d, dlen);
    log_field(l, id, idlen);
    log_add(l, &retry, sizeof retry);
}

static int on_event(void *ud, const struct sse_event *ev)
{
    log_event(ud, ev->type, ev->type_len, ev->data, ev->data_len, ev->id,
              ev->id_len, ev->retry);
    return 0;
}

static int on_event_stop(void *ud, const struct sse_event *ev)
{
    on_event(ud, ev);
    return 1;
}

/* ---- the parser under test ---- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Piece sizes: mostly tiny, sometimes empty, sometimes large. */
static size_t piece_size(uint64_t *s, size_t left)
{
    uint64_t r = rng_next(s);
    size_t n;

    switch (r % 8) {
    case 0:
        n = 0;
        break;
    case 1:
        n = 1 + (r >> 8) % 512;
        break;
    default:
        n = 1 + (r >> 8) % 6;
    }
    return n < left ? n : left;
}

/* Feed a malloc'd copy, freed right away, to catch kept pointers. */
static int feed_piece(struct sse_parser *p, const uint8_t *s, size_t n,
                      int stop, struct log *l, size_t *used)
{
    void *copy = malloc(n ? n : 1);
    int rc;

    if (!copy)
        abort();
    if (n)
        memcpy(copy, s, n);
    rc = sse_feed(p, copy, n, stop ? on_event_stop : on_event, l, used);
    free(copy);
    return rc;
}

static void run_parser(const uint8_t *in, size_t len,
                       const struct sse_config *cfg, uint64_t seed,
                       int stop, struct log *l)
{
    struct sse_parser p;
    size_t off = 0, n, used;
    int rc = SSE_OK;

    sse_init(&p, cfg);
    while (off < len) {
        n = seed ? piece_size(&seed, len - off) : len - off;
        rc = feed_piece(&p, in + off, n, stop, l, &used);
        if (rc < 0)
            break;
        if (rc == SSE_STOPPED && (used == 0 || used > n))
            abort();
        off += rc == SSE_STOPPED ? used : n;
    }
    l->dropped = 0;
    l->end = rc >= 0 ? sse_finish(&p, &l->dropped) : rc;
    if (rc < 0 && sse_finish(&p, NULL) != rc)
        abort();
    sse_free(&p);
}

/* ---- the naive reference: WHATWG 9.2.6, step by step ---- */

struct ref {
    const struct sse_config *cfg;
    unsigned char *data, *type, *id;
    size_t dlen, tlen, idlen;
    long long retry;
};

static void ref_set(unsigned char **buf, size_t *blen, const uint8_t *v,
                    size_t n)
{
    free(*buf);
    *buf = malloc(n ? n : 1);
    if (!*buf)
        abort();
    if (n)
        memcpy(*buf, v, n);
    *blen = n;
}

/* Spec: append the value and one LF; the cap counts what is delivered. */
static int ref_data(struct ref *r, const uint8_t *v, size_t n)
{
    if (r->dlen + n > r->cfg->max_event)
        return SSE_EEVENT;
    r->data = realloc(r->data, r->dlen + n + 1);
    if (!r->data)
        abort();
    if (n)
        memcpy(r->data + r->dlen, v, n);
    r->data[r->dlen + n] = '\n';
    r->dlen += n + 1;
    return SSE_OK;
}

static int ref_field(struct ref *r, const uint8_t *name, size_t nlen,
                     const uint8_t *v, size_t n)
{
    size_t i;

    if (nlen == 4 && !memcmp(name, "data", 4))
        return ref_data(r, v, n);
    if (nlen == 5 && !memcmp(name, "event", 5))
        ref_set(&r->type, &r->tlen, v, n);
    if (nlen == 2 && !memcmp(name, "id", 2) && !memchr(v, 0, n))
        ref_set(&r->id, &r->idlen, v, n);
    if (nlen == 5 && !memcmp(name, "retry", 5) && n > 0) {
        long long x = 0;
        for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++)
            x = x > (INT64_MAX - (v[i] - '0')) / 10 ? INT64_MAX
                                                     : x * 10 + v[i] - '0';
        if (i == n)
            r->retry = x;
    }
    return SSE_OK;
}

static void ref_dispatch(struct ref *r, struct log *l)
{
    if (r->dlen > 0)
        log_event(l, r->tlen ? (char *)r->type : "message",
                  r->tlen ? r->tlen : 7, (char *)r->data, r->dlen - 1,
                  (char *)r->id, r->idlen, r->retry);
    r->dlen = 0;
    r->tlen = 0;
    r->retry = -1;
}

static int ref_line(struct ref *r, const uint8_t *s, size_t n,
                    struct log *l)
{
    const uint8_t *colon;

    if (n > r->cfg->max_line)
        return SSE_ELINE;
    if (n == 0) {
        ref_dispatch(r, l);
        return SSE_OK;
    }
    if (s[0] == ':')
        return SSE_OK;
    colon = memchr(s, ':', n);
    if (!colon)
        return ref_field(r, s, n, s + n, 0);
    n -= (size_t)(colon - s) + 1;
    if (n > 0 && colon[1] == ' ')
        return ref_field(r, s, (size_t)(colon - s), colon + 2, n - 1);
    return ref_field(r, s, (size_t)(colon - s), colon + 1, n);
}

static void run_reference(const uint8_t *in, size_t len,
                          const struct sse_config *cfg, struct log *l)
{
    struct ref r = { cfg, NULL, NULL, NULL, 0, 0, 0, -1 };
    size_t i = 0, j;
    int rc = SSE_OK;

    if (len >= 3 && !memcmp(in, "\xef\xbb\xbf", 3))
        i = 3;
    for (;;) {
        for (j = i; j < len && in[j] != '\r' && in[j] != '\n'; j++)
            ;
        if (j == len)
            break;
        rc = ref_line(&r, in + i, j - i, l);
        if (rc)
            break;
        i = j + 1;
        if (in[j] == '\r' && i < len && in[i] == '\n')
            i++;
    }
    /* The parser holds a BOM prefix back until it knows; at the end of
    ** the stream it is just a cut-off line, not a line over the cap. */
    if (rc == SSE_OK && len - i > cfg->max_line &&
        !(len < 3 && !memcmp(in, "\xef\xbb\xbf", len)))
        rc = SSE_ELINE;
    l->dropped = rc == SSE_OK &&
                 (r.dlen > 0 || (len - i >= 4 && !memcmp(in + i, "data", 4)
                                 && (len - i == 4 || in[i + 4] == ':')));
    l->end = rc;
    free(r.data);
    free(r.type);
    free(r.id);
}

/* ---- the oracle ---- */

static void same(const struct log *a, const struct log *b, const char *what)
{
    if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len)) ||
        a->end != b->end || a->dropped != b->dropped) {
        fprintf(stderr, "fuzz_sse: %s differs (end %d/%d, dropped %d/%d, "
                "log %zu/%zu bytes)\n", what, a->end, b->end, a->dropped,
                b->dropped, a->len, b->len);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sse_config cfg = { SSE_DEFAULT_MAX_LINE, SSE_DEFAULT_MAX_EVENT,
                              NULL, NULL };
    struct log whole = { 0 }, cut = { 0 }, ref = { 0 };
    uint64_t seed = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001b3ull;
    seed |= 1;
    if (size > 0 && (data[0] & 3) == 1) {
        cfg.max_line = 1 + data[0] % 23;
        cfg.max_event = 1 + (size_t)data[size - 1] % 41;
    }
    run_parser(data, size, &cfg, 0, 0, &whole);
    run_parser(data, size, &cfg, seed, (int)(seed >> 9 & 1), &cut);
    run_reference(data, size, &cfg, &ref);
    same(&whole, &cut, "re-chunked parse");
    same(&whole, &ref, "reference parse");
    free(whole.p);
    free(cut.p);
    free(ref.p);
    return 0;
}
