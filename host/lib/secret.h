/*
** secret.h -- credentials: where they come from, and the opaque
** clawhost.Secret that carries them to an HTTP header and nowhere else.
*/
#ifndef CLAWHOST_SECRET_H
#define CLAWHOST_SECRET_H

#include <stddef.h>
#include <lua.h>

#include "pure/settings.h"

#define SECRET_MAX SETTINGS_VALUE_MAX  /* bytes of one value */

/*
** Find `name`: $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential),
** then $CLAWHOST_SECRETS_DIR/NAME (refused when group or others may read
** it), then the environment and the settings files (--env-file,
** ./.env.local, the user file: runtime/sources.h). The value is
** trimmed; an empty one counts as unset. Returns a malloc'd copy (wipe
** and free it) and its source ("provider", "folder", "env", "env-file",
** ".env.local", "user-file"), or NULL: then *err is NULL for "not set"
** or says what was refused.
*/
char *secret_lookup(const char *name, size_t *len, const char **source,
                    char *err, size_t errlen);

/* Wipe and free a value from secret_lookup. */
void secret_wipe(char *value, size_t len);

/*
** For the http binding: if the value at idx is a clawhost.Secret that
** may be sent to host:port, point *bytes and *len at the header text,
** push what a dry-run plan may show instead ("<secret NAME>") and
** return 1. Return 0 when the value is not a secret (nothing pushed),
** -1 when the secret is bound to other hosts (a message is pushed).
*/
int secret_header(lua_State *L, int idx, const char *host, unsigned port,
                  const char **bytes, size_t *len);

int luaopen_clawhost_secret(lua_State *L);

#endif
