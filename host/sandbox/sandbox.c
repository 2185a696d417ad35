/*
** sandbox.c -- the environment recipes and lua/ modules run in.
**
** Allow-list, freeze, no bytecode (the Redis and HAProxy approach, see
** reference/embedding-anchors.md 1.2-1.4): a shared base table holds the
** safe globals; library tables are read-only proxies; what was removed
** is replaced by a tombstone that refuses with a policy error (exit 4)
** naming what was refused and what to do instead. Each chunk gets its
** own global table whose __index is the base, so a recipe's globals
** never leak into library modules. docs/security.md lists every change.
*/
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>

#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/log.h"
#include "runtime/rt.h"
#include "sandbox/lstrmatch.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_int.h"
#include "util/dynbuf.h"
#include "util/fileio.h"

#define MAX_SOURCE (8u << 20)   /* a recipe or module file */

static const char base_key = 0;     /* registry: the base table */
static const char env_mt_key = 0;   /* registry: metatable of envs */
static const char frozen_key = 0;   /* registry: weak set of proxies */
static const char fin_objects_key = 0;  /* registry: object -> sentinel */
static const char fin_queue_key = 0;    /* registry: finalizers now due */

#define FINALIZER_TYPE "clawhost.Finalizer"

/* ---- read-only tables ---- */

static int frozen_newindex(lua_State *L)
{
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    const char *key = lua_tostring(L, 2);
    return rt_policy(L, "cannot change %s%s%s: host and library tables "
                     "are read-only in recipes", name, key ? "." : "",
                     key ? key : "");
}

/* next() over the hidden table: the iterator is a closure, so the real
** table never reaches the recipe (pairs would otherwise return it as the
** state, and a write to it would patch the library for everyone). */
static int frozen_next(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1)))
        return 2;
    lua_pushnil(L);
    return 1;
}

static int frozen_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, frozen_next, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    return 3;
}

static int frozen_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

static void mark_frozen(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    hostmt_registry_table(L, &frozen_key, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int is_frozen(lua_State *L, int idx)
{
    int frozen;
    idx = lua_absindex(L, idx);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &frozen_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushvalue(L, idx);
    frozen = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return frozen;
}

/*
** A proxy, not the table itself: writes go to __newindex (refused) and
** reads through __index. `name` shows in error messages.
*/
/*
** Below the top: a new empty proxy table; on top: its metatable with
** __index set. Adds what every read-only proxy shares (writes refused,
** pairs over `target`), locks it and leaves the proxy on top.
*/
static void finish_proxy(lua_State *L, const char *name, int target)
{
    lua_pushstring(L, name);
    lua_pushcclosure(L, frozen_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, target);
    lua_pushcclosure(L, frozen_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    hostmt_lock(L, -1);
    lua_setmetatable(L, -2);
    mark_frozen(L, -1);
}

static void push_frozen_named(lua_State *L, int idx, const char *name)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L);                        /* the proxy */
    lua_createtable(L, 0, 5);               /* its metatable */
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, frozen_len, 1);
    lua_setfield(L, -2, "__len");
    finish_proxy(L, name, idx);
}

void sandbox_push_frozen(lua_State *L, int idx, const char *name)
{
    push_frozen_named(L, idx, name);
}

/* ---- tombstones ---- */

/* Why each removed name is gone, and what to use instead. */
static const struct {
    const char *name;
    const char *why;
} removed[] = {
    {"io", "recipes cannot read or write files; declare a "
           "`type = \"file\"` param and read it with ctx.input(name)"},
    {"os", "recipes cannot run commands, read the environment or touch "
           "files; use config.get for settings and secret.get for "
           "credentials"},
    {"debug", "it can read and change any value, hook or metatable"},
    {"package", "modules load only through require, from lua/ and the "
                "recipe's folder"},
    {"dofile", "recipes cannot read files; use require for modules"},
    {"loadfile", "recipes cannot read files; use require for modules"},
    {"string.dump", "bytecode is refused (it can crash the VM)"},
    {NULL, NULL}
};

static const char *why_removed(const char *name)
{
    char lib[32];
    const char *dot = strchr(name, '.');
    for (int i = 0; removed[i].name; i++)
        if (strcmp(removed[i].name, name) == 0)
            return removed[i].why;
    if (dot && (size_t)(dot - name) < sizeof lib) {
        memcpy(lib, name, (size_t)(dot - name));
        lib[dot - name] = '\0';
        return why_removed(lib);
    }
    return "it is not safe in a sandbox";
}

static int tombstone_call(lua_State *L)
{
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    return rt_policy(L, "%s is not available in recipes: %s", name,
                     why_removed(name));
}

static void push_tombstone(lua_State *L, const char *name)
{
    lua_pushstring(L, name);
    lua_pushcclosure(L, tombstone_call, 1);
}

/*
** A library where only some names survive (os, debug): allowed names
** come from `keep`; every other key refuses with the reason.
*/
static int partial_index(lua_State *L)
{
    const char *lib = lua_tostring(L, lua_upvalueindex(1));
    const char *key = luaL_optstring(L, 2, "?");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL)
        return 1;
    return rt_policy(L, "%s.%s is not available in recipes: %s", lib,
                     key, why_removed(lib));
}

static void push_partial(lua_State *L, const char *lib,
                         const char *const *keep)
{
    lua_createtable(L, 0, 4);                       /* allowed names */
    if (keep) {
        luaL_requiref(L, lib, strcmp(lib, "os") == 0 ? luaopen_os :
                      luaopen_debug, 0);
        for (int i = 0; keep[i]; i++) {
            lua_getfield(L, -1, keep[i]);
            lua_setfield(L, -3, keep[i]);
        }
        lua_pop(L, 1);
    }
    int allowed = lua_gettop(L);
    lua_newtable(L);                                /* the proxy */
    lua_createtable(L, 0, 4);
    lua_pushstring(L, lib);
    lua_pushvalue(L, allowed);
    lua_pushcclosure(L, partial_index, 2);
    lua_setfield(L, -2, "__index");
    finish_proxy(L, lib, allowed);
    lua_remove(L, allowed);
}

/* ---- replaced base functions ---- */

static const char *type_name_of(lua_State *L, int idx)
{
    if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) {
        const char *n = lua_tostring(L, -1);
        lua_pop(L, 1);          /* the string lives in the metatable */
        return n;
    }
    if (lua_type(L, idx) != LUA_TNIL)
        lua_pop(L, 1);
    return luaL_typename(L, idx);
}

static int s_getmetatable(lua_State *L)
{
    luaL_checkany(L, 1);
    if (!lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    if (hostmt_is_locked(L, -1))
        return rt_policy(L, "getmetatable: the metatable of a %s is "
                         "locked by the host", type_name_of(L, 1));
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return 1;               /* the user's own protection */
    return 1;
}

/* ---- finalizers ---- */

/*
** Lua runs a __gc metamethod inside the collector with hooks switched
** off (lgc.c, GCTM), so a finalizer that never returns could not be
** stopped by the deadline or a signal, at exit least of all. So no
** recipe table is ever marked for Lua's own finalization: setmetatable
** hides __gc while it sets the metatable, and instead ties a sentinel
** (a host userdata with a C __gc) to the table in an ephemeron table.
** When the table becomes garbage the sentinel does too; its C __gc,
** quick and bounded, queues the table; the loop then runs the recipe's
** __gc, looked up when it runs as Lua does, in a task of its own: under
** the deadline, with hooks, stoppable like any other recipe code.
*/
static int sentinel_gc(lua_State *L)
{
    if (lua_getiuservalue(L, 1, 1) == LUA_TNIL)
        return 0;
    lua_pushnil(L);
    lua_setiuservalue(L, 1, 1);         /* queued once, never again */
    hostmt_registry_table(L, &fin_queue_key, 0);
    lua_insert(L, -2);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    rt_get()->finalize_pending = 1;
    return 0;
}

static const luaL_Reg sentinel_meta[] = {
    {"__gc", sentinel_gc},
    {NULL, NULL}
};

/* The table at obj gets mt (at mtidx, which holds a __gc) unmarked,
** and a sentinel unless it has one already. */
static void track_finalizer(lua_State *L, int obj, int mtidx)
{
    lua_pushliteral(L, "__gc");
    lua_rawget(L, mtidx);                       /* the recipe's __gc */
    lua_pushliteral(L, "__gc");
    lua_pushnil(L);
    lua_rawset(L, mtidx);
    lua_pushvalue(L, mtidx);
    lua_setmetatable(L, obj);                   /* not marked */
    lua_pushliteral(L, "__gc");
    lua_insert(L, -2);
    lua_rawset(L, mtidx);                       /* __gc put back */
    hostmt_registry_table(L, &fin_objects_key, 1);
    lua_pushvalue(L, obj);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushvalue(L, obj);
        lua_newuserdatauv(L, 0, 1);
        lua_pushvalue(L, obj);
        lua_setiuservalue(L, -2, 1);
        luaL_setmetatable(L, FINALIZER_TYPE);
        lua_rawset(L, -3);
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* One queued object's __gc, as Lua would call it: errors are warnings.
** -1 when a limit (deadline, signal, memory) stopped it. */
static int finalize_one(lua_State *L, int obj)
{
    if (!lua_getmetatable(L, obj))
        return 0;
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, -2) != LUA_TFUNCTION) {
        lua_pop(L, 2);
        return 0;
    }
    lua_pushvalue(L, obj);
    int st = lua_pcall(L, 1, 0, 0);
    if (st != LUA_OK) {
        rt_note_error(L, st);
        if (rt_get()->fatal)
            return -1;
        lua_pushfstring(L, "error in __gc metamethod (%s)",
                        lua_tostring(L, -1) ? lua_tostring(L, -1) :
                        "not a string");
        lua_warning(L, lua_tostring(L, -1), 0);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    return 0;
}

/* The task that runs what is due, newest first (as Lua does). A limit
** stops it the way the limit hook stops any task: it yields, and the
** loop, seeing the fatal condition, closes it in cleanup. */
static int run_finalizers(lua_State *L)
{
    lua_settop(L, 0);
    hostmt_registry_table(L, &fin_queue_key, 0);
    for (lua_Integer n; (n = (lua_Integer)lua_rawlen(L, 1)) > 0;) {
        lua_rawgeti(L, 1, n);
        lua_pushnil(L);
        lua_rawseti(L, 1, n);
        if (finalize_one(L, 2) != 0)
            return lua_yield(L, 0);
        lua_settop(L, 1);
    }
    return 0;
}

int sandbox_close_finalizers(lua_State *L)
{
    lua_gc(L, LUA_GCCOLLECT);
    hostmt_registry_table(L, &fin_queue_key, 0);
    hostmt_registry_table(L, &fin_objects_key, 1);
    lua_pushnil(L);
    while (lua_next(L, -2)) {           /* object, sentinel */
        if (lua_getiuservalue(L, -1, 1) != LUA_TNIL) {  /* not queued */
            lua_rawseti(L, -5, (lua_Integer)lua_rawlen(L, -5) + 1);
            lua_pushnil(L);
            lua_setiuservalue(L, -2, 1);    /* it queues nothing later */
        } else {
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    lua_pushcfunction(L, run_finalizers);
    return 1;
}

static int s_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2,
                     "nil or table");
    if (lua_getmetatable(L, 1)) {
        if (hostmt_is_locked(L, -1))
            return rt_policy(L, "setmetatable: a %s belongs to the host; "
                             "its metatable cannot be replaced",
                             type_name_of(L, 1));
        lua_pop(L, 1);
    }
    if (t == LUA_TTABLE && hostmt_is_locked(L, 2))
        return rt_policy(L, "setmetatable: host metatables cannot be "
                         "given to other tables");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_pushliteral(L, "__gc");
    int gc = t == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL;
    lua_pop(L, 1);
    if (gc)
        track_finalizer(L, 1, 2);
    else
        lua_setmetatable(L, 1);
    return 1;
}

static int s_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (is_frozen(L, 1))
        return rt_policy(L, "rawset: host and library tables are "
                         "read-only in recipes");
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* The collector must keep running: a recipe that stops it could grow
** past the memory cap between checks, or starve cleanup. */
static int s_collectgarbage(lua_State *L)
{
    static const char *const ok[] = {"collect", "count", "step",
                                     "isrunning", NULL};
    const char *opt = luaL_optstring(L, 1, "collect");
    for (int i = 0; ok[i]; i++) {
        if (strcmp(opt, ok[i]) == 0) {
            lua_pushvalue(L, lua_upvalueindex(1));
            lua_insert(L, 1);
            lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
            return lua_gettop(L);
        }
    }
    return rt_policy(L, "collectgarbage(\"%s\") is not allowed in "
                     "recipes: the host keeps the collector running "
                     "(allowed: collect, count, step, isrunning)", opt);
}

/* Gather a reader function's pieces into one string on the stack. */
static void read_pieces(lua_State *L, int fn)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        lua_pushvalue(L, fn);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1) ||
            (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) == 0)) {
            lua_pop(L, 1);
            break;
        }
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "reader function must return a string");
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
}

/*
** Lua does not check binary chunks for consistency; crafted bytecode
** can crash the VM (manual, `load`; Redis CVE-2015-4335). Text only.
*/
static int s_load(lua_State *L)
{
    size_t len;
    const char *mode = luaL_optstring(L, 3, "bt");
    int env = lua_isnone(L, 4) ? 0 : 4;
    if (lua_type(L, 1) != LUA_TSTRING) {
        luaL_checktype(L, 1, LUA_TFUNCTION);
        read_pieces(L, 1);
        lua_replace(L, 1);
    }
    const char *src = lua_tolstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, src);
    if (name[0] == '@')         /* a file's name: only real files have */
        name = lua_pushfstring(L, "=%s", name + 1);     /* one (lstore.c) */
    if ((len > 0 && src[0] == LUA_SIGNATURE[0]) || !strchr(mode, 't'))
        return rt_policy(L, "load: binary chunks are refused (crafted "
                         "bytecode can crash the interpreter)");
    if (luaL_loadbufferx(L, src, len, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env)
        lua_pushvalue(L, env);
    else
        sandbox_new_env(L);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return 1;
}

static void concat_args(lua_State *L, const char *sep, int tostr)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (tostr)
            luaL_tolstring(L, i, NULL);
        else {
            luaL_checkstring(L, i);
            lua_pushvalue(L, i);
        }
        luaL_addvalue(&b);
        if (i < n)
            luaL_addstring(&b, sep);
    }
    luaL_pushresult(&b);
}

/* print goes to stderr through the log, so stdout keeps only results. */
static int s_print(lua_State *L)
{
    size_t len;
    concat_args(L, "\t", 1);
    const char *s = lua_tolstring(L, -1, &len);
    log_print(s, len);
    return 0;
}

static int s_warn(lua_State *L)
{
    size_t len;
    luaL_checkstring(L, 1);
    concat_args(L, "", 0);
    const char *s = lua_tolstring(L, -1, &len);
    if (s[0] != '@')            /* "@on" / "@off" control messages */
        log_text(LOG_WARN, s, len);
    return 0;
}

/* ---- the base environment ---- */

static void copy_globals(lua_State *L, int base)
{
    static const char *const names[] = {
        "assert", "error", "ipairs", "next", "pairs", "select",
        "tonumber", "tostring", "type", "rawequal", "rawlen", "rawget",
        "_VERSION", NULL
    };
    for (int i = 0; names[i]; i++) {
        lua_getglobal(L, names[i]);
        lua_setfield(L, base, names[i]);
    }
}

static void set_functions(lua_State *L, int base, int require)
{
    static const luaL_Reg fns[] = {
        {"getmetatable", s_getmetatable},
        {"setmetatable", s_setmetatable},
        {"rawset", s_rawset},
        {"load", s_load},
        {"print", s_print},
        {"warn", s_warn},
        {NULL, NULL}
    };
    lua_pushvalue(L, base);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
    lua_getglobal(L, "collectgarbage");
    lua_pushcclosure(L, s_collectgarbage, 1);
    lua_setfield(L, base, "collectgarbage");
    sbcoro_set_pcall(L, base);
    lua_pushvalue(L, require);
    lua_setfield(L, base, "require");
    push_tombstone(L, "dofile");
    lua_setfield(L, base, "dofile");
    push_tombstone(L, "loadfile");
    lua_setfield(L, base, "loadfile");
}

/* The matcher polls this every few thousand steps; nonzero stops it. A
** pattern that backtracks for seconds runs inside one C call, where no
** hook can fire (reliability-anchors V4), hence our own matcher. */
static int poll_limits(void *ud)
{
    (void)ud;
    return rt_limits_exceeded();
}

/* Also into the real string table, where Lua looks up a function's
** name for argument errors ("bad argument #3 to 'gsub'"). */
static void set_matchers(lua_State *L, int safe, int real)
{
    static const char *const names[] = {"find", "match", "gmatch", "gsub",
                                        NULL};
    lua_pushcfunction(L, luaopen_clawhost_strmatch);
    lua_call(L, 0, 1);
    for (int i = 0; names[i]; i++) {
        lua_getfield(L, -1, names[i]);
        lua_pushvalue(L, -1);
        lua_setfield(L, safe, names[i]);
        lua_setfield(L, real, names[i]);
    }
    lua_pop(L, 1);
    lstrmatch_set_poll(poll_limits, NULL);
}

/*
** The string library every string shares through its metatable: a
** copy without dump, with find/match/gmatch/gsub that obey the
** deadline. The string metatable itself is locked, so
** getmetatable("") refuses instead of handing out the shared table.
*/
static void set_string_lib(lua_State *L, int base)
{
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
    int real = lua_gettop(L);
    lua_newtable(L);
    int safe = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, real)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, safe);
    }
    push_tombstone(L, "string.dump");
    lua_setfield(L, safe, "dump");
    set_matchers(L, safe, real);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, safe);
    lua_setfield(L, -2, "__index");
    hostmt_lock(L, -1);
    lua_pop(L, 2);
    push_frozen_named(L, safe, "string");
    lua_setfield(L, base, "string");
    lua_settop(L, real - 1);
}

/*
** Lua 5.4.4 seeds math.random from time() and an address, which repeat
** across runs started in the same second without address randomization;
** recipes make idempotency keys from it, so seed from the kernel.
*/
static void seed_random(lua_State *L, int math)
{
    lua_Integer seed[2] = {0, 0};
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed[0] = (lua_Integer)(rt_now() * 1e9);
    lua_getfield(L, math, "randomseed");
    lua_pushinteger(L, seed[0]);
    lua_pushinteger(L, seed[1]);
    lua_call(L, 2, 0);
}

static void set_lib(lua_State *L, int base, const char *name,
                    lua_CFunction open)
{
    luaL_requiref(L, name, open, 0);
    if (open == luaopen_math)
        seed_random(L, lua_gettop(L));
    push_frozen_named(L, -1, name);
    lua_setfield(L, base, name);
    lua_pop(L, 1);
}

static void set_libs(lua_State *L, int base)
{
    static const char *const os_keep[] = {"time", "clock", "date",
                                          "difftime", NULL};
    static const char *const debug_keep[] = {"traceback", NULL};
    set_string_lib(L, base);
    set_lib(L, base, LUA_TABLIBNAME, luaopen_table);
    set_lib(L, base, LUA_MATHLIBNAME, luaopen_math);
    set_lib(L, base, LUA_UTF8LIBNAME, luaopen_utf8);
    sbcoro_push_lib(L);
    push_frozen_named(L, -1, "coroutine");
    lua_setfield(L, base, "coroutine");
    lua_pop(L, 1);
    push_partial(L, "os", os_keep);
    lua_setfield(L, base, "os");
    push_partial(L, "debug", debug_keep);
    lua_setfield(L, base, "debug");
    push_partial(L, "io", NULL);
    lua_setfield(L, base, "io");
    push_partial(L, "package", NULL);
    lua_setfield(L, base, "package");
}

void sandbox_open(lua_State *L)
{
    int require = lua_gettop(L);
    luaL_checktype(L, require, LUA_TFUNCTION);
    hostmt_type(L, FINALIZER_TYPE, sentinel_meta, NULL);
    lua_pop(L, 1);
    rt_get()->finalize = run_finalizers;
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    lua_pop(L, 1);
    lua_newtable(L);
    int base = lua_gettop(L);
    copy_globals(L, base);
    set_functions(L, base, require);
    set_libs(L, base);
    lua_createtable(L, 0, 2);               /* shared env metatable */
    lua_pushvalue(L, base);
    lua_setfield(L, -2, "__index");
    hostmt_lock(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &env_mt_key);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &base_key);
    lua_settop(L, require - 1);
}

void sandbox_push_base(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &base_key);
}

void sandbox_new_env(lua_State *L)
{
    lua_createtable(L, 0, 8);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &env_mt_key);
    lua_setmetatable(L, -2);
}

/* The whole file, capped; a '#' first line (shebang) is blanked but its
** newline kept so line numbers in messages stay right. */
static char *read_source(const char *path, size_t *len, const char **err)
{
    struct stat st;
    struct dynbuf b;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
    *err = "cannot open";
    if (fd < 0)
        return NULL;
    dynbuf_init(&b, MAX_SOURCE);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        *err = "not a regular file";
    else if ((rc = fileio_read_all(fd, &b)) == DYNBUF_TOOBIG)
        *err = "too large (over 8 MiB)";
    else if (rc == DYNBUF_NOMEM)
        *err = "out of memory reading";
    else if (rc != 0)
        *err = "cannot read";
    close(fd);
    char *buf = rc == 0 ? dynbuf_take(&b, len) : NULL;
    dynbuf_free(&b);
    if (buf && *len > 0 && buf[0] == '#')
        for (size_t i = 0; i < *len && buf[i] != '\n'; i++)
            buf[i] = ' ';
    return buf;
}

int sandbox_load_file(lua_State *L, const char *path, const char *chunkname)
{
    size_t len;
    const char *err = NULL;
    char *src = read_source(path, &len, &err);
    int status;
    if (!src) {
        lua_pushfstring(L, "%s: %s", path, err);
        return LUA_ERRFILE;
    }
    if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
        free(src);
        return rt_policy(L, "%s is a precompiled (binary) chunk; only "
                         "Lua source is loaded", path);
    }
    status = luaL_loadbufferx(L, src, len, chunkname, "t");
    free(src);
    if (status != LUA_OK)
        return status;
    sandbox_new_env(L);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return LUA_OK;
}
