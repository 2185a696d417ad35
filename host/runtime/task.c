/*
** task.c -- the `task` module: run several waits at once.
**
**   task.spawn(fn, ...)   start fn as a task; returns a clawhost.Task
**   t:wait()              its results, or raises its error
**   t:done()              has it finished?
**   task.all{f1, f2, ...} run each as a task, wait for all; returns
**                         results, errs (see docs/task.md)
**   task.sleep(seconds)   let other tasks run meanwhile
**   task.deadline()       seconds left before the run's deadline
*/
#include <math.h>

#include <lauxlib.h>

#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/loop.h"
#include "runtime/rt.h"
#include "runtime/task.h"

#define TASK_TYPE "clawhost.Task"

struct handle {
    struct task *t;
};

static struct task *check_task(lua_State *L, int idx)
{
    struct handle *h = luaL_checkudata(L, idx, TASK_TYPE);
    return h->t;
}

static void push_handle(lua_State *L, struct task *t)
{
    struct handle *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->t = t;
    loop_task_retain(t);
    luaL_setmetatable(L, TASK_TYPE);
}

static int handle_gc(lua_State *L)
{
    struct handle *h = luaL_checkudata(L, 1, TASK_TYPE);
    if (h->t) {
        loop_task_release(h->t);
        h->t = NULL;
    }
    return 0;
}

static int handle_tostring(lua_State *L)
{
    struct task *t = check_task(L, 1);
    lua_pushfstring(L, "clawhost.Task %d (%s)", (int)loop_task_id(t),
                    loop_task_done(t) ? "done" : "running");
    return 1;
}

static int l_spawn(lua_State *L)
{
    int nargs = lua_gettop(L) - 1;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    rt_check(L);
    struct task *t = loop_spawn(L, nargs);
    push_handle(L, t);
    return 1;
}

/* Push results, or re-raise the task's own error object. */
static int deliver(lua_State *L, struct task *t)
{
    int ok, n = loop_task_results(t, L, &ok);
    if (!ok)
        return lua_error(L);
    return n;
}

static void wake_ud(struct task *done, void *waiter)
{
    (void)done;
    loop_wake(waiter);
}

static void forget_waiter(void *target)
{
    loop_task_on_done(target, NULL, NULL);
}

static int wait_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    rt_check(L);
    return deliver(L, (struct task *)ctx);
}

static int l_wait(lua_State *L)
{
    struct task *t = check_task(L, 1);
    rt_check(L);
    if (loop_task_done(t))
        return deliver(L, t);
    if (t == loop_current())
        return luaL_error(L, "a task cannot wait for itself");
    loop_can_wait(L, "task:wait()");
    if (loop_task_on_done(t, wake_ud, loop_current()) != 0)
        return luaL_error(L, "task:wait(): another task is already "
                          "waiting for this one");
    return loop_wait(L, (lua_KContext)t, wait_k, forget_waiter, t);
}

static int l_done(lua_State *L)
{
    lua_pushboolean(L, loop_task_done(check_task(L, 1)));
    return 1;
}

/* ---- task.all ---- */

struct join {
    int pending;
    struct task *waiter;
};

static void join_done(struct task *done, void *ud)
{
    struct join *j = ud;
    (void)done;
    if (--j->pending == 0)
        loop_wake(j->waiter);
}

/*
** results[i] is the first value fns[i] returned; errs[i] its second
** value when the first was nil (the nil, err convention). A raised
** error is re-raised once every task has finished, lowest index first,
** so no task is left running half-way through.
*/
static int all_collect(lua_State *L)
{
    int n = (int)lua_rawlen(L, 2), raised = 0;
    lua_settop(L, 3);                       /* fns, handles, join */
    lua_pushnil(L);                         /* 4: first raised error */
    lua_createtable(L, n, 0);               /* 5: results */
    lua_createtable(L, 0, 0);               /* 6: errs */
    for (int i = 1; i <= n; i++) {
        int ok, k;
        lua_rawgeti(L, 2, i);               /* 7: handle; values at 8.. */
        k = loop_task_results(check_task(L, 7), L, &ok);
        if (!ok) {
            if (!raised++) {
                lua_pushvalue(L, 8);
                lua_replace(L, 4);
            }
        } else {
            if (k >= 1) {
                lua_pushvalue(L, 8);
                lua_rawseti(L, 5, i);
            }
            if (k >= 2 && lua_isnil(L, 8)) {
                lua_pushvalue(L, 9);
                lua_rawseti(L, 6, i);
            }
        }
        lua_settop(L, 6);
    }
    if (raised) {
        lua_pushvalue(L, 4);
        return lua_error(L);
    }
    return 2;
}

static int all_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    rt_check(L);
    return all_collect(L);
}

static int l_all(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)luaL_len(L, 1);
    for (int i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TFUNCTION)
            return luaL_error(L, "task.all: element %d is a %s, expected "
                              "a function", i, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    rt_check(L);
    if (n > 0)
        loop_can_wait(L, "task.all");
    struct join *j = lua_newuserdatauv(L, sizeof *j, 0);   /* 2 */
    lua_insert(L, 2);
    lua_createtable(L, n, 0);                              /* 3: handles */
    lua_insert(L, 2);                                      /* now 2 */
    j->pending = n;
    j->waiter = loop_current();
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        struct task *t = loop_spawn(L, 0);
        loop_task_on_done(t, join_done, j);
        push_handle(L, t);
        lua_rawseti(L, 2, i);
    }
    if (n == 0)
        return all_collect(L);
    return loop_wait(L, 0, all_k, NULL, NULL);
}

/* ---- sleep and deadline ---- */

static int sleep_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    rt_check(L);
    return 0;
}

static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && isfinite(s), 1,
                  "expected a finite number of seconds >= 0");
    rt_check(L);
    loop_can_wait(L, "task.sleep");
    if (loop_timer_reserve() != 0)
        return luaL_error(L, "task.sleep: out of memory");
    loop_timer(loop_current(), rt_now() + s);
    return loop_wait(L, 0, sleep_k, NULL, NULL);
}

static int l_deadline(lua_State *L)
{
    lua_pushnumber(L, rt_remaining());
    return 1;
}

static const luaL_Reg handle_methods[] = {
    {"wait", l_wait},
    {"done", l_done},
    {NULL, NULL}
};

static const luaL_Reg handle_meta[] = {
    {"__gc", handle_gc},
    {"__tostring", handle_tostring},
    {NULL, NULL}
};

static const luaL_Reg task_funcs[] = {
    {"spawn", l_spawn},
    {"all", l_all},
    {"sleep", l_sleep},
    {"deadline", l_deadline},
    {NULL, NULL}
};

int luaopen_clawhost_task(lua_State *L)
{
    hostmt_type(L, TASK_TYPE, handle_meta, handle_methods);
    lua_pop(L, 1);
    luaL_newlib(L, task_funcs);
    return 1;
}
