/*
** dynbuf.c -- the host's one growable byte buffer (see dynbuf.h).
*/
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dynbuf.h"

#define MIN_ALLOC 64

static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

void dynbuf_init_alloc(struct dynbuf *b, size_t max, dynbuf_alloc_fn alloc,
                       void *ud)
{
    memset(b, 0, sizeof *b);
    b->max = max < SIZE_MAX - 1 ? max : SIZE_MAX - 2;
    b->alloc = alloc ? alloc : plain_alloc;
    b->ud = alloc ? ud : NULL;
}

void dynbuf_init(struct dynbuf *b, size_t max)
{
    dynbuf_init_alloc(b, max, NULL, NULL);
}

static int failed(struct dynbuf *b, int status)
{
    if (!b->err)
        b->err = status;
    return status;
}

/*
** A wiping buffer cannot use realloc: it may move the block and leave
** the old bytes behind. It allocates anew, copies and zeroes the old.
*/
static char *regrow(struct dynbuf *b, size_t ncap)
{
    if (!b->wipe || !b->p)
        return b->alloc(b->ud, b->p, b->p ? b->cap : 0, ncap);
    char *np = b->alloc(b->ud, NULL, 0, ncap);
    if (!np)
        return NULL;
    memcpy(np, b->p, b->len + 1);
    explicit_bzero(b->p, b->cap);
    b->alloc(b->ud, b->p, b->cap, 0);
    return np;
}

/* Capacity doubles (fewer copies), but never past max + 1 (the NUL). */
int dynbuf_reserve(struct dynbuf *b, size_t n)
{
    if (b->err)
        return b->err;
    if (n > b->max - b->len)
        return failed(b, DYNBUF_TOOBIG);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return DYNBUF_OK;
    size_t ncap = b->cap ? b->cap : MIN_ALLOC;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    char *np = regrow(b, ncap);
    if (!np)
        return failed(b, DYNBUF_NOMEM);
    if (!b->p)
        np[0] = '\0';
    b->p = np;
    b->cap = ncap;
    return DYNBUF_OK;
}

char *dynbuf_extend(struct dynbuf *b, size_t n)
{
    if (dynbuf_reserve(b, n) != DYNBUF_OK)
        return NULL;
    char *at = b->p + b->len;
    b->len += n;
    b->p[b->len] = '\0';
    return at;
}

int dynbuf_add(struct dynbuf *b, const void *s, size_t n)
{
    if (n == 0)
        return b->err;
    char *at = dynbuf_extend(b, n);
    if (!at)
        return b->err;
    memcpy(at, s, n);
    return DYNBUF_OK;
}

int dynbuf_adds(struct dynbuf *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

int dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return failed(b, DYNBUF_NOMEM);
    if ((size_t)n < sizeof small)
        return dynbuf_add(b, small, (size_t)n);
    if (dynbuf_reserve(b, (size_t)n) != DYNBUF_OK)
        return b->err;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return DYNBUF_OK;
}

void dynbuf_consume(struct dynbuf *b, size_t n)
{
    if (n >= b->len) {
        if (b->p && b->wipe)
            explicit_bzero(b->p, b->len);
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
        if (b->wipe)
            explicit_bzero(b->p + b->len, n);
    }
    if (b->p)
        b->p[b->len] = '\0';
}

void dynbuf_clear(struct dynbuf *b)
{
    b->len = 0;
}

void dynbuf_reset(struct dynbuf *b)
{
    if (b->p) {
        if (b->wipe)
            explicit_bzero(b->p, b->len);
        b->p[0] = '\0';
    }
    b->len = 0;
    b->err = DYNBUF_OK;
}

void dynbuf_free(struct dynbuf *b)
{
    if (b->p) {
        if (b->wipe)
            explicit_bzero(b->p, b->cap);
        b->alloc(b->ud, b->p, b->cap, 0);
    }
    b->p = NULL;
    b->len = b->cap = 0;
    b->err = DYNBUF_OK;
}

char *dynbuf_take(struct dynbuf *b, size_t *len)
{
    if (!b->p && b->alloc == plain_alloc)
        dynbuf_reserve(b, 0);
    char *p = b->err || b->alloc != plain_alloc ? NULL : b->p;
    if (len)
        *len = p ? b->len : 0;
    if (!p) {
        dynbuf_free(b);
        return NULL;
    }
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *dynbuf_strerror(int status)
{
    switch (status) {
    case DYNBUF_OK: return "no error";
    case DYNBUF_NOMEM: return "out of memory";
    default: return "too large";
    }
}
