/*
** loop.c -- tasks and the event loop (loop.h).
**
** A task is a Lua thread plus the bookkeeping the loop needs: a state,
** a place in the ready queue or the timer heap, and what to call when it
** is abandoned or finishes. The loop resumes ready tasks, then sleeps in
** poll() (or in the HTTP multi handle's wait) until a timer is due, I/O
** completes or a signal arrives. The loop itself never raises Lua errors:
** everything that may allocate runs inside a resumed task.
*/
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/progress.h"
#include "runtime/rt.h"

char loop_wait_marker;

enum { T_READY, T_RUNNING, T_WAITING, T_DONE };

struct task {
    lua_State *co;
    int ref;                    /* registry ref keeping co alive */
    int state;
    int status;                 /* lua_resume status once done */
    int nres;                   /* values left on co once done */
    int nargs;                  /* arguments for the first resume */
    int refs;                   /* loop + Lua handles */
    unsigned id;
    int observed;               /* its error was seen by someone */
    int trace_ref;              /* traceback of its error (--verbose) */
    double wake_at;
    int heap_pos;               /* -1: not in the timer heap */
    void (*cancel)(void *);
    void *cancel_ud;
    void (*on_done)(struct task *, void *);
    void *on_done_ud;
    struct task *ready_next;
    struct task *prev, *next;   /* unfinished tasks */
    struct task *failed_next;   /* failed, error not yet seen */
};

static struct {
    struct task *ready_head, *ready_tail;
    struct task *live;          /* unfinished tasks */
    struct task *failed;        /* failed with a handle, unobserved */
    struct task **heap;
    int heap_len, heap_cap;
    unsigned next_id;
} lp;

/* ---- timer heap, ordered by wake_at ---- */

static void heap_swap(int a, int b)
{
    struct task *t = lp.heap[a];
    lp.heap[a] = lp.heap[b];
    lp.heap[b] = t;
    lp.heap[a]->heap_pos = a;
    lp.heap[b]->heap_pos = b;
}

static void heap_up(int i)
{
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (lp.heap[parent]->wake_at <= lp.heap[i]->wake_at)
            break;
        heap_swap(i, parent);
        i = parent;
    }
}

static void heap_down(int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < lp.heap_len && lp.heap[l]->wake_at < lp.heap[m]->wake_at)
            m = l;
        if (r < lp.heap_len && lp.heap[r]->wake_at < lp.heap[m]->wake_at)
            m = r;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
}

static void heap_remove(struct task *t)
{
    int i = t->heap_pos;
    if (i < 0)
        return;
    lp.heap_len--;
    if (i != lp.heap_len) {
        heap_swap(i, lp.heap_len);
        heap_up(i);
        heap_down(i);
    }
    t->heap_pos = -1;
}

/* Growing the heap is the only allocation here; it happens inside the
** task calling task.sleep, so failure can be reported there. */
int loop_timer_reserve(void)
{
    if (lp.heap_len < lp.heap_cap)
        return 0;
    int cap = lp.heap_cap ? lp.heap_cap * 2 : 16;
    struct task **h = realloc(lp.heap, (size_t)cap * sizeof *h);
    if (!h)
        return -1;
    lp.heap = h;
    lp.heap_cap = cap;
    return 0;
}

void loop_timer(struct task *t, double when)
{
    heap_remove(t);
    if (loop_timer_reserve() != 0)
        return;  /* callers reserved first; see task.sleep */
    t->wake_at = when;
    t->heap_pos = lp.heap_len;
    lp.heap[lp.heap_len++] = t;
    heap_up(t->heap_pos);
}

/* ---- task life ---- */

static void live_unlink(struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else if (lp.live == t)
        lp.live = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void ready_push(struct task *t)
{
    t->state = T_READY;
    t->ready_next = NULL;
    if (lp.ready_tail)
        lp.ready_tail->ready_next = t;
    else
        lp.ready_head = t;
    lp.ready_tail = t;
}

static struct task *ready_pop(void)
{
    struct task *t = lp.ready_head;
    if (t) {
        lp.ready_head = t->ready_next;
        if (!lp.ready_head)
            lp.ready_tail = NULL;
        t->ready_next = NULL;
    }
    return t;
}

void loop_task_release(struct task *t)
{
    if (--t->refs > 0)
        return;
    heap_remove(t);
    luaL_unref(rt_get()->L, LUA_REGISTRYINDEX, t->ref);
    luaL_unref(rt_get()->L, LUA_REGISTRYINDEX, t->trace_ref);
    void *ud;
    lua_Alloc af = lua_getallocf(rt_get()->L, &ud);
    af(ud, t, sizeof *t, 0);
}

/*
** The new thread's extra space points back at its task, which is how
** the sandbox tells task threads from recipe coroutines. The task's own
** struct comes from the state's allocator, so a recipe that spawns
** without end meets its memory cap, not the machine's.
*/
struct task *loop_spawn(lua_State *L, int nargs)
{
    void *ud;
    lua_Alloc af = lua_getallocf(L, &ud);     /* counted against the cap */
    struct task *t = af(ud, NULL, 0, sizeof *t);
    if (!t) {
        lua_pushliteral(L, "not enough memory");
        lua_error(L);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->co = lua_newthread(L);
    *(struct task **)lua_getextraspace(t->co) = t;
    lua_insert(L, -(nargs + 2));            /* thread below fn, args */
    lua_xmove(L, t->co, nargs + 1);         /* fn and args to the task */
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);  /* pops the thread */
    t->refs = 1;
    t->id = ++lp.next_id;
    t->heap_pos = -1;
    t->nargs = nargs;
    t->trace_ref = LUA_NOREF;
    t->next = lp.live;
    if (lp.live)
        lp.live->prev = t;
    lp.live = t;
    ready_push(t);
    return t;
}

struct task *loop_current(void)
{
    return rt_get()->current;
}

/* A recipe coroutine suspended in a host wait carries &loop_wait_marker
** in its extra space (see sbcoro.c); that is not a task. */
struct task *loop_thread_task(lua_State *L)
{
    void *p = *(void **)lua_getextraspace(L);
    return p == (void *)&loop_wait_marker ? NULL : p;
}

void loop_wake(struct task *t)
{
    if (!t || t->state != T_WAITING)
        return;
    heap_remove(t);
    t->cancel = NULL;
    t->cancel_ud = NULL;
    ready_push(t);
}

int loop_can_wait(lua_State *L, const char *what)
{
    if (!rt_get()->current)
        return luaL_error(L, "%s cannot wait here: it only works while "
                          "run() executes, not while the recipe loads",
                          what);
    if (!lua_isyieldable(L))
        return luaL_error(L, "%s cannot wait here: it was called from "
                          "inside a C function (a metamethod, "
                          "table.sort or string.gsub callback)", what);
    return 0;
}

int loop_wait(lua_State *L, lua_KContext ctx, lua_KFunction k,
              void (*cancel)(void *ud), void *ud)
{
    struct task *t = rt_get()->current;
    t->state = T_WAITING;
    t->cancel = cancel;
    t->cancel_ud = ud;
    lua_pushlightuserdata(L, &loop_wait_marker);
    return lua_yieldk(L, 1, ctx, k);
}

/*
** A recipe coroutine passed a host wait up but the task could not
** yield (a C boundary): undo the wait so nothing fires later.
*/
void loop_wait_undo(void)
{
    struct task *t = rt_get()->current;
    if (!t || t->state != T_WAITING)
        return;
    heap_remove(t);
    if (t->cancel)
        t->cancel(t->cancel_ud);
    t->cancel = NULL;
    t->state = T_RUNNING;
}

/* Reads the error without creating strings: the loop runs unprotected,
** so an allocation failure here could not be caught. */
void loop_report_lost_error(unsigned id, lua_State *co)
{
    const char *msg = "(the error is not a string)";
    if (lua_type(co, -1) == LUA_TSTRING) {
        msg = lua_tostring(co, -1);
    } else if (lua_type(co, -1) == LUA_TTABLE && lua_checkstack(co, 2)) {
        lua_pushliteral(co, "message");
        lua_rawget(co, -2);
        if (lua_type(co, -1) == LUA_TSTRING)
            msg = lua_tostring(co, -1);     /* kept alive by the table */
        lua_pop(co, 1);
    }
    log_msgf(LOG_ERROR, "task %u failed and nothing waited for it: %s",
             id, msg);
}

/*
** A failed task that nobody holds a handle to (refs == 1, only the
** loop) can never be asked for its error: say it now, or it is lost.
*/
static void finish(struct task *t, int status, int nres)
{
    t->state = T_DONE;
    t->status = status;
    t->nres = nres;
    heap_remove(t);
    live_unlink(t);
    progress_forget(t->co);
    if (t->on_done)
        t->on_done(t, t->on_done_ud);
    if (status != LUA_OK && !t->observed && t->refs == 1) {
        loop_report_lost_error(t->id, t->co);
    } else if (status != LUA_OK && !t->observed) {
        t->refs++;              /* someone may still wait; else reported */
        t->failed_next = lp.failed;
        lp.failed = t;
    }
    loop_task_release(t);            /* the loop's reference */
}

/*
** Failed tasks whose handle is still held but whose error nobody asked
** for are reported when the run ends (docs/task.md promises it).
*/
void loop_report_unobserved(void)
{
    struct task *t;
    while ((t = lp.failed) != NULL) {
        lp.failed = t->failed_next;
        if (!t->observed)
            loop_report_lost_error(t->id, t->co);
        loop_task_release(t);
    }
}

static int traceback_of(lua_State *L)
{
    luaL_traceback(L, lua_tothread(L, 1), NULL, 0);
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

/*
** Lua leaves a coroutine that failed unwound only when it is reset, so
** its <close> values would wait until the end of the run; close them now
** (as coroutine.wrap does), keeping the error object. The traceback is
** taken first, for --verbose. Both steps run protected.
*/
static void close_failed(struct task *t)
{
    lua_State *L = rt_get()->L;
    if (rt_get()->opt.verbosity > 0 && lua_checkstack(L, 3)) {
        lua_pushcfunction(L, traceback_of);
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK)
            t->trace_ref = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    lua_State *before = rt_set_running(t->co);
    int st = lua_resetthread(t->co);
    rt_set_running(before);
    if (st == LUA_OK)
        lua_pushnil(t->co);     /* no error object left: "nil error" */
}

/* A task yields only through loop_wait (the sandbox's coroutine.yield
** refuses task threads), so a bare yield is a host bug; fail the task. */
static void resume(struct task *t)
{
    struct rt *r = rt_get();
    int nres = 0, nargs = t->nargs, status;
    t->nargs = 0;
    t->state = T_RUNNING;
    r->current = t;
    lua_State *before = rt_set_running(t->co);
    status = lua_resume(t->co, NULL, nargs, &nres);
    rt_set_running(before);
    r->current = NULL;
    if (status == LUA_YIELD) {
        lua_pop(t->co, nres);
        if (t->state != T_WAITING && !r->fatal) {
            lua_pushliteral(t->co, "task yielded outside a host wait");
            finish(t, LUA_ERRRUN, 1);
        }
        /* stopped by a fatal condition: loop_abandon closes it */
        return;
    }
    if (status == LUA_OK) {
        finish(t, status, nres);
        return;
    }
    rt_note_error(t->co, status);
    close_failed(t);
    finish(t, status, 1);
}

static int spawn_finalizers(lua_State *L)
{
    lua_pushcfunction(L, rt_get()->finalize);
    loop_spawn(L, 0);
    return 0;
}

/*
** Recipe finalizers the collector queued (sandbox.c) run as a task of
** their own, under the deadline and with hooks like any recipe code:
** Lua itself would run them inside the collector, where no hook can
** stop one that never returns.
*/
static void start_finalizers(void)
{
    struct rt *r = rt_get();
    if (!r->finalize_pending || !r->finalize || r->fatal)
        return;
    r->finalize_pending = 0;
    lua_pushcfunction(r->L, spawn_finalizers);
    if (lua_pcall(r->L, 0, 0, 0) != LUA_OK)
        lua_pop(r->L, 1);       /* out of memory: the cap says so */
}

static void run_ready(void)
{
    struct task *t;
    start_finalizers();
    while (!rt_get()->fatal && (t = ready_pop()) != NULL) {
        resume(t);
        start_finalizers();
    }
}

/* The nearest of: the deadline, the first timer, the progress block's
** next redraw (once a second while a live line shows elapsed time). */
static int next_timeout_ms(void)
{
    double now = rt_now(), until = rt_get()->deadline;
    double tick = progress_next_tick();
    if (lp.heap_len > 0 && lp.heap[0]->wake_at < until)
        until = lp.heap[0]->wake_at;
    if (tick > 0 && tick < until)
        until = tick;
    double ms = (until - now) * 1000.0;
    if (ms <= 0)
        return 0;
    return ms > 60000 ? 60000 : (int)ms + 1;
}

static void fire_timers(void)
{
    double now = rt_now();
    while (lp.heap_len > 0 && lp.heap[0]->wake_at <= now)
        loop_wake(lp.heap[0]);    /* loop_wake removes it from the heap */
}

/* Only a signal writes the pipe, and it says so first: the common
** wake-up (a transfer, a timer) costs no read() that finds nothing. */
static void drain_wake_pipe(void)
{
    char buf[64];
    struct rt *r = rt_get();
    if (!r->wake_pending)
        return;
    r->wake_pending = 0;
    while (read(r->wake_pipe[0], buf, sizeof buf) > 0) {
    }
}

static void wait_for_events(void)
{
    struct rt *r = rt_get();
    int timeout = next_timeout_ms();
    if (r->io && r->io->pending()) {
        r->io->wait(timeout, r->wake_pipe[0]);
    } else {
        struct pollfd p = {r->wake_pipe[0], POLLIN, 0};
        if (poll(&p, 1, timeout) < 0 && errno != EINTR)
            rt_set_fatal(RT_STUCK, "poll failed: %s", strerror(errno));
    }
    drain_wake_pipe();
}

static void check_limits(void)
{
    rt_limits_exceeded();
}

static int nothing_can_happen(void)
{
    struct rt *r = rt_get();
    return !lp.ready_head && lp.heap_len == 0 &&
           !(r->io && r->io->pending());
}

void loop_run(struct task *main)
{
    struct rt *r = rt_get();
    for (;;) {
        run_ready();
        check_limits();
        if (r->fatal || main->state == T_DONE)
            return;
        if (nothing_can_happen()) {
            rt_set_fatal(RT_STUCK, "every task is waiting and nothing "
                         "can wake one (tasks waiting on each other?)");
            return;
        }
        wait_for_events();
        check_limits();
        if (r->fatal)
            return;
        fire_timers();
        if (r->io && r->io->pending())
            r->io->dispatch();
        progress_tick();
    }
}

/*
** Closing a task's thread runs its pending <close> values; that is Lua
** code, so it happens in the cleanup phase under the cleanup deadline.
*/
void loop_abandon(void)
{
    struct task *t;
    lp.ready_head = lp.ready_tail = NULL;
    while ((t = lp.live) != NULL) {
        if (t->state == T_WAITING && t->cancel)
            t->cancel(t->cancel_ud);
        t->cancel = NULL;
        t->on_done = NULL;      /* its waiter is being abandoned too */
        t->observed = 1;
        live_unlink(t);
        lua_State *before = rt_set_running(t->co);  /* its <close> runs */
        int status = lua_resetthread(t->co);
        rt_set_running(before);
        if (status != LUA_OK && !rt_get()->fatal)
            loop_report_lost_error(t->id, t->co);   /* a <close> failed */
        lua_settop(t->co, 0);
        lua_pushliteral(t->co, "task stopped: the run ended before it "
                        "finished");
        finish(t, LUA_ERRRUN, 1);
    }
    lp.ready_head = lp.ready_tail = NULL;
}

int loop_abandoned_count(void)
{
    int n = 0;
    for (struct task *t = lp.live; t; t = t->next)
        n++;
    return n;
}

/* ---- a task's handle, for task.c and run.c ---- */

/* Push the traceback saved for a failed task, or nil. */
void loop_task_traceback(struct task *t, lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->trace_ref);
}

/* Its outcome is someone's business: never report it as lost. */
void loop_task_observe(struct task *t)
{
    t->observed = 1;
}

void loop_task_retain(struct task *t)
{
    t->refs++;
}

int loop_task_done(const struct task *t)
{
    return t->state == T_DONE;
}

unsigned loop_task_id(const struct task *t)
{
    return t->id;
}

lua_State *loop_task_thread(const struct task *t)
{
    return t->co;
}

/*
** Copy a finished task's results (or its error object) onto L and
** return how many; the task keeps its own copy for later askers.
*/
int loop_task_results(struct task *t, lua_State *L, int *ok)
{
    int n = t->nres;
    *ok = t->status == LUA_OK;
    if (!*ok)
        t->observed = 1;
    if (!lua_checkstack(L, n + 1) || !lua_checkstack(t->co, n + 1))
        return luaL_error(L, "too many results to move");
    for (int i = 0; i < n; i++)
        lua_pushvalue(t->co, -n);
    lua_xmove(t->co, L, n);
    return n;
}

int loop_task_on_done(struct task *t,
                      void (*fn)(struct task *, void *), void *ud)
{
    if (fn && t->on_done)
        return -1;
    t->on_done = fn;
    t->on_done_ud = ud;
    return 0;
}

void loop_set_io(const struct loop_io *io)
{
    rt_get()->io = io;
}
