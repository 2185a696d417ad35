/*
** budget.h -- the `budget` module over the spend ledger.
*/
#ifndef CLAWHOST_BUDGET_H
#define CLAWHOST_BUDGET_H

#include <lua.h>

int luaopen_clawhost_budget(lua_State *L);

/* End of run: settle what was left open, close the ledger. */
void budget_finish(void);

#endif
