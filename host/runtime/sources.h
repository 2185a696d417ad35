/*
** sources.h -- where settings come from, after the two credential
** folders secret.c reads: the environment, then three settings files
** in this order: the file of --env-file (or $CLAWHOST_ENV_FILE),
** ./.env.local, and the user's own file, $XDG_CONFIG_HOME/clawhost/env
** (~/.config/clawhost/env). The first place that has a name wins.
**
** Each file is read at the first lookup that reaches it and refused, as
** .env.local always was, when group or others may read or write it,
** another user owns it, or it does not parse (pure/dotenv.c). A refused
** file stops every lookup that reaches it: it is not skipped over.
*/
#ifndef CLAWHOST_SOURCES_H
#define CLAWHOST_SOURCES_H

#include <limits.h>
#include <stddef.h>

#include "pure/dotenv.h"

enum { SOURCES_ENV_FILE, SOURCES_PROJECT, SOURCES_USER, SOURCES_NFILES };

struct sources_file {
    const char *label;          /* the source: "env-file", ".env.local",
                                ** "user-file" */
    char place[48];             /* what messages call it: "--env-file",
                                ** "./.env.local", "~/.config/..." */
    char path[PATH_MAX];        /* what is opened; "" when there is none
                                ** (no --env-file, no home folder) */
    char shown[PATH_MAX];       /* the path as messages show it */
    int loaded;
    int status;                 /* DOTENV_OK, DOTENV_MISSING, DOTENV_ERROR */
    char err[640];              /* why it was refused */
    struct dotenv env;
};

/*
** The file --env-file names (NULL: none); it replaces $CLAWHOST_ENV_FILE.
** Kept for the life of the process; call it before the first lookup.
*/
void sources_set_env_file(const char *path);

/* File i (SOURCES_ENV_FILE ...), read if it was not yet. */
const struct sources_file *sources_file(int i);

/*
** The value of `name` and its source ("env", "env-file", ".env.local",
** "user-file"), or NULL. Empty and blank values count as unset. *err is
** set when a file the lookup reached was refused.
*/
const char *sources_lookup(const char *name, const char **source,
                           const char **err);

/* The path of the file a source label names, or NULL ("env", ...). */
const char *sources_path_of(const char *source);

/*
** Call fn for every setting: the environment, then each file's names no
** earlier place sets; stops when fn returns nonzero. Returns why a file
** was refused, or NULL.
*/
const char *sources_each(int (*fn)(const char *name, const char *value,
                                   void *ud), void *ud);

/*
** Every place a lookup searched, in order, with its path, as one line
** for a "not set" message: "$CREDENTIALS_DIRECTORY (not set), ...,
** ./.env.local (/srv/x/.env.local: none), ~/.config/clawhost/env
** (/root/.config/clawhost/env: none)". with_dirs: start with the two
** credential folders, which only secrets are read from.
*/
void sources_describe(int with_dirs, char *out, size_t size);

/* Forget what was read (values are wiped); --env-file stays. */
void sources_close(void);

#endif
