/*
** ledger_test.c -- unit tests for the spend ledger (host/store/ledger.c).
**
** Caps, settle and release, the daily window, persistence, queries,
** permissions, corruption, and the multi-process cases: racing
** reservers, SIGKILL with an open reservation, and a crash at every step
** of an update (via the fault hook). Everything runs in fresh temp
** directories; child processes report through their exit status and
** pipes, never through CHECK.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "pure/money.h"
#include "store/ledger.h"

#define T0    INT64_C(1714564800)   /* 2024-05-01T12:00:00Z */
#define DAY   INT64_C(86400)
#define USD(x) ((int64_t)((x) * 100 + 0.5) * 10000000)  /* cents only */

static char errbuf[512];

/* ---- helpers --------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/test_ledger.XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(2);
    }
    return p;
}

static void drop(char *dir)
{
    rm_rf(dir);
    free(dir);
}

static ledger *open_at(const char *dir)
{
    ledger *l = NULL;
    int st = ledger_open(&l, dir, errbuf, sizeof errbuf);
    if (st != LEDGER_OK) {
        fprintf(stderr, "ledger_open: %s\n", errbuf);
        exit(2);
    }
    return l;
}

static ledger_reserve_req req(const char *run, int64_t amount,
                              int64_t run_cap, int64_t daily_cap,
                              int64_t now)
{
    ledger_reserve_req q;
    q.run = run;
    q.label = "qwen3";
    q.amount = amount;
    q.run_cap = run_cap;
    q.daily_cap = daily_cap;
    q.now = now;
    return q;
}

static int reserve(ledger *l, const char *run, int64_t amount,
                   int64_t run_cap, int64_t daily_cap, int64_t now,
                   ledger_reserve_result *res)
{
    ledger_reserve_req q = req(run, amount, run_cap, daily_cap, now);
    return ledger_reserve(l, &q, res, errbuf, sizeof errbuf);
}

/* Totals for run (NULL: all) on the day of now (< 0: all days). */
static ledger_totals totals(ledger *l, const char *run, int64_t now)
{
    ledger_snap *s = NULL;
    ledger_totals t;
    memset(&t, 0, sizeof t);
    if (ledger_snapshot(l, &s, errbuf, sizeof errbuf) != LEDGER_OK) {
        t.committed = -1;
        return t;
    }
    ledger_snap_totals(s, run, NULL, now, &t);
    ledger_snap_free(s);
    return t;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fwrite(buf, 1, len, f);
    fclose(f);
}

static void file_in(const char *dir, const char *name, char *out)
{
    snprintf(out, 4096, "%s/%s", dir, name);
}

static int exists_in(const char *dir, const char *name)
{
    char p[4096];
    file_in(dir, name, p);
    return access(p, F_OK) == 0;
}

/* A temporary file of the atomic replace left in dir? */
static int temp_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        found |= strncmp(e->d_name, LEDGER_TEMP_PREFIX,
                         strlen(LEDGER_TEMP_PREFIX)) == 0;
    if (d)
        closedir(d);
    return found;
}

static void test_status_codes(void)
{
    CHECK_STR(ledger_status_code(LEDGER_OK), "ok");
    CHECK_STR(ledger_status_code(LEDGER_EXCEEDED), "budget_exceeded");
    CHECK_STR(ledger_status_code(LEDGER_ECORRUPT), "ledger_corrupt");
    CHECK_STR(ledger_status_code(LEDGER_ENOMEM), "nomem");
    CHECK_STR(ledger_status_code(99), "unknown");
    CHECK_STR(ledger_status_code(-1), "unknown");
}

/* ---- reserve, settle, release ---------------------------------------- */

static void test_run_cap(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    ledger_reserve_result r;
    CHECK_INT(reserve(l, "runA", USD(0.60), USD(1), LEDGER_NO_CAP, T0, &r),
              LEDGER_OK);
    CHECK_INT(r.id, 1);
    CHECK_INT(r.run_committed, USD(0.60));
    CHECK_INT(reserve(l, "runA", USD(0.50), USD(1), LEDGER_NO_CAP, T0, &r),
              LEDGER_EXCEEDED);
    CHECK_INT(r.cap_hit, LEDGER_CAP_RUN);
    CHECK_INT(r.cap, USD(1));
    CHECK_INT(r.committed, USD(0.60));
    CHECK_INT(r.requested, USD(0.50));
    CHECK_INT(r.id, 0);
    CHECK(strstr(errbuf, "run cap 1.00 USD") != NULL);
    CHECK(strstr(errbuf, "committed 0.60") != NULL);
    CHECK(strstr(errbuf, "requested 0.50") != NULL);
    /* Exactly up to the cap is allowed, and so is a zero amount. */
    CHECK_INT(reserve(l, "runA", USD(0.40), USD(1), LEDGER_NO_CAP, T0, &r),
              LEDGER_OK);
    CHECK_INT(r.id, 2);
    CHECK_INT(reserve(l, "runA", 0, USD(1), LEDGER_NO_CAP, T0, &r),
              LEDGER_OK);
    CHECK_INT(reserve(l, "runA", 1, USD(1), LEDGER_NO_CAP, T0, &r),
              LEDGER_EXCEEDED);
    /* Another run has its own cap. */
    CHECK_INT(reserve(l, "runB", USD(0.90), USD(1), LEDGER_NO_CAP, T0, &r),
              LEDGER_OK);
    CHECK_INT(totals(l, "runA", -1).committed, USD(1));
    CHECK_INT(totals(l, "runB", -1).committed, USD(0.90));
    CHECK_INT(totals(l, "runA", -1).n_open, 3);
    /* A zero cap refuses anything but zero. */
    CHECK_INT(reserve(l, "runC", 1, 0, LEDGER_NO_CAP, T0, &r),
              LEDGER_EXCEEDED);
    CHECK_INT(reserve(l, "runC", 0, 0, LEDGER_NO_CAP, T0, &r), LEDGER_OK);
    ledger_close(l);
    drop(dir);
}

static void test_settle(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    ledger_reserve_result r;
    ledger_settle_result s;
    int64_t a, b;
    reserve(l, "run", USD(0.50), USD(0.50), LEDGER_NO_CAP, T0, &r);
    a = r.id;
    CHECK_INT(ledger_settle(l, a, USD(0.10), T0 + 5, &s, errbuf,
                            sizeof errbuf), LEDGER_OK);
    CHECK_INT(s.rec.state, LEDGER_SETTLED);
    CHECK_INT(s.rec.reserved, USD(0.50));
    CHECK_INT(s.rec.settled, USD(0.10));
    CHECK_INT(s.rec.updated, T0 + 5);
    CHECK_INT(s.over_by, 0);
    CHECK_INT(totals(l, "run", -1).committed, USD(0.10));
    /* More than reserved is recorded anyway: the money is spent. */
    CHECK_INT(reserve(l, "run", USD(0.20), USD(0.50), LEDGER_NO_CAP, T0,
                      &r), LEDGER_OK);
    b = r.id;
    CHECK_INT(ledger_settle(l, b, USD(0.35), T0, &s, errbuf, sizeof errbuf),
              LEDGER_OK);
    CHECK_INT(s.over_by, USD(0.15));
    CHECK_INT(totals(l, "run", -1).committed, USD(0.45));
    CHECK_INT(totals(l, "run", -1).settled, USD(0.45));
    /* The cap sees settled amounts. */
    CHECK_INT(reserve(l, "run", USD(0.06), USD(0.50), LEDGER_NO_CAP, T0,
                      &r), LEDGER_EXCEEDED);
    CHECK_INT(r.committed, USD(0.45));
    CHECK_INT(reserve(l, "run", USD(0.05), USD(0.50), LEDGER_NO_CAP, T0,
                      &r), LEDGER_OK);
    /* Settling twice, or an unknown id, is refused. */
    CHECK_INT(ledger_settle(l, a, USD(0.01), T0, NULL, errbuf,
                            sizeof errbuf), LEDGER_ESTATE);
    CHECK(strstr(errbuf, "already settled") != NULL);
    CHECK_INT(ledger_settle(l, 999, USD(0.01), T0, NULL, errbuf,
                            sizeof errbuf), LEDGER_ENOTFOUND);
    CHECK_INT(ledger_settle(l, 0, USD(0.01), T0, NULL, NULL, 0),
              LEDGER_EINVAL);
    CHECK_INT(ledger_settle(l, r.id, -1, T0, NULL, NULL, 0), LEDGER_EINVAL);
    CHECK_INT(totals(l, "run", -1).committed, USD(0.50));
    ledger_close(l);
    drop(dir);
}

static void test_release(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    ledger_reserve_result r;
    ledger_settle_result s;
    ledger_totals t;
    reserve(l, "run", USD(0.70), USD(1), LEDGER_NO_CAP, T0, &r);
    CHECK_INT(ledger_release(l, r.id, T0, &s, errbuf, sizeof errbuf),
              LEDGER_OK);
    CHECK_INT(s.rec.state, LEDGER_RELEASED);
    CHECK_INT(s.rec.settled, 0);
    t = totals(l, "run", -1);
    CHECK_INT(t.committed, 0);
    CHECK_INT(t.n_released, 1);
    CHECK_INT(t.n_open, 0);
    CHECK_INT(ledger_release(l, r.id, T0, NULL, errbuf, sizeof errbuf),
              LEDGER_ESTATE);
    CHECK_INT(ledger_settle(l, r.id, 0, T0, NULL, errbuf, sizeof errbuf),
              LEDGER_ESTATE);
    CHECK_INT(reserve(l, "run", USD(1), USD(1), LEDGER_NO_CAP, T0, &r),
              LEDGER_OK);
    ledger_close(l);
    drop(dir);
}

static void test_daily_cap(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    ledger_reserve_result r;
    CHECK_INT(reserve(l, "A", USD(0.40), LEDGER_NO_CAP, USD(1), T0, &r),
              LEDGER_OK);
    CHECK_INT(reserve(l, "B", USD(0.40), USD(2), USD(1), T0 + 60, &r),
              LEDGER_OK);
    CHECK_INT(r.day_committed, USD(0.80));
    CHECK_INT(reserve(l, "C", USD(0.40), USD(2), USD(1), T0 + 120, &r),
              LEDGER_EXCEEDED);
    CHECK_INT(r.cap_hit, LEDGER_CAP_DAILY);
    CHECK_INT(r.cap, USD(1));
    CHECK_INT(r.committed, USD(0.80));
    CHECK_INT(r.requested, USD(0.40));
    CHECK(strstr(errbuf, "daily cap 1.00 USD") != NULL);
    /* The run cap is checked first and named when both would refuse. */
    CHECK_INT(reserve(l, "C", USD(0.40), USD(0.30), USD(1), T0, &r),
              LEDGER_EXCEEDED);
    CHECK_INT(r.cap_hit, LEDGER_CAP_RUN);
    CHECK_INT(reserve(l, "C", USD(0.20), USD(2), USD(1), T0, &r),
              LEDGER_OK);
    CHECK_INT(totals(l, NULL, T0).committed, USD(1));
    CHECK_INT(totals(l, NULL, -1).n_open, 3);
    ledger_close(l);
    drop(dir);
}

static void test_day_boundary(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    ledger_reserve_result r;
    int64_t last = T0 + 12 * 3600 - 1;      /* 2024-05-01T23:59:59Z */
    int64_t next = last + 1;                /* 2024-05-02T00:00:00Z */
    CHECK_INT(reserve(l, "A", USD(0.90), USD(1), USD(1), last, &r),
              LEDGER_OK);
    CHECK_INT(reserve(l, "B", USD(0.20), USD(1), USD(1), last, &r),
              LEDGER_EXCEEDED);
    CHECK_INT(r.cap_hit, LEDGER_CAP_DAILY);
    CHECK_INT(reserve(l, "B", USD(0.20), USD(1), USD(1), next, &r),
              LEDGER_OK);
    CHECK_INT(r.day_committed, USD(0.20));
    CHECK_INT(totals(l, NULL, last).committed, USD(0.90));
    CHECK_INT(totals(l, NULL, next).committed, USD(0.20));
    CHECK_INT(totals(l, NULL, next + DAY).committed, 0);
    /* A run's cap spans days. */
    CHECK_INT(reserve(l, "A", USD(0.20), USD(1), USD(1), next, &r),
              LEDGER_EXCEEDED);
    CHECK_INT(r.cap_hit, LEDGER_CAP_RUN);
    /* Settling on the next day still counts on the reservation day. */
    CHECK_INT(ledger_settle(l, 1, USD(0.95), next + 10, NULL, NULL, 0),
              LEDGER_OK);
    CHECK_INT(totals(l, NULL, last).committed, USD(0.95));
    CHECK_INT(totals(l, NULL, next).committed, USD(0.20));
    ledger_close(l);
    drop(dir);
}

static void test_persistence(void)
{
    char *dir = tmpdir(), path[4096];
    ledger *l = open_at(dir);
    ledger_reserve_result r;
    ledger_snap *s;
    const ledger_record *x;
    size_t len;
    char *text;
    reserve(l, "run-1", USD(0.25), USD(2), USD(5), T0, &r);
    reserve(l, "run-1", 102800, USD(2), USD(5), T0 + 1, &r);
    reserve(l, "run-2", USD(0.10), USD(2), USD(5), T0 + 2, &r);
    ledger_settle(l, 2, 102801, T0 + 3, NULL, NULL, 0);
    ledger_release(l, 3, T0 + 4, NULL, NULL, 0);
    ledger_close(l);

    l = open_at(dir);
    CHECK_INT(ledger_snapshot(l, &s, errbuf, sizeof errbuf), LEDGER_OK);
    CHECK_INT(ledger_snap_count(s), 3);
    x = ledger_snap_get(s, 0);
    CHECK_INT(x->id, 1);
    CHECK_INT(x->state, LEDGER_OPEN);
    CHECK_STR(x->run, "run-1");
    CHECK_STR(x->label, "qwen3");
    CHECK_INT(x->pid, getpid());
    CHECK_INT(x->created, T0);
    CHECK_INT(x->reserved, USD(0.25));
    x = ledger_snap_get(s, 1);
    CHECK_INT(x->state, LEDGER_SETTLED);
    CHECK_INT(x->reserved, 102800);
    CHECK_INT(x->settled, 102801);
    CHECK_INT(x->updated, T0 + 3);
    x = ledger_snap_get(s, 2);
    CHECK_INT(x->state, LEDGER_RELEASED);
    CHECK(ledger_snap_get(s, 3) == NULL);
    ledger_snap_free(s);
    /* Ids continue after a reopen. */
    CHECK_INT(reserve(l, "run-3", 0, USD(2), USD(5), T0 + 5, &r),
              LEDGER_OK);
    CHECK_INT(r.id, 4);
    ledger_close(l);

    file_in(dir, LEDGER_FILE, path);
    text = slurp(path, &len);
    CHECK(text && strncmp(text, "clawhost-ledger 1\nnext 5\n", 25) == 0);
    CHECK(text && strstr(text, "\nrec id=2 state=settled created="
                         "2024-05-01T12:00:01Z updated=2024-05-01T12:00:03Z"
                         " pid=") != NULL);
    CHECK(text && strstr(text, " run=run-1 label=qwen3 reserved=0.0001028 "
                         "settled=0.000102801\n") != NULL);
    CHECK(text && strstr(text, "state=open") && strstr(text, "settled=-\n"));
    CHECK(text && strstr(text, "\nend records=4 fnv1a64=") != NULL);
    CHECK(!temp_in(dir));
    free(text);
    drop(dir);
}

/* r2/qwen3 0.30 open; r1/flux 0.01 settled, 0.01 released; r1 0.20. */
static ledger *query_sample(const char *dir)
{
    ledger *l = open_at(dir);
    ledger_reserve_req q = req("r1", USD(0.01), LEDGER_NO_CAP,
                               LEDGER_NO_CAP, T0 + 10);
    reserve(l, "r2", USD(0.30), LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL);
    q.label = "flux";
    ledger_reserve(l, &q, NULL, NULL, 0);
    q.now = T0 + 20;
    ledger_reserve(l, &q, NULL, NULL, 0);
    reserve(l, "r1", USD(0.20), LEDGER_NO_CAP, LEDGER_NO_CAP, T0 + 30,
            NULL);
    ledger_settle(l, 2, USD(0.01), T0 + 40, NULL, NULL, 0);
    ledger_release(l, 3, T0 + 40, NULL, NULL, 0);
    return l;
}

static void test_group_totals(void)
{
    char *dir = tmpdir();
    ledger *l = query_sample(dir);
    ledger_snap *s;
    ledger_group *g;
    ledger_totals t;
    size_t n;
    CHECK_INT(ledger_snapshot(l, &s, errbuf, sizeof errbuf), LEDGER_OK);
    CHECK_INT(ledger_snap_group(s, LEDGER_BY_RUN, &g, &n, NULL, 0),
              LEDGER_OK);
    CHECK_INT(n, 2);
    CHECK_STR(g[0].key, "r1");
    CHECK_INT(g[0].t.committed, USD(0.21));
    CHECK_INT(g[0].t.n_open, 1);
    CHECK_INT(g[0].t.n_settled, 1);
    CHECK_INT(g[0].t.n_released, 1);
    CHECK_INT(g[0].first, T0 + 10);
    CHECK_INT(g[0].last, T0 + 30);
    CHECK_STR(g[1].key, "r2");
    CHECK_INT(g[1].t.committed, USD(0.30));
    free(g);
    CHECK_INT(ledger_snap_group(s, LEDGER_BY_LABEL, &g, &n, NULL, 0),
              LEDGER_OK);
    CHECK_INT(n, 2);
    CHECK_STR(g[0].key, "flux");
    CHECK_INT(g[0].t.committed, USD(0.01));
    CHECK_STR(g[1].key, "qwen3");
    CHECK_INT(g[1].t.committed, USD(0.50));
    free(g);
    ledger_snap_totals(s, "r1", "flux", -1, &t);
    CHECK_INT(t.committed, USD(0.01));
    ledger_snap_totals(s, NULL, NULL, T0, &t);
    CHECK_INT(t.committed, USD(0.51));
    CHECK_INT(t.open, USD(0.50));
    CHECK_INT(t.settled, USD(0.01));
    ledger_snap_free(s);
    ledger_close(l);
    drop(dir);
}

static void test_list_open(void)
{
    char *dir = tmpdir();
    ledger *l = query_sample(dir);
    ledger_open_item *o;
    size_t n;
    CHECK_INT(ledger_list_open(l, T0 + 3600, &o, &n, NULL, 0), LEDGER_OK);
    CHECK_INT(n, 2);
    CHECK_INT(o[0].rec.id, 1);
    CHECK_INT(o[0].age, 3600);
    CHECK_INT(o[0].rec.pid, getpid());
    CHECK_STR(o[0].rec.run, "r2");
    CHECK_INT(o[1].rec.id, 4);
    CHECK_INT(o[1].age, 3570);
    free(o);
    ledger_close(l);
    drop(dir);
}

/* A missing ledger reads as empty, and reading creates nothing. */
static void test_empty(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    ledger_snap *s;
    ledger_group *g;
    ledger_open_item *o;
    size_t n;
    CHECK_INT(ledger_snapshot(l, &s, NULL, 0), LEDGER_OK);
    CHECK_INT(ledger_snap_count(s), 0);
    CHECK_INT(ledger_snap_group(s, LEDGER_BY_RUN, &g, &n, NULL, 0),
              LEDGER_OK);
    CHECK_INT(n, 0);
    free(g);
    ledger_snap_free(s);
    CHECK_INT(ledger_list_open(l, T0, &o, &n, NULL, 0), LEDGER_OK);
    CHECK_INT(n, 0);
    free(o);
    CHECK(!exists_in(dir, LEDGER_FILE));
    ledger_close(l);
    drop(dir);
}

static void test_bad_args(void)
{
    char *dir = tmpdir(), long_name[80];
    ledger *l = open_at(dir);
    ledger_reserve_req q;
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    const char *bad_names[] = {"", "a b", "a\tb", "x=y", "é", long_name};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        q = req(bad_names[i], 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0);
        CHECK_INT(ledger_reserve(l, &q, NULL, errbuf, sizeof errbuf),
                  LEDGER_EINVAL);
        CHECK(strstr(errbuf, "bad run id") != NULL);
        q.run = "ok";
        q.label = bad_names[i];
        CHECK_INT(ledger_reserve(l, &q, NULL, errbuf, sizeof errbuf),
                  LEDGER_EINVAL);
    }
    long_name[64] = '\0';
    q = req(long_name, 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0);
    CHECK_INT(ledger_reserve(l, &q, NULL, NULL, 0), LEDGER_OK);
    q = req("ok", -1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0);
    CHECK_INT(ledger_reserve(l, &q, NULL, NULL, 0), LEDGER_EINVAL);
    q.amount = MONEY_USD_MAX + 1;
    CHECK_INT(ledger_reserve(l, &q, NULL, NULL, 0), LEDGER_EINVAL);
    q.amount = 1;
    q.run_cap = -2;
    CHECK_INT(ledger_reserve(l, &q, NULL, NULL, 0), LEDGER_EINVAL);
    q.run_cap = LEDGER_NO_CAP;
    q.daily_cap = INT64_MAX;
    CHECK_INT(ledger_reserve(l, &q, NULL, NULL, 0), LEDGER_EINVAL);
    q.daily_cap = LEDGER_NO_CAP;
    q.now = -5;
    CHECK_INT(ledger_reserve(l, &q, NULL, NULL, 0), LEDGER_EINVAL);
    CHECK_INT(ledger_reserve(l, NULL, NULL, NULL, 0), LEDGER_EINVAL);
    CHECK_INT(totals(l, NULL, -1).n_open, 1);
    ledger_close(l);
    CHECK_INT(ledger_open(&l, NULL, errbuf, sizeof errbuf), LEDGER_EINVAL);
    CHECK_INT(ledger_open(&l, "/nonexistent/clawhost-test", errbuf,
                          sizeof errbuf), LEDGER_EIO);
    CHECK(strstr(errbuf, "/nonexistent/clawhost-test") != NULL);
    CHECK(l == NULL);
    drop(dir);
}

static void test_limits(void)
{
    char *dir = tmpdir(), path[4096];
    size_t len;
    ledger *l = open_at(dir);
    ledger_set_limits(l, 0, 3);
    for (int i = 0; i < 3; i++)
        CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0,
                          NULL), LEDGER_OK);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_ELIMIT);
    CHECK(strstr(errbuf, "full (3 records)") != NULL);
    ledger_set_limits(l, 0, 2);
    CHECK_INT(ledger_snapshot(l, &(ledger_snap *){NULL}, errbuf,
                              sizeof errbuf), LEDGER_ELIMIT);
    CHECK(strstr(errbuf, "more than 2 records") != NULL);
    ledger_close(l);
    l = open_at(dir);
    ledger_set_limits(l, 200, 0);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_ELIMIT);
    CHECK(strstr(errbuf, "200-byte limit") != NULL);
    ledger_close(l);
    file_in(dir, LEDGER_FILE, path);
    free(slurp(path, &len));
    l = open_at(dir);
    ledger_set_limits(l, len, 0);       /* reads, then cannot write */
    CHECK_INT(totals(l, NULL, -1).n_open, 3);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_ELIMIT);
    ledger_close(l);
    l = open_at(dir);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_OK);
    CHECK_INT(totals(l, NULL, -1).n_open, 4);
    ledger_close(l);
    drop(dir);
}

static void test_lock_timeout(void)
{
    char *dir = tmpdir(), path[4096];
    ledger *l = open_at(dir);
    ledger_snap *s = NULL;
    int fd;
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_OK);
    file_in(dir, LEDGER_LOCK_FILE, path);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    ledger_set_lock_timeout(l, 30);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_EBUSY);
    CHECK(strstr(errbuf, "locked") != NULL);
    CHECK_INT(ledger_snapshot(l, &s, errbuf, sizeof errbuf), LEDGER_EBUSY);
    flock(fd, LOCK_UN);
    /* A shared holder (a reader) blocks writers, not other readers. */
    flock(fd, LOCK_SH);
    CHECK_INT(ledger_snapshot(l, &s, errbuf, sizeof errbuf), LEDGER_OK);
    ledger_snap_free(s);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_EBUSY);
    close(fd);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_OK);
    ledger_close(l);
    drop(dir);
}

/* ---- permissions and the state directory ----------------------------- */

static void restore_env(const char *name, char *saved)
{
    if (saved) {
        setenv(name, saved, 1);
        free(saved);
    } else {
        unsetenv(name);
    }
}

static char *save_env(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static int mode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static void test_state_dir_resolve(void)
{
    char out[4096];
    char *s1 = save_env("CLAWHOST_STATE_DIR");
    char *s2 = save_env("XDG_STATE_HOME"), *s3 = save_env("HOME");
    unsetenv("CLAWHOST_STATE_DIR");
    setenv("XDG_STATE_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    CHECK_INT(ledger_state_dir(out, sizeof out, 0, NULL, 0), LEDGER_OK);
    CHECK_STR(out, "/xdg/clawhost");
    setenv("XDG_STATE_HOME", "relative/xdg", 1);    /* ignored (XDG) */
    CHECK_INT(ledger_state_dir(out, sizeof out, 0, NULL, 0), LEDGER_OK);
    CHECK_STR(out, "/home/u/.local/state/clawhost");
    setenv("XDG_STATE_HOME", "", 1);
    CHECK_INT(ledger_state_dir(out, sizeof out, 0, NULL, 0), LEDGER_OK);
    CHECK_STR(out, "/home/u/.local/state/clawhost");
    setenv("CLAWHOST_STATE_DIR", "/explicit", 1);
    CHECK_INT(ledger_state_dir(out, sizeof out, 0, NULL, 0), LEDGER_OK);
    CHECK_STR(out, "/explicit");
    CHECK_INT(ledger_state_dir(out, 8, 0, errbuf, sizeof errbuf),
              LEDGER_EINVAL);
    CHECK(strstr(errbuf, "too long") != NULL);
    setenv("CLAWHOST_STATE_DIR", "rel/dir", 1);
    CHECK_INT(ledger_state_dir(out, sizeof out, 0, errbuf, sizeof errbuf),
              LEDGER_EINVAL);
    CHECK(strstr(errbuf, "absolute") != NULL);
    unsetenv("CLAWHOST_STATE_DIR");
    unsetenv("HOME");
    CHECK_INT(ledger_state_dir(out, sizeof out, 0, errbuf, sizeof errbuf),
              LEDGER_EINVAL);
    CHECK(strstr(errbuf, "CLAWHOST_STATE_DIR") != NULL);
    restore_env("CLAWHOST_STATE_DIR", s1);
    restore_env("XDG_STATE_HOME", s2);
    restore_env("HOME", s3);
}

/* Created 0700 at every level we make, whatever the umask; files 0600. */
static void test_state_dir_create(void)
{
    char *dir = tmpdir(), want[4096], out[4096];
    char *s1 = save_env("CLAWHOST_STATE_DIR");
    mode_t old = umask(0);
    ledger *l;
    snprintf(want, sizeof want, "%s/a/b//c/", dir);
    setenv("CLAWHOST_STATE_DIR", want, 1);
    CHECK_INT(ledger_state_dir(out, sizeof out, 1, errbuf, sizeof errbuf),
              LEDGER_OK);
    CHECK_STR(out, want);
    snprintf(want, sizeof want, "%s/a", dir);
    CHECK_INT(mode_of(want), 0700);
    snprintf(want, sizeof want, "%s/a/b/c", dir);
    CHECK_INT(mode_of(want), 0700);
    CHECK_INT(ledger_state_dir(out, sizeof out, 1, NULL, 0), LEDGER_OK);
    l = open_at(out);
    CHECK_INT(reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL),
              LEDGER_OK);
    ledger_close(l);
    snprintf(want, sizeof want, "%s/a/b/c/" LEDGER_FILE, dir);
    CHECK_INT(mode_of(want), 0600);
    snprintf(want, sizeof want, "%s/a/b/c/" LEDGER_LOCK_FILE, dir);
    CHECK_INT(mode_of(want), 0600);
    /* A file in the way is an error. */
    snprintf(want, sizeof want, "%s/a/b/c/" LEDGER_FILE "/x", dir);
    setenv("CLAWHOST_STATE_DIR", want, 1);
    CHECK_INT(ledger_state_dir(out, sizeof out, 1, errbuf, sizeof errbuf),
              LEDGER_EIO);
    CHECK(strstr(errbuf, "not a directory") != NULL);
    umask(old);
    restore_env("CLAWHOST_STATE_DIR", s1);
    drop(dir);
}

static void test_dir_perms(void)
{
    char *dir = tmpdir();
    ledger *l = NULL;
    chmod(dir, 0777);
    CHECK_INT(ledger_open(&l, dir, errbuf, sizeof errbuf), LEDGER_EINVAL);
    CHECK(strstr(errbuf, "writable by group or others") != NULL);
    CHECK(l == NULL);
    chmod(dir, 0720);
    CHECK_INT(ledger_open(&l, dir, NULL, 0), LEDGER_EINVAL);
    chmod(dir, 0755);
    CHECK_INT(ledger_open(&l, dir, NULL, 0), LEDGER_OK);
    ledger_close(l);
    drop(dir);
}

/* ---- corruption ------------------------------------------------------ */

/* A ledger of three records, one of each state; returns its text. */
static char *sample(const char *dir, size_t *len)
{
    char path[4096];
    ledger *l = open_at(dir);
    reserve(l, "run-1", USD(0.25), USD(2), USD(5), T0, NULL);
    reserve(l, "run-1", USD(0.50), USD(2), USD(5), T0, NULL);
    reserve(l, "run-2", USD(0.10), USD(2), USD(5), T0, NULL);
    ledger_settle(l, 2, USD(0.40), T0, NULL, NULL, 0);
    ledger_release(l, 3, T0, NULL, NULL, 0);
    ledger_close(l);
    file_in(dir, LEDGER_FILE, path);
    return slurp(path, len);
}

/*
** Write text as the ledger; every operation must refuse it with a
** message naming the file (and the line when want_line > 0), and leave
** the file exactly as it was.
*/
static void refused(const char *dir, const char *text, size_t len,
                    int want_line, const char *want_msg)
{
    char path[4096], at[4200], *after;
    size_t alen = 0;
    ledger *l = open_at(dir);
    int st;
    file_in(dir, LEDGER_FILE, path);
    spit(path, text, len);
    st = reserve(l, "r", 1, LEDGER_NO_CAP, LEDGER_NO_CAP, T0, NULL);
    CHECK(st == LEDGER_ECORRUPT || st == LEDGER_ELIMIT);
    CHECK(strstr(errbuf, path) != NULL);
    if (want_line > 0) {
        snprintf(at, sizeof at, "%s:%d: ", path, want_line);
        CHECK(strstr(errbuf, at) != NULL);
        if (!strstr(errbuf, at))
            fprintf(stderr, "    got: %s\n", errbuf);
    }
    if (want_msg)
        CHECK(strstr(errbuf, want_msg) != NULL);
    CHECK_INT(ledger_settle(l, 1, 0, T0, NULL, NULL, 0), st);
    CHECK_INT(ledger_release(l, 1, T0, NULL, NULL, 0), st);
    CHECK_INT(ledger_snapshot(l, &(ledger_snap *){NULL}, NULL, 0), st);
    after = slurp(path, &alen);
    CHECK(after && alen == len && memcmp(after, text, len) == 0);
    CHECK(!temp_in(dir));
    free(after);
    ledger_close(l);
}

static void test_corrupt_truncated(void)
{
    char *dir = tmpdir(), *text;
    size_t len;
    text = sample(dir, &len);
    CHECK(text != NULL && len > 100);
    for (size_t cut = 0; text && cut < len; cut++)
        refused(dir, text, cut, 0, NULL);
    refused(dir, text, 0, 1, "empty file");
    refused(dir, text, len - 1, 6, "truncated line");
    /* Cut at a line boundary: the end line is missing. */
    refused(dir, text, (size_t)(strstr(text, "\nend ") - text) + 1, 6,
            "missing end line");
    free(text);
    drop(dir);
}

static void test_corrupt_junk(void)
{
    char *dir = tmpdir(), *text, *bad;
    size_t len, hl;
    text = sample(dir, &len);
    bad = malloc(len + 64);
    hl = (size_t)(strchr(strchr(text, '\n') + 1, '\n') - text) + 1;

    /* A junk line after the header and "next". */
    memcpy(bad, text, hl);
    memcpy(bad + hl, "garbage\n", 8);
    memcpy(bad + hl + 8, text + hl, len - hl);
    refused(dir, bad, len + 8, 3, "unknown line");
    /* Unknown version. */
    memcpy(bad, text, len);
    bad[16] = '2';
    refused(dir, bad, len, 1, "unsupported ledger version \"2\"");
    refused(dir, "hello\n", 6, 1, "not a clawhost ledger");
    /* One digit of an amount changed: the checksum catches it. */
    memcpy(bad, text, len);
    *(strstr(bad, "reserved=0.25") + 11) = '1';
    refused(dir, bad, len, 6, "checksum mismatch");
    /* Bytes after the end line, and a CR. */
    memcpy(bad, text, len);
    memcpy(bad + len, "x\n", 2);
    refused(dir, bad, len + 2, 7, "data after the end line");
    memcpy(bad, text, len);
    bad[hl - 1] = '\r';
    refused(dir, bad, len, 2, "byte 0x0d");
    /* A record with a field missing. */
    memcpy(bad, text, len);
    memcpy(strstr(bad, " pid="), " pix=", 5);
    refused(dir, bad, len, 3, "expected pid=");
    refused(dir, "clawhost-ledger 1\n", 18, 2, "missing next line");
    refused(dir, "clawhost-ledger 1\nnext 0\n", 25, 2, "next ID");
    /* Good ledger text is accepted again. */
    {
        char path[4096];
        ledger *l = open_at(dir);
        file_in(dir, LEDGER_FILE, path);
        spit(path, text, len);
        CHECK_INT(totals(l, NULL, -1).committed, USD(0.65));
        ledger_close(l);
    }
    free(bad);
    free(text);
    drop(dir);
}

/* ---- processes ------------------------------------------------------- */

static int wait_status(pid_t pid)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws);
    if (WIFSIGNALED(ws))
        return 1000 + WTERMSIG(ws);
    return -1;
}

#define RACERS      8
#define RACE_TRIES  30
#define RACE_CAP    USD(1)

struct report {
    int64_t committed;
    int64_t granted;
};

/* One racer: reserve small varied amounts; settle some lower. */
static void racer(const char *dir, int k, int wfd)
{
    struct report rep = {0, 0};
    char run[32];
    ledger *l = NULL;
    if (ledger_open(&l, dir, NULL, 0) != LEDGER_OK)
        _exit(3);
    snprintf(run, sizeof run, "racer-%d", k);
    for (int i = 0; i < RACE_TRIES; i++) {
        ledger_reserve_result r;
        int64_t amt = USD(0.01) + (int64_t)((k * 7 + i) % 5) * 2500000;
        int st = reserve(l, run, amt, LEDGER_NO_CAP, RACE_CAP, T0, &r);
        if (st == LEDGER_EXCEEDED)
            continue;
        if (st != LEDGER_OK)
            _exit(4);
        rep.granted++;
        if (i % 3 == 1) {
            if (ledger_settle(l, r.id, amt / 2, T0, NULL, NULL, 0) != 0)
                _exit(5);
            amt /= 2;
        }
        rep.committed += amt;
    }
    ledger_close(l);
    if (write(wfd, &rep, sizeof rep) != (ssize_t)sizeof rep)
        _exit(6);
    _exit(0);
}

static void test_concurrent_cap(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    pid_t pids[RACERS];
    int fds[2], status[RACERS], alive = RACERS;
    struct report sum = {0, 0}, rep;
    ledger_totals t;
    CHECK(pipe(fds) == 0);
    for (int k = 0; k < RACERS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            close(fds[0]);
            racer(dir, k, fds[1]);
        }
        status[k] = -1;
    }
    close(fds[1]);
    /* While they race, every snapshot stays within the cap. */
    while (alive > 0) {
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
        t = totals(l, NULL, T0);
        CHECK(t.committed >= 0 && t.committed <= RACE_CAP);
        for (int k = 0; k < RACERS; k++) {
            int ws;
            if (status[k] != -1 || waitpid(pids[k], &ws, WNOHANG) == 0)
                continue;
            status[k] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1000;
            alive--;
        }
    }
    for (int k = 0; k < RACERS; k++) {
        CHECK_INT(status[k], 0);
        CHECK(read(fds[0], &rep, sizeof rep) == (ssize_t)sizeof rep);
        sum.committed += rep.committed;
        sum.granted += rep.granted;
    }
    close(fds[0]);
    t = totals(l, NULL, T0);
    CHECK(t.committed <= RACE_CAP);
    CHECK_INT(t.committed, sum.committed);
    CHECK_INT(t.n_open + t.n_settled, sum.granted);
    /* The asks add up to about 3 USD: the cap was reached and held. */
    CHECK(sum.granted < RACERS * RACE_TRIES);
    CHECK(t.committed > RACE_CAP / 2);
    ledger_close(l);
    drop(dir);
}

#define ROUNDS      10
#define ROUND_SLOTS 5

/* A racer of one round: fixed amounts, no settling; reports grants. */
static void slot_racer(const char *dir, int k, int wfd)
{
    struct report rep = {0, 0};
    char run[32];
    ledger *l = NULL;
    if (ledger_open(&l, dir, NULL, 0) != LEDGER_OK)
        _exit(3);
    snprintf(run, sizeof run, "slot-%d", k);
    for (int i = 0; i < 2 * ROUND_SLOTS; i++) {
        int st = reserve(l, run, USD(0.01), LEDGER_NO_CAP,
                         ROUND_SLOTS * USD(0.01), T0, NULL);
        if (st == LEDGER_OK)
            rep.granted++;
        else if (st != LEDGER_EXCEEDED)
            _exit(4);
    }
    ledger_close(l);
    if (write(wfd, &rep, sizeof rep) != (ssize_t)sizeof rep)
        _exit(6);
    _exit(0);
}

/*
** The race for the last slots, many times over: with a cap of exactly
** ROUND_SLOTS reservations, every round ends with exactly that many,
** never one more (a check-then-record race shows up here).
*/
static void test_concurrent_last_slot(void)
{
    for (int round = 0; round < ROUNDS; round++) {
        char *dir = tmpdir();
        ledger *l = open_at(dir);
        int fds[2], granted = 0;
        pid_t pids[RACERS];
        struct report rep;
        CHECK(pipe(fds) == 0);
        for (int k = 0; k < RACERS; k++) {
            pids[k] = fork();
            if (pids[k] == 0) {
                close(fds[0]);
                slot_racer(dir, k, fds[1]);
            }
        }
        close(fds[1]);
        for (int k = 0; k < RACERS; k++) {
            CHECK_INT(wait_status(pids[k]), 0);
            CHECK(read(fds[0], &rep, sizeof rep) == (ssize_t)sizeof rep);
            granted += (int)rep.granted;
        }
        close(fds[0]);
        CHECK_INT(granted, ROUND_SLOTS);
        CHECK_INT(totals(l, NULL, T0).committed, ROUND_SLOTS * USD(0.01));
        CHECK_INT(totals(l, NULL, T0).n_open, ROUND_SLOTS);
        ledger_close(l);
        drop(dir);
    }
}

/* A run that reserved and then died keeps its reservation counted. */
static void test_crash_open_stays(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    ledger_open_item *o;
    ledger_reserve_result r;
    size_t n;
    int fds[2];
    int64_t id = 0;
    pid_t pid;
    CHECK(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        ledger *c = NULL;
        ledger_reserve_result cr;
        if (ledger_open(&c, dir, NULL, 0) != 0 ||
            reserve(c, "doomed", USD(0.60), USD(2), USD(1), T0, &cr) != 0)
            _exit(3);
        if (write(fds[1], &cr.id, sizeof cr.id) != (ssize_t)sizeof cr.id)
            _exit(4);
        for (;;)
            pause();
    }
    close(fds[1]);
    CHECK(read(fds[0], &id, sizeof id) == (ssize_t)sizeof id);
    close(fds[0]);
    kill(pid, SIGKILL);
    CHECK_INT(wait_status(pid), 1000 + SIGKILL);

    CHECK_INT(reserve(l, "next", USD(0.50), USD(2), USD(1), T0 + 10, &r),
              LEDGER_EXCEEDED);
    CHECK_INT(r.committed, USD(0.60));
    CHECK_INT(ledger_list_open(l, T0 + 7200, &o, &n, NULL, 0), LEDGER_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(o[0].rec.id, id);
        CHECK_INT(o[0].rec.pid, pid);
        CHECK_STR(o[0].rec.run, "doomed");
        CHECK_INT(o[0].age, 7200);
    }
    free(o);
    CHECK_INT(reserve(l, "next", USD(0.40), USD(2), USD(1), T0 + 10, &r),
              LEDGER_OK);
    /* Reconcile: the provider says it was never charged. */
    CHECK_INT(ledger_release(l, id, T0 + 20, NULL, NULL, 0), LEDGER_OK);
    CHECK_INT(reserve(l, "next", USD(0.50), USD(2), USD(1), T0 + 30, &r),
              LEDGER_OK);
    CHECK_INT(totals(l, NULL, T0).committed, USD(0.90));
    ledger_close(l);
    drop(dir);
}

static ledger_step crash_at;

static void die_at(ledger_step step, void *ud)
{
    (void)ud;
    if (step == crash_at)
        _exit(77);
}

enum { OP_RESERVE, OP_SETTLE, OP_RELEASE, OP_COUNT };

static int run_op(ledger *l, int op)
{
    switch (op) {
    case OP_RESERVE:
        return reserve(l, "crash", USD(0.20), USD(2), USD(2), T0, NULL);
    case OP_SETTLE:
        return ledger_settle(l, 1, USD(0.45), T0, NULL, NULL, 0);
    default:
        return ledger_release(l, 1, T0, NULL, NULL, 0);
    }
}

/* Baseline: id 1 open at 0.30, id 2 settled at 0.10. */
static int64_t crash_expect(int op, int renamed)
{
    static const int64_t after[OP_COUNT] = {
        USD(0.60), USD(0.55), USD(0.10)
    };
    return renamed ? after[op] : USD(0.40);
}

static void crash_one(int op, ledger_step step)
{
    char *dir = tmpdir(), path[4096], *before, *now_text;
    size_t blen, nlen;
    ledger *l = open_at(dir);
    pid_t pid;
    int renamed = step >= LEDGER_STEP_RENAMED;
    reserve(l, "base", USD(0.30), USD(2), USD(2), T0, NULL);
    reserve(l, "base", USD(0.20), USD(2), USD(2), T0, NULL);
    ledger_settle(l, 2, USD(0.10), T0, NULL, NULL, 0);
    file_in(dir, LEDGER_FILE, path);
    before = slurp(path, &blen);
    pid = fork();
    if (pid == 0) {
        crash_at = step;
        ledger_set_fault_hook(l, die_at, NULL);
        run_op(l, op);
        _exit(0);
    }
    CHECK_INT(wait_status(pid), 77);
    /* Readable, and exactly the old or the new state. */
    CHECK_INT(totals(l, NULL, -1).committed, crash_expect(op, renamed));
    now_text = slurp(path, &nlen);
    if (!renamed)
        CHECK(now_text && nlen == blen && !memcmp(now_text, before, blen));
    /* The lock died with the child; a stale temp file is replaced. */
    CHECK_INT(reserve(l, "after", USD(0.01), USD(2), USD(2), T0, NULL),
              LEDGER_OK);
    CHECK_INT(totals(l, NULL, -1).committed,
              crash_expect(op, renamed) + USD(0.01));
    CHECK(!temp_in(dir));
    free(before);
    free(now_text);
    ledger_close(l);
    drop(dir);
}

static void test_crash_every_step(void)
{
    for (int op = 0; op < OP_COUNT; op++)
        for (int s = 0; s < LEDGER_STEP_COUNT; s++)
            crash_one(op, (ledger_step)s);
}

/* A writer killed at arbitrary moments never loses committed spend. */
static void test_crash_random_kill(void)
{
    char *dir = tmpdir();
    ledger *l = open_at(dir);
    int64_t prev = 0;
    unsigned seed = 12345;
    for (int i = 0; i < 12; i++) {
        struct timespec nap = {0, 0};
        ledger_totals t;
        pid_t pid = fork();
        if (pid == 0) {
            ledger *c = NULL;
            if (ledger_open(&c, dir, NULL, 0) != 0)
                _exit(3);
            for (;;) {
                ledger_reserve_result r;
                if (reserve(c, "k", 1000000, LEDGER_NO_CAP,
                            LEDGER_NO_CAP, T0, &r) != 0)
                    _exit(4);
                if (ledger_settle(c, r.id, 2000000, T0, NULL, NULL, 0))
                    _exit(5);
            }
        }
        nap.tv_nsec = (long)(rand_r(&seed) % 15 + 1) * 1000000L;
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        CHECK_INT(wait_status(pid), 1000 + SIGKILL);
        t = totals(l, NULL, -1);
        CHECK(t.committed >= prev);
        prev = t.committed;
    }
    ledger_close(l);
    drop(dir);
}

int main(void)
{
    RUN(test_status_codes);
    RUN(test_run_cap);
    RUN(test_settle);
    RUN(test_release);
    RUN(test_daily_cap);
    RUN(test_day_boundary);
    RUN(test_persistence);
    RUN(test_group_totals);
    RUN(test_list_open);
    RUN(test_empty);
    RUN(test_bad_args);
    RUN(test_limits);
    RUN(test_lock_timeout);
    RUN(test_state_dir_resolve);
    RUN(test_state_dir_create);
    RUN(test_dir_perms);
    RUN(test_corrupt_truncated);
    RUN(test_corrupt_junk);
    RUN(test_concurrent_cap);
    RUN(test_concurrent_last_slot);
    RUN(test_crash_open_stays);
    RUN(test_crash_every_step);
    RUN(test_crash_random_kill);
    return unit_done("ledger");
}
