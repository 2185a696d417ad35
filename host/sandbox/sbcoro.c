/*
** sbcoro.c -- the sandbox's pcall, xpcall and coroutine library.
**
** Two jobs. First, host-fatal conditions must not be catchable: pcall,
** xpcall and coroutine.resume re-raise them (and memory errors, which
** are fatal here) instead of returning false. Second, host waits must
** work from inside recipe coroutines: when a coroutine yields the host's
** wait marker, resume passes the yield up to the task and, once the loop
** resumes the task, resumes the coroutine again, so the primitive's
** continuation runs where it left off. Recipe yields are unchanged.
**
** All functions are built on lua_pcallk/lua_yieldk continuations so
** they stay yieldable (a pcall around an http.request must still wait).
*/
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "runtime/hostmt.h"
#include "runtime/loop.h"
#include "runtime/rt.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_int.h"

/* A memory-cap breach anywhere is fatal: the state is near its cap. */
static void rethrow_if_fatal(lua_State *L, int status)
{
    struct rt *r = rt_get();
    rt_note_error(L, status);
    if (r->fatal)
        rt_raise_fatal(L);
}

static int finish_pcall(lua_State *L, int status, lua_KContext extra)
{
    if (status != LUA_OK && status != LUA_YIELD) {
        rethrow_if_fatal(L, status);
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int s_pcall(lua_State *L)
{
    int status;
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);      /* first result when no error */
    lua_insert(L, 1);
    status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0,
                        finish_pcall);
    return finish_pcall(L, status, 0);
}

/*
** The recipe's message handler runs only for the recipe's own errors:
** a fatal condition raised from the limit hook calls it with hooks off,
** where a handler that loops could never be stopped.
*/
static int guarded_handler(lua_State *L)
{
    if (rt_get()->fatal)
        return 1;                   /* the error object, unchanged */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int s_xpcall(lua_State *L)
{
    int status, n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);      /* first result */
    lua_pushvalue(L, 1);        /* the function */
    lua_rotate(L, 3, 2);        /* f, msgh, true, f, args... */
    status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
    return finish_pcall(L, status, 2);
}

/* ---- coroutines ---- */

static void *extra(lua_State *co)
{
    return *(void **)lua_getextraspace(co);
}

static void set_extra(lua_State *co, void *p)
{
    *(void **)lua_getextraspace(co) = p;
}

static lua_State *check_co(lua_State *L, int idx, const char *fn)
{
    lua_State *co = lua_tothread(L, idx);
    luaL_argexpected(L, co, idx, "coroutine");
    if (extra(co) == (void *)&loop_wait_marker)
        luaL_error(L, "%s: this coroutine is waiting for the host "
                   "(http, sleep) on behalf of another task", fn);
    else if (extra(co) != NULL)
        luaL_error(L, "%s: that is a task, not a coroutine", fn);
    return co;
}

/*
** registry: the recipe's coroutines that are not dead yet. Held
** strongly: Lua would collect a suspended coroutine nobody refers to
** without running its pending <close> values; here it is kept until it
** finishes, or until the end of the run, where it is closed.
*/
static const char coroutines_key = 0;

static void forget_co(lua_State *L, lua_State *co)
{
    hostmt_registry_table(L, &coroutines_key, 0);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int s_create(lua_State *L)
{
    lua_State *co;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    co = lua_newthread(L);
    set_extra(co, NULL);
    hostmt_registry_table(L, &coroutines_key, 0);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    return 1;
}

static int resume_k(lua_State *L, int status, lua_KContext ctx);

/* Closing a coroutine runs its <close> values: Lua code, which a limit
** must be able to stop like any other (rt_set_running). */
static int reset_co(lua_State *co)
{
    lua_State *before = rt_set_running(co);
    int status = lua_resetthread(co);
    rt_set_running(before);
    return status;
}

/*
** Resume co with nargs values already on its stack. `raising` selects
** coroutine.wrap behaviour (errors propagate) over coroutine.resume's
** (false, err). On a host wait the caller yields too (see file top).
*/
static int resume_step(lua_State *L, lua_State *co, int nargs,
                       int raising)
{
    lua_State *before = rt_set_running(co);
    int nres, status = lua_resume(co, L, nargs, &nres);
    rt_set_running(before);
    if (status != LUA_YIELD && lua_checkstack(L, 3))
        forget_co(L, co);       /* dead: nothing left to close */
    if (status == LUA_YIELD && rt_get()->fatal) {
        /* the limit hook stopped the coroutine: stop here too */
        lua_pop(co, nres);
        if (lua_isyieldable(L))
            return lua_yield(L, 0);
        return rt_raise_fatal(L);
    }
    if (status == LUA_YIELD && nres == 1 &&
        lua_touserdata(co, -1) == (void *)&loop_wait_marker) {
        lua_pop(co, 1);
        if (!lua_isyieldable(L)) {
            loop_wait_undo();
            return luaL_error(L, "cannot wait inside a coroutine resumed "
                              "from a C function (a metamethod, "
                              "table.sort or string.gsub callback)");
        }
        set_extra(co, &loop_wait_marker);
        lua_pushlightuserdata(L, &loop_wait_marker);
        return lua_yieldk(L, 1, (lua_KContext)((uintptr_t)co | raising),
                          resume_k);
    }
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            return luaL_error(L, "too many results to resume");
        }
        if (!raising)
            lua_pushboolean(L, 1);
        lua_xmove(co, L, nres);
        return nres + !raising;
    }
    rethrow_if_fatal(L, status);
    lua_xmove(co, L, 1);        /* the error object */
    if (raising) {
        reset_co(co);           /* wrap closes a coroutine that failed */
        return lua_error(L);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

static int resume_k(lua_State *L, int status, lua_KContext ctx)
{
    lua_State *co = (lua_State *)(ctx & ~(lua_KContext)1);
    (void)status;
    set_extra(co, NULL);
    rt_check(L);
    return resume_step(L, co, 0, (int)(ctx & 1));
}

/* Refuse what Lua's own resume refuses, with the same words. */
static const char *cannot_resume(lua_State *L, lua_State *co)
{
    if (co == L)
        return "cannot resume non-suspended coroutine";
    switch (lua_status(co)) {
    case LUA_YIELD:
        return NULL;
    case LUA_OK: {
        lua_Debug ar;
        if (lua_getstack(co, 0, &ar))
            return "cannot resume non-suspended coroutine";
        if (lua_gettop(co) == 0)
            return "cannot resume dead coroutine";
        return NULL;
    }
    default:
        return "cannot resume dead coroutine";
    }
}

static int s_resume(lua_State *L)
{
    lua_State *co = check_co(L, 1, "coroutine.resume");
    int nargs = lua_gettop(L) - 1;
    const char *why = cannot_resume(L, co);
    if (why) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, why);
        return 2;
    }
    if (!lua_checkstack(co, nargs))
        return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, nargs);
    return resume_step(L, co, nargs, 0);
}

static int wrapped(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int nargs = lua_gettop(L);
    const char *why = cannot_resume(L, co);
    if (extra(co) == (void *)&loop_wait_marker)
        why = "this coroutine is waiting for the host on behalf of "
              "another task";
    if (why)
        return luaL_error(L, "%s", why);
    if (!lua_checkstack(co, nargs))
        return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, nargs);
    return resume_step(L, co, nargs, 1);
}

static int s_wrap(lua_State *L)
{
    s_create(L);
    lua_pushcclosure(L, wrapped, 1);
    return 1;
}

/* A task's own code is not inside a coroutine: it has nothing to yield
** to but the host, so a bare yield there is a mistake worth naming. */
static int s_yield(lua_State *L)
{
    if (extra(L) != NULL)
        return luaL_error(L, "coroutine.yield called outside a "
                          "coroutine (in task code: use task.sleep to "
                          "let other tasks run)");
    return lua_yield(L, lua_gettop(L));
}

static int s_isyieldable(lua_State *L)
{
    lua_State *co = lua_isnone(L, 1) ? L : lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    lua_pushboolean(L, extra(co) == NULL && lua_isyieldable(co));
    return 1;
}

static int s_close(lua_State *L)
{
    lua_State *co = check_co(L, 1, "coroutine.close");
    int status = lua_status(co);
    lua_Debug ar;
    if (co == L || (status == LUA_OK && lua_getstack(co, 0, &ar)))
        return luaL_error(L, "cannot close a running coroutine");
    status = reset_co(co);
    forget_co(L, co);
    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    rethrow_if_fatal(L, status);
    lua_pushboolean(L, 0);
    lua_xmove(co, L, 1);
    return 2;
}

static const luaL_Reg co_funcs[] = {
    {"create", s_create},
    {"resume", s_resume},
    {"wrap", s_wrap},
    {"yield", s_yield},
    {"isyieldable", s_isyieldable},
    {"close", s_close},
    {NULL, NULL}
};

/* Set pcall and xpcall in the table at idx. */
/*
** When the run is over, a coroutine the recipe left suspended still
** holds its pending <close> values: they run now, as Lua's own
** coroutine.close would run them, in cleanup and under its deadline.
*/
int sbcoro_close_all(lua_State *L)
{
    hostmt_registry_table(L, &coroutines_key, 0);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_State *co = lua_tothread(L, -2);
        lua_pop(L, 1);
        if (co && lua_status(co) == LUA_YIELD &&
            extra(co) != (void *)&loop_wait_marker) {
            int st = reset_co(co);
            if (st != LUA_OK && rt_get()->fatal)
                return rt_raise_fatal(L);
            if (st != LUA_OK)
                lua_warning(L, "a <close> value failed while the run's "
                            "coroutines were closed", 0);
        }
    }
    lua_pop(L, 1);
    return 0;
}

void sbcoro_set_pcall(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, s_pcall);
    lua_setfield(L, idx, "pcall");
    lua_pushcfunction(L, s_xpcall);
    lua_setfield(L, idx, "xpcall");
}

/* Push the sandbox's coroutine table: ours plus status and running. */
void sbcoro_push_lib(lua_State *L)
{
    luaL_newlib(L, co_funcs);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 0);
    lua_getfield(L, -1, "status");
    lua_setfield(L, -3, "status");
    lua_getfield(L, -1, "running");
    lua_setfield(L, -3, "running");
    lua_pop(L, 1);
}
