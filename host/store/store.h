/*
** store.h -- clawhost's durable state on a real database: the spend
** ledger, the cleanup journal, recipe state and run history.
**
** One interface, two engines, chosen by the setting CLAWHOST_STORE:
** unset or sqlite:///ABSOLUTE/PATH.db is SQLite (the default file is
** STATE_DIR/clawhost.db), postgresql://... or postgres://... is
** PostgreSQL through libpq, loaded only then, for many machines that
** share one budget. docs/store.md is the contract.
**
** Money is int64 nano-USD (pure/money.h). A reservation checks the run
** cap and the daily cap and records itself in one transaction, against
** per-scope totals kept in the same transaction, so its cost does not
** grow with history and concurrent writers, on one machine or many,
** can never both pass a cap for the last cent.
**
** Every function that can fail returns a store_status and, when err is
** not NULL, writes a one-line message for people into err (the
** database's password never appears in it).
*/
#ifndef CLAWHOST_STORE_H
#define CLAWHOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_NO_CAP        INT64_C(-1)     /* a cap that never refuses */
#define STORE_NAME_MAX      64              /* run id, label, kind, ns */
#define STORE_KEY_MAX       256             /* a state key, bytes */
#define STORE_VALUE_MAX     (64u << 10)     /* a state value, bytes */
#define STORE_SPEC_MAX      (16u << 10)     /* a journal spec, bytes */
#define STORE_DB_FILE       "clawhost.db"
#define STORE_BUSY_MS       10000           /* wait for a writer */

typedef enum {
    STORE_OK = 0,
    STORE_EXCEEDED,     /* reserve refused: a cap would be passed */
    STORE_EINVAL,       /* bad argument: amount, name, cap, key, url */
    STORE_ECORRUPT,     /* a v1 ledger file (or a row) that is damaged */
    STORE_ENOTFOUND,    /* no such reservation, journal entry */
    STORE_ESTATE,       /* already settled/released; a wrong move */
    STORE_EBUSY,        /* another writer held the database too long */
    STORE_EIO,          /* a system call or the database failed */
    STORE_ENOMEM,       /* an allocation failed */
    STORE_EUNAVAILABLE, /* the database cannot be reached or opened */
    STORE_ESCHEMA       /* the database is from a newer clawhost */
} store_status;

/* Stable machine-readable code: "budget_exceeded", "store_busy", ... */
const char *store_status_code(int status);

/* ---- where ------------------------------------------------------------ */

/*
** The state directory: $CLAWHOST_STATE_DIR, else
** $XDG_STATE_HOME/clawhost, else $HOME/.local/state/clawhost. With
** create, missing directories are made with mode 0700.
*/
int store_state_dir(char *out, size_t outlen, int create, char *err,
                    size_t errlen);

typedef struct store store;

/*
** Open the store `url` names (NULL or "": SQLite in the state
** directory), bring its schema up to date, and import a v1
** spend.ledger found in the state directory (once; it is renamed
** spend.ledger.imported). The URL is never shown whole: messages name
** the engine, the host and the database only.
*/
int store_open(store **out, const char *url, char *err, size_t errlen);
void store_close(store *s);

/* "sqlite" or "postgresql". */
const char *store_engine(const store *s);

/* What messages call it: a path, or postgresql://user@host:port/db. */
const char *store_where(const store *s);

/* This machine's name as runs and journal entries record it. */
const char *store_host(const store *s);

/* The schema version the database had when opened, and has now. */
void store_migrated(const store *s, int *from, int *to);

/* Unix seconds now, and the UTC day ("2026-12-07") of a time. */
int64_t store_now(void);
void store_day(int64_t t, char out[11]);

/* ---- spend ------------------------------------------------------------ */

typedef enum {
    STORE_OPEN = 0,     /* reserved; counts its reserved amount */
    STORE_SETTLED,      /* counts its settled amount */
    STORE_RELEASED      /* nothing was spent; counts 0 */
} store_state;

typedef struct {
    int64_t id;                         /* 1, 2, ... never reused */
    store_state state;
    int64_t created;                    /* unix seconds, UTC */
    int64_t updated;                    /* last settle/release */
    long pid;                           /* process that reserved */
    char run[STORE_NAME_MAX + 1];       /* run id */
    char label[STORE_NAME_MAX + 1];     /* service name */
    char day[11];                       /* UTC day it was reserved */
    int64_t reserved;                   /* nano-USD */
    int64_t settled;                    /* nano-USD; 0 unless SETTLED */
    char group[STORE_NAME_MAX + 1];     /* its group, or "" */
} store_record;

const char *store_state_name(store_state s);

/* What a record counts against the caps now. */
int64_t store_record_committed(const store_record *r);

typedef enum {
    STORE_CAP_NONE = 0,
    STORE_CAP_RUN,      /* the run's own cap */
    STORE_CAP_DAILY,    /* the cap shared by all runs of a UTC day */
    STORE_CAP_LABEL,    /* the cap of one label over all runs and days */
    STORE_CAP_GROUP     /* the cap of a group of runs (a clawhost mcp
                        ** server's children) over their life */
} store_cap;

typedef struct {
    const char *run;        /* run id: 1-64 of [A-Za-z0-9._:@+/-] */
    const char *label;      /* service name, same alphabet */
    int64_t amount;         /* nano-USD, 0 to MONEY_USD_MAX */
    int64_t run_cap;        /* nano-USD or STORE_NO_CAP */
    int64_t daily_cap;      /* nano-USD or STORE_NO_CAP */
    int64_t now;            /* unix seconds: store_now() or a test */
    int64_t label_cap;      /* nano-USD or STORE_NO_CAP: a campaign's
                            ** budget, over every run that uses the label */
    const char *group;      /* NULL or "": none; else a name (same
                            ** alphabet) several runs reserve under */
    int64_t group_cap;      /* nano-USD or STORE_NO_CAP */
} store_reserve_req;

typedef struct {
    int64_t id;             /* STORE_OK: the new reservation */
    store_cap cap_hit;      /* STORE_EXCEEDED: which cap refused */
    int64_t cap;            /* ... that cap */
    int64_t committed;      /* ... already committed against it */
    int64_t requested;      /* ... the amount asked for */
    int64_t run_committed;  /* the run's total, after the call */
    int64_t day_committed;  /* today's total over all runs, after */
} store_reserve_result;

/*
** Reserve req->amount for req->run unless the run's committed total,
** today's committed total (over all runs), the label's committed total
** (over all runs and days) or the group's would pass its cap; returns
** STORE_EXCEEDED (with res->cap_hit and the numbers) when it would.
*/
int store_reserve(store *s, const store_reserve_req *req,
                  store_reserve_result *res, char *err, size_t errlen);

typedef struct {
    store_record rec;       /* the record after the update */
    int64_t over_by;        /* settled - reserved when positive, else 0 */
} store_settle_result;

/*
** Replace an open reservation by what was really spent; more than
** reserved is recorded too (res->over_by says how much more).
*/
int store_settle(store *s, int64_t id, int64_t amount, int64_t now,
                 store_settle_result *res, char *err, size_t errlen);

/* Nothing was spent (the request provably never left): counts 0. */
int store_release(store *s, int64_t id, int64_t now,
                  store_settle_result *res, char *err, size_t errlen);

/* One reservation by id. */
int store_record_get(store *s, int64_t id, store_record *out, char *err,
                     size_t errlen);

/*
** Open reservations, oldest first, for reconciliation: a crashed run's
** stay open (and counted) until settled or released by id. free() it.
*/
int store_list_open(store *s, store_record **out, size_t *n, char *err,
                    size_t errlen);

/* One run's reservations, oldest first (an index: O(its records)). */
int store_list_run(store *s, const char *run, store_record **out,
                   size_t *n, char *err, size_t errlen);

/* Sums over a scope; every update keeps them, so reading is O(1). */
typedef struct {
    int64_t committed;      /* open reserved + settled */
    int64_t open;           /* reserved amount of open records */
    int64_t settled;        /* settled amount of settled records */
    int64_t n_open, n_settled, n_released;
    int64_t first, last;    /* earliest and latest reservation (0: none) */
} store_totals;

/*
** Scopes: STORE_SCOPE_ALL (key ""), STORE_SCOPE_RUN (a run id),
** STORE_SCOPE_DAY ("2026-12-07"), STORE_SCOPE_LABEL (a service), and
** STORE_SCOPE_DAY_LABEL ("2026-12-07 qwen3").
*/
#define STORE_SCOPE_ALL         "all"
#define STORE_SCOPE_RUN         "run"
#define STORE_SCOPE_DAY         "day"
#define STORE_SCOPE_LABEL       "label"
#define STORE_SCOPE_DAY_LABEL   "daylabel"
#define STORE_SCOPE_GROUP       "group"

/* The totals of one scope (all zero when nothing was ever recorded). */
int store_totals_get(store *s, const char *kind, const char *key,
                     store_totals *out, char *err, size_t errlen);

/* Every scope of a kind with from <= key < to ("" and NULL: no bound),
** in key order. fn returns nonzero to stop. */
typedef int (*store_totals_fn)(void *ud, const char *key,
                               const store_totals *t);
int store_totals_each(store *s, const char *kind, const char *from,
                      const char *to, store_totals_fn fn, void *ud,
                      char *err, size_t errlen);

/* ---- runs ------------------------------------------------------------- */

typedef struct {
    char id[STORE_NAME_MAX + 1];
    char recipe[STORE_NAME_MAX + 1];
    char host[STORE_NAME_MAX + 1];
    long pid;
    int64_t started, ended;     /* ended 0: still running, or killed */
    int exit_code;              /* -1 until it ended */
} store_run;

/* A run that uses the store is recorded once, when it first does. */
int store_run_begin(store *s, const char *id, const char *recipe,
                    int64_t now, char *err, size_t errlen);
int store_run_end(store *s, const char *id, int exit_code, int64_t now,
                  char *err, size_t errlen);
int store_run_get(store *s, const char *id, store_run *out, char *err,
                  size_t errlen);

typedef int (*store_run_fn)(void *ud, const store_run *r);
/* Runs started at or after `since` (unix seconds), oldest first. */
int store_runs_each(store *s, int64_t since, store_run_fn fn, void *ud,
                    char *err, size_t errlen);

/* ---- the cleanup journal ------------------------------------------------ */

/*
** Things that cost money while they live (deployments): written before
** the create call is sent ("creating"), given the provider's handle
** when known ("live"), "deleting" while being deleted, "gone" once the
** deletion is verified. clawhost sweep reads what is not gone.
*/
typedef struct {
    int64_t id;
    char kind[STORE_NAME_MAX + 1];      /* "deployment", ... */
    char run[STORE_NAME_MAX + 1];
    char provider[STORE_NAME_MAX + 1];  /* "theta", ... */
    char handle[STORE_KEY_MAX + 1];     /* "" until known */
    char state[16];
    char *spec;                         /* JSON text, malloc'd */
    char note[STORE_KEY_MAX + 1];
    int64_t created, updated;
    char host[STORE_NAME_MAX + 1];
    long pid;
} store_journal_entry;

#define STORE_JOURNAL_STATES "creating live deleting gone failed"

int store_journal_add(store *s, const char *kind, const char *run,
                      const char *provider, const char *spec,
                      int64_t now, int64_t *id, char *err, size_t errlen);
int store_journal_set(store *s, int64_t id, const char *state,
                      const char *handle, const char *note, int64_t now,
                      char *err, size_t errlen);
int store_journal_get(store *s, int64_t id, store_journal_entry *out,
                      char *err, size_t errlen);
typedef int (*store_journal_fn)(void *ud, const store_journal_entry *j);
/* Entries not yet gone, oldest first; kind NULL: every kind. */
int store_journal_live(store *s, const char *kind, store_journal_fn fn,
                       void *ud, char *err, size_t errlen);

/* ---- recipe state --------------------------------------------------- */

/*
** A small key/value space per namespace; values are JSON text of at
** most STORE_VALUE_MAX bytes, keys printable ASCII of at most
** STORE_KEY_MAX bytes. claim inserts only when the key is absent and
** says whether this caller won: the building block of exactly-once
** steps across reruns and machines.
*/
int store_state_get(store *s, const char *ns, const char *key,
                    char **value, size_t *len, char *err, size_t errlen);
int store_state_put(store *s, const char *ns, const char *key,
                    const char *value, size_t len, int64_t now,
                    char *err, size_t errlen);
int store_state_claim(store *s, const char *ns, const char *key,
                      const char *value, size_t len, int64_t now,
                      int *won, char *err, size_t errlen);
int store_state_delete(store *s, const char *ns, const char *key,
                       int *existed, char *err, size_t errlen);
typedef int (*store_key_fn)(void *ud, const char *key, size_t len);
/* Keys that start with prefix, in order, at most limit of them. */
int store_state_list(store *s, const char *ns, const char *prefix,
                     long limit, store_key_fn fn, void *ud, char *err,
                     size_t errlen);

/* ---- operators ---------------------------------------------------------- */

typedef struct {
    int schema;             /* version in the database */
    int schema_newest;      /* version this clawhost writes */
    int64_t records;        /* spend records */
    int64_t open;           /* of which open */
    int64_t runs, journal_live, state_keys;
} store_info;

int store_info_get(store *s, store_info *out, char *err, size_t errlen);

/* ---- crash tests ---------------------------------------------------------- */

typedef enum {
    STORE_STEP_BEGUN,       /* the write transaction is open */
    STORE_STEP_WRITTEN,     /* every statement ran, not committed */
    STORE_STEP_COMMITTED    /* committed, not yet returned */
} store_step;

/* Called at each step of an update; a test hook may _exit() there. */
void store_set_fault_hook(store *s, void (*fn)(int step, void *ud),
                          void *ud);

#endif
