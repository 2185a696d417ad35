/*
** dotenv.c -- read a .env.local file.
**
** Accepted: blank lines, `# comments`, `KEY=value`, `export KEY=value`,
** single quotes (literal), double quotes (\n \t \" \\ \$ escapes; may
** span lines, for PEM blocks), unquoted values with an ` # comment`
** after them. Anything else is an error naming the line, never the text:
** the line may hold a secret.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pure/dotenv.h"

#define MAX_FILE (1u << 20)
#define MAX_VARS 4096

int dotenv_valid_key(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

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

/* Double-quoted value starting after the quote; *p ends past the
** closing quote. Returns a new string or NULL (unterminated). */
static char *dquoted(const char **p, const char *end)
{
    const char *s = *p;
    char *out = malloc((size_t)(end - s) + 1), *o = out;
    if (!out)
        return NULL;
    for (; s < end && *s != '"'; s++) {
        if (*s == '\\' && s + 1 < end && strchr("nt\"\\$", s[1])) {
            s++;
            *o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
        } else {
            *o++ = *s;
        }
    }
    if (s == end) {
        explicit_bzero(out, (size_t)(o - out));
        free(out);
        return NULL;
    }
    *o = '\0';
    *p = s + 1;
    return out;
}

static char *unquoted(const char **p, const char *end)
{
    const char *s = *p, *e = s;
    while (e < end && *e != '\n' && !(*e == '#' && e > s &&
                                      (e[-1] == ' ' || e[-1] == '\t')))
        e++;
    *p = e;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    return strndup(s, (size_t)(e - s));
}

static char *squoted(const char **p, const char *end)
{
    const char *s = *p, *q = memchr(s, '\'', (size_t)(end - s));
    if (!q)
        return NULL;
    *p = q + 1;
    return strndup(s, (size_t)(q - s));
}

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* One KEY=value entry at *p; -1 on a syntax error. */
static int parse_entry(struct dotenv *env, const char **pp, const char *end)
{
    const char *p = skip_blank(*pp, end), *k;
    char *v;
    if (end - p > 7 && memcmp(p, "export", 6) == 0 &&
        (p[6] == ' ' || p[6] == '\t'))
        p = skip_blank(p + 7, end);
    for (k = p; p < end && *p != '=' && *p != ' ' && *p != '\n'; p++)
        ;
    size_t klen = (size_t)(p - k);
    p = skip_blank(p, end);
    if (!dotenv_valid_key(k, klen) || p == end || *p != '=')
        return -1;
    p = skip_blank(p + 1, end);
    if (p < end && *p == '"') {
        p++;
        v = dquoted(&p, end);
    } else if (p < end && *p == '\'') {
        p++;
        v = squoted(&p, end);
    } else {
        v = unquoted(&p, end);
    }
    if (!v)
        return -1;
    p = skip_blank(p, end);
    if (p < end && *p == '#')
        while (p < end && *p != '\n')
            p++;
    if ((p < end && *p != '\n') || add_var(env, k, klen, v) != 0) {
        explicit_bzero(v, strlen(v));
        free(v);
        return -1;
    }
    *pp = p;
    return 0;
}

static int parse(struct dotenv *env, const char *buf, size_t len,
                 const char *path, char *err, size_t errlen)
{
    const char *p = buf, *end = buf + len;
    int line = 1;
    while (p < end) {
        const char *q = skip_blank(p, end);
        if (q < end && *q != '\n' && *q != '#') {
            const char *start = p;
            if (parse_entry(env, &p, end) != 0) {
                snprintf(err, errlen, "%s:%d: expected KEY=value "
                         "(a quoted value may be unterminated)", path,
                         line);
                return -1;
            }
            for (; start < p; start++)
                line += *start == '\n';
        } else {
            p = q;
            while (p < end && *p != '\n')
                p++;
        }
        if (p < end && *p == '\n') {
            p++;
            line++;
        }
    }
    return 0;
}

static int check_file(int fd, const char *path, size_t *size, char *err,
                      size_t errlen)
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
    if ((size_t)st.st_size > MAX_FILE)
        return snprintf(err, errlen, "%s is larger than 1 MiB", path), -1;
    *size = (size_t)st.st_size;
    return 0;
}

int dotenv_load(const char *path, struct dotenv *env, char *err,
                size_t errlen)
{
    size_t size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    memset(env, 0, sizeof *env);
    if (fd < 0) {
        if (errno == ENOENT)
            return DOTENV_MISSING;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DOTENV_ERROR;
    }
    char *buf = NULL;
    int rc = check_file(fd, path, &size, err, errlen);
    if (rc == 0 && !(buf = malloc(size + 1)))
        rc = (snprintf(err, errlen, "%s: out of memory", path), -1);
    if (rc == 0 && read(fd, buf, size) != (ssize_t)size)
        rc = (snprintf(err, errlen, "%s: read failed", path), -1);
    close(fd);
    if (rc == 0)
        rc = parse(env, buf, size, path, err, errlen);
    if (buf) {
        explicit_bzero(buf, size);
        free(buf);
    }
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
