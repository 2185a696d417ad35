/*
** lstrmatch.h -- string.find/match/gmatch/gsub for the sandbox, on the
** polling matcher of pure/strmatch.c (so a deadline stops them).
*/
#ifndef CLAWHOST_LSTRMATCH_H
#define CLAWHOST_LSTRMATCH_H

#include <lua.h>

#include "pure/strmatch.h"

/* Sets the poll callback every later find/match/gmatch/gsub call uses;
** NULL turns polling off. Process-global: the host has one Lua state. */
void lstrmatch_set_poll(strmatch_poll_fn poll, void *ud);

/* Returns a table {find=, match=, gmatch=, gsub=} that behaves like
** Lua 5.4.4's string functions of the same names, except that a stop
** asked by the poll callback raises STRMATCH_ABORT_MSG with luaL_error
** (so prefixed with the caller's "chunk:line: " when the caller is
** Lua code, like every pattern error).
**
** For the sandbox: copy the four fields into the string table the
** recipes see (string methods go through it), and call this function
** directly rather than with luaL_requiref: a function registered in
** package.loaded under two names may be called 'clawhost.strmatch.find'
** instead of 'string.find' in an argument error of pcall(string.find,
** ...). A pcall in the recipe can catch the abort error, so the poll
** must keep returning nonzero once the deadline has passed. */
int luaopen_clawhost_strmatch(lua_State *L);

#endif
