/*
** rt.h -- the runtime state: one Lua state per process, its limits and
** its fatal conditions. The tasks recipe code runs in, and the event
** loop that resumes them, are loop.h.
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
struct loop_io;

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
    int exit_status;            /* the run's, once known (-1 before) */
    volatile sig_atomic_t signo;
    volatile sig_atomic_t nsignals;
    int wake_pipe[2];
    volatile sig_atomic_t wake_pending;  /* a signal wrote the pipe */

    char root[4096];            /* holds lua/ and recipes/ */
    char recipe_dir[4096];      /* folder of the running recipe */
    char recipe_name[256];

    struct task *current;       /* the task being resumed, or NULL */
    lua_State *volatile running; /* the thread the host last resumed */
    int finalize_pending;       /* recipe finalizers wait to be run */
    lua_CFunction finalize;     /* runs them, as a task (sandbox.c) */
    volatile sig_atomic_t armed; /* a limit is due: stop at next step */
    const struct loop_io *io;   /* see loop.h */
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

/*
** The host is about to run Lua code in L (a task, a coroutine, the main
** state); returns the thread that ran before, to give back after. A
** limit that falls due (a deadline timer, SIGINT, SIGTERM) arms a count
** hook on this thread only, so normal running pays for no hook at all.
*/
lua_State *rt_set_running(lua_State *L);

/* ---- starting and stopping (init.c) ---- */

/* Create the state and the signal pipe (init.c opens the modules). */
int rt_init(const struct rt_options *opt, const char *root, char *err,
            size_t errlen);

/* Close the Lua state: finalizers and <close> values run here. */
void rt_close_state(void);

/* Then the rest: output flushed and closed, settings freed, pipe. */
void rt_close(void);

/* No core dumps, no ptrace by others: call first thing in main. */
void rt_harden_process(void);

/* Start a phase with a fresh deadline; the run's fatal cause is kept. */
void rt_begin_phase(int phase, double seconds);

/* Forget the current fatal condition (a breach survived in cleanup). */
void rt_clear_fatal(void);

/* Forget a handled signal so a new one can interrupt cleanup. */
void rt_clear_signal(void);

/*
** Arm the watchdog: `seconds` + 5 from now the process ends with
** `status` even if Lua cannot be stopped; 0 disarms it.
*/
void rt_watchdog(double seconds, int status);

/* Deadline passed or signal pending? Records the fatal condition. */
int rt_limits_exceeded(void);

#endif
