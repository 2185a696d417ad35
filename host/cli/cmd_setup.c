/*
** cmd_setup.c -- `clawhost setup`: settings into .env.local.
**
** On a terminal it asks for every setting the seeds know, grouped as in
** docs/secrets.md, secrets with the echo off; without one it reads
** NAME=value lines from stdin; --from-env copies the environment.
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
#include "util/dynbuf.h"
#include "util/fileio.h"

#define ENV_FILE ".env.local"
#define MAX_TRIES 5
#define PLAN_MAX (SETTINGS_COUNT + 4)   /* names and aliases changed */

static int seterr(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
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

/* ---- the file ---- */

struct oldfile {
    struct dynbuf text;         /* wiped when freed */
    int exists;
    unsigned mode;
};

/* A .env.local that is a link or someone else's is not replaced. The
** open file, -1 with err set, or -2 when there is none. */
static int open_old(struct oldfile *o, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(ENV_FILE, &st) != 0)
        return errno == ENOENT ? -2 :
            (snprintf(err, errlen, "%s: %s", ENV_FILE, strerror(errno)),
             -1);
    if (!S_ISREG(st.st_mode))
        return seterr(err, errlen, ".env.local is not a regular file (a "
                      "link?); setup only replaces a plain file");
    if (st.st_uid != geteuid())
        return seterr(err, errlen, ".env.local belongs to another user");
    int fd = open(ENV_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        snprintf(err, errlen, "cannot read %s: %s", ENV_FILE,
                 strerror(errno));
    o->mode = (unsigned)(st.st_mode & 07777);
    return fd;
}

static int read_old(struct oldfile *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    dynbuf_init(&o->text, DOTENV_FILE_MAX);
    o->text.wipe = 1;
    int fd = open_old(o, err, errlen);
    if (fd < 0)
        return fd == -2 ? 0 : -1;
    int rc = fileio_read_all(fd, &o->text), e = errno;
    close(fd);
    if (rc == DYNBUF_TOOBIG)
        return seterr(err, errlen, ".env.local is larger than 1 MiB");
    if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", ENV_FILE,
                 rc == DYNBUF_NOMEM ? "out of memory" : strerror(e));
        return -1;
    }
    o->exists = 1;
    return 0;
}

/* Merge the plan into the old text and replace the file: a temporary
** file, fsync'ed, renamed over it, the folder fsync'ed. */
static int write_plan(const struct plan *p, const struct oldfile *o)
{
    static const struct fileio_target target = {
        AT_FDCWD, ENV_FILE, NULL, 0600, NULL, NULL
    };
    struct dynbuf text;
    char err[640];
    dynbuf_init(&text, DOTENV_FILE_MAX);
    text.wipe = 1;
    int rc = dotenv_merge(o->text.p, o->text.len, p->u, p->n, &text, err,
                          sizeof err);
    if (rc == 0)
        rc = fileio_replace(&target, text.p ? text.p : "", text.len, err,
                            sizeof err);
    dynbuf_free(&text);
    if (rc != 0) {
        out_printf(OUT_STDERR, "clawhost: setup: %s\n", err);
        return EXIT_FAILED;
    }
    out_printf(OUT_STDOUT, "wrote %s (mode 0600)%s\n", ENV_FILE,
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

/* What setup shows before asking. */
static void show_current(const struct settings_item *s)
{
    struct standing c;
    standing_lookup(s, &c);
    out_printf(OUT_STDOUT, "\n  %s -- %s\n    now: ", s->name, s->help);
    standing_show(s, &c);
    if (c.err[0])
        out_printf(OUT_STDOUT, "\n    refused: %s", c.err);
    else if (c.source && strcmp(c.source, ".env.local") != 0)
        out_printf(OUT_STDOUT, "\n    (that wins over .env.local; a value "
                   "entered here is used only once it is gone)");
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
               ".env.local): ", secret ? ", not shown" : "");
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
    out_printf(OUT_STDOUT, "clawhost setup: settings go to %s in this "
               "folder (mode 0600).\nPress Enter to keep a value; secrets "
               "are read without echo.\n", ENV_FILE);
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

static const char setup_help[] =
"usage: clawhost setup [--from-env]\n"
"\n"
"Asks for each setting, grouped (Threads backend, Theta on-demand,\n"
"controller/project, dedicated endpoint, video, budget), shows which\n"
"are set and where (never a secret's value), reads secrets without\n"
"echo and writes .env.local in this folder atomically, mode 0600,\n"
"keeping the lines it was not asked to change. Enter keeps a value,\n"
"- removes it from .env.local.\n"
"\n"
"Without a terminal, reads NAME=value lines from stdin (# comments and\n"
"blank lines skipped; NAME= removes). --from-env takes every setting\n"
"set in the environment. Nothing is written unless every value is\n"
"valid.\n"
"\n"
"settings:\n";

/* --from-env (*env set), --help (1, shown) or an unknown argument (-1,
** said); 0 to go on. */
static int setup_args(int argc, char **argv, int *env)
{
    const struct settings_item *s;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--from-env") == 0) {
            *env = 1;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            out_puts(OUT_STDOUT, setup_help);
            for (size_t k = 0; (s = settings_item(k)); k++)
                out_printf(OUT_STDOUT, "  %-28s %s\n", s->name, s->help);
            return 1;
        } else {
            out_printf(OUT_STDERR, "clawhost: setup: unknown argument %s\n"
                       "'clawhost setup --help' shows its usage\n",
                       argv[i]);
            return -1;
        }
    }
    return 0;
}

int cmd_setup(const char *root, int argc, char **argv)
{
    struct plan p = {0};
    struct oldfile o;
    char err[640];
    int env = 0, rc = setup_args(argc, argv, &env);
    (void)root;
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    if (read_old(&o, err, sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: setup: %s\n", err);
        dynbuf_free(&o.text);
        return EXIT_USAGE;
    }
    prompt_init("\nclawhost: setup interrupted; nothing written\n");
    rc = env ? from_env(&p) : isatty(0) ? interactive(&p) : from_stdin(&p);
    if (rc != 0) {
        out_puts(OUT_STDERR, "clawhost: setup: nothing written\n");
        rc = env || !isatty(0) ? EXIT_USAGE : EXIT_FAILED;
    } else if (p.n == 0 && !(o.exists && (o.mode & 077))) {
        out_printf(OUT_STDOUT, "nothing to change in %s\n", ENV_FILE);
        rc = EXIT_OK;
    } else {
        rc = write_plan(&p, &o);
    }
    plan_free(&p);
    dynbuf_free(&o.text);
    prompt_wipe();
    return rc;
}
