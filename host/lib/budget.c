/*
** budget.c -- the `budget` module: reserve before a paid call, settle
** after it, against a hard cap kept in the store (store/store.c).
**
**   local r, err = budget.reserve(usd, label)   -- or nil, err
**   r:settle(actual_usd)        -- what the call really cost
**   r:release()                 -- only when nothing was sent
**   budget.cap(), budget.spent(), budget.remaining(), budget.status()
**
** The cap is --budget, else THETA_MAX_BUDGET_USD, else 2.00; a daily cap
** shared by all runs comes from CLAWHOST_DAILY_BUDGET_USD. Check and
** reservation are one database transaction, so concurrent runs, on one
** machine or many, cannot together pass a cap (reliability-anchors
** 4.2). In a dry
** run nothing is written: reservations are counted in memory only, so
** a plan can still say what the cap would skip.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lib/budget.h"
#include "lib/lstore.h"
#include "pure/money.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/log.h"
#include "runtime/rt.h"
#include "store/store.h"

#define RESERVATION_TYPE "clawhost.budget.Reservation"
#define MAX_OPEN 4096

struct reservation {
    int64_t id;
    int64_t amount;
    int64_t settled;
    char label[STORE_NAME_MAX + 1];
    int state;                  /* store_state */
    int dry;
};

static struct {
    int ready;
    store *s;                   /* NULL until a write or a read needs it */
    int64_t cap, daily;
    char group[STORE_NAME_MAX + 1];     /* CLAWHOST_BUDGET_GROUP, or "" */
    int64_t group_cap;
    int64_t dry_committed;
    struct { int64_t id, amount; } open[MAX_OPEN];  /* still open */
    int nopen;
} B;

static int64_t usd_setting(lua_State *L, const char *value,
                           const char *what, int64_t def)
{
    char err[256];
    int64_t nano;
    if (!value)
        return def;
    if (money_usd_parse(value, &nano, err, sizeof err) != 0)
        err_raise(L, "config", "%s: %s", what, err);
    return nano;
}

/* The store, opened on the first reservation or status read: a dry run
** without a daily cap never needs it. Unreachable fails closed. */
static store *db(lua_State *L)
{
    char err[512] = "";
    if (!B.s && !(B.s = lstore_get(err, sizeof err)))
        err_raise(L, "config", "the spend store cannot be used, so no "
                  "paid call is made: %s", err);
    return B.s;
}

/*
** A parent that starts runs on someone's behalf (clawhost mcp) gives
** them one budget for its whole life: CLAWHOST_BUDGET_GROUP names the
** group, CLAWHOST_BUDGET_GROUP_CAP its cap, and every reservation of
** every run with them also counts in the group, checked in the same
** store transaction as the run's own caps. Read from the process
** environment only: a recipe's settings cannot widen it.
*/
static void read_group(lua_State *L)
{
    const char *g = getenv("CLAWHOST_BUDGET_GROUP");
    const char *cap = getenv("CLAWHOST_BUDGET_GROUP_CAP");
    B.group[0] = '\0';
    B.group_cap = STORE_NO_CAP;
    if (!g || !*g)
        return;
    size_t n = strlen(g);
    if (n > STORE_NAME_MAX || strspn(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "abcdefghijklmnopqrstuvwxyz0123456789"
                                     "._:@+/-") != n)
        err_raise(L, "config", "CLAWHOST_BUDGET_GROUP must be 1 to %d of "
                  "A-Z a-z 0-9 . _ : @ + / -", STORE_NAME_MAX);
    memcpy(B.group, g, n + 1);
    B.group_cap = usd_setting(L, cap, "CLAWHOST_BUDGET_GROUP_CAP",
                              STORE_NO_CAP);
}

static void ensure(lua_State *L)
{
    const char *src, *cerr;
    if (B.ready)
        return;
    const char *cap = rt_get()->opt.budget;
    if (!cap)
        cap = config_lookup("THETA_MAX_BUDGET_USD", &src, &cerr);
    B.cap = usd_setting(L, cap, rt_get()->opt.budget ? "--budget" :
                        "THETA_MAX_BUDGET_USD", 2 * MONEY_NANO_PER_USD);
    B.daily = usd_setting(L, config_lookup("CLAWHOST_DAILY_BUDGET_USD",
                                           &src, &cerr),
                          "CLAWHOST_DAILY_BUDGET_USD", STORE_NO_CAP);
    read_group(L);
    B.ready = 1;
}

static double to_usd(int64_t nano)
{
    return (double)nano / (double)MONEY_NANO_PER_USD;
}

/* An amount as a number of USD (>= 0) or a decimal string. */
static int64_t check_amount(lua_State *L, int idx)
{
    char err[256];
    int64_t nano;
    int rc;
    if (lua_type(L, idx) == LUA_TSTRING)
        rc = money_usd_parse(lua_tostring(L, idx), &nano, err, sizeof err);
    else
        rc = money_usd_from_double(luaL_checknumber(L, idx), &nano, err,
                                   sizeof err);
    if (rc != 0)
        luaL_argerror(L, idx, err);
    return nano;
}

/* An amount in an options table: its errors name the field. */
static int64_t opt_amount(lua_State *L, int idx, const char *what)
{
    char err[256];
    int64_t nano;
    int rc = lua_type(L, idx) == LUA_TSTRING
             ? money_usd_parse(lua_tostring(L, idx), &nano, err, sizeof err)
             : lua_type(L, idx) == LUA_TNUMBER
             ? money_usd_from_double(lua_tonumber(L, idx), &nano, err,
                                     sizeof err)
             : (snprintf(err, sizeof err, "expected USD, got a %s",
                         luaL_typename(L, idx)), -1);
    if (rc != 0)
        luaL_error(L, "budget.reserve: %s: %s", what, err);
    return nano;
}

static void clean_label(const char *in, char *out)
{
    size_t i = 0;
    for (; in[i] && i < STORE_NAME_MAX; i++)
        out[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                        "VWXYZ0123456789._:@+/-", in[i]) ? in[i] : '_';
    out[i] = '\0';
    if (i == 0)
        strcpy(out, "unnamed");
}

static void track_open(int64_t id, int64_t amount)
{
    if (B.nopen < MAX_OPEN) {
        B.open[B.nopen].id = id;
        B.open[B.nopen++].amount = amount;
    }
}

static void untrack(int64_t id)
{
    for (int i = 0; i < B.nopen; i++)
        if (B.open[i].id == id) {
            B.open[i] = B.open[--B.nopen];
            return;
        }
}

static int exceeded(lua_State *L, const char *label, const char *which,
                    int64_t cap, int64_t committed, int64_t requested)
{
    char c[32], d[32], q[32];
    money_usd_format(cap, c, sizeof c);
    money_usd_format(committed, d, sizeof d);
    money_usd_format(requested, q, sizeof q);
    lua_pushnil(L);
    err_push(L, "budget_exceeded", "%s: reserving %s USD would pass the "
             "%s cap of %s USD (%s USD already committed)", label, q,
             which, c, d);
    lua_pushnumber(L, to_usd(cap));
    lua_setfield(L, -2, "cap");
    lua_pushnumber(L, to_usd(committed));
    lua_setfield(L, -2, "committed");
    lua_pushnumber(L, to_usd(requested));
    lua_setfield(L, -2, "requested");
    lua_pushstring(L, which);
    lua_setfield(L, -2, "which");
    return 2;
}

static struct reservation *push_reservation(lua_State *L, int64_t id,
                                            int64_t amount,
                                            const char *label, int dry)
{
    struct reservation *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    r->id = id;
    r->amount = amount;
    r->dry = dry;
    snprintf(r->label, sizeof r->label, "%s", label);
    luaL_setmetatable(L, RESERVATION_TYPE);
    return r;
}

static void totals(lua_State *L, store_totals *run, store_totals *day);

/* What a scope (a label, a group) has committed over all runs. */
static int64_t scope_committed(lua_State *L, const char *kind,
                               const char *key)
{
    char err[512];
    store_totals t;
    if (store_totals_get(db(L), kind, key, &t, err, sizeof err) !=
        STORE_OK)
        err_raise(L, "config", "spend store: %s", err);
    return t.committed;
}

static int64_t label_committed(lua_State *L, const char *label)
{
    return scope_committed(L, STORE_SCOPE_LABEL, label);
}

/* A dry run writes nothing, but is held to every cap: the real spend
** (read from the store) plus what this plan would reserve. */
static int dry_reserve(lua_State *L, int64_t amount, const char *label,
                       int64_t label_cap)
{
    store_totals run, day;
    if (B.cap != STORE_NO_CAP && B.dry_committed + amount > B.cap)
        return exceeded(L, label, "run", B.cap, B.dry_committed, amount);
    if (B.daily != STORE_NO_CAP) {
        totals(L, &run, &day);
        if (day.committed + B.dry_committed + amount > B.daily)
            return exceeded(L, label, "daily", B.daily,
                            day.committed + B.dry_committed, amount);
    }
    if (label_cap != STORE_NO_CAP) {
        int64_t got = label_committed(L, label) + B.dry_committed;
        if (got + amount > label_cap)
            return exceeded(L, label, "label", label_cap, got, amount);
    }
    if (B.group[0] && B.group_cap != STORE_NO_CAP) {
        int64_t got = scope_committed(L, STORE_SCOPE_GROUP, B.group) +
                      B.dry_committed;
        if (got + amount > B.group_cap)
            return exceeded(L, label, "group", B.group_cap, got, amount);
    }
    B.dry_committed += amount;
    push_reservation(L, 0, amount, label, 1);
    return 1;
}

/*
** budget.reserve(usd, label[, {cap = usd}]): the worst case this call
** can cost. opts.cap caps the label itself, over every run and day that
** reserves under it: a campaign's budget, spread over its reruns.
*/
static int l_reserve(lua_State *L)
{
    char label[STORE_NAME_MAX + 1], err[512];
    int64_t amount = check_amount(L, 1), label_cap = STORE_NO_CAP;
    store_reserve_result res;
    clean_label(luaL_checkstring(L, 2), label);
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        if (lua_getfield(L, 3, "cap") != LUA_TNIL)
            label_cap = opt_amount(L, lua_gettop(L), "opts.cap");
    }
    ensure(L);
    if (rt_get()->opt.dry_run)
        return dry_reserve(L, amount, label, label_cap);
    store_reserve_req req = {lstore_run_id(), label, amount, B.cap,
                             B.daily, store_now(), label_cap, B.group,
                             B.group_cap};
    int rc = store_reserve(db(L), &req, &res, err, sizeof err);
    if (rc == STORE_EXCEEDED)
        return exceeded(L, label, res.cap_hit == STORE_CAP_DAILY ?
                        "daily" : res.cap_hit == STORE_CAP_LABEL ?
                        "label" : res.cap_hit == STORE_CAP_GROUP ?
                        "group" : "run", res.cap, res.committed, amount);
    if (rc != STORE_OK)
        return err_raise(L, "config", "spend store: %s (nothing was "
                         "sent)", err);
    track_open(res.id, amount);
    push_reservation(L, res.id, amount, label, 0);
    return 1;
}

static struct reservation *check_reservation(lua_State *L)
{
    struct reservation *r = luaL_checkudata(L, 1, RESERVATION_TYPE);
    if (r->state != STORE_OPEN)
        luaL_error(L, "budget: reservation for %s is already %s", r->label,
                   store_state_name((store_state)r->state));
    return r;
}

/* r:settle(usd): replace the reservation by the real cost. */
static int l_settle(lua_State *L)
{
    struct reservation *r = check_reservation(L);
    int64_t amount = check_amount(L, 2);
    store_settle_result res;
    char err[512];
    if (!r->dry) {
        if (store_settle(db(L), r->id, amount, store_now(), &res, err,
                         sizeof err) != STORE_OK)
            return err_raise(L, "config", "spend store: %s", err);
        untrack(r->id);
        if (res.over_by > 0)
            log_msgf(LOG_WARN, "%s cost more than reserved (by %.9f USD)",
                     r->label, to_usd(res.over_by));
    } else {
        B.dry_committed += amount - r->amount;
    }
    r->state = STORE_SETTLED;
    r->settled = amount;
    return 0;
}

/* r:release(): nothing was spent; only when the request never left. */
static int l_release(lua_State *L)
{
    struct reservation *r = check_reservation(L);
    store_settle_result res;
    char err[512];
    if (!r->dry) {
        if (store_release(db(L), r->id, store_now(), &res, err,
                          sizeof err) != STORE_OK)
            return err_raise(L, "config", "spend store: %s", err);
        untrack(r->id);
    } else {
        B.dry_committed -= r->amount;
    }
    r->state = STORE_RELEASED;
    return 0;
}

static int r_index(lua_State *L)
{
    struct reservation *r = luaL_checkudata(L, 1, RESERVATION_TYPE);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "amount") == 0)
        lua_pushnumber(L, to_usd(r->amount));
    else if (strcmp(k, "settled") == 0)
        lua_pushnumber(L, to_usd(r->settled));
    else if (strcmp(k, "label") == 0)
        lua_pushstring(L, r->label);
    else if (strcmp(k, "state") == 0)
        lua_pushstring(L, store_state_name((store_state)r->state));
    else if (strcmp(k, "settle") == 0)
        lua_pushcfunction(L, l_settle);
    else if (strcmp(k, "release") == 0)
        lua_pushcfunction(L, l_release);
    else
        lua_pushnil(L);
    return 1;
}

static int r_tostring(lua_State *L)
{
    struct reservation *r = luaL_checkudata(L, 1, RESERVATION_TYPE);
    lua_pushfstring(L, RESERVATION_TYPE " (%s, %s)", r->label,
                    store_state_name((store_state)r->state));
    return 1;
}

/* ---- status ---- */

/* The run's and today's totals: two reads, whatever the history. */
static void totals(lua_State *L, store_totals *run, store_totals *day)
{
    char err[512], today[11];
    ensure(L);
    store_day(store_now(), today);
    if (store_totals_get(db(L), STORE_SCOPE_RUN, lstore_run_id(), run, err,
                         sizeof err) != STORE_OK ||
        store_totals_get(db(L), STORE_SCOPE_DAY, today, day, err,
                         sizeof err) != STORE_OK)
        err_raise(L, "config", "spend store: %s", err);
    if (rt_get()->opt.dry_run)
        run->committed += B.dry_committed;
}

static void set_usd(lua_State *L, const char *k, int64_t nano)
{
    if (nano == STORE_NO_CAP)
        lua_pushnil(L);
    else
        lua_pushnumber(L, to_usd(nano));
    lua_setfield(L, -2, k);
}

static int l_status(lua_State *L)
{
    store_totals run, day;
    totals(L, &run, &day);
    lua_createtable(L, 0, 8);
    lua_pushstring(L, lstore_run_id());
    lua_setfield(L, -2, "run");
    set_usd(L, "cap", B.cap);
    set_usd(L, "spent", run.settled);
    set_usd(L, "reserved", run.open);
    set_usd(L, "committed", run.committed);
    set_usd(L, "remaining", B.cap == STORE_NO_CAP ? STORE_NO_CAP :
            B.cap > run.committed ? B.cap - run.committed : 0);
    set_usd(L, "daily_cap", B.daily);
    set_usd(L, "daily_committed", day.committed);
    lua_pushboolean(L, rt_get()->opt.dry_run);
    lua_setfield(L, -2, "dry_run");
    return 1;
}

static int status_field(lua_State *L, const char *k)
{
    lua_settop(L, 0);
    l_status(L);
    lua_getfield(L, 1, k);
    return 1;
}

static int l_cap(lua_State *L) { return status_field(L, "cap"); }
static int l_spent(lua_State *L) { return status_field(L, "spent"); }
static int l_remaining(lua_State *L)
{
    return status_field(L, "remaining");
}

/*
** After cleanup: a reservation the recipe never settled is settled at
** its reserved amount (the call may have cost that much), so the run
** leaves nothing open. A killed run's stay open and counted.
*/
void budget_finish(void)
{
    char err[512];
    if (!B.ready)
        return;
    if (B.nopen > 0)
        log_msgf(LOG_WARN, "%d reservation%s never settled; counted at "
                 "the reserved amount", B.nopen, B.nopen > 1 ? "s were" :
                 " was");
    for (int i = 0; i < B.nopen && B.s; i++)
        store_settle(B.s, B.open[i].id, B.open[i].amount, store_now(),
                     NULL, err, sizeof err);
    B.nopen = 0;
    memset(&B, 0, sizeof B);    /* lstore_finish closes the store */
}

static const luaL_Reg reservation_meta[] = {
    {"__index", r_index},
    {"__tostring", r_tostring},
    {NULL, NULL}
};

static const luaL_Reg budget_funcs[] = {
    {"reserve", l_reserve},
    {"status", l_status},
    {"cap", l_cap},
    {"spent", l_spent},
    {"remaining", l_remaining},
    {NULL, NULL}
};

int luaopen_clawhost_budget(lua_State *L)
{
    hostmt_type(L, RESERVATION_TYPE, reservation_meta, NULL);
    lua_pop(L, 1);
    luaL_newlib(L, budget_funcs);
    return 1;
}
