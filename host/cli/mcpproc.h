/*
** mcpproc.h -- processes, pipes and poll(2) for the MCP server's own
** Lua state (cli/cmd_mcp.c); never opened in a recipe's state.
*/
#ifndef CLAWHOST_MCPPROC_H
#define CLAWHOST_MCPPROC_H

#include <lua.h>

int luaopen_clawhost_mcpproc(lua_State *L);

#endif
