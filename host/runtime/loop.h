/*
** loop.h -- tasks and the event loop that resumes them.
**
** Recipe code runs in tasks (Lua threads) that the loop resumes. A host
** primitive that has to wait (a timer, an HTTP transfer, the next SSE
** event) calls loop_wait(), which yields the task from C with a
** continuation; whatever the primitive waits for later calls
** loop_wake() and the loop resumes the task, which re-enters the
** continuation. No Lua runs inside libcurl callbacks or signal
** handlers. A task belongs to the loop: task.c is only its Lua binding.
*/
#ifndef CLAWHOST_LOOP_H
#define CLAWHOST_LOOP_H

#include <lua.h>

struct task;

/*
** I/O sources the loop waits on besides timers and signals (the HTTP
** multi handle). wait() blocks up to timeout_ms and also returns when
** wake_fd becomes readable; dispatch() completes finished work by
** calling loop_wake(); pending() says whether anything is in flight.
*/
struct loop_io {
    int (*pending)(void);
    int (*wait)(int timeout_ms, int wake_fd);
    void (*dispatch)(void);
};

/* The task whose code is running now, or NULL outside tasks. */
struct task *loop_current(void);

/*
** Suspend the running task until loop_wake(); then k(L, LUA_YIELD, ctx)
** runs with the stack as it was. Works from inside recipe coroutines:
** the sandbox's coroutine.resume passes host waits up to the task.
** `cancel`, if given, is called with `ud` when the task is abandoned
** before being woken (fatal condition, end of run), so the primitive can
** drop what it registered.
*/
int loop_wait(lua_State *L, lua_KContext ctx, lua_KFunction k,
              void (*cancel)(void *ud), void *ud);

/* Make a waiting task runnable; safe to call from loop callbacks. */
void loop_wake(struct task *t);

/* Wake `t` once the monotonic clock reaches `when`. */
void loop_timer(struct task *t, double when);

/* Start the function on top of L (below its nargs arguments) as a task. */
struct task *loop_spawn(lua_State *L, int nargs);

/* Register the I/O source the loop polls (http.c). */
void loop_set_io(const struct loop_io *io);

/* Run the loop until `main` finishes or a fatal condition stops it. */
void loop_run(struct task *main);

/* Stop and discard every unfinished task (their <close> values run). */
void loop_abandon(void);

/* Light userdata yielded by host waits (see sandbox coroutine.resume). */
extern char loop_wait_marker;

/* The task stored in a thread's extra space, or NULL for coroutines. */
struct task *loop_thread_task(lua_State *L);

/* Raise a clear error when L cannot wait (not in a task, C boundary). */
int loop_can_wait(lua_State *L, const char *what);

/* Undo a wait that could not yield after all (C boundary upstream). */
void loop_wait_undo(void);

/* Make room for one more timer; -1 when memory is short. */
int loop_timer_reserve(void);

/* Unfinished tasks left (for the end-of-run warning). */
int loop_abandoned_count(void);

/* Report failed tasks whose errors nobody asked for (end of run). */
void loop_report_unobserved(void);

/* Log a task's error that nobody can observe any more. */
void loop_report_lost_error(unsigned id, lua_State *co);

/* A task's handle (task.c): references, its error, its results. */
void loop_task_retain(struct task *t);
void loop_task_observe(struct task *t);
void loop_task_traceback(struct task *t, lua_State *L);
void loop_task_release(struct task *t);
int loop_task_done(const struct task *t);
unsigned loop_task_id(const struct task *t);
lua_State *loop_task_thread(const struct task *t);
int loop_task_results(struct task *t, lua_State *L, int *ok);
/* Set the one completion callback; -1 if one is set already. */
int loop_task_on_done(struct task *t,
                      void (*fn)(struct task *, void *), void *ud);

#endif
