/*
** ledger.c -- the spend ledger file of clawhost 0.1 (spend.ledger), read
** once, strictly, so that the store can import it (store.c).
**
** Nothing here writes the file any more. A file that does not parse
** exactly, or whose checksum is wrong, is refused with the message
** clawhost 0.1 gave and left alone: importing half of it would hand
** money that was spent back to the budget.
*/
#include <errno.h>
#include <fcntl.h>
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
#define HEADER       "clawhost-ledger"
#define REC_FIELDS   9
#define FNV_OFFSET   UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME    UINT64_C(0x100000001b3)

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

static int isdig(char c)
{
    return c >= '0' && c <= '9';
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

/* ---- the table ------------------------------------------------------- */

static int push(ledger_file *t, size_t *cap, const ledger_record *r)
{
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        ledger_record *p;
        if (ncap > SIZE_MAX / sizeof *p)
            return -1;
        p = realloc(t->rec, ncap * sizeof *p);
        if (!p)
            return -1;
        t->rec = p;
        *cap = ncap;
    }
    t->rec[t->n++] = *r;
    return 0;
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

/* ---- reading the file ------------------------------------------------ */

typedef struct {
    const char *path;
    const char *buf;
    size_t len, pos;
    unsigned line;
    char *err;
    size_t errlen;
    size_t cap;                 /* of the table being filled */
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

static int parse_record(lparse *p, char *line, ledger_file *t,
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
    if (push(t, &p->cap, &r) != 0)
        return perr(p, LEDGER_ENOMEM, "out of memory");
    return LEDGER_OK;
}

/* The end line: a record count and a checksum of every byte above it. */
static int parse_end(lparse *p, char *line, const ledger_file *t,
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

static int parse_body(lparse *p, ledger_file *t, size_t max)
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
            return parse_end(p, line, t, t->checksum = fnv1a(p->buf, at));
        else
            st = perr(p, LEDGER_ECORRUPT, "unknown line");
        if (st != LEDGER_OK)
            return st;
    }
}

static int parse_ledger(lparse *p, ledger_file *t, size_t max)
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
static int read_path(const char *path, struct dynbuf *b, char *err,
                     size_t errlen)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;
    dynbuf_init(b, LEDGER_MAX_BYTES);
    if (fd < 0)
        return fail(err, errlen, LEDGER_EIO, "%s: open: %s", path,
                    strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail(err, errlen, LEDGER_ECORRUPT, "%s: not a regular file",
                    path);
    }
    rc = fileio_read_all(fd, b);
    int e = errno;
    close(fd);
    if (rc == 0)
        return LEDGER_OK;
    dynbuf_free(b);
    return rc == DYNBUF_TOOBIG ?
        fail(err, errlen, LEDGER_ELIMIT, "%s: larger than the %zu-byte "
             "limit; refusing to use it", path, (size_t)LEDGER_MAX_BYTES) :
        rc == DYNBUF_NOMEM ?
        fail(err, errlen, LEDGER_ENOMEM, "%s: out of memory", path) :
        fail(err, errlen, LEDGER_EIO, "%s: read: %s", path, strerror(e));
}

int ledger_read(const char *path, ledger_file *out, char *err,
                size_t errlen)
{
    struct dynbuf buf;
    lparse p;
    memset(out, 0, sizeof *out);
    int st = read_path(path, &buf, err, errlen);
    if (st != LEDGER_OK)
        return st;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.buf = buf.p;
    p.len = buf.len;
    p.err = err;
    p.errlen = errlen;
    st = parse_ledger(&p, out, LEDGER_MAX_RECORDS);
    dynbuf_free(&buf);
    if (st != LEDGER_OK)
        ledger_file_free(out);
    return st;
}

void ledger_file_free(ledger_file *f)
{
    free(f->rec);
    memset(f, 0, sizeof *f);
}

/* ---- the 0.1 writers' lock ------------------------------------------- */

/*
** A clawhost 0.1 still running holds this lock while it rewrites the
** file; the import takes it too, so the file it reads is whole and no
** old writer adds a record to it meanwhile. Polls with a short nap up
** to timeout_ms, rather than hang behind a stopped process.
*/
int ledger_lock(const char *dir, int timeout_ms, int *fd, char *err,
                size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" LEDGER_LOCK_FILE, dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0)
        return fail(err, errlen, LEDGER_EIO, "%s: %s", path,
                    strerror(errno));
    for (int waited = 0; flock(*fd, LOCK_EX | LOCK_NB) != 0;
         waited += 20) {
        struct timespec nap = {0, 20000000};
        if ((errno != EWOULDBLOCK && errno != EINTR) ||
            waited >= timeout_ms) {
            close(*fd);
            *fd = -1;
            return fail(err, errlen, LEDGER_EBUSY, "%s is held by another "
                        "process (an older clawhost still running?)", path);
        }
        nanosleep(&nap, NULL);
    }
    return LEDGER_OK;
}

void ledger_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
