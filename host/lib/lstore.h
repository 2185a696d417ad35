/*
** lstore.h -- the store a run uses (opened on first need), and the
** `store` module recipes require for their own state (docs/store.md).
*/
#ifndef CLAWHOST_LSTORE_H
#define CLAWHOST_LSTORE_H

#include <stddef.h>
#include <lua.h>

#include "store/store.h"

/*
** Open the store CLAWHOST_STORE names, resolved like a secret
** (credentials folders, environment, settings files) and masked in every
** output; for commands (clawhost ledger, store). A store_status.
*/
int lstore_open(store **out, char *err, size_t errlen);

/*
** The run's store: CLAWHOST_STORE resolved like a secret (credentials
** folders, environment, settings files) and masked in every output, opened
** once, the run recorded in it. NULL with a message (never the URL)
** when it cannot be opened; the next call tries again.
*/
store *lstore_get(char *err, size_t errlen);

/* This run's id: RECIPE@START-PID, in the store's name alphabet. */
const char *lstore_run_id(void);

/* At the end: the run's exit status is recorded and the store closed. */
void lstore_finish(void);

int luaopen_clawhost_store(lua_State *L);

#endif
