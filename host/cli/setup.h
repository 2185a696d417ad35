/*
** setup.h -- `clawhost setup` (collect settings into .env.local) and
** `clawhost check` (which settings are present, from where, and which
** workflows they make ready). docs/secrets.md is the user's page.
**
** The atomic write below is exported for tests/c/setup_test.c.
*/
#ifndef CLAWHOST_SETUP_H
#define CLAWHOST_SETUP_H

#include <stddef.h>

int cmd_setup(const char *root, int argc, char **argv);
int cmd_check(const char *root, int argc, char **argv);

/*
** Replace `path` with `data` atomically: a temporary file in the same
** folder, mode 0600, written, fsync'ed, renamed over path, folder
** fsync'ed. On failure the old file is untouched and no temporary file
** is left. Returns 0 or -1 with *err set (never quoting the data).
*/
int setup_write_atomic(const char *path, const char *data, size_t len,
                       char *err, size_t errlen);

#endif
