/*
** cmd_check.c -- `clawhost check`: every setting, whether it is set and
** where it came from; the problems found; the workflows configured.
**
** It sends nothing over the network and never prints a secret's value:
** every value is looked up (and so registered with the redactor) before
** the first line is printed, and secrets are only ever said to be set.
** Problems name settings and sources, never values. --json says the
** same for programs, without any value at all.
*/
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_check.h"
#include "cli/standing.h"
#include "lib/json.h"
#include "lib/secret.h"
#include "pure/settings.h"
#include "runtime/err.h"
#include "runtime/out.h"
#include "runtime/sources.h"
#include "util/dynbuf.h"
#include "util/quote.h"

#define MAX_PROBLEMS 48
#define PROBLEM_MAX 768

struct problems {
    char text[MAX_PROBLEMS][PROBLEM_MAX];
    int n;
};

static int problem(struct problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Noted once, however many settings lead to the same one; its index
** (-1: the list is full). */
static int problem(struct problems *p, const char *fmt, ...)
{
    char msg[PROBLEM_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->text[i], msg) == 0)
            return i;
    if (p->n == MAX_PROBLEMS)
        return -1;
    snprintf(p->text[p->n], sizeof p->text[0], "%s", msg);
    return p->n++;
}

/* One setting as check judged it. */
struct verdict {
    int ok;                     /* set and valid */
    int problem;                /* the first problem about it, or -1 */
};

/* Keep the first problem noted about a setting (for --json). */
static void note(struct verdict *v, int index)
{
    if (v->problem < 0)
        v->problem = index;
}

/* Warnings about a value that is valid but will not work as meant. */
static void warn_about(const struct settings_item *s,
                       const struct standing *c, struct problems *pr,
                       struct verdict *v)
{
    if (s->kind == SETTINGS_SECRET && c->len < 8)
        note(v, problem(pr, "warning: %s is shorter than 8 bytes: the "
             "output redactor masks it only as it is, not its base64, "
             "hex or other encodings (docs/redaction.md)", c->as));
    if (s->kind == SETTINGS_SECRET && (memchr(c->value, '\n', c->len) ||
                                       memchr(c->value, '\r', c->len)))
        note(v, problem(pr, "warning: %s holds a line break: it cannot be "
             "sent in an HTTP header as it is", c->as));
    if (s->kind == SETTINGS_URL &&
        strcmp(s->name, "THETA_INFERENCE_ENDPOINT") == 0 &&
        strncasecmp(c->value, "https://", 8) != 0)
        note(v, problem(pr, "warning: %s is not https: the endpoint's "
             "credentials would travel in clear text", s->name));
}

/* Is the setting set and valid? Problems found on the way are noted. */
static int judge(const struct settings_item *s, const struct standing *c,
                 struct problems *pr, struct verdict *v)
{
    char err[256];
    if (c->err[0]) {            /* once, however many names it hides */
        note(v, problem(pr, "error: %s", c->err));
        return 0;
    }
    if (!c->source)
        return 0;
    if (settings_check(s, c->value, c->len, 0, NULL, err, sizeof err)) {
        note(v, problem(pr, "error: %s (%s): %s", c->as, c->source, err));
        return 0;
    }
    warn_about(s, c, pr, v);
    return 1;
}

/* The other aliases that are set too: the first one wins. */
static void check_shadowed(const struct settings_item *s,
                           const struct standing *c, struct problems *pr,
                           struct verdict *v)
{
    const char *const *names = settings_aliases(s->name);
    const char *src;
    char err[640];
    size_t len;
    int past = 0;
    for (int i = 0; names && c->as && names[i]; i++) {
        if (strcmp(names[i], c->as) == 0) {
            past = 1;
            continue;
        }
        char *val = past ? secret_lookup(names[i], &len, &src, err,
                                         sizeof err) : NULL;
        if (val)
            note(v, problem(pr, "warning: %s is set too (%s) but %s wins",
                            names[i], src, c->as));
        secret_wipe(val, val ? len : 0);
    }
}

static const struct workflow {
    const char *name;
    const char *needs[3];       /* set and valid */
    const char *uses[4];        /* optional; valid when set */
} workflows[] = {
    {"Threads publishing", {"THREADS_FASTAPI_BASE_URL",
                            "THREADS_QUEUE_SECRET"},
     {"THREADS_TENANT_ID"}},
    {"Theta on-demand", {"THETA_ONDEMAND_API_TOKEN"},
     {"THETA_ONDEMAND_API_BASE_URL"}},
    {"Theta deployments (controller)", {"THETA_EC_API_KEY",
                                        "THETA_EC_PROJECT_ID"},
     {"THETA_ORG_ID"}},
    {"Theta dedicated inference", {"THETA_INFERENCE_ENDPOINT"},
     {"THETA_INFERENCE_AUTH_TOKEN", "THETA_INFERENCE_AUTH_USER",
      "THETA_INFERENCE_AUTH_PASS"}},
    {"Theta Video", {"THETA_VIDEO_SA_ID", "THETA_VIDEO_SA_SECRET"}, {NULL}},
};

static size_t index_of(const char *name)
{
    return settings_index(settings_find(name, NULL));
}

/* Append ", NAME what" to a reason; n stays within the buffer. */
static size_t reason(char *why, size_t size, size_t n, const char *name,
                     const char *what)
{
    int w = snprintf(why + n, size - n, "%s%s %s", n ? ", " : "", name,
                     what);
    return w < 0 ? n : n + (size_t)w < size ? n + (size_t)w : size - 1;
}

static const char *why_not(const struct standing *c)
{
    return c->source ? "is invalid" : c->err[0] ? "cannot be read"
                                                : "is not set";
}

/* The dedicated endpoint's Basic auth needs both halves, unless the
** token is there. */
static size_t half_basic_auth(const int *ok, char *why, size_t size,
                              size_t n)
{
    if (!ok[index_of("THETA_INFERENCE_AUTH_TOKEN")] &&
        ok[index_of("THETA_INFERENCE_AUTH_USER")] !=
        ok[index_of("THETA_INFERENCE_AUTH_PASS")])
        n = reason(why, size, n, "THETA_INFERENCE_AUTH_USER",
                   "needs THETA_INFERENCE_AUTH_PASS (and back)");
    return n;
}

/* Why a workflow is not configured ("" when it is): the needed
** settings that are not there, the optional ones that are bad. The
** length of the reason. */
static size_t workflow_why(const struct workflow *w, const int *ok,
                           const struct standing *cur, char *why,
                           size_t size)
{
    size_t n = 0;
    why[0] = '\0';
    for (int i = 0; i < 3 && w->needs[i]; i++) {
        size_t k = index_of(w->needs[i]);
        if (!ok[k])
            n = reason(why, size, n, w->needs[i], why_not(&cur[k]));
    }
    for (int i = 0; i < 4 && w->uses[i]; i++) {
        size_t k = index_of(w->uses[i]);
        if ((cur[k].source || cur[k].err[0]) && !ok[k])
            n = reason(why, size, n, w->uses[i], why_not(&cur[k]));
    }
    if (strcmp(w->name, "Theta dedicated inference") == 0 && n == 0)
        n = half_basic_auth(ok, why, size, n);
    return n;
}

#define NWORKFLOWS (sizeof workflows / sizeof workflows[0])

/* One workflow line; returns 1 when its settings are all there. Plain
** check calls nothing, so it never says a workflow works: "configured"
** means the settings are there; --online verifies them. */
static int show_workflow(const struct workflow *w, const int *ok,
                         const struct standing *cur)
{
    char why[512];
    size_t n = workflow_why(w, ok, cur, why, sizeof why);
    out_printf(OUT_STDOUT, "  %-10s %s%s%s\n", n ? "missing" :
               "configured", w->name, n ? ": " : "", why);
    return n == 0;
}

/* ---- the sources ---- */

/* Is the folder an environment variable names one? */
static int folder_ok(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
** What is wrong with the places themselves, noted before any setting's
** problems: a credential folder that is not one, a settings file that
** is refused (dotenv.c's own verdict: mode, owner, syntax, a missing
** --env-file), as every lookup that reaches it will meet it.
*/
static void source_problems(struct problems *pr)
{
    static const char *const vars[] = {"CREDENTIALS_DIRECTORY",
                                       "CLAWHOST_SECRETS_DIR"};
    for (int i = 0; i < 2; i++) {
        const char *dir = getenv(vars[i]);
        if (dir && *dir && !folder_ok(dir))
            problem(pr, "error: $%s (%s) is not a folder", vars[i], dir);
    }
    for (int i = 0; i < SOURCES_NFILES; i++) {
        const struct sources_file *f = sources_file(i);
        if (f->status == DOTENV_ERROR)
            problem(pr, "error: %s", f->err);
    }
}

/* What a settings file is: "not given" (no --env-file), "no home
** folder", "none" (not there), "refused" or "ok"; *mode when it is
** there. */
static const char *file_state(const struct sources_file *f, int *mode)
{
    struct stat st;
    *mode = -1;
    if (!f->path[0])
        return f == sources_file(SOURCES_ENV_FILE) ? "not given"
                                                   : "no home folder";
    if (lstat(f->path, &st) != 0)
        return f->status == DOTENV_ERROR ? "refused" : "none";
    *mode = (int)(st.st_mode & 07777);
    return f->status == DOTENV_ERROR ? "refused" : "ok";
}

static void show_sources(void)
{
    static const char *const vars[][2] = {
        {"provider", "CREDENTIALS_DIRECTORY"},
        {"folder", "CLAWHOST_SECRETS_DIR"}};
    int mode;
    out_puts(OUT_STDOUT, "sources, the first that has a name wins:\n");
    for (int i = 0; i < 2; i++) {
        const char *dir = getenv(vars[i][1]);
        out_printf(OUT_STDOUT, "  %-11s $%s %s\n", vars[i][0], vars[i][1],
                   dir && *dir ? dir : "(not set)");
    }
    out_puts(OUT_STDOUT, "  env         the environment\n");
    for (int i = 0; i < SOURCES_NFILES; i++) {
        const struct sources_file *f = sources_file(i);
        const char *state = file_state(f, &mode);
        if (i == SOURCES_ENV_FILE && !f->path[0])
            out_printf(OUT_STDOUT, "  %-11s (not given: --env-file or "
                       "$CLAWHOST_ENV_FILE)\n", f->label);
        else if (mode >= 0)
            out_printf(OUT_STDOUT, "  %-11s %s%s%s (mode %04o)\n", f->label,
                       i == SOURCES_ENV_FILE ? f->place : "",
                       i == SOURCES_ENV_FILE ? " " : "", f->shown,
                       (unsigned)mode);
        else
            out_printf(OUT_STDOUT, "  %-11s %s%s%s (%s)\n", f->label,
                       i == SOURCES_ENV_FILE ? f->place : "",
                       i == SOURCES_ENV_FILE ? " " : "", f->shown, state);
    }
}

/* ---- the settings ---- */

/* Judge every setting, in the order they are shown, so that problems
** are listed in that order too. */
static void judge_all(const struct standing *cur, struct verdict *v,
                      int *ok, struct problems *pr)
{
    const struct settings_item *s;
    for (int g = 0; settings_group(g); g++) {
        for (size_t i = 0; (s = settings_item(i)); i++) {
            if (s->group != g)
                continue;
            v[i].problem = -1;
            ok[i] = v[i].ok = judge(s, &cur[i], pr, &v[i]);
            check_shadowed(s, &cur[i], pr, &v[i]);
        }
    }
}

/* Each group's settings with their standing. */
static void show_settings(const struct standing *cur)
{
    const struct settings_item *s;
    for (int g = 0; settings_group(g); g++) {
        out_printf(OUT_STDOUT, "\n%s\n", settings_group(g));
        for (size_t i = 0; (s = settings_item(i)); i++) {
            if (s->group != g)
                continue;
            out_printf(OUT_STDOUT, "  %-28s ", s->name);
            standing_show(s, &cur[i]);
            out_puts(OUT_STDOUT, "\n");
        }
    }
}

/* ---- --json ---- */

/* A JSON string; text that is not UTF-8 (a path) shown as quote_text
** shows it, bytes outside printable ASCII as '?'. NULL is null. */
static void jstr(struct dynbuf *b, const char *s)
{
    char shown[PATH_MAX + 8];
    size_t at = b->len;
    if (!s) {
        dynbuf_adds(b, "null");
        return;
    }
    if (json_quote(b, s, strlen(s)) == 0 || b->err)
        return;
    b->len = at;
    json_quote(b, quote_text(shown, sizeof shown, s, strlen(s)),
               strlen(shown));
}

/* "key": value pairs: a string or null. */
static void jfield(struct dynbuf *b, const char *key, const char *value,
                   int last)
{
    dynbuf_addf(b, "\"%s\": ", key);
    jstr(b, value);
    dynbuf_adds(b, last ? "" : ", ");
}

/* The six places as the text's header shows them, with a state a
** program can test instead of parsing "(none)". */
static void json_sources(struct dynbuf *b)
{
    static const char *const vars[][2] = {
        {"provider", "CREDENTIALS_DIRECTORY"},
        {"folder", "CLAWHOST_SECRETS_DIR"}};
    int mode;
    dynbuf_adds(b, "  \"sources\": [\n");
    for (int i = 0; i < 2; i++) {
        const char *dir = getenv(vars[i][1]);
        dynbuf_adds(b, "    {");
        jfield(b, "source", vars[i][0], 0);
        dynbuf_addf(b, "\"place\": \"$%s\", ", vars[i][1]);
        jfield(b, "path", dir && *dir ? dir : NULL, 0);
        jfield(b, "state", !dir || !*dir ? "not set" : folder_ok(dir) ?
               "ok" : "not a folder", 0);
        dynbuf_adds(b, "\"mode\": null},\n");
    }
    dynbuf_adds(b, "    {\"source\": \"env\", \"place\": \"the "
                "environment\", \"path\": null, \"state\": \"ok\", "
                "\"mode\": null}");
    for (int i = 0; i < SOURCES_NFILES; i++) {
        const struct sources_file *f = sources_file(i);
        const char *state = file_state(f, &mode);
        dynbuf_adds(b, ",\n    {");
        jfield(b, "source", f->label, 0);
        jfield(b, "place", f->place, 0);
        jfield(b, "path", f->path[0] ? f->shown : NULL, 0);
        jfield(b, "state", state, 0);
        if (mode >= 0)
            dynbuf_addf(b, "\"mode\": \"%04o\"}", (unsigned)mode);
        else
            dynbuf_adds(b, "\"mode\": null}");
    }
    dynbuf_adds(b, "\n  ],\n");
}

/* Where the value came from: a folder's file, a settings file, or none
** (the environment, not set). */
static const char *value_path(const struct standing *c, char *buf,
                              size_t size)
{
    const char *dir = !c->source ? NULL :
        strcmp(c->source, "provider") == 0 ? getenv("CREDENTIALS_DIRECTORY")
      : strcmp(c->source, "folder") == 0 ? getenv("CLAWHOST_SECRETS_DIR")
      : NULL;
    if (dir) {
        int w = snprintf(buf, size, "%s/%s", dir, c->as);
        return w < 0 || (size_t)w >= size ? dir : buf;
    }
    return c->source ? sources_path_of(c->source) : NULL;
}

/* Name, kind, whether it is set, where, and whether it is valid: never
** a value, a secret's or any other. */
static void json_settings(struct dynbuf *b, const struct standing *cur,
                          const struct verdict *v,
                          const struct problems *pr)
{
    const struct settings_item *s;
    char path[PATH_MAX + 80];
    dynbuf_adds(b, "  \"settings\": [");
    for (size_t i = 0; (s = settings_item(i)); i++) {
        const struct standing *c = &cur[i];
        dynbuf_adds(b, i ? ",\n    {" : "\n    {");
        jfield(b, "name", s->name, 0);
        jfield(b, "group", settings_group(s->group), 0);
        dynbuf_addf(b, "\"secret\": %s, \"set\": %s, ",
                    s->kind == SETTINGS_SECRET ? "true" : "false",
                    c->source ? "true" : "false");
        jfield(b, "as", c->source ? c->as : NULL, 0);
        jfield(b, "source", c->source, 0);
        jfield(b, "path", value_path(c, path, sizeof path), 0);
        dynbuf_addf(b, "\"valid\": %s, ", v[i].ok ? "true" : "false");
        jfield(b, "problem", v[i].problem >= 0 ?
               pr->text[v[i].problem] : NULL, 1);
        dynbuf_adds(b, "}");
    }
    dynbuf_adds(b, "\n  ],\n");
}

/* The workflows with the reason the text gives; how many are
** configured, which decides the exit status as in text. */
static int json_workflows(struct dynbuf *b, const int *ok,
                          const struct standing *cur)
{
    char why[512];
    int ready = 0;
    dynbuf_adds(b, "  \"workflows\": [");
    for (size_t i = 0; i < NWORKFLOWS; i++) {
        size_t n = workflow_why(&workflows[i], ok, cur, why, sizeof why);
        ready += n == 0;
        dynbuf_adds(b, i ? ",\n    {" : "\n    {");
        jfield(b, "name", workflows[i].name, 0);
        dynbuf_addf(b, "\"configured\": %s, ", n ? "false" : "true");
        jfield(b, "missing", n ? why : NULL, 1);
        dynbuf_adds(b, "}");
    }
    dynbuf_adds(b, "\n  ],\n");
    return ready;
}

/* The whole report as one JSON object on stdout; the exit status. */
static int print_json(const struct standing *cur, const struct verdict *v,
                      const int *ok, const struct problems *pr)
{
    struct dynbuf b;
    int ready;
    dynbuf_init(&b, (size_t)1 << 20);
    dynbuf_adds(&b, "{\n");
    json_sources(&b);
    json_settings(&b, cur, v, pr);
    ready = json_workflows(&b, ok, cur);
    dynbuf_adds(&b, "  \"problems\": [");
    for (int i = 0; i < pr->n; i++) {
        dynbuf_adds(&b, i ? ",\n    " : "\n    ");
        jstr(&b, pr->text[i]);
    }
    dynbuf_addf(&b, "%s],\n  \"configured\": %s\n}\n", pr->n ? "\n  " :
                "", ready ? "true" : "false");
    if (b.err)
        out_puts(OUT_STDERR, "clawhost: check: out of memory\n");
    else
        out_puts(OUT_STDOUT, b.p);
    dynbuf_free(&b);
    return b.err ? EXIT_FAILED : ready ? EXIT_OK : EXIT_USAGE;
}

/* ---- the command ---- */

static const char check_help[] =
"usage: clawhost check [--json] [--online] [--env-file PATH]\n"
"\n"
"Lists the settings clawhost knows, whether each is set and where it\n"
"came from, never the value of a secret; flags problems and says which\n"
"workflows are configured. It calls nothing: a configured workflow has\n"
"its settings, not proof they work.\n"
"\n"
"sources, in order (the first that has a name wins):\n"
"  provider    $CREDENTIALS_DIRECTORY/NAME (secrets only)\n"
"  folder      $CLAWHOST_SECRETS_DIR/NAME (secrets only)\n"
"  env         the environment\n"
"  env-file    --env-file PATH, else $CLAWHOST_ENV_FILE\n"
"  .env.local  ./.env.local, in this folder\n"
"  user-file   $XDG_CONFIG_HOME/clawhost/env (~/.config/clawhost/env)\n"
"\n"
"  --json     the same as one JSON object: sources, settings (name,\n"
"             group, secret, set, as, source, path, valid, problem:\n"
"             no value, ever), workflows, problems, configured\n"
"  --online   then check each Theta capability with one harmless call\n"
"             (GET only: nothing is created or charged), as the\n"
"             capabilities recipe does (not with --json)\n"
"\n"
"exit status: 0 when at least one workflow is configured (and, with\n"
"--online, every configured capability verified), 1 when a probe\n"
"failed, 2 when nothing is configured.\n";

/* --help (1), --json (*json), nothing else (0) or an unknown argument
** (-1, said). */
static int check_args(int argc, char **argv, int *json, int online)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        if (strcmp(argv[i], "--json") != 0) {
            out_printf(OUT_STDERR, "clawhost: check: unknown argument %s\n"
                       "'clawhost check --help' shows its usage\n",
                       argv[i]);
            return -1;
        }
        *json = 1;
    }
    if (*json && online) {
        out_puts(OUT_STDERR, "clawhost: check: --json and --online do not "
                 "go together (the probes report in text)\n");
        return -1;
    }
    return 0;
}

/* The report for a person; the exit status. */
static int print_text(const struct standing *cur, const int *ok,
                      const struct problems *pr, int online)
{
    int ready = 0;
    show_sources();
    show_settings(cur);
    if (pr->n)
        out_puts(OUT_STDOUT, "\nproblems:\n");
    for (int i = 0; i < pr->n; i++)
        out_printf(OUT_STDOUT, "  - %s\n", pr->text[i]);
    out_puts(OUT_STDOUT, "\nworkflows:\n");
    for (size_t i = 0; i < NWORKFLOWS; i++)
        ready += show_workflow(&workflows[i], ok, cur);
    if (!ready)
        out_puts(OUT_STDOUT, "\nnothing is configured yet: run `clawhost "
                 "setup`\n");
    else if (!online)
        out_puts(OUT_STDOUT, "\n(configured: the settings are there; "
                 "nothing was called. `clawhost check --online` verifies "
                 "them.)\n");
    return ready ? EXIT_OK : EXIT_USAGE;
}

int cmd_check(const char *root, int argc, char **argv, int online)
{
    static struct standing cur[SETTINGS_COUNT];
    static struct problems pr;
    struct verdict v[SETTINGS_COUNT];
    int ok[SETTINGS_COUNT] = {0}, json = 0, status;
    int a = check_args(argc, argv, &json, online);
    (void)root;
    if (a)
        return a > 0 ? (out_puts(OUT_STDOUT, check_help), EXIT_OK)
                     : EXIT_USAGE;
    pr.n = 0;
    for (size_t i = 0; i < SETTINGS_COUNT; i++)    /* all masked first */
        standing_lookup(settings_item(i), &cur[i]);
    source_problems(&pr);
    judge_all(cur, v, ok, &pr);
    status = json ? print_json(cur, v, ok, &pr)
                  : print_text(cur, ok, &pr, online);
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        standing_free(&cur[i]);
    return status;
}
