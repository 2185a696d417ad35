/*
** out.c -- the one way out of the process.
**
** Output is buffered per stream and written with write(2) so nothing
** depends on stdio state; stderr is flushed at every line end, stdout
** when full or at exit (a result is one block). A write error (a closed
** pipe) drops output quietly rather than killing the run: cleanup must
** still happen.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pure/redact.h"
#include "runtime/out.h"
#include "util/fileio.h"

#define OUT_BUF 8192

struct stream {
    char buf[OUT_BUF];
    size_t len;
    int tty;            /* -1 unknown */
    int midline;        /* the last byte written was not a newline */
};

static struct stream streams[3] = {{.tty = -1}, {.tty = -1}, {.tty = -1}};

/* Every loaded secret is registered here; stdout and stderr each pass
** through a redact stream, so a secret split over writes is masked. */
static redact_t *redactor;
static redact_stream_t *masks[3];

static int emit(void *ctx, const char *buf, size_t len)
{
    (void)fileio_write_all((int)(size_t)ctx, buf, len);
    return 0;
}

/* The buffered bytes go out through the mask; `all` also releases
** what the mask holds back (a possible start of a secret). */
static void drain(int fd, int all)
{
    struct stream *s = &streams[fd];
    if (masks[fd]) {
        redact_stream_write(masks[fd], s->buf, s->len);
        if (all)
            redact_stream_flush(masks[fd]);
    } else {
        (void)fileio_write_all(fd, s->buf, s->len);
    }
    s->len = 0;
}

/* Through the mask, which keeps back only what could still become a
** secret; the rest of a secret split across writes arrives later. */
void out_flush(int fd)
{
    drain(fd, 0);
}

void out_flush_release(int fd)
{
    if (fd == OUT_STDOUT || fd == OUT_STDERR)
        drain(fd, 1);
}

int out_at_line_start(int fd)
{
    if (fd != OUT_STDOUT && fd != OUT_STDERR)
        return 1;
    return !streams[fd].midline;
}

void out_flush_all(void)
{
    drain(OUT_STDOUT, 1);
    drain(OUT_STDERR, 1);
}

void out_write(int fd, const char *buf, size_t len)
{
    struct stream *s;
    if (fd != OUT_STDOUT && fd != OUT_STDERR)
        return;
    s = &streams[fd];
    if (len > 0)
        s->midline = buf[len - 1] != '\n';
    if (s->len + len > OUT_BUF) {
        drain(fd, 0);
        if (len > OUT_BUF) {
            if (masks[fd])
                redact_stream_write(masks[fd], buf, len);
            else
                (void)fileio_write_all(fd, buf, len);
            return;
        }
    }
    memcpy(s->buf + s->len, buf, len);
    s->len += len;
    if (fd == OUT_STDERR && len > 0 && buf[len - 1] == '\n')
        out_flush(fd);
}

void out_puts(int fd, const char *s)
{
    out_write(fd, s, strlen(s));
}

void out_printf(int fd, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        out_write(fd, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out_write(fd, big, (size_t)n);
    free(big);
}

int out_isatty(int fd)
{
    if (fd != OUT_STDOUT && fd != OUT_STDERR)
        return 0;
    if (streams[fd].tty < 0)
        streams[fd].tty = isatty(fd);
    return streams[fd].tty;
}

int out_add_secret(const char *name, const void *bytes, size_t len,
                   const void *user, size_t ulen)
{
    int rc;
    if (!redactor && !(redactor = redact_new()))
        return REDACT_ENOMEM;
    for (int fd = 1; fd <= 2; fd++)
        if (!masks[fd] && !(masks[fd] = redact_stream_new(redactor, emit,
                                                         (void *)(size_t)fd)))
            return REDACT_ENOMEM;
    rc = user ? redact_add_basic(redactor, name, user, ulen, bytes, len)
              : redact_add(redactor, name, bytes, len);
    return rc;
}

int out_has_secrets(void)
{
    return redactor != NULL;
}

char *out_redact(const char *in, size_t len, size_t *outlen)
{
    char *out = NULL;
    if (!redactor || redact_buf(redactor, in, len, &out, outlen) != 0)
        return NULL;
    return out;
}

redact_stream_t *out_redact_stream(int (*fn)(void *, const char *, size_t),
                                   void *ctx)
{
    return redactor ? redact_stream_new(redactor, fn, ctx) : NULL;
}

/* The mask's output; (NULL, 0) ends a piece. */
static int pieces_collect(void *ud, const char *buf, size_t len)
{
    struct out_pieces *p = ud;
    size_t end = p->out.len;
    if (buf)
        return dynbuf_add(&p->out, buf, len) == DYNBUF_OK ? 0 : -1;
    return dynbuf_add(&p->ends, &end, sizeof end) == DYNBUF_OK ? 0 : -1;
}

int out_pieces_open(struct out_pieces *p, dynbuf_alloc_fn alloc, void *ud)
{
    memset(p, 0, sizeof *p);
    dynbuf_init_alloc(&p->out, SIZE_MAX, alloc, ud);
    dynbuf_init_alloc(&p->ends, SIZE_MAX, alloc, ud);
    p->mask = out_redact_stream(pieces_collect, p);
    return p->mask ? 0 : -1;
}

int out_pieces_add(struct out_pieces *p, const char *buf, size_t len)
{
    if (redact_stream_write(p->mask, buf, len) != REDACT_OK ||
        redact_stream_mark(p->mask) != REDACT_OK)
        return -1;
    return 0;
}

int out_pieces_end(struct out_pieces *p)
{
    return redact_stream_flush(p->mask) == REDACT_OK ? 0 : -1;
}

/* Once every decided piece is taken, their bytes are dropped. */
int out_pieces_next(struct out_pieces *p, const char **buf, size_t *len)
{
    size_t end;
    if (p->next * sizeof end >= p->ends.len) {
        dynbuf_consume(&p->out, p->start);
        dynbuf_reset(&p->ends);
        p->start = p->next = 0;
        return 0;
    }
    memcpy(&end, p->ends.p + p->next++ * sizeof end, sizeof end);
    *buf = p->out.p ? p->out.p + p->start : "";
    *len = end - p->start;
    p->start = end;
    return 1;
}

void out_pieces_free(struct out_pieces *p)
{
    redact_stream_free(p->mask);
    p->mask = NULL;
    dynbuf_free(&p->out);
    dynbuf_free(&p->ends);
}

void out_close(void)
{
    out_flush_all();
    for (int fd = 1; fd <= 2; fd++) {
        redact_stream_free(masks[fd]);
        masks[fd] = NULL;
    }
    redact_free(redactor);
    redactor = NULL;
}
