/*
** cmd_mcp.h -- `clawhost mcp`: an MCP server on stdio (docs/mcp.md).
*/
#ifndef CLAWHOST_CMD_MCP_H
#define CLAWHOST_CMD_MCP_H

/* Serve until stdin ends or a signal; returns the exit status. */
int cmd_mcp(const char *root, int argc, char **argv);

#endif
