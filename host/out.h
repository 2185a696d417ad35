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

/* Push everything held back to the terminal or pipe (line ends, exit). */
void out_flush(int fd);
void out_flush_all(void);

/* Is fd a terminal? Cached at first use. */
int out_isatty(int fd);

#endif
