/*
** init.c -- the one place that lists the host modules: what a recipe
** can require, and what must be finished when the state is gone.
**
** Lua keeps its library list in linit.c, apart from its core; this file
** does the same, so that the runtime (rt.c, loop.c) knows nothing of
** the modules built on it and no binding is reached from below.
*/
#include <stdio.h>

#include <lauxlib.h>

#include "curl/transfer.h"
#include "lib/budget.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/lsse.h"
#include "lib/ljournal.h"
#include "lib/lstore.h"
#include "lib/secret.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/init.h"
#include "runtime/log.h"
#include "runtime/rt.h"
#include "runtime/task.h"
#include "sandbox/require.h"
#include "sandbox/sandbox.h"

/* What `require "NAME"` gives a recipe (docs/modules.md). */
static const luaL_Reg host_modules[] = {
    {"errors", luaopen_clawhost_errors},
    {"task", luaopen_clawhost_task},
    {"clock", luaopen_clawhost_clock},
    {"log", luaopen_clawhost_log},
    {"config", luaopen_clawhost_config},
    {"json", luaopen_clawhost_json},
    {"http", luaopen_clawhost_http},
    {"sse", luaopen_clawhost_sse},
    {"secret", luaopen_clawhost_secret},
    {"budget", luaopen_clawhost_budget},
    {"store", luaopen_clawhost_store},
    {"journal", luaopen_clawhost_journal},
    {NULL, NULL}
};

/*
** What outlives the Lua state and is finished after it closes, in this
** order: reservations still open are closed in the store, the run's
** end is recorded and the store closed, then libcurl's handles and
** global state are freed.
*/
static void (*const finishers[])(void) = {
    budget_finish,
    lstore_finish,
    transfer_shutdown,
    NULL
};

static int open_modules(lua_State *L)
{
    for (const luaL_Reg *m = host_modules; m->name; m++)
        require_preload(L, m->name, m->func);
    require_open(L);
    sandbox_open(L);
    return 0;
}

int init_start(const struct rt_options *opt, const char *root, char *err,
               size_t errlen)
{
    if (rt_init(opt, root, err, errlen) != 0)
        return -1;
    lua_State *L = rt_get()->L;
    lua_pushcfunction(L, open_modules);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "cannot set up the sandbox: %s",
                 lua_tostring(L, -1));
        return -1;
    }
    return 0;
}

void init_stop(void)
{
    rt_close_state();
    for (int i = 0; finishers[i]; i++)
        finishers[i]();
    rt_close();
}
