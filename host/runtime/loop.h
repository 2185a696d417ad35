/*
** loop.h -- the task API shared by the runtime's own files (task.c,
** sandbox.c, runtime.c). Recipe-facing primitives use rt.h.
*/
#ifndef CLAWHOST_LOOP_H
#define CLAWHOST_LOOP_H

#include <lua.h>

struct task;

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

void task_retain(struct task *t);
void task_observe(struct task *t);
void task_push_traceback(struct task *t, lua_State *L);
void task_release(struct task *t);
int task_is_done(const struct task *t);
unsigned task_id(const struct task *t);
lua_State *task_thread(const struct task *t);
int task_push_results(struct task *t, lua_State *L, int *ok);
/* Set the one completion callback; -1 if one is set already. */
int task_on_done(struct task *t, void (*fn)(struct task *, void *),
                 void *ud);

#endif
