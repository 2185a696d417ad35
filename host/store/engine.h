/*
** engine.h -- what store.c asks of a database engine (engine_sqlite.c,
** engine_pg.c); private to host/store.
**
** The store's logic (caps, state changes, imports) is written once, in
** store.c, against numbered statements. Each engine keeps the text of
** every statement, in its own dialect, in one table at the top of its
** file, and runs them with typed arguments; rows come back one by one
** to a callback. Nothing else of SQL is spread around.
*/
#ifndef CLAWHOST_ENGINE_H
#define CLAWHOST_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Every statement the store runs (the engines' tables are indexed by it). */
enum engine_sql {
    SQL_META_GET,           /* key -> value */
    SQL_META_SET,           /* key, value */
    SQL_TOTAL_ENSURE,       /* kind, key: the totals row exists */
    SQL_TOTAL_ADD_CAPPED,   /* amount, kind, key, cap, now -> committed;
                               no row when the cap would be passed */
    SQL_TOTAL_GET,          /* kind, key -> the totals columns */
    SQL_TOTAL_MOVE,         /* d_committed, d_open, d_settled, d_nopen,
                               d_nsettled, d_nreleased, created (0: keep
                               first/last), kind, key */
    SQL_SPEND_INSERT,       /* run, label, reserved, now, day, pid, host,
                               group -> id */
    SQL_SPEND_GET,          /* id -> record columns (group last) */
    SQL_SPEND_CLOSE,        /* state, settled, now, id (open only) */
    SQL_SPEND_OPEN,         /* -> open records, oldest first */
    SQL_SPEND_OF_RUN,       /* run -> its records, oldest first */
    SQL_SPEND_IMPORT,       /* run, label, state, reserved, settled,
                               created, updated, day, pid, host -> id */
    SQL_INFO,               /* -> runs, live journal entries, state keys */
    SQL_TOTALS_LIST,        /* kind, key-from, key-to -> totals rows */
    SQL_RUN_BEGIN,          /* id, recipe, host, pid, now, day */
    SQL_RUN_END,            /* exit, now, id */
    SQL_RUN_GET,            /* id -> run columns */
    SQL_RUNS_SINCE,         /* started-from -> run rows, oldest first */
    SQL_JOURNAL_ADD,        /* kind, run, provider, spec, now, host, pid
                               -> id */
    SQL_JOURNAL_SET,        /* state, handle, note, now, id */
    SQL_JOURNAL_GET,        /* id -> journal columns */
    SQL_JOURNAL_LIVE,       /* kind ('' any) -> entries not yet gone */
    SQL_STATE_GET,          /* ns, key -> value */
    SQL_STATE_PUT,          /* ns, key, value, now */
    SQL_STATE_CLAIM,        /* ns, key, value, now -> inserted row */
    SQL_STATE_DELETE,       /* ns, key */
    SQL_STATE_LIST,         /* ns, key-from, key-to, limit -> keys */
    SQL_COUNT
};

enum engine_type { EV_NULL, EV_INT, EV_TEXT };

/* An argument or a column. Text is not NUL-terminated necessarily. */
struct engine_val {
    int type;
    int64_t i;
    const char *s;
    size_t n;
};

#define EV_I(v) ((struct engine_val){EV_INT, (v), NULL, 0})
#define EV_S(v) ((struct engine_val){EV_TEXT, 0, (v), strlen(v)})
#define EV_SN(v, len) ((struct engine_val){EV_TEXT, 0, (v), (len)})

/* One row; return nonzero to stop reading the rest. */
typedef int (*engine_row_fn)(void *ud, const struct engine_val *col,
                             int ncol);

struct engine;

struct engine_ops {
    const char *name;                   /* "sqlite", "postgresql" */
    /* Run statement sql with args; rows go to fn (may be NULL).
    ** Returns how many rows came back, or -1 with *st (a store_status)
    ** and a message in err. */
    long (*exec)(struct engine *e, int sql, const struct engine_val *arg,
                 int narg, engine_row_fn fn, void *ud, int *st,
                 char *err, size_t errlen);
    /* A transaction that writes: BEGIN IMMEDIATE / BEGIN. */
    int (*begin)(struct engine *e, char *err, size_t errlen);
    int (*commit)(struct engine *e, char *err, size_t errlen);
    void (*rollback)(struct engine *e);
    /* Bring the schema to the newest version; *from and *to say what
    ** was done. Safe when several processes open at once. */
    int (*migrate)(struct engine *e, int *from, int *to, char *err,
                   size_t errlen);
    void (*close)(struct engine *e);
};

struct engine {
    const struct engine_ops *ops;
    void *db;
    char where[256];                    /* for messages, no password */
    void (*fault)(int step, void *ud);  /* crash tests */
    void *fault_ud;
};

/* The newest schema version both engines migrate to. */
#define ENGINE_SCHEMA_VERSION 2

int engine_sqlite_open(struct engine *e, const char *path, char *err,
                       size_t errlen);
int engine_pg_open(struct engine *e, const char *conninfo, char *err,
                   size_t errlen);

#endif
