/*
** declared.c -- the settings a recipe declares.
**
**   settings = {
**     MYAPP_REGION = "the region my recipe posts to",
**   }
**
** config.get hands a recipe only the settings clawhost documents and
** the ones it declares here (runtime/config.c), so that what a recipe
** can read is written in the recipe and shown by `clawhost help`. A
** declaration is a name and the line of help the user sees; a name that
** looks like a credential, or that clawhost knows as one, is refused at
** load (exit 2): credentials go through secret.get only.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cli/declared.h"
#include "pure/dotenv.h"
#include "pure/settings.h"
#include "runtime/config.h"
#include "runtime/err.h"

#define MAX_SETTINGS 64

/* Is the name one config must never hand out? Then why, for the
** message; NULL when it may be declared. */
static const char *credential(const char *name)
{
    const struct settings_item *s = settings_find(name, NULL);
    if (s && s->kind == SETTINGS_SECRET)
        return "is a credential clawhost knows";
    if (config_is_secret_name(name))
        return "looks like a credential";
    return NULL;
}

/* One entry: the key at -2, its help at -1. */
static void check_entry(lua_State *L, const char *recipe)
{
    size_t len;
    const char *name, *why;
    if (lua_type(L, -2) != LUA_TSTRING)
        err_raise(L, "config", "recipe %s: settings maps names to what "
                  "they are, like settings = { MYAPP_REGION = \"the "
                  "region it posts to\" }", recipe);
    name = lua_tolstring(L, -2, &len);
    if (!dotenv_valid_key(name, len))
        err_raise(L, "config", "recipe %s: setting '%s' is not a variable "
                  "name (letters, digits and _, not starting with a "
                  "digit)", recipe, name);
    if ((why = credential(name)) != NULL)
        err_raise(L, "config", "recipe %s: setting %s %s; config never "
                  "hands out credentials: read it with secret.get('%s')",
                  recipe, name, why, name);
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        err_raise(L, "config", "recipe %s: setting %s needs a line of "
                  "help: settings = { %s = \"what it is\" }", recipe,
                  name, name);
}

void declared_check(lua_State *L, int idx, const char *recipe,
                    int declare)
{
    int t = lua_gettop(L) + 1, n = 0;
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, idx, "settings") == LUA_TNIL) {
        if (declare)
            config_declare_done();
        lua_settop(L, t - 1);
        return;
    }
    if (!lua_istable(L, t))
        err_raise(L, "config", "recipe %s: `settings` must be a table "
                  "like { MYAPP_REGION = \"what it is\" }", recipe);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (++n > MAX_SETTINGS)
            err_raise(L, "config", "recipe %s: more than %d settings",
                      recipe, MAX_SETTINGS);
        check_entry(L, recipe);
        if (declare && config_declare(lua_tostring(L, -2)) != 0)
            luaL_error(L, "out of memory declaring the settings");
        lua_pop(L, 1);
    }
    if (declare)
        config_declare_done();
    lua_settop(L, t - 1);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The declared names, sorted; they live in the table at t. */
static int sorted_names(lua_State *L, int t, const char **names)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (n < MAX_SETTINGS && lua_type(L, -2) == LUA_TSTRING)
            names[n++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    return n;
}

void declared_push_help(lua_State *L, int idx)
{
    const char *names[MAX_SETTINGS];
    char left[160];
    luaL_Buffer b;
    int t = lua_gettop(L) + 1, n = 0;
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, idx, "settings") == LUA_TTABLE)
        n = sorted_names(L, t, names);
    luaL_buffinit(L, &b);
    if (n > 0)
        luaL_addstring(&b, "\nsettings (read with config.get; set them in "
                       "the environment, --env-file, .env.local or\n"
                       "~/.config/clawhost/env):\n");
    for (int i = 0; i < n; i++) {
        lua_getfield(L, t, names[i]);
        snprintf(left, sizeof left, "  %-26s", names[i]);
        lua_pushfstring(L, "%s %s\n", left, lua_tostring(L, -1));
        lua_remove(L, -2);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_replace(L, t);
    lua_settop(L, t);
}
