/*
** dynbuf.h -- the host's one growable byte buffer, with a size cap.
**
** Every place that collects bytes of unknown length (a response body,
** a masked stream piece, an SSE line, JSON being encoded, a file being
** written) uses this type rather than growing its own array. A buffer
** never holds more than its cap: an add that would pass it fails with
** DYNBUF_TOOBIG and changes nothing, so a hostile peer cannot make the
** host allocate without bound. curl's lib/curlx/dynbuf.h is the model.
**
** Memory comes from an allocator with lua_Alloc's contract (so a buffer
** filled on a recipe's behalf counts against the Lua state's memory
** cap), or from realloc/free when none is given. A buffer that may hold
** a secret is marked `wipe`: it then grows by copying and is zeroed
** before any of its memory is given back, so no copy is left in freed
** memory. After every add the contents are followed by a NUL byte.
*/
#ifndef CLAWHOST_DYNBUF_H
#define CLAWHOST_DYNBUF_H

#include <stddef.h>

/* lua_Alloc's signature; nsize 0 frees. */
typedef void *(*dynbuf_alloc_fn)(void *ud, void *ptr, size_t osize,
                                 size_t nsize);

enum dynbuf_status {
    DYNBUF_OK = 0,
    DYNBUF_NOMEM = -1,          /* the allocator said no */
    DYNBUF_TOOBIG = -2          /* the cap would be passed */
};

struct dynbuf {
    char *p;                    /* NULL until the first add */
    size_t len;                 /* bytes held (the NUL not counted) */
    size_t cap;                 /* bytes allocated */
    size_t max;                 /* most bytes it may hold */
    dynbuf_alloc_fn alloc;
    void *ud;
    int wipe;                   /* zero memory before giving it back */
    int err;                    /* first failure, sticky (dynbuf_status) */
};

/* An empty buffer holding at most max bytes, on realloc/free. */
void dynbuf_init(struct dynbuf *b, size_t max);

/* The same on an allocator with lua_Alloc's contract. */
void dynbuf_init_alloc(struct dynbuf *b, size_t max, dynbuf_alloc_fn alloc,
                       void *ud);

/* Append n bytes. DYNBUF_OK, or the failure (also kept in b->err, and
** every later add then fails the same way: a writer can add many pieces
** and look once at the end). */
int dynbuf_add(struct dynbuf *b, const void *s, size_t n);

/* Append a NUL-terminated string. */
int dynbuf_adds(struct dynbuf *b, const char *s);

/* Append formatted text (printf). */
int dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Room for n more bytes at the end: a pointer to write them to, and the
** length already counts them. NULL on failure (b->err says which). */
char *dynbuf_extend(struct dynbuf *b, size_t n);

/* Make sure n more bytes fit without another allocation. */
int dynbuf_reserve(struct dynbuf *b, size_t n);

/* Drop the first n bytes (a reader consumed them). */
void dynbuf_consume(struct dynbuf *b, size_t n);

/* Empty it without touching the bytes: a parser that hands out a
** pointer into the buffer and then starts over may still read them until
** the next add. The NUL after the contents is not rewritten. */
void dynbuf_clear(struct dynbuf *b);

/* Empty it, keeping the memory (wiped first when `wipe`); clears err. */
void dynbuf_reset(struct dynbuf *b);

/* Give the memory back (wiped first when `wipe`); the buffer is then
** empty and may be used again. */
void dynbuf_free(struct dynbuf *b);

/* Hand the contents (NUL-terminated, realloc'd memory: free() it) to
** the caller; *len gets the length. The buffer is left empty. Only for
** buffers without an allocator; an empty buffer gives "", a failed one
** (or no memory) NULL, and is freed. */
char *dynbuf_take(struct dynbuf *b, size_t *len);

/* "out of memory" or "too large"; for messages. */
const char *dynbuf_strerror(int status);

#endif
