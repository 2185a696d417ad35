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

/* Flush and free the redactor (its copies are wiped). */
void out_close(void);

/* Is fd a terminal? Cached at first use. */
int out_isatty(int fd);

#endif
