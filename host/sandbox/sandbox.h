/*
** sandbox.h -- the environment recipes and lua/ modules run in.
**
** Recipes see only the safe parts of the standard library, host
** modules through require, and host types whose metatables they can
** neither read nor replace. docs/security.md lists every removed or
** changed global and why.
*/
#ifndef CLAWHOST_SANDBOX_H
#define CLAWHOST_SANDBOX_H

#include <lua.h>

/*
** Build the shared read-only base environment: safe globals, frozen
** library tables, the replaced functions. Call once per state with the
** sandbox's require function on top of the stack (require_open), after
** the host modules are preloaded; it is popped.
*/
void sandbox_open(lua_State *L);

/* Push a fresh global table for one chunk (a recipe or a module). */
void sandbox_new_env(lua_State *L);

/*
** Load a text chunk into a fresh environment (binary chunks refused)
** and push the function, or push an error message and return nonzero.
*/
int sandbox_load_file(lua_State *L, const char *path, const char *chunkname);

/* A read-only view of the table at idx (writes are policy errors that
** name it: "json.encode"). */
void sandbox_push_frozen(lua_State *L, int idx, const char *name);

/*
** When run() has returned: collect, queue the finalizers (__gc) of every
** recipe table that has one, and push the function that runs them, to
** be run as a task under the run's deadline (docs/security.md).
*/
int sandbox_close_finalizers(lua_State *L);

/* In cleanup: close every coroutine the recipe left suspended, so its
** pending <close> values run (sbcoro.c). A lua_CFunction. */
int sbcoro_close_all(lua_State *L);

#endif
