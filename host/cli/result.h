/*
** result.h -- what `run` returned, on stdout (JSON or a summary).
*/
#ifndef CLAWHOST_RESULT_H
#define CLAWHOST_RESULT_H

#include <lua.h>

/* Print the value at idx (and ctx.report rows); may raise on JSON. */
void result_print(lua_State *L, int idx, int json);

/* {"error": {"code": ..., "message": ...}} on stdout. */
void result_print_json_error(lua_State *L, const char *code,
                             const char *msg);

#endif
