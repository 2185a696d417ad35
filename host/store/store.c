/*
** store.c -- the store's logic, once for both engines (store.h).
**
** Read docs/store.md first. The invariants kept here:
**  - a reservation is one write transaction: the run's and the day's
**    totals rows are raised only if they stay within their caps (a
**    conditional UPDATE; no row back means the cap refused), the other
**    scopes' totals follow, the record is inserted, then it commits; a
**    crash anywhere leaves all of it or none;
**  - totals are kept per scope in the same transaction as the records
**    they sum, so no operation reads history: the cost of a reservation
**    is the same with a hundred records or a million;
**  - every transaction takes its rows in one order (a spend record,
**    then the run, day, label, day-label and all scopes), so writers on
**    PostgreSQL can wait for each other but never deadlock;
**  - an error fails closed: the caller must not send a paid call whose
**    reservation did not commit.
*/
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pure/money.h"
#include "store/engine.h"
#include "store/ledger.h"
#include "store/store.h"
#include "util/quote.h"

struct store {
    struct engine e;
    int migrated_from, migrated_to;     /* what opening did */
    char host[STORE_NAME_MAX + 1];      /* this machine, for records */
    void (*fault)(int step, void *ud);
    void *fault_ud;
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

const char *store_status_code(int status)
{
    static const char *const codes[] = {
        "ok", "budget_exceeded", "invalid", "store_corrupt", "not_found",
        "wrong_state", "store_busy", "store_io", "out_of_memory",
        "store_unavailable", "store_schema"
    };
    if (status < 0 || status > STORE_ESCHEMA)
        return "store_io";
    return codes[status];
}

int64_t store_now(void)
{
    return (int64_t)time(NULL);
}

void store_day(int64_t t, char out[11])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        memset(&tm, 0, sizeof tm);
    if (strftime(out, 11, "%Y-%m-%d", &tm) == 0)
        memcpy(out, "0000-00-00", 11);      /* past year 9999 */
}

const char *store_state_name(store_state s)
{
    return s == STORE_OPEN ? "open" : s == STORE_SETTLED ? "settled"
                                                         : "released";
}

int64_t store_record_committed(const store_record *r)
{
    return r->state == STORE_OPEN ? r->reserved :
           r->state == STORE_SETTLED ? r->settled : 0;
}

/* Run ids, labels, kinds, namespaces: 1-64 of [A-Za-z0-9._:@+/-]. */
static int name_ok(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || strchr("._:@+/-", c) != NULL;
        if (!ok || n >= STORE_NAME_MAX)
            return 0;
    }
    return n > 0;
}

static void step(store *s, int st)
{
    if (s->fault)
        s->fault(st, s->fault_ud);
}

void store_set_fault_hook(store *s, void (*fn)(int step, void *ud),
                          void *ud)
{
    s->fault = fn;
    s->fault_ud = ud;
}

/* ---- the state directory ------------------------------------------ */

static int resolve_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *v = getenv("CLAWHOST_STATE_DIR");
    int n;
    if (v && *v) {
        if (v[0] != '/')
            return fail(err, errlen, STORE_EINVAL, "CLAWHOST_STATE_DIR "
                        "must be an absolute path");
        n = snprintf(out, outlen, "%s", v);
    } else if ((v = getenv("XDG_STATE_HOME")) && v[0] == '/') {
        n = snprintf(out, outlen, "%s/clawhost", v);
    } else if ((v = getenv("HOME")) && v[0] == '/') {
        n = snprintf(out, outlen, "%s/.local/state/clawhost", v);
    } else {
        return fail(err, errlen, STORE_EINVAL, "no state directory: set "
                    "CLAWHOST_STATE_DIR or HOME");
    }
    if (n < 0 || (size_t)n >= outlen || (size_t)n >= PATH_MAX - 32)
        return fail(err, errlen, STORE_EINVAL, "state directory path too "
                    "long");
    return STORE_OK;
}

/* One component of mkdir -p: ours are 0700 exactly, whatever umask. */
static int make_one(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (mkdir(path, 0700) == 0) {
        if (chmod(path, 0700) != 0)
            return fail(err, errlen, STORE_EIO, "chmod %s: %s", path,
                        strerror(errno));
        return STORE_OK;
    }
    if (errno != EEXIST)
        return fail(err, errlen, STORE_EIO, "mkdir %s: %s", path,
                    strerror(errno));
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fail(err, errlen, STORE_EIO, "%s exists and is not a "
                    "directory", path);
    return STORE_OK;
}

static int make_dirs(char *path, char *err, size_t errlen)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        int st = make_one(path, err, errlen);
        *p = '/';
        if (st != STORE_OK)
            return st;
    }
    return make_one(path, err, errlen);
}

/* Whoever can write the folder can replace the database. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fail(err, errlen, STORE_EUNAVAILABLE, "%s is not a folder",
                    dir);
    if (sb.st_uid != geteuid())
        return fail(err, errlen, STORE_EUNAVAILABLE, "%s belongs to "
                    "another user", dir);
    if (sb.st_mode & 022)
        return fail(err, errlen, STORE_EUNAVAILABLE, "%s is writable by "
                    "group or others (mode %03o); run chmod 700 on it",
                    dir, (unsigned)(sb.st_mode & 0777));
    return STORE_OK;
}

int store_state_dir(char *out, size_t outlen, int create, char *err,
                    size_t errlen)
{
    char tmp[PATH_MAX];
    int st;
    if (!out || outlen == 0)
        return fail(err, errlen, STORE_EINVAL, "no output buffer");
    if ((st = resolve_dir(out, outlen, err, errlen)) != STORE_OK ||
        !create)
        return st;
    snprintf(tmp, sizeof tmp, "%s", out);
    return make_dirs(tmp, err, errlen);
}

/* ---- transactions ----------------------------------------------------- */

static long exec(store *s, int sql, const struct engine_val *arg, int narg,
                 engine_row_fn fn, void *ud, int *st, char *err,
                 size_t errlen)
{
    return s->e.ops->exec(&s->e, sql, arg, narg, fn, ud, st, err, errlen);
}

static int begin(store *s, char *err, size_t errlen)
{
    int st = s->e.ops->begin(&s->e, err, errlen);
    if (st == STORE_OK)
        step(s, STORE_STEP_BEGUN);
    return st;
}

/* Commit, or roll back what st says failed; returns st. */
static int finish(store *s, int st, char *err, size_t errlen)
{
    if (st == STORE_OK) {
        step(s, STORE_STEP_WRITTEN);
        st = s->e.ops->commit(&s->e, err, errlen);
    }
    if (st != STORE_OK) {
        s->e.ops->rollback(&s->e);
        return st;
    }
    step(s, STORE_STEP_COMMITTED);
    return STORE_OK;
}

/* ---- reading rows ------------------------------------------------------ */

static void text_of(const struct engine_val *v, char *out, size_t size)
{
    size_t n = v->type == EV_TEXT && v->n < size ? v->n :
               v->type == EV_TEXT ? size - 1 : 0;
    memcpy(out, v->type == EV_TEXT ? v->s : "", n);
    out[n] = '\0';
}

static int64_t int_of(const struct engine_val *v)
{
    return v->type == EV_INT ? v->i :
           v->type == EV_TEXT ? strtoll(v->s, NULL, 10) : 0;
}

static store_state state_of(const struct engine_val *v)
{
    return v->n == 7 && !memcmp(v->s, "settled", 7) ? STORE_SETTLED :
           v->n == 8 && !memcmp(v->s, "released", 8) ? STORE_RELEASED :
           STORE_OPEN;
}

/* id, run, label, state, reserved, settled, created, updated, day, pid */
static int row_record(void *ud, const struct engine_val *c, int n)
{
    store_record *r = ud;
    if (n < 10)
        return 1;
    memset(r, 0, sizeof *r);
    r->id = int_of(&c[0]);
    text_of(&c[1], r->run, sizeof r->run);
    text_of(&c[2], r->label, sizeof r->label);
    r->state = state_of(&c[3]);
    r->reserved = int_of(&c[4]);
    r->settled = int_of(&c[5]);
    r->created = int_of(&c[6]);
    r->updated = int_of(&c[7]);
    text_of(&c[8], r->day, sizeof r->day);
    r->pid = (long)int_of(&c[9]);
    if (n > 10)
        text_of(&c[10], r->group, sizeof r->group);
    return 1;
}

static void totals_from(store_totals *t, const struct engine_val *c)
{
    t->committed = int_of(&c[0]);
    t->open = int_of(&c[1]);
    t->settled = int_of(&c[2]);
    t->n_open = int_of(&c[3]);
    t->n_settled = int_of(&c[4]);
    t->n_released = int_of(&c[5]);
    t->first = int_of(&c[6]);
    t->last = int_of(&c[7]);
}

static int row_totals(void *ud, const struct engine_val *c, int n)
{
    if (n >= 8)
        totals_from(ud, c);
    return 1;
}

static int row_int(void *ud, const struct engine_val *c, int n)
{
    if (n > 0)
        *(int64_t *)ud = int_of(&c[0]);
    return 1;
}

/* ---- spend: the scopes a record counts in ----------------------------- */

#define NSCOPES 6

/* In the one order every transaction takes them (see the top); the
** group's is there only for a record that has one. */
struct scopes {
    int n;
    const char *kind[NSCOPES];
    char key[NSCOPES][STORE_NAME_MAX + 12];
};

static void scopes_of(struct scopes *sc, const char *run, const char *day,
                      const char *label, const char *group)
{
    static const char *const kinds[NSCOPES] = {
        STORE_SCOPE_RUN, STORE_SCOPE_DAY, STORE_SCOPE_LABEL,
        STORE_SCOPE_DAY_LABEL, STORE_SCOPE_ALL, STORE_SCOPE_GROUP
    };
    memcpy(sc->kind, kinds, sizeof kinds);
    snprintf(sc->key[0], sizeof sc->key[0], "%s", run);
    snprintf(sc->key[1], sizeof sc->key[1], "%s", day);
    snprintf(sc->key[2], sizeof sc->key[2], "%s", label);
    snprintf(sc->key[3], sizeof sc->key[3], "%s %s", day, label);
    sc->key[4][0] = '\0';
    snprintf(sc->key[5], sizeof sc->key[5], "%s", group ? group : "");
    sc->n = group && group[0] ? 6 : 5;
}

/*
** Raise one scope's totals by a new reservation within cap. 1 when it
** was raised, 0 when the cap refused (*committed then says what the
** scope holds), -1 on an error. A scope seen for the first time gets
** its row, then the raise is tried again.
*/
static int raise_capped(store *s, const char *kind, const char *key,
                        int64_t amount, int64_t cap, int64_t now,
                        int64_t *committed, int *st, char *err,
                        size_t errlen)
{
    struct engine_val a[5] = {EV_I(amount), EV_S(kind), EV_S(key),
                              EV_I(cap), EV_I(now)};
    store_totals t = {0};
    for (int tries = 0; tries < 3; tries++) {
        long n = exec(s, SQL_TOTAL_ADD_CAPPED, a, 5, row_int, committed,
                      st, err, errlen);
        if (n != 0)
            return n > 0 ? 1 : -1;
        n = exec(s, SQL_TOTAL_GET, a + 1, 2, row_totals, &t, st, err,
                 errlen);
        if (n < 0)
            return -1;
        /*
        ** The UPDATE changed nothing: the cap refused, or (PostgreSQL,
        ** read committed) the row did not exist yet when it looked and
        ** another run's first reservation committed it just after. Only
        ** the cap, checked on the row as read, is a refusal; a row that
        ** appeared is updated on the next try. (Once a refusal with "no
        ** cap" when 8 runs opened a new database at once.)
        */
        if (n > 0) {
            *committed = t.committed;
            if (cap >= 0 && t.committed > cap - amount)
                return 0;
            continue;
        }
        if (exec(s, SQL_TOTAL_ENSURE, a + 1, 2, NULL, NULL, st, err,
                 errlen) < 0)
            return -1;
    }
    *st = fail(err, errlen, STORE_EIO, "%s: the totals of %s %s cannot "
               "be made", s->e.where, kind, key);
    return -1;
}

static int check_amount(int64_t v, const char *what, char *err,
                        size_t errlen)
{
    if (v < 0 || v > MONEY_USD_MAX)
        return fail(err, errlen, STORE_EINVAL, "%s must be between 0 and "
                    "1000000 USD", what);
    return STORE_OK;
}

static int check_reserve(const store_reserve_req *q, char *err,
                         size_t errlen)
{
    char b[48], c[48];
    if (!name_ok(q->run) || !name_ok(q->label))
        return fail(err, errlen, STORE_EINVAL, "run id '%s' or label '%s' "
                    "is not 1-%d of A-Z a-z 0-9 . _ : @ + / -",
                    quote_str(b, sizeof b, q->run ? q->run : ""),
                    quote_str(c, sizeof c, q->label ? q->label : ""),
                    STORE_NAME_MAX);
    if (q->group && q->group[0] && !name_ok(q->group))
        return fail(err, errlen, STORE_EINVAL, "group '%s' is not 1-%d of "
                    "A-Z a-z 0-9 . _ : @ + / -", quote_str(b, sizeof b,
                    q->group), STORE_NAME_MAX);
    if ((q->run_cap != STORE_NO_CAP && q->run_cap < 0) ||
        (q->daily_cap != STORE_NO_CAP && q->daily_cap < 0) ||
        (q->label_cap != STORE_NO_CAP && q->label_cap < 0) ||
        (q->group_cap != STORE_NO_CAP && q->group_cap < 0))
        return fail(err, errlen, STORE_EINVAL, "a cap is 0 or more, or "
                    "none");
    if (q->now <= 0)
        return fail(err, errlen, STORE_EINVAL, "no time given");
    return check_amount(q->amount, "the amount", err, errlen);
}

static int refused(store_reserve_result *res, store_cap which, int64_t cap,
                   int64_t committed, int64_t amount, char *err,
                   size_t errlen)
{
    char c[MONEY_USD_BUFSZ], h[MONEY_USD_BUFSZ], r[MONEY_USD_BUFSZ];
    res->cap_hit = which;
    res->cap = cap;
    res->committed = committed;
    res->requested = amount;
    return fail(err, errlen, STORE_EXCEEDED, "budget exceeded: %s cap %s "
                "USD, already committed %s USD, requested %s USD",
                which == STORE_CAP_RUN ? "run" :
                which == STORE_CAP_DAILY ? "daily" :
                which == STORE_CAP_GROUP ? "group" : "label",
                money_usd_format(cap, c, sizeof c),
                money_usd_format(committed, h, sizeof h),
                money_usd_format(amount, r, sizeof r));
}

/* Every statement of a reservation, inside its transaction. */
static int reserve_in(store *s, const store_reserve_req *q,
                      store_reserve_result *res, char *err, size_t errlen)
{
    struct scopes sc;
    char day[11];
    int64_t got = 0, caps[NSCOPES] = {q->run_cap, q->daily_cap,
                                      q->label_cap, STORE_NO_CAP,
                                      STORE_NO_CAP, q->group_cap};
    static const store_cap which[NSCOPES] = {STORE_CAP_RUN,
                                             STORE_CAP_DAILY,
                                             STORE_CAP_LABEL, STORE_CAP_NONE,
                                             STORE_CAP_NONE,
                                             STORE_CAP_GROUP};
    int st = STORE_OK;
    store_day(q->now, day);
    scopes_of(&sc, q->run, day, q->label, q->group);
    for (int i = 0; i < sc.n; i++) {
        int up = raise_capped(s, sc.kind[i], sc.key[i], q->amount, caps[i],
                              q->now, &got, &st, err, errlen);
        if (up < 0)
            return st;
        if (up == 0)
            return refused(res, which[i], caps[i], got, q->amount, err,
                           errlen);
        if (i == 0)
            res->run_committed = got;
        else if (i == 1)
            res->day_committed = got;
    }
    struct engine_val a[8] = {EV_S(q->run), EV_S(q->label),
                              EV_I(q->amount), EV_I(q->now), EV_S(day),
                              EV_I((int64_t)getpid()), EV_S(s->host),
                              EV_S(q->group ? q->group : "")};
    if (exec(s, SQL_SPEND_INSERT, a, 8, row_int, &res->id, &st, err,
             errlen) != 1)
        return st != STORE_OK ? st : fail(err, errlen, STORE_EIO,
                                          "%s: no id for the reservation",
                                          s->e.where);
    return STORE_OK;
}

int store_reserve(store *s, const store_reserve_req *req,
                  store_reserve_result *res, char *err, size_t errlen)
{
    store_reserve_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    int st = check_reserve(req, err, errlen);
    if (st != STORE_OK)
        return st;
    if ((st = begin(s, err, errlen)) != STORE_OK)
        return st;
    return finish(s, reserve_in(s, req, res, err, errlen), err, errlen);
}

/* ---- spend: closing a reservation --------------------------------------- */

static int get_record(store *s, int64_t id, store_record *r, char *err,
                      size_t errlen)
{
    struct engine_val a = EV_I(id);
    int st = STORE_OK;
    long n = exec(s, SQL_SPEND_GET, &a, 1, row_record, r, &st, err,
                  errlen);
    if (n < 0)
        return st;
    if (n == 0)
        return fail(err, errlen, STORE_ENOTFOUND, "no reservation %lld in "
                    "%s", (long long)id, s->e.where);
    return STORE_OK;
}

/* The totals of every scope of r move from open to its new state. */
static int move_totals(store *s, const store_record *r, char *err,
                       size_t errlen)
{
    struct scopes sc;
    int st = STORE_OK;
    int settled = r->state == STORE_SETTLED;
    scopes_of(&sc, r->run, r->day, r->label, r->group);
    for (int i = 0; i < sc.n; i++) {
        struct engine_val a[9] = {
            EV_I(store_record_committed(r) - r->reserved),
            EV_I(-r->reserved), EV_I(settled ? r->settled : 0), EV_I(-1),
            EV_I(settled), EV_I(!settled), EV_I(0), EV_S(sc.kind[i]),
            EV_S(sc.key[i])
        };
        if (exec(s, SQL_TOTAL_MOVE, a, 9, NULL, NULL, &st, err,
                 errlen) < 0)
            return st;
    }
    return STORE_OK;
}

static int close_in(store *s, int64_t id, store_state to, int64_t amount,
                    int64_t now, store_settle_result *res, char *err,
                    size_t errlen)
{
    store_record *r = &res->rec;
    int st = get_record(s, id, r, err, errlen);
    if (st != STORE_OK)
        return st;
    if (r->state != STORE_OPEN)
        return fail(err, errlen, STORE_ESTATE, "reservation %lld is "
                    "already %s", (long long)id, store_state_name(r->state));
    struct engine_val a[4] = {EV_S(store_state_name(to)), EV_I(amount),
                              EV_I(now), EV_I(id)};
    long n = exec(s, SQL_SPEND_CLOSE, a, 4, NULL, NULL, &st, err, errlen);
    if (n <= 0)
        return n < 0 ? st : fail(err, errlen, STORE_ESTATE, "reservation "
                                 "%lld was closed meanwhile",
                                 (long long)id);
    r->state = to;
    r->settled = amount;
    r->updated = now;
    res->over_by = amount > r->reserved ? amount - r->reserved : 0;
    return move_totals(s, r, err, errlen);
}

static int close_one(store *s, int64_t id, store_state to, int64_t amount,
                     int64_t now, store_settle_result *res, char *err,
                     size_t errlen)
{
    store_settle_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    int st = check_amount(amount, "the amount", err, errlen);
    if (st == STORE_OK && (id <= 0 || now <= 0))
        st = fail(err, errlen, STORE_EINVAL, "no such reservation id or "
                  "time");
    if (st != STORE_OK || (st = begin(s, err, errlen)) != STORE_OK)
        return st;
    return finish(s, close_in(s, id, to, amount, now, res, err, errlen),
                  err, errlen);
}

int store_settle(store *s, int64_t id, int64_t amount, int64_t now,
                 store_settle_result *res, char *err, size_t errlen)
{
    return close_one(s, id, STORE_SETTLED, amount, now, res, err, errlen);
}

int store_release(store *s, int64_t id, int64_t now,
                  store_settle_result *res, char *err, size_t errlen)
{
    return close_one(s, id, STORE_RELEASED, 0, now, res, err, errlen);
}

int store_record_get(store *s, int64_t id, store_record *out, char *err,
                     size_t errlen)
{
    return get_record(s, id, out, err, errlen);
}

/* ---- spend: reading ------------------------------------------------------ */

struct records {
    store_record *v;
    size_t n, cap;
    int oom;
};

static int row_append(void *ud, const struct engine_val *c, int n)
{
    struct records *r = ud;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        store_record *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return r->oom = 1;
        r->v = v;
        r->cap = cap;
    }
    row_record(&r->v[r->n++], c, n);
    return 0;
}

static int list_records(store *s, int sql, const struct engine_val *arg,
                        int narg, store_record **out, size_t *n,
                        char *err, size_t errlen)
{
    struct records r = {0};
    int st = STORE_OK;
    *out = NULL;
    *n = 0;
    if (exec(s, sql, arg, narg, row_append, &r, &st, err, errlen) < 0 ||
        r.oom) {
        free(r.v);
        return r.oom ? fail(err, errlen, STORE_ENOMEM, "out of memory")
                     : st;
    }
    *out = r.v;
    *n = r.n;
    return STORE_OK;
}

int store_list_open(store *s, store_record **out, size_t *n, char *err,
                    size_t errlen)
{
    return list_records(s, SQL_SPEND_OPEN, NULL, 0, out, n, err, errlen);
}

int store_list_run(store *s, const char *run, store_record **out,
                   size_t *n, char *err, size_t errlen)
{
    struct engine_val a = EV_S(run ? run : "");
    return list_records(s, SQL_SPEND_OF_RUN, &a, 1, out, n, err, errlen);
}

int store_totals_get(store *s, const char *kind, const char *key,
                     store_totals *out, char *err, size_t errlen)
{
    struct engine_val a[2] = {EV_S(kind), EV_S(key ? key : "")};
    int st = STORE_OK;
    memset(out, 0, sizeof *out);
    return exec(s, SQL_TOTAL_GET, a, 2, row_totals, out, &st, err,
                errlen) < 0 ? st : STORE_OK;
}

struct totals_each {
    store_totals_fn fn;
    void *ud;
};

static int row_totals_each(void *ud, const struct engine_val *c, int n)
{
    struct totals_each *te = ud;
    char key[STORE_NAME_MAX + 12];
    store_totals t;
    if (n < 9)
        return 1;
    text_of(&c[0], key, sizeof key);
    totals_from(&t, c + 1);
    return te->fn(te->ud, key, &t);
}

int store_totals_each(store *s, const char *kind, const char *from,
                      const char *to, store_totals_fn fn, void *ud,
                      char *err, size_t errlen)
{
    struct totals_each te = {fn, ud};
    struct engine_val a[3] = {EV_S(kind), EV_S(from ? from : ""),
                              EV_S(to ? to : "")};
    int st = STORE_OK;
    return exec(s, SQL_TOTALS_LIST, a, 3, row_totals_each, &te, &st, err,
                errlen) < 0 ? st : STORE_OK;
}

/* ---- runs ------------------------------------------------------------------ */

int store_run_begin(store *s, const char *id, const char *recipe,
                    int64_t now, char *err, size_t errlen)
{
    char day[11], b[48];
    int st = STORE_OK;
    if (!name_ok(id))
        return fail(err, errlen, STORE_EINVAL, "run id '%s' is not 1-%d of "
                    "A-Z a-z 0-9 . _ : @ + / -",
                    quote_str(b, sizeof b, id ? id : ""), STORE_NAME_MAX);
    store_day(now, day);
    struct engine_val a[6] = {EV_S(id), EV_SN(recipe, strnlen(recipe,
                              STORE_NAME_MAX)), EV_S(s->host),
                              EV_I((int64_t)getpid()), EV_I(now),
                              EV_S(day)};
    return exec(s, SQL_RUN_BEGIN, a, 6, NULL, NULL, &st, err,
                errlen) < 0 ? st : STORE_OK;
}

int store_run_end(store *s, const char *id, int exit_code, int64_t now,
                  char *err, size_t errlen)
{
    int st = STORE_OK;
    struct engine_val a[3] = {EV_I(exit_code), EV_I(now),
                              EV_S(id ? id : "")};
    return exec(s, SQL_RUN_END, a, 3, NULL, NULL, &st, err,
                errlen) < 0 ? st : STORE_OK;
}

/* id, recipe, host, pid, started, ended, exit_code */
static void run_from(store_run *r, const struct engine_val *c)
{
    memset(r, 0, sizeof *r);
    text_of(&c[0], r->id, sizeof r->id);
    text_of(&c[1], r->recipe, sizeof r->recipe);
    text_of(&c[2], r->host, sizeof r->host);
    r->pid = (long)int_of(&c[3]);
    r->started = int_of(&c[4]);
    r->ended = int_of(&c[5]);
    r->exit_code = (int)int_of(&c[6]);
}

static int row_run(void *ud, const struct engine_val *c, int n)
{
    if (n >= 7)
        run_from(ud, c);
    return 1;
}

int store_run_get(store *s, const char *id, store_run *out, char *err,
                  size_t errlen)
{
    struct engine_val a = EV_S(id ? id : "");
    int st = STORE_OK;
    long n = exec(s, SQL_RUN_GET, &a, 1, row_run, out, &st, err, errlen);
    if (n < 0)
        return st;
    return n ? STORE_OK : fail(err, errlen, STORE_ENOTFOUND, "no run %s",
                               id ? id : "");
}

struct runs_each {
    store_run_fn fn;
    void *ud;
};

static int row_runs_each(void *ud, const struct engine_val *c, int n)
{
    struct runs_each *re = ud;
    store_run r;
    if (n < 7)
        return 1;
    run_from(&r, c);
    return re->fn(re->ud, &r);
}

int store_runs_each(store *s, int64_t since, store_run_fn fn, void *ud,
                    char *err, size_t errlen)
{
    struct runs_each re = {fn, ud};
    struct engine_val a = EV_I(since);
    int st = STORE_OK;
    return exec(s, SQL_RUNS_SINCE, &a, 1, row_runs_each, &re, &st, err,
                errlen) < 0 ? st : STORE_OK;
}

/* ---- the cleanup journal ---------------------------------------------------- */

static int journal_state_ok(const char *state)
{
    static const char *const states[] = {"creating", "live", "deleting",
                                         "gone", "failed", NULL};
    for (int i = 0; states[i]; i++)
        if (state && strcmp(state, states[i]) == 0)
            return 1;
    return 0;
}

static int text_ok(const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : max + 1;
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int store_journal_add(store *s, const char *kind, const char *run,
                      const char *provider, const char *spec,
                      int64_t now, int64_t *id, char *err, size_t errlen)
{
    int st = STORE_OK;
    *id = 0;
    if (!name_ok(kind) || !name_ok(run) || !name_ok(provider))
        return fail(err, errlen, STORE_EINVAL, "a journal entry needs a "
                    "kind, a run id and a provider (1-%d of A-Z a-z 0-9 . "
                    "_ : @ + / -)", STORE_NAME_MAX);
    if (!spec || strlen(spec) > STORE_SPEC_MAX)
        return fail(err, errlen, STORE_EINVAL, "a journal spec is JSON "
                    "text of at most %u bytes", STORE_SPEC_MAX);
    struct engine_val a[7] = {EV_S(kind), EV_S(run), EV_S(provider),
                              EV_S(spec), EV_I(now), EV_S(s->host),
                              EV_I((int64_t)getpid())};
    long n = exec(s, SQL_JOURNAL_ADD, a, 7, row_int, id, &st, err, errlen);
    return n == 1 ? STORE_OK : n < 0 ? st :
           fail(err, errlen, STORE_EIO, "%s: no id for the journal entry",
                s->e.where);
}

/* id, kind, run, provider, handle, state, spec, note, created, updated,
** host, pid */
static int row_journal(void *ud, const struct engine_val *c, int n)
{
    store_journal_entry *j = ud;
    if (n < 12)
        return 1;
    free(j->spec);
    memset(j, 0, sizeof *j);
    j->id = int_of(&c[0]);
    text_of(&c[1], j->kind, sizeof j->kind);
    text_of(&c[2], j->run, sizeof j->run);
    text_of(&c[3], j->provider, sizeof j->provider);
    text_of(&c[4], j->handle, sizeof j->handle);
    text_of(&c[5], j->state, sizeof j->state);
    j->spec = strndup(c[6].s, c[6].n);
    text_of(&c[7], j->note, sizeof j->note);
    j->created = int_of(&c[8]);
    j->updated = int_of(&c[9]);
    text_of(&c[10], j->host, sizeof j->host);
    j->pid = (long)int_of(&c[11]);
    return 1;
}

int store_journal_get(store *s, int64_t id, store_journal_entry *out,
                      char *err, size_t errlen)
{
    struct engine_val a = EV_I(id);
    int st = STORE_OK;
    memset(out, 0, sizeof *out);
    long n = exec(s, SQL_JOURNAL_GET, &a, 1, row_journal, out, &st, err,
                  errlen);
    if (n < 0)
        return st;
    if (n == 0)
        return fail(err, errlen, STORE_ENOTFOUND, "no journal entry %lld",
                    (long long)id);
    return out->spec ? STORE_OK : fail(err, errlen, STORE_ENOMEM,
                                       "out of memory");
}

/* "gone" is final: a deletion once verified is never undone. */
static int journal_set_in(store *s, int64_t id, const char *state,
                          const char *handle, const char *note,
                          int64_t now, char *err, size_t errlen)
{
    store_journal_entry j;
    int st = store_journal_get(s, id, &j, err, errlen);
    free(j.spec);
    if (st != STORE_OK)
        return st;
    if (strcmp(j.state, "gone") == 0 && strcmp(state, "gone") != 0)
        return fail(err, errlen, STORE_ESTATE, "journal entry %lld is "
                    "gone already", (long long)id);
    struct engine_val a[5] = {EV_S(state), EV_S(handle ? handle : ""),
                              EV_S(note ? note : ""), EV_I(now), EV_I(id)};
    return exec(s, SQL_JOURNAL_SET, a, 5, NULL, NULL, &st, err,
                errlen) < 0 ? st : STORE_OK;
}

int store_journal_set(store *s, int64_t id, const char *state,
                      const char *handle, const char *note, int64_t now,
                      char *err, size_t errlen)
{
    if (!journal_state_ok(state) || !text_ok(handle ? handle : "",
                                             STORE_KEY_MAX) ||
        !text_ok(note ? note : "", STORE_KEY_MAX))
        return fail(err, errlen, STORE_EINVAL, "a journal state is one of "
                    STORE_JOURNAL_STATES "; handle and note are printable "
                    "text of at most %d bytes", STORE_KEY_MAX);
    int st = begin(s, err, errlen);
    if (st != STORE_OK)
        return st;
    return finish(s, journal_set_in(s, id, state, handle, note, now, err,
                                    errlen), err, errlen);
}

struct journal_each {
    store_journal_fn fn;
    void *ud;
    store_journal_entry j;
};

static int row_journal_each(void *ud, const struct engine_val *c, int n)
{
    struct journal_each *je = ud;
    row_journal(&je->j, c, n);
    return je->fn(je->ud, &je->j);
}

int store_journal_live(store *s, const char *kind, store_journal_fn fn,
                       void *ud, char *err, size_t errlen)
{
    struct journal_each je = {fn, ud, {0}};
    struct engine_val a = EV_S(kind ? kind : "");
    int st = STORE_OK;
    long n = exec(s, SQL_JOURNAL_LIVE, &a, 1, row_journal_each, &je, &st,
                  err, errlen);
    free(je.j.spec);
    return n < 0 ? st : STORE_OK;
}

/* ---- recipe state ------------------------------------------------------------ */

/* Keys are printable ASCII: they sort the same in every engine and
** every locale, and show as they are in messages. */
static int key_ok(const char *s, size_t min)
{
    size_t n = s ? strnlen(s, STORE_KEY_MAX + 1) : 0;
    if (!s || n < min || n > STORE_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

static int check_kv(const char *ns, const char *key, char *err,
                    size_t errlen)
{
    if (!name_ok(ns))
        return fail(err, errlen, STORE_EINVAL, "a namespace is 1-%d of "
                    "A-Z a-z 0-9 . _ : @ + / -", STORE_NAME_MAX);
    if (!key_ok(key, 1))
        return fail(err, errlen, STORE_EINVAL, "a key is 1-%d characters "
                    "of printable ASCII", STORE_KEY_MAX);
    return STORE_OK;
}

static int check_value(const char *value, size_t len, char *err,
                       size_t errlen)
{
    if (!value || len > STORE_VALUE_MAX || memchr(value, '\0', len))
        return fail(err, errlen, STORE_EINVAL, "a stored value is text of "
                    "at most %u bytes", STORE_VALUE_MAX);
    return STORE_OK;
}

struct got_text {
    char *s;
    size_t n;
};

static int row_text(void *ud, const struct engine_val *c, int n)
{
    struct got_text *g = ud;
    if (n > 0 && (g->s = malloc(c[0].n + 1)) != NULL) {
        memcpy(g->s, c[0].s, c[0].n);
        g->s[c[0].n] = '\0';
        g->n = c[0].n;
    }
    return 1;
}

int store_state_get(store *s, const char *ns, const char *key,
                    char **value, size_t *len, char *err, size_t errlen)
{
    struct got_text g = {NULL, 0};
    int st = check_kv(ns, key, err, errlen);
    *value = NULL;
    *len = 0;
    if (st != STORE_OK)
        return st;
    struct engine_val a[2] = {EV_S(ns), EV_S(key)};
    long n = exec(s, SQL_STATE_GET, a, 2, row_text, &g, &st, err, errlen);
    if (n < 0)
        return st;
    if (n == 0)
        return fail(err, errlen, STORE_ENOTFOUND, "no key");
    if (!g.s)
        return fail(err, errlen, STORE_ENOMEM, "out of memory");
    *value = g.s;
    *len = g.n;
    return STORE_OK;
}

static int state_write(store *s, int sql, const char *ns, const char *key,
                       const char *value, size_t len, int64_t now,
                       long *rows, char *err, size_t errlen)
{
    int st = check_kv(ns, key, err, errlen);
    if (st == STORE_OK)
        st = check_value(value, len, err, errlen);
    if (st != STORE_OK)
        return st;
    struct engine_val a[4] = {EV_S(ns), EV_S(key), EV_SN(value, len),
                              EV_I(now)};
    *rows = exec(s, sql, a, 4, NULL, NULL, &st, err, errlen);
    return *rows < 0 ? st : STORE_OK;
}

int store_state_put(store *s, const char *ns, const char *key,
                    const char *value, size_t len, int64_t now,
                    char *err, size_t errlen)
{
    long rows;
    return state_write(s, SQL_STATE_PUT, ns, key, value, len, now, &rows,
                       err, errlen);
}

int store_state_claim(store *s, const char *ns, const char *key,
                      const char *value, size_t len, int64_t now,
                      int *won, char *err, size_t errlen)
{
    long rows = 0;
    int st = state_write(s, SQL_STATE_CLAIM, ns, key, value, len, now,
                         &rows, err, errlen);
    *won = st == STORE_OK && rows == 1;
    return st;
}

int store_state_delete(store *s, const char *ns, const char *key,
                       int *existed, char *err, size_t errlen)
{
    int st = check_kv(ns, key, err, errlen);
    *existed = 0;
    if (st != STORE_OK)
        return st;
    struct engine_val a[2] = {EV_S(ns), EV_S(key)};
    long n = exec(s, SQL_STATE_DELETE, a, 2, NULL, NULL, &st, err, errlen);
    *existed = n > 0;
    return n < 0 ? st : STORE_OK;
}

struct keys_each {
    store_key_fn fn;
    void *ud;
};

static int row_key(void *ud, const struct engine_val *c, int n)
{
    struct keys_each *ke = ud;
    return n > 0 ? ke->fn(ke->ud, c[0].s, c[0].n) : 1;
}

/*
** The keys that start with prefix are those from prefix up to, not
** including, prefix with its last byte raised by one: an index range,
** never a LIKE pattern that a key's own % or _ could widen.
*/
int store_state_list(store *s, const char *ns, const char *prefix,
                     long limit, store_key_fn fn, void *ud, char *err,
                     size_t errlen)
{
    char to[STORE_KEY_MAX + 1] = "";
    struct keys_each ke = {fn, ud};
    size_t n = prefix ? strlen(prefix) : 0;
    int st = STORE_OK;
    if (!name_ok(ns) || (n && !key_ok(prefix, 1)))
        return fail(err, errlen, STORE_EINVAL, "a namespace is 1-%d of "
                    "A-Z a-z 0-9 . _ : @ + / -, a prefix printable ASCII",
                    STORE_NAME_MAX);
    if (n) {
        memcpy(to, prefix, n + 1);
        to[n - 1]++;                    /* printable ASCII: at most 0x7f */
    }
    struct engine_val a[4] = {EV_S(ns), EV_S(n ? prefix : ""), EV_S(to),
                              EV_I(limit > 0 ? limit : 1000)};
    return exec(s, SQL_STATE_LIST, a, 4, row_key, &ke, &st, err,
                errlen) < 0 ? st : STORE_OK;
}

/* ---- operators ---------------------------------------------------------------- */

static int row_info(void *ud, const struct engine_val *c, int n)
{
    store_info *in = ud;
    if (n >= 3) {
        in->runs = int_of(&c[0]);
        in->journal_live = int_of(&c[1]);
        in->state_keys = int_of(&c[2]);
    }
    return 1;
}

int store_info_get(store *s, store_info *out, char *err, size_t errlen)
{
    store_totals all;
    int64_t v = 0;
    int st = STORE_OK;
    struct engine_val k = EV_S("schema_version");
    memset(out, 0, sizeof *out);
    if (exec(s, SQL_META_GET, &k, 1, row_int, &v, &st, err, errlen) < 0 ||
        exec(s, SQL_INFO, NULL, 0, row_info, out, &st, err, errlen) < 0)
        return st;
    if ((st = store_totals_get(s, STORE_SCOPE_ALL, "", &all, err,
                               errlen)) != STORE_OK)
        return st;
    out->schema = (int)v;
    out->schema_newest = ENGINE_SCHEMA_VERSION;
    out->records = all.n_open + all.n_settled + all.n_released;
    out->open = all.n_open;
    return STORE_OK;
}

/* ---- importing a clawhost 0.1 ledger ------------------------------------ */

/* One v1 record: the record itself, its run, and every scope's totals. */
static int import_record(store *s, const ledger_record *r, int *st,
                         char *err, size_t errlen)
{
    static const char *const names[] = {"open", "settled", "released"};
    struct scopes sc;
    char day[11], recipe[STORE_NAME_MAX + 1];
    int64_t id, open = r->state == LEDGER_OPEN;
    int64_t settled = r->state == LEDGER_SETTLED ? r->settled : 0;
    int64_t committed = open ? r->reserved : settled;
    store_day(r->created, day);
    struct engine_val a[10] = {EV_S(r->run), EV_S(r->label),
        EV_S(names[r->state]), EV_I(r->reserved), EV_I(settled),
        EV_I(r->created), EV_I(r->updated), EV_S(day), EV_I(r->pid),
        EV_S("imported")};
    if (exec(s, SQL_SPEND_IMPORT, a, 10, row_int, &id, st, err, errlen) < 0)
        return -1;
    snprintf(recipe, sizeof recipe, "%.*s", (int)strcspn(r->run, "@"),
             r->run);
    struct engine_val run[6] = {EV_S(r->run), EV_S(recipe), EV_S("imported"),
                                EV_I(r->pid), EV_I(r->created), EV_S(day)};
    if (exec(s, SQL_RUN_BEGIN, run, 6, NULL, NULL, st, err, errlen) < 0)
        return -1;
    scopes_of(&sc, r->run, day, r->label, NULL);
    for (int i = 0; i < sc.n; i++) {
        struct engine_val k[2] = {EV_S(sc.kind[i]), EV_S(sc.key[i])};
        struct engine_val m[9] = {EV_I(committed),
            EV_I(open ? r->reserved : 0), EV_I(settled), EV_I(open),
            EV_I(r->state == LEDGER_SETTLED),
            EV_I(r->state == LEDGER_RELEASED), EV_I(r->created),
            EV_S(sc.kind[i]), EV_S(sc.key[i])};
        if (exec(s, SQL_TOTAL_ENSURE, k, 2, NULL, NULL, st, err,
                 errlen) < 0 ||
            exec(s, SQL_TOTAL_MOVE, m, 9, NULL, NULL, st, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/*
** The whole file in one transaction, marked done by its checksum in
** the same transaction: a crash before the commit imports nothing, a
** crash after it (before the file is renamed) never imports it twice.
*/
static int import_file(store *s, const ledger_file *f, char *err,
                       size_t errlen)
{
    char key[48], when[24];
    int64_t seen = 0;
    int st = STORE_OK;
    snprintf(key, sizeof key, "import.v1.%016llx",
             (unsigned long long)f->checksum);
    snprintf(when, sizeof when, "%lld", (long long)store_now());
    struct engine_val k[2] = {EV_S(key), EV_S(when)};
    if ((st = begin(s, err, errlen)) != STORE_OK)
        return st;
    if (exec(s, SQL_META_GET, k, 1, row_int, &seen, &st, err, errlen) < 0)
        return finish(s, st, err, errlen);
    for (size_t i = 0; !seen && i < f->n; i++)
        if (import_record(s, &f->rec[i], &st, err, errlen) != 0)
            return finish(s, st, err, errlen);
    if (!seen && exec(s, SQL_META_SET, k, 2, NULL, NULL, &st, err,
                      errlen) < 0)
        return finish(s, st, err, errlen);
    return finish(s, STORE_OK, err, errlen);
}

static int store_status_of(int ledger_st)
{
    return ledger_st == LEDGER_ECORRUPT || ledger_st == LEDGER_ELIMIT ?
           STORE_ECORRUPT : ledger_st == LEDGER_EBUSY ? STORE_EBUSY :
           ledger_st == LEDGER_ENOMEM ? STORE_ENOMEM : STORE_EIO;
}

/*
** STATE_DIR/spend.ledger, when there is one: imported whole, then
** renamed spend.ledger.imported. A damaged file is refused (the store
** does not open, so no paid call is made) and left as it is.
*/
static int import_v1(store *s, char *err, size_t errlen)
{
    char dir[PATH_MAX - 64], path[PATH_MAX - 32], done[PATH_MAX];
    ledger_file f;
    int fd, st;
    struct stat sb;
    if (resolve_dir(dir, sizeof dir, NULL, 0) != STORE_OK)
        return STORE_OK;
    snprintf(path, sizeof path, "%s/" LEDGER_FILE, dir);
    if (lstat(path, &sb) != 0)
        return STORE_OK;
    if ((st = ledger_lock(dir, STORE_BUSY_MS, &fd, err, errlen)) != 0)
        return store_status_of(st);
    st = ledger_read(path, &f, err, errlen);
    if (st == LEDGER_OK) {
        st = import_file(s, &f, err, errlen);
        ledger_file_free(&f);
        snprintf(done, sizeof done, "%s.imported", path);
        if (st == STORE_OK && rename(path, done) != 0)
            st = fail(err, errlen, STORE_EIO, "%s was imported but cannot "
                      "be renamed: %s", path, strerror(errno));
    } else {
        st = store_status_of(st);
    }
    ledger_unlock(fd);
    return st;
}

/* ---- opening ------------------------------------------------------------------ */

/* This machine's name, in the alphabet records use. */
static void host_name(char *out, size_t size)
{
    char h[256] = "";
    size_t n = 0;
    if (gethostname(h, sizeof h - 1) != 0)
        snprintf(h, sizeof h, "unknown");
    for (size_t i = 0; h[i] && n + 1 < size; i++)
        out[n++] = name_ok((char[]){h[i], '\0'}) ? h[i] : '-';
    out[n] = '\0';
    if (n == 0)
        snprintf(out, size, "unknown");
}

static const char url_help[] =
    "CLAWHOST_STORE must be sqlite:///ABSOLUTE/PATH.db or "
    "postgresql://USER@HOST/DB (also postgres://), or unset for "
    "STATE_DIR/" STORE_DB_FILE;

static int open_default(store *s, char *err, size_t errlen)
{
    char dir[PATH_MAX - 32], path[PATH_MAX];
    int st = store_state_dir(dir, sizeof dir, 1, err, errlen);
    if (st == STORE_OK)
        st = check_dir(dir, err, errlen);
    if (st != STORE_OK)
        return st;
    snprintf(path, sizeof path, "%s/" STORE_DB_FILE, dir);
    return engine_sqlite_open(&s->e, path, err, errlen);
}

/* The URL is never quoted in a message: it may hold a password. */
static int open_engine(store *s, const char *url, char *err, size_t errlen)
{
    if (!url || !*url)
        return open_default(s, err, errlen);
    if (strncmp(url, "sqlite://", 9) == 0) {
        if (url[9] != '/' || strlen(url + 9) >= PATH_MAX - 8)
            return fail(err, errlen, STORE_EINVAL, "%s", url_help);
        return engine_sqlite_open(&s->e, url + 9, err, errlen);
    }
    if (strncmp(url, "postgresql://", 13) == 0 ||
        strncmp(url, "postgres://", 11) == 0)
        return engine_pg_open(&s->e, url, err, errlen);
    return fail(err, errlen, STORE_EINVAL, "%s", url_help);
}

int store_open(store **out, const char *url, char *err, size_t errlen)
{
    store *s = calloc(1, sizeof *s);
    int from = 0, to = 0, st;
    *out = NULL;
    if (!s)
        return fail(err, errlen, STORE_ENOMEM, "out of memory");
    host_name(s->host, sizeof s->host);
    st = open_engine(s, url, err, errlen);
    if (st == STORE_OK)
        st = s->e.ops->migrate(&s->e, &from, &to, err, errlen);
    s->migrated_from = from;
    s->migrated_to = to;
    if (st == STORE_OK)
        st = import_v1(s, err, errlen);
    if (st != STORE_OK) {
        store_close(s);
        return st;
    }
    *out = s;
    return STORE_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->e.ops)
        s->e.ops->close(&s->e);
    free(s);
}

const char *store_engine(const store *s)
{
    return s->e.ops->name;
}

const char *store_where(const store *s)
{
    return s->e.where;
}

const char *store_host(const store *s)
{
    return s->host;
}

void store_migrated(const store *s, int *from, int *to)
{
    *from = s->migrated_from;
    *to = s->migrated_to;
}
