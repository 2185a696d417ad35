/*
** params.h -- a recipe's declared params: validation, command-line
** parsing into the args table, and the help text.
*/
#ifndef CLAWHOST_PARAMS_H
#define CLAWHOST_PARAMS_H

#include <lua.h>

/*
** Check the declaration `params` at idx (types, defaults, enum values,
** reserved names); raises a "config" error naming the bad param.
*/
void params_check(lua_State *L, int idx, const char *recipe);

/*
** Parse argv against the params at idx and push the args table. Files
** named for `type = "file"` params are read into the `inputs` table at
** inputs_idx (name -> bytes). Raises a "usage" error that names the
** flag, what was expected and how to get help.
*/
void params_parse(lua_State *L, int idx, int inputs_idx, int argc,
                  char **argv, const char *recipe);

/* Push the full help text of a recipe table at idx. */
void params_push_help(lua_State *L, int idx, const char *recipe);

/*
** Push the recipe table at idx as data, for `help RECIPE --json` and the
** shell completions: name, description, group, spends, alias_of,
** settings, calls, usage, and params, a list sorted by name of {name,
** flag, type, of, required, arg, default, values, min, max, help,
** max_bytes} (the fields a param has).
*/
void params_push_data(lua_State *L, int idx, const char *recipe);

/* Global options every recipe accepts (names used by main.c too). */
extern const char *const params_global_options[];

#endif
