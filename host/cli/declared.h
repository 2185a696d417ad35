/*
** declared.h -- the settings a recipe declares (`settings = {NAME =
** "what it is", ...}`): checked when the recipe loads, handed to the
** config module for the run, shown by `clawhost help RECIPE`.
*/
#ifndef CLAWHOST_DECLARED_H
#define CLAWHOST_DECLARED_H

#include <lua.h>

/*
** Check the `settings` field of the recipe table at idx; raises a
** "config" error naming the bad entry. With `declare`, each name is
** then readable through config.get for the rest of the run.
*/
void declared_check(lua_State *L, int idx, const char *recipe,
                    int declare);

/* Push the help section of the settings ("" when there are none). */
void declared_push_help(lua_State *L, int idx);

#endif
