/*
** ctx.c -- the `ctx` a recipe's run(ctx, args) receives.
**
**   ctx.dry_run        true under --dry-run or THETA_DRY_RUN
**   ctx.json           true under --json (the result will be JSON)
**   ctx.args           the parsed params (also run's second argument)
**   ctx.recipe         the recipe's name
**   ctx.defer(fn)      run fn after run() ends, whatever happens
**   ctx.input(name)    bytes of the file named for a file param
**   ctx.output(name, text)  write the file named for an output param
**   ctx.report(row)    add a row to the result table
**   ctx.write(text)    stream text to the terminal as it comes
**
** Functions accept both ctx.f(x) and ctx:f(x).
*/
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "runtime/ctx.h"
#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/log.h"
#include "runtime/out.h"
#include "runtime/rt.h"
#include "util/fileio.h"

static const char deferred_key = 0;
static const char reports_key = 0;
static const char inputs_key = 0;

static void push_list(lua_State *L, const void *key)
{
    hostmt_registry_table(L, key, 0);
}

/* Index of the first real argument, skipping ctx in ctx:f(...). */
static int first_arg(lua_State *L)
{
    return lua_rawequal(L, 1, lua_upvalueindex(1)) ? 2 : 1;
}

/* Cleanup lives in C, not in <close> (Lua 5.4.4's `break` in a `for`
** closes too late, reliability-anchors V1), so it runs on every exit. */
static int l_defer(lua_State *L)
{
    int a = first_arg(L);
    luaL_checktype(L, a, LUA_TFUNCTION);
    if (rt_get()->phase != RT_RUNNING)
        return luaL_error(L, "ctx.defer: only while run() executes");
    push_list(L, &deferred_key);
    lua_pushvalue(L, a);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int l_input(lua_State *L)
{
    const char *name = luaL_checkstring(L, first_arg(L));
    lua_rawgetp(L, LUA_REGISTRYINDEX, &inputs_key);
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_getfield(L, lua_upvalueindex(1), "args");
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return luaL_error(L, "ctx.input('%s'): %s is not a file param "
                          "(declare it with type = \"file\")", name, name);
    lua_pushnil(L);         /* a file param that was not given */
    return 1;
}

/*
** The one way a recipe writes a file: the one the user named on the
** command line for an output param. The text passes the output
** redactor first, like everything else the process writes, and
** replaces the file whole (a crash leaves the old one or the new one).
*/
static int l_output(lua_State *L)
{
    int a = first_arg(L);
    const char *name = luaL_checkstring(L, a);
    size_t len, mlen;
    const char *text = luaL_checklstring(L, a + 1, &len);
    char err[512];
    lua_rawgetp(L, LUA_REGISTRYINDEX, &inputs_key);
    lua_pushfstring(L, "output:%s", name);
    if (lua_gettable(L, -2) != LUA_TSTRING) {
        lua_getfield(L, lua_upvalueindex(1), "args");
        if (lua_getfield(L, -1, name) != LUA_TNIL)
            return luaL_error(L, "ctx.output('%s'): %s is not an output "
                              "param (declare it with type = \"output\")",
                              name, name);
        lua_pushboolean(L, 0);      /* not given: nothing to write */
        return 1;
    }
    const char *path = lua_tostring(L, -1);
    char *masked = out_redact(text, len, &mlen);
    struct fileio_target t = {AT_FDCWD, path, path, 0600, NULL, NULL};
    int rc = fileio_replace(&t, masked ? masked : text,
                            masked ? mlen : len, err, sizeof err);
    free(masked);
    if (rc != 0)
        return err_fail(L, "io", "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_report(lua_State *L)
{
    int a = first_arg(L);
    luaL_checktype(L, a, LUA_TTABLE);
    push_list(L, &reports_key);
    lua_pushvalue(L, a);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

/* Streamed text (chat tokens) goes to stdout at once; with --json,
** stdout is the result, so the text goes to stderr instead. */
static int l_write(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, first_arg(L), &len);
    int fd = rt_get()->opt.json ? OUT_STDERR : OUT_STDOUT;
    log_progress_clear();
    out_write(fd, s, len);
    out_flush(fd);
    return 0;
}

static const luaL_Reg ctx_funcs[] = {
    {"defer", l_defer},
    {"input", l_input},
    {"output", l_output},
    {"report", l_report},
    {"write", l_write},
    {NULL, NULL}
};

void ctx_push(lua_State *L, int args_idx, int inputs_idx,
              const char *recipe)
{
    args_idx = lua_absindex(L, args_idx);
    lua_pushvalue(L, inputs_idx);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &inputs_key);
    lua_createtable(L, 0, 8);
    for (const luaL_Reg *f = ctx_funcs; f->name; f++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    lua_pushboolean(L, rt_get()->opt.dry_run);
    lua_setfield(L, -2, "dry_run");
    lua_pushboolean(L, rt_get()->opt.json);
    lua_setfield(L, -2, "json");
    lua_pushvalue(L, args_idx);
    lua_setfield(L, -2, "args");
    lua_pushstring(L, recipe);
    lua_setfield(L, -2, "recipe");
}

int ctx_pop_deferred(lua_State *L)
{
    push_list(L, &deferred_key);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n == 0) {
        lua_pop(L, 1);
        return 0;
    }
    lua_rawgeti(L, -1, n);
    lua_pushnil(L);
    lua_rawseti(L, -3, n);
    lua_remove(L, -2);
    return 1;
}

void ctx_push_reports(lua_State *L)
{
    push_list(L, &reports_key);
}
