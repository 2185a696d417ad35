/*
** http.h -- the `http` module (docs/http.md). secret.c reads a
** clawhost.Secret into a header for it (secret_header), lsse.c adds
** response:events() to its streams (lsse_add_methods).
*/
#ifndef CLAWHOST_HTTP_H
#define CLAWHOST_HTTP_H

#include <lua.h>

int luaopen_clawhost_http(lua_State *L);

#endif
