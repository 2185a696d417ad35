/*
** sandbox_int.h -- what the sandbox's files share with each other.
*/
#ifndef CLAWHOST_SANDBOX_INT_H
#define CLAWHOST_SANDBOX_INT_H

#include <lua.h>

/* sbcoro.c */
void sbcoro_set_pcall(lua_State *L, int idx);
void sbcoro_push_lib(lua_State *L);

/* sandbox.c */
void sandbox_push_base(lua_State *L);   /* the shared read-only globals */

#endif
