/*
** http.h -- the `http` module and what its neighbours plug into it:
** secret.c reads a clawhost.Secret into a header, lsse.c adds
** response:events() to streams.
*/
#ifndef CLAWHOST_HTTP_H
#define CLAWHOST_HTTP_H

#include <stddef.h>
#include <lua.h>

int luaopen_clawhost_http(lua_State *L);

/*
** For lsse.c: the next body piece of the stream at index self: 1 with
** a string pushed, 0 at the end (s.error says why, if it failed), or a
** wait whose continuation is k(ctx).
*/
int http_stream_piece(lua_State *L, int self, lua_KFunction k,
                      lua_KContext ctx);

/* Add the SSE methods (events) to the stream methods table at idx. */
void lsse_add_methods(lua_State *L, int idx);

int luaopen_clawhost_sse(lua_State *L);

#endif
