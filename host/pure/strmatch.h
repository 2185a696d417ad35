/*
** strmatch.h -- Lua 5.4 patterns with a deadline: a matcher that stops.
**
** Pure C, no Lua API (the Lua binding is lstrmatch.c). The matcher
** implements the patterns of the Lua 5.4 manual, section 6.4.1, with
** the results and errors of Lua 5.4.4's string library, and calls a
** poll callback every STRMATCH_POLL_UNITS units of work so a deadline
** can stop a pattern that backtracks for hours inside one C call.
**
** Read first:
** - A state (struct strmatch_state) lives wherever the caller puts it,
**   usually on the C stack; the matcher allocates nothing, ever, and
**   recurses at most STRMATCH_MAXDEPTH levels (Lua's "pattern too
**   complex" limit). It is therefore safe for the poll callback to
**   longjmp out of the matcher; the binding does not rely on that and
**   uses the STRMATCH_ABORTED status instead.
** - Malformed patterns are reported lazily, when matching reaches the
**   bad item, exactly as Lua does: string.find("abc", "x%") is no match,
**   not an error.
** - Positions are 0-based byte offsets; a match is [start, end).
*/
#ifndef CLAWHOST_STRMATCH_H
#define CLAWHOST_STRMATCH_H

#include <stddef.h>

#define STRMATCH_MAXCAPTURES 32   /* LUA_MAXCAPTURES */
#define STRMATCH_MAXDEPTH    200  /* MAXCCALLS in lstrlib: nested items */
/* Work units between two polls. A unit is one pattern item tried, one
** subject byte scanned, or 16 bytes compared; 4096 units take 5-40 us
** on a 2020s x86 core, so a poll costs < 0.5% and comes well within
** 1 ms. */
#define STRMATCH_POLL_UNITS  4096

/* Results of strmatch_at, strmatch_search and strmatch_capture. */
enum {
    STRMATCH_OK = 0,      /* matched (or capture fetched) */
    STRMATCH_NOMATCH,     /* no match */
    STRMATCH_ERROR,       /* bad pattern or capture: strmatch_errmsg */
    STRMATCH_ABORTED      /* the poll callback asked to stop */
};

/* Why a match stopped (strmatch_state.err). */
enum {
    STRMATCH_E_NONE = 0,
    STRMATCH_E_ENDS_ESC,        /* malformed pattern (ends with '%') */
    STRMATCH_E_MISSING_BRACKET, /* malformed pattern (missing ']') */
    STRMATCH_E_BALANCE_ARGS,    /* ... (missing arguments to '%b') */
    STRMATCH_E_FRONTIER,        /* missing '[' after '%f' in pattern */
    STRMATCH_E_CAPTURE_INDEX,   /* invalid capture index %N (err_index) */
    STRMATCH_E_PATTERN_CAPTURE, /* invalid pattern capture */
    STRMATCH_E_UNFINISHED,      /* unfinished capture */
    STRMATCH_E_TOO_MANY,        /* too many captures */
    STRMATCH_E_TOO_COMPLEX,     /* pattern too complex */
    STRMATCH_E_ABORTED          /* STRMATCH_ABORT_MSG */
};

/* The message the binding raises when the poll callback stops a match.
** Fixed so the host's sandbox can recognise it. */
#define STRMATCH_ABORT_MSG "string matching stopped: deadline reached"

/* Returns nonzero to stop the match. */
typedef int (*strmatch_poll_fn)(void *ud);

#define STRMATCH_CAP_UNFINISHED (-1)
#define STRMATCH_CAP_POSITION   (-2)

struct strmatch_capture {
    size_t start;       /* offset in the subject */
    ptrdiff_t len;      /* length, or STRMATCH_CAP_UNFINISHED/_POSITION */
};

/* One capture as the caller sees it (strmatch_capture). */
struct strmatch_span {
    size_t start;       /* offset in the subject */
    size_t len;         /* 0 for a position capture */
    int is_position;    /* a () capture: the value is start + 1 */
};

struct strmatch_state {
    const unsigned char *src;   /* subject, not copied */
    size_t srclen;
    const unsigned char *pat;   /* pattern, not copied */
    size_t patlen;
    strmatch_poll_fn poll;      /* may be NULL */
    void *poll_ud;
    long budget;                /* work units left before the next poll */
    unsigned long polls;        /* how many times the budget ran out */
    int level;                  /* captures open or closed so far */
    int depth;                  /* nesting left before "too complex" */
    int err;                    /* STRMATCH_E_* after STRMATCH_ERROR */
    int err_index;              /* N of "invalid capture index %N" */
    struct strmatch_capture cap[STRMATCH_MAXCAPTURES];
};

/* Prepares st to match pat against src; both must outlive st's use. */
void strmatch_init(struct strmatch_state *st, const char *src,
                   size_t srclen, const char *pat, size_t patlen,
                   strmatch_poll_fn poll, void *poll_ud);

/* One match attempt anchored at subject offset s, starting at pattern
** offset p (1 to skip a leading '^'). On STRMATCH_OK *end is set and the
** captures stay readable with strmatch_capture. */
int strmatch_at(struct strmatch_state *st, size_t s, size_t p,
                size_t *end);

/* string.find / string.match: a leading '^' anchors; otherwise tries
** every start from init to srclen inclusive. Sets *start and *end. */
int strmatch_search(struct strmatch_state *st, size_t init,
                    size_t *start, size_t *end);

/* Number of values a match yields: the captures, or the whole match
** when there are none and whole is nonzero (match, gmatch, gsub). */
int strmatch_capture_count(const struct strmatch_state *st, int whole);

/* Capture i (0-based) of the last match [s, e); i == 0 with no captures
** is the whole match. STRMATCH_ERROR for an unfinished capture or an
** index past the captures ("invalid capture index %(i+1)"). */
int strmatch_capture(struct strmatch_state *st, int i, size_t s, size_t e,
                     struct strmatch_span *out);

/* Nonzero when pat has a character that is magic in a pattern; find
** searches plainly when it has none, as Lua does. */
int strmatch_has_specials(const char *pat, size_t patlen);

/* First occurrence of pat in src at or after init (init <= srclen), in
** linear time. STRMATCH_OK with *pos, or STRMATCH_NOMATCH. */
int strmatch_find_plain(const char *src, size_t srclen, const char *pat,
                        size_t patlen, size_t init, size_t *pos);

/* The message for st->err, worded as Lua 5.4.4 words it; buf (32 bytes
** are enough) is used for the messages that carry a number. */
const char *strmatch_errmsg(const struct strmatch_state *st, char *buf,
                            size_t size);

#endif
