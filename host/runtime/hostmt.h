/*
** hostmt.h -- host metatables: lock them and recognise them.
**
** Every metatable of a host type (clawhost.Secret, clawhost.Error, the
** JSON array marker, frozen library tables, the string metatable) is
** locked: `__metatable` is set, so setmetatable refuses to replace it,
** and the sandbox's getmetatable refuses to hand it out.
*/
#ifndef CLAWHOST_HOSTMT_H
#define CLAWHOST_HOSTMT_H

#include <lauxlib.h>
#include <lua.h>

/*
** Push the metatable of the host type `name`, making it the first time:
** the functions of `meta` as its metamethods, those of `methods` (may be
** NULL) in its __index table, then locked. The methods table is its own
** table, so a recipe that reaches it through an object still cannot
** reach the metatable.
*/
void hostmt_type(lua_State *L, const char *name, const luaL_Reg *meta,
                 const luaL_Reg *methods);

/* Lock the metatable at idx and remember it as the host's. */
void hostmt_lock(lua_State *L, int idx);

/* Is the table at idx a metatable locked by hostmt_lock? */
int hostmt_is_locked(lua_State *L, int idx);

/*
** Push the registry table stored under `key` (the address of a static
** of the caller, which cannot collide with string keys), creating it
** the first time; `weak_keys` makes it a set that keeps nothing alive.
*/
void hostmt_registry_table(lua_State *L, const void *key, int weak_keys);

#endif
