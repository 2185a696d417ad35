/*
** rt.c -- the life of the one Lua state: its allocator cap, the
** hook that enforces the deadline, fatal conditions and signals.
**
** Limits follow reference/embedding-anchors.md 2 and
** reliability-anchors.md 6.2: a counting lua_Alloc (HAProxy's
** hlua_alloc idea) for memory, and for time no hook at all while the
** recipe runs normally (a count hook, even a sparse one, sends Lua 5.4
** through its tracing path on every instruction: 2.2x slower). A timer
** at the phase's deadline, or SIGINT/SIGTERM, arms a count-1 hook on
** the thread the host resumed last, as lua.c does for Ctrl-C
** (lua_sethook may be called from a signal handler), so the next
** instruction after whatever C call is running stops it. Fatal
** conditions are sticky, because a one-shot hook error is swallowed by
** pcall (verified on this Lua, reliability-anchors V3).
*/
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/log.h"
#include "runtime/out.h"
#include "runtime/rt.h"

#define HEADROOM (4u << 20)         /* memory kept back for cleanup */

static struct rt the_rt = {.fatal_ref = LUA_NOREF,
                           .wake_pipe = {-1, -1}, .exit_status = -1};

struct rt *rt_get(void)
{
    return &the_rt;
}

double rt_now(void)
{
    return clock_monotonic();
}

double rt_remaining(void)
{
    return the_rt.deadline - rt_now();
}

/* ---- memory ---- */

/* What a block really takes: malloc's usable size and its header. */
static size_t footprint(void *p)
{
    return p ? malloc_usable_size(p) + sizeof(size_t) : 0;
}

/*
** The cap counts what malloc really hands out, not what Lua asked for:
** a million 100-byte strings cost 128 bytes each, and counting 100
** would let a recipe pass its cap by a quarter. Lua passes the type tag
** in osize when ptr is NULL (manual, lua_Alloc), so osize is not used.
** Only growth is refused, so frees and shrinks always work and the
** collector can make room.
*/
static void *rt_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct rt *r = ud;
    size_t before = footprint(ptr), want = nsize + 2 * sizeof(size_t);
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        r->mem_used -= before;
        return NULL;
    }
    if (want > before && r->mem_used + (want - before) > r->mem_cap) {
        r->mem_refused = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    r->mem_used = r->mem_used - before + footprint(p);
    if (r->mem_used > r->mem_peak)
        r->mem_peak = r->mem_used;
    return p;
}

void rt_memory_exhausted(void)
{
    struct rt *r = &the_rt;
    if (r->fatal == RT_MEMORY)
        return;
    rt_set_fatal(RT_MEMORY, "memory limit reached: the recipe needed more "
                 "than %zu MiB (raise it with --memory-mb)",
                 r->opt.memory_bytes >> 20);
}

/*
** Did the error with this status (its object on top of L) come from the
** memory cap? Lua reports error("not enough memory") as LUA_ERRMEM too,
** so the status alone is not proof: the allocator must have refused
** something since the last look.
*/
void rt_note_error(lua_State *L, int status)
{
    struct rt *r = &the_rt;
    int memerr = status == LUA_ERRMEM ||
                 (lua_type(L, -1) == LUA_TSTRING &&
                  strcmp(lua_tostring(L, -1), "not enough memory") == 0);
    if (memerr && r->mem_refused && !r->fatal)
        rt_memory_exhausted();
    r->mem_refused = 0;
}

/* ---- fatal conditions ---- */

static const char *fatal_code(int kind)
{
    switch (kind) {
    case RT_DEADLINE: return "deadline";
    case RT_MEMORY: return "memory";
    case RT_POLICY: return "policy";
    case RT_CANCEL: return "cancelled";
    default: return "stuck";
    }
}

void rt_set_fatal(int kind, const char *fmt, ...)
{
    struct rt *r = &the_rt;
    va_list ap;
    if (r->fatal)
        return;             /* the first cause is the one to report */
    r->fatal = kind;
    va_start(ap, fmt);
    vsnprintf(r->fatal_msg, sizeof r->fatal_msg, fmt, ap);
    va_end(ap);
    if (kind == RT_MEMORY)
        r->mem_cap += HEADROOM;   /* room to unwind and clean up */
}

/* The error object is made once per condition, so raising it again at
** every hook tick allocates nothing. */
int rt_raise_fatal(lua_State *L)
{
    struct rt *r = &the_rt;
    if (r->fatal_ref == LUA_NOREF) {
        err_push(L, fatal_code(r->fatal), "%s", r->fatal_msg);
        r->fatal_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->fatal_ref);
    return lua_error(L);
}

int rt_fatal(lua_State *L, int kind, const char *fmt, ...)
{
    char msg[sizeof the_rt.fatal_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt_set_fatal(kind, "%s", msg);
    return rt_raise_fatal(L);
}

/* Sets the fatal condition when the deadline passed or a signal came;
** cheap enough for every hook tick (the clock is read from the vDSO). */
int rt_limits_exceeded(void)
{
    struct rt *r = &the_rt;
    if (r->fatal)
        return 1;
    if (r->signo) {
        rt_set_fatal(RT_CANCEL, "interrupted by %s",
                     r->signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return 1;
    }
    if (rt_now() >= r->deadline) {
        if (r->phase == RT_CLEANUP)
            rt_set_fatal(RT_DEADLINE, "cleanup took longer than %g s",
                         r->opt.cleanup_timeout_s);
        else
            rt_set_fatal(RT_DEADLINE, "deadline reached: the run took "
                         "longer than --timeout %g s", r->opt.timeout_s);
        return 1;
    }
    return 0;
}

void rt_check(lua_State *L)
{
    if (rt_limits_exceeded())
        rt_raise_fatal(L);
}

/*
** Once a limit is passed the running thread must stop. Where it can, it
** yields to the loop rather than raising: Lua switches hooks off while a
** hook runs, and an error raised here that unwinds out of lua_resume
** leaves them off, so the task's <close> handlers (and an xpcall message
** handler) would then run with no deadline at all. A yielded task is
** closed in the cleanup phase, hooks on, under the cleanup deadline.
** Where it cannot yield (loading the recipe, a C boundary) it raises.
*/
static void limit_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (!rt_limits_exceeded()) {
        lua_sethook(L, NULL, 0, 0);     /* armed for a phase now over */
        return;
    }
    if (rt_get()->current && lua_isyieldable(L)) {
        lua_yield(L, 0);
        return;
    }
    rt_raise_fatal(L);
}

/* From a signal handler too: only lua_sethook and plain stores. */
static void arm(void)
{
    lua_State *L = the_rt.running;
    the_rt.armed = 1;
    if (L)
        lua_sethook(L, limit_hook, LUA_MASKCOUNT, 1);
}

lua_State *rt_set_running(lua_State *L)
{
    lua_State *before = the_rt.running;
    the_rt.running = L;
    if (the_rt.armed && L)
        lua_sethook(L, limit_hook, LUA_MASKCOUNT, 1);
    return before;
}

/* ---- the deadline timer ---- */

static timer_t deadline_timer;
static int have_timer;

static void on_deadline(int sig)
{
    (void)sig;
    arm();
}

/* One POSIX timer, reset at every phase: it fires at the deadline. */
static int setup_timer(void)
{
    struct sigevent ev;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_deadline;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGRTMIN, &sa, NULL) != 0)
        return -1;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    if (timer_create(CLOCK_MONOTONIC, &ev, &deadline_timer) != 0)
        return -1;
    have_timer = 1;
    return 0;
}

static void set_timer(double seconds)
{
    struct itimerspec when;
    memset(&when, 0, sizeof when);
    if (seconds < 0.001)
        seconds = 0.001;
    when.it_value.tv_sec = (time_t)seconds;
    when.it_value.tv_nsec = (long)((seconds - (double)(time_t)seconds) *
                                   1e9);
    if (have_timer)
        timer_settime(deadline_timer, 0, &when, NULL);
}

/* Forget the current fatal condition (a breach survived in cleanup). */
void rt_clear_fatal(void)
{
    struct rt *r = &the_rt;
    if (r->L && r->fatal_ref != LUA_NOREF)
        luaL_unref(r->L, LUA_REGISTRYINDEX, r->fatal_ref);
    r->fatal_ref = LUA_NOREF;
    r->fatal = RT_OK;
    if (r->mem_cap > r->opt.memory_bytes + HEADROOM)
        r->mem_cap = r->opt.memory_bytes + HEADROOM;
}

/* Start a new phase: a fresh deadline, no fatal condition yet. */
void rt_begin_phase(int phase, double seconds)
{
    struct rt *r = &the_rt;
    if (r->L && r->fatal_ref != LUA_NOREF)
        luaL_unref(r->L, LUA_REGISTRYINDEX, r->fatal_ref);
    r->fatal_ref = LUA_NOREF;
    if (phase == RT_CLEANUP)
        r->run_fatal = r->fatal;
    r->fatal = RT_OK;
    r->phase = phase;
    r->armed = 0;
    if (r->L)
        lua_sethook(r->L, NULL, 0, 0);  /* new threads copy its hook */
    r->deadline = rt_now() + seconds;
    set_timer(seconds);
}

/* ---- the watchdog ---- */

static volatile sig_atomic_t watchdog_status = EXIT_DEADLINE;

/*
** The last resort when a thread cannot be stopped from inside Lua (a C
** call that never returns, hooks switched off): a few seconds after a
** phase's deadline the process ends. Only async-signal-safe calls.
*/
static void on_watchdog(int sig)
{
    static const char msg[] = "clawhost: the recipe could not be stopped "
                              "at its deadline; exiting without finishing "
                              "cleanup (clawhost ledger --open shows "
                              "spend left open)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    (void)sig;
    _exit(watchdog_status);
}

/* Arm it for the phase that starts now (0 disarms). */
void rt_watchdog(double seconds, int status)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    watchdog_status = status;
    alarm(seconds > 0 ? (unsigned)seconds + 5 : 0);
}

/* ---- signals ---- */

/*
** Async-signal-safe only: note the signal and wake the loop. A third
** signal means the user really wants out, cleanup or not.
*/
static void on_signal(int sig)
{
    int saved = errno;
    the_rt.signo = sig;
    if (++the_rt.nsignals >= 3)
        _exit(EXIT_INTERRUPTED);
    arm();
    the_rt.wake_pending = 1;
    if (the_rt.wake_pipe[1] >= 0) {
        ssize_t w = write(the_rt.wake_pipe[1], "s", 1);
        (void)w;
    }
    errno = saved;
}

/* A second SIGINT during cleanup must interrupt cleanup too. */
void rt_clear_signal(void)
{
    the_rt.signo = 0;
}

static int setup_signals(void)
{
    struct sigaction sa;
    if (pipe2(the_rt.wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Secrets live in this process's memory: no core files, no ptrace
** attach by other processes of the same user. */
void rt_harden_process(void)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* ---- the state ---- */

static int on_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    log_progress_clear();
    out_printf(OUT_STDERR, "clawhost: internal error (unprotected Lua "
               "error): %s\n", msg ? msg : "?");
    out_flush_all();
    _exit(EXIT_FAILED);
}

/* Lua's own warnings (an error in a __gc, say) arrive in pieces. */
static void on_warning(void *ud, const char *msg, int tocont)
{
    static char buf[1024];
    static size_t len;
    (void)ud;
    size_t n = strlen(msg);
    if (len + n >= sizeof buf)
        n = sizeof buf - 1 - len;
    memcpy(buf + len, msg, n);
    len += n;
    if (!tocont) {
        log_text(LOG_WARN, buf, len);
        len = 0;
    }
}

int rt_init(const struct rt_options *opt, const char *root, char *err,
            size_t errlen)
{
    struct rt *r = &the_rt;
    r->opt = *opt;
    r->mem_cap = opt->memory_bytes;
    r->deadline = rt_now() + opt->timeout_s;
    snprintf(r->root, sizeof r->root, "%s", root);
    if (setup_signals() != 0 || setup_timer() != 0)
        return snprintf(err, errlen, "cannot set up signals and the "
                        "deadline timer: %s", strerror(errno)), -1;
    r->L = lua_newstate(rt_alloc, r);
    if (!r->L)
        return snprintf(err, errlen, "cannot create the Lua state"), -1;
    lua_atpanic(r->L, on_panic);
    lua_setwarnf(r->L, on_warning, NULL);
    rt_set_running(r->L);
    set_timer(opt->timeout_s);
    return 0;
}

void rt_close_state(void)
{
    struct rt *r = &the_rt;
    struct itimerspec off;
    memset(&off, 0, sizeof off);
    if (have_timer)
        timer_settime(deadline_timer, 0, &off, NULL);
    r->running = NULL;          /* no signal may touch it from now on */
    if (r->L)
        lua_close(r->L);
    r->L = NULL;
}

void rt_close(void)
{
    struct rt *r = &the_rt;
    rt_close_state();
    out_close();
    config_close();
    for (int i = 0; i < 2; i++)
        if (r->wake_pipe[i] >= 0)
            close(r->wake_pipe[i]);
    r->wake_pipe[0] = r->wake_pipe[1] = -1;
}
