/*
** unit.h -- a small harness for the C unit tests.
**
** A test is a function; RUN() calls it and counts it as passed when no
** CHECK inside it failed. Failed checks print file:line and the
** expression. unit_done() prints the closing line CI reads,
** "NAME: N passed, N failed", and returns the exit status. unit_buf_*
** add to the host's own buffer type, for the outputs tests compare.
*/
#ifndef CLAWHOST_UNIT_H
#define CLAWHOST_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "util/dynbuf.h"

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
** The outputs tests build and compare go in the host's own buffer
** (util/dynbuf.h), uncapped. Running out of memory ends the test
** program: a test cannot be judged without its output.
*/
static inline struct dynbuf unit_buf_new(void)
{
    struct dynbuf b;
    dynbuf_init(&b, SIZE_MAX);
    return b;
}

static inline void unit_buf_add(struct dynbuf *b, const void *p, size_t n)
{
    if (dynbuf_add(b, p, n) != DYNBUF_OK) {
        fprintf(stderr, "unit: out of memory\n");
        exit(2);
    }
    if (!b->p)                  /* an empty result is still a string */
        dynbuf_reserve(b, 0);
}

static inline void unit_buf_str(struct dynbuf *b, const char *s)
{
    unit_buf_add(b, s, strlen(s));
}

static inline void unit_buf_free(struct dynbuf *b)
{
    dynbuf_free(b);
}

#endif
