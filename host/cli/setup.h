/*
** setup.h -- `clawhost setup` (collect settings into .env.local) and
** `clawhost check` (which settings are present, from where, and which
** workflows they make ready). docs/secrets.md is the user's page.
**
** The pure helpers below (validation, quoting, merging, the atomic
** write) are exported for tests/c/test_setup.c.
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
** `v` written as the value of a .env.local line so that dotenv.c and a
** POSIX shell's `.`/`source` both read exactly these bytes: bare when
** it is made of safe characters, else in single quotes, else (it holds
** a ') in double quotes with \ " $ escaped. NULL with *err set when no
** such form exists (a value holding both ' and `) or out of memory.
*/
char *setup_quote(const char *v, size_t len, char *err, size_t errlen);

/* One change for setup_merge: value NULL removes the name. */
struct setup_update {
    const char *name;
    const char *value;
    size_t len;
};

/*
** The new text of .env.local: `old` (may be NULL) with each named
** entry replaced where it first stands (keeping its `export`), later
** duplicates of it dropped, removed names dropped, new names appended;
** every other line (comments, blanks, unrelated or unparsable lines) is
** kept byte for byte. Multi-line quoted values count as one entry.
** Returns malloc'd text (NUL-terminated) or NULL with *err set.
*/
char *setup_merge(const char *old, size_t oldlen,
                  const struct setup_update *u, size_t n, size_t *outlen,
                  char *err, size_t errlen);

/*
** Replace `path` with `data` atomically: a temporary file in the same
** folder, mode 0600, written, fsync'ed, renamed over path, folder
** fsync'ed. On failure the old file is untouched and no temporary file
** is left. Returns 0 or -1 with *err set (never quoting the data).
*/
int setup_write_atomic(const char *path, const char *data, size_t len,
                       char *err, size_t errlen);

#endif
