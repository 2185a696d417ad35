/*
** store_test.c -- unit tests for the store (host/store), on both
** engines: SQLite in a fresh temporary folder per test, and a real
** PostgreSQL server, whose URL CLAWHOST_TEST_PG_URL gives (make unit
** and make test start a throwaway cluster with tests/with_pg.sh). The
** PostgreSQL pass never skips: without the URL it fails and says why.
**
** Spend (caps, settle, release, scopes), runs, the journal, recipe
** state, schema versions, and the multi-process cases: racing
** reservers over the last cent and a SIGKILL at every step of every
** update. Children report through their exit status and pipes.
*/
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "v1ledger.h"
#include "pure/money.h"
#include "store/pqfn.h"
#include "store/store.h"

#define T0    INT64_C(1714564800)   /* 2024-05-01T12:00:00Z */
#define DAY   INT64_C(86400)
#define USD(x) ((int64_t)((x) * 100 + 0.5) * 10000000)  /* cents only */

static char errbuf[512];
static const char *pg_url;          /* NULL: this pass is SQLite */
static char url[4200];              /* the store of the current test */
static char tmp[4096];              /* its folder (SQLite) */
static char state_dir[4096];        /* CLAWHOST_STATE_DIR of the tests */

/* ---- helpers --------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* An empty PostgreSQL database: the public schema dropped and made. */
static void pg_reset(void)
{
    static const char *const keys[] = {"dbname", NULL};
    const char *vals[] = {pg_url, NULL};
    char err[256];
    if (pqfn_load(err, sizeof err) != 0) {
        fprintf(stderr, "store_test: %s\n", err);
        exit(2);
    }
    PGconn *c = pqfn.connectdbParams(keys, vals, 1);
    PGresult *r = pqfn.exec(c, "SET client_min_messages = warning;"
                            " DROP SCHEMA public CASCADE;"
                            " CREATE SCHEMA public;");
    if (pqfn.resultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "store_test: cannot reset %s: %s\n", pg_url,
                pqfn.errorMessage(c));
        exit(2);
    }
    pqfn.clear(r);
    pqfn.finish(c);
}

/* A fresh, empty store for one test, and its URL in `url`. */
static store *fresh(void)
{
    store *s = NULL;
    if (pg_url) {
        pg_reset();
        snprintf(url, sizeof url, "%s", pg_url);
    } else {
        const char *base = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/store_test.XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(tmp)) {
            perror("mkdtemp");
            exit(2);
        }
        snprintf(url, sizeof url, "sqlite://%s/t.db", tmp);
    }
    if (store_open(&s, url, errbuf, sizeof errbuf) != STORE_OK) {
        fprintf(stderr, "store_test: cannot open: %s\n", errbuf);
        exit(2);
    }
    return s;
}

static void remove_imported(void)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/spend.ledger.imported", state_dir);
    remove(p);
}

static void done(store *s)
{
    store_close(s);
    if (!pg_url)
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int reserve(store *s, const char *run, const char *label,
                   int64_t amount, int64_t run_cap, int64_t daily_cap,
                   int64_t now, store_reserve_result *res)
{
    store_reserve_req q = {run, label, amount, run_cap, daily_cap, now,
                           STORE_NO_CAP, NULL, STORE_NO_CAP};
    return store_reserve(s, &q, res, errbuf, sizeof errbuf);
}

static store_totals totals(store *s, const char *kind, const char *key)
{
    store_totals t;
    CHECK_INT(store_totals_get(s, kind, key, &t, errbuf, sizeof errbuf),
              STORE_OK);
    return t;
}

static int wait_status(pid_t pid)
{
    int ws;
    if (waitpid(pid, &ws, 0) != pid)
        return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 1000 + WTERMSIG(ws);
}

/* ---- spend ----------------------------------------------------------- */

static void test_reserve_settle_release(void)
{
    store *s = fresh();
    store_reserve_result r;
    store_settle_result sr;
    CHECK_INT(reserve(s, "run-1", "qwen3", USD(0.30), USD(2),
                      STORE_NO_CAP, T0, &r), STORE_OK);
    CHECK_INT(r.id, 1);
    CHECK_INT(r.run_committed, USD(0.30));
    CHECK_INT(reserve(s, "run-1", "flux", USD(0.20), USD(2),
                      STORE_NO_CAP, T0 + 1, &r), STORE_OK);
    CHECK_INT(r.id, 2);
    CHECK_INT(r.run_committed, USD(0.50));
    CHECK_INT(r.day_committed, USD(0.50));
    CHECK_INT(store_settle(s, 1, 102800, T0 + 2, &sr, errbuf,
                           sizeof errbuf), STORE_OK);
    CHECK_INT(sr.rec.state, STORE_SETTLED);
    CHECK_INT(sr.rec.settled, 102800);
    CHECK_INT(sr.over_by, 0);
    CHECK_INT(store_release(s, 2, T0 + 3, &sr, errbuf, sizeof errbuf),
              STORE_OK);
    CHECK_INT(sr.rec.state, STORE_RELEASED);
    store_totals t = totals(s, STORE_SCOPE_RUN, "run-1");
    CHECK_INT(t.committed, 102800);
    CHECK_INT(t.settled, 102800);
    CHECK_INT(t.open, 0);
    CHECK_INT(t.n_settled, 1);
    CHECK_INT(t.n_released, 1);
    CHECK_INT(t.first, T0);
    CHECK_INT(t.last, T0 + 1);
    t = totals(s, STORE_SCOPE_LABEL, "flux");
    CHECK_INT(t.committed, 0);
    CHECK_INT(t.n_released, 1);
    t = totals(s, STORE_SCOPE_DAY_LABEL, "2024-05-01 qwen3");
    CHECK_INT(t.committed, 102800);
    /* closing twice, or what is not there */
    CHECK_INT(store_settle(s, 1, 5, T0, NULL, errbuf, sizeof errbuf),
              STORE_ESTATE);
    CHECK(strstr(errbuf, "reservation 1 is already settled") != NULL);
    CHECK_INT(store_release(s, 99, T0, NULL, errbuf, sizeof errbuf),
              STORE_ENOTFOUND);
    CHECK(strstr(errbuf, "no reservation 99") != NULL);
    done(s);
}

static void test_settle_over(void)
{
    store *s = fresh();
    store_settle_result sr;
    reserve(s, "r", "qwen3", USD(0.10), USD(0.20), STORE_NO_CAP, T0, NULL);
    CHECK_INT(store_settle(s, 1, USD(0.35), T0, &sr, errbuf,
                           sizeof errbuf), STORE_OK);
    CHECK_INT(sr.over_by, USD(0.25));
    CHECK_INT(totals(s, STORE_SCOPE_RUN, "r").committed, USD(0.35));
    /* over the cap now: even a zero reservation is refused */
    CHECK_INT(reserve(s, "r", "qwen3", 0, USD(0.20), STORE_NO_CAP, T0,
                      NULL), STORE_EXCEEDED);
    done(s);
}

static void test_run_cap(void)
{
    store *s = fresh();
    store_reserve_result r;
    CHECK_INT(reserve(s, "r", "a", USD(1.50), USD(2), STORE_NO_CAP, T0,
                      &r), STORE_OK);
    CHECK_INT(reserve(s, "r", "a", USD(0.50), USD(2), STORE_NO_CAP, T0,
                      &r), STORE_OK);           /* exactly the cap */
    CHECK_INT(reserve(s, "r", "a", 1, USD(2), STORE_NO_CAP, T0, &r),
              STORE_EXCEEDED);                  /* one nano over */
    CHECK_INT(r.cap_hit, STORE_CAP_RUN);
    CHECK_INT(r.cap, USD(2));
    CHECK_INT(r.committed, USD(2));
    CHECK_INT(r.requested, 1);
    CHECK_STR(errbuf, "budget exceeded: run cap 2.00 USD, already "
              "committed 2.00 USD, requested 0.000000001 USD");
    /* a refusal changes nothing, in any scope */
    CHECK_INT(totals(s, STORE_SCOPE_ALL, "").committed, USD(2));
    CHECK_INT(totals(s, STORE_SCOPE_ALL, "").n_open, 2);
    CHECK_INT(totals(s, STORE_SCOPE_LABEL, "a").n_open, 2);
    /* another run has its own cap */
    CHECK_INT(reserve(s, "other", "a", USD(2), USD(2), STORE_NO_CAP, T0,
                      &r), STORE_OK);
    /* caps past 32 bits of nano-USD (2.15 USD) and the largest amount */
    CHECK_INT(reserve(s, "big", "a", USD(400), USD(500), USD(100000), T0,
                      &r), STORE_OK);
    CHECK_INT(reserve(s, "big", "a", USD(101), USD(500), USD(100000), T0,
                      &r), STORE_EXCEEDED);
    CHECK_INT(r.cap, USD(500));
    CHECK_INT(reserve(s, "huge", "a", MONEY_USD_MAX, STORE_NO_CAP,
                      STORE_NO_CAP, T0, &r), STORE_OK);
    done(s);
}

/* A label's cap holds over every run and day that reserves under it (a
** campaign's budget over its reruns); a settlement below the
** reservation frees the difference for the next. */
static void test_label_cap(void)
{
    store *s = fresh();
    store_reserve_result r;
    store_reserve_req q = {"r1", "campaign:c", USD(0.60), STORE_NO_CAP,
                           STORE_NO_CAP, T0, USD(1), NULL, STORE_NO_CAP};
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(store_settle(s, r.id, USD(0.20), T0, NULL, errbuf,
                           sizeof errbuf), STORE_OK);
    q.run = "r2";
    q.now = T0 + 2 * DAY;
    q.amount = USD(0.80);
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    q.run = "r3";
    q.amount = 1;
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf),
              STORE_EXCEEDED);
    CHECK_INT(r.cap_hit, STORE_CAP_LABEL);
    CHECK_INT(r.committed, USD(1));
    CHECK(strstr(errbuf, "budget exceeded: label cap 1.00 USD") != NULL);
    /* another label, and the same label without a cap, are not held */
    q.label = "campaign:d";
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    q.label = "campaign:c";
    q.label_cap = STORE_NO_CAP;
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    q.label_cap = -5;
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf),
              STORE_EINVAL);
    done(s);
}

/* A group of runs (a clawhost mcp server's children) shares one cap over
** their life, next to each run's own; settling gives the group back
** what was not spent, like every other scope. */
static void test_group_cap(void)
{
    store *s = fresh();
    store_reserve_result r;
    store_settle_result sr;
    store_reserve_req q = {"c1", "qwen3", USD(0.40), USD(2), STORE_NO_CAP,
                           T0, STORE_NO_CAP, "mcp-1", USD(1)};
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    int64_t first = r.id;
    q.run = "c2";
    q.amount = USD(0.60);
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    q.run = "c3";
    q.amount = 1;
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf),
              STORE_EXCEEDED);
    CHECK_INT(r.cap_hit, STORE_CAP_GROUP);
    CHECK(strstr(errbuf, "budget exceeded: group cap 1.00 USD") != NULL);
    CHECK_INT(store_settle(s, first, USD(0.10), T0, &sr, errbuf,
                           sizeof errbuf), STORE_OK);
    CHECK_STR(sr.rec.group, "mcp-1");
    CHECK_INT(totals(s, STORE_SCOPE_GROUP, "mcp-1").committed, USD(0.70));
    q.amount = USD(0.30);
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    /* no group: not counted there; another group has its own */
    q.group = NULL;
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    q.group = "mcp-2";
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(totals(s, STORE_SCOPE_GROUP, "mcp-1").committed, USD(1));
    q.group = "bad group";
    CHECK_INT(store_reserve(s, &q, &r, errbuf, sizeof errbuf),
              STORE_EINVAL);
    done(s);
}

static void test_daily_cap(void)
{
    store *s = fresh();
    store_reserve_result r;
    CHECK_INT(reserve(s, "r1", "a", USD(0.60), STORE_NO_CAP, USD(1), T0,
                      &r), STORE_OK);
    CHECK_INT(reserve(s, "r2", "b", USD(0.40), STORE_NO_CAP, USD(1),
                      T0 + 10, &r), STORE_OK);
    CHECK_INT(reserve(s, "r3", "b", USD(0.01), STORE_NO_CAP, USD(1),
                      T0 + 20, &r), STORE_EXCEEDED);
    CHECK_INT(r.cap_hit, STORE_CAP_DAILY);
    CHECK(strstr(errbuf, "budget exceeded: daily cap 1.00 USD") != NULL);
    /* the next UTC day starts afresh; a record stays in its own day */
    CHECK_INT(reserve(s, "r3", "b", USD(0.90), STORE_NO_CAP, USD(1),
                      T0 + DAY, &r), STORE_OK);
    CHECK_INT(r.day_committed, USD(0.90));
    CHECK_INT(store_settle(s, 1, USD(0.10), T0 + DAY, NULL, errbuf,
                           sizeof errbuf), STORE_OK);
    CHECK_INT(totals(s, STORE_SCOPE_DAY, "2024-05-01").committed,
              USD(0.50));
    CHECK_INT(totals(s, STORE_SCOPE_DAY, "2024-05-02").committed,
              USD(0.90));
    /* the run cap is checked first */
    CHECK_INT(reserve(s, "r4", "b", USD(0.20), USD(0.10), USD(0.05),
                      T0 + DAY, &r), STORE_EXCEEDED);
    CHECK_INT(r.cap_hit, STORE_CAP_RUN);
    done(s);
}

static void test_bad_args(void)
{
    store *s = fresh();
    CHECK_INT(reserve(s, "", "a", 1, STORE_NO_CAP, STORE_NO_CAP, T0, NULL),
              STORE_EINVAL);
    CHECK_INT(reserve(s, "r\x1b[31m", "a", 1, STORE_NO_CAP, STORE_NO_CAP,
                      T0, NULL), STORE_EINVAL);
    CHECK(strchr(errbuf, '\x1b') == NULL);
    CHECK_INT(reserve(s, "r", "a b", 1, STORE_NO_CAP, STORE_NO_CAP, T0,
                      NULL), STORE_EINVAL);
    CHECK_INT(reserve(s, "r", "a", -1, STORE_NO_CAP, STORE_NO_CAP, T0,
                      NULL), STORE_EINVAL);
    CHECK_INT(reserve(s, "r", "a", 1, -5, STORE_NO_CAP, T0, NULL),
              STORE_EINVAL);
    CHECK_INT(reserve(s, "r", "a", 1, STORE_NO_CAP, STORE_NO_CAP, 0, NULL),
              STORE_EINVAL);
    char long_name[80];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    CHECK_INT(reserve(s, long_name, "a", 1, STORE_NO_CAP, STORE_NO_CAP, T0,
                      NULL), STORE_EINVAL);
    CHECK_INT(totals(s, STORE_SCOPE_ALL, "").n_open, 0);
    done(s);
}

static void test_list_open_and_scopes(void)
{
    store *s = fresh();
    store_record *v;
    size_t n;
    reserve(s, "r1", "qwen3", USD(0.10), STORE_NO_CAP, STORE_NO_CAP, T0,
            NULL);
    reserve(s, "r2", "flux", USD(0.20), STORE_NO_CAP, STORE_NO_CAP,
            T0 + 5, NULL);
    reserve(s, "r2", "whisper", USD(0.30), STORE_NO_CAP, STORE_NO_CAP,
            T0 + DAY, NULL);
    store_settle(s, 2, USD(0.15), T0 + 9, NULL, errbuf, sizeof errbuf);
    CHECK_INT(store_list_open(s, &v, &n, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(v[0].id, 1);
        CHECK_STR(v[0].run, "r1");
        CHECK_STR(v[0].label, "qwen3");
        CHECK_STR(v[0].day, "2024-05-01");
        CHECK_INT(v[0].pid, getpid());
        CHECK_INT(v[1].id, 3);
        CHECK_STR(v[1].day, "2024-05-02");
    }
    free(v);
    store_record rec;
    CHECK_INT(store_record_get(s, 2, &rec, errbuf, sizeof errbuf),
              STORE_OK);
    CHECK_INT(rec.settled, USD(0.15));
    CHECK_INT(store_record_committed(&rec), USD(0.15));
    done(s);
}

struct seen {
    char keys[8][80];
    int64_t committed[8];
    int n;
};

static int see(void *ud, const char *key, const store_totals *t)
{
    struct seen *sn = ud;
    if (sn->n < 8) {
        snprintf(sn->keys[sn->n], sizeof sn->keys[0], "%s", key);
        sn->committed[sn->n++] = t->committed;
    }
    return 0;
}

static void test_totals_each(void)
{
    store *s = fresh();
    struct seen sn = {0};
    reserve(s, "b-run", "x", USD(0.10), STORE_NO_CAP, STORE_NO_CAP, T0,
            NULL);
    reserve(s, "a-run", "y", USD(0.20), STORE_NO_CAP, STORE_NO_CAP, T0,
            NULL);
    reserve(s, "a-run", "x", USD(0.30), STORE_NO_CAP, STORE_NO_CAP,
            T0 + DAY, NULL);
    CHECK_INT(store_totals_each(s, STORE_SCOPE_RUN, NULL, NULL, see, &sn,
                                errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(sn.n, 2);
    CHECK_STR(sn.keys[0], "a-run");
    CHECK_INT(sn.committed[0], USD(0.50));
    CHECK_STR(sn.keys[1], "b-run");
    memset(&sn, 0, sizeof sn);
    CHECK_INT(store_totals_each(s, STORE_SCOPE_DAY_LABEL, "2024-05-02",
                                NULL, see, &sn, errbuf, sizeof errbuf),
              STORE_OK);
    CHECK_INT(sn.n, 1);
    CHECK_STR(sn.keys[0], "2024-05-02 x");
    memset(&sn, 0, sizeof sn);
    store_totals_each(s, STORE_SCOPE_DAY, "2024-05-01", "2024-05-02", see,
                      &sn, errbuf, sizeof errbuf);
    CHECK_INT(sn.n, 1);
    CHECK_INT(sn.committed[0], USD(0.30));
    done(s);
}

/* ---- runs, journal, state -------------------------------------------- */

static int count_run(void *ud, const store_run *r)
{
    (*(int *)ud)++;
    return strcmp(r->id, "stop") == 0;
}

static void test_runs(void)
{
    store *s = fresh();
    store_run r;
    int n = 0;
    CHECK_INT(store_run_begin(s, "smoke@1", "smoke", T0, errbuf,
                              sizeof errbuf), STORE_OK);
    CHECK_INT(store_run_begin(s, "smoke@1", "smoke", T0 + 9, errbuf,
                              sizeof errbuf), STORE_OK);   /* once */
    CHECK_INT(store_run_begin(s, "chat@2", "chat", T0 + DAY, errbuf,
                              sizeof errbuf), STORE_OK);
    CHECK_INT(store_run_get(s, "smoke@1", &r, errbuf, sizeof errbuf),
              STORE_OK);
    CHECK_STR(r.recipe, "smoke");
    CHECK_INT(r.started, T0);
    CHECK_INT(r.ended, 0);
    CHECK_INT(r.exit_code, -1);
    CHECK_INT(store_run_end(s, "smoke@1", 3, T0 + 60, errbuf,
                            sizeof errbuf), STORE_OK);
    store_run_get(s, "smoke@1", &r, errbuf, sizeof errbuf);
    CHECK_INT(r.exit_code, 3);
    CHECK_INT(r.ended, T0 + 60);
    CHECK_INT(store_runs_each(s, T0 + 1, count_run, &n, errbuf,
                              sizeof errbuf), STORE_OK);
    CHECK_INT(n, 1);
    CHECK_INT(store_run_get(s, "nope", &r, errbuf, sizeof errbuf),
              STORE_ENOTFOUND);
    CHECK_INT(store_run_begin(s, "bad id", "x", T0, errbuf, sizeof errbuf),
              STORE_EINVAL);
    done(s);
}

static int collect_live(void *ud, const store_journal_entry *j)
{
    char *out = ud;
    snprintf(out + strlen(out), 256 - strlen(out), "%lld:%s:%s ",
             (long long)j->id, j->state, j->handle);
    return 0;
}

static void test_journal(void)
{
    store *s = fresh();
    store_journal_entry j;
    int64_t a, b;
    char live[256] = "";
    CHECK_INT(store_journal_add(s, "deployment", "run-1", "theta",
                                "{\"template\":\"llama\"}", T0, &a,
                                errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(store_journal_add(s, "deployment", "run-1", "theta", "{}",
                                T0 + 1, &b, errbuf, sizeof errbuf),
              STORE_OK);
    CHECK_INT(store_journal_get(s, a, &j, errbuf, sizeof errbuf),
              STORE_OK);
    CHECK_STR(j.state, "creating");
    CHECK_STR(j.spec, "{\"template\":\"llama\"}");
    CHECK_STR(j.handle, "");
    free(j.spec);
    CHECK_INT(store_journal_set(s, a, "live", "dep_123", "", T0 + 2,
                                errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(store_journal_set(s, a, "deleting", NULL, "sweep", T0 + 3,
                                errbuf, sizeof errbuf), STORE_OK);
    store_journal_get(s, a, &j, errbuf, sizeof errbuf);
    CHECK_STR(j.handle, "dep_123");     /* kept when not given */
    CHECK_STR(j.note, "sweep");
    free(j.spec);
    CHECK_INT(store_journal_set(s, b, "gone", NULL, NULL, T0 + 4, errbuf,
                                sizeof errbuf), STORE_OK);
    CHECK_INT(store_journal_set(s, b, "live", "x", NULL, T0 + 5, errbuf,
                                sizeof errbuf), STORE_ESTATE);
    CHECK_INT(store_journal_set(s, b, "asleep", NULL, NULL, T0, errbuf,
                                sizeof errbuf), STORE_EINVAL);
    CHECK_INT(store_journal_live(s, NULL, collect_live, live, errbuf,
                                 sizeof errbuf), STORE_OK);
    CHECK_STR(live, "1:deleting:dep_123 ");
    live[0] = '\0';
    store_journal_live(s, "bucket", collect_live, live, errbuf,
                       sizeof errbuf);
    CHECK_STR(live, "");
    CHECK_INT(store_journal_get(s, 77, &j, errbuf, sizeof errbuf),
              STORE_ENOTFOUND);
    done(s);
}

static int collect_key(void *ud, const char *key, size_t len)
{
    char *out = ud;
    snprintf(out + strlen(out), 256 - strlen(out), "%.*s,", (int)len, key);
    return 0;
}

static void test_state(void)
{
    store *s = fresh();
    char *v, keys[256] = "";
    size_t n;
    int won, existed;
    CHECK_INT(store_state_put(s, "ns", "a/1", "{\"x\":1}", 7, T0, errbuf,
                              sizeof errbuf), STORE_OK);
    CHECK_INT(store_state_get(s, "ns", "a/1", &v, &n, errbuf,
                              sizeof errbuf), STORE_OK);
    CHECK_STR(v, "{\"x\":1}");
    free(v);
    CHECK_INT(store_state_get(s, "other", "a/1", &v, &n, errbuf,
                              sizeof errbuf), STORE_ENOTFOUND);
    CHECK_INT(store_state_claim(s, "ns", "step", "1", 1, T0, &won, errbuf,
                                sizeof errbuf), STORE_OK);
    CHECK_INT(won, 1);
    CHECK_INT(store_state_claim(s, "ns", "step", "2", 1, T0, &won, errbuf,
                                sizeof errbuf), STORE_OK);
    CHECK_INT(won, 0);
    store_state_get(s, "ns", "step", &v, &n, errbuf, sizeof errbuf);
    CHECK_STR(v, "1");
    free(v);
    /* prefixes are ranges: % and _ in keys are only characters */
    store_state_put(s, "ns", "a%b", "1", 1, T0, errbuf, sizeof errbuf);
    store_state_put(s, "ns", "a_b", "1", 1, T0, errbuf, sizeof errbuf);
    store_state_put(s, "ns", "ab", "1", 1, T0, errbuf, sizeof errbuf);
    store_state_put(s, "ns", "a/2", "1", 1, T0, errbuf, sizeof errbuf);
    CHECK_INT(store_state_list(s, "ns", "a/", 0, collect_key, keys, errbuf,
                               sizeof errbuf), STORE_OK);
    CHECK_STR(keys, "a/1,a/2,");
    keys[0] = '\0';
    store_state_list(s, "ns", "a_", 0, collect_key, keys, errbuf,
                     sizeof errbuf);
    CHECK_STR(keys, "a_b,");
    keys[0] = '\0';
    store_state_list(s, "ns", "", 2, collect_key, keys, errbuf,
                     sizeof errbuf);
    CHECK_STR(keys, "a%b,a/1,");
    CHECK_INT(store_state_delete(s, "ns", "ab", &existed, errbuf,
                                 sizeof errbuf), STORE_OK);
    CHECK_INT(existed, 1);
    store_state_delete(s, "ns", "ab", &existed, errbuf, sizeof errbuf);
    CHECK_INT(existed, 0);
    /* bounds */
    char big[STORE_VALUE_MAX + 2];
    memset(big, '1', sizeof big);
    CHECK_INT(store_state_put(s, "ns", "big", big, STORE_VALUE_MAX + 1, T0,
                              errbuf, sizeof errbuf), STORE_EINVAL);
    CHECK_INT(store_state_put(s, "ns", "big", big, STORE_VALUE_MAX, T0,
                              errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(store_state_put(s, "ns", "", "1", 1, T0, errbuf,
                              sizeof errbuf), STORE_EINVAL);
    CHECK_INT(store_state_put(s, "ns", "k\n", "1", 1, T0, errbuf,
                              sizeof errbuf), STORE_EINVAL);
    CHECK_INT(store_state_put(s, "bad ns", "k", "1", 1, T0, errbuf,
                              sizeof errbuf), STORE_EINVAL);
    done(s);
}

static void test_info(void)
{
    store *s = fresh();
    store_info in;
    reserve(s, "r", "a", 1, STORE_NO_CAP, STORE_NO_CAP, T0, NULL);
    reserve(s, "r", "a", 1, STORE_NO_CAP, STORE_NO_CAP, T0, NULL);
    store_release(s, 1, T0, NULL, errbuf, sizeof errbuf);
    store_run_begin(s, "r", "x", T0, errbuf, sizeof errbuf);
    CHECK_INT(store_info_get(s, &in, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(in.schema, 2);
    CHECK_INT(in.schema_newest, 2);
    CHECK_INT(in.records, 2);
    CHECK_INT(in.open, 1);
    CHECK_INT(in.runs, 1);
    CHECK(strcmp(store_engine(s), pg_url ? "postgresql" : "sqlite") == 0);
    done(s);
}

/* Reopening migrates nothing; a newer schema is refused, clearly. */
static void test_schema(void)
{
    store *s = fresh(), *t = NULL;
    reserve(s, "r", "a", USD(0.01), STORE_NO_CAP, STORE_NO_CAP, T0, NULL);
    CHECK_INT(store_open(&t, url, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(totals(t, STORE_SCOPE_ALL, "").committed, USD(0.01));
    store_close(t);
    CHECK_INT(store_state_put(s, "x", "y", "1", 1, T0, errbuf,
                              sizeof errbuf), STORE_OK);
    done(s);
}

static void test_bad_urls(void)
{
    store *s = NULL;
    CHECK_INT(store_open(&s, "mysql://u:hunter2@h/db", errbuf,
                         sizeof errbuf), STORE_EINVAL);
    CHECK(strstr(errbuf, "CLAWHOST_STORE must be sqlite:///") != NULL);
    CHECK(strstr(errbuf, "hunter2") == NULL);
    CHECK_INT(store_open(&s, "sqlite://relative.db", errbuf,
                         sizeof errbuf), STORE_EINVAL);
    CHECK_INT(store_open(&s, "sqlite:///nonexistent-dir/x/y.db", errbuf,
                         sizeof errbuf), STORE_EUNAVAILABLE);
    /* nothing listens there: unavailable, and no password in the text */
    CHECK_INT(store_open(&s, "postgresql://u:Pa55-w0rd-x@/db?host=/none"
                         "&connect_timeout=2", errbuf, sizeof errbuf),
              STORE_EUNAVAILABLE);
    CHECK(strstr(errbuf, "Pa55-w0rd-x") == NULL);
    CHECK(s == NULL);
}

/* ---- importing a 0.1 ledger ----------------------------------------- */

static void write_file(const char *name, const char *text, size_t len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", state_dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(text, 1, len, f) != len)
        exit(2);
    fclose(f);
}

static int exists(const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", state_dir, name);
    return access(p, F_OK) == 0;
}

/*
** A 0.1 spend.ledger in the state directory is imported whole on the
** first open: every record with its state and amounts, the totals the
** same as the file's, then renamed; opening again imports nothing.
*/
static void test_import_v1(void)
{
    char text[2048];
    size_t len = v1_sample(text, sizeof text);
    store_record *v;
    size_t n;
    store *s = fresh(), *t = NULL;
    store_close(s);
    write_file("spend.ledger", text, len);
    CHECK_INT(store_open(&t, url, errbuf, sizeof errbuf), STORE_OK);
    CHECK(!exists("spend.ledger") && exists("spend.ledger.imported"));
    store_totals all = totals(t, STORE_SCOPE_ALL, "");
    CHECK_INT(all.committed, USD(0.65));
    CHECK_INT(all.open, USD(0.25));
    CHECK_INT(all.settled, USD(0.40));
    CHECK_INT(all.n_open, 1);
    CHECK_INT(all.n_settled, 1);
    CHECK_INT(all.n_released, 1);
    CHECK_INT(totals(t, STORE_SCOPE_RUN, "run-1").committed, USD(0.65));
    CHECK_INT(totals(t, STORE_SCOPE_DAY, "2024-05-01").committed,
              USD(0.65));
    CHECK_INT(totals(t, STORE_SCOPE_LABEL, "qwen3").n_released, 1);
    CHECK_INT(store_list_open(t, &v, &n, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(v[0].run, "run-1");
        CHECK_INT(v[0].reserved, USD(0.25));
        CHECK_INT(v[0].created, T0);
        CHECK_INT(v[0].pid, 4242);
    }
    free(v);
    store_run r;
    CHECK_INT(store_run_get(t, "run-2", &r, errbuf, sizeof errbuf),
              STORE_OK);
    store_close(t);
    /* the same file again (restored from a backup): not twice */
    write_file("spend.ledger", text, len);
    CHECK_INT(store_open(&t, url, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(totals(t, STORE_SCOPE_ALL, "").committed, USD(0.65));
    CHECK(!exists("spend.ledger"));
    store_close(t);
    remove_imported();
    done(NULL);
}

/* A damaged file is refused, clearly, never half-imported, kept. */
static void test_import_v1_damaged(void)
{
    char text[2048], back[2048];
    size_t len = v1_sample(text, sizeof text);
    store *s = fresh(), *t = NULL;
    store_close(s);
    *(strstr(text, "reserved=0.25") + 11) = '1';
    write_file("spend.ledger", text, len);
    CHECK_INT(store_open(&t, url, errbuf, sizeof errbuf), STORE_ECORRUPT);
    CHECK(strstr(errbuf, "spend.ledger:6: checksum mismatch") != NULL);
    CHECK(t == NULL);
    CHECK(exists("spend.ledger") && !exists("spend.ledger.imported"));
    char p[4200];
    snprintf(p, sizeof p, "%s/spend.ledger", state_dir);
    FILE *f = fopen(p, "rb");
    CHECK(f && fread(back, 1, sizeof back, f) == len &&
          memcmp(back, text, len) == 0);
    if (f)
        fclose(f);
    remove(p);
    CHECK_INT(store_open(&t, url, errbuf, sizeof errbuf), STORE_OK);
    CHECK_INT(totals(t, STORE_SCOPE_ALL, "").n_open, 0);
    done(t);
}

/* ---- many processes ---------------------------------------------------- */

#define RACERS 8

struct report {
    int64_t granted;
};

/* A racer: fixed amounts against a daily cap, reports its grants. */
static void slot_racer(int k, int slots, int wfd)
{
    struct report rep = {0};
    char run[32];
    store *s = NULL;
    if (store_open(&s, url, NULL, 0) != STORE_OK)
        _exit(3);
    snprintf(run, sizeof run, "slot-%d", k);
    for (int i = 0; i < 2 * slots; i++) {
        int st = reserve(s, run, "a", USD(0.01), STORE_NO_CAP,
                         slots * USD(0.01), T0, NULL);
        if (st == STORE_OK)
            rep.granted++;
        else if (st != STORE_EXCEEDED)
            _exit(4);
    }
    store_close(s);
    _exit(write(wfd, &rep, sizeof rep) == (ssize_t)sizeof rep ? 0 : 6);
}

/*
** The race for the last cent, several rounds: with a daily cap of
** exactly `slots` reservations and 8 processes asking for twice that
** each, every round ends with exactly that many, never one more.
*/
static void test_concurrent_last_slot(void)
{
    for (int round = 0; round < 4; round++) {
        store *s = fresh();
        int fds[2], granted = 0, slots = 5 + 7 * round;
        pid_t pids[RACERS];
        struct report rep;
        CHECK(pipe(fds) == 0);
        for (int k = 0; k < RACERS; k++)
            if ((pids[k] = fork()) == 0) {
                close(fds[0]);
                slot_racer(k, slots, fds[1]);
            }
        close(fds[1]);
        for (int k = 0; k < RACERS; k++) {
            CHECK_INT(wait_status(pids[k]), 0);
            if (read(fds[0], &rep, sizeof rep) == (ssize_t)sizeof rep)
                granted += (int)rep.granted;
        }
        close(fds[0]);
        CHECK_INT(granted, slots);
        CHECK_INT(totals(s, STORE_SCOPE_DAY, "2024-05-01").committed,
                  slots * USD(0.01));
        CHECK_INT(totals(s, STORE_SCOPE_ALL, "").n_open, slots);
        done(s);
    }
}

/* Eight runs open a store nobody has opened yet, at the same moment:
** every one gets in (no "locked"), the schema is made once. */
static void test_concurrent_first_open(void)
{
    store *s = fresh();
    pid_t pids[RACERS];
    done(s);                    /* an empty folder / database again */
    if (pg_url)
        pg_reset();
    else if (mkdir(tmp, 0700) != 0)
        exit(2);
    for (int k = 0; k < RACERS; k++)
        if ((pids[k] = fork()) == 0) {
            store *c = NULL;
            char run[16];
            snprintf(run, sizeof run, "first-%d", k);
            if (store_open(&c, url, errbuf, sizeof errbuf) != STORE_OK) {
                fprintf(stderr, "    %s\n", errbuf);
                _exit(3);
            }
            if (reserve(c, run, "a", 1, STORE_NO_CAP, STORE_NO_CAP, T0,
                        NULL) != STORE_OK) {
                fprintf(stderr, "    %s\n", errbuf);
                _exit(4);
            }
            _exit(0);
        }
    for (int k = 0; k < RACERS; k++)
        CHECK_INT(wait_status(pids[k]), 0);
    s = NULL;
    CHECK_INT(store_open(&s, url, errbuf, sizeof errbuf), STORE_OK);
    if (s) {
        CHECK_INT(totals(s, STORE_SCOPE_ALL, "").n_open, RACERS);
        done(s);
    }
}

static int crash_at;

static void die_at(int step, void *ud)
{
    (void)ud;
    if (step == crash_at)
        kill(getpid(), SIGKILL);
}

enum { OP_RESERVE, OP_SETTLE, OP_RELEASE, OP_COUNT };

static int run_op(store *s, int op)
{
    switch (op) {
    case OP_RESERVE:
        return reserve(s, "crash", "a", USD(0.05), USD(2), USD(2), T0,
                       NULL);
    case OP_SETTLE:
        return store_settle(s, 1, USD(0.25), T0, NULL, NULL, 0);
    default:
        return store_release(s, 1, T0, NULL, NULL, 0);
    }
}

/*
** SIGKILL at every step of every update: afterwards the store holds
** exactly the old state or the new one, committed spend never went
** down except by the release itself, and no record is lost.
*/
static void test_crash_every_step(void)
{
    /* base: id 1 open at 0.30, id 2 settled at 0.10: committed 0.40 */
    static const int64_t after[OP_COUNT] = {USD(0.45), USD(0.35),
                                            USD(0.10)};
    for (int op = 0; op < OP_COUNT; op++)
        for (int step = STORE_STEP_BEGUN; step <= STORE_STEP_COMMITTED;
             step++) {
            store *s = fresh();
            reserve(s, "base", "a", USD(0.30), USD(2), USD(2), T0, NULL);
            reserve(s, "base", "a", USD(0.20), USD(2), USD(2), T0, NULL);
            store_settle(s, 2, USD(0.10), T0, NULL, NULL, 0);
            pid_t pid = fork();
            if (pid == 0) {
                store *c = NULL;
                if (store_open(&c, url, NULL, 0) != STORE_OK)
                    _exit(3);
                crash_at = step;
                store_set_fault_hook(c, die_at, NULL);
                run_op(c, op);
                _exit(0);
            }
            CHECK_INT(wait_status(pid), 1000 + SIGKILL);
            store_totals t = totals(s, STORE_SCOPE_ALL, "");
            int64_t want = step == STORE_STEP_COMMITTED ? after[op]
                                                        : USD(0.40);
            CHECK_INT(t.committed, want);
            CHECK_INT(t.n_open + t.n_settled + t.n_released,
                      op == OP_RESERVE && step == STORE_STEP_COMMITTED ?
                      3 : 2);
            CHECK_INT(totals(s, STORE_SCOPE_RUN, "base").committed +
                      totals(s, STORE_SCOPE_RUN, "crash").committed,
                      want);
            /* the store works on: the killed writer held nothing */
            CHECK_INT(reserve(s, "after", "a", USD(0.01), USD(2), USD(2),
                              T0, NULL), STORE_OK);
            done(s);
        }
}

/* Killed at random moments in a loop of updates: committed spend read
** before and after never goes down, every grant is there. */
static void test_crash_random_kill(void)
{
    store *s = fresh();
    int64_t before = 0;
    for (int round = 0; round < 12; round++) {
        int ready[2];
        char b;
        CHECK(pipe(ready) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            store *c = NULL;
            if (store_open(&c, url, NULL, 0) != STORE_OK)
                _exit(3);
            if (write(ready[1], "r", 1) != 1)
                _exit(4);
            for (;;) {
                store_reserve_result r;
                if (reserve(c, "loop", "a", 7, STORE_NO_CAP, STORE_NO_CAP,
                            T0, &r) == STORE_OK && r.id % 2)
                    store_settle(c, r.id, 9, T0, NULL, NULL, 0);
            }
        }
        close(ready[1]);
        CHECK(read(ready[0], &b, 1) == 1);   /* open: now it updates */
        close(ready[0]);
        struct timespec nap = {0, 5000000 + 7000000 * (round % 5)};
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        CHECK_INT(wait_status(pid), 1000 + SIGKILL);
        store_totals t = totals(s, STORE_SCOPE_ALL, "");
        CHECK(t.committed >= before);
        CHECK_INT(t.committed, t.open + t.settled);
        CHECK_INT(t.open, 7 * t.n_open);
        CHECK_INT(t.settled, 9 * t.n_settled);
        before = t.committed;
    }
    CHECK(before > 0);
    done(s);
}

static void run_all(const char *engine)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
#define T(fn) {#fn, fn}
        T(test_reserve_settle_release), T(test_settle_over),
        T(test_run_cap), T(test_daily_cap), T(test_label_cap),
        T(test_group_cap),
        T(test_bad_args),
        T(test_list_open_and_scopes), T(test_totals_each), T(test_runs),
        T(test_journal), T(test_state), T(test_info), T(test_schema),
        T(test_bad_urls), T(test_import_v1), T(test_import_v1_damaged),
        T(test_concurrent_first_open), T(test_concurrent_last_slot),
        T(test_crash_every_step), T(test_crash_random_kill),
#undef T
    };
    char label[96];
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        snprintf(label, sizeof label, "%s %s", engine, tests[i].name);
        unit_run(label, tests[i].fn);
    }
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    signal(SIGPIPE, SIG_IGN);
    /* never the user's own state directory: its ledger would be moved */
    snprintf(state_dir, sizeof state_dir, "%s/store_state.XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(state_dir))
        return 2;
    setenv("CLAWHOST_STATE_DIR", state_dir, 1);
    run_all("sqlite");
    pg_url = getenv("CLAWHOST_TEST_PG_URL");
    if (!pg_url || !*pg_url) {
        fprintf(stderr, "FAIL postgresql: CLAWHOST_TEST_PG_URL is not set;"
                " run this through tests/with_pg.sh (make unit and make "
                "test do)\n");
        unit_failed++;
    } else {
        run_all("postgresql");
    }
    nftw(state_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return unit_done("store");
}
