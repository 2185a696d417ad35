/*
** require.c -- the sandbox's require.
**
** Modules come from three places only, in this order: host modules
** registered with sandbox_preload (opened once, handed out read-only),
** Lua files under lua/ of the installation, and Lua files in the
** recipe's own folder. There is no package.path, no C searcher and no
** loadlib: Debian's Redis once left `package` in its sandbox and
** package.loadlib became remote code execution (CVE-2022-0543).
*/
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "runtime/hostmt.h"
#include "runtime/rt.h"
#include "sandbox/require.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_int.h"

#define MAX_NAME 128

static const char loaded_key = 0;   /* name -> value, or the sentinel */
static const char preload_key = 0;  /* name -> luaopen function */
static const char loading = 0;      /* sentinel while a module loads */

static void push_registry_table(lua_State *L, const void *key)
{
    hostmt_registry_table(L, key, 0);
}

void require_preload(lua_State *L, const char *name, lua_CFunction open)
{
    push_registry_table(L, &preload_key);
    lua_pushcfunction(L, open);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* Dotted words: a name can never climb out of its folder. */
static int valid_name(const char *s)
{
    size_t n = strlen(s), seg = 0;
    if (n == 0 || n >= MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (seg == 0)
                return 0;
            seg = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '_' ||
                   (c == '-' && seg > 0)) {
            seg++;
        } else {
            return 0;
        }
    }
    return seg > 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* First of DIR/a/b.lua and DIR/a/b/init.lua in lua/, then the recipe's
** folder; `rel` is the name with dots turned into slashes. */
static int find_module(const char *rel, char *out, size_t size)
{
    struct rt *r = rt_get();
    const char *dirs[2] = {NULL, r->recipe_dir};
    char lua_dir[sizeof r->root + 8];
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", r->root);
    dirs[0] = lua_dir;
    for (int d = 0; d < 2; d++) {
        if (!dirs[d][0])
            continue;
        if ((size_t)snprintf(out, size, "%s/%s.lua", dirs[d], rel) < size
            && is_file(out))
            return 1;
        if ((size_t)snprintf(out, size, "%s/%s/init.lua", dirs[d], rel)
            < size && is_file(out))
            return 1;
    }
    return 0;
}

/* Chunk names relative to the installation read better in messages. */
static void chunk_name(const char *path, char *out, size_t size)
{
    const char *root = rt_get()->root;
    size_t n = strlen(root);
    if (n > 0 && strncmp(path, root, n) == 0 && path[n] == '/')
        snprintf(out, size, "@%s", path + n + 1);
    else
        snprintf(out, size, "@%s", path);
}

/* Host module tables are handed out as read-only views, nested tables
** (json.safe) included, so one recipe file cannot patch another's. */
static void freeze_view(lua_State *L, const char *name, int depth)
{
    int t = lua_gettop(L);
    lua_pushnil(L);
    while (depth < 4 && lua_next(L, t)) {
        int plain = lua_type(L, -1) == LUA_TTABLE;
        if (plain && lua_getmetatable(L, -1)) {
            lua_pop(L, 1);          /* has a metatable: leave it be */
            plain = 0;
        }
        if (plain) {
            const char *sub = lua_pushfstring(L, "%s.%s", name,
                                              lua_tostring(L, -2));
            lua_insert(L, -2);
            freeze_view(L, sub, depth + 1);
            lua_remove(L, -2);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, t);       /* replacing a field is allowed */
        } else {
            lua_pop(L, 1);
        }
    }
    sandbox_push_frozen(L, t, name);
    lua_replace(L, t);
}

static int load_host_module(lua_State *L, const char *name)
{
    push_registry_table(L, &preload_key);
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
        lua_pop(L, 2);
        return 0;
    }
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) == LUA_TTABLE)
        freeze_view(L, name, 0);
    lua_remove(L, -2);
    return 1;
}

static int load_lua_module(lua_State *L, const char *name)
{
    char rel[MAX_NAME], path[4352], chunk[4400];
    for (size_t i = 0; i <= strlen(name); i++)
        rel[i] = name[i] == '.' ? '/' : name[i];
    if (!find_module(rel, path, sizeof path))
        return rt_policy(L, "require '%s': no %s.lua in %s/lua or in the "
                         "recipe's folder %s (modules load only from "
                         "there)", name, rel, rt_get()->root,
                         rt_get()->recipe_dir[0] ?
                         rt_get()->recipe_dir : "(none)");
    chunk_name(path, chunk, sizeof chunk);
    if (sandbox_load_file(L, path, chunk) != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, name);
    lua_pushstring(L, path);
    lua_call(L, 2, 1);
    return 1;
}

static const char *const std_libs[] = {
    "string", "table", "math", "utf8", "coroutine", "os", "debug", "io",
    "package", NULL
};

/* Runs unprotected inside s_require's pcall: name at 1. */
static int load_any(lua_State *L)
{
    const char *name = lua_tostring(L, 1);
    if (!load_host_module(L, name))
        load_lua_module(L, name);
    return 1;
}

static int s_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    push_registry_table(L, &loaded_key);                /* 2 */
    if (lua_getfield(L, 2, name) != LUA_TNIL) {
        if (lua_touserdata(L, -1) == (void *)&loading)
            return luaL_error(L, "require '%s': loop (the module "
                              "requires itself, directly or not)", name);
        return 1;
    }
    for (int i = 0; std_libs[i]; i++) {
        if (strcmp(name, std_libs[i]) == 0) {
            sandbox_push_base(L);
            lua_getfield(L, -1, name);
            return 1;
        }
    }
    if (!valid_name(name))
        return rt_policy(L, "require '%s': a module name is dotted words "
                         "(letters, digits, _ and -), never a path", name);
    lua_pushlightuserdata(L, (void *)&loading);
    lua_setfield(L, 2, name);
    lua_pushcfunction(L, load_any);
    lua_pushvalue(L, 1);
    int status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
        rt_note_error(L, status);
        lua_pushnil(L);
        lua_setfield(L, 2, name);   /* a later require tries again */
        return lua_error(L);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}

int require_open(lua_State *L)
{
    lua_pushcfunction(L, s_require);
    return 1;
}
