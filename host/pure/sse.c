/*
** sse.c -- incremental server-sent events parser (WHATWG HTML 9.2.5-6).
**
** Bytes are cut into lines first and never decoded, so U+2028 or U+0085
** inside data are just bytes (openai-python#1230 is what happens when a
** parser splits on them). Lines are found with memchr; a line or event
** lying whole inside the caller's chunk is parsed in place, and a one-line
** event's data is handed to the callback straight from the chunk. Only a
** line cut by the end of a feed, and data of several lines, are copied.
**
** Two ids, as in the spec: an id line sets the last event ID buffer
** (p->id); only a blank line makes it the last event ID string
** (p->last_id), the id events carry and a reconnect sends. So an id in a
** block the end of the stream cuts off is never seen (wpt
** eventsource/format-data-before-final-empty-line).
*/
#include "pure/sse.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_BOM_DONE 4

static const char sse_bom[3] = { '\xEF', '\xBB', '\xBF' };

void sse_init(struct sse_parser *p, const struct sse_config *cfg)
{
    sse_alloc_fn alloc = NULL;
    void *ud = NULL;
    memset(p, 0, sizeof *p);
    p->max_line = SSE_DEFAULT_MAX_LINE;
    p->max_event = SSE_DEFAULT_MAX_EVENT;
    if (cfg) {
        if (cfg->max_line)
            p->max_line = cfg->max_line;
        if (cfg->max_event)
            p->max_event = cfg->max_event;
        alloc = cfg->alloc;
        ud = cfg->alloc_ud;
    }
    dynbuf_init_alloc(&p->line, p->max_line, alloc, ud);
    dynbuf_init_alloc(&p->data, p->max_event, alloc, ud);
    dynbuf_init_alloc(&p->type, p->max_line, alloc, ud);
    dynbuf_init_alloc(&p->id, p->max_line, alloc, ud);
    dynbuf_init_alloc(&p->last_id, p->max_line, alloc, ud);
    p->block_retry = -1;
    p->retry = -1;
}

void sse_free(struct sse_parser *p)
{
    dynbuf_free(&p->line);
    dynbuf_free(&p->data);
    dynbuf_free(&p->type);
    dynbuf_free(&p->id);
    dynbuf_free(&p->last_id);
    p->borrow = NULL;
}

/* Enter the sticky error state; the message names the cap that broke. */
static int fail(struct sse_parser *p, int code)
{
    p->err = code;
    if (code == SSE_ELINE)
        snprintf(p->msg, sizeof p->msg, "SSE line exceeds %zu bytes",
                 p->max_line);
    else if (code == SSE_EEVENT)
        snprintf(p->msg, sizeof p->msg, "SSE event exceeds %zu bytes",
                 p->max_event);
    else
        snprintf(p->msg, sizeof p->msg, "%s", sse_strerror(code));
    return code;
}

/*
** Append n bytes. Callers have already checked n against the cap (the
** buffer's max is the same cap), so only memory can run out here; a
** hostile stream cannot make the parser hold more than the caps allow.
*/
static int buf_add(struct sse_parser *p, struct dynbuf *b, const char *s,
                   size_t n)
{
    int rc = dynbuf_add(b, s, n);
    if (rc == DYNBUF_OK)
        return SSE_OK;
    return fail(p, rc == DYNBUF_NOMEM ? SSE_ENOMEM :
                b == &p->data ? SSE_EEVENT : SSE_ELINE);
}

/* Move borrowed data into our own buffer before the chunk goes away. */
static int own_data(struct sse_parser *p)
{
    const char *s = p->borrow;

    if (!s)
        return SSE_OK;
    p->borrow = NULL;
    dynbuf_clear(&p->data);
    return buf_add(p, &p->data, s, p->borrow_len);
}

/*
** The spec appends value + LF per data line and strips one LF at
** dispatch; keeping the lines joined by LF gives the same bytes. The
** first data line of a block is only borrowed when it lies in the chunk:
** the common one-line event then reaches the callback with no copy.
*/
static int add_data(struct sse_parser *p, const char *v, size_t n,
                    int in_chunk)
{
    size_t cur = p->borrow ? p->borrow_len : p->data.len;
    size_t sep = p->has_data ? 1 : 0;

    if (cur + sep > p->max_event || n > p->max_event - cur - sep)
        return fail(p, SSE_EEVENT);
    if (!p->has_data && in_chunk) {
        p->has_data = 1;
        p->borrow = v;
        p->borrow_len = n;
        return SSE_OK;
    }
    if (own_data(p))
        return p->err;
    if (sep && buf_add(p, &p->data, "\n", 1))
        return p->err;
    p->has_data = 1;
    return buf_add(p, &p->data, v, n);
}

/* retry counts only when it is all ASCII digits (empty is ignored). */
static void set_retry(struct sse_parser *p, const char *v, size_t n)
{
    long long r = 0;
    size_t i;

    if (n == 0)
        return;
    for (i = 0; i < n; i++) {
        int d = (unsigned char)v[i] - '0';
        if (d < 0 || d > 9)
            return;
        r = r > (LLONG_MAX - d) / 10 ? LLONG_MAX : r * 10 + d;
    }
    p->block_retry = r;
    p->retry = r;
}

/* Field names are compared byte for byte: "Data" and "data " differ. */
static int on_field(struct sse_parser *p, const char *name, size_t nlen,
                    const char *v, size_t n, int in_chunk)
{
    if (nlen == 4 && memcmp(name, "data", 4) == 0)
        return add_data(p, v, n, in_chunk);
    if (nlen == 5 && memcmp(name, "event", 5) == 0) {
        dynbuf_clear(&p->type);
        return buf_add(p, &p->type, v, n);
    }
    if (nlen == 2 && memcmp(name, "id", 2) == 0) {
        /* A NUL in the id leaves the last id alone (eventsource-parser
        ** #34 lost the stored id this way). */
        if (n && memchr(v, '\0', n))
            return SSE_OK;
        dynbuf_clear(&p->id);
        p->id_set = 1;
        return buf_add(p, &p->id, v, n);
    }
    if (nlen == 5 && memcmp(name, "retry", 5) == 0)
        set_retry(p, v, n);
    return SSE_OK;
}

/*
** WHATWG HTML 9.2.6 dispatch, step 1: the last event ID string takes the
** buffer's value at every blank line, before the step that returns when
** there is no data, so an id-only block still sets it. The buffers are
** swapped, not copied: until the next id line the buffer's value is the
** string's (id_set is 0), so the stale bytes left in p->id are never
** read.
*/
static void commit_id(struct sse_parser *p)
{
    struct dynbuf t;

    if (!p->id_set)
        return;
    t = p->last_id;
    p->last_id = p->id;
    p->id = t;
    p->id_set = 0;
}

/*
** Blank line. Buffers are reset before the callback runs (their bytes
** stay put until the next append), so a stop leaves a clean state.
*/
static int dispatch(struct sse_parser *p, sse_event_fn fn, void *ud)
{
    struct sse_event ev;

    commit_id(p);
    ev.retry = p->block_retry;
    p->block_retry = -1;
    if (!p->has_data) {
        dynbuf_clear(&p->type);
        return SSE_OK;
    }
    ev.type = p->type.len ? p->type.p : "message";
    ev.type_len = p->type.len ? p->type.len : 7;
    if (p->borrow) {
        ev.data = p->borrow;
        ev.data_len = p->borrow_len;
    } else {
        ev.data = p->data.len ? p->data.p : "";
        ev.data_len = p->data.len;
    }
    ev.id = p->last_id.len ? p->last_id.p : "";
    ev.id_len = p->last_id.len;
    p->has_data = 0;
    p->borrow = NULL;
    dynbuf_clear(&p->data);
    dynbuf_clear(&p->type);
    if (fn && fn(ud, &ev))
        return SSE_STOPPED;
    return SSE_OK;
}

/* One complete line, without its end; in_chunk: s is caller memory. */
static int on_line(struct sse_parser *p, const char *s, size_t n,
                   int in_chunk, sse_event_fn fn, void *ud)
{
    const char *colon, *v;
    size_t nlen;

    if (n == 0)
        return dispatch(p, fn, ud);
    if (s[0] == ':')
        return SSE_OK;
    colon = memchr(s, ':', n);
    nlen = colon ? (size_t)(colon - s) : n;
    v = colon ? colon + 1 : s + n;
    if (v < s + n && *v == ' ')
        v++;
    return on_field(p, s, nlen, v, (size_t)(s + n - v), in_chunk);
}

/* A line ended inside this chunk; join it to a cut-off start if any. */
static int take_line(struct sse_parser *p, const char *s, size_t n,
                     sse_event_fn fn, void *ud)
{
    size_t len;

    if (p->line.len == 0) {
        if (n > p->max_line)
            return fail(p, SSE_ELINE);
        return on_line(p, s, n, 1, fn, ud);
    }
    if (n > p->max_line - p->line.len)
        return fail(p, SSE_ELINE);
    if (buf_add(p, &p->line, s, n))
        return p->err;
    len = p->line.len;
    dynbuf_clear(&p->line);
    return on_line(p, p->line.p, len, 0, fn, ud);
}

/* Keep the start of a line cut by the end of the feed, within the cap. */
static int keep_tail(struct sse_parser *p, const char *s, size_t n)
{
    if (n > p->max_line - p->line.len)
        return fail(p, SSE_ELINE);
    return buf_add(p, &p->line, s, n);
}

/*
** Cut [s, end) into lines. The next CR and the next LF are each found
** with one memchr and remembered, so every byte is scanned at most once
** per terminator even when one kind is rare or absent. A CR that is the
** last byte sets p->cr: an LF opening the next feed belongs to it.
*/
static int scan(struct sse_parser *p, const char *s, const char *end,
                sse_event_fn fn, void *ud, const char **stop)
{
    const char *lf = memchr(s, '\n', (size_t)(end - s));
    const char *cr = memchr(s, '\r', (size_t)(end - s));
    const char *eol, *next;
    int rc;

    lf = lf ? lf : end;
    cr = cr ? cr : end;
    for (;;) {
        eol = lf < cr ? lf : cr;
        if (eol == end)
            break;
        next = eol + 1;
        if (*eol == '\r') {
            if (next == end)
                p->cr = 1;
            else if (*next == '\n')
                next++;
        }
        rc = take_line(p, s, (size_t)(eol - s), fn, ud);
        s = next;
        if (rc) {
            *stop = s;
            return rc;
        }
        if (lf < s && !(lf = memchr(s, '\n', (size_t)(end - s))))
            lf = end;
        if (cr < s && !(cr = memchr(s, '\r', (size_t)(end - s))))
            cr = end;
    }
    *stop = end;
    return s < end ? keep_tail(p, s, (size_t)(end - s)) : SSE_OK;
}

/*
** Strip one EF BB BF at the very start of the stream, even when it comes
** a byte per feed. On a mismatch the bytes held back were not a BOM:
** they start the first line.
*/
static int skip_bom(struct sse_parser *p, const char **s, const char *end)
{
    int k;

    while (p->bom < 3 && *s < end) {
        if (**s != sse_bom[p->bom])
            break;
        p->bom++;
        (*s)++;
    }
    if (p->bom == 3) {
        p->bom = SSE_BOM_DONE;
        return SSE_OK;
    }
    if (*s == end)
        return SSE_OK;
    k = p->bom;
    p->bom = SSE_BOM_DONE;
    return k ? keep_tail(p, sse_bom, (size_t)k) : SSE_OK;
}

int sse_feed(struct sse_parser *p, const void *buf, size_t len,
             sse_event_fn fn, void *ud, size_t *used)
{
    const char *s = buf, *end, *stop;
    int rc;

    if (used)
        *used = 0;
    if (p->err)
        return p->err;
    if (len == 0)
        return SSE_OK;
    end = s + len;
    if (p->bom != SSE_BOM_DONE && skip_bom(p, &s, end))
        return p->err;
    if (p->cr && s < end) {
        p->cr = 0;
        if (*s == '\n')
            s++;
    }
    stop = end;
    rc = s < end ? scan(p, s, end, fn, ud, &stop) : SSE_OK;
    if (rc < 0)
        return rc;
    if (own_data(p))
        return p->err;
    if (used)
        *used = (size_t)(stop - (const char *)buf);
    return rc;
}

/* A cut-off last line that would have added data, had it ended. */
static int tail_is_data(const struct sse_parser *p)
{
    const char *s = p->line.p;

    return p->line.len >= 4 && memcmp(s, "data", 4) == 0 &&
           (p->line.len == 4 || s[4] == ':');
}

int sse_finish(struct sse_parser *p, int *dropped)
{
    if (dropped)
        *dropped = 0;
    if (p->err)
        return p->err;
    if (dropped)
        *dropped = p->has_data || tail_is_data(p);
    dynbuf_clear(&p->line);
    dynbuf_clear(&p->data);
    dynbuf_clear(&p->type);
    p->borrow = NULL;
    p->has_data = 0;
    p->id_set = 0;      /* the cut block's id goes with it */
    p->cr = 0;
    p->bom = 0;
    p->block_retry = -1;
    return SSE_OK;
}

const char *sse_last_id(const struct sse_parser *p, size_t *len)
{
    if (len)
        *len = p->last_id.len;
    return p->last_id.len ? p->last_id.p : "";
}

long long sse_retry(const struct sse_parser *p)
{
    return p->retry;
}

const char *sse_strerror(int code)
{
    switch (code) {
    case SSE_OK:
        return "ok";
    case SSE_STOPPED:
        return "stopped by the event callback";
    case SSE_ELINE:
        return "SSE line too long";
    case SSE_EEVENT:
        return "SSE event too large";
    case SSE_ENOMEM:
        return "out of memory in the SSE parser";
    default:
        return "unknown SSE parser error";
    }
}

const char *sse_errmsg(const struct sse_parser *p)
{
    return p->err ? p->msg : "ok";
}
