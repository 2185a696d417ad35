/*
** recipe.h -- find, load and list recipes.
*/
#ifndef CLAWHOST_RECIPE_H
#define CLAWHOST_RECIPE_H

#include <stddef.h>
#include <lua.h>

struct recipe_ref {
    char path[4096];    /* the .lua file */
    char dir[4096];     /* its folder (modules may come from there) */
    char name[256];     /* what `list` and messages call it */
};

/*
** A name in ROOT/recipes ("publish", "get_request_status") or a path to
** a .lua file. Returns 0, or -1 with a message that suggests a close
** name when there is one.
*/
int recipe_resolve(const char *root, const char *arg,
                   struct recipe_ref *ref, char *err, size_t errlen);

/*
** Load and check the recipe (protected context; raises on errors) and
** push its table: description, params, run (required unless
** `for_listing`), optional calls, spends, group, alias_of and settings. Unless
** `for_listing`, the settings it declares become readable by config.
*/
void recipe_load(lua_State *L, const struct recipe_ref *ref,
                 int for_listing);

/*
** Does `clawhost list` leave the recipe out unless --all? The examples
** (group "Examples") and the recipes that are another name of one
** (`alias_of`, the MCP names): a list of what to run stays short.
*/
int recipe_hidden(const char *alias_of, const char *group);

/* Names of the recipes in ROOT/recipes, sorted; returns how many. */
int recipe_names(const char *root, char ***names);
void recipe_free_names(char **names, int n);

#endif
