/*
** recipe.c -- find, load and list recipes.
**
** A recipe is a Lua file that returns a table (DESIGN section 3). It is
** loaded in the sandbox like any module; a recipe that cannot load, or
** returns something else, is a configuration error (exit 2) that says
** what was wrong.
*/
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "cli/declared.h"
#include "cli/params.h"
#include "cli/recipe.h"
#include "pure/suggest.h"
#include "runtime/err.h"
#include "sandbox/sandbox.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int valid_recipe_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int from_path(const char *arg, struct recipe_ref *ref, char *err,
                     size_t errlen)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(arg, real) || stat(real, &st) != 0)
        return snprintf(err, errlen, "no recipe file %s", arg), -1;
    if (!S_ISREG(st.st_mode) || !ends_with(real, ".lua"))
        return snprintf(err, errlen, "%s is not a .lua file", arg), -1;
    snprintf(ref->path, sizeof ref->path, "%s", real);
    snprintf(ref->dir, sizeof ref->dir, "%s", real);
    char *slash = strrchr(ref->dir, '/');
    *slash = '\0';
    snprintf(ref->name, sizeof ref->name, "%s", slash + 1);
    ref->name[strlen(ref->name) - 4] = '\0';
    return 0;
}

static void suggest_name(const char *root, const char *arg, char *err,
                         size_t errlen)
{
    char **names;
    const char *best = NULL;
    size_t dist = 0, used = strlen(err);
    int n = recipe_names(root, &names);
    for (int i = 0; i < n; i++)
        suggest_consider(arg, names[i], &best, &dist);
    if (best)
        snprintf(err + used, errlen - used, " (did you mean %s?)", best);
    recipe_free_names(names, n);
}

int recipe_resolve(const char *root, const char *arg,
                   struct recipe_ref *ref, char *err, size_t errlen)
{
    struct stat st;
    if (strchr(arg, '/') || ends_with(arg, ".lua"))
        return from_path(arg, ref, err, errlen);
    if (!valid_recipe_name(arg))
        return snprintf(err, errlen, "'%s' is not a recipe name or a .lua "
                        "file", arg), -1;
    snprintf(ref->path, sizeof ref->path, "%s/recipes/%s.lua", root, arg);
    if (stat(ref->path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "no recipe '%s' in %s/recipes; "
                 "'clawhost list' shows them", arg, root);
        suggest_name(root, arg, err, errlen);
        return -1;
    }
    snprintf(ref->dir, sizeof ref->dir, "%s/recipes", root);
    snprintf(ref->name, sizeof ref->name, "%s", arg);
    return 0;
}

static void check_field(lua_State *L, const struct recipe_ref *ref,
                        const char *field, int type, int required)
{
    int t = lua_getfield(L, -1, field);
    if (t != type && (required || t != LUA_TNIL))
        err_raise(L, "config", "recipe %s: `%s` must be a %s%s", ref->name,
                  field, lua_typename(L, type),
                  required ? "" : " when present");
    lua_pop(L, 1);
}

/*
** `approval = "lives"` marks a recipe that makes something billed for as
** long as it exists (a deployment): the MCP server asks the user before
** it runs one (docs/mcp.md). One known word, so a typo cannot turn the
** question off.
*/
static void check_approval(lua_State *L, const struct recipe_ref *ref)
{
    check_field(L, ref, "approval", LUA_TSTRING, 0);
    lua_getfield(L, -1, "approval");
    const char *a = lua_tostring(L, -1);
    if (a && strcmp(a, "lives") != 0)
        err_raise(L, "config", "recipe %s: `approval` must be \"lives\" "
                  "when present (got a different word)", ref->name);
    lua_pop(L, 1);
}

void recipe_load(lua_State *L, const struct recipe_ref *ref,
                 int for_listing)
{
    char chunk[4400];
    snprintf(chunk, sizeof chunk, "@%s", ref->path);
    if (strncmp(ref->path, ref->dir, strlen(ref->dir)) == 0)
        snprintf(chunk, sizeof chunk, "@%s.lua", ref->name);
    if (sandbox_load_file(L, ref->path, chunk) != LUA_OK)
        err_raise(L, "config", "recipe %s does not load: %s", ref->name,
                  lua_tostring(L, -1));
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1))
        err_raise(L, "config", "recipe %s must return a table with "
                  "description, params and run (it returned a %s)",
                  ref->name, luaL_typename(L, -1));
    check_field(L, ref, "description", LUA_TSTRING, 0);
    check_field(L, ref, "run", LUA_TFUNCTION, !for_listing);
    check_field(L, ref, "calls", LUA_TTABLE, 0);
    check_field(L, ref, "group", LUA_TSTRING, 0);
    check_field(L, ref, "alias_of", LUA_TSTRING, 0);
    check_approval(L, ref);
    lua_getfield(L, -1, "params");
    params_check(L, -1, ref->name);
    lua_pop(L, 1);
    /* only a run reads settings: `list` loads every recipe in one
    ** state, and one must not widen what the next may read */
    declared_check(L, -1, ref->name, !for_listing);
}

int recipe_hidden(const char *alias_of, const char *group)
{
    return alias_of != NULL || (group && strcmp(group, "Examples") == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int recipe_names(const char *root, char ***names)
{
    char dirpath[4200];
    struct dirent *e;
    int n = 0, cap = 0;
    *names = NULL;
    snprintf(dirpath, sizeof dirpath, "%s/recipes", root);
    DIR *d = opendir(dirpath);
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".lua") || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown)
                break;
            *names = grown;
        }
        (*names)[n] = strndup(e->d_name, strlen(e->d_name) - 4);
        if ((*names)[n])
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(*names, (size_t)n, sizeof **names, cmp_str);
    return n;
}

void recipe_free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
