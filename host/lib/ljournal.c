/*
** ljournal.c -- the `journal` module: the store's cleanup journal.
**
**   journal.add{kind =, provider =, spec =}   id ("creating"), or nil, err
**   journal.set(id, state[, {handle =, note =}])   true, or nil, err
**   journal.get(id)                 the entry, or nil, err
**   journal.pending([kind])         entries not yet gone, oldest first
**
** Anything that costs money while it lives is written here before the
** request that creates it is sent, so a process killed at any moment
** leaves a record the next run or `clawhost sweep` can finish
** (docs/deployments.md). States: creating, live, deleting, gone (final),
** failed. A spec is any JSON-encodable table (no secrets: json.encode
** refuses them) of at most 16 KiB: what finds the thing again.
**
** Whether an entry is abandoned is decided here, not in Lua, because it
** needs the process table: an entry of another run is abandoned when
** that run ended, or when it ran on this machine and its process is
** gone. One on another machine is never taken for abandoned (its run
** may still be cleaning up); sweep --force may take it over.
**
** In a dry run nothing is written: add and set return nil, err
** (dry_run).
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <lauxlib.h>

#include "lib/json.h"
#include "lib/ljournal.h"
#include "lib/lstore.h"
#include "runtime/err.h"
#include "runtime/rt.h"

static store *need(lua_State *L)
{
    char err[512] = "";
    store *s = lstore_get(err, sizeof err);
    if (!s)
        err_raise(L, "config", "journal: %s", err);
    return s;
}

static int failed(lua_State *L, int st, const char *err)
{
    lua_pushnil(L);
    err_push(L, store_status_code(st), "journal: %s", err);
    return 2;
}

static int dry(lua_State *L, const char *what)
{
    if (!rt_get()->opt.dry_run)
        return 0;
    lua_pushnil(L);
    err_push(L, "dry_run", "journal.%s: not written (dry run)", what);
    return 1;
}

static const char *opt_field(lua_State *L, int t, const char *name)
{
    if (lua_isnoneornil(L, t))
        return NULL;
    lua_getfield(L, t, name);
    const char *v = lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
    if (!lua_isnil(L, -1) && !v)
        luaL_error(L, "journal: %s must be a string", name);
    lua_pop(L, 1);              /* the table keeps it alive */
    return v;
}

static int l_add(lua_State *L)
{
    char err[512];
    int64_t id;
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *kind = opt_field(L, 1, "kind");
    const char *provider = opt_field(L, 1, "provider");
    if (!kind || !provider)
        return luaL_error(L, "journal.add: kind and provider are "
                          "required");
    if (dry(L, "add"))
        return 2;
    lua_getfield(L, 1, "spec");
    luaL_argexpected(L, lua_istable(L, -1), 1, "spec to be a table");
    json_encode_value(L, -1, 0);
    const char *spec = lua_tostring(L, -1);
    store *s = need(L);
    int st = store_journal_add(s, kind, lstore_run_id(), provider, spec,
                               store_now(), &id, err, sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

static int64_t check_id(lua_State *L, int idx)
{
    lua_Integer id = luaL_checkinteger(L, idx);
    luaL_argcheck(L, id > 0, idx, "a journal id is a positive integer");
    return (int64_t)id;
}

static int l_set(lua_State *L)
{
    char err[512];
    int64_t id = check_id(L, 1);
    const char *state = luaL_checkstring(L, 2);
    const char *handle = opt_field(L, 3, "handle");
    const char *note = opt_field(L, 3, "note");
    if (dry(L, "set"))
        return 2;
    int st = store_journal_set(need(L), id, state, handle, note,
                               store_now(), err, sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    lua_pushboolean(L, 1);
    return 1;
}

/* Whose the entry is: mine, abandoned, and a sentence saying why. */
static void push_owner(lua_State *L, store *s, const store_journal_entry *j)
{
    char err[512], why[256];
    store_run r;
    int mine = strcmp(j->run, lstore_run_id()) == 0, abandoned = 0;

    if (mine) {
        snprintf(why, sizeof why, "this run");
    } else if (store_run_get(s, j->run, &r, err, sizeof err) != STORE_OK) {
        abandoned = 1;
        snprintf(why, sizeof why, "run %s left no record", j->run);
    } else if (r.ended != 0) {
        abandoned = 1;
        snprintf(why, sizeof why, "run %s ended (exit %d) without "
                 "finishing it", r.id, r.exit_code);
    } else if (strcmp(r.host, store_host(s)) == 0) {
        abandoned = r.pid <= 0 || (kill((pid_t)r.pid, 0) != 0 &&
                                   errno == ESRCH);
        snprintf(why, sizeof why, abandoned ? "run %s was killed (process "
                 "%ld is gone)" : "run %s is still running (process %ld)",
                 r.id, r.pid);
    } else {
        snprintf(why, sizeof why, "run %s on host %s may still be "
                 "running", r.id, r.host);
    }
    lua_pushboolean(L, mine);
    lua_setfield(L, -2, "mine");
    lua_pushboolean(L, abandoned);
    lua_setfield(L, -2, "abandoned");
    lua_pushstring(L, why);
    lua_setfield(L, -2, "owner");
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    if (v && v[0]) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
}

static void set_int(lua_State *L, const char *k, int64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* The entry as a table; a spec the store holds is decoded (a damaged
** one is left out, with spec_error saying why). */
static void push_entry(lua_State *L, store *s, const store_journal_entry *j)
{
    lua_createtable(L, 0, 16);
    set_int(L, "id", j->id);
    set_str(L, "kind", j->kind);
    set_str(L, "run", j->run);
    set_str(L, "provider", j->provider);
    set_str(L, "handle", j->handle);
    set_str(L, "state", j->state);
    set_str(L, "note", j->note);
    set_str(L, "host", j->host);
    set_int(L, "pid", j->pid);
    set_int(L, "created", j->created);
    set_int(L, "updated", j->updated);
    if (j->spec && json_decode_buffer(L, j->spec, strlen(j->spec)) == 0) {
        lua_setfield(L, -2, "spec");
    } else if (j->spec) {
        lua_getfield(L, -1, "message");
        lua_setfield(L, -3, "spec_error");
        lua_pop(L, 1);
    }
    push_owner(L, s, j);
}

static int l_get(lua_State *L)
{
    char err[512];
    store_journal_entry j;
    int64_t id = check_id(L, 1);
    store *s = need(L);
    int st = store_journal_get(s, id, &j, err, sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    push_entry(L, s, &j);
    free(j.spec);
    return 1;
}

struct each {
    lua_State *L;
    store *s;
};

static int add_entry(void *ud, const store_journal_entry *j)
{
    struct each *e = ud;
    push_entry(e->L, e->s, j);
    lua_rawseti(e->L, -2, (lua_Integer)lua_rawlen(e->L, -2) + 1);
    return 0;
}

static int l_pending(lua_State *L)
{
    char err[512];
    const char *kind = luaL_optstring(L, 1, NULL);
    store *s = need(L);
    struct each e = {L, s};
    lua_settop(L, 1);
    lua_newtable(L);
    int st = store_journal_live(s, kind, add_entry, &e, err, sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    json_mark_array(L, -1);
    return 1;
}

static const luaL_Reg journal_funcs[] = {
    {"add", l_add},
    {"set", l_set},
    {"get", l_get},
    {"pending", l_pending},
    {NULL, NULL}
};

int luaopen_clawhost_journal(lua_State *L)
{
    luaL_newlib(L, journal_funcs);
    return 1;
}
