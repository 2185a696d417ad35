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

#include <lua.h>

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
