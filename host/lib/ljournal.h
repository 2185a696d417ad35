/*
** ljournal.h -- the `journal` module: the store's cleanup journal
** (docs/deployments.md, docs/store.md).
*/
#ifndef CLAWHOST_LJOURNAL_H
#define CLAWHOST_LJOURNAL_H

#include <lua.h>

int luaopen_clawhost_journal(lua_State *L);

#endif
