/*
** strmatch.c -- Lua 5.4 pattern matching that polls a deadline.
**
** Written from the Lua 5.4 reference manual (6.4.1 Patterns) and from
** the observed behaviour of lua5.4 5.4.4; see strmatch.h for the
** contract. The matcher is a backtracking one, like Lua's, because the
** results must be the same: the same leftmost match, the same captures,
** the same errors raised at the same moment (lazily), and "pattern too
** complex" at the same nesting.
**
** Internal convention: the match functions return the subject offset
** where the match ends (>= 0), MATCH_FAIL, or MATCH_STOP when the
** pattern is bad or the poll said stop (st->err tells which). Every
** caller passes MATCH_STOP straight up.
*/
#include "pure/strmatch.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MATCH_FAIL  ((ptrdiff_t)-1)
#define MATCH_STOP  ((ptrdiff_t)-2)
#define NOT_SPECIAL ((ptrdiff_t)-3)   /* escape_item: a plain %x class */

#define ESC '%'

static ptrdiff_t match(struct strmatch_state *st, size_t s, size_t p);

/* Records why matching stops; the value is what the caller returns. */
static ptrdiff_t stop(struct strmatch_state *st, int err, int index)
{
    st->err = err;
    st->err_index = index;
    return MATCH_STOP;
}

/* Called when the work budget runs out: this is the only place the
** deadline is looked at, so the cost of polling is one subtraction per
** unit of work. */
static int budget_spent(struct strmatch_state *st)
{
    st->budget = STRMATCH_POLL_UNITS;
    st->polls++;
    if (st->poll != NULL && st->poll(st->poll_ud) != 0) {
        stop(st, STRMATCH_E_ABORTED, 0);
        return 1;
    }
    return 0;
}

/* Charges units of work; true when matching must stop. */
#define SPEND(st, units) \
    (((st)->budget -= (long)(units)) < 0 && budget_spent(st))

/* %a, %d, ...: the classes of the manual, with the C library's ctype so
** the locale (the C one in the host) decides as it does for Lua. An
** upper-case class letter is the complement; any other character after
** '%' stands for itself. 'z' (NUL) is still accepted by Lua 5.4.4. */
static int class_match(int c, int cl)
{
    int res;

    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = (c == 0); break;
    default: return cl == c;
    }
    if (isupper(cl))
        return !res;
    return res != 0;
}

/* Is c in the set pat[p..ec] ('[' at p, its ']' at ec)? A '-' makes a
** range only between two characters; "%x" inside a set is a class or
** an escaped character; a '^' right after '[' complements. */
static int set_match(const unsigned char *pat, size_t p, size_t ec, int c)
{
    int in = 1;

    if (pat[p + 1] == '^') {
        in = 0;
        p++;
    }
    for (p++; p < ec; p++) {
        if (pat[p] == ESC) {
            p++;
            if (class_match(c, pat[p]))
                return in;
        } else if (pat[p + 1] == '-' && p + 2 < ec) {
            if (pat[p] <= c && c <= pat[p + 2])
                return in;
            p += 2;
        } else if (pat[p] == c) {
            return in;
        }
    }
    return !in;
}

/* Offset just past the single-character class at p ('.', 'x', '%x' or
** a set), or MATCH_STOP for a class the pattern cuts short. The first
** character of a set (after an optional '^') is never its end, so "[]]"
** and "[^]]" are sets holding ']'. */
static ptrdiff_t class_end(struct strmatch_state *st, size_t p)
{
    const unsigned char *pat = st->pat;
    size_t n = st->patlen, start = p;
    int c = pat[p++];

    if (c == ESC) {
        if (p >= n)
            return stop(st, STRMATCH_E_ENDS_ESC, 0);
        return (ptrdiff_t)p + 1;
    }
    if (c != '[')
        return (ptrdiff_t)p;
    if (p < n && pat[p] == '^')
        p++;
    do {
        if (p >= n)
            return stop(st, STRMATCH_E_MISSING_BRACKET, 0);
        if (pat[p++] == ESC && p < n)
            p++;
    } while (p >= n || pat[p] != ']');
    st->budget -= (long)((p - start) >> 3);
    return (ptrdiff_t)p + 1;
}

/* Does subject byte s match the class pat[p..ep)? Never past the end. */
static int single_match(struct strmatch_state *st, size_t s, size_t p,
                        size_t ep)
{
    int c;

    if (s >= st->srclen)
        return 0;
    c = st->src[s];
    switch (st->pat[p]) {
    case '.':
        return 1;
    case ESC:
        return class_match(c, st->pat[p + 1]);
    case '[':
        st->budget -= (long)((ep - p) >> 4);
        return set_match(st->pat, p, ep - 1, c);
    default:
        return st->pat[p] == c;
    }
}

/* x* and x+ (s already past the first x): the longest run first, then
** give back one x at a time. */
static ptrdiff_t max_expand(struct strmatch_state *st, size_t s, size_t p,
                            size_t ep)
{
    size_t i = 0;
    ptrdiff_t r;

    while (single_match(st, s + i, p, ep)) {
        i++;
        if (SPEND(st, 1))
            return MATCH_STOP;
    }
    for (;;) {
        r = match(st, s + i, ep + 1);
        if (r != MATCH_FAIL || i == 0)
            return r;
        i--;
    }
}

/* x-: the shortest run first, one more x at a time. */
static ptrdiff_t min_expand(struct strmatch_state *st, size_t s, size_t p,
                            size_t ep)
{
    ptrdiff_t r;

    for (;;) {
        r = match(st, s, ep + 1);
        if (r != MATCH_FAIL)
            return r;
        if (!single_match(st, s, p, ep))
            return MATCH_FAIL;
        s++;
    }
}

/* '(' or '()' at p: opens a capture and matches the rest inside it. */
static ptrdiff_t open_capture(struct strmatch_state *st, size_t s, size_t p)
{
    ptrdiff_t what = STRMATCH_CAP_UNFINISHED, r;

    p++;
    if (p < st->patlen && st->pat[p] == ')') {
        what = STRMATCH_CAP_POSITION;
        p++;
    }
    if (st->level >= STRMATCH_MAXCAPTURES)
        return stop(st, STRMATCH_E_TOO_MANY, 0);
    st->cap[st->level].start = s;
    st->cap[st->level].len = what;
    st->level++;
    r = match(st, s, p);
    if (r == MATCH_FAIL)
        st->level--;
    return r;
}

/* ')' : closes the innermost open capture, reopened on backtrack. */
static ptrdiff_t close_capture(struct strmatch_state *st, size_t s,
                               size_t p)
{
    int l = st->level - 1;
    ptrdiff_t r;

    while (l >= 0 && st->cap[l].len != STRMATCH_CAP_UNFINISHED)
        l--;
    if (l < 0)
        return stop(st, STRMATCH_E_PATTERN_CAPTURE, 0);
    st->cap[l].len = (ptrdiff_t)(s - st->cap[l].start);
    r = match(st, s, p);
    if (r == MATCH_FAIL)
        st->cap[l].len = STRMATCH_CAP_UNFINISHED;
    return r;
}

/* %bxy at *pp: x, then anything balanced, then the y that closes it. A
** y is checked before an x, so %bxx pairs neighbouring x's. */
static ptrdiff_t balance(struct strmatch_state *st, size_t s, size_t *pp)
{
    size_t p = *pp + 2;
    int open, close, depth = 1;

    if (p + 1 >= st->patlen)
        return stop(st, STRMATCH_E_BALANCE_ARGS, 0);
    open = st->pat[p];
    close = st->pat[p + 1];
    if (s >= st->srclen || st->src[s] != open)
        return MATCH_FAIL;
    while (++s < st->srclen) {
        if (SPEND(st, 1))
            return MATCH_STOP;
        if (st->src[s] == close) {
            if (--depth == 0) {
                *pp = p + 2;
                return (ptrdiff_t)s + 1;
            }
        } else if (st->src[s] == open) {
            depth++;
        }
    }
    return MATCH_FAIL;
}

/* %f[set] at *pp: an empty match where the previous byte is not in the
** set and the next one is; both ends of the subject count as '\0'. */
static ptrdiff_t frontier(struct strmatch_state *st, size_t s, size_t *pp)
{
    size_t p = *pp + 2;
    ptrdiff_t ep;
    int prev, next;

    if (p >= st->patlen || st->pat[p] != '[')
        return stop(st, STRMATCH_E_FRONTIER, 0);
    ep = class_end(st, p);
    if (ep < 0)
        return ep;
    prev = s == 0 ? 0 : st->src[s - 1];
    next = s < st->srclen ? st->src[s] : 0;
    if (set_match(st->pat, p, (size_t)ep - 1, prev)
        || !set_match(st->pat, p, (size_t)ep - 1, next))
        return MATCH_FAIL;
    *pp = (size_t)ep;
    return (ptrdiff_t)s;
}

/* %1-%9 at *pp: the text of a closed capture again (%0 and open or
** missing captures are errors). A position capture never matches. */
static ptrdiff_t back_reference(struct strmatch_state *st, size_t s,
                                size_t *pp)
{
    int l = st->pat[*pp + 1] - '1';
    ptrdiff_t len;

    if (l < 0 || l >= st->level
        || st->cap[l].len == STRMATCH_CAP_UNFINISHED)
        return stop(st, STRMATCH_E_CAPTURE_INDEX, l + 1);
    len = st->cap[l].len;
    if (len == STRMATCH_CAP_POSITION || st->srclen - s < (size_t)len
        || memcmp(st->src + st->cap[l].start, st->src + s,
                  (size_t)len) != 0)
        return MATCH_FAIL;
    st->budget -= (long)(len >> 4);
    *pp += 2;
    return (ptrdiff_t)s + len;
}

/* The items that start with '%' and are not a class: %b, %f, %1-%9.
** They consume input without recursion. */
static ptrdiff_t escape_item(struct strmatch_state *st, size_t s,
                             size_t *pp)
{
    int c;

    if (*pp + 1 >= st->patlen)
        return NOT_SPECIAL;
    c = st->pat[*pp + 1];
    if (c == 'b')
        return balance(st, s, pp);
    if (c == 'f')
        return frontier(st, s, pp);
    if (c >= '0' && c <= '9')
        return back_reference(st, s, pp);
    return NOT_SPECIAL;
}

/* A single-character class at p, maybe followed by a quantifier. The
** cases that can go on without recursion set *sp and *pp and return
** NOT_SPECIAL; the others return the result of the rest of the match. */
static ptrdiff_t class_item(struct strmatch_state *st, size_t *sp,
                            size_t *pp)
{
    size_t s = *sp, p = *pp;
    ptrdiff_t ep = class_end(st, p), r;
    int q;

    if (ep < 0)
        return ep;
    q = (size_t)ep < st->patlen ? st->pat[ep] : 0;
    if (!single_match(st, s, p, (size_t)ep)) {
        if (q != '*' && q != '?' && q != '-')
            return MATCH_FAIL;
        *pp = (size_t)ep + 1;
        return NOT_SPECIAL;
    }
    switch (q) {
    case '?':
        r = match(st, s + 1, (size_t)ep + 1);
        if (r != MATCH_FAIL)
            return r;
        *pp = (size_t)ep + 1;
        return NOT_SPECIAL;
    case '+':
        return max_expand(st, s + 1, p, (size_t)ep);
    case '*':
        return max_expand(st, s, p, (size_t)ep);
    case '-':
        return min_expand(st, s, p, (size_t)ep);
    default:
        *sp = s + 1;
        *pp = (size_t)ep;
        return NOT_SPECIAL;
    }
}

/* Matches pattern offset p onwards at subject offset s. Items that
** need no backtracking point loop here; the others recurse through
** match(), which counts the nesting. */
static ptrdiff_t match_items(struct strmatch_state *st, size_t s, size_t p)
{
    ptrdiff_t r;

    for (;;) {
        if (SPEND(st, 1))
            return MATCH_STOP;
        if (p == st->patlen)
            return (ptrdiff_t)s;
        switch (st->pat[p]) {
        case '(':
            return open_capture(st, s, p);
        case ')':
            return close_capture(st, s, p + 1);
        case '$':
            if (p + 1 == st->patlen)
                return s == st->srclen ? (ptrdiff_t)s : MATCH_FAIL;
            break;
        case ESC:
            r = escape_item(st, s, &p);
            if (r == NOT_SPECIAL)
                break;
            if (r < 0)
                return r;
            s = (size_t)r;
            continue;
        }
        r = class_item(st, &s, &p);
        if (r != NOT_SPECIAL)
            return r;
    }
}

/* Every recursion goes through here: Lua allows 200 nested calls of its
** matcher and so do we, counted at the same places. */
static ptrdiff_t match(struct strmatch_state *st, size_t s, size_t p)
{
    ptrdiff_t r;

    if (st->depth == 0)
        return stop(st, STRMATCH_E_TOO_COMPLEX, 0);
    st->depth--;
    r = match_items(st, s, p);
    st->depth++;
    return r;
}

void strmatch_init(struct strmatch_state *st, const char *src,
                   size_t srclen, const char *pat, size_t patlen,
                   strmatch_poll_fn poll, void *poll_ud)
{
    st->src = (const unsigned char *)src;
    st->srclen = srclen;
    st->pat = (const unsigned char *)pat;
    st->patlen = patlen;
    st->poll = poll;
    st->poll_ud = poll_ud;
    st->budget = STRMATCH_POLL_UNITS;
    st->polls = 0;
    st->level = 0;
    st->depth = STRMATCH_MAXDEPTH;
    st->err = STRMATCH_E_NONE;
    st->err_index = 0;
}

int strmatch_at(struct strmatch_state *st, size_t s, size_t p,
                size_t *end)
{
    ptrdiff_t r;

    st->level = 0;
    st->depth = STRMATCH_MAXDEPTH;
    st->err = STRMATCH_E_NONE;
    r = match(st, s, p);
    if (r >= 0) {
        *end = (size_t)r;
        return STRMATCH_OK;
    }
    if (r == MATCH_FAIL)
        return STRMATCH_NOMATCH;
    return st->err == STRMATCH_E_ABORTED ? STRMATCH_ABORTED
                                         : STRMATCH_ERROR;
}

int strmatch_search(struct strmatch_state *st, size_t init,
                    size_t *start, size_t *end)
{
    int anchor = st->patlen > 0 && st->pat[0] == '^';
    size_t s;
    int rc;

    for (s = init;; s++) {
        rc = strmatch_at(st, s, anchor ? 1 : 0, end);
        if (rc != STRMATCH_NOMATCH) {
            *start = s;
            return rc;
        }
        if (anchor || s >= st->srclen)
            return STRMATCH_NOMATCH;
    }
}

int strmatch_capture_count(const struct strmatch_state *st, int whole)
{
    return st->level == 0 && whole ? 1 : st->level;
}

int strmatch_capture(struct strmatch_state *st, int i, size_t s, size_t e,
                     struct strmatch_span *out)
{
    const struct strmatch_capture *c;

    if (i >= st->level) {
        if (i != 0) {
            stop(st, STRMATCH_E_CAPTURE_INDEX, i + 1);
            return STRMATCH_ERROR;
        }
        out->start = s;
        out->len = e - s;
        out->is_position = 0;
        return STRMATCH_OK;
    }
    c = &st->cap[i];
    if (c->len == STRMATCH_CAP_UNFINISHED) {
        stop(st, STRMATCH_E_UNFINISHED, 0);
        return STRMATCH_ERROR;
    }
    out->start = c->start;
    out->is_position = c->len == STRMATCH_CAP_POSITION;
    out->len = out->is_position ? 0 : (size_t)c->len;
    return STRMATCH_OK;
}

int strmatch_has_specials(const char *pat, size_t patlen)
{
    static const char specials[] = "^$*+?.([%-";
    size_t i;

    for (i = 0; i < patlen; i++)
        if (memchr(specials, pat[i], sizeof specials - 1) != NULL)
            return 1;
    return 0;
}

/* glibc's memmem is linear in the worst case (two-way algorithm), so
** a plain find needs no polling: it is bounded by the subject size. */
int strmatch_find_plain(const char *src, size_t srclen, const char *pat,
                        size_t patlen, size_t init, size_t *pos)
{
    const char *hit;

    if (init > srclen)
        return STRMATCH_NOMATCH;
    if (patlen == 0) {
        *pos = init;
        return STRMATCH_OK;
    }
    hit = memmem(src + init, srclen - init, pat, patlen);
    if (hit == NULL)
        return STRMATCH_NOMATCH;
    *pos = (size_t)(hit - src);
    return STRMATCH_OK;
}

const char *strmatch_errmsg(const struct strmatch_state *st, char *buf,
                            size_t size)
{
    switch (st->err) {
    case STRMATCH_E_ENDS_ESC:
        return "malformed pattern (ends with '%')";
    case STRMATCH_E_MISSING_BRACKET:
        return "malformed pattern (missing ']')";
    case STRMATCH_E_BALANCE_ARGS:
        return "malformed pattern (missing arguments to '%b')";
    case STRMATCH_E_FRONTIER:
        return "missing '[' after '%f' in pattern";
    case STRMATCH_E_CAPTURE_INDEX:
        snprintf(buf, size, "invalid capture index %%%d", st->err_index);
        return buf;
    case STRMATCH_E_PATTERN_CAPTURE:
        return "invalid pattern capture";
    case STRMATCH_E_UNFINISHED:
        return "unfinished capture";
    case STRMATCH_E_TOO_MANY:
        return "too many captures";
    case STRMATCH_E_TOO_COMPLEX:
        return "pattern too complex";
    case STRMATCH_E_ABORTED:
        return STRMATCH_ABORT_MSG;
    default:
        return "no error";
    }
}
