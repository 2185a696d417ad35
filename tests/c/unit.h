/*
** unit.h -- a small harness for the C unit tests.
**
** A test is a function; RUN() calls it and counts it as passed when no
** CHECK inside it failed. Failed checks print file:line and the
** expression. unit_done() prints the closing line CI reads,
** "NAME: N passed, N failed", and returns the exit status. unit_buf
** is the growable output buffer the suites share.
*/
#ifndef CLAWHOST_UNIT_H
#define CLAWHOST_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_passed, unit_failed, unit_checks_failed;

static void unit_fail(const char *file, int line, const char *what)
{
    unit_checks_failed++;
    if (unit_checks_failed <= 200)
        fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
}

#define CHECK(cond) \
    do { if (!(cond)) unit_fail(__FILE__, __LINE__, #cond); } while (0)

#define CHECK_INT(a, b) do { \
    long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) { \
        char m_[256]; \
        snprintf(m_, sizeof m_, "%s == %s (%lld != %lld)", #a, #b, a_, b_); \
        unit_fail(__FILE__, __LINE__, m_); \
    } } while (0)

#define CHECK_STR(a, b) do { \
    const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
        char m_[512]; \
        snprintf(m_, sizeof m_, "%s == %s (\"%.200s\" != \"%.200s\")", \
                 #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
        unit_fail(__FILE__, __LINE__, m_); \
    } } while (0)

#define CHECK_MEM(a, alen, b, blen) do { \
    size_t al_ = (alen), bl_ = (blen); \
    if (al_ != bl_ || memcmp((a), (b), al_) != 0) \
        unit_fail(__FILE__, __LINE__, #a " bytes == " #b " bytes"); \
    } while (0)

#define RUN(fn) unit_run(#fn, fn)

static void unit_run(const char *name, void (*fn)(void))
{
    int before = unit_checks_failed;
    fn();
    if (unit_checks_failed == before) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "FAIL %s\n", name);
    }
}

static int unit_done(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

/*
** A growable byte buffer, always NUL-terminated, for the outputs tests
** build and compare. Running out of memory ends the test program: a
** test cannot be judged without its output.
*/
struct unit_buf {
    char *p;
    size_t n, cap;
};

static inline void unit_buf_add(struct unit_buf *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "unit: out of memory\n");
            exit(2);
        }
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static inline void unit_buf_str(struct unit_buf *b, const char *s)
{
    unit_buf_add(b, s, strlen(s));
}

static inline void unit_buf_free(struct unit_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

#endif
