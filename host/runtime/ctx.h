/*
** ctx.h -- the `ctx` a recipe's run(ctx, args) receives.
*/
#ifndef CLAWHOST_CTX_H
#define CLAWHOST_CTX_H

#include <lua.h>

/*
** Push a new ctx: args at args_idx, input bytes at inputs_idx (name ->
** string), the recipe's name. Deferred functions and report rows are
** kept in the registry for run.c.
*/
void ctx_push(lua_State *L, int args_idx, int inputs_idx,
              const char *recipe);

/* Deferred cleanup functions, last registered first; pushes nothing
** and returns 0 when there are no more. */
int ctx_pop_deferred(lua_State *L);

/* Push the list of rows given to ctx.report (maybe empty). */
void ctx_push_reports(lua_State *L);

#endif
