/*
** sources.c -- where settings come from: the environment, then the
** settings files (--env-file or $CLAWHOST_ENV_FILE, ./.env.local, the
** user's file), and the words that say where a lookup looked.
**
** The user's file follows the XDG Base Directory Specification 0.8:
** $XDG_CONFIG_HOME/clawhost/env, where a relative $XDG_CONFIG_HOME is
** ignored and an unset or empty one means ~/.config. It is what lets a
** job started from / (cron, systemd) find the same settings as the
** user's shell. config.c and secret.c both look settings up here, so a
** recipe, the secret bindings and `clawhost check` agree.
*/
#include <ctype.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pure/dotenv.h"
#include "runtime/sources.h"

#define PROJECT_FILE ".env.local"

static const char *env_file_arg;
static struct sources_file files[SOURCES_NFILES];

void sources_set_env_file(const char *path)
{
    env_file_arg = path && *path ? path : NULL;
}

/* Blank counts as unset, in a file as in the environment: a line
** `NAME=` left by an editor must not hide a later place's value. */
static const char *blank_to_null(const char *v)
{
    if (!v)
        return NULL;
    for (const char *p = v; *p; p++)
        if (!isspace((unsigned char)*p))
            return v;
    return NULL;
}

static void set_path(struct sources_file *f, const char *place,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The file's name in messages and its path; shown starts as the path
** and is made absolute where it is not (./.env.local). */
static void set_path(struct sources_file *f, const char *place,
                     const char *fmt, ...)
{
    va_list ap;
    snprintf(f->place, sizeof f->place, "%s", place);
    va_start(ap, fmt);
    vsnprintf(f->path, sizeof f->path, fmt, ap);
    va_end(ap);
    snprintf(f->shown, sizeof f->shown, "%s", f->path);
}

/* The home folder: $HOME when it is an absolute path, else the
** password database's, as the XDG spec's "$HOME" is read in practice. */
static const char *home_dir(void)
{
    const char *h = getenv("HOME");
    struct passwd *pw;
    if (h && h[0] == '/')
        return h;
    pw = getpwuid(geteuid());
    return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

/* Messages name the user file as the user would write it: by
** $XDG_CONFIG_HOME when that is what placed it, else by ~. */
static void locate_user(struct sources_file *f)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home;
    if (xdg && xdg[0] == '/') {
        set_path(f, "$XDG_CONFIG_HOME/clawhost/env", "%s/clawhost/env",
                 xdg);
    } else if ((home = home_dir())) {
        set_path(f, "~/.config/clawhost/env", "%s/.config/clawhost/env",
                 strcmp(home, "/") == 0 ? "" : home);
    } else {
        set_path(f, "~/.config/clawhost/env", "%s", "");
    }
}

/* The option wins over the variable: a cron line's --env-file is more
** specific than the environment it inherits. */
static void locate_env_file(struct sources_file *f)
{
    const char *v = getenv("CLAWHOST_ENV_FILE");
    if (env_file_arg)
        set_path(f, "--env-file", "%s", env_file_arg);
    else if (v && *v)
        set_path(f, "$CLAWHOST_ENV_FILE", "%s", v);
    else
        set_path(f, "--env-file", "%s", "");
}

/* Opened as ./.env.local, as it always was, but shown with the working
** folder: from / that is "/.env.local", which says why it was not
** found. */
static void locate_project(struct sources_file *f)
{
    char cwd[PATH_MAX];
    int w;
    set_path(f, "./" PROJECT_FILE, "%s", PROJECT_FILE);
    if (!getcwd(cwd, sizeof cwd))
        return;                 /* shown stays ".env.local" */
    w = snprintf(f->shown, sizeof f->shown, "%s/%s", strcmp(cwd, "/") ?
                 cwd : "", PROJECT_FILE);
    if (w < 0 || (size_t)w >= sizeof f->shown)
        snprintf(f->shown, sizeof f->shown, "%s", PROJECT_FILE);
}

/* Read file i once. A file named on purpose (--env-file) that is not
** there is an error: a typo must not quietly leave settings unset. */
static struct sources_file *load(int i)
{
    struct sources_file *f = &files[i];
    if (f->loaded)
        return f;
    memset(f, 0, sizeof *f);
    f->loaded = 1;
    f->label = i == SOURCES_ENV_FILE ? "env-file" :
               i == SOURCES_PROJECT ? PROJECT_FILE : "user-file";
    if (i == SOURCES_ENV_FILE)
        locate_env_file(f);
    else if (i == SOURCES_PROJECT)
        locate_project(f);
    else
        locate_user(f);
    f->status = DOTENV_MISSING;
    if (f->path[0])
        f->status = dotenv_load(f->path, &f->env, f->err, sizeof f->err);
    if (f->status == DOTENV_MISSING && i == SOURCES_ENV_FILE &&
        f->path[0]) {
        char msg[sizeof f->err];
        int w = snprintf(msg, sizeof msg, "%s (%s): no such file",
                         f->path, f->place);
        if (w < 0 || (size_t)w >= sizeof msg)
            snprintf(msg, sizeof msg, "%s", "the file of --env-file or "
                     "$CLAWHOST_ENV_FILE does not exist");
        memcpy(f->err, msg, sizeof msg);
        f->status = DOTENV_ERROR;
    }
    return f;
}

const struct sources_file *sources_file(int i)
{
    return i >= 0 && i < SOURCES_NFILES ? load(i) : NULL;
}

const char *sources_lookup(const char *name, const char **source,
                           const char **err)
{
    const char *v = blank_to_null(getenv(name));
    *err = NULL;
    *source = NULL;
    if (v) {
        *source = "env";
        return v;
    }
    for (int i = 0; i < SOURCES_NFILES; i++) {
        struct sources_file *f = load(i);
        if (f->status == DOTENV_ERROR) {
            *err = f->err;
            return NULL;
        }
        v = f->status == DOTENV_OK ? blank_to_null(dotenv_get(&f->env,
                                                              name))
                                   : NULL;
        if (v) {
            *source = f->label;
            return v;
        }
    }
    return NULL;
}

const char *sources_path_of(const char *source)
{
    for (int i = 0; source && i < SOURCES_NFILES; i++)
        if (strcmp(load(i)->label, source) == 0)
            return load(i)->shown;
    return NULL;
}

/* Set by an earlier place than file i? */
static int set_before(const char *name, int i)
{
    if (blank_to_null(getenv(name)))
        return 1;
    for (int k = 0; k < i; k++)
        if (files[k].status == DOTENV_OK &&
            blank_to_null(dotenv_get(&files[k].env, name)))
            return 1;
    return 0;
}

extern char **environ;

const char *sources_each(int (*fn)(const char *name, const char *value,
                                   void *ud), void *ud)
{
    char name[256];
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || (size_t)(eq - *e) >= sizeof name)
            continue;
        memcpy(name, *e, (size_t)(eq - *e));
        name[eq - *e] = '\0';
        if (blank_to_null(eq + 1) && fn(name, eq + 1, ud))
            return NULL;
    }
    for (int i = 0; i < SOURCES_NFILES; i++) {
        struct sources_file *f = load(i);
        if (f->status == DOTENV_ERROR)
            return f->err;
        for (size_t k = 0; f->status == DOTENV_OK && k < f->env.n; k++)
            if (!set_before(f->env.keys[k], i) &&
                blank_to_null(f->env.values[k]) &&
                fn(f->env.keys[k], f->env.values[k], ud))
                return NULL;
    }
    return NULL;
}

static size_t add(char *out, size_t size, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Append to out; n stays within it. */
static size_t add(char *out, size_t size, size_t n, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (n >= size)
        return n;
    va_start(ap, fmt);
    w = vsnprintf(out + n, size - n, fmt, ap);
    va_end(ap);
    return w < 0 ? n : n + (size_t)w < size ? n + (size_t)w : size - 1;
}

/* A credential folder: its path, or that the variable is not set
** (systemd sets $CREDENTIALS_DIRECTORY only for a unit with
** LoadCredential=). */
static size_t describe_dir(char *out, size_t size, size_t n,
                           const char *var)
{
    const char *dir = getenv(var);
    return add(out, size, n, "$%s (%s), ", var,
               dir && *dir ? dir : "not set");
}

/* A file: its path and ": none" when it is not there; a file that is
** there simply did not have the name. */
static size_t describe_file(char *out, size_t size, size_t n, int i)
{
    const struct sources_file *f = load(i);
    if (!f->path[0])
        return add(out, size, n, "%s (%s)", f->place,
                   i == SOURCES_ENV_FILE ? "not given" : "no home folder");
    return add(out, size, n, "%s (%s%s)", f->place, f->shown,
               f->status == DOTENV_MISSING ? ": none" :
               f->status == DOTENV_ERROR ? ": refused" : "");
}

void sources_describe(int with_dirs, char *out, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return;
    out[0] = '\0';
    if (with_dirs) {
        n = describe_dir(out, size, n, "CREDENTIALS_DIRECTORY");
        n = describe_dir(out, size, n, "CLAWHOST_SECRETS_DIR");
    }
    n = add(out, size, n, "the environment");
    for (int i = 0; i < SOURCES_NFILES; i++) {
        n = add(out, size, n, ", ");
        n = describe_file(out, size, n, i);
    }
}

void sources_close(void)
{
    for (int i = 0; i < SOURCES_NFILES; i++) {
        if (files[i].loaded && files[i].status == DOTENV_OK)
            dotenv_free(&files[i].env);
        files[i].loaded = 0;
    }
}
