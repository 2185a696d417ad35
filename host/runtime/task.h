/*
** task.h -- the `task` module: spawn, all, sleep, deadline (docs/task.md).
** The tasks themselves are loop.h's.
*/
#ifndef CLAWHOST_TASK_H
#define CLAWHOST_TASK_H

#include <lua.h>

int luaopen_clawhost_task(lua_State *L);

#endif
