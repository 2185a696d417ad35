/*
** runtime.h -- starting and stopping the runtime (for main.c, run.c and
** the unit tests); recipe-facing primitives use rt.h.
*/
#ifndef CLAWHOST_RUNTIME_H
#define CLAWHOST_RUNTIME_H

#include <stddef.h>
#include <lua.h>

#include "runtime/rt.h"

/* Create the state, the sandbox and the signal pipe. */
int rt_init(const struct rt_options *opt, const char *root, char *err,
            size_t errlen);
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

int luaopen_clawhost_task(lua_State *L);

#endif
