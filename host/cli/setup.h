/*
** setup.h -- `clawhost setup` (collect settings into .env.local) and
** `clawhost check` (which settings are present, from where, and which
** workflows they make ready). docs/secrets.md is the user's page.
**
** The pure helpers below (validation, the atomic write) are exported
** for tests/c/setup_test.c.
*/
#ifndef CLAWHOST_SETUP_H
#define CLAWHOST_SETUP_H

#include <stddef.h>

int cmd_setup(const char *root, int argc, char **argv);
int cmd_check(const char *root, int argc, char **argv);

/*
** A base URL: http:// or https://, a host, no user:password@, no
** ?query or #fragment, no spaces or control bytes. On success *out gets
** the URL with surrounding blanks and trailing slashes removed.
*/
int setup_check_url(const char *in, char *out, size_t outlen, char *err,
                    size_t errlen);

/* `prefix` followed by one or more of [A-Za-z0-9_] ("prj_", "org_"). */
int setup_check_id(const char *prefix, const char *in, char *err,
                   size_t errlen);

/*
** Replace `path` with `data` atomically: a temporary file in the same
** folder, mode 0600, written, fsync'ed, renamed over path, folder
** fsync'ed. On failure the old file is untouched and no temporary file
** is left. Returns 0 or -1 with *err set (never quoting the data).
*/
int setup_write_atomic(const char *path, const char *data, size_t len,
                       char *err, size_t errlen);

#endif
