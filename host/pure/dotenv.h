/*
** dotenv.h -- read a .env.local file (KEY=value lines), the way the
** seed's setup_env.sh writes it and shells `source` it.
*/
#ifndef CLAWHOST_DOTENV_H
#define CLAWHOST_DOTENV_H

#include <stddef.h>

struct dotenv {
    char **keys;
    char **values;
    size_t n;
};

enum { DOTENV_OK = 0, DOTENV_MISSING = 1, DOTENV_ERROR = -1 };

/*
** Parse `path`. The file holds credentials, so it is refused when
** group or others may read or write it, or another user owns it.
** Messages never quote a value.
*/
int dotenv_load(const char *path, struct dotenv *env, char *err,
                size_t errlen);

/* The value of `key`, or NULL. */
const char *dotenv_get(const struct dotenv *env, const char *key);

/* Free everything; values are wiped first. */
void dotenv_free(struct dotenv *env);

/* Is `s` a valid variable name ([A-Za-z_][A-Za-z0-9_]*)? */
int dotenv_valid_key(const char *s, size_t len);

#endif
