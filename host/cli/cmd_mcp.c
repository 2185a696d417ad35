/*
** cmd_mcp.c -- `clawhost mcp`: recipes as tools of a Model Context
** Protocol server on stdin/stdout (docs/mcp.md).
**
** Read first: this file sets the server up and hands over. It reads
** every served recipe's params as data once (in one recipe state, as
** `list` does), registers the secrets clawhost knows with the output
** redactor (every byte the server writes passes it, the JSON-RPC
** framing included), and runs lua/mcp/server.lua in a state of its own
** that has mcpproc.c for processes and poll(2). Each tools/call runs as
** a child process: nothing a recipe does reaches this process.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "cli/cmd_mcp.h"
#include "cli/mcpproc.h"
#include "cli/params.h"
#include "cli/recipe.h"
#include "cli/usage.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "pure/settings.h"
#include "runtime/err.h"
#include "runtime/init.h"
#include "runtime/out.h"
#include "runtime/rt.h"
#include "runtime/sources.h"

#define CATALOG_MAX ((size_t)64 << 20)      /* JSON of every tool */

/* One recipe loaded for listing (its run is not needed), as data. */
static int catalog_one(lua_State *L)
{
    const struct recipe_ref *ref = lua_touserdata(L, 1);
    lua_settop(L, 0);
    recipe_load(L, ref, 1);
    params_push_data(L, 1, ref->name);
    lua_pushstring(L, ref->path);
    lua_setfield(L, -2, "path");
    return 1;
}

/* In the recipe state: {data} or {name, error} for each name given. */
static int catalog_entries(lua_State *L)
{
    const char *root = lua_touserdata(L, 1);
    struct recipe_ref ref;
    char err[1024];
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
    lua_createtable(L, (int)n, 0);                  /* 3 */
    json_mark_array(L, 3);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);
        const char *name = lua_tostring(L, -1);
        lua_newtable(L);
        int entry = lua_gettop(L);
        lua_pushstring(L, name);
        lua_setfield(L, entry, "ref");
        if (recipe_resolve(root, name, &ref, err, sizeof err) != 0) {
            lua_pushstring(L, err);
            lua_setfield(L, entry, "error");
        } else {
            struct rt *r = rt_get();    /* where its modules come from */
            snprintf(r->recipe_dir, sizeof r->recipe_dir, "%s", ref.dir);
            lua_pushcfunction(L, catalog_one);
            lua_pushlightuserdata(L, &ref);
            if (lua_pcall(L, 1, 1, 0) != LUA_OK)
                lua_pushstring(L, err_describe(L, -1));
            lua_setfield(L, entry, lua_istable(L, -1) ? "data" : "error");
        }
        lua_settop(L, entry);
        lua_rawseti(L, 3, i);
        lua_pop(L, 1);
    }
    json_encode_value(L, 3, 0);
    return 1;
}

/*
** Every secret clawhost knows by name (pure/settings.c, each alias
** too) goes to the redactor of this process: a child masks its own
** output, and this process masks again what it forwards, so a secret
** that slipped into a result or a log line never reaches the client.
*/
static void protect_known_secrets(void)
{
    char err[640];
    const char *src;
    size_t len;
    for (size_t i = 0; settings_item(i); i++) {
        const struct settings_item *s = settings_item(i);
        if (s->kind != SETTINGS_SECRET)
            continue;
        const char *const *al = settings_aliases(s->name);
        const char *one[] = {s->name, NULL};
        for (const char *const *n = al ? al : one; *n; n++) {
            char *v = secret_lookup(*n, &len, &src, err, sizeof err);
            if (!v)
                continue;
            if (out_add_secret(*n, v, len, NULL, 0) != 0)
                out_printf(OUT_STDERR, "clawhost mcp: cannot protect "
                           "%s in the output\n", *n);
            secret_wipe(v, len);
        }
    }
}

/* Lua: catalog(root, {name or path, ...}) -> JSON text. The recipes
** load in a sandboxed recipe state that is closed again at once. */
static int l_catalog(lua_State *S)
{
    struct rt_options opt;
    char err[512];
    size_t len;
    const char *root = luaL_checkstring(S, 1);
    luaL_checktype(S, 2, LUA_TTABLE);
    memset(&opt, 0, sizeof opt);
    opt.timeout_s = 60;
    opt.cleanup_timeout_s = 1;
    opt.memory_bytes = (size_t)256 << 20;
    if (init_start(&opt, root, err, sizeof err) != 0) {
        init_stop();
        return luaL_error(S, "%s", err);
    }
    lua_State *L = rt_get()->L;
    lua_pushcfunction(L, catalog_entries);
    lua_pushlightuserdata(L, (void *)root);
    lua_newtable(L);
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(S, 2); i++) {
        lua_rawgeti(S, 2, i);
        lua_pushstring(L, luaL_checkstring(S, -1));
        lua_rawseti(L, -2, i);
        lua_pop(S, 1);
    }
    int ok = lua_pcall(L, 2, 1, 0) == LUA_OK;
    const char *s = lua_tolstring(L, -1, &len);
    if (ok && len <= CATALOG_MAX)
        lua_pushlstring(S, s, len);
    else
        lua_pushfstring(S, "%s", ok ? "catalog too large" :
                        err_describe(L, -1));
    init_stop();            /* closes the output redactor too */
    protect_known_secrets();
    if (!ok || len > CATALOG_MAX)
        return lua_error(S);
    return 1;
}

/* The server's state: the safe standard libraries, json, mcpproc,
** and `require` limited to ROOT/lua. */
static lua_State *server_state(const char *root)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base}, {LUA_LOADLIBNAME, luaopen_package},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8},
        {"json", luaopen_clawhost_json},
        {"mcpproc", luaopen_clawhost_mcpproc}, {NULL, NULL}
    };
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    for (const luaL_Reg *l = libs; l->name; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    json_set_limits(L, (size_t)64 << 20, (size_t)64 << 20);
    lua_getglobal(L, LUA_LOADLIBNAME);
    lua_pushfstring(L, "%s/lua/?.lua", root);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    return L;
}

/* The settings the children must find where this process found them. */
static void push_config(lua_State *L, const char *root, int argc,
                        char **argv)
{
    char exe[PATH_MAX];
    const char *src = NULL, *serr = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    lua_createtable(L, 0, 7);
    lua_pushstring(L, root);
    lua_setfield(L, -2, "root");
    lua_pushstring(L, exe);
    lua_setfield(L, -2, "exe");
    lua_pushstring(L, sources_file(SOURCES_ENV_FILE)->path);
    lua_setfield(L, -2, "env_file");
    lua_pushstring(L, CLAWHOST_VERSION);
    lua_setfield(L, -2, "version");
    /* the usual run cap, from wherever settings come from (the
    ** environment, --env-file, ./.env.local, the user file); a refused
    ** file leaves it unset here and each call reports the refusal */
    lua_pushstring(L, sources_lookup("THETA_MAX_BUDGET_USD", &src,
                                     &serr));
    lua_setfield(L, -2, "env_budget");
    lua_pushcfunction(L, l_catalog);
    lua_setfield(L, -2, "catalog");
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "argv");
}

static int serve(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "mcp.server");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/* --help: the synopsis and options from usage.c's table. */
static int print_help(void)
{
    for (const struct usage_command *c = usage_commands; c->name; c++) {
        if (strcmp(c->name, "mcp") != 0)
            continue;
        out_printf(OUT_STDOUT, "usage: clawhost mcp %s\n\n", c->synopsis);
        usage_wrap(OUT_STDOUT, c->help, 0, 0, 72);
        out_puts(OUT_STDOUT, "\noptions:\n");
        for (const struct usage_item *o = c->options; o->left; o++) {
            char left[64];
            snprintf(left, sizeof left, "  %s%s%s", o->left,
                     o->arg ? " " : "", o->arg ? o->arg : "");
            out_printf(OUT_STDOUT, "%-24s", left);
            usage_wrap(OUT_STDOUT, o->help, 24, 24, 79);
        }
        out_printf(OUT_STDOUT, "%-24s", "  --env-file PATH");
        usage_wrap(OUT_STDOUT, "the settings file, passed on to every "
                   "call", 24, 24, 79);
    }
    return EXIT_OK;
}

int cmd_mcp(const char *root, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return print_help();
    lua_State *L = server_state(root);
    if (!L) {
        out_puts(OUT_STDERR, "clawhost mcp: out of memory\n");
        return EXIT_FAILED;
    }
    lua_pushcfunction(L, serve);
    push_config(L, root, argc, argv);
    int status = EXIT_FAILED;
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        out_printf(OUT_STDERR, "clawhost mcp: %s\n", lua_tostring(L, -1));
    else
        status = (int)lua_tointeger(L, -1);
    lua_close(L);
    out_flush_all();
    return status;
}
