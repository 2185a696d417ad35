/*
** require.h -- the sandbox's require: host modules registered here, Lua
** files under lua/ and the recipe's own folder, nothing else.
*/
#ifndef CLAWHOST_REQUIRE_H
#define CLAWHOST_REQUIRE_H

#include <lua.h>

/*
** Register a host module for require(name); `open` is a luaopen_*
** function. Host modules are opened once and handed out read-only.
*/
void require_preload(lua_State *L, const char *name, lua_CFunction open);

/* Push the require function (sandbox_open installs it). */
int require_open(lua_State *L);

#endif
