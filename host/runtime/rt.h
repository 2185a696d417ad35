/*
** rt.h -- the runtime: one Lua state per process, its limits, the event
** loop and the tasks that recipe code runs in.
**
** Recipe code runs in tasks (Lua threads) that the loop resumes. A host
** primitive that has to wait (a timer, an HTTP transfer, the next SSE
** event) calls rt_wait(), which yields the task from C with a
** continuation; whatever the primitive waits for later calls rt_wake()
** and the loop resumes the task, which re-enters the continuation. No
** Lua runs inside libcurl callbacks or signal handlers.
**
** Host-fatal conditions (deadline, memory, sandbox violation,
** cancellation) are sticky: once set, every Lua thread raises them again
** at its next hook tick, and the sandbox's pcall re-raises them, so a
** recipe cannot catch them. Cleanup then runs in its own phase with its
** own deadline.
*/
#ifndef CLAWHOST_RT_H
#define CLAWHOST_RT_H

#include <signal.h>
#include <stddef.h>
#include <lua.h>

enum rt_fatal {
    RT_OK = 0,
    RT_DEADLINE,    /* wall-clock deadline of the run or of cleanup */
    RT_MEMORY,      /* the allocator cap */
    RT_POLICY,      /* sandbox violation */
    RT_CANCEL,      /* SIGINT or SIGTERM */
    RT_STUCK        /* no task can ever run again (or poll failed) */
};

enum rt_phase { RT_SETUP, RT_RUNNING, RT_CLEANUP, RT_FINISHED };

enum rt_verbosity { RT_QUIET = -1, RT_NORMAL = 0, RT_VERBOSE = 1 };

struct rt_options {
    double timeout_s;           /* --timeout, whole run */
    double cleanup_timeout_s;   /* deferred cleanup after the run */
    size_t memory_bytes;        /* --memory-mb */
    int dry_run;                /* --dry-run or THETA_DRY_RUN */
    int json;                   /* --json */
    int log_json;               /* --log-json */
    int verbosity;              /* enum rt_verbosity */
    const char *budget;         /* --budget USD, validated by budget */
    const char **allow_hosts;   /* --allow-host, NULL-terminated */
    int nallow_hosts;
};

struct task;

/*
** I/O sources the loop waits on besides timers and signals (the HTTP
** multi handle). wait() blocks up to timeout_ms and also returns when
** wake_fd becomes readable; dispatch() completes finished work by
** calling rt_wake(); pending() says whether anything is in flight.
*/
struct rt_io {
    int (*pending)(void);
    int (*wait)(int timeout_ms, int wake_fd);
    void (*dispatch)(void);
};

struct rt {
    lua_State *L;
    struct rt_options opt;

    size_t mem_used, mem_cap, mem_peak;
    int mem_refused;            /* the allocator said no since last look */

    double deadline;            /* monotonic seconds */
    int fatal;                  /* enum rt_fatal, current phase */
    int run_fatal;              /* what ended the run, kept for the exit */
    char fatal_msg[512];
    int fatal_ref;              /* registry ref to the raised error */
    int phase;                  /* enum rt_phase */
    volatile sig_atomic_t signo;
    volatile sig_atomic_t nsignals;
    int wake_pipe[2];

    char root[4096];            /* holds lua/ and recipes/ */
    char recipe_dir[4096];      /* folder of the running recipe */
    char recipe_name[256];

    struct task *current;       /* the task being resumed, or NULL */
    const struct rt_io *io;
};

struct rt *rt_get(void);

/* Seconds on the monotonic clock. */
double rt_now(void);

/* Seconds left before the current phase's deadline (may be negative). */
double rt_remaining(void);

/* Record a fatal condition without raising (loop, signals, C code). */
void rt_set_fatal(int kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A memory error was seen: record the fatal condition and give the
** state some headroom so cleanup can still run. */
void rt_memory_exhausted(void);

/* After a caught error: record a memory-cap breach if it was one. */
void rt_note_error(lua_State *L, int status);

/* Raise the recorded fatal condition in L; use as `return ...`. */
int rt_raise_fatal(lua_State *L);

/* Record and raise a fatal condition; use as `return rt_fatal(...)`. */
int rt_fatal(lua_State *L, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A sandbox violation: exit 4, not catchable. */
#define rt_policy(L, ...) rt_fatal((L), RT_POLICY, __VA_ARGS__)

/* Raise the fatal condition if one is pending; primitives call it. */
void rt_check(lua_State *L);

/* ---- tasks and the loop (loop.c) ---- */

/* The task whose code is running now, or NULL outside tasks. */
struct task *rt_task_current(void);

/*
** Suspend the running task until rt_wake(); then k(L, LUA_YIELD, ctx)
** runs with the stack as it was. Works from inside recipe coroutines:
** the sandbox's coroutine.resume passes host waits up to the task.
** `cancel`, if given, is called with `ud` when the task is abandoned
** before being woken (fatal condition, end of run), so the primitive can
** drop what it registered.
*/
int rt_wait(lua_State *L, lua_KContext ctx, lua_KFunction k,
            void (*cancel)(void *ud), void *ud);

/* Make a waiting task runnable; safe to call from loop callbacks. */
void rt_wake(struct task *t);

/* Wake `t` once the monotonic clock reaches `when`. */
void rt_timer(struct task *t, double when);

/* Start the function on top of L (below its nargs arguments) as a task. */
struct task *rt_spawn(lua_State *L, int nargs);

/* Register the I/O source the loop polls (http.c). */
void rt_set_io(const struct rt_io *io);

/* Run the loop until `main` finishes or a fatal condition stops it. */
void rt_loop_run(struct task *main);

/* Stop and discard every unfinished task (their <close> values run). */
void rt_abandon_tasks(void);

/* Light userdata yielded by host waits (see sandbox coroutine.resume). */
extern char rt_wait_marker;

/* The task stored in a thread's extra space, or NULL for coroutines. */
struct task *rt_thread_task(lua_State *L);

#endif
