/*
** lstore.c -- the run's store, and the `store` module.
**
**   local s = store.open()          this recipe's own namespace
**   local s = store.open("ns")      another one: library code only
**   s:get(key)                      value, or nil; nil, err on failure
**   s:put(key, value)               true, or nil, err
**   s:claim(key, value)             true when this call stored it;
**                                   false, the value already there
**   s:delete(key)                   whether it was there, or nil, err
**   s:list([prefix[, limit]])       the keys, in order, or nil, err
**
** Values are anything json.encode takes. A recipe sees only its own
** namespace ("recipe:NAME"); code under lua/ may name one, so that a
** library (campaigns) keeps state across recipes. In a dry run nothing
** is written: put, claim and delete return nil, err (code dry_run).
**
** The store itself is opened here on first need (budget, journal,
** state) and closed by init.c's finishers after the Lua state, with the
** run's exit status recorded. A run that never needs it never opens
** it: a free recipe's cold start does not pay for a database.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lib/json.h"
#include "lib/lstore.h"
#include "lib/secret.h"
#include "runtime/clock.h"
#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/out.h"
#include "runtime/rt.h"

#define SPACE_TYPE "clawhost.store.Space"

static struct {
    store *s;
    char run[STORE_NAME_MAX + 1];
} S;

/* RECIPE@START-PID with every other byte as '_'. */
const char *lstore_run_id(void)
{
    char when[32];
    if (S.run[0])
        return S.run;
    const char *name = rt_get()->recipe_name[0] ? rt_get()->recipe_name :
                       "run";
    clock_format_iso(clock_realtime(), 0, when, sizeof when);
    snprintf(S.run, sizeof S.run, "%.24s@%.20s-%ld", name, when,
             (long)getpid());
    for (char *c = S.run; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._:@+/-", *c))
            *c = '_';
    return S.run;
}

/* The password of scheme://user:password@host, masked in all output,
** also on its own: libpq may quote parts of a URL it cannot read. */
static void protect_url(const char *url, size_t len)
{
    const char *p = strstr(url, "://"), *at, *colon;
    out_add_secret("CLAWHOST_STORE", url, len, NULL, 0);
    if (!p)
        return;
    p += 3;
    at = strchr(p, '@');
    colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
    if (colon && at - colon - 1 >= 4)
        out_add_secret("CLAWHOST_STORE", colon + 1,
                       (size_t)(at - colon - 1), NULL, 0);
}

int lstore_open(store **out, char *err, size_t errlen)
{
    const char *src;
    size_t len = 0;
    *out = NULL;
    err[0] = '\0';
    char *url = secret_lookup("CLAWHOST_STORE", &len, &src, err, errlen);
    if (!url && err[0])
        return STORE_EINVAL;
    if (url)
        protect_url(url, len);
    int st = store_open(out, url, err, errlen);
    secret_wipe(url, len);
    return st;
}

store *lstore_get(char *err, size_t errlen)
{
    if (S.s)
        return S.s;
    if (lstore_open(&S.s, err, errlen) != STORE_OK)
        return S.s = NULL;
    if (!rt_get()->opt.dry_run && store_run_begin(S.s, lstore_run_id(), rt_get()->recipe_name[0] ?
                        rt_get()->recipe_name : "run", store_now(), err,
                        errlen) != STORE_OK) {
        store_close(S.s);
        return S.s = NULL;
    }
    return S.s;
}

void lstore_finish(void)
{
    char err[512];
    if (!S.s)
        return;
    if (!rt_get()->opt.dry_run)
        store_run_end(S.s, S.run, rt_get()->exit_status, store_now(),
                      err, sizeof err);
    store_close(S.s);
    memset(&S, 0, sizeof S);
}

/* ---- the module ---- */

struct space {
    char ns[STORE_NAME_MAX + 1];
};

static store *need(lua_State *L)
{
    char err[512] = "";
    store *s = lstore_get(err, sizeof err);
    if (!s)
        err_raise(L, "config", "store: %s", err);
    return s;
}

/* nil, err for a failure the caller can live with (busy, unreachable). */
static int failed(lua_State *L, int st, const char *err)
{
    lua_pushnil(L);
    err_push(L, store_status_code(st), "store: %s", err);
    return 2;
}

/* Library code is code loaded from lua/: its chunks are "@lua/...". A
** chunk a recipe loads itself can never be named so (sandbox.c). */
static int called_from_library(lua_State *L)
{
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar) || !lua_getinfo(L, "S", &ar))
        return 0;
    return strncmp(ar.source, "@lua/", 5) == 0;
}

static int l_open(lua_State *L)
{
    struct space *sp;
    char ns[STORE_NAME_MAX + 1];
    if (lua_isnoneornil(L, 1)) {
        snprintf(ns, sizeof ns, "recipe:%.56s", rt_get()->recipe_name[0] ?
                 rt_get()->recipe_name : "run");
    } else {
        size_t n;
        const char *want = luaL_checklstring(L, 1, &n);
        luaL_argcheck(L, n >= 1 && n <= STORE_NAME_MAX, 1, "a namespace "
                      "is 1 to 64 characters");
        if (!called_from_library(L))
            return err_raise(L, "policy", "store.open('%s'): a recipe "
                             "has only its own namespace; call "
                             "store.open() (library code under lua/ may "
                             "name one)", want);
        memcpy(ns, want, n + 1);
    }
    sp = lua_newuserdatauv(L, sizeof *sp, 0);
    memcpy(sp->ns, ns, sizeof sp->ns);
    luaL_setmetatable(L, SPACE_TYPE);
    return 1;
}

static struct space *check_space(lua_State *L)
{
    return luaL_checkudata(L, 1, SPACE_TYPE);
}

static const char *check_key(lua_State *L, int idx)
{
    size_t n;
    const char *k = luaL_checklstring(L, idx, &n);
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x20 || k[i] > 0x7e)
            luaL_argerror(L, idx, "a key is printable ASCII");
    luaL_argcheck(L, n >= 1 && n <= STORE_KEY_MAX, idx,
                  "a key is 1 to 256 characters");
    return k;
}

static int l_get(lua_State *L)
{
    struct space *sp = check_space(L);
    const char *key = check_key(L, 2);
    char err[512], *v;
    size_t n;
    int st = store_state_get(need(L), sp->ns, key, &v, &n, err, sizeof err);
    if (st == STORE_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (st != STORE_OK)
        return failed(L, st, err);
    int bad = json_decode_buffer(L, v, n);
    free(v);
    if (bad) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* The value at 3 as JSON text (pushed); a bad value raises. */
static const char *encode_value(lua_State *L, size_t *n)
{
    luaL_checkany(L, 3);
    json_encode_value(L, 3, 0);
    const char *text = lua_tolstring(L, -1, n);
    luaL_argcheck(L, *n <= STORE_VALUE_MAX, 3, "a stored value is at "
                  "most 65536 bytes of JSON");
    return text;
}

static int dry(lua_State *L, const char *what)
{
    if (!rt_get()->opt.dry_run)
        return 0;
    lua_pushnil(L);
    err_push(L, "dry_run", "store: %s not written (dry run)", what);
    return 2;
}

static int l_put(lua_State *L)
{
    struct space *sp = check_space(L);
    const char *key = check_key(L, 2);
    char err[512];
    size_t n;
    const char *text = encode_value(L, &n);
    if (dry(L, key))
        return 2;
    int st = store_state_put(need(L), sp->ns, key, text, n, store_now(),
                             err, sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_claim(lua_State *L)
{
    struct space *sp = check_space(L);
    const char *key = check_key(L, 2);
    char err[512];
    size_t n;
    int won;
    const char *text = encode_value(L, &n);
    if (dry(L, key))
        return 2;
    int st = store_state_claim(need(L), sp->ns, key, text, n, store_now(),
                               &won, err, sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    lua_pushboolean(L, won);
    if (won)
        return 1;
    lua_settop(L, 2);
    l_get(L);               /* false, the value that was there first */
    lua_pushboolean(L, 0);
    lua_insert(L, 3);
    return 2;
}

static int l_delete(lua_State *L)
{
    struct space *sp = check_space(L);
    const char *key = check_key(L, 2);
    char err[512];
    int existed;
    if (dry(L, key))
        return 2;
    int st = store_state_delete(need(L), sp->ns, key, &existed, err,
                                sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    lua_pushboolean(L, existed);
    return 1;
}

static int add_key(void *ud, const char *key, size_t len)
{
    lua_State *L = ud;
    lua_pushlstring(L, key, len);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int l_list(lua_State *L)
{
    struct space *sp = check_space(L);
    const char *prefix = lua_isnoneornil(L, 2) ? "" : check_key(L, 2);
    lua_Integer limit = luaL_optinteger(L, 3, 1000);
    char err[512];
    luaL_argcheck(L, limit >= 1 && limit <= 10000, 3, "1 to 10000 keys");
    store *s = need(L);
    lua_settop(L, 3);
    lua_newtable(L);
    int st = store_state_list(s, sp->ns, prefix, (long)limit, add_key, L,
                              err, sizeof err);
    if (st != STORE_OK)
        return failed(L, st, err);
    json_mark_array(L, -1);
    return 1;
}

static int space_tostring(lua_State *L)
{
    lua_pushfstring(L, SPACE_TYPE " (%s)", check_space(L)->ns);
    return 1;
}

static const luaL_Reg space_methods[] = {
    {"get", l_get},
    {"put", l_put},
    {"claim", l_claim},
    {"delete", l_delete},
    {"list", l_list},
    {NULL, NULL}
};

static const luaL_Reg space_meta[] = {
    {"__tostring", space_tostring},
    {NULL, NULL}
};

static const luaL_Reg store_funcs[] = {
    {"open", l_open},
    {NULL, NULL}
};

int luaopen_clawhost_store(lua_State *L)
{
    hostmt_type(L, SPACE_TYPE, space_meta, space_methods);
    lua_pop(L, 1);
    luaL_newlib(L, store_funcs);
    return 1;
}
