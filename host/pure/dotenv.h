/*
** dotenv.h -- read and write a .env.local file (KEY=value lines), the
** way the seed's setup_env.sh writes it and shells `source` it.
**
** The reader and the writer share one scanner of the grammar, so what
** `clawhost setup` writes is what clawhost reads back, byte for byte.
*/
#ifndef CLAWHOST_DOTENV_H
#define CLAWHOST_DOTENV_H

#include <stddef.h>

struct dynbuf;

#define DOTENV_FILE_MAX (1u << 20)  /* bytes of a .env.local, read or
                                    ** written */

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

/*
** Append `v` (len bytes) to out as the value of a line, in the form
** that dotenv_load and a POSIX shell's `.` both read back as exactly
** these bytes: bare when made of safe characters, else in single
** quotes, else (it holds a ') in double quotes with \ " $ escaped.
** out NULL: only say whether it can be written. 0, or -1 with err set
** when no such form exists (a value holding both ' and `, or a NUL
** byte) or out is full; the message never quotes the value.
*/
int dotenv_quote(struct dynbuf *out, const char *v, size_t len, char *err,
                 size_t errlen);

/* One change for dotenv_merge: value NULL removes the name. */
struct dotenv_update {
    const char *name;
    const char *value;
    size_t len;
};

/*
** Append to out the new text of a .env.local: `old` (may be NULL) with
** each named entry replaced where it first stands (keeping its
** `export`), later duplicates of it dropped, removed names dropped, new
** names appended after a header when the file is new; every other line
** (comments, blanks, unrelated or unparsable lines) kept byte for byte.
** A multi-line quoted value counts as one entry; a line the reader
** refuses that starts as NAME= is NAME's entry (so setup can mend it). Give out `wipe` and at
** most DOTENV_FILE_MAX. 0, or -1 with err set (nothing is quoted).
*/
int dotenv_merge(const char *old, size_t oldlen,
                 const struct dotenv_update *u, size_t n,
                 struct dynbuf *out, char *err, size_t errlen);

#endif
