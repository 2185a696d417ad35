/*
** engine_pg.c -- the store on PostgreSQL: many machines, one budget.
**
** One connection per process (libpq, loaded on first use). Statements
** are prepared once per connection. Transactions run at READ
** COMMITTED: a reservation's cap check is a conditional UPDATE of the
** scope's totals row, which takes that row's lock and, when it had to
** wait for another writer, checks its condition again against the row
** that writer committed, so two machines can never both pass the check
** for the last cent. Locks are always taken in one order (the record,
** then run, day, label totals), so writers cannot deadlock. A lock or a
** statement that waits too long fails as "busy", never hangs a run.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/engine.h"
#include "store/pqfn.h"
#include "store/store.h"

#define INT8OID 20
#define INT2OID 21
#define INT4OID 23

/* The whole of this engine's SQL (engine.h says what each one takes).
** A parameter PostgreSQL would take for an integer (compared with 0) is
** cast to bigint: caps in nano-USD do not fit 32 bits. */
static const char *const sql_text[SQL_COUNT] = {
    [SQL_META_GET] = "SELECT value FROM clawhost_meta WHERE key = $1",
    [SQL_META_SET] = "INSERT INTO clawhost_meta(key, value) VALUES ($1, $2)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [SQL_TOTAL_ENSURE] = "INSERT INTO clawhost_totals(kind, key)"
        " VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [SQL_TOTAL_ADD_CAPPED] = "UPDATE clawhost_totals SET"
        " committed = committed + $1, open = open + $1,"
        " n_open = n_open + 1,"
        " first = CASE WHEN first = 0 THEN $5::bigint ELSE first END,"
        " last = GREATEST(last, $5::bigint)"
        " WHERE kind = $2 AND key = $3"
        " AND ($4::bigint < 0 OR committed + $1 <= $4::bigint)"
        " RETURNING committed",
    [SQL_TOTAL_GET] = "SELECT committed, open, settled, n_open,"
        " n_settled, n_released, first, last FROM clawhost_totals"
        " WHERE kind = $1 AND key = $2",
    [SQL_TOTAL_MOVE] = "UPDATE clawhost_totals SET"
        " committed = committed + $1, open = open + $2,"
        " settled = settled + $3, n_open = n_open + $4,"
        " n_settled = n_settled + $5, n_released = n_released + $6,"
        " first = CASE WHEN $7::bigint > 0 AND (first = 0 OR first > $7)"
        " THEN $7 ELSE first END, last = GREATEST(last, $7::bigint)"
        " WHERE kind = $8 AND key = $9",
    [SQL_SPEND_INSERT] = "INSERT INTO clawhost_spend(run, label, state,"
        " reserved, settled, created, updated, day, pid, host, grp)"
        " VALUES ($1, $2, 'open', $3, 0, $4, $4, $5, $6, $7, $8)"
        " RETURNING id",
    [SQL_SPEND_GET] = "SELECT id, run, label, state, reserved, settled,"
        " created, updated, day, pid, grp FROM clawhost_spend WHERE id = $1",
    [SQL_SPEND_CLOSE] = "UPDATE clawhost_spend SET state = $1,"
        " settled = $2, updated = $3 WHERE id = $4 AND state = 'open'"
        " RETURNING id",
    [SQL_SPEND_OPEN] = "SELECT id, run, label, state, reserved, settled,"
        " created, updated, day, pid, grp FROM clawhost_spend"
        " WHERE state = 'open' ORDER BY id",
    [SQL_SPEND_OF_RUN] = "SELECT id, run, label, state, reserved, settled,"
        " created, updated, day, pid, grp FROM clawhost_spend"
        " WHERE run = $1 ORDER BY id",
    [SQL_SPEND_IMPORT] = "INSERT INTO clawhost_spend(run, label, state,"
        " reserved, settled, created, updated, day, pid, host)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    [SQL_INFO] = "SELECT (SELECT count(*) FROM clawhost_runs),"
        " (SELECT count(*) FROM clawhost_journal WHERE state <> 'gone'),"
        " (SELECT count(*) FROM clawhost_state)",
    [SQL_TOTALS_LIST] = "SELECT key, committed, open, settled, n_open,"
        " n_settled, n_released, first, last FROM clawhost_totals"
        " WHERE kind = $1 AND key >= $2 AND ($3 = '' OR key < $3)"
        " ORDER BY key",
    [SQL_RUN_BEGIN] = "INSERT INTO clawhost_runs(id, recipe, host, pid,"
        " started, day) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (id) DO NOTHING",
    [SQL_RUN_END] = "UPDATE clawhost_runs SET exit_code = $1, ended = $2"
        " WHERE id = $3",
    [SQL_RUN_GET] = "SELECT id, recipe, host, pid, started, ended,"
        " exit_code FROM clawhost_runs WHERE id = $1",
    [SQL_RUNS_SINCE] = "SELECT id, recipe, host, pid, started, ended,"
        " exit_code FROM clawhost_runs WHERE started >= $1"
        " ORDER BY started, id",
    [SQL_JOURNAL_ADD] = "INSERT INTO clawhost_journal(kind, run, provider,"
        " handle, state, spec, note, created, updated, host, pid)"
        " VALUES ($1, $2, $3, '', 'creating', $4, '', $5, $5, $6, $7)"
        " RETURNING id",
    [SQL_JOURNAL_SET] = "UPDATE clawhost_journal SET state = $1,"
        " handle = CASE WHEN $2 = '' THEN handle ELSE $2 END,"
        " note = $3, updated = $4 WHERE id = $5",
    [SQL_JOURNAL_GET] = "SELECT id, kind, run, provider, handle, state,"
        " spec, note, created, updated, host, pid FROM clawhost_journal"
        " WHERE id = $1",
    [SQL_JOURNAL_LIVE] = "SELECT id, kind, run, provider, handle, state,"
        " spec, note, created, updated, host, pid FROM clawhost_journal"
        " WHERE state <> 'gone' AND ($1 = '' OR kind = $1) ORDER BY id",
    [SQL_STATE_GET] = "SELECT value FROM clawhost_state"
        " WHERE ns = $1 AND key = $2",
    [SQL_STATE_PUT] = "INSERT INTO clawhost_state(ns, key, value, updated)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (ns, key) DO UPDATE"
        " SET value = excluded.value, updated = excluded.updated",
    [SQL_STATE_CLAIM] = "INSERT INTO clawhost_state(ns, key, value,"
        " updated) VALUES ($1, $2, $3, $4) ON CONFLICT (ns, key)"
        " DO NOTHING RETURNING key",
    [SQL_STATE_DELETE] = "DELETE FROM clawhost_state"
        " WHERE ns = $1 AND key = $2 RETURNING key",
    [SQL_STATE_LIST] = "SELECT key FROM clawhost_state WHERE ns = $1"
        " AND key >= $2 AND ($3 = '' OR key < $3) ORDER BY key LIMIT $4",
};

/* Keys compare byte by byte whatever the database's locale: COLLATE "C". */
static const char *const migrations[ENGINE_SCHEMA_VERSION] = {
    "CREATE TABLE clawhost_meta (key TEXT COLLATE \"C\" PRIMARY KEY,"
    " value TEXT NOT NULL);"
    "CREATE TABLE clawhost_spend ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " run TEXT COLLATE \"C\" NOT NULL, label TEXT COLLATE \"C\" NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('open', 'settled', 'released')),"
    " reserved BIGINT NOT NULL CHECK (reserved >= 0),"
    " settled BIGINT NOT NULL CHECK (settled >= 0),"
    " created BIGINT NOT NULL, updated BIGINT NOT NULL,"
    " day TEXT COLLATE \"C\" NOT NULL, pid BIGINT NOT NULL,"
    " host TEXT NOT NULL);"
    "CREATE INDEX clawhost_spend_open ON clawhost_spend (id)"
    " WHERE state = 'open';"
    "CREATE INDEX clawhost_spend_run ON clawhost_spend (run);"
    "CREATE TABLE clawhost_totals ("
    " kind TEXT COLLATE \"C\" NOT NULL, key TEXT COLLATE \"C\" NOT NULL,"
    " committed BIGINT NOT NULL DEFAULT 0, open BIGINT NOT NULL DEFAULT 0,"
    " settled BIGINT NOT NULL DEFAULT 0, n_open BIGINT NOT NULL DEFAULT 0,"
    " n_settled BIGINT NOT NULL DEFAULT 0,"
    " n_released BIGINT NOT NULL DEFAULT 0,"
    " first BIGINT NOT NULL DEFAULT 0, last BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (kind, key));"
    "CREATE TABLE clawhost_runs ("
    " id TEXT COLLATE \"C\" PRIMARY KEY, recipe TEXT NOT NULL,"
    " host TEXT NOT NULL, pid BIGINT NOT NULL, started BIGINT NOT NULL,"
    " ended BIGINT NOT NULL DEFAULT 0,"
    " exit_code INTEGER NOT NULL DEFAULT -1, day TEXT NOT NULL);"
    "CREATE INDEX clawhost_runs_started ON clawhost_runs (started);"
    "CREATE TABLE clawhost_journal ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " kind TEXT NOT NULL, run TEXT NOT NULL, provider TEXT NOT NULL,"
    " handle TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
    " ('creating', 'live', 'deleting', 'gone', 'failed')),"
    " spec TEXT NOT NULL, note TEXT NOT NULL,"
    " created BIGINT NOT NULL, updated BIGINT NOT NULL,"
    " host TEXT NOT NULL, pid BIGINT NOT NULL);"
    "CREATE INDEX clawhost_journal_live ON clawhost_journal (id)"
    " WHERE state <> 'gone';"
    "CREATE TABLE clawhost_state ("
    " ns TEXT COLLATE \"C\" NOT NULL, key TEXT COLLATE \"C\" NOT NULL,"
    " value TEXT NOT NULL, updated BIGINT NOT NULL,"
    " PRIMARY KEY (ns, key));",
    /* 2: a reservation may belong to a group with a cap of its own (the
    ** runs a clawhost mcp server starts, docs/budget.md) */
    "ALTER TABLE clawhost_spend ADD COLUMN grp TEXT NOT NULL DEFAULT '';",
};

/* One number all clawhost processes agree on for the migration lock. */
#define MIGRATION_LOCK "7216398421"

/* Bounded waits (docs/store.md): a stuck writer makes a run fail as
** busy; it never hangs it. */
static const char *const session_setup =
    "SET lock_timeout = '10s'; SET statement_timeout = '30s';"
    " SET idle_in_transaction_session_timeout = '60s'";

struct pg {
    PGconn *conn;
    unsigned char prepared[SQL_COUNT];
};

/* A store status for a failed result: SQLSTATE classes (PostgreSQL
** manual, appendix A). */
static int status_of(struct pg *p, const PGresult *r)
{
    const char *code = r ? pqfn.resultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (pqfn.status(p->conn) != CONNECTION_OK)
        return STORE_EUNAVAILABLE;
    if (!code)
        return STORE_EIO;
    if (!strcmp(code, "55P03") || !strcmp(code, "57014") ||
        !strcmp(code, "40001") || !strcmp(code, "40P01"))
        return STORE_EBUSY;
    if (!strncmp(code, "08", 2) || !strncmp(code, "57P", 3))
        return STORE_EUNAVAILABLE;
    if (!strncmp(code, "53", 2))
        return STORE_ENOMEM;
    if (!strncmp(code, "42", 2) || !strncmp(code, "28", 2))
        return STORE_EUNAVAILABLE;      /* no table, no privilege */
    return STORE_EIO;
}

/* libpq's messages end with a newline and may span lines: one line. */
static int fail(struct engine *e, const PGresult *r, char *err,
                size_t errlen)
{
    struct pg *p = e->db;
    const char *m = r ? pqfn.resultErrorMessage(r) : "";
    char *nl;
    if (!m || !*m)
        m = pqfn.errorMessage(p->conn);
    snprintf(err, errlen, "%s: %s", e->where, m && *m ? m : "failed");
    while ((nl = strchr(err, '\n')) != NULL)
        *nl = nl[1] ? ' ' : '\0';
    return status_of(p, r);
}

static int prepare(struct engine *e, int sql, int narg, int *st,
                   char *err, size_t errlen)
{
    struct pg *p = e->db;
    char name[16];
    if (p->prepared[sql])
        return 0;
    snprintf(name, sizeof name, "clawhost%d", sql);
    PGresult *r = pqfn.prepare(p->conn, name, sql_text[sql], narg, NULL);
    int ok = r && pqfn.resultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        *st = fail(e, r, err, errlen);
    pqfn.clear(r);
    p->prepared[sql] = (unsigned char)ok;
    return ok ? 0 : -1;
}

#define MAX_ARGS 12
#define MAX_COLS 16

static void read_row(const PGresult *r, int row, struct engine_val *col,
                     int ncol)
{
    for (int i = 0; i < ncol; i++) {
        Oid t = pqfn.ftype(r, i);
        col[i].s = pqfn.getvalue(r, row, i);
        col[i].n = (size_t)pqfn.getlength(r, row, i);
        col[i].type = pqfn.getisnull(r, row, i) ? EV_NULL :
                      t == INT8OID || t == INT4OID || t == INT2OID ?
                      EV_INT : EV_TEXT;
        col[i].i = col[i].type == EV_INT ? strtoll(col[i].s, NULL, 10) : 0;
    }
}

static long deliver(const PGresult *r, engine_row_fn fn, void *ud)
{
    struct engine_val col[MAX_COLS];
    long rows = pqfn.ntuples(r);
    int ncol = pqfn.nfields(r);
    if (ncol > MAX_COLS)
        ncol = MAX_COLS;
    for (long i = 0; fn && i < rows; i++) {
        read_row(r, (int)i, col, ncol);
        if (fn(ud, col, ncol))
            break;
    }
    return rows;
}

static long pg_exec(struct engine *e, int sql, const struct engine_val *arg,
                    int narg, engine_row_fn fn, void *ud, int *st,
                    char *err, size_t errlen)
{
    struct pg *p = e->db;
    char num[MAX_ARGS][24], name[16];
    const char *val[MAX_ARGS];
    int len[MAX_ARGS], fmt[MAX_ARGS];
    if (narg > MAX_ARGS || prepare(e, sql, narg, st, err, errlen) != 0)
        return narg > MAX_ARGS ? (*st = STORE_EINVAL, -1) : -1;
    for (int i = 0; i < narg; i++) {
        if (arg[i].type == EV_INT)
            snprintf(num[i], sizeof num[i], "%lld", (long long)arg[i].i);
        val[i] = arg[i].type == EV_INT ? num[i] :
                 arg[i].type == EV_TEXT ? arg[i].s : NULL;
        len[i] = arg[i].type == EV_TEXT ? (int)arg[i].n : 0;
        fmt[i] = arg[i].type == EV_TEXT;
    }
    snprintf(name, sizeof name, "clawhost%d", sql);
    /* Text goes in binary format, which for PostgreSQL's text type is
    ** the bytes themselves: libpq then honours the length instead of
    ** reading up to a NUL that a value need not have. */
    PGresult *r = pqfn.execPrepared(p->conn, name, narg, val, len, fmt, 0);
    ExecStatusType rs = r ? pqfn.resultStatus(r) : PGRES_FATAL_ERROR;
    long rows = -1;
    if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK)
        rows = deliver(r, fn, ud);
    else
        *st = fail(e, r, err, errlen);
    pqfn.clear(r);
    return rows;
}

static int run_plain(struct engine *e, const char *text, char *err,
                     size_t errlen)
{
    struct pg *p = e->db;
    PGresult *r = pqfn.exec(p->conn, text);
    ExecStatusType rs = r ? pqfn.resultStatus(r) : PGRES_FATAL_ERROR;
    int st = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK ?
             STORE_OK : fail(e, r, err, errlen);
    pqfn.clear(r);
    return st;
}

static int pg_begin(struct engine *e, char *err, size_t errlen)
{
    return run_plain(e, "BEGIN", err, errlen);
}

static int pg_commit(struct engine *e, char *err, size_t errlen)
{
    return run_plain(e, "COMMIT", err, errlen);
}

static void pg_rollback(struct engine *e)
{
    struct pg *p = e->db;
    if (pqfn.transactionStatus(p->conn) != PQTRANS_IDLE) {
        PGresult *r = pqfn.exec(p->conn, "ROLLBACK");
        pqfn.clear(r);
    }
}

static int got_int(void *ud, const struct engine_val *col, int ncol)
{
    if (ncol > 0)
        *(int64_t *)ud = col[0].type == EV_NULL ? 0 :
                         strtoll(col[0].s, NULL, 10);
    return 1;
}

static int schema_version(struct engine *e, int *version, char *err,
                          size_t errlen)
{
    struct pg *p = e->db;
    int64_t v = 0;
    int st = STORE_OK;
    PGresult *r = pqfn.exec(p->conn, "SELECT to_regclass('clawhost_meta')"
                            " IS NOT NULL");
    int ok = r && pqfn.resultStatus(r) == PGRES_TUPLES_OK;
    int exists = ok && pqfn.ntuples(r) == 1 &&
                 pqfn.getvalue(r, 0, 0)[0] == 't';
    if (!ok)
        st = fail(e, r, err, errlen);
    pqfn.clear(r);
    if (exists) {
        struct engine_val k = EV_S("schema_version");
        if (pg_exec(e, SQL_META_GET, &k, 1, got_int, &v, &st, err,
                    errlen) < 0)
            return st;
    }
    *version = (int)v;
    return st;
}

static int set_version(struct engine *e, int v, char *err, size_t errlen)
{
    char num[16];
    int st = STORE_OK;
    snprintf(num, sizeof num, "%d", v);
    struct engine_val a[2] = {EV_S("schema_version"), EV_S(num)};
    return pg_exec(e, SQL_META_SET, a, 2, NULL, NULL, &st, err,
                   errlen) < 0 ? st : STORE_OK;
}

/* An advisory lock held to the end of the transaction, so several
** machines that open a new database at once migrate it once. */
static int pg_migrate(struct engine *e, int *from, int *to, char *err,
                      size_t errlen)
{
    int v = 0, st = pg_begin(e, err, errlen);
    if (st == STORE_OK)
        st = run_plain(e, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK
                       ")", err, errlen);
    if (st == STORE_OK)
        st = schema_version(e, &v, err, errlen);
    *from = *to = v;
    if (st == STORE_OK && v > ENGINE_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s has schema version %d; this clawhost "
                 "knows %d at most: update clawhost", e->where, v,
                 ENGINE_SCHEMA_VERSION);
        st = STORE_ESCHEMA;
    }
    for (; st == STORE_OK && v < ENGINE_SCHEMA_VERSION; v++)
        st = run_plain(e, migrations[v], err, errlen);
    if (st == STORE_OK && *from != v)
        st = set_version(e, v, err, errlen);
    if (st == STORE_OK)
        st = pg_commit(e, err, errlen);
    if (st != STORE_OK)
        pg_rollback(e);
    *to = st == STORE_OK ? v : *from;
    return st;
}

static void pg_close(struct engine *e)
{
    struct pg *p = e->db;
    if (!p)
        return;
    if (p->conn)
        pqfn.finish(p->conn);
    free(p);
    e->db = NULL;
}

static const struct engine_ops pg_ops = {
    "postgresql", pg_exec, pg_begin, pg_commit, pg_rollback, pg_migrate,
    pg_close
};

/* Notices ("relation already exists, skipping") are not for the user. */
static void quiet(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
}

/* postgresql://user@host:port/db, never the password or options. */
static void describe(struct engine *e)
{
    struct pg *p = e->db;
    const char *h = pqfn.host(p->conn), *port = pqfn.port(p->conn);
    const char *db = pqfn.db(p->conn), *user = pqfn.user(p->conn);
    snprintf(e->where, sizeof e->where, "postgresql://%s@%s%s%s/%s",
             user ? user : "", h && h[0] == '/' ? "" : h ? h : "",
             port && *port && !(h && h[0] == '/') ? ":" : "",
             port && !(h && h[0] == '/') ? port : "", db ? db : "");
    if (h && h[0] == '/')       /* a Unix socket folder */
        snprintf(e->where + strlen(e->where),
                 sizeof e->where - strlen(e->where), " (socket in %s)", h);
}

/*
** libpq reads the URL (and the PG* variables and sslmode as its manual
** says); application_name shows clawhost in pg_stat_activity.
*/
int engine_pg_open(struct engine *e, const char *conninfo, char *err,
                   size_t errlen)
{
    static const char *const keys[] = {"dbname", "application_name",
                                       "connect_timeout", NULL};
    const char *vals[] = {conninfo, "clawhost", "10", NULL};
    struct pg *p = calloc(1, sizeof *p);
    e->ops = &pg_ops;
    e->db = p;
    snprintf(e->where, sizeof e->where, "postgresql");
    if (!p)
        return snprintf(err, errlen, "out of memory"), STORE_ENOMEM;
    if (pqfn_load(err, errlen) != 0)
        return STORE_EUNAVAILABLE;
    p->conn = pqfn.connectdbParams(keys, vals, 1);
    if (!p->conn)
        return snprintf(err, errlen, "out of memory"), STORE_ENOMEM;
    if (pqfn.status(p->conn) != CONNECTION_OK)
        return fail(e, NULL, err, errlen);
    pqfn.setNoticeProcessor(p->conn, quiet, NULL);
    describe(e);
    return run_plain(e, session_setup, err, errlen);
}
