/*
** config.h -- non-secret settings: the environment, then the settings
** files (--env-file, ./.env.local, the user's file; runtime/sources.h).
** The Lua module hands out only the documented and declared names.
*/
#ifndef CLAWHOST_CONFIG_H
#define CLAWHOST_CONFIG_H

#include <lua.h>

/*
** The value of `name` and where it came from ("env", "env-file",
** ".env.local", "user-file"), or NULL. Empty and blank values count as
** unset. `err` is set when a settings file the lookup reached is
** refused (permissions, owner, syntax, a missing --env-file).
*/
const char *config_lookup(const char *name, const char **source,
                          const char **err);

/* Does the name look like a credential (..._SECRET, ..._TOKEN, ...)? */
int config_is_secret_name(const char *name);

/*
** secret.c marks every name it loads; config.get then refuses it. -1
** when out of memory (the secret must then not be handed out).
*/
int config_mark_secret(const char *name);
int config_is_marked(const char *name);

/*
** The recipe declares `name` in its settings: config.get may read it.
** -1 when out of memory.
*/
int config_declare(const char *name);

/* Every declared name is in: refusals need no longer say that code at
** the top of a recipe file runs before its settings are known. */
void config_declare_done(void);

/* Parse a boolean setting: 1/true/yes/on, 0/false/no/off. -1: neither. */
int config_parse_bool(const char *s);

/*
** Call fn for every setting (environment first, then each file's names
** no earlier place sets); stops when fn returns nonzero. Returns why a
** settings file was refused, or NULL.
*/
const char *config_each(int (*fn)(const char *name, const char *value,
                                  void *ud), void *ud);

/* Free the cached settings files (their values are wiped). */
void config_close(void);

int luaopen_clawhost_config(lua_State *L);

#endif
