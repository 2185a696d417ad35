/*
** lsse.h -- the `sse` module, and the events() method of streaming
** responses.
*/
#ifndef CLAWHOST_LSSE_H
#define CLAWHOST_LSSE_H

#include <lua.h>

/*
** Reads the next body piece of the stream at index self: 1 with a
** string pushed, 0 at the end (s.error says why, if it failed), or a
** wait whose continuation is k(ctx).
*/
typedef int (*lsse_piece_fn)(lua_State *L, int self, lua_KFunction k,
                             lua_KContext ctx);

/* Add the SSE methods (events) to the stream methods table at idx;
** `piece` is how they read the stream. */
void lsse_add_methods(lua_State *L, int idx, lsse_piece_fn piece);

int luaopen_clawhost_sse(lua_State *L);

#endif
