/*
** hint.h -- what to do about a failure: the last line of a failed run.
*/
#ifndef CLAWHOST_HINT_H
#define CLAWHOST_HINT_H

#include <lua.h>

/*
** The hint for the error value at idx: its own `hint` field when it is
** a string, else the one for its code (docs/errors.md), else NULL.
** Valid while the value stays on the stack.
*/
const char *hint_for(lua_State *L, int idx);

/* The hint for a host-fatal condition (rt.h's enum rt_fatal), or NULL. */
const char *hint_for_fatal(int kind);

/*
** --verbose: the error's own fields (status, sent, remote_message, ...)
** on one debug line, the detail its one message leaves out.
*/
void hint_log_detail(lua_State *L, int idx);

#endif
