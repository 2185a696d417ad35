/*
** sse_test.c -- unit tests for the SSE parser (host/pure/sse.c).
**
** The core is the fixture corpus in tests/fixtures/sse (format in its
** README.md): each stream is fed whole, cut in two at every position, cut
** in three at a sample of positions, one byte at a time and with a
** callback that stops after every event, and each way must print the
** expected events, and per stream how it ended and the last event id
** and retry kept for a reconnect (a fixture may hold several streams,
** fed to one parser with sse_finish between them, as after a
** reconnect). The other tests cover what fixtures cannot hold:
** caps at their 1 MiB defaults, allocation failure, zero copy, stop and
** resume, reuse after sse_finish, and random streams under random cuts.
** Run from the repository root (or set SSE_FIXTURES to the folder).
*/
#include "pure/sse.h"
#include "unit.h"

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

static void text_esc(struct dynbuf *t, const char *s, size_t n)
{
    char hex[8];
    size_t i;

    unit_buf_str(t, "\"");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"') {
            hex[0] = '\\';
            hex[1] = (char)c;
            unit_buf_add(t, hex, 2);
        } else if (c == '\n') {
            unit_buf_str(t, "\\n");
        } else if (c == '\r') {
            unit_buf_str(t, "\\r");
        } else if (c >= 0x20 && c <= 0x7e) {
            unit_buf_add(t, (const char *)&c, 1);
        } else {
            snprintf(hex, sizeof hex, "\\x%02x", c);
            unit_buf_str(t, hex);
        }
    }
    unit_buf_str(t, "\"");
}

static void print_event(struct dynbuf *t, const struct sse_event *ev)
{
    char num[32];

    unit_buf_str(t, "event type=");
    text_esc(t, ev->type, ev->type_len);
    unit_buf_str(t, " data=");
    text_esc(t, ev->data, ev->data_len);
    unit_buf_str(t, " id=");
    text_esc(t, ev->id, ev->id_len);
    snprintf(num, sizeof num, " retry=%lld\n", ev->retry);
    unit_buf_str(t, num);
}

static int on_print(void *ud, const struct sse_event *ev)
{
    print_event(ud, ev);
    return 0;
}

static int on_print_stop(void *ud, const struct sse_event *ev)
{
    print_event(ud, ev);
    return 1;
}

static const char *end_word(int rc, int dropped)
{
    switch (rc) {
    case SSE_OK:
        return dropped ? "end dropped" : "end ok";
    case SSE_ELINE:
        return "end error line";
    case SSE_EEVENT:
        return "end error event";
    case SSE_ENOMEM:
        return "end error nomem";
    default:
        return "end error unknown";
    }
}

/*
** How a stream ended, then what the parser keeps for a reconnect: the
** last event id (the Last-Event-ID to send) and the last retry.
*/
static void print_end(struct dynbuf *t, const struct sse_parser *p,
                      int rc, int dropped)
{
    const char *id;
    size_t idlen;
    char num[32];

    id = sse_last_id(p, &idlen);
    unit_buf_str(t, end_word(rc, dropped));
    unit_buf_str(t, " last_id=");
    text_esc(t, id, idlen);
    snprintf(num, sizeof num, " retry=%lld\n", sse_retry(p));
    unit_buf_str(t, num);
}

/*
** Feed one piece from a private copy that is scribbled over and freed
** right after, so a parser keeping a pointer into the caller's chunk
** past sse_feed shows up (as wrong bytes, or under ASan as a
** use-after-free).
*/
static int feed_copy(struct sse_parser *p, const char *s, size_t n,
                     int stop, struct dynbuf *out, size_t *used)
{
    char *copy = malloc(n ? n : 1);
    int rc;

    if (!copy)
        exit(2);
    if (n)
        memcpy(copy, s, n);
    rc = sse_feed(p, copy, n, stop ? on_print_stop : on_print, out, used);
    memset(copy, '#', n);
    free(copy);
    return rc;
}

/*
** How a fixture is fed: the caps, the offsets where a connection ends
** and the next one starts on the same parser (a reconnect), and whether
** the callback stops after each event.
*/
struct feeding {
    const struct sse_config *cfg;
    const size_t *reconnect;    /* ascending, inside the input */
    size_t nreconnect;
    int stop;
};

/* Feed in[from..to); with stop, resume from each reported byte count. */
static int feed_range(struct sse_parser *p, const char *in, size_t from,
                      size_t to, int stop, struct dynbuf *out)
{
    size_t used;
    int rc;

    do {
        rc = feed_copy(p, in + from, to - from, stop, out, &used);
        if (rc == SSE_STOPPED)
            from += used;
    } while (rc == SSE_STOPPED);
    return rc;
}

/* End a stream: sse_finish, then its end line (after an error, the
** error's: nothing more was fed, and it is sticky anyway). */
static void end_stream(struct sse_parser *p, int rc, struct dynbuf *out)
{
    int dropped, frc = sse_finish(p, &dropped);

    print_end(out, p, rc < 0 ? rc : frc, dropped);
}

/*
** Feed in[0..len) cut at the ncuts ascending positions in cuts, print
** the events and an end line per stream into out. A stream ends at each
** reconnect offset (inside a piece or at its end) and at len; the next
** stream goes to the same parser, as after a reconnect.
*/
static void run_cuts(const char *in, size_t len, const size_t *cuts,
                     size_t ncuts, const struct feeding *f,
                     struct dynbuf *out)
{
    struct sse_parser p;
    size_t k, r = 0, from = 0, to, at;
    int rc = SSE_OK;

    sse_init(&p, f->cfg);
    for (k = 0; k <= ncuts; k++, from = to) {
        to = k < ncuts ? cuts[k] : len;
        while (r < f->nreconnect && f->reconnect[r] <= to) {
            at = f->reconnect[r++];
            if (rc >= 0)
                rc = feed_range(&p, in, from, at, f->stop, out);
            from = at;
            end_stream(&p, rc, out);
        }
        if (rc >= 0)
            rc = feed_range(&p, in, from, to, f->stop, out);
    }
    end_stream(&p, rc, out);
    sse_free(&p);
}

/* ---- the fixture corpus ---- */

#define MAX_RECONNECT 8

struct fixture {
    char name[128];
    char *in;
    size_t len;
    struct dynbuf want;
    struct sse_config cfg;
    size_t reconnect[MAX_RECONNECT];
    size_t nreconnect;
    int nfail;
};

static struct fixture cur;

static const char *fixture_dir(void)
{
    const char *d = getenv("SSE_FIXTURES");
    return d && *d ? d : "tests/fixtures/sse";
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n;

    *len = 0;
    if (!f)
        return NULL;
    do {
        if (*len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (!buf)
                exit(2);
        }
        n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
    } while (n > 0);
    fclose(f);
    return buf;
}

/* A "reconnect N" line: offsets ascend and lie inside the stream. */
static int add_reconnect(const char *s, struct fixture *fx)
{
    unsigned long at;
    size_t n = fx->nreconnect;

    if (sscanf(s, "reconnect %lu", &at) != 1 || n == MAX_RECONNECT ||
        at == 0 || at >= fx->len || (n && at <= fx->reconnect[n - 1]))
        return -1;
    fx->reconnect[fx->nreconnect++] = at;
    return 0;
}

/* Keep the event and end lines of a .events file; read its limits and
** reconnect lines. */
static int parse_expected(const char *s, size_t len, struct fixture *fx)
{
    const char *end = s + len, *nl;
    unsigned long ml, me;

    while (s < end) {
        nl = memchr(s, '\n', (size_t)(end - s));
        nl = nl ? nl + 1 : end;
        if (strncmp(s, "limits ", 7) == 0) {
            if (sscanf(s, "limits max_line=%lu max_event=%lu", &ml, &me)
                != 2)
                return -1;
            fx->cfg.max_line = ml;
            fx->cfg.max_event = me;
        } else if (strncmp(s, "reconnect ", 10) == 0) {
            if (add_reconnect(s, fx))
                return -1;
        } else if (*s != '#') {
            unit_buf_add(&fx->want, s, (size_t)(nl - s));
        }
        s = nl;
    }
    return 0;
}

static int load_fixture(const char *dir, const char *base,
                        struct fixture *fx)
{
    char path[512];
    char *ev;
    size_t evlen;
    int rc;

    memset(fx, 0, sizeof *fx);
    fx->want = unit_buf_new();
    snprintf(fx->name, sizeof fx->name, "%s", base);
    snprintf(path, sizeof path, "%s/%s.sse", dir, base);
    fx->in = slurp(path, &fx->len);
    snprintf(path, sizeof path, "%s/%s.events", dir, base);
    ev = slurp(path, &evlen);
    if (!fx->in || !ev) {
        free(ev);
        return -1;
    }
    rc = parse_expected(ev, evlen, fx);
    free(ev);
    return rc;
}

/* Compare one way of feeding with the expected text; report once. */
static void expect(const char *how, size_t a, size_t b,
                   const struct dynbuf *got)
{
    if (strcmp(got->p, cur.want.p) == 0)
        return;
    CHECK(!"events differ from the fixture");
    if (cur.nfail++ < 3)
        fprintf(stderr, "  %s: fed %s (%zu, %zu)\n  want:\n%s  got:\n%s",
                cur.name, how, a, b, cur.want.p, got->p);
}

static void try_cuts(const char *how, const size_t *cuts, size_t n,
                     int stop)
{
    struct dynbuf got = unit_buf_new();
    struct feeding f = { &cur.cfg, cur.reconnect, cur.nreconnect, stop };

    run_cuts(cur.in, cur.len, cuts, n, &f, &got);
    expect(how, n > 0 ? cuts[0] : 0, n > 1 ? cuts[1] : 0, &got);
    free(got.p);
}

/* Three-way cuts: every pair for short streams, a grid for long ones. */
static void try_three_way(void)
{
    size_t step = cur.len <= 64 ? 1 : cur.len / 48 + 1;
    size_t cuts[2];

    for (cuts[0] = 1; cuts[0] < cur.len; cuts[0] += step)
        for (cuts[1] = cuts[0] + 1; cuts[1] < cur.len; cuts[1] += step)
            try_cuts("in three", cuts, 2, 0);
}

static void try_bytewise(int stop)
{
    size_t *cuts = malloc((cur.len + 1) * sizeof *cuts);
    size_t i;

    for (i = 0; i + 1 < cur.len; i++)
        cuts[i] = i + 1;
    try_cuts(stop ? "bytewise, stopping" : "bytewise", cuts,
             cur.len ? cur.len - 1 : 0, stop);
    free(cuts);
}

static void run_fixture(void)
{
    size_t i;

    try_cuts("whole", NULL, 0, 0);
    try_cuts("whole, stopping", NULL, 0, 1);
    for (i = 0; i <= cur.len; i++)
        try_cuts("in two", &i, 1, 0);
    try_three_way();
    try_bytewise(0);
    try_bytewise(1);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every NAME.sse in the folder, sorted; returns how many. */
static size_t list_fixtures(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0, len;

    *names = NULL;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".sse") != 0)
            continue;
        *names = realloc(*names, (n + 1) * sizeof **names);
        (*names)[n] = strndup(e->d_name, len - 4);
        n++;
    }
    closedir(d);
    if (n)
        qsort(*names, n, sizeof **names, cmp_names);
    return n;
}

static size_t run_corpus(void)
{
    const char *dir = fixture_dir();
    char **names, label[160];
    size_t n = list_fixtures(dir, &names), i;

    for (i = 0; i < n; i++) {
        if (load_fixture(dir, names[i], &cur) != 0) {
            fprintf(stderr, "  cannot load fixture %s/%s\n", dir,
                    names[i]);
            unit_failed++;
        } else {
            snprintf(label, sizeof label, "fixture %s", names[i]);
            unit_run(label, run_fixture);
        }
        free(cur.in);
        unit_buf_free(&cur.want);
        free(names[i]);
    }
    free(names);
    return n;
}

/* ---- caps at their defaults ---- */

/* "data: " + filler up to a line of exactly len bytes, then LF LF. */
static char *data_line(size_t len, size_t *total)
{
    char *s = malloc(len + 2);

    memset(s, 'x', len);
    memcpy(s, "data: ", 6);
    s[len] = '\n';
    s[len + 1] = '\n';
    *total = len + 2;
    return s;
}

struct count {
    size_t events, data_len, last_len;
    const char *last_data;
};

static int on_count(void *ud, const struct sse_event *ev)
{
    struct count *c = ud;

    c->events++;
    c->data_len += ev->data_len;
    c->last_len = ev->data_len;
    c->last_data = ev->data;
    return 0;
}

/* Feed in pieces of `piece` bytes (0: whole); returns the final code. */
static int feed_all(struct sse_parser *p, const char *s, size_t len,
                    size_t piece, struct count *c)
{
    size_t off = 0, n;
    int rc = SSE_OK;

    if (piece == 0)
        piece = len ? len : 1;
    while (off < len && rc == SSE_OK) {
        n = len - off < piece ? len - off : piece;
        rc = sse_feed(p, s + off, n, on_count, c, NULL);
        off += n;
    }
    return rc;
}

static void test_line_of_1mib(void)
{
    size_t pieces[] = { 0, 16384, 4093 }, total, i;
    char *s = data_line(SSE_DEFAULT_MAX_LINE, &total);

    for (i = 0; i < 3; i++) {
        struct sse_parser p;
        struct count c = { 0 };
        sse_init(&p, NULL);
        CHECK_INT(feed_all(&p, s, total, pieces[i], &c), SSE_OK);
        CHECK_INT(c.events, 1);
        CHECK_INT(c.data_len, SSE_DEFAULT_MAX_LINE - 6);
        sse_free(&p);
    }
    free(s);
}

static void test_line_over_1mib(void)
{
    size_t pieces[] = { 0, 16384, 4093 }, total, i;
    char *s = data_line(SSE_DEFAULT_MAX_LINE + 1, &total);

    for (i = 0; i < 3; i++) {
        struct sse_parser p;
        struct count c = { 0 };
        int dropped = 1;
        sse_init(&p, NULL);
        CHECK_INT(feed_all(&p, s, total, pieces[i], &c), SSE_ELINE);
        CHECK_INT(c.events, 0);
        CHECK_STR(sse_errmsg(&p), "SSE line exceeds 1048576 bytes");
        CHECK_INT(sse_feed(&p, "data: a\n\n", 9, on_count, &c, NULL),
                  SSE_ELINE);
        CHECK_INT(sse_finish(&p, &dropped), SSE_ELINE);
        CHECK_INT(dropped, 0);
        CHECK_INT(c.events, 0);
        sse_free(&p);
    }
    free(s);
}

/* A 1 MiB data value needs a line cap above 1 MiB: "data: " counts. */
static void test_data_value_of_1mib(void)
{
    struct sse_config cfg = { 2 * SSE_DEFAULT_MAX_LINE, 0, NULL, NULL };
    size_t total;
    char *ok = data_line(SSE_DEFAULT_MAX_EVENT + 6, &total);
    char *big = data_line(SSE_DEFAULT_MAX_EVENT + 7, &total);
    struct sse_parser p;
    struct count c = { 0 };

    sse_init(&p, &cfg);
    CHECK_INT(feed_all(&p, ok, total - 1, 16384, &c), SSE_OK);
    CHECK_INT(c.events, 1);
    CHECK_INT(c.last_len, SSE_DEFAULT_MAX_EVENT);
    CHECK_INT(feed_all(&p, big, total, 16384, &c), SSE_EEVENT);
    CHECK_STR(sse_errmsg(&p), "SSE event exceeds 1048576 bytes");
    CHECK_INT(c.events, 1);
    sse_free(&p);
    free(ok);
    free(big);
}

/*
** The one case of the SSE corpus too big for a fixture (rexxars/
** eventsource-parser, "unbounded: 1,000,000-byte data line,
** unterminated"): a data line of 1,000,006 bytes, under the default
** line cap, that the stream ends before its line end. No event, no
** error; sse_finish drops it.
*/
static void test_unterminated_data_line_of_1mb(void)
{
    size_t pieces[] = { 0, 16384, 4093 }, total, i;
    char *s = data_line(1000006, &total);

    for (i = 0; i < 3; i++) {
        struct sse_parser p;
        struct count c = { 0 };
        int dropped = 0;
        sse_init(&p, NULL);
        CHECK_INT(feed_all(&p, s, total - 2, pieces[i], &c), SSE_OK);
        CHECK_INT(sse_finish(&p, &dropped), SSE_OK);
        CHECK_INT(dropped, 1);
        CHECK_INT(c.events, 0);
        sse_free(&p);
    }
    free(s);
}

/* Many short lines adding up past the event cap. */
static void test_event_of_many_lines(void)
{
    const char *line = "data: 0123456789abcdef\n";   /* 16 data bytes */
    size_t n = SSE_DEFAULT_MAX_EVENT / 17 + 2, i, ll = strlen(line);
    char *s = malloc(n * ll + 1);
    struct sse_parser p;
    struct count c = { 0 };

    for (i = 0; i < n; i++)
        memcpy(s + i * ll, line, ll);
    s[n * ll] = '\n';
    sse_init(&p, NULL);
    CHECK_INT(feed_all(&p, s, n * ll + 1, 16384, &c), SSE_EEVENT);
    CHECK_INT(c.events, 0);
    CHECK_STR(sse_errmsg(&p), "SSE event exceeds 1048576 bytes");
    CHECK_STR(sse_strerror(SSE_EEVENT), "SSE event too large");
    sse_free(&p);
    free(s);
}

/* ---- allocation failure ---- */

/*
** A lua_Alloc-style allocator that fails after `budget` successful
** calls and checks the osize the parser passes matches what it got.
*/
struct arena {
    long budget;
    long live;
    int bad_osize;
};

struct hdr {
    size_t size;
    max_align_t align;
};

static void *arena_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct arena *a = ud;
    struct hdr *h = ptr ? (struct hdr *)ptr - 1 : NULL;

    if (h && h->size != osize)
        a->bad_osize = 1;
    if (!h && osize != 0)
        a->bad_osize = 1;
    if (nsize == 0) {
        if (h)
            a->live--;
        free(h);
        return NULL;
    }
    if (a->budget-- <= 0)
        return NULL;
    h = realloc(h, sizeof *h + nsize);
    if (!h)
        return NULL;
    if (!ptr)
        a->live++;
    h->size = nsize;
    return h + 1;
}

static int alloc_run(long budget, const char *s, size_t len,
                     struct arena *a, struct count *c)
{
    struct sse_config cfg = { 0, 0, arena_alloc, a };
    struct sse_parser p;
    int rc, dropped;

    a->budget = budget;
    sse_init(&p, &cfg);
    rc = feed_all(&p, s, len, 7, c);
    if (rc == SSE_ENOMEM) {
        CHECK_STR(sse_errmsg(&p), "out of memory in the SSE parser");
        CHECK_INT(sse_feed(&p, "\n", 1, on_count, c, NULL), SSE_ENOMEM);
        CHECK_INT(sse_finish(&p, &dropped), SSE_ENOMEM);
    }
    sse_free(&p);
    return rc;
}

static void test_alloc_failure(void)
{
    const char *s = "event: e\nid: 1\ndata: first line\ndata: second\n\n"
                    "data: a long line cut across many feeds, copied\n\n";
    struct arena a = { 0, 0, 0 };
    long budget;
    int rc = SSE_ENOMEM, failures = 0;

    for (budget = 0; budget < 100 && rc == SSE_ENOMEM; budget++) {
        struct count c = { 0 };
        rc = alloc_run(budget, s, strlen(s), &a, &c);
        if (rc == SSE_ENOMEM)
            failures++;
        else
            CHECK_INT(c.events, 2);
        CHECK_INT(a.live, 0);
    }
    CHECK_INT(rc, SSE_OK);
    CHECK(failures > 2);
    CHECK(!a.bad_osize);
}

/* ---- zero copy, stop and resume, reuse ---- */

static void test_zero_copy(void)
{
    const char one[] = "data: hello\n\n", two[] = "data: a\ndata: b\n\n";
    struct sse_parser p;
    struct count c = { 0 };

    sse_init(&p, NULL);
    CHECK_INT(sse_feed(&p, one, sizeof one - 1, on_count, &c, NULL),
              SSE_OK);
    CHECK(c.last_data == one + 6);
    CHECK_INT(sse_feed(&p, two, sizeof two - 1, on_count, &c, NULL),
              SSE_OK);
    CHECK(c.last_data < two || c.last_data >= two + sizeof two);
    CHECK_INT(c.events, 2);
    sse_free(&p);
}

struct stopper {
    int events;
    char last[16];
};

static int on_stop(void *ud, const struct sse_event *ev)
{
    struct stopper *st = ud;
    size_t n = ev->data_len < 15 ? ev->data_len : 15;

    st->events++;
    memcpy(st->last, ev->data, n);
    st->last[n] = '\0';
    return 1;
}

/* The byte count after a stop lets the caller pick up exactly there. */
static void test_stop_resume(void)
{
    const char s[] = "data: a\r\rdata: b\r\n\r\ndata: c\n\n";
    struct sse_parser p;
    struct stopper st = { 0, "" };
    size_t used;

    sse_init(&p, NULL);
    CHECK_INT(sse_feed(&p, s, sizeof s - 1, on_stop, &st, &used),
              SSE_STOPPED);
    CHECK_INT(used, 9);
    CHECK_STR(st.last, "a");
    CHECK_INT(sse_feed(&p, s + 9, sizeof s - 10, on_stop, &st, &used),
              SSE_STOPPED);
    CHECK_INT(used, 11);
    CHECK_STR(st.last, "b");
    CHECK_INT(sse_feed(&p, s + 20, sizeof s - 21, on_stop, &st, &used),
              SSE_STOPPED);
    CHECK_INT(used, 9);
    CHECK_STR(st.last, "c");
    CHECK_INT(st.events, 3);
    sse_free(&p);
}

/* A stop on a blank line ended by CR must still swallow the next LF. */
static void test_stop_before_split_crlf(void)
{
    struct sse_parser p;
    struct stopper st = { 0, "" };
    size_t used;

    sse_init(&p, NULL);
    CHECK_INT(sse_feed(&p, "data: a\r\r", 9, on_stop, &st, &used),
              SSE_STOPPED);
    CHECK_INT(used, 9);
    CHECK_INT(sse_feed(&p, "\ndata: b\n\n", 10, on_stop, &st, &used),
              SSE_STOPPED);
    CHECK_STR(st.last, "b");
    CHECK_INT(st.events, 2);
    sse_free(&p);
}

/*
** After sse_finish the parser takes a new stream and keeps the last
** event id of the last dispatch; the id of the block the end cut off
** went with that block.
*/
static void test_finish_and_reuse(void)
{
    const char first[] = "id: 2\nretry: 250\ndata: a\n\nid: 3\ndata: b";
    const char second[] = "\xef\xbb\xbf" "data: c\n\n";
    struct sse_parser p;
    struct count c = { 0 };
    const char *id;
    size_t idlen;
    int dropped = 0;

    sse_init(&p, NULL);
    CHECK_INT(feed_all(&p, first, sizeof first - 1, 0, &c), SSE_OK);
    CHECK_INT(sse_finish(&p, &dropped), SSE_OK);
    CHECK_INT(dropped, 1);
    CHECK_INT(c.events, 1);
    id = sse_last_id(&p, &idlen);
    CHECK_MEM(id, idlen, "2", 1);
    CHECK_INT(sse_retry(&p), 250);
    CHECK_INT(feed_all(&p, second, sizeof second - 1, 1, &c), SSE_OK);
    CHECK_INT(sse_finish(&p, &dropped), SSE_OK);
    CHECK_INT(dropped, 0);
    CHECK_INT(c.events, 2);
    CHECK_MEM(c.last_data, c.last_len, "c", 1);
    sse_free(&p);
}

struct last {
    int events;
    char id[16];
};

static int on_last(void *ud, const struct sse_event *ev)
{
    struct last *l = ud;
    size_t n = ev->id_len < 15 ? ev->id_len : 15;

    l->events++;
    memcpy(l->id, ev->id, n);
    l->id[n] = '\0';
    return 0;
}

/* sse_last_id as a NUL-terminated string, for CHECK_STR. */
static const char *last_id(const struct sse_parser *p)
{
    static char buf[16];
    size_t n;
    const char *id = sse_last_id(p, &n);

    n = n < 15 ? n : 15;
    memcpy(buf, id, n);
    buf[n] = '\0';
    return buf;
}

/*
** WHATWG HTML 9.2.6 keeps two ids: the last event ID buffer, which an
** id line sets, and the event source's last event ID string, which
** takes the buffer's value only at a blank line (the dispatch, even of
** a block without data) and is what a reconnect sends. The wpt case
** format-data-before-final-empty-line: the stream ends in the block
** with 'id:test', so the reconnect carries no id and the repeated
** first event has lastEventId "".
*/
static void test_reconnect_last_event_id(void)
{
    const char wpt[] = "retry:1000\ndata:test1\n\nid:test\ndata:test2\n";
    struct sse_parser p;
    struct last l = { 0, "" };
    int dropped = 0;

    sse_init(&p, NULL);
    CHECK_INT(sse_feed(&p, wpt, sizeof wpt - 1, on_last, &l, NULL),
              SSE_OK);
    CHECK_STR(last_id(&p), "");         /* 'id:test' not dispatched */
    CHECK_INT(sse_finish(&p, &dropped), SSE_OK);
    CHECK_INT(dropped, 1);
    CHECK_STR(last_id(&p), "");
    CHECK_INT(sse_feed(&p, wpt, sizeof wpt - 1, on_last, &l, NULL),
              SSE_OK);
    CHECK_INT(l.events, 2);
    CHECK_STR(l.id, "");
    CHECK_INT(sse_retry(&p), 1000);
    CHECK_STR(last_id(&p), "");
    /* this time the block ends: test2 carries the id, the string too */
    CHECK_INT(sse_feed(&p, "\n", 1, on_last, &l, NULL), SSE_OK);
    CHECK_INT(l.events, 3);
    CHECK_STR(l.id, "test");
    CHECK_STR(last_id(&p), "test");
    /* a block without data sets the string at its blank line */
    CHECK_INT(sse_feed(&p, "id: 9\n", 6, on_last, &l, NULL), SSE_OK);
    CHECK_STR(last_id(&p), "test");
    CHECK_INT(sse_feed(&p, "\n", 1, on_last, &l, NULL), SSE_OK);
    CHECK_INT(l.events, 3);
    CHECK_STR(last_id(&p), "9");
    CHECK_INT(sse_feed(&p, "data: x\n\n", 10, on_last, &l, NULL),
              SSE_OK);
    CHECK_INT(l.events, 4);
    CHECK_STR(l.id, "9");
    sse_free(&p);
}

static void test_retry_without_event(void)
{
    const char s[] = "retry: 99999999999999999999999\n\nretry: 5x\n\n";
    struct sse_parser p;
    struct count c = { 0 };

    sse_init(&p, NULL);
    CHECK_INT(sse_retry(&p), -1);
    CHECK_INT(feed_all(&p, s, sizeof s - 1, 0, &c), SSE_OK);
    CHECK_INT(c.events, 0);
    CHECK(sse_retry(&p) == LLONG_MAX);
    sse_free(&p);
}

static void test_edges(void)
{
    struct sse_parser p;
    size_t used = 7, idlen = 9;
    int dropped = 1;

    sse_init(&p, NULL);
    CHECK_INT(sse_feed(&p, NULL, 0, NULL, NULL, &used), SSE_OK);
    CHECK_INT(used, 0);
    CHECK_INT(sse_feed(&p, "data: x\n\n", 9, NULL, NULL, &used), SSE_OK);
    CHECK_INT(used, 9);
    CHECK_STR(sse_last_id(&p, &idlen), "");
    CHECK_INT(idlen, 0);
    CHECK_INT(sse_finish(&p, &dropped), SSE_OK);
    CHECK_INT(dropped, 0);
    CHECK_STR(sse_errmsg(&p), "ok");
    CHECK_STR(sse_strerror(SSE_ELINE), "SSE line too long");
    CHECK_STR(sse_strerror(SSE_ENOMEM), "out of memory in the SSE parser");
    CHECK_STR(sse_strerror(SSE_STOPPED), "stopped by the event callback");
    CHECK_STR(sse_strerror(42), "unknown SSE parser error");
    sse_free(&p);
    sse_free(&p);
}

/* ---- random streams, random cuts ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Streams built from the pieces that matter to the grammar. */
static size_t random_stream(char *s, size_t cap)
{
    static const char *const tok[] = {
        "data", "data:", "data: ", "event:", "id:", "id: 1", "retry:",
        "retry: 12", ":", " ", "x", "yz", "\n", "\n", "\r", "\r\n",
        "\xef\xbb\xbf", "\xe2\x80\xa8", "\xc2\x85", "Data", "\n\n"
    };
    size_t ntok = sizeof tok / sizeof *tok, len = 0, t, n;

    while (len + 8 < cap && rng() % 40 != 0) {
        t = rng() % (ntok + 1);
        if (t == ntok) {
            s[len++] = '\0';
            continue;
        }
        n = strlen(tok[t]);
        memcpy(s + len, tok[t], n);
        len += n;
    }
    return len;
}

static void test_random_cuts(void)
{
    char s[512];
    size_t cuts[16], i, k, len;
    struct sse_config small = { 12, 24, NULL, NULL };
    int bad = 0;

    rng_state = 0x9e3779b97f4a7c15ull;
    for (i = 0; i < 3000 && bad < 3; i++) {
        struct dynbuf whole = unit_buf_new(), cut = unit_buf_new();
        struct feeding f = { i % 3 == 0 ? &small : NULL, NULL, 0, 0 };
        size_t n = 0;
        len = random_stream(s, sizeof s);
        for (k = 0; k < 16 && len > 0; k++) {
            size_t at = (n ? cuts[n - 1] : 0) + rng() % 24;
            if (at >= len)
                break;
            cuts[n++] = at;
        }
        run_cuts(s, len, NULL, 0, &f, &whole);
        f.stop = (int)(i & 1);
        run_cuts(s, len, cuts, n, &f, &cut);
        if (strcmp(whole.p, cut.p) != 0 && ++bad)
            fprintf(stderr, "  random stream %zu differs\n", i);
        free(whole.p);
        free(cut.p);
    }
    CHECK_INT(bad, 0);
}

int main(void)
{
    size_t n = run_corpus();

    if (n < 150) {      /* the corpus_* cases are there too */
        fprintf(stderr, "  only %zu fixtures found in %s\n", n,
                fixture_dir());
        unit_failed++;
    }
    RUN(test_line_of_1mib);
    RUN(test_line_over_1mib);
    RUN(test_data_value_of_1mib);
    RUN(test_event_of_many_lines);
    RUN(test_unterminated_data_line_of_1mb);
    RUN(test_alloc_failure);
    RUN(test_zero_copy);
    RUN(test_stop_resume);
    RUN(test_stop_before_split_crlf);
    RUN(test_finish_and_reuse);
    RUN(test_reconnect_last_event_id);
    RUN(test_retry_without_event);
    RUN(test_edges);
    RUN(test_random_cuts);
    return unit_done("sse");
}
