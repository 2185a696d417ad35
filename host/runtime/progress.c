/*
** progress.c -- the progress of long waits (progress.h).
**
** Concurrent tasks (a smoke run over five services, a campaign) each
** report under their own label. On a terminal the unfinished labels
** form a block of lines at the bottom: the block is erased (cursor up,
** erase down) and written again as one write, so other output never
** lands inside it, and a ticker the event loop drives redraws it once a
** second so the elapsed time moves while a wait sleeps. Off a terminal
** a change of state is one plain line and nothing is redrawn.
**
** Labels and states may carry text from servers: control bytes are
** shown as '?', so no escape sequence reaches the terminal through
** them. Lines are cut to the terminal's width, or the cursor-up count
** would be wrong once a line wraps.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/out.h"
#include "runtime/progress.h"

#define PROGRESS_MAX 32         /* labels followed at once */
#define PROGRESS_SHOWN 12       /* lines of the block, at most */
#define PROGRESS_LINE 512       /* bytes of one line, at most */

struct entry {
    char label[64];
    char state[192];
    double start;               /* monotonic, first state of the label */
    double limit;               /* seconds, 0 none */
    const void *owner;
    int used;
};

static struct {
    int mode;
    int visible;                /* the block is wanted on screen */
    int drawn;                  /* lines of it on screen now */
    double drawn_at;
    struct entry e[PROGRESS_MAX];
} pg;

void progress_setup(int mode)
{
    pg.mode = mode;
}

/* Copy with control bytes (C0, DEL) shown as '?'. */
static void copy_clean(char *dst, size_t size, const char *src)
{
    size_t i;
    for (i = 0; i + 1 < size && src[i]; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    /* never end inside a UTF-8 sequence */
    while (i > 0 && ((unsigned char)dst[i - 1] & 0xc0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)dst[i - 1] >= 0xc0)
        i--;
    dst[i] = '\0';
}

static struct entry *find(const char *label)
{
    for (int i = 0; i < PROGRESS_MAX; i++)
        if (pg.e[i].used && strcmp(pg.e[i].label, label) == 0)
            return &pg.e[i];
    return NULL;
}

static struct entry *add(const char *label, double now)
{
    for (int i = 0; i < PROGRESS_MAX; i++) {
        if (!pg.e[i].used) {
            memset(&pg.e[i], 0, sizeof pg.e[i]);
            pg.e[i].used = 1;
            pg.e[i].start = now;
            copy_clean(pg.e[i].label, sizeof pg.e[i].label, label);
            return &pg.e[i];
        }
    }
    return NULL;
}

static int count_used(void)
{
    int n = 0;
    for (int i = 0; i < PROGRESS_MAX; i++)
        n += pg.e[i].used;
    return n;
}

static int columns(void)
{
    struct winsize ws;
    int n = 0;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0)
        n = ws.ws_col;
    if (n < 20) {
        const char *c = getenv("COLUMNS");
        n = c ? atoi(c) : 0;
    }
    if (n < 20)
        return 80;
    return n > 400 ? 400 : n;
}

/* " 3s" or " 3s / 60s" (plain lines: " (3s)", nothing under 1 s). */
static void when(char *buf, size_t size, const struct entry *e, double now,
                 int plain)
{
    long s = (long)(now - e->start);
    if (plain && s < 1) {
        buf[0] = '\0';
    } else if (e->limit > 0) {
        snprintf(buf, size, plain ? " (%lds / %.0fs)" : " %lds / %.0fs",
                 s, e->limit);
    } else {
        snprintf(buf, size, plain ? " (%lds)" : " %lds", s);
    }
}

/* snprintf's count, kept within what was really written. */
static size_t written(int n, size_t room)
{
    if (n < 0 || room == 0)
        return 0;
    return (size_t)n >= room ? room - 1 : (size_t)n;
}

/* Characters of a UTF-8 string, cut to `cols`; returns the bytes kept. */
static size_t cut_to(const char *s, size_t len, int cols)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == cols)
            return i;
    }
    return len;
}

/* "label: state 3s / 60s", cut so the time always shows. */
static size_t format_line(char *out, size_t size, const struct entry *e,
                          double now, int cols)
{
    char tail[48], head[PROGRESS_LINE];
    when(tail, sizeof tail, e, now, 0);
    size_t hlen = written(snprintf(head, sizeof head, "%s: %s", e->label,
                                   e->state), sizeof head);
    int room = cols - 1 - (int)strlen(tail);
    hlen = cut_to(head, hlen, room < 8 ? 8 : room);
    return written(snprintf(out, size, "%.*s%s\n", (int)hlen, head, tail),
                   size);
}

/* Cursor to the block's first line, and erase from there down. */
static size_t erase_seq(char *out, size_t size)
{
    int n = 0;
    if (pg.drawn > 0)
        n = snprintf(out, size, "\r\033[%dA\033[J", pg.drawn);
    pg.drawn = 0;
    return n < 0 ? 0 : (size_t)n;
}

/* Output written mid-line (a streamed answer) ends its line first, so
** neither the block nor a message lands inside it. */
void progress_break_line(void)
{
    if (out_isatty(OUT_STDOUT) && !out_at_line_start(OUT_STDOUT)) {
        out_write(OUT_STDOUT, "\n", 1);
        out_flush(OUT_STDOUT);
    }
    if (!out_at_line_start(OUT_STDERR))
        out_write(OUT_STDERR, "\n", 1);
}

/* Erase, then draw the block again, as one write. `extra`: a lasting
** line to leave above it. */
static void redraw(const char *extra)
{
    char buf[(PROGRESS_SHOWN + 1) * (PROGRESS_LINE + 64)];
    size_t len = erase_seq(buf, sizeof buf);
    double now = clock_monotonic();
    int cols = columns(), shown = 0, total = count_used();
    if (len == 0)
        progress_break_line();
    if (extra)
        len += written(snprintf(buf + len, sizeof buf - len, "%s\n",
                                extra), sizeof buf - len);
    for (int i = 0; pg.visible && i < PROGRESS_MAX; i++) {
        if (!pg.e[i].used)
            continue;
        if (shown == PROGRESS_SHOWN - 1 && total > PROGRESS_SHOWN) {
            len += written(snprintf(buf + len, sizeof buf - len,
                                    "... and %d more\n", total - shown),
                           sizeof buf - len);
            shown++;
            break;
        }
        len += format_line(buf + len, sizeof buf - len, &pg.e[i], now,
                           cols);
        shown++;
    }
    out_write(OUT_STDERR, buf, len);
    out_flush_release(OUT_STDERR);
    pg.drawn = pg.visible ? shown : 0;
    pg.drawn_at = now;
}

/* Off a terminal: one line per change of state, repeats dropped. */
static void plain_line(const struct entry *e, int changed, int done)
{
    char tail[48];
    if (!changed && !done)
        return;
    when(tail, sizeof tail, e, clock_monotonic(), 1);
    out_printf(OUT_STDERR, "%s: %s%s\n", e->label, e->state, tail);
}

static void finish(struct entry *e)
{
    char line[PROGRESS_LINE], tail[48];
    if (pg.mode == PROGRESS_TTY) {
        when(tail, sizeof tail, e, clock_monotonic(), 1);
        snprintf(line, sizeof line, "%s: %s%s", e->label, e->state, tail);
        e->used = 0;
        redraw(line);
    } else {
        e->used = 0;
    }
}

double progress_update(const char *label, const char *state, int done,
                       double limit, const void *owner)
{
    double now = clock_monotonic();
    char clean[sizeof pg.e[0].state];
    struct entry *e = find(label);
    int changed;
    if (!e && !(e = add(label, now))) {
        struct entry tmp = {.start = now};          /* the table is full */
        copy_clean(tmp.label, sizeof tmp.label, label);
        copy_clean(tmp.state, sizeof tmp.state, state);
        if (pg.mode == PROGRESS_PLAIN)
            plain_line(&tmp, 1, done);
        else if (pg.mode == PROGRESS_TTY && done)
            redraw(tmp.label);
        return 0;
    }
    copy_clean(clean, sizeof clean, state);
    changed = strcmp(clean, e->state) != 0 || e->limit != limit;
    memcpy(e->state, clean, sizeof clean);
    e->limit = limit > 0 ? limit : 0;
    e->owner = owner;
    double elapsed = now - e->start;
    if (pg.mode == PROGRESS_TTY)
        pg.visible = 1;
    if (pg.mode == PROGRESS_PLAIN)
        plain_line(e, changed, done);
    if (done) {
        finish(e);
    } else if (pg.mode == PROGRESS_TTY) {
        redraw(NULL);
    }
    return elapsed;
}

void progress_hide(void)
{
    char buf[32];
    size_t len;
    pg.visible = 0;
    if (pg.mode != PROGRESS_TTY || pg.drawn == 0)
        return;
    len = erase_seq(buf, sizeof buf);
    out_write(OUT_STDERR, buf, len);
    out_flush_release(OUT_STDERR);
}

double progress_next_tick(void)
{
    if (pg.mode != PROGRESS_TTY || !pg.visible || pg.drawn == 0)
        return 0;
    return pg.drawn_at + 1.0;
}

void progress_tick(void)
{
    double due = progress_next_tick();
    if (due > 0 && clock_monotonic() >= due)
        redraw(NULL);
}

void progress_forget(const void *owner)
{
    int gone = 0;
    if (!owner)
        return;
    for (int i = 0; i < PROGRESS_MAX; i++) {
        if (pg.e[i].used && pg.e[i].owner == owner) {
            pg.e[i].used = 0;
            gone = 1;
        }
    }
    if (gone && pg.mode == PROGRESS_TTY && pg.drawn > 0)
        redraw(NULL);
}
