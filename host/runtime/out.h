/*
** out.h -- the one way out of the process.
**
** Every byte clawhost writes to stdout or stderr goes through out_write,
** so secret redaction (redact.c) happens in exactly one place, also for
** a secret split across several writes.
*/
#ifndef CLAWHOST_OUT_H
#define CLAWHOST_OUT_H

#include <stddef.h>

#include "util/dynbuf.h"

enum { OUT_STDOUT = 1, OUT_STDERR = 2 };

void out_write(int fd, const char *buf, size_t len);
void out_puts(int fd, const char *s);
void out_printf(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write what is buffered; the redactor may keep back a few bytes that
** could begin a secret. out_flush_all releases everything (at exit). */
void out_flush(int fd);
void out_flush_all(void);

/*
** Write everything of fd, what the mask holds back included: for a
** caller whose bytes so far end a whole message (a terminal control
** sequence after a complete line), so the screen is right before
** another stream writes to the same terminal.
*/
void out_flush_release(int fd);

/* Did the last byte written to fd end a line? 1 before any output. */
int out_at_line_start(int fd);

/*
** Register a secret with the redactor every output passes through
** (with `user`: Basic credentials user:password). Returns redact.h's
** code; a secret that cannot be registered must not be used.
*/
int out_add_secret(const char *name, const void *bytes, size_t len,
                   const void *user, size_t ulen);

/* Has any secret been loaded (so there is something to mask)? */
int out_has_secrets(void);

/* A masked copy of `in` (free() it), or NULL when nothing is loaded. */
char *out_redact(const char *in, size_t len, size_t *outlen);

/*
** A redact stream over the loaded secrets writing to fn (free it with
** redact_stream_free), or NULL when no secret is loaded.
*/
struct redact_stream;
struct redact_stream *out_redact_stream(int (*fn)(void *, const char *,
                                                  size_t), void *ctx);

/*
** Pieces a reader may join again (the data of successive SSE events,
** the header values of a response), masked across their boundaries: a
** secret cut in two pieces is masked in the piece it starts in, and a
** piece whose end could begin a secret is decided when the next piece
** (or the end) comes. Opened only when a secret is loaded. Decided
** pieces are taken in order with out_pieces_next.
*/
struct out_pieces {
    struct redact_stream *mask;
    struct dynbuf out;          /* the decided pieces, masked */
    struct dynbuf ends;         /* size_t: where each of them ends */
    size_t start, next;         /* the next one to take */
};

/* 0, or -1 out of memory. Buffers on alloc/ud (lua_Alloc's contract,
** so they count against the memory cap), or malloc when NULL. */
int out_pieces_open(struct out_pieces *p, dynbuf_alloc_fn alloc, void *ud);

/* Add a piece; out_pieces_end when there are no more. 0, or -1 out of
** memory (nothing unmasked is handed out after a failure). */
int out_pieces_add(struct out_pieces *p, const char *buf, size_t len);
int out_pieces_end(struct out_pieces *p);

/* The next decided piece: 1 with *buf, *len (valid until the next add
** or end), or 0 when none is decided yet. */
int out_pieces_next(struct out_pieces *p, const char **buf, size_t *len);

void out_pieces_free(struct out_pieces *p);

/* Flush and free the redactor (its copies are wiped). */
void out_close(void);

/* Is fd a terminal? Cached at first use. */
int out_isatty(int fd);

#endif
