/*
** ledger.h -- the spend ledger: a hard money cap that holds across
** concurrent runs and crashes.
**
** Pure C: no Lua, no curl, no printing. Money is int64 nano-USD
** (pure/money.h: parse, format, convert). A paid call first
** reserves its worst-case cost, then settles the real cost, or releases
** the reservation when the request provably never left. Every update
** holds an exclusive flock on STATE_DIR/spend.ledger.lock, checks the
** caps and records the reservation in that one critical section, and
** replaces the ledger file atomically. A ledger that does not parse
** exactly is refused, never rewritten. docs/budget.md is the contract.
**
**     ledger *l;
**     ledger_open(&l, dir, err, sizeof err);
**     st = ledger_reserve(l, &req, &res, err, sizeof err);  before
**     st = ledger_settle(l, res.id, cost, ledger_now(), NULL, err, n);
**     ledger_close(l);
**
** Every function that can fail returns a ledger_status and, when err is
** not NULL, writes a one-line message for people into err.
*/
#ifndef CLAWHOST_LEDGER_H
#define CLAWHOST_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_NO_CAP       INT64_C(-1)     /* a cap that never refuses */
#define LEDGER_NAME_MAX     64              /* run id and label, bytes */
#define LEDGER_VERSION      1
#define LEDGER_MAX_BYTES    ((size_t)16 << 20)
#define LEDGER_MAX_RECORDS  ((size_t)100000)
#define LEDGER_LOCK_TIMEOUT_MS 10000
#define LEDGER_FILE         "spend.ledger"
#define LEDGER_LOCK_FILE    "spend.ledger.lock"
#define LEDGER_TEMP_PREFIX  "spend.ledger.tmp."  /* + 16 hex digits */

typedef enum {
    LEDGER_OK = 0,
    LEDGER_EXCEEDED,    /* reserve refused: a cap would be passed */
    LEDGER_EINVAL,      /* bad argument: amount, name, cap, time, dir */
    LEDGER_ECORRUPT,    /* the ledger file does not parse: refused */
    LEDGER_ELIMIT,      /* file size or record count bound reached */
    LEDGER_ENOTFOUND,   /* no reservation with that id */
    LEDGER_ESTATE,      /* the reservation is already settled/released */
    LEDGER_EBUSY,       /* the lock was not obtained in time */
    LEDGER_EIO,         /* a system call failed */
    LEDGER_ENOMEM       /* an allocation failed */
} ledger_status;

/* Stable machine-readable code: "budget_exceeded", "ledger_corrupt"... */
const char *ledger_status_code(int status);

/* ---- state directory ------------------------------------------------- */

/*
** The state directory: $CLAWHOST_STATE_DIR, else
** $XDG_STATE_HOME/clawhost, else $HOME/.local/state/clawhost. With
** create, missing directories are made with mode 0700.
*/
int ledger_state_dir(char *out, size_t outlen, int create, char *err,
                     size_t errlen);

/* ---- the ledger ------------------------------------------------------ */

typedef struct ledger ledger;

typedef enum {
    LEDGER_OPEN = 0,    /* reserved; counts its reserved amount */
    LEDGER_SETTLED,     /* counts its settled amount */
    LEDGER_RELEASED     /* nothing was spent; counts 0 */
} ledger_state;

typedef struct {
    int64_t id;                         /* 1, 2, ... never reused */
    ledger_state state;
    int64_t created;                    /* unix seconds, UTC */
    int64_t updated;                    /* last settle/release */
    long pid;                           /* process that reserved */
    char run[LEDGER_NAME_MAX + 1];      /* run id */
    char label[LEDGER_NAME_MAX + 1];    /* service name */
    int64_t reserved;                   /* nano-USD */
    int64_t settled;                    /* nano-USD; 0 unless SETTLED */
} ledger_record;

/* What a record counts against the caps now. */
int64_t ledger_record_committed(const ledger_record *r);

const char *ledger_state_name(ledger_state s);

/*
** Open the ledger in dir (which must exist, belong to this user and not
** be writable by group or others). Nothing is read until an operation.
*/
int ledger_open(ledger **out, const char *dir, char *err, size_t errlen);
void ledger_close(ledger *l);

/* dir/spend.ledger, as named in messages. */
const char *ledger_path(const ledger *l);

/* How long an operation waits for the lock (default 10 s). */
void ledger_set_lock_timeout(ledger *l, int ms);

/* Lower the size and record bounds (tests); 0 keeps the default. */
void ledger_set_limits(ledger *l, size_t max_bytes, size_t max_records);

/* Unix seconds now. */
int64_t ledger_now(void);

typedef enum {
    LEDGER_CAP_NONE = 0,
    LEDGER_CAP_RUN,     /* the run's own cap */
    LEDGER_CAP_DAILY    /* the cap shared by all runs of a UTC day */
} ledger_cap;

typedef struct {
    const char *run;        /* run id: 1-64 of [A-Za-z0-9._:@+/-] */
    const char *label;      /* service name, same alphabet */
    int64_t amount;         /* nano-USD, 0 to MONEY_USD_MAX */
    int64_t run_cap;        /* nano-USD or LEDGER_NO_CAP */
    int64_t daily_cap;      /* nano-USD or LEDGER_NO_CAP */
    int64_t now;            /* unix seconds: ledger_now() or a test */
} ledger_reserve_req;

typedef struct {
    int64_t id;             /* LEDGER_OK: the new reservation */
    ledger_cap cap_hit;     /* LEDGER_EXCEEDED: which cap refused */
    int64_t cap;            /* ... that cap */
    int64_t committed;      /* ... already committed against it */
    int64_t requested;      /* ... the amount asked for */
    int64_t run_committed;  /* the run's total, after the call */
    int64_t day_committed;  /* today's total over all runs, after */
} ledger_reserve_result;

/*
** Reserve req->amount for req->run unless the run's committed total or
** today's committed total (over all runs) would pass its cap; returns
** LEDGER_EXCEEDED (with res->cap_hit and the numbers) when it would.
*/
int ledger_reserve(ledger *l, const ledger_reserve_req *req,
                   ledger_reserve_result *res, char *err, size_t errlen);

typedef struct {
    ledger_record rec;      /* the record after the update */
    int64_t over_by;        /* settled - reserved when positive, else 0 */
} ledger_settle_result;

/*
** Replace an open reservation by what was really spent; more than
** reserved is recorded too (res->over_by says how much more).
*/
int ledger_settle(ledger *l, int64_t id, int64_t amount, int64_t now,
                  ledger_settle_result *res, char *err, size_t errlen);

/* Nothing was spent (the request provably never left): counts 0. */
int ledger_release(ledger *l, int64_t id, int64_t now,
                   ledger_settle_result *res, char *err, size_t errlen);

/* ---- queries --------------------------------------------------------- */

typedef struct ledger_snap ledger_snap;

/* A consistent copy of every record, read under a shared lock. */
int ledger_snapshot(ledger *l, ledger_snap **out, char *err,
                    size_t errlen);
void ledger_snap_free(ledger_snap *s);
size_t ledger_snap_count(const ledger_snap *s);
const ledger_record *ledger_snap_get(const ledger_snap *s, size_t i);

typedef struct {
    int64_t committed;      /* open reserved + settled */
    int64_t open;           /* reserved amount of open records */
    int64_t settled;        /* settled amount of settled records */
    size_t n_open, n_settled, n_released;
} ledger_totals;

/*
** Totals over the records matching every filter given: run and label
** (NULL: any), day (now >= 0: the UTC day of now; < 0: any day).
*/
void ledger_snap_totals(const ledger_snap *s, const char *run,
                        const char *label, int64_t now,
                        ledger_totals *out);

typedef enum { LEDGER_BY_RUN, LEDGER_BY_LABEL } ledger_group_by;

typedef struct {
    char key[LEDGER_NAME_MAX + 1];  /* run id or label */
    ledger_totals t;
    int64_t first, last;            /* earliest and latest created */
} ledger_group;

/* Totals per run or per label, sorted by key; free() the array. */
int ledger_snap_group(const ledger_snap *s, ledger_group_by by,
                      ledger_group **out, size_t *n, char *err,
                      size_t errlen);

typedef struct {
    ledger_record rec;
    int64_t age;            /* now - created, seconds */
} ledger_open_item;

/*
** Open reservations, oldest first, for reconciliation: a crashed run's
** stay open (and counted) until settled or released by id.
*/
int ledger_list_open(ledger *l, int64_t now, ledger_open_item **out,
                     size_t *n, char *err, size_t errlen);

/* ---- fault injection (tests) ----------------------------------------- */

typedef enum {
    LEDGER_STEP_LOCKED,         /* exclusive lock held, nothing read */
    LEDGER_STEP_TEMP_OPENED,    /* empty temp file created */
    LEDGER_STEP_TEMP_PARTIAL,   /* half of the new ledger written */
    LEDGER_STEP_TEMP_WRITTEN,   /* all written, not synced */
    LEDGER_STEP_TEMP_SYNCED,    /* temp fsynced and closed */
    LEDGER_STEP_RENAMED,        /* renamed over, directory not synced */
    LEDGER_STEP_DIR_SYNCED,     /* durable, lock still held */
    LEDGER_STEP_COUNT
} ledger_step;

/* Called at each step of an update; a test hook may _exit() there. */
typedef void (*ledger_fault_fn)(ledger_step step, void *ud);
void ledger_set_fault_hook(ledger *l, ledger_fault_fn fn, void *ud);

#endif
