/*
** dotenv.c -- read and write a .env.local file.
**
** Accepted: blank lines, `# comments`, `KEY=value`, `export KEY=value`,
** single quotes (literal), double quotes (\n \t \" \\ \$ escapes; may
** span lines, for PEM blocks), unquoted values with an ` # comment`
** after them. The reader refuses anything else with an error naming the
** line, never the text: the line may hold a secret. The writer keeps
** such lines as they are, unless one starts as NAME= for a name it
** replaces. scan() is the one place that knows this grammar; both sides
** go through it.
**
** Every buffer that holds file text or values is wiped before its
** memory is given back (dynbuf `wipe`, explicit_bzero).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pure/dotenv.h"
#include "util/dynbuf.h"
#include "util/fileio.h"

#define MAX_VARS 4096

/* ---- the grammar ---- */

enum { LINE_BLANK, LINE_ENTRY, LINE_BAD };

/* One line, or one entry whose quoted value spans lines. */
struct entry {
    int kind;
    int exported;
    const char *key;            /* NULL unless it starts as NAME= */
    size_t klen;
    char quote;                 /* '"', '\'' or 0 (bare) */
    const char *val;            /* as written: inside the quotes */
    size_t vlen;
    const char *next;           /* where the next line starts */
};

static int key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
}

int dotenv_valid_key(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!key_char(s[i]))
            return 0;
    return 1;
}

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

/* The closing quote of a double-quoted value that starts at p (after
** the opening one), or NULL when it is unterminated. */
static const char *dquote_close(const char *p, const char *end)
{
    for (; p < end && *p != '"'; p++)
        if (*p == '\\' && p + 1 < end && memchr("nt\"\\$", p[1], 5))
            p++;
    return p < end ? p : NULL;
}

/* A bare value runs to the end of the line or to a '#' after a blank;
** blanks before that are not part of it. Returns where it stopped. */
static const char *bare_value(const char *s, const char *end,
                              struct entry *e)
{
    const char *stop = s, *v;
    while (stop < end && *stop != '\n' &&
           !(*stop == '#' && stop > s &&
             (stop[-1] == ' ' || stop[-1] == '\t')))
        stop++;
    for (v = stop; v > s && (v[-1] == ' ' || v[-1] == '\t' ||
                             v[-1] == '\r'); v--)
        ;
    e->val = s;
    e->vlen = (size_t)(v - s);
    return stop;
}

/* The value at q; returns where it ends, NULL when a quote is open. */
static const char *scan_value(const char *q, const char *end,
                              struct entry *e)
{
    const char *close;
    if (q == end || (*q != '"' && *q != '\''))
        return bare_value(q, end, e);
    e->quote = *q;
    close = *q == '"' ? dquote_close(q + 1, end)
                      : memchr(q + 1, '\'', (size_t)(end - q - 1));
    if (!close)
        return NULL;
    e->val = q + 1;
    e->vlen = (size_t)(close - q - 1);
    return close + 1;
}

/* After a value only blanks and a # comment may follow on its line;
** returns the start of the next line, or NULL. */
static const char *rest_of_line(const char *p, const char *end)
{
    p = skip_blank(p, end);
    if (p < end && *p == '#')
        while (p < end && *p != '\n')
            p++;
    if (p < end && *p != '\n')
        return NULL;
    return p < end ? p + 1 : end;
}

static const char *skip_export(const char *q, const char *end,
                               int *exported)
{
    if (end - q > 7 && memcmp(q, "export", 6) == 0 &&
        (q[6] == ' ' || q[6] == '\t')) {
        *exported = 1;
        return skip_blank(q + 7, end);
    }
    return q;
}

/*
** What starts at p. What the reader cannot take is LINE_BAD; when it
** still starts as NAME= (a tab before the '=', an open quote, text
** after the closing quote) the name is set and it runs to the end of
** its value's line (an open quote: its first line), so the writer can
** replace it as a whole. Any other bad line is left to the writer as
** it is.
*/
static void scan(const char *p, const char *end, struct entry *e)
{
    const char *q = skip_blank(p, end), *k, *after, *next;
    int tight;
    memset(e, 0, sizeof *e);
    e->next = line_end(p, end);
    if (q == end || *q == '\n' || *q == '#')
        return;                 /* LINE_BLANK */
    e->kind = LINE_BAD;
    q = skip_export(q, end, &e->exported);
    for (k = q; q < end && key_char(*q); q++)
        ;
    tight = q < end && (*q == '=' || *q == ' ');  /* the reader's rule */
    e->klen = (size_t)(q - k);
    q = skip_blank(q, end);
    if (!dotenv_valid_key(k, e->klen) || q == end || *q != '=')
        return;
    e->key = k;
    if (!(after = scan_value(skip_blank(q + 1, end), end, e)))
        return;
    next = rest_of_line(after, end);
    if (next && tight) {
        e->kind = LINE_ENTRY;
        e->next = next;
    } else {
        e->next = line_end(after, end);
    }
}

/* ---- reading ---- */

static int add_var(struct dotenv *env, const char *k, size_t klen,
                   char *v)
{
    for (size_t i = 0; i < env->n; i++) {
        if (strlen(env->keys[i]) == klen &&
            memcmp(env->keys[i], k, klen) == 0) {  /* last one wins */
            explicit_bzero(env->values[i], strlen(env->values[i]));
            free(env->values[i]);
            env->values[i] = v;
            return 0;
        }
    }
    if (env->n == MAX_VARS)
        return -1;
    char **keys = realloc(env->keys, (env->n + 1) * sizeof *keys);
    if (keys)
        env->keys = keys;
    char **vals = realloc(env->values, (env->n + 1) * sizeof *vals);
    if (vals)
        env->values = vals;
    if (!keys || !vals || !(env->keys[env->n] = strndup(k, klen)))
        return -1;
    env->values[env->n++] = v;
    return 0;
}

/* The value's bytes, double-quote escapes undone. */
static char *decode(const struct entry *e)
{
    const char *s = e->val, *end = e->val + e->vlen;
    char *out = malloc(e->vlen + 1), *o = out;
    if (!out)
        return NULL;
    for (; s < end; s++) {
        if (e->quote == '"' && *s == '\\' && s + 1 < end &&
            memchr("nt\"\\$", s[1], 5)) {
            s++;
            *o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static int add_entry(struct dotenv *env, const struct entry *e)
{
    char *v = decode(e);
    if (!v)
        return -1;
    if (add_var(env, e->key, e->klen, v) != 0) {
        explicit_bzero(v, strlen(v));
        free(v);
        return -1;
    }
    return 0;
}

static int parse(struct dotenv *env, const char *buf, size_t len,
                 const char *path, char *err, size_t errlen)
{
    const char *p = buf, *end = buf + len;
    struct entry e;
    int line = 1;
    while (p < end) {
        scan(p, end, &e);
        if (e.kind == LINE_BAD ||
            (e.kind == LINE_ENTRY && add_entry(env, &e) != 0)) {
            snprintf(err, errlen, "%s:%d: expected KEY=value (a quoted "
                     "value may be unterminated)", path, line);
            return -1;
        }
        for (; p < e.next; p++)
            line += *p == '\n';
    }
    return 0;
}

static int check_file(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return snprintf(err, errlen, "%s is not a regular file", path), -1;
    if (st.st_uid != geteuid())
        return snprintf(err, errlen, "%s belongs to another user; it "
                        "holds credentials, so clawhost only reads its "
                        "own", path), -1;
    if (st.st_mode & 077)
        return snprintf(err, errlen, "%s can be read or changed by "
                        "others (mode %04o); it holds credentials: run "
                        "chmod 600 %s", path,
                        (unsigned)(st.st_mode & 07777), path), -1;
    return 0;
}

/* The whole file into b, never more than DOTENV_FILE_MAX bytes. */
static int read_text(int fd, const char *path, struct dynbuf *b,
                     char *err, size_t errlen)
{
    int rc = fileio_read_all(fd, b);
    if (rc == DYNBUF_TOOBIG)
        snprintf(err, errlen, "%s is larger than 1 MiB", path);
    else if (rc == DYNBUF_NOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (rc != 0)
        snprintf(err, errlen, "%s: read failed", path);
    return rc == 0 ? 0 : -1;
}

int dotenv_load(const char *path, struct dotenv *env, char *err,
                size_t errlen)
{
    struct dynbuf b;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    memset(env, 0, sizeof *env);
    if (fd < 0) {
        if (errno == ENOENT)
            return DOTENV_MISSING;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DOTENV_ERROR;
    }
    dynbuf_init(&b, DOTENV_FILE_MAX);
    b.wipe = 1;
    int rc = check_file(fd, path, err, errlen);
    if (rc == 0)
        rc = read_text(fd, path, &b, err, errlen);
    close(fd);
    if (rc == 0 && b.len > 0)
        rc = parse(env, b.p, b.len, path, err, errlen);
    dynbuf_free(&b);
    if (rc != 0) {
        dotenv_free(env);
        return DOTENV_ERROR;
    }
    return DOTENV_OK;
}

const char *dotenv_get(const struct dotenv *env, const char *key)
{
    for (size_t i = 0; i < env->n; i++)
        if (strcmp(env->keys[i], key) == 0)
            return env->values[i];
    return NULL;
}

void dotenv_free(struct dotenv *env)
{
    for (size_t i = 0; i < env->n; i++) {
        explicit_bzero(env->values[i], strlen(env->values[i]));
        free(env->values[i]);
        free(env->keys[i]);
    }
    free(env->keys);
    free(env->values);
    memset(env, 0, sizeof *env);
}

/* ---- writing ---- */

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* Characters a shell and the reader both take literally in a bare word
** (no ~ for tilde expansion, no ^ for old shells' pipe, ASCII only). */
static int bare_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("_-./:@%+=,", c));
}

/* Inside double quotes a shell still expands $ and ` and takes \ as an
** escape; the reader undoes \" \\ \$, so those three are escaped and a
** value with a ` is never written this way. */
static void add_dquoted(struct dynbuf *out, const char *v, size_t len)
{
    dynbuf_add(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (v[i] == '\\' || v[i] == '"' || v[i] == '$')
            dynbuf_add(out, "\\", 1);
        dynbuf_add(out, v + i, 1);
    }
    dynbuf_add(out, "\"", 1);
}

int dotenv_quote(struct dynbuf *out, const char *v, size_t len, char *err,
                 size_t errlen)
{
    int bare = len > 0, squote = 0, btick = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\0')
            return fail(err, errlen, "the value holds a NUL byte");
        bare &= bare_char(c);
        squote |= c == '\'';
        btick |= c == '`';
    }
    if (squote && btick)
        return fail(err, errlen, "a value holding both ' and ` cannot be "
                    "written so that clawhost and a shell read it alike; "
                    "put it in $CLAWHOST_SECRETS_DIR/NAME instead");
    if (!out)
        return 0;
    if (bare) {
        dynbuf_add(out, v, len);
    } else if (!squote) {
        dynbuf_add(out, "'", 1);
        dynbuf_add(out, v, len);
        dynbuf_add(out, "'", 1);
    } else {
        add_dquoted(out, v, len);
    }
    return out->err ? fail(err, errlen, dynbuf_strerror(out->err)) : 0;
}

static long find_update(const struct dotenv_update *u, size_t n,
                        const char *key, size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(u[i].name) == klen && memcmp(u[i].name, key, klen) == 0)
            return (long)i;
    return -1;
}

static int add_line(struct dynbuf *out, const struct dotenv_update *u,
                    int exported, char *err, size_t errlen)
{
    if (exported)
        dynbuf_adds(out, "export ");
    dynbuf_adds(out, u->name);
    dynbuf_add(out, "=", 1);
    if (dotenv_quote(out, u->value, u->len, err, errlen) != 0)
        return -1;
    dynbuf_add(out, "\n", 1);
    return 0;
}

static const char file_header[] =
    "# .env.local -- settings for clawhost, written by `clawhost setup`.\n"
    "# It holds credentials: keep it mode 0600 and out of version "
    "control.\n";

/* The old text with the updates made where their names stand; done[i]
** says which were. */
static int merge_old(const char *old, size_t oldlen,
                     const struct dotenv_update *u, size_t n, char *done,
                     struct dynbuf *out, char *err, size_t errlen)
{
    const char *p = old, *end = old + oldlen;
    struct entry e;
    int rc = 0;
    for (; rc == 0 && p < end; p = e.next) {
        scan(p, end, &e);
        long i = e.key ? find_update(u, n, e.key, e.klen) : -1;
        if (i < 0)
            dynbuf_add(out, p, (size_t)(e.next - p));
        else if (!done[i] && (done[i] = 1) && u[i].value)
            rc = add_line(out, &u[i], e.exported, err, errlen);
    }                           /* a later duplicate is dropped */
    if (rc == 0 && out->len > 0 && out->p[out->len - 1] != '\n')
        dynbuf_add(out, "\n", 1);
    return rc;
}

int dotenv_merge(const char *old, size_t oldlen,
                 const struct dotenv_update *u, size_t n,
                 struct dynbuf *out, char *err, size_t errlen)
{
    char *done = calloc(n + 1, 1);
    int rc = done ? 0 : fail(err, errlen, "out of memory");
    if (rc == 0 && (!old || oldlen == 0))
        dynbuf_add(out, file_header, sizeof file_header - 1);
    else if (rc == 0)
        rc = merge_old(old, oldlen, u, n, done, out, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!done[i] && u[i].value)
            rc = add_line(out, &u[i], 0, err, errlen);
    free(done);
    if (out->err)               /* also behind a failed quote */
        rc = fail(err, errlen, out->err == DYNBUF_TOOBIG ?
                  "the new .env.local would be larger than 1 MiB" :
                  "out of memory");
    return rc;
}
