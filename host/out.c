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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"

#define OUT_BUF 8192

struct stream {
    char buf[OUT_BUF];
    size_t len;
    int tty;            /* -1 unknown */
};

static struct stream streams[3] = {{.tty = -1}, {.tty = -1}, {.tty = -1}};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

void out_flush(int fd)
{
    struct stream *s = &streams[fd];
    write_all(fd, s->buf, s->len);
    s->len = 0;
}

void out_flush_all(void)
{
    out_flush(OUT_STDOUT);
    out_flush(OUT_STDERR);
}

void out_write(int fd, const char *buf, size_t len)
{
    struct stream *s;
    if (fd != OUT_STDOUT && fd != OUT_STDERR)
        return;
    s = &streams[fd];
    if (s->len + len > OUT_BUF) {
        out_flush(fd);
        if (len > OUT_BUF) {
            write_all(fd, buf, len);
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
