/*
** engine_sqlite.c -- the store on SQLite: the default, one file in the
** state directory, no daemon.
**
** WAL, so readers never wait for the writer; synchronous=FULL, because
** this file holds money and a commit must survive a power loss; every
** write transaction is BEGIN IMMEDIATE, which takes the write lock
** before the first read, so a cap check and the record it allows can
** never interleave with another writer's; a busy timeout, so a second
** process waits for the first instead of failing. Statements are
** prepared once per connection and kept.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/engine.h"
#include "store/sqlitefn.h"
#include "store/store.h"

/* The whole of this engine's SQL (engine.h says what each one takes). */
static const char *const sql_text[SQL_COUNT] = {
    [SQL_META_GET] = "SELECT value FROM clawhost_meta WHERE key = ?1",
    [SQL_META_SET] = "INSERT INTO clawhost_meta(key, value) VALUES (?1, ?2)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [SQL_TOTAL_ENSURE] = "INSERT INTO clawhost_totals(kind, key)"
        " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [SQL_TOTAL_ADD_CAPPED] = "UPDATE clawhost_totals SET"
        " committed = committed + ?1, open = open + ?1,"
        " n_open = n_open + 1,"
        " first = CASE WHEN first = 0 THEN ?5 ELSE first END,"
        " last = CASE WHEN ?5 > last THEN ?5 ELSE last END"
        " WHERE kind = ?2 AND key = ?3"
        " AND (?4 < 0 OR committed + ?1 <= ?4) RETURNING committed",
    [SQL_TOTAL_GET] = "SELECT committed, open, settled, n_open,"
        " n_settled, n_released, first, last FROM clawhost_totals"
        " WHERE kind = ?1 AND key = ?2",
    [SQL_TOTAL_MOVE] = "UPDATE clawhost_totals SET"
        " committed = committed + ?1, open = open + ?2,"
        " settled = settled + ?3, n_open = n_open + ?4,"
        " n_settled = n_settled + ?5, n_released = n_released + ?6,"
        " first = CASE WHEN ?7 > 0 AND (first = 0 OR first > ?7)"
        " THEN ?7 ELSE first END,"
        " last = CASE WHEN ?7 > last THEN ?7 ELSE last END"
        " WHERE kind = ?8 AND key = ?9",
    [SQL_SPEND_INSERT] = "INSERT INTO clawhost_spend(run, label, state,"
        " reserved, settled, created, updated, day, pid, host, grp)"
        " VALUES (?1, ?2, 'open', ?3, 0, ?4, ?4, ?5, ?6, ?7, ?8)"
        " RETURNING id",
    [SQL_SPEND_GET] = "SELECT id, run, label, state, reserved, settled,"
        " created, updated, day, pid, grp FROM clawhost_spend WHERE id = ?1",
    [SQL_SPEND_CLOSE] = "UPDATE clawhost_spend SET state = ?1,"
        " settled = ?2, updated = ?3 WHERE id = ?4 AND state = 'open'"
        " RETURNING id",
    [SQL_SPEND_OPEN] = "SELECT id, run, label, state, reserved, settled,"
        " created, updated, day, pid, grp FROM clawhost_spend"
        " WHERE state = 'open' ORDER BY id",
    [SQL_SPEND_OF_RUN] = "SELECT id, run, label, state, reserved, settled,"
        " created, updated, day, pid, grp FROM clawhost_spend"
        " WHERE run = ?1 ORDER BY id",
    [SQL_SPEND_IMPORT] = "INSERT INTO clawhost_spend(run, label, state,"
        " reserved, settled, created, updated, day, pid, host)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
    [SQL_INFO] = "SELECT (SELECT count(*) FROM clawhost_runs),"
        " (SELECT count(*) FROM clawhost_journal WHERE state <> 'gone'),"
        " (SELECT count(*) FROM clawhost_state)",
    [SQL_TOTALS_LIST] = "SELECT key, committed, open, settled, n_open,"
        " n_settled, n_released, first, last FROM clawhost_totals"
        " WHERE kind = ?1 AND key >= ?2 AND (?3 = '' OR key < ?3)"
        " ORDER BY key",
    [SQL_RUN_BEGIN] = "INSERT INTO clawhost_runs(id, recipe, host, pid,"
        " started, day) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(id) DO NOTHING",
    [SQL_RUN_END] = "UPDATE clawhost_runs SET exit_code = ?1, ended = ?2"
        " WHERE id = ?3",
    [SQL_RUN_GET] = "SELECT id, recipe, host, pid, started, ended,"
        " exit_code FROM clawhost_runs WHERE id = ?1",
    [SQL_RUNS_SINCE] = "SELECT id, recipe, host, pid, started, ended,"
        " exit_code FROM clawhost_runs WHERE started >= ?1"
        " ORDER BY started, id",
    [SQL_JOURNAL_ADD] = "INSERT INTO clawhost_journal(kind, run, provider,"
        " handle, state, spec, note, created, updated, host, pid)"
        " VALUES (?1, ?2, ?3, '', 'creating', ?4, '', ?5, ?5, ?6, ?7)"
        " RETURNING id",
    [SQL_JOURNAL_SET] = "UPDATE clawhost_journal SET state = ?1,"
        " handle = CASE WHEN ?2 = '' THEN handle ELSE ?2 END,"
        " note = ?3, updated = ?4 WHERE id = ?5",
    [SQL_JOURNAL_GET] = "SELECT id, kind, run, provider, handle, state,"
        " spec, note, created, updated, host, pid FROM clawhost_journal"
        " WHERE id = ?1",
    [SQL_JOURNAL_LIVE] = "SELECT id, kind, run, provider, handle, state,"
        " spec, note, created, updated, host, pid FROM clawhost_journal"
        " WHERE state <> 'gone' AND (?1 = '' OR kind = ?1) ORDER BY id",
    [SQL_STATE_GET] = "SELECT value FROM clawhost_state"
        " WHERE ns = ?1 AND key = ?2",
    [SQL_STATE_PUT] = "INSERT INTO clawhost_state(ns, key, value, updated)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(ns, key) DO UPDATE"
        " SET value = excluded.value, updated = excluded.updated",
    [SQL_STATE_CLAIM] = "INSERT INTO clawhost_state(ns, key, value,"
        " updated) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(ns, key)"
        " DO NOTHING RETURNING key",
    [SQL_STATE_DELETE] = "DELETE FROM clawhost_state"
        " WHERE ns = ?1 AND key = ?2 RETURNING key",
    [SQL_STATE_LIST] = "SELECT key FROM clawhost_state WHERE ns = ?1"
        " AND key >= ?2 AND (?3 = '' OR key < ?3) ORDER BY key LIMIT ?4",
};

/* Schema versions, oldest first: migrations[v - 1] goes from v-1 to v. */
static const char *const migrations[ENGINE_SCHEMA_VERSION] = {
    "CREATE TABLE clawhost_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE clawhost_spend ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " run TEXT NOT NULL, label TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('open', 'settled', 'released')),"
    " reserved INTEGER NOT NULL CHECK (reserved >= 0),"
    " settled INTEGER NOT NULL CHECK (settled >= 0),"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " day TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL);"
    "CREATE INDEX clawhost_spend_open ON clawhost_spend (id)"
    " WHERE state = 'open';"
    "CREATE INDEX clawhost_spend_run ON clawhost_spend (run);"
    "CREATE TABLE clawhost_totals ("
    " kind TEXT NOT NULL, key TEXT NOT NULL,"
    " committed INTEGER NOT NULL DEFAULT 0, open INTEGER NOT NULL DEFAULT 0,"
    " settled INTEGER NOT NULL DEFAULT 0, n_open INTEGER NOT NULL DEFAULT 0,"
    " n_settled INTEGER NOT NULL DEFAULT 0,"
    " n_released INTEGER NOT NULL DEFAULT 0,"
    " first INTEGER NOT NULL DEFAULT 0, last INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (kind, key));"
    "CREATE TABLE clawhost_runs ("
    " id TEXT PRIMARY KEY, recipe TEXT NOT NULL, host TEXT NOT NULL,"
    " pid INTEGER NOT NULL, started INTEGER NOT NULL,"
    " ended INTEGER NOT NULL DEFAULT 0,"
    " exit_code INTEGER NOT NULL DEFAULT -1, day TEXT NOT NULL);"
    "CREATE INDEX clawhost_runs_started ON clawhost_runs (started);"
    "CREATE TABLE clawhost_journal ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL, run TEXT NOT NULL, provider TEXT NOT NULL,"
    " handle TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
    " ('creating', 'live', 'deleting', 'gone', 'failed')),"
    " spec TEXT NOT NULL, note TEXT NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " host TEXT NOT NULL, pid INTEGER NOT NULL);"
    "CREATE INDEX clawhost_journal_live ON clawhost_journal (id)"
    " WHERE state <> 'gone';"
    "CREATE TABLE clawhost_state ("
    " ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " updated INTEGER NOT NULL, PRIMARY KEY (ns, key));",
    /* 2: a reservation may belong to a group with a cap of its own (the
    ** runs a clawhost mcp server starts, docs/budget.md) */
    "ALTER TABLE clawhost_spend ADD COLUMN grp TEXT NOT NULL DEFAULT '';",
};

struct lite {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQL_COUNT];
};

/* A store status for an SQLite result code. */
static int status_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return STORE_EBUSY;
    case SQLITE_NOMEM: return STORE_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return STORE_ECORRUPT;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY: return STORE_EUNAVAILABLE;
    default: return STORE_EIO;
    }
}

static int fail(struct engine *e, int rc, char *err, size_t errlen)
{
    struct lite *l = e->db;
    snprintf(err, errlen, "%s: %s", e->where,
             l && l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    return status_of(rc);
}

static int bind(sqlite3_stmt *st, const struct engine_val *arg, int narg)
{
    int rc = SQLITE_OK;
    for (int i = 0; i < narg && rc == SQLITE_OK; i++) {
        if (arg[i].type == EV_INT)
            rc = sqlite3_bind_int64(st, i + 1, arg[i].i);
        else if (arg[i].type == EV_TEXT)
            rc = sqlite3_bind_text(st, i + 1, arg[i].s, (int)arg[i].n,
                                   SQLITE_STATIC);
        else
            rc = sqlite3_bind_null(st, i + 1);
    }
    return rc;
}

#define MAX_COLS 16

static void read_row(sqlite3_stmt *st, struct engine_val *col, int ncol)
{
    for (int i = 0; i < ncol; i++) {
        int t = sqlite3_column_type(st, i);
        col[i].type = t == SQLITE_NULL ? EV_NULL :
                      t == SQLITE_INTEGER ? EV_INT : EV_TEXT;
        col[i].i = sqlite3_column_int64(st, i);
        col[i].s = (const char *)sqlite3_column_text(st, i);
        col[i].n = (size_t)sqlite3_column_bytes(st, i);
        if (!col[i].s)
            col[i].s = "";
    }
}

static sqlite3_stmt *prepared(struct engine *e, int sql, int *rc)
{
    struct lite *l = e->db;
    if (!l->stmt[sql])
        *rc = sqlite3_prepare_v3(l->db, sql_text[sql], -1,
                                 SQLITE_PREPARE_PERSISTENT, &l->stmt[sql],
                                 NULL);
    return l->stmt[sql];
}

static long lite_exec(struct engine *e, int sql,
                      const struct engine_val *arg, int narg,
                      engine_row_fn fn, void *ud, int *st, char *err,
                      size_t errlen)
{
    struct engine_val col[MAX_COLS];
    int rc = SQLITE_OK, stop = 0;
    long rows = 0;
    sqlite3_stmt *s = prepared(e, sql, &rc);
    if (s && (rc = bind(s, arg, narg)) == SQLITE_OK) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int n = sqlite3_column_count(s);
            rows++;
            if (stop || !fn)
                continue;
            read_row(s, col, n < MAX_COLS ? n : MAX_COLS);
            stop = fn(ud, col, n < MAX_COLS ? n : MAX_COLS);
        }
    }
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    if (rc == SQLITE_DONE)
        return rows;
    *st = fail(e, rc, err, errlen);
    return -1;
}

static int run_plain(struct engine *e, const char *text, char *err,
                     size_t errlen)
{
    struct lite *l = e->db;
    int rc = sqlite3_exec(l->db, text, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : fail(e, rc, err, errlen);
}

static int lite_begin(struct engine *e, char *err, size_t errlen)
{
    return run_plain(e, "BEGIN IMMEDIATE", err, errlen);
}

static int lite_commit(struct engine *e, char *err, size_t errlen)
{
    return run_plain(e, "COMMIT", err, errlen);
}

static void lite_rollback(struct engine *e)
{
    struct lite *l = e->db;
    if (!sqlite3_get_autocommit(l->db))
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

static int got_int(void *ud, const struct engine_val *col, int ncol)
{
    if (ncol > 0)
        *(int64_t *)ud = col[0].type == EV_TEXT ? atoll(col[0].s) :
                                                  col[0].i;
    return 1;
}

/* The schema version in the file: 0 for a new, empty database. */
static int schema_version(struct engine *e, int *version, char *err,
                          size_t errlen)
{
    struct lite *l = e->db;
    int64_t v = 0;
    int st = STORE_OK;
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(l->db, "SELECT 1 FROM sqlite_master WHERE"
                                " name = 'clawhost_meta'", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return fail(e, rc, err, errlen);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW) {
        struct engine_val k = EV_S("schema_version");
        if (lite_exec(e, SQL_META_GET, &k, 1, got_int, &v, &st, err,
                      errlen) < 0)
            return st;
    } else if (rc != SQLITE_DONE) {
        return fail(e, rc, err, errlen);
    }
    *version = (int)v;
    return STORE_OK;
}

static int set_version(struct engine *e, int v, char *err, size_t errlen)
{
    char num[16];
    int st = STORE_OK;
    snprintf(num, sizeof num, "%d", v);
    struct engine_val a[2] = {EV_S("schema_version"), EV_S(num)};
    return lite_exec(e, SQL_META_SET, a, 2, NULL, NULL, &st, err,
                     errlen) < 0 ? st : STORE_OK;
}

/* Under the write lock, so two processes opening a new file at once
** migrate it once. */
static int lite_migrate(struct engine *e, int *from, int *to, char *err,
                        size_t errlen)
{
    int v = 0, st = lite_begin(e, err, errlen);
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
        st = lite_commit(e, err, errlen);
    if (st != STORE_OK)
        lite_rollback(e);
    *to = st == STORE_OK ? v : *from;
    return st;
}

static void lite_close(struct engine *e)
{
    struct lite *l = e->db;
    if (!l)
        return;
    for (int i = 0; i < SQL_COUNT; i++)
        sqlite3_finalize(l->stmt[i]);
    sqlite3_close(l->db);
    free(l);
    e->db = NULL;
}

static const struct engine_ops lite_ops = {
    "sqlite", lite_exec, lite_begin, lite_commit, lite_rollback,
    lite_migrate, lite_close
};

/* The file is made here, mode 0600, before SQLite opens it: SQLite
** would make it with the umask's mode, and its -wal and -shm files
** take the database file's mode. */
static int make_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return STORE_EUNAVAILABLE;
    }
    close(fd);
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
        snprintf(err, errlen, "%s is not a regular file of this user",
                 path);
        return STORE_EUNAVAILABLE;
    }
    return STORE_OK;
}

static const char *const pragmas =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = FULL;"
    "PRAGMA foreign_keys = OFF;"
    "PRAGMA trusted_schema = OFF;";

/*
** Turning a new file to WAL takes an exclusive lock that SQLite does
** not wait for with the busy handler: when several runs open a new
** database at once, all but one are told "locked" at once. They try
** again, for as long as a writer would be waited for.
*/
static int set_pragmas(struct engine *e, char *err, size_t errlen)
{
    struct timespec nap = {0, 10000000};
    int st = STORE_EBUSY;
    for (int waited = 0; st == STORE_EBUSY && waited <= STORE_BUSY_MS;
         waited += 10) {
        st = run_plain(e, pragmas, err, errlen);
        if (st == STORE_EBUSY)
            nanosleep(&nap, NULL);
    }
    return st;
}

int engine_sqlite_open(struct engine *e, const char *path, char *err,
                       size_t errlen)
{
    struct lite *l = calloc(1, sizeof *l);
    int st = make_file(path, err, errlen), rc;
    e->ops = &lite_ops;
    e->db = l;
    snprintf(e->where, sizeof e->where, "%s", path);
    if (!l)
        return snprintf(err, errlen, "out of memory"), STORE_ENOMEM;
    if (st != STORE_OK)
        return st;
    if (sqlitefn_load(err, errlen) != 0)
        return STORE_EUNAVAILABLE;
    rc = sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE |
                         SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX |
                         SQLITE_OPEN_EXRESCODE, NULL);
    if (rc != SQLITE_OK)
        return fail(e, rc, err, errlen);
    sqlite3_busy_timeout(l->db, STORE_BUSY_MS);
    return set_pragmas(e, err, errlen);
}
