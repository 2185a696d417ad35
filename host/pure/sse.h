/*
** sse.h -- incremental parser for server-sent events (text/event-stream).
**
** Pure C: no Lua, no curl, no printing. It follows WHATWG HTML 9.2.5-9.2.6
** on raw bytes: lines end at CRLF, LF or a lone CR (also when the CR and
** the LF arrive in different feeds), one leading UTF-8 BOM is stripped,
** every other byte passes through untouched (no UTF-8 validation, NUL
** allowed in data). docs/sse.md is the full contract.
**
**     struct sse_parser p;
**     sse_init(&p, NULL);                        1 MiB line and event caps
**     rc = sse_feed(&p, buf, n, on_event, ud, NULL);    as bytes arrive
**     rc = sse_finish(&p, &dropped);                    at end of stream
**     sse_free(&p);
**
** The struct is public only so it can live inside other objects (a Lua
** userdata); its fields are private.
*/
#ifndef CLAWHOST_SSE_H
#define CLAWHOST_SSE_H

#include <stddef.h>

#include "util/dynbuf.h"

#define SSE_DEFAULT_MAX_LINE  ((size_t)1 << 20)
#define SSE_DEFAULT_MAX_EVENT ((size_t)1 << 20)

/* Return codes. Errors are negative and sticky. */
enum {
    SSE_OK = 0,
    SSE_STOPPED = 1,    /* the callback asked to stop; not an error */
    SSE_ELINE = -1,     /* a line is longer than max_line */
    SSE_EEVENT = -2,    /* an event's data is longer than max_event */
    SSE_ENOMEM = -3     /* the allocator failed */
};

/*
** Same contract as lua_Alloc, so a binding can pass the Lua state's
** allocator and the parser's buffers count against the memory cap:
** nsize 0 frees ptr and returns NULL, otherwise resize ptr (NULL: new
** block; osize is then 0) and return NULL on failure.
*/
typedef void *(*sse_alloc_fn)(void *ud, void *ptr, size_t osize,
                              size_t nsize);

/* Settings for sse_init; zero fields (or a NULL pointer) take defaults. */
struct sse_config {
    size_t max_line;    /* bytes in one line, without its end */
    size_t max_event;   /* bytes of one event's data, as delivered */
    sse_alloc_fn alloc; /* default: realloc/free */
    void *alloc_ud;
};

/*
** One dispatched event. Pointers are never NULL, are valid only during
** the callback, and are not NUL-terminated (data may contain NUL).
** type is "message" when the block had no non-empty `event` field. id is
** the last event ID string as this dispatch set it (see sse_last_id):
** it persists across events ("" when none). retry is the value of a
** valid `retry` field in this block, else -1.
*/
struct sse_event {
    const char *type;
    size_t type_len;
    const char *data;
    size_t data_len;
    const char *id;
    size_t id_len;
    long long retry;
};

/* Called once per event; return nonzero to make sse_feed stop. */
typedef int (*sse_event_fn)(void *ud, const struct sse_event *ev);

struct sse_parser {
    size_t max_line, max_event;
    struct dynbuf line;     /* a line cut by the end of a feed */
    struct dynbuf data;     /* data lines joined by LF */
    struct dynbuf type;     /* event type buffer */
    struct dynbuf id;       /* last event ID buffer, when id_set */
    struct dynbuf last_id;  /* last event ID string: the dispatched id */
    const char *borrow;     /* data still in the caller's chunk */
    size_t borrow_len;
    int has_data;           /* a data line was seen in this block */
    int id_set;             /* an id line was applied in this block */
    int cr;                 /* the last byte fed was a CR */
    int bom;                /* BOM bytes matched; SSE_BOM_DONE after */
    int err;                /* sticky error code, 0 if none */
    long long block_retry;  /* retry seen in this block, -1 if none */
    long long retry;        /* last valid retry of the stream, -1 */
    char msg[64];
};

/* Set up p; allocates nothing, cannot fail. cfg may be NULL. */
void sse_init(struct sse_parser *p, const struct sse_config *cfg);

/* Release p's buffers; p needs sse_init before any further use. */
void sse_free(struct sse_parser *p);

/*
** Parse len bytes, calling fn (may be NULL) for each completed event.
** Returns SSE_OK once every byte is consumed, SSE_STOPPED when fn
** returned nonzero (the parser stays usable: feed the bytes after
** *used to go on), or a negative error. used, if not NULL, gets the
** number of bytes consumed. fn must not longjmp out (lua_error): the
** parser would then be good only for sse_free.
*/
int sse_feed(struct sse_parser *p, const void *buf, size_t len,
             sse_event_fn fn, void *ud, size_t *used);

/*
** End of stream: discard an unterminated event, as the spec requires.
** *dropped (if not NULL) says whether an event was discarded (data lines
** with no blank line after them, or a cut-off `data` line). An `id` of
** the cut-off block is discarded with it. The parser is then ready for a
** new stream (a reconnect): BOM allowed again, the last event ID string
** and retry kept. Returns SSE_OK or the sticky error.
*/
int sse_finish(struct sse_parser *p, int *dropped);

/*
** The last event ID string (WHATWG HTML 9.2.6): the id in force at the
** last blank line, the value a reconnect sends as Last-Event-ID. An id
** line of a block not yet ended does not count, and neither does one in
** a block the end of the stream cut off. *len gets its length. Not NULL.
*/
const char *sse_last_id(const struct sse_parser *p, size_t *len);

/* The last valid retry (ms) seen in the stream, even without data. */
long long sse_retry(const struct sse_parser *p);

/* A fixed message for a return code. */
const char *sse_strerror(int code);

/* The message of p's error, with the cap ("SSE line exceeds N bytes"). */
const char *sse_errmsg(const struct sse_parser *p);

#endif
