/*
** ledger.c -- the spend ledger: reserve before a paid call, settle after,
** under one lock, in a file that is only ever replaced whole.
**
** Read docs/budget.md first. The invariants kept here:
**  - the cap check and the new record happen under one exclusive flock,
**    so concurrent runs never pass a cap together (the check-then-record
**    race of reliability-anchors section 4.1);
**  - the file is replaced by temp + fsync + rename + fsync(dir), so a
**    crash leaves either the old or the new ledger (section 4.2 item 4);
**  - a file that does not parse exactly, or whose checksum is wrong, is
**    refused and left alone: losing a record would hand money that was
**    spent back to the budget.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pure/money.h"
#include "store/ledger.h"
#include "util/dynbuf.h"
#include "util/fileio.h"
#include "util/quote.h"

#define LINE_MAX_LEN 512
#define TIME_LEN     20                 /* 2024-05-01T12:00:00Z */
#define TIME_MAX     INT64_C(253402300799)  /* 9999-12-31T23:59:59Z */
#define DAY_SECS     86400
#define HEADER       "clawhost-ledger"
#define REC_FIELDS   9
#define FNV_OFFSET   UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME    UINT64_C(0x100000001b3)

struct ledger {
    int dirfd;
    char *dir;
    char *path;                 /* dir/spend.ledger, for messages */
    int lock_timeout_ms;
    size_t max_bytes, max_records;
    ledger_fault_fn fault;
    void *fault_ud;
};

/* A snapshot, and also the working table of an update. */
struct ledger_snap {
    ledger_record *rec;         /* ascending id */
    size_t n, cap;
    int64_t next_id;
};

static int fail(char *err, size_t errlen, int st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int st, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

static int sys_fail(const ledger *l, char *err, size_t errlen,
                    const char *what)
{
    int e = errno;
    return fail(err, errlen, LEDGER_EIO, "%s: %s: %s", l->path, what,
                strerror(e));
}

static void clear_err(char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
}

static int isdig(char c)
{
    return c >= '0' && c <= '9';
}

/* Sums of non-negative amounts saturate: too much is refused, safely. */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    return a + b;
}

const char *ledger_status_code(int status)
{
    static const char *const codes[] = {
        "ok", "budget_exceeded", "invalid", "ledger_corrupt",
        "ledger_limit", "not_found", "not_open", "ledger_busy",
        "ledger_io", "nomem"
    };
    if (status < 0 || status > LEDGER_ENOMEM)
        return "unknown";
    return codes[status];
}

/* ---- names, integers, times ------------------------------------------ */

/*
** Run ids and labels go into a space-separated file and into terminal
** output: a small alphabet keeps both unambiguous.
*/
static int name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 isdig(c) || strchr("._:@+/-", c) != NULL;
        if (!ok || n >= LEDGER_NAME_MAX)
            return 0;
    }
    return n > 0;
}

/* Canonical decimal only: no sign, no leading zero, at most 18 digits. */
static int parse_i64(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t n = 0;
    if (s[0] == '0' && s[1] == '\0') {
        *out = 0;
        return 0;
    }
    if (s[0] == '0')
        return -1;
    for (; isdig(s[n]); n++) {
        if (n >= 18)
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0 || s[n] != '\0')
        return -1;
    *out = v;
    return 0;
}

static void fmt_time(int64_t t, char *out)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) ||
        strftime(out, TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != TIME_LEN)
        snprintf(out, TIME_LEN + 1, "%s", "0000-00-00T00:00:00Z");
}

static int num_at(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Strict: the exact shape, and it must format back to the same text. */
static int parse_time(const char *s, int64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    struct tm tm;
    char back[TIME_LEN + 1];
    time_t t;
    if (strlen(s) != TIME_LEN)
        return -1;
    for (int i = 0; i < TIME_LEN; i++)
        if (shape[i] == 'd' ? !isdig(s[i]) : s[i] != shape[i])
            return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = num_at(s, 4) - 1900;
    tm.tm_mon = num_at(s + 5, 2) - 1;
    tm.tm_mday = num_at(s + 8, 2);
    tm.tm_hour = num_at(s + 11, 2);
    tm.tm_min = num_at(s + 14, 2);
    tm.tm_sec = num_at(s + 17, 2);
    t = timegm(&tm);
    if (t < 0 || (int64_t)t > TIME_MAX)
        return -1;
    fmt_time((int64_t)t, back);
    if (strcmp(back, s) != 0)
        return -1;
    *out = (int64_t)t;
    return 0;
}

int64_t ledger_now(void)
{
    return (int64_t)time(NULL);
}

const char *ledger_state_name(ledger_state s)
{
    switch (s) {
    case LEDGER_OPEN: return "open";
    case LEDGER_SETTLED: return "settled";
    case LEDGER_RELEASED: return "released";
    }
    return "?";
}

int64_t ledger_record_committed(const ledger_record *r)
{
    switch (r->state) {
    case LEDGER_OPEN: return r->reserved;
    case LEDGER_SETTLED: return r->settled;
    case LEDGER_RELEASED: return 0;
    }
    return r->reserved;
}

/* ---- the table ------------------------------------------------------- */

static void snap_clear(struct ledger_snap *t)
{
    free(t->rec);
    memset(t, 0, sizeof *t);
    t->next_id = 1;
}

static int snap_push(struct ledger_snap *t, const ledger_record *r)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        ledger_record *p;
        if (cap > SIZE_MAX / sizeof *p)
            return -1;
        p = realloc(t->rec, cap * sizeof *p);
        if (!p)
            return -1;
        t->rec = p;
        t->cap = cap;
    }
    t->rec[t->n++] = *r;
    return 0;
}

/* Ids ascend in the file, so a lookup is a binary search. */
static ledger_record *snap_find(const struct ledger_snap *t, int64_t id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->rec[mid].id == id)
            return &t->rec[mid];
        if (t->rec[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- writing the file ------------------------------------------------ */

/* One line into the new ledger; a line too long for the format fails
** the whole buffer as too large. */
static void ob_printf(struct dynbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ob_printf(struct dynbuf *b, const char *fmt, ...)
{
    char line[LINE_MAX_LEN + 2];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        if (!b->err)
            b->err = DYNBUF_TOOBIG;
        return;
    }
    dynbuf_add(b, line, (size_t)n);
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static void ob_record(struct dynbuf *b, const ledger_record *r)
{
    char c[TIME_LEN + 1], u[TIME_LEN + 1];
    char rs[MONEY_USD_BUFSZ], ss[MONEY_USD_BUFSZ] = "-";
    fmt_time(r->created, c);
    fmt_time(r->updated, u);
    money_usd_format(r->reserved, rs, sizeof rs);
    if (r->state != LEDGER_OPEN)
        money_usd_format(r->settled, ss, sizeof ss);
    ob_printf(b, "rec id=%lld state=%s created=%s updated=%s pid=%ld "
              "run=%s label=%s reserved=%s settled=%s\n",
              (long long)r->id, ledger_state_name(r->state), c, u, r->pid,
              r->run, r->label, rs, ss);
}

/* The whole ledger as text; the end line checksums everything above. */
static int serialize(const ledger *l, const struct ledger_snap *t,
                     struct dynbuf *b, char *err, size_t errlen)
{
    dynbuf_init(b, l->max_bytes);
    ob_printf(b, "%s %d\n", HEADER, LEDGER_VERSION);
    ob_printf(b, "next %lld\n", (long long)t->next_id);
    for (size_t i = 0; i < t->n; i++)
        ob_record(b, &t->rec[i]);
    if (!b->err)
        ob_printf(b, "end records=%zu fnv1a64=%016llx\n", t->n,
                  (unsigned long long)fnv1a(b->p, b->len));
    if (b->err == DYNBUF_NOMEM)
        return fail(err, errlen, LEDGER_ENOMEM, "%s: out of memory",
                    l->path);
    if (b->err)
        return fail(err, errlen, LEDGER_ELIMIT, "%s: the ledger would "
                    "pass its %zu-byte limit", l->path, l->max_bytes);
    return LEDGER_OK;
}

static void fault(const ledger *l, ledger_step step)
{
    if (l->fault)
        l->fault(step, l->fault_ud);
}

/* The ledger's crash points are those of the atomic replace. */
static void on_step(int step, void *ud)
{
    fault(ud, (ledger_step)(LEDGER_STEP_TEMP_OPENED + step));
}

/*
** A temporary file left by a killed writer is ours to remove: we hold
** the exclusive lock, and readers never look at one.
*/
static void sweep_temps(const ledger *l)
{
    int fd = openat(l->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(d)))
        if (strncmp(e->d_name, LEDGER_TEMP_PREFIX,
                    sizeof LEDGER_TEMP_PREFIX - 1) == 0)
            unlinkat(l->dirfd, e->d_name, 0);
    closedir(d);
}

/*
** The whole ledger is replaced atomically (util/fileio.c: temp file,
** fsync, rename, fsync of the folder; reliability-anchors 4.2 item 4).
*/
static int store(const ledger *l, const struct ledger_snap *t, char *err,
                 size_t errlen)
{
    struct dynbuf b;
    struct fileio_target to = {
        .dirfd = l->dirfd, .name = LEDGER_FILE, .shown = l->path,
        .mode = 0600, .step = on_step, .step_ud = (void *)l,
    };
    int st = serialize(l, t, &b, err, errlen);
    sweep_temps(l);
    if (st == LEDGER_OK && fileio_replace(&to, b.p, b.len, err, errlen))
        st = LEDGER_EIO;
    dynbuf_free(&b);
    return st;
}

/* ---- reading the file ------------------------------------------------ */

typedef struct {
    const char *path;
    const char *buf;
    size_t len, pos;
    unsigned line;
    char *err;
    size_t errlen;
} lparse;

static int perr(lparse *p, int st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every parse error names the file and the line, like a compiler. */
static int perr(lparse *p, int st, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(p->err, p->errlen, st, "%s:%u: %s; refusing to use the "
                "ledger (see docs/budget.md)", p->path, p->line, msg);
}

static int next_line(lparse *p, char *out)
{
    const char *s = p->buf + p->pos, *nl;
    size_t n;
    p->line++;
    nl = memchr(s, '\n', p->len - p->pos);
    if (!nl)
        return perr(p, LEDGER_ECORRUPT,
                    "truncated line (no newline at the end of the file)");
    n = (size_t)(nl - s);
    if (n > LINE_MAX_LEN)
        return perr(p, LEDGER_ECORRUPT, "line longer than %d bytes",
                    LINE_MAX_LEN);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return perr(p, LEDGER_ECORRUPT, "unexpected byte 0x%02x in "
                        "column %zu", c, i + 1);
    }
    memcpy(out, s, n);
    out[n] = '\0';
    p->pos += n + 1;
    return LEDGER_OK;
}

/* Split on single spaces; an empty token (two spaces) stays empty. */
static int split(char *s, char **tok, int max)
{
    int n = 0;
    for (;;) {
        if (n == max)
            return -1;
        tok[n++] = s;
        s = strchr(s, ' ');
        if (!s)
            return n;
        *s++ = '\0';
    }
}

static const char *kv(const char *tok, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(tok, key, n) != 0 || tok[n] != '=')
        return NULL;
    return tok + n + 1;
}

static int parse_header(lparse *p, const char *line)
{
    char b[48];
    if (strcmp(line, HEADER " 1") == 0)
        return LEDGER_OK;
    if (strncmp(line, HEADER " ", sizeof HEADER) == 0)
        return perr(p, LEDGER_ECORRUPT, "unsupported ledger version \"%s\" "
                    "(this clawhost reads version %d)",
                    quote_str(b, sizeof b, line + sizeof HEADER),
                    LEDGER_VERSION);
    return perr(p, LEDGER_ECORRUPT, "not a clawhost ledger (expected "
                "\"%s %d\")", HEADER, LEDGER_VERSION);
}

static int parse_next(lparse *p, const char *line, int64_t *next)
{
    if (strncmp(line, "next ", 5) != 0 || parse_i64(line + 5, next) != 0 ||
        *next < 1)
        return perr(p, LEDGER_ECORRUPT, "expected \"next ID\"");
    return LEDGER_OK;
}

/* Canonical amounts only: what we write is all we read. */
static int field_usd(lparse *p, const char *v, const char *key,
                     int64_t *out)
{
    char back[MONEY_USD_BUFSZ], b[48];
    if (money_usd_parse(v, out, NULL, 0) != MONEY_OK ||
        strcmp(money_usd_format(*out, back, sizeof back), v) != 0)
        return perr(p, LEDGER_ECORRUPT, "bad %s amount \"%s\"", key,
                    quote_str(b, sizeof b, v));
    return LEDGER_OK;
}

static int field_state(lparse *p, const char *v, ledger_state *out)
{
    char b[48];
    if (strcmp(v, "open") == 0)
        *out = LEDGER_OPEN;
    else if (strcmp(v, "settled") == 0)
        *out = LEDGER_SETTLED;
    else if (strcmp(v, "released") == 0)
        *out = LEDGER_RELEASED;
    else
        return perr(p, LEDGER_ECORRUPT, "unknown state \"%s\"",
                    quote_str(b, sizeof b, v));
    return LEDGER_OK;
}

/* id, state, times, pid, run, label (fields 0-6). */
static int record_head(lparse *p, const char **v, ledger_record *r)
{
    int64_t pid;
    if (parse_i64(v[0], &r->id) != 0 || r->id < 1)
        return perr(p, LEDGER_ECORRUPT, "bad id");
    if (field_state(p, v[1], &r->state) != LEDGER_OK)
        return LEDGER_ECORRUPT;
    if (parse_time(v[2], &r->created) != 0)
        return perr(p, LEDGER_ECORRUPT, "bad created time");
    if (parse_time(v[3], &r->updated) != 0)
        return perr(p, LEDGER_ECORRUPT, "bad updated time");
    if (parse_i64(v[4], &pid) != 0 || pid < 1 || pid > INT32_MAX)
        return perr(p, LEDGER_ECORRUPT, "bad pid");
    r->pid = (long)pid;
    if (!name_ok(v[5]))
        return perr(p, LEDGER_ECORRUPT, "bad run id");
    if (!name_ok(v[6]))
        return perr(p, LEDGER_ECORRUPT, "bad label");
    memcpy(r->run, v[5], strlen(v[5]) + 1);
    memcpy(r->label, v[6], strlen(v[6]) + 1);
    return LEDGER_OK;
}

/* reserved and settled (fields 7-8); settled is "-" exactly when open. */
static int record_amounts(lparse *p, const char **v, ledger_record *r)
{
    if (field_usd(p, v[7], "reserved", &r->reserved) != LEDGER_OK)
        return LEDGER_ECORRUPT;
    if (r->state == LEDGER_OPEN) {
        if (strcmp(v[8], "-") != 0)
            return perr(p, LEDGER_ECORRUPT, "open record with a settled "
                        "amount");
        r->settled = 0;
        return LEDGER_OK;
    }
    if (field_usd(p, v[8], "settled", &r->settled) != LEDGER_OK)
        return LEDGER_ECORRUPT;
    if (r->state == LEDGER_RELEASED && r->settled != 0)
        return perr(p, LEDGER_ECORRUPT, "released record with a settled "
                    "amount");
    return LEDGER_OK;
}

static int parse_record(lparse *p, char *line, struct ledger_snap *t,
                        size_t max_records)
{
    static const char *const keys[REC_FIELDS] = {
        "id", "state", "created", "updated", "pid", "run", "label",
        "reserved", "settled"
    };
    char *tok[REC_FIELDS + 2];
    const char *v[REC_FIELDS];
    ledger_record r;
    int n = split(line, tok, REC_FIELDS + 2);
    if (n != REC_FIELDS + 1)
        return perr(p, LEDGER_ECORRUPT, "record needs %d fields",
                    REC_FIELDS);
    for (int i = 0; i < REC_FIELDS; i++)
        if (!(v[i] = kv(tok[i + 1], keys[i])))
            return perr(p, LEDGER_ECORRUPT, "field %d: expected %s=",
                        i + 1, keys[i]);
    memset(&r, 0, sizeof r);
    if (record_head(p, v, &r) != LEDGER_OK ||
        record_amounts(p, v, &r) != LEDGER_OK)
        return LEDGER_ECORRUPT;
    if ((t->n > 0 && r.id <= t->rec[t->n - 1].id) || r.id >= t->next_id)
        return perr(p, LEDGER_ECORRUPT, "id %lld out of order",
                    (long long)r.id);
    if (t->n >= max_records)
        return perr(p, LEDGER_ELIMIT, "more than %zu records",
                    max_records);
    if (snap_push(t, &r) != 0)
        return perr(p, LEDGER_ENOMEM, "out of memory");
    return LEDGER_OK;
}

/* The end line: a record count and a checksum of every byte above it. */
static int parse_end(lparse *p, char *line, const struct ledger_snap *t,
                     uint64_t sum)
{
    char *tok[4], hex[17];
    const char *cnt, *h;
    int64_t n;
    if (split(line, tok, 4) != 3 || !(cnt = kv(tok[1], "records")) ||
        !(h = kv(tok[2], "fnv1a64")))
        return perr(p, LEDGER_ECORRUPT, "bad end line");
    if (parse_i64(cnt, &n) != 0 || (uint64_t)n != t->n)
        return perr(p, LEDGER_ECORRUPT, "end line counts %s records, the "
                    "file has %zu", cnt, t->n);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sum);
    if (strcmp(h, hex) != 0)
        return perr(p, LEDGER_ECORRUPT, "checksum mismatch (the file was "
                    "damaged or edited by hand)");
    if (p->pos != p->len) {
        p->line++;
        return perr(p, LEDGER_ECORRUPT, "data after the end line");
    }
    return LEDGER_OK;
}

static int parse_body(lparse *p, struct ledger_snap *t, size_t max)
{
    char line[LINE_MAX_LEN + 1];
    for (;;) {
        size_t at = p->pos;
        int st;
        if (p->pos == p->len) {
            p->line++;
            return perr(p, LEDGER_ECORRUPT, "missing end line (truncated "
                        "file?)");
        }
        if ((st = next_line(p, line)) != LEDGER_OK)
            return st;
        if (strncmp(line, "rec ", 4) == 0)
            st = parse_record(p, line, t, max);
        else if (strncmp(line, "end ", 4) == 0)
            return parse_end(p, line, t, fnv1a(p->buf, at));
        else
            st = perr(p, LEDGER_ECORRUPT, "unknown line");
        if (st != LEDGER_OK)
            return st;
    }
}

static int parse_ledger(lparse *p, struct ledger_snap *t, size_t max)
{
    char line[LINE_MAX_LEN + 1];
    int st;
    if (p->len == 0) {
        p->line = 1;
        return perr(p, LEDGER_ECORRUPT, "empty file (truncated?)");
    }
    if ((st = next_line(p, line)) != LEDGER_OK ||
        (st = parse_header(p, line)) != LEDGER_OK)
        return st;
    if (p->pos == p->len) {
        p->line++;
        return perr(p, LEDGER_ECORRUPT, "missing next line (truncated "
                    "file?)");
    }
    if ((st = next_line(p, line)) != LEDGER_OK ||
        (st = parse_next(p, line, &t->next_id)) != LEDGER_OK)
        return st;
    return parse_body(p, t, max);
}

/* Read whole, never past the bound: a huge file is refused, not read
** into memory. */
static int read_fd(const ledger *l, int fd, struct dynbuf *b, char *err,
                   size_t errlen)
{
    dynbuf_init(b, l->max_bytes);
    int rc = fileio_read_all(fd, b);
    if (rc == 0)
        return LEDGER_OK;
    int st = rc == DYNBUF_TOOBIG ?
        fail(err, errlen, LEDGER_ELIMIT, "%s: larger than the %zu-byte "
             "limit; refusing to use it", l->path, l->max_bytes) :
        rc == DYNBUF_NOMEM ?
        fail(err, errlen, LEDGER_ENOMEM, "%s: out of memory", l->path) :
        sys_fail(l, err, errlen, "read");
    dynbuf_free(b);
    return st;
}

/* A missing file is an empty ledger; anything else must parse. */
static int read_file(const ledger *l, struct dynbuf *buf, int *exists,
                     char *err, size_t errlen)
{
    struct stat sb;
    int st, fd = openat(l->dirfd, LEDGER_FILE,
                        O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    *exists = 0;
    if (fd < 0 && errno == ENOENT)
        return LEDGER_OK;
    if (fd < 0)
        return sys_fail(l, err, errlen, "open");
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = fail(err, errlen, LEDGER_ECORRUPT, "%s: not a regular file",
                  l->path);
        close(fd);
        return st;
    }
    st = read_fd(l, fd, buf, err, errlen);
    close(fd);
    *exists = st == LEDGER_OK;
    return st;
}

static int load(const ledger *l, struct ledger_snap *t, char *err,
                size_t errlen)
{
    struct dynbuf buf;
    int exists, st;
    lparse p;
    memset(t, 0, sizeof *t);
    t->next_id = 1;
    st = read_file(l, &buf, &exists, err, errlen);
    if (st != LEDGER_OK || !exists)
        return st;
    memset(&p, 0, sizeof p);
    p.path = l->path;
    p.buf = buf.p;
    p.len = buf.len;
    p.err = err;
    p.errlen = errlen;
    st = parse_ledger(&p, t, l->max_records);
    dynbuf_free(&buf);
    if (st != LEDGER_OK)
        snap_clear(t);
    return st;
}

/* ---- locking --------------------------------------------------------- */

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
           (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
** Poll with a growing nap instead of blocking in flock(): a run stuck
** while holding the lock (stopped, hung disk) costs the others a clear
** "busy" error after the timeout instead of a silent hang.
*/
static int lock_wait(int fd, int how, int timeout_ms)
{
    struct timespec t0, nap = {0, 250000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (flock(fd, how | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return -1;
        if (ms_since(&t0) >= timeout_ms)
            return 1;
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 8000000)
            nap.tv_nsec *= 2;
    }
}

/*
** A separate lock file, opened per operation: the ledger itself is
** replaced by rename, and a descriptor shared across fork() would share
** its flock too.
*/
static int lock_take(const ledger *l, int how, int *out, char *err,
                     size_t errlen)
{
    struct stat sb;
    int r, fd = openat(l->dirfd, LEDGER_LOCK_FILE,
                       O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sys_fail(l, err, errlen, "open lock file");
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 07777) != 0600)
        (void)fchmod(fd, 0600);
    r = lock_wait(fd, how, l->lock_timeout_ms);
    if (r != 0) {
        int st = r > 0
            ? fail(err, errlen, LEDGER_EBUSY, "%s: still locked by another "
                   "clawhost after %d ms", l->path, l->lock_timeout_ms)
            : sys_fail(l, err, errlen, "lock");
        close(fd);
        return st;
    }
    *out = fd;
    return LEDGER_OK;
}

/* ---- updates --------------------------------------------------------- */

typedef int (*ledger_op)(const ledger *l, struct ledger_snap *t,
                         void *ctx, int *dirty, char *err, size_t errlen);

/*
** The one critical section: lock, read, decide, write, unlock. Nothing
** is written when the file does not parse or the op refuses.
*/
static int update(const ledger *l, ledger_op op, void *ctx, char *err,
                  size_t errlen)
{
    struct ledger_snap t;
    int fd, dirty = 0;
    int st = lock_take(l, LOCK_EX, &fd, err, errlen);
    if (st != LEDGER_OK)
        return st;
    fault(l, LEDGER_STEP_LOCKED);
    st = load(l, &t, err, errlen);
    if (st == LEDGER_OK)
        st = op(l, &t, ctx, &dirty, err, errlen);
    if (st == LEDGER_OK && dirty)
        st = store(l, &t, err, errlen);
    snap_clear(&t);
    close(fd);
    return st;
}

static int check_amount(int64_t v, const char *what, char *err,
                        size_t errlen)
{
    if (v < 0 || v > MONEY_USD_MAX)
        return fail(err, errlen, LEDGER_EINVAL, "%s %lld nano-USD out of "
                    "range (0 to 1000000 USD)", what, (long long)v);
    return LEDGER_OK;
}

static int check_now(int64_t now, char *err, size_t errlen)
{
    if (now < 0 || now > TIME_MAX)
        return fail(err, errlen, LEDGER_EINVAL, "time %lld out of range",
                    (long long)now);
    return LEDGER_OK;
}

static int check_req(const ledger_reserve_req *q, char *err, size_t errlen)
{
    char b[48];
    int st;
    if (!q->run || !name_ok(q->run))
        return fail(err, errlen, LEDGER_EINVAL, "bad run id \"%s\": 1-%d "
                    "of A-Z a-z 0-9 . _ : @ + / -", q->run ?
                    quote_str(b, sizeof b, q->run) : "", LEDGER_NAME_MAX);
    if (!q->label || !name_ok(q->label))
        return fail(err, errlen, LEDGER_EINVAL, "bad label \"%s\": 1-%d "
                    "of A-Z a-z 0-9 . _ : @ + / -", q->label ?
                    quote_str(b, sizeof b, q->label) : "", LEDGER_NAME_MAX);
    if ((st = check_amount(q->amount, "amount", err, errlen)) != 0)
        return st;
    if (q->run_cap != LEDGER_NO_CAP &&
        (st = check_amount(q->run_cap, "run cap", err, errlen)) != 0)
        return st;
    if (q->daily_cap != LEDGER_NO_CAP &&
        (st = check_amount(q->daily_cap, "daily cap", err, errlen)) != 0)
        return st;
    return check_now(q->now, err, errlen);
}

struct reserve_ctx {
    const ledger_reserve_req *req;
    ledger_reserve_result *res;
};

/* Fills res and err and says yes when committed + amount passes cap. */
static int over_cap(ledger_cap which, int64_t cap, int64_t committed,
                    int64_t amount, ledger_reserve_result *res, char *err,
                    size_t errlen)
{
    char c[MONEY_USD_BUFSZ], d[MONEY_USD_BUFSZ], a[MONEY_USD_BUFSZ];
    if (cap == LEDGER_NO_CAP || sat_add(committed, amount) <= cap)
        return 0;
    res->cap_hit = which;
    res->cap = cap;
    res->committed = committed;
    res->requested = amount;
    fail(err, errlen, LEDGER_EXCEEDED, "budget exceeded: %s cap %s USD, "
         "already committed %s USD, requested %s USD",
         which == LEDGER_CAP_RUN ? "run" : "daily",
         money_usd_format(cap, c, sizeof c),
         money_usd_format(committed, d, sizeof d),
         money_usd_format(amount, a, sizeof a));
    return 1;
}

static int op_reserve(const ledger *l, struct ledger_snap *t, void *vctx,
                      int *dirty, char *err, size_t errlen)
{
    struct reserve_ctx *c = vctx;
    const ledger_reserve_req *q = c->req;
    ledger_totals run, day;
    ledger_record r;
    ledger_snap_totals(t, q->run, NULL, -1, &run);
    ledger_snap_totals(t, NULL, NULL, q->now, &day);
    c->res->run_committed = run.committed;
    c->res->day_committed = day.committed;
    if (over_cap(LEDGER_CAP_RUN, q->run_cap, run.committed, q->amount,
                 c->res, err, errlen) ||
        over_cap(LEDGER_CAP_DAILY, q->daily_cap, day.committed, q->amount,
                 c->res, err, errlen))
        return LEDGER_EXCEEDED;
    if (t->n >= l->max_records)
        return fail(err, errlen, LEDGER_ELIMIT, "%s: full (%zu records); "
                    "see docs/budget.md", l->path, l->max_records);
    memset(&r, 0, sizeof r);
    r.id = t->next_id;
    r.state = LEDGER_OPEN;
    r.created = r.updated = q->now;
    r.pid = (long)getpid();
    snprintf(r.run, sizeof r.run, "%s", q->run);
    snprintf(r.label, sizeof r.label, "%s", q->label);
    r.reserved = q->amount;
    if (snap_push(t, &r) != 0)
        return fail(err, errlen, LEDGER_ENOMEM, "out of memory");
    t->next_id++;
    c->res->id = r.id;
    c->res->run_committed = sat_add(run.committed, q->amount);
    c->res->day_committed = sat_add(day.committed, q->amount);
    *dirty = 1;
    return LEDGER_OK;
}

int ledger_reserve(ledger *l, const ledger_reserve_req *req,
                   ledger_reserve_result *res, char *err, size_t errlen)
{
    ledger_reserve_result local;
    struct reserve_ctx c;
    int st;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    clear_err(err, errlen);
    if (!l || !req)
        return fail(err, errlen, LEDGER_EINVAL, "no ledger or request");
    if ((st = check_req(req, err, errlen)) != LEDGER_OK)
        return st;
    c.req = req;
    c.res = res;
    return update(l, op_reserve, &c, err, errlen);
}

struct close_ctx {
    int64_t id, amount, now;
    int release;
    ledger_settle_result *res;
};

static int op_close(const ledger *l, struct ledger_snap *t, void *vctx,
                    int *dirty, char *err, size_t errlen)
{
    struct close_ctx *c = vctx;
    ledger_record *r = snap_find(t, c->id);
    char b[MONEY_USD_BUFSZ];
    if (!r)
        return fail(err, errlen, LEDGER_ENOTFOUND, "%s: no reservation "
                    "%lld", l->path, (long long)c->id);
    if (r->state != LEDGER_OPEN)
        return fail(err, errlen, LEDGER_ESTATE, "reservation %lld is "
                    "already %s (%s USD)", (long long)c->id,
                    ledger_state_name(r->state),
                    money_usd_format(r->settled, b, sizeof b));
    r->state = c->release ? LEDGER_RELEASED : LEDGER_SETTLED;
    r->settled = c->release ? 0 : c->amount;
    r->updated = c->now;
    c->res->rec = *r;
    c->res->over_by = r->settled > r->reserved ? r->settled - r->reserved
                                               : 0;
    *dirty = 1;
    return LEDGER_OK;
}

static int close_res(ledger *l, struct close_ctx *c, char *err,
                     size_t errlen)
{
    ledger_settle_result local;
    int st;
    if (!c->res)
        c->res = &local;
    memset(c->res, 0, sizeof *c->res);
    clear_err(err, errlen);
    if (!l)
        return fail(err, errlen, LEDGER_EINVAL, "no ledger");
    if (c->id < 1)
        return fail(err, errlen, LEDGER_EINVAL, "bad reservation id %lld",
                    (long long)c->id);
    if ((st = check_amount(c->amount, "amount", err, errlen)) != 0 ||
        (st = check_now(c->now, err, errlen)) != 0)
        return st;
    return update(l, op_close, c, err, errlen);
}

int ledger_settle(ledger *l, int64_t id, int64_t amount, int64_t now,
                  ledger_settle_result *res, char *err, size_t errlen)
{
    struct close_ctx c = {id, amount, now, 0, res};
    return close_res(l, &c, err, errlen);
}

int ledger_release(ledger *l, int64_t id, int64_t now,
                   ledger_settle_result *res, char *err, size_t errlen)
{
    struct close_ctx c = {id, 0, now, 1, res};
    return close_res(l, &c, err, errlen);
}

/* ---- queries --------------------------------------------------------- */

int ledger_snapshot(ledger *l, ledger_snap **out, char *err,
                    size_t errlen)
{
    ledger_snap *s;
    int fd, st;
    *out = NULL;
    clear_err(err, errlen);
    if (!l)
        return fail(err, errlen, LEDGER_EINVAL, "no ledger");
    s = calloc(1, sizeof *s);
    if (!s)
        return fail(err, errlen, LEDGER_ENOMEM, "out of memory");
    st = lock_take(l, LOCK_SH, &fd, err, errlen);
    if (st == LEDGER_OK) {
        st = load(l, s, err, errlen);
        close(fd);
    }
    if (st != LEDGER_OK) {
        ledger_snap_free(s);
        return st;
    }
    *out = s;
    return LEDGER_OK;
}

void ledger_snap_free(ledger_snap *s)
{
    if (!s)
        return;
    free(s->rec);
    free(s);
}

size_t ledger_snap_count(const ledger_snap *s)
{
    return s ? s->n : 0;
}

const ledger_record *ledger_snap_get(const ledger_snap *s, size_t i)
{
    return s && i < s->n ? &s->rec[i] : NULL;
}

static void totals_add(ledger_totals *t, const ledger_record *r)
{
    t->committed = sat_add(t->committed, ledger_record_committed(r));
    if (r->state == LEDGER_OPEN) {
        t->open = sat_add(t->open, r->reserved);
        t->n_open++;
    } else if (r->state == LEDGER_SETTLED) {
        t->settled = sat_add(t->settled, r->settled);
        t->n_settled++;
    } else {
        t->n_released++;
    }
}

/* A record belongs to the UTC day it was reserved on. */
void ledger_snap_totals(const ledger_snap *s, const char *run,
                        const char *label, int64_t now,
                        ledger_totals *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; s && i < s->n; i++) {
        const ledger_record *r = &s->rec[i];
        if ((run && strcmp(r->run, run) != 0) ||
            (label && strcmp(r->label, label) != 0) ||
            (now >= 0 && r->created / DAY_SECS != now / DAY_SECS))
            continue;
        totals_add(out, r);
    }
}

static int by_run(const void *a, const void *b)
{
    const ledger_record *x = *(const ledger_record *const *)a;
    const ledger_record *y = *(const ledger_record *const *)b;
    int c = strcmp(x->run, y->run);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int by_label(const void *a, const void *b)
{
    const ledger_record *x = *(const ledger_record *const *)a;
    const ledger_record *y = *(const ledger_record *const *)b;
    int c = strcmp(x->label, y->label);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* Sorted walk: O(n log n) however many runs there are. */
static size_t group_walk(const ledger_record **v, size_t n,
                         ledger_group_by by, ledger_group *g)
{
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = by == LEDGER_BY_RUN ? v[i]->run : v[i]->label;
        if (ng == 0 || strcmp(g[ng - 1].key, key) != 0) {
            memset(&g[ng], 0, sizeof g[ng]);
            snprintf(g[ng].key, sizeof g[ng].key, "%s", key);
            g[ng].first = g[ng].last = v[i]->created;
            ng++;
        }
        totals_add(&g[ng - 1].t, v[i]);
        if (v[i]->created < g[ng - 1].first)
            g[ng - 1].first = v[i]->created;
        if (v[i]->created > g[ng - 1].last)
            g[ng - 1].last = v[i]->created;
    }
    return ng;
}

int ledger_snap_group(const ledger_snap *s, ledger_group_by by,
                      ledger_group **out, size_t *n, char *err,
                      size_t errlen)
{
    const ledger_record **v;
    size_t cnt = s ? s->n : 0;
    *out = NULL;
    *n = 0;
    v = malloc((cnt ? cnt : 1) * sizeof *v);
    *out = malloc((cnt ? cnt : 1) * sizeof **out);
    if (!v || !*out) {
        free(v);
        free(*out);
        *out = NULL;
        return fail(err, errlen, LEDGER_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cnt; i++)
        v[i] = &s->rec[i];
    qsort(v, cnt, sizeof *v, by == LEDGER_BY_RUN ? by_run : by_label);
    *n = group_walk(v, cnt, by, *out);
    free(v);
    clear_err(err, errlen);
    return LEDGER_OK;
}

int ledger_list_open(ledger *l, int64_t now, ledger_open_item **out,
                     size_t *n, char *err, size_t errlen)
{
    ledger_snap *s;
    size_t k = 0;
    int st = ledger_snapshot(l, &s, err, errlen);
    *out = NULL;
    *n = 0;
    if (st != LEDGER_OK)
        return st;
    *out = malloc((s->n ? s->n : 1) * sizeof **out);
    if (!*out) {
        ledger_snap_free(s);
        return fail(err, errlen, LEDGER_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->rec[i].state != LEDGER_OPEN)
            continue;
        (*out)[k].rec = s->rec[i];
        (*out)[k].age = now - s->rec[i].created;
        k++;
    }
    *n = k;
    ledger_snap_free(s);
    return LEDGER_OK;
}

/* ---- opening --------------------------------------------------------- */

/*
** Anyone who can write the directory can replace the ledger and hand
** themselves budget: refuse a directory others can write (like ssh).
*/
static int check_dir(const ledger *l, char *err, size_t errlen)
{
    struct stat sb;
    if (fstat(l->dirfd, &sb) != 0)
        return sys_fail(l, err, errlen, "stat the state directory");
    if (sb.st_uid != geteuid())
        return fail(err, errlen, LEDGER_EINVAL, "state directory %s "
                    "belongs to uid %u, not to this user", l->dir,
                    (unsigned)sb.st_uid);
    if (sb.st_mode & 022)
        return fail(err, errlen, LEDGER_EINVAL, "state directory %s is "
                    "writable by group or others (mode %03o); run "
                    "chmod 700 on it", l->dir,
                    (unsigned)(sb.st_mode & 0777));
    return LEDGER_OK;
}

static int open_dir(ledger *l, const char *dir, char *err, size_t errlen)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n + sizeof "/" LEDGER_TEMP_PREFIX "0123456789abcdef" > PATH_MAX)
        return fail(err, errlen, LEDGER_EINVAL, "state directory path too "
                    "long");
    l->dir = malloc(n + 1);
    l->path = malloc(n + sizeof "/" LEDGER_FILE);
    if (!l->dir || !l->path)
        return fail(err, errlen, LEDGER_ENOMEM, "out of memory");
    memcpy(l->dir, dir, n);
    l->dir[n] = '\0';
    snprintf(l->path, n + sizeof "/" LEDGER_FILE, "%s%s" LEDGER_FILE,
             l->dir, strcmp(l->dir, "/") == 0 ? "" : "/");
    l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dirfd < 0)
        return fail(err, errlen, LEDGER_EIO, "state directory %s: %s",
                    l->dir, strerror(errno));
    return check_dir(l, err, errlen);
}

int ledger_open(ledger **out, const char *dir, char *err, size_t errlen)
{
    ledger *l;
    int st;
    *out = NULL;
    clear_err(err, errlen);
    if (!dir || !*dir)
        return fail(err, errlen, LEDGER_EINVAL, "no state directory");
    l = calloc(1, sizeof *l);
    if (!l)
        return fail(err, errlen, LEDGER_ENOMEM, "out of memory");
    l->dirfd = -1;
    l->lock_timeout_ms = LEDGER_LOCK_TIMEOUT_MS;
    l->max_bytes = LEDGER_MAX_BYTES;
    l->max_records = LEDGER_MAX_RECORDS;
    st = open_dir(l, dir, err, errlen);
    if (st != LEDGER_OK) {
        ledger_close(l);
        return st;
    }
    *out = l;
    return LEDGER_OK;
}

void ledger_close(ledger *l)
{
    if (!l)
        return;
    if (l->dirfd >= 0)
        close(l->dirfd);
    free(l->dir);
    free(l->path);
    free(l);
}

const char *ledger_path(const ledger *l)
{
    return l->path;
}

void ledger_set_lock_timeout(ledger *l, int ms)
{
    l->lock_timeout_ms = ms < 0 ? 0 : ms;
}

void ledger_set_limits(ledger *l, size_t max_bytes, size_t max_records)
{
    if (max_bytes && max_bytes < LEDGER_MAX_BYTES)
        l->max_bytes = max_bytes;
    if (max_records && max_records < LEDGER_MAX_RECORDS)
        l->max_records = max_records;
}

void ledger_set_fault_hook(ledger *l, ledger_fault_fn fn, void *ud)
{
    l->fault = fn;
    l->fault_ud = ud;
}

/* ---- the state directory --------------------------------------------- */

/*
** Relative XDG values are invalid and ignored (XDG Base Directory
** spec); an explicit CLAWHOST_STATE_DIR that is relative is an error.
*/
static int resolve_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *v = getenv("CLAWHOST_STATE_DIR");
    int n;
    if (v && *v) {
        if (v[0] != '/')
            return fail(err, errlen, LEDGER_EINVAL, "CLAWHOST_STATE_DIR "
                        "must be an absolute path");
        n = snprintf(out, outlen, "%s", v);
    } else if ((v = getenv("XDG_STATE_HOME")) && v[0] == '/') {
        n = snprintf(out, outlen, "%s/clawhost", v);
    } else if ((v = getenv("HOME")) && v[0] == '/') {
        n = snprintf(out, outlen, "%s/.local/state/clawhost", v);
    } else {
        return fail(err, errlen, LEDGER_EINVAL, "no state directory: set "
                    "CLAWHOST_STATE_DIR or HOME");
    }
    if (n < 0 || (size_t)n >= outlen || (size_t)n >= PATH_MAX)
        return fail(err, errlen, LEDGER_EINVAL, "state directory path too "
                    "long");
    return LEDGER_OK;
}

/* One component of mkdir -p: ours are 0700 exactly, whatever umask. */
static int make_one(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (mkdir(path, 0700) == 0) {
        if (chmod(path, 0700) != 0)
            return fail(err, errlen, LEDGER_EIO, "chmod %s: %s", path,
                        strerror(errno));
        return LEDGER_OK;
    }
    if (errno != EEXIST)
        return fail(err, errlen, LEDGER_EIO, "mkdir %s: %s", path,
                    strerror(errno));
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fail(err, errlen, LEDGER_EIO, "%s exists and is not a "
                    "directory", path);
    return LEDGER_OK;
}

static int make_dirs(char *path, char *err, size_t errlen)
{
    int st;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        st = make_one(path, err, errlen);
        *p = '/';
        if (st != LEDGER_OK)
            return st;
    }
    return make_one(path, err, errlen);
}

int ledger_state_dir(char *out, size_t outlen, int create, char *err,
                     size_t errlen)
{
    char tmp[PATH_MAX];
    int st;
    clear_err(err, errlen);
    if (!out || outlen == 0)
        return fail(err, errlen, LEDGER_EINVAL, "no output buffer");
    if ((st = resolve_dir(out, outlen, err, errlen)) != LEDGER_OK ||
        !create)
        return st;
    snprintf(tmp, sizeof tmp, "%s", out);
    return make_dirs(tmp, err, errlen);
}
