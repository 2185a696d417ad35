/*
** errors.c -- clawhost.Error values and the exit codes they map to.
**
** Errors are plain tables so library code can add fields (status,
** retry_after, plan); only the metatable is the host's, locked like every
** host metatable.
*/
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "runtime/err.h"
#include "runtime/hostmt.h"

static const struct {
    const char *code;
    int status;
} exit_map[] = {
    {"usage", EXIT_USAGE},
    {"config", EXIT_USAGE},
    {"budget_exceeded", EXIT_BUDGET},
    {"policy", EXIT_POLICY},
    {"blocked", EXIT_POLICY},
    {"dry_run", EXIT_POLICY},
    {"deadline", EXIT_DEADLINE},
    {"cancelled", EXIT_INTERRUPTED},
    {NULL, 0}
};

int err_exit_status(const char *code)
{
    if (!code)
        return EXIT_FAILED;
    for (int i = 0; exit_map[i].code; i++)
        if (strcmp(exit_map[i].code, code) == 0)
            return exit_map[i].status;
    return EXIT_FAILED;
}

static int err_tostring(lua_State *L)
{
    lua_getfield(L, 1, "message");
    if (!lua_isstring(L, -1)) {
        lua_pop(L, 1);
        lua_getfield(L, 1, "code");
        if (!lua_isstring(L, -1))
            lua_pushliteral(L, "error");
    }
    lua_pushstring(L, lua_tostring(L, -1));
    return 1;
}

static const luaL_Reg err_meta[] = {
    {"__tostring", err_tostring},
    {NULL, NULL}
};

static void push_meta(lua_State *L)
{
    hostmt_type(L, ERR_TYPE, err_meta, NULL);
}

void err_pushv(lua_State *L, const char *code, const char *fmt, va_list ap)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushvfstring(L, fmt, ap);
    lua_setfield(L, -2, "message");
    push_meta(L);
    lua_setmetatable(L, -2);
}

void err_push(lua_State *L, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_pushv(L, code, fmt, ap);
    va_end(ap);
}

int err_fail(lua_State *L, const char *code, const char *fmt, ...)
{
    va_list ap;
    lua_pushnil(L);
    va_start(ap, fmt);
    err_pushv(L, code, fmt, ap);
    va_end(ap);
    return 2;
}

int err_raise(lua_State *L, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_pushv(L, code, fmt, ap);
    va_end(ap);
    return lua_error(L);
}

int err_is(lua_State *L, int idx)
{
    int is;
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, ERR_TYPE);
    is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is;
}

const char *err_code(lua_State *L, int idx)
{
    const char *code;
    if (!err_is(L, idx))
        return NULL;
    lua_getfield(L, idx, "code");
    code = lua_tostring(L, -1);
    lua_pop(L, 1);  /* the string stays alive in the error table */
    return code;
}

const char *err_describe(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
    case LUA_TNUMBER:
        return lua_pushstring(L, lua_tostring(L, idx));
    case LUA_TTABLE:
        lua_pushliteral(L, "message");
        lua_rawget(L, idx);
        if (lua_type(L, -1) == LUA_TSTRING)
            return lua_tostring(L, -1);
        lua_pop(L, 1);
        break;
    case LUA_TNIL:
        return lua_pushliteral(L, "nil error");
    default:
        break;
    }
    return lua_pushfstring(L, "(error object is a %s value)",
                           luaL_typename(L, idx));
}

/* errors.new(code, message[, fields]) for Lua library code. */
static int l_new(lua_State *L)
{
    const char *code = luaL_checkstring(L, 1);
    const char *msg = luaL_optstring(L, 2, code);
    err_push(L, code, "%s", msg);
    if (lua_istable(L, 3)) {
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, -4);
        }
    }
    return 1;
}

static int l_is(lua_State *L)
{
    lua_pushboolean(L, err_is(L, 1));
    return 1;
}

static const luaL_Reg errors_funcs[] = {
    {"new", l_new},
    {"is", l_is},
    {NULL, NULL}
};

int luaopen_clawhost_errors(lua_State *L)
{
    push_meta(L);
    lua_pop(L, 1);
    luaL_newlib(L, errors_funcs);
    return 1;
}
