/*
** cmd_setup.c -- `clawhost setup`: settings into ./.env.local or the
** user file ($XDG_CONFIG_HOME/clawhost/env, runtime/sources.h).
**
** On a terminal it asks where to write, then for every setting the
** seeds know, grouped as in docs/secrets.md, secrets with the echo off;
** without one it reads NAME=value lines from stdin; --from-env copies
** the environment. --user and --project choose the file for scripts.
** Every value is checked (pure/settings.c) before anything is written,
** and nothing is written unless all of them pass. The new file is the
** old one with only the named entries changed (dotenv_merge), put in
** place with fileio_replace, mode 0600.
**
** It never prints a value it was given: values are not formatted into
** output, the secrets are registered with the redactor anyway, and
** every copy is wiped when it is dropped.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_setup.h"
#include "cli/prompt.h"
#include "cli/standing.h"
#include "lib/secret.h"
#include "pure/dotenv.h"
#include "pure/settings.h"
#include "pure/suggest.h"
#include "runtime/err.h"
#include "runtime/out.h"
#include "runtime/sources.h"
#include "util/dynbuf.h"
#include "util/fileio.h"

#define ENV_FILE ".env.local"
#define USER_FOLDER_MODE 0700   /* XDG Base Directory spec 0.8 */
#define MAX_TRIES 5
#define PLAN_MAX (SETTINGS_COUNT + 4)   /* names and aliases changed */

static int seterr(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int seterrf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A message that names a path, cut to fit err; -1. */
static int seterrf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- the plan of changes ---- */

struct plan {
    struct dotenv_update u[PLAN_MAX];
    char *owned[PLAN_MAX];
    size_t n;
};

/* Record name=value (value malloc'd, owned by the plan; NULL removes).
** A name given twice keeps its last value. */
static void plan_set(struct plan *p, const char *name, char *value,
                     size_t len)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        if (strcmp(p->u[i].name, name) == 0)
            break;
    if (i == PLAN_MAX) {
        secret_wipe(value, len);
        return;
    }
    if (i < p->n)
        secret_wipe(p->owned[i], p->u[i].len);
    else
        p->n++;
    p->u[i].name = name;
    p->u[i].value = value;
    p->u[i].len = value ? len : 0;
    p->owned[i] = value;
}

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        secret_wipe(p->owned[i], p->u[i].len);
    p->n = 0;
}

/* The names set, then the names removed (never a value). */
static void show_plan(const struct plan *p)
{
    for (int pass = 0; pass < 2; pass++) {
        int any = 0;
        for (size_t i = 0; i < p->n; i++) {
            if ((p->u[i].value == NULL) != pass)
                continue;
            out_printf(OUT_STDOUT, "%s %s", any ? "" : pass ?
                       "  removed:" : "  set:", p->u[i].name);
            any = 1;
        }
        if (any)
            out_puts(OUT_STDOUT, "\n");
    }
}

/* Check `in` for setting s and add it to the plan under `name` (the
** table's spelling); blank removes the name. */
static int take(struct plan *p, const struct settings_item *s,
                const char *name, const char *in, size_t len, char *err,
                size_t errlen)
{
    struct dynbuf v;
    size_t n;
    const char *t = in;
    if (settings_trim(&t, len) == 0) {
        plan_set(p, name, NULL, 0);
        return 0;
    }
    dynbuf_init(&v, SETTINGS_VALUE_MAX);
    v.wipe = 1;
    if (settings_check(s, in, len, 1, &v, err, errlen) != 0) {
        dynbuf_free(&v);
        return -1;
    }
    char *value = dynbuf_take(&v, &n);
    if (!value)
        return seterr(err, errlen, "out of memory");
    if (s->kind == SETTINGS_SECRET)
        standing_mask(s->name, value, n);
    plan_set(p, name, value, n);
    return 0;
}

/* ---- where to write ---- */

struct target {
    int user;                   /* the user file, not ./.env.local */
    char dir[PATH_MAX];         /* its folder */
    const char *name;           /* the file in it */
    char shown[PATH_MAX];       /* in messages */
    const char *what;           /* in prompts: ".env.local", "~/..." */
};

/* The target's folder and name; -1 when there is no user file (no home
** folder). */
static int target_set(struct target *t, int user)
{
    const struct sources_file *f = sources_file(SOURCES_USER);
    const char *slash = strrchr(f->path, '/');
    memset(t, 0, sizeof *t);
    t->user = user;
    if (!user) {
        snprintf(t->dir, sizeof t->dir, ".");
        t->name = ENV_FILE;
        snprintf(t->shown, sizeof t->shown, "%s", ENV_FILE);
        t->what = ENV_FILE;
        return 0;
    }
    if (!slash)
        return -1;
    snprintf(t->dir, sizeof t->dir, "%.*s", (int)(slash - f->path),
             f->path);
    t->name = slash + 1;
    snprintf(t->shown, sizeof t->shown, "%s", f->path);
    t->what = f->place;
    return 0;
}

static int same_folder(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
** Where setup writes when not told (docs/secrets.md): the user file
** when this folder cannot take a file; ./.env.local when there is one
** here already (setup edits what the runs here read); the user file
** when this folder is / or the home folder, where a .env.local is read
** only by runs started there (a cron job runs from /, a shell starts in
** home: neither is a project); ./.env.local anywhere else, as before.
** Without a home folder there is no user file to default to.
*/
static int default_user(void)
{
    const char *home = getenv("HOME");
    struct stat st;
    if (!sources_file(SOURCES_USER)->path[0])
        return 0;
    if (access(".", W_OK) != 0)
        return 1;
    if (lstat(ENV_FILE, &st) == 0)
        return 0;
    return same_folder(".", "/") ||
           (home && home[0] == '/' && same_folder(".", home));
}

/* Where the precedence puts a source (docs/secrets.md); a value from an
** earlier place wins over the file setup writes. */
static int rank(const char *source)
{
    static const char *const order[] = {"provider", "folder", "env",
                                        "env-file", ENV_FILE, "user-file",
                                        NULL};
    for (int i = 0; source && order[i]; i++)
        if (strcmp(order[i], source) == 0)
            return i;
    return 99;
}

/* ---- the file ---- */

struct oldfile {
    struct dynbuf text;         /* wiped when freed */
    int exists;
    unsigned mode;
};

static char target_path[PATH_MAX + 8];

static const char *path_of(const struct target *t)
{
    snprintf(target_path, sizeof target_path, "%s/%s", t->dir, t->name);
    return target_path;
}

/* A file that is a link or someone else's is not replaced. The open
** file, -1 with err set, or -2 when there is none. */
static int open_old(const struct target *t, struct oldfile *o, char *err,
                    size_t errlen)
{
    struct stat st;
    const char *path = path_of(t);
    if (lstat(path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? -2 :
            seterrf(err, errlen, "%s: %s", t->shown, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return seterrf(err, errlen, "%s is not a regular file (a link?); "
                       "setup only replaces a plain file", t->shown);
    if (st.st_uid != geteuid())
        return seterrf(err, errlen, "%s belongs to another user",
                       t->shown);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        seterrf(err, errlen, "cannot read %s: %s", t->shown,
                strerror(errno));
    o->mode = (unsigned)(st.st_mode & 07777);
    return fd;
}

static int read_old(const struct target *t, struct oldfile *o, char *err,
                    size_t errlen)
{
    memset(o, 0, sizeof *o);
    dynbuf_init(&o->text, DOTENV_FILE_MAX);
    o->text.wipe = 1;
    int fd = open_old(t, o, err, errlen);
    if (fd < 0)
        return fd == -2 ? 0 : -1;
    int rc = fileio_read_all(fd, &o->text), e = errno;
    close(fd);
    if (rc == DYNBUF_TOOBIG)
        return seterrf(err, errlen, "%s is larger than 1 MiB", t->shown);
    if (rc != 0)
        return seterrf(err, errlen, "cannot read %s: %s", t->shown,
                       rc == DYNBUF_NOMEM ? "out of memory" : strerror(e));
    o->exists = 1;
    return 0;
}

/* The user file's folder and the ones above it that are missing, made
** 0700 as the XDG Base Directory spec asks. The open folder, or -1. */
static int open_folder(const struct target *t, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", t->dir);
    for (char *p = dir + 1; t->user && *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, USER_FOLDER_MODE) != 0 && errno != EEXIST)
            break;
        *p = '/';
    }
    if (t->user && mkdir(t->dir, USER_FOLDER_MODE) != 0 && errno != EEXIST)
        return seterrf(err, errlen, "cannot make the folder %s: %s",
                       t->dir, strerror(errno));
    int fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        seterrf(err, errlen, "cannot open the folder %s: %s", t->dir,
                strerror(errno));
    return fd;
}

/* Merge the plan into the old text and replace the file: a temporary
** file, fsync'ed, renamed over it, the folder fsync'ed. */
static int write_plan(const struct target *t, const struct plan *p,
                      const struct oldfile *o)
{
    struct fileio_target target = {-1, t->name, t->shown, 0600, NULL,
                                   NULL};
    struct dynbuf text;
    char err[640];
    dynbuf_init(&text, DOTENV_FILE_MAX);
    text.wipe = 1;
    int rc = dotenv_merge(o->text.p, o->text.len, p->u, p->n, &text, err,
                          sizeof err);
    if (rc == 0 && (target.dirfd = open_folder(t, err, sizeof err)) < 0)
        rc = -1;
    if (rc == 0)
        rc = fileio_replace(&target, text.p ? text.p : "", text.len, err,
                            sizeof err);
    if (target.dirfd >= 0)
        close(target.dirfd);
    dynbuf_free(&text);
    if (rc != 0) {
        out_printf(OUT_STDERR, "clawhost: setup: %s\n", err);
        return EXIT_FAILED;
    }
    out_printf(OUT_STDOUT, "wrote %s (mode 0600)%s\n", t->shown,
               o->exists && (o->mode & 077) ? "; it was readable by "
               "others before" : "");
    show_plan(p);
    return EXIT_OK;
}

/* ---- from the environment ---- */

static int from_env(struct plan *p)
{
    const struct settings_item *s;
    char err[256];
    for (size_t i = 0; (s = settings_item(i)); i++) {
        const char *const one[] = {s->name, NULL};
        const char *const *names = settings_aliases(s->name);
        names = names ? names : one;
        for (int k = 0; names[k]; k++) {
            const char *v = getenv(names[k]), *t = v;
            if (!v || settings_trim(&t, strlen(v)) == 0)
                continue;
            if (take(p, s, names[k], v, strlen(v), err, sizeof err) != 0) {
                out_printf(OUT_STDERR, "clawhost: setup: %s from the "
                           "environment: %s\n", names[k], err);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- from stdin ---- */

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* "did you mean": only known names are ever shown, never the input. */
static void unknown_name(int line, const char *name)
{
    const struct settings_item *s;
    const char *best = NULL;
    size_t dist = 0;
    for (size_t i = 0; (s = settings_item(i)); i++)
        suggest_consider(name, s->name, &best, &dist);
    out_printf(OUT_STDERR, "clawhost: setup: stdin line %d: not a setting "
               "clawhost knows%s%s%s ('clawhost setup --help' lists "
               "them)\n", line, best ? " (did you mean " : "",
               best ? best : "", best ? "?)" : "");
}

/* The NAME of a NAME=value line into name (size bytes); *eq at '='.
** 0, or -1 when the line has no usable name. */
static int line_name(const char *s, const char *end, char *name,
                     size_t size, const char **eq)
{
    if (end - s > 7 && memcmp(s, "export ", 7) == 0)
        s = skip_blank(s + 7, end);
    *eq = memchr(s, '=', (size_t)(end - s));
    size_t nlen = *eq ? (size_t)(*eq - s) : 0;
    while (nlen > 0 && (s[nlen - 1] == ' ' || s[nlen - 1] == '\t'))
        nlen--;
    if (!*eq || nlen == 0 || nlen >= size)
        return -1;
    memcpy(name, s, nlen);
    name[nlen] = '\0';
    return 0;
}

/* One NAME=value line; 1 when it was used or skipped. */
static int stdin_line(struct plan *p, int line, const char *text,
                      size_t len)
{
    char err[256], name[72];
    const char *end = text + len, *s = skip_blank(text, end), *eq, *known;
    if (s == end || *s == '#')
        return 1;
    if (line_name(s, end, name, sizeof name, &eq) != 0) {
        out_printf(OUT_STDERR, "clawhost: setup: stdin line %d: expected "
                   "NAME=value\n", line);
        return 0;
    }
    const struct settings_item *set = settings_find(name, &known);
    if (!set) {
        unknown_name(line, name);
        explicit_bzero(name, sizeof name);
        return 0;
    }
    if (take(p, set, known, eq + 1, (size_t)(end - eq - 1), err,
             sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: setup: stdin line %d: %s: %s\n",
                   line, known, err);
        return 0;
    }
    return 1;
}

static int from_stdin(struct plan *p)
{
    const char *text;
    size_t len;
    int line = 0, r, ok = 1;
    while ((r = prompt_read_line(&text, &len)) != 0) {
        line++;
        if (r < 0) {
            out_printf(OUT_STDERR, "clawhost: setup: stdin line %d is "
                       "longer than %d bytes\n", line, PROMPT_LINE_MAX);
            ok = 0;
        } else if (!stdin_line(p, line, text, len)) {
            ok = 0;
        }
        prompt_wipe();
    }
    return ok ? 0 : -1;
}

/* ---- on a terminal ---- */

/* The file this run of setup writes. */
static struct target tgt;

/* What setup shows before asking. */
static void show_current(const struct settings_item *s)
{
    struct standing c;
    standing_lookup(s, &c);
    out_printf(OUT_STDOUT, "\n  %s -- %s\n    now: ", s->name, s->help);
    standing_show(s, &c);
    if (c.err[0])
        out_printf(OUT_STDOUT, "\n    refused: %s", c.err);
    else if (c.source && rank(c.source) < rank(tgt.user ? "user-file" :
                                                ENV_FILE))
        out_printf(OUT_STDOUT, "\n    (that wins over %s; a value "
                   "entered here is used only once it is gone)", tgt.what);
    out_puts(OUT_STDOUT, "\n");
    standing_free(&c);
}

/*
** One answer: 1 when the setting is done with (kept, removed or
** taken), 0 to ask again (*err says why), -1 at the end of input. Echo
** goes off before the prompt shows, as getpass(3) does: what is typed
** once the prompt is up is never echoed.
*/
static int answer(struct plan *p, const struct settings_item *s,
                  char *err, size_t errlen)
{
    const char *text = NULL, *t;
    size_t len = 0, n;
    int secret = s->kind == SETTINGS_SECRET;
    if (secret && prompt_echo_off() != 0) {
        out_puts(OUT_STDERR, "clawhost: setup: cannot turn the terminal's "
                 "echo off; not asking for this secret (pipe NAME=value "
                 "lines instead)\n");
        return 1;
    }
    out_printf(OUT_STDOUT, "    new value%s (Enter keeps, - removes from "
               "%s): ", secret ? ", not shown" : "", tgt.what);
    out_flush_all();
    int r = prompt_read_line(&text, &len), done;
    prompt_echo_on();
    t = text;
    n = r > 0 ? settings_trim(&t, len) : 0;
    if (r == 0) {
        done = -1;
    } else if (r < 0) {
        done = seterr(err, errlen, "too long") + 1;
    } else if (n == 0) {
        done = 1;               /* Enter keeps */
    } else if (n == 1 && *t == '-') {
        plan_set(p, s->name, NULL, 0);
        done = 1;
    } else {
        done = take(p, s, s->name, text, len, err, errlen) == 0;
    }
    prompt_wipe();
    return done;
}

/* Ask for one setting. 0 done, -1 input ended. */
static int ask(struct plan *p, const struct settings_item *s)
{
    char err[256];
    show_current(s);
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        int r = answer(p, s, err, sizeof err);
        if (r != 0)
            return r > 0 ? 0 : -1;
        out_printf(OUT_STDOUT, "    not taken: %s\n", err);
    }
    out_puts(OUT_STDOUT, "    keeping the current value\n");
    return 0;
}

static int interactive(struct plan *p)
{
    const struct settings_item *s;
    out_printf(OUT_STDOUT, "clawhost setup: settings go to %s (mode "
               "0600).\nPress Enter to keep a value; secrets are read "
               "without echo.\n", tgt.shown);
    for (int g = 0; settings_group(g); g++) {
        out_printf(OUT_STDOUT, "\n== %s ==\n", settings_group(g));
        for (size_t i = 0; (s = settings_item(i)); i++)
            if (s->group == g && ask(p, s) != 0)
                return -1;
    }
    out_puts(OUT_STDOUT, "\n");
    return 0;
}

/* ---- the command ---- */

/* One answer to "where": 0 project, 1 user, -1 not an answer, -2 the
** input ended. */
static int target_answer(int dflt)
{
    const char *text, *t;
    size_t len, n;
    int r = prompt_read_line(&text, &len), pick = -1;
    t = text;
    n = r > 0 ? settings_trim(&t, len) : 0;
    if (r == 0)
        pick = -2;
    else if (r > 0 && n == 0)
        pick = dflt;
    else if (n == 1 && (*t == '1' || *t == '2'))
        pick = *t == '2';
    prompt_wipe();
    return pick;
}

/*
** On a terminal, unless --user or --project said: ask where the
** settings go, Enter taking the default (default_user). 0 with *user
** set, or -1 when the input ended.
*/
static int ask_target(int *user)
{
    const struct sources_file *proj = sources_file(SOURCES_PROJECT);
    const struct sources_file *mine = sources_file(SOURCES_USER);
    int dflt = *user;
    if (!mine->path[0])
        return 0;               /* no home folder: ./.env.local */
    out_printf(OUT_STDOUT, "clawhost setup: where should the settings "
               "go?\n  1  %s\n     read when clawhost runs in this "
               "folder\n  2  %s\n     read wherever clawhost runs (any "
               "folder, cron, systemd)\n", proj->shown, mine->shown);
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        out_printf(OUT_STDOUT, "choose 1 or 2 (Enter: %d): ", dflt + 1);
        out_flush_all();
        int pick = target_answer(dflt);
        if (pick == -2)
            return -1;
        if (pick >= 0) {
            *user = pick;
            return 0;
        }
        out_puts(OUT_STDOUT, "    not taken: type 1 or 2\n");
    }
    *user = dflt;
    return 0;
}

static const char setup_help[] =
"usage: clawhost setup [--user | --project] [--from-env]\n"
"\n"
"Asks for each setting, grouped (Threads backend, Theta on-demand,\n"
"controller/project, dedicated endpoint, video, budget), shows which\n"
"are set and where (never a secret's value), reads secrets without\n"
"echo and writes the settings file atomically, mode 0600, keeping the\n"
"lines it was not asked to change. Enter keeps a value, - removes it\n"
"from the file.\n"
"\n"
"Which file: on a terminal it asks first. --user writes the user file,\n"
"$XDG_CONFIG_HOME/clawhost/env (default ~/.config/clawhost/env), read\n"
"wherever clawhost runs (cron, systemd, any folder); --project writes\n"
"./.env.local, read when clawhost runs in this folder. Without either\n"
"the default is the user file when this folder is not writable, is /\n"
"or is your home folder and holds no .env.local; ./.env.local\n"
"otherwise.\n"
"\n"
"Without a terminal, reads NAME=value lines from stdin (# comments and\n"
"blank lines skipped; NAME= removes). --from-env takes every setting\n"
"set in the environment. Nothing is written unless every value is\n"
"valid.\n"
"\n"
"settings:\n";

static void show_setup_help(void)
{
    const struct settings_item *s;
    out_puts(OUT_STDOUT, setup_help);
    for (size_t k = 0; (s = settings_item(k)); k++)
        out_printf(OUT_STDOUT, "  %-28s %s\n", s->name, s->help);
}

/* --from-env (*env set), --user and --project (*user 1 or 0; -1 when
** neither), --help (1, shown) or an unknown argument (-1, said); 0 to
** go on. */
static int setup_args(int argc, char **argv, int *env, int *user)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int u = strcmp(a, "--user") == 0 ? 1 :
                strcmp(a, "--project") == 0 ? 0 : -1;
        if (u >= 0 && *user >= 0 && *user != u) {
            out_puts(OUT_STDERR, "clawhost: setup: --user and --project "
                     "do not go together\n");
            return -1;
        } else if (u >= 0) {
            *user = u;
        } else if (strcmp(a, "--from-env") == 0) {
            *env = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            show_setup_help();
            return 1;
        } else {
            out_printf(OUT_STDERR, "clawhost: setup: unknown argument %s\n"
                       "'clawhost setup --help' shows its usage\n", a);
            return -1;
        }
    }
    return 0;
}

/* The file to write: as the flags say, else asked on a terminal (not
** for --from-env, a script's mode), else the default. 0, -1 with the
** error said (nothing written), -2 when the input ended. */
static int choose_target(int user, int env)
{
    if (user < 0) {
        user = default_user();
        if (!env && isatty(0) && ask_target(&user) != 0)
            return -2;
    }
    if (target_set(&tgt, user) != 0) {
        out_puts(OUT_STDERR, "clawhost: setup: there is no user file: "
                 "HOME is not set and the password database has no home "
                 "folder; use --project\n");
        return -1;
    }
    return 0;
}

/* Gather the plan and write it; the exit status. */
static int gather_and_write(int env, const struct oldfile *o)
{
    struct plan p = {0};
    int rc = env ? from_env(&p) : isatty(0) ? interactive(&p)
                                            : from_stdin(&p);
    if (rc != 0) {
        out_puts(OUT_STDERR, "clawhost: setup: nothing written\n");
        rc = env || !isatty(0) ? EXIT_USAGE : EXIT_FAILED;
    } else if (p.n == 0 && !(o->exists && (o->mode & 077))) {
        out_printf(OUT_STDOUT, "nothing to change in %s\n", tgt.shown);
        rc = EXIT_OK;
    } else {
        rc = write_plan(&tgt, &p, o);
    }
    plan_free(&p);
    return rc;
}

int cmd_setup(const char *root, int argc, char **argv)
{
    struct oldfile o;
    char err[640];
    int env = 0, user = -1, rc = setup_args(argc, argv, &env, &user);
    (void)root;
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    prompt_init("\nclawhost: setup interrupted; nothing written\n");
    rc = choose_target(user, env);
    if (rc != 0) {
        if (rc == -2)
            out_puts(OUT_STDERR, "clawhost: setup: nothing written\n");
        prompt_wipe();
        return rc == -2 ? EXIT_FAILED : EXIT_USAGE;
    }
    if (read_old(&tgt, &o, err, sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: setup: %s\n", err);
        dynbuf_free(&o.text);
        return EXIT_USAGE;
    }
    rc = gather_and_write(env, &o);
    dynbuf_free(&o.text);
    prompt_wipe();
    return rc;
}
