/*
** store_bench.c -- reserve+settle latency against history, and the rate
** of concurrent writers, on the store's two engines (make bench).
**
**   store_bench URL fill N           history of N settled records
**   store_bench URL pairs COUNT      COUNT reserve+settle pairs, timed
**                                    one by one: median and p95 in ms
**   store_bench URL writers P SECS   P processes doing pairs for SECS:
**                                    pairs per second in all
**
** The history is written straight into the tables with one SQL
** statement per table (and the totals made from it), as a year of
** runs would have left it: ten records a run, five services, one
** record every 30 seconds. Only the bench does this; clawhost never
** writes records but through store.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/pqfn.h"
#include "store/sqlitefn.h"
#include "store/store.h"

static const char *const fill_sqlite =
    "BEGIN;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
    " WHERE i < %ld)"
    " INSERT INTO clawhost_spend(run, label, state, reserved, settled,"
    " created, updated, day, pid, host)"
    " SELECT 'hist-' || (i / 10), 'svc' || (i %% 5), 'settled', 1000000,"
    " 900000, 1700000000 + i * 30, 1700000000 + i * 30,"
    " date(1700000000 + i * 30, 'unixepoch'), 1, 'bench' FROM n;"
    "%s COMMIT;";

static const char *const fill_pg =
    "BEGIN;"
    "INSERT INTO clawhost_spend(run, label, state, reserved, settled,"
    " created, updated, day, pid, host)"
    " SELECT 'hist-' || (i / 10), 'svc' || (i %% 5), 'settled', 1000000,"
    " 900000, 1700000000 + i * 30, 1700000000 + i * 30,"
    " to_char(to_timestamp(1700000000 + i * 30) AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD'), 1, 'bench' FROM generate_series(1, %ld) AS i;"
    "%s COMMIT;";

/* The totals and runs the records imply, the same SQL on both. */
static const char *const totals_sql =
    "INSERT INTO clawhost_totals(kind, key, committed, settled,"
    " n_settled, first, last)"
    " SELECT 'run', run, sum(settled), sum(settled), count(*),"
    " min(created), max(created) FROM clawhost_spend WHERE true GROUP BY run"
    " ON CONFLICT (kind, key) DO UPDATE SET committed = excluded.committed,"
    " settled = excluded.settled, n_settled = excluded.n_settled,"
    " first = excluded.first, last = excluded.last;"
    "INSERT INTO clawhost_totals(kind, key, committed, settled,"
    " n_settled, first, last)"
    " SELECT 'day', day, sum(settled), sum(settled), count(*),"
    " min(created), max(created) FROM clawhost_spend WHERE true GROUP BY day"
    " ON CONFLICT (kind, key) DO UPDATE SET committed = excluded.committed,"
    " settled = excluded.settled, n_settled = excluded.n_settled,"
    " first = excluded.first, last = excluded.last;"
    "INSERT INTO clawhost_totals(kind, key, committed, settled,"
    " n_settled, first, last)"
    " SELECT 'label', label, sum(settled), sum(settled), count(*),"
    " min(created), max(created) FROM clawhost_spend WHERE true GROUP BY label"
    " ON CONFLICT (kind, key) DO UPDATE SET committed = excluded.committed,"
    " settled = excluded.settled, n_settled = excluded.n_settled,"
    " first = excluded.first, last = excluded.last;"
    "INSERT INTO clawhost_totals(kind, key, committed, settled,"
    " n_settled, first, last)"
    " SELECT 'daylabel', day || ' ' || label, sum(settled), sum(settled),"
    " count(*), min(created), max(created) FROM clawhost_spend"
    " WHERE true GROUP BY day, label"
    " ON CONFLICT (kind, key) DO UPDATE SET committed = excluded.committed,"
    " settled = excluded.settled, n_settled = excluded.n_settled,"
    " first = excluded.first, last = excluded.last;"
    "INSERT INTO clawhost_totals(kind, key, committed, settled,"
    " n_settled, first, last)"
    " SELECT 'all', '', sum(settled), sum(settled), count(*),"
    " min(created), max(created) FROM clawhost_spend WHERE true"
    " ON CONFLICT (kind, key) DO UPDATE SET committed = excluded.committed,"
    " settled = excluded.settled, n_settled = excluded.n_settled,"
    " first = excluded.first, last = excluded.last;"
    "INSERT INTO clawhost_runs(id, recipe, host, pid, started, ended,"
    " exit_code, day) SELECT run, 'hist', 'bench', 1, min(created),"
    " max(created), 0, min(day) FROM clawhost_spend WHERE true GROUP BY run"
    " ON CONFLICT (id) DO NOTHING;";

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, msg);
    exit(1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void fill(const char *url, long n)
{
    char err[512], *sql;
    store *s;
    if (store_open(&s, url, err, sizeof err) != STORE_OK)
        die("open", err);       /* the schema is made here */
    store_close(s);
    int pg = strncmp(url, "postgres", 8) == 0;
    size_t len = strlen(fill_pg) + strlen(totals_sql) + 64;
    if (!(sql = malloc(len)))
        die("fill", "out of memory");
    snprintf(sql, len, pg ? fill_pg : fill_sqlite, n, totals_sql);
    if (pg) {
        static const char *const k[] = {"dbname", NULL};
        const char *v[] = {url, NULL};
        if (pqfn_load(err, sizeof err) != 0)
            die("libpq", err);
        PGconn *c = pqfn.connectdbParams(k, v, 1);
        PGresult *r = pqfn.exec(c, sql);
        if (pqfn.resultStatus(r) != PGRES_COMMAND_OK)
            die("fill", pqfn.errorMessage(c));
        pqfn.clear(r);
        /* what autovacuum would do soon after a bulk load: not timed */
        pqfn.clear(pqfn.exec(c, "VACUUM ANALYZE"));
        pqfn.finish(c);
    } else {
        sqlite3 *db;
        char *e = NULL;
        if (sqlitefn_load(err, sizeof err) != 0)
            die("libsqlite3", err);
        if (sqlite3_open_v2(url + 9, &db, SQLITE_OPEN_READWRITE, NULL) !=
            SQLITE_OK ||
            sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK)
            die("fill", e ? e : sqlite3_errmsg(db));
        sqlite3_close(db);
    }
    free(sql);
}

/* One reserve and its settle, as a paid call makes them. */
static int pair(store *s, const char *run, char *err, size_t errlen)
{
    store_reserve_req q = {run, "bench", 1000000, INT64_C(1000) *
                           1000000000, INT64_C(100000) * 1000000000,
                           store_now(), STORE_NO_CAP, NULL, STORE_NO_CAP};
    store_reserve_result r;
    if (store_reserve(s, &q, &r, err, errlen) != STORE_OK ||
        store_settle(s, r.id, 900000, store_now(), NULL, err, errlen) !=
        STORE_OK)
        return -1;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void pairs(const char *url, long count)
{
    char err[512], run[64];
    double *t = calloc((size_t)count, sizeof *t);
    store *s;
    if (!t || count < 1)
        die("pairs", "bad count");
    if (store_open(&s, url, err, sizeof err) != STORE_OK)
        die("open", err);
    snprintf(run, sizeof run, "bench-%ld-%ld", (long)getpid(),
             (long)time(NULL));
    for (long i = 0; i < count; i++) {
        double t0 = now_s();
        if (pair(s, run, err, sizeof err) != 0)
            die("pair", err);
        t[i] = (now_s() - t0) * 1000.0;
    }
    qsort(t, (size_t)count, sizeof *t, cmp);
    printf("median %.3f ms  p95 %.3f ms  (%ld pairs)\n", t[count / 2],
           t[(count * 95) / 100], count);
    store_close(s);
    free(t);
}

/* Each writer reports its count on the pipe. */
static void writers(const char *url, int procs, double secs)
{
    int fds[2];
    long total = 0;
    if (pipe(fds) != 0)
        die("pipe", "failed");
    for (int k = 0; k < procs; k++) {
        if (fork() != 0)
            continue;
        char err[512], run[64];
        long n = 0;
        store *s;
        if (store_open(&s, url, err, sizeof err) != STORE_OK)
            die("open", err);
        snprintf(run, sizeof run, "writer-%d-%ld", k, (long)getpid());
        for (double end = now_s() + secs; now_s() < end; n++)
            if (pair(s, run, err, sizeof err) != 0)
                die("pair", err);
        store_close(s);
        _exit(write(fds[1], &n, sizeof n) == (ssize_t)sizeof n ? 0 : 1);
    }
    close(fds[1]);
    for (int k = 0; k < procs; k++) {
        long n = 0;
        if (read(fds[0], &n, sizeof n) == (ssize_t)sizeof n)
            total += n;
        wait(NULL);
    }
    printf("%.0f pairs/s  (%d writers, %ld pairs in %.1f s)\n",
           (double)total / secs, procs, total, secs);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[2], "fill") == 0)
        fill(argv[1], atol(argv[3]));
    else if (argc >= 4 && strcmp(argv[2], "pairs") == 0)
        pairs(argv[1], atol(argv[3]));
    else if (argc >= 5 && strcmp(argv[2], "writers") == 0)
        writers(argv[1], atoi(argv[3]), atof(argv[4]));
    else
        die("usage", "store_bench URL fill N | pairs COUNT | writers P "
            "SECS");
    return 0;
}
