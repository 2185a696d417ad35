/*
** hostmt.c -- host metatables: lock them and recognise them.
**
** The set of locked metatables is a weak-keyed registry table, so a
** lookup is one rawget and nothing is kept alive by being in it. The
** registry-table helper serves the other host files too.
*/
#include <lauxlib.h>

#include "runtime/hostmt.h"

static const char locked_key = 0;

void hostmt_registry_table(lua_State *L, const void *key, int weak_keys)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    if (weak_keys) {
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
    }
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

static void push_locked_set(lua_State *L)
{
    hostmt_registry_table(L, &locked_key, 1);
}

void hostmt_lock(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_pushliteral(L, "locked by clawhost");
    lua_setfield(L, idx, "__metatable");
    push_locked_set(L);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

int hostmt_is_locked(lua_State *L, int idx)
{
    int locked;
    idx = lua_absindex(L, idx);
    push_locked_set(L);
    lua_pushvalue(L, idx);
    locked = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return locked;
}

void hostmt_type(lua_State *L, const char *name, const luaL_Reg *meta,
                 const luaL_Reg *methods)
{
    if (!luaL_newmetatable(L, name))
        return;
    luaL_setfuncs(L, meta, 0);
    if (methods) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    hostmt_lock(L, -1);
}
