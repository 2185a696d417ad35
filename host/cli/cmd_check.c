/*
** cmd_check.c -- `clawhost check`: every setting, whether it is set and
** where it came from; the problems found; the workflows configured.
**
** It sends nothing over the network and never prints a secret's value:
** every value is looked up (and so registered with the redactor) before
** the first line is printed, and secrets are only ever said to be set.
** Problems name settings and sources, never values.
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
#include "lib/secret.h"
#include "pure/settings.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/out.h"

#define ENV_FILE ".env.local"
#define MAX_PROBLEMS 48
#define PROBLEM_MAX 768

struct problems {
    char text[MAX_PROBLEMS][PROBLEM_MAX];
    int n;
};

static void problem(struct problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Noted once, however many settings lead to the same one. */
static void problem(struct problems *p, const char *fmt, ...)
{
    char msg[PROBLEM_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->text[i], msg) == 0)
            return;
    if (p->n < MAX_PROBLEMS)
        snprintf(p->text[p->n++], sizeof p->text[0], "%s", msg);
}

/* Warnings about a value that is valid but will not work as meant. */
static void warn_about(const struct settings_item *s,
                       const struct standing *c, struct problems *pr)
{
    if (s->kind == SETTINGS_SECRET && c->len < 8)
        problem(pr, "warning: %s is shorter than 8 bytes: the output "
                "redactor masks it only as it is, not its base64, hex or "
                "other encodings (docs/redaction.md)", c->as);
    if (s->kind == SETTINGS_SECRET && (memchr(c->value, '\n', c->len) ||
                                       memchr(c->value, '\r', c->len)))
        problem(pr, "warning: %s holds a line break: it cannot be sent "
                "in an HTTP header as it is", c->as);
    if (s->kind == SETTINGS_URL &&
        strcmp(s->name, "THETA_INFERENCE_ENDPOINT") == 0 &&
        strncasecmp(c->value, "https://", 8) != 0)
        problem(pr, "warning: %s is not https: the endpoint's credentials "
                "would travel in clear text", s->name);
}

/* Is the setting set and valid? Problems found on the way are noted. */
static int judge(const struct settings_item *s, const struct standing *c,
                 struct problems *pr)
{
    char err[256];
    if (c->err[0]) {            /* once, however many names it hides */
        problem(pr, "error: %s", c->err);
        return 0;
    }
    if (!c->source)
        return 0;
    if (settings_check(s, c->value, c->len, 0, NULL, err, sizeof err)) {
        problem(pr, "error: %s (%s): %s", c->as, c->source, err);
        return 0;
    }
    warn_about(s, c, pr);
    return 1;
}

/* The other aliases that are set too: the first one wins. */
static void check_shadowed(const struct settings_item *s,
                           const struct standing *c, struct problems *pr)
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
        char *v = past ? secret_lookup(names[i], &len, &src, err,
                                       sizeof err) : NULL;
        if (v)
            problem(pr, "warning: %s is set too (%s) but %s wins", names[i],
                    src, c->as);
        secret_wipe(v, v ? len : 0);
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

/* One workflow line; returns 1 when its settings are all there. Plain
** check calls nothing, so it never says a workflow works: "configured"
** means the settings are there; --online verifies them. */
static int show_workflow(const struct workflow *w, const int *ok,
                         const struct standing *cur)
{
    char why[512] = "";
    size_t n = 0;
    for (int i = 0; i < 3 && w->needs[i]; i++) {
        size_t k = index_of(w->needs[i]);
        if (!ok[k])
            n = reason(why, sizeof why, n, w->needs[i], why_not(&cur[k]));
    }
    for (int i = 0; i < 4 && w->uses[i]; i++) {
        size_t k = index_of(w->uses[i]);
        if ((cur[k].source || cur[k].err[0]) && !ok[k])
            n = reason(why, sizeof why, n, w->uses[i], why_not(&cur[k]));
    }
    if (strcmp(w->name, "Theta dedicated inference") == 0 && n == 0)
        n = half_basic_auth(ok, why, sizeof why, n);
    out_printf(OUT_STDOUT, "  %-10s %s%s%s\n", n ? "missing" :
               "configured", w->name, n ? ": " : "", why);
    return n == 0;
}

/* A folder named by an environment variable, and whether it is one. */
static void show_folder(const char *label, const char *var,
                        struct problems *pr)
{
    struct stat st;
    const char *dir = getenv(var);
    out_printf(OUT_STDOUT, "  %-11s $%s %s\n", label, var,
               dir && *dir ? dir : "(not set)");
    if (dir && *dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        problem(pr, "error: $%s (%s) is not a folder", var, dir);
}

static void show_sources(struct problems *pr)
{
    struct stat st;
    char cwd[PATH_MAX];
    const char *src, *err;
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    out_puts(OUT_STDOUT, "sources, the first that has a name wins:\n");
    show_folder("provider", "CREDENTIALS_DIRECTORY", pr);
    show_folder("folder", "CLAWHOST_SECRETS_DIR", pr);
    out_puts(OUT_STDOUT, "  env         the environment\n");
    if (lstat(ENV_FILE, &st) != 0) {
        out_printf(OUT_STDOUT, "  .env.local  %s/%s (none)\n", cwd,
                   ENV_FILE);
        return;
    }
    out_printf(OUT_STDOUT, "  .env.local  %s/%s (mode %04o)\n", cwd,
               ENV_FILE, (unsigned)(st.st_mode & 07777));
    /* dotenv.c's own verdict (mode, owner, syntax), as every lookup of
    ** a name the environment does not set will meet it */
    config_lookup("CLAWHOST_CHECK_", &src, &err);
    if (err)
        problem(pr, "error: %s", err);
}

/* Each group's settings with their standing; ok[i]: set and valid. */
static void show_settings(const struct standing *cur, int *ok,
                          struct problems *pr)
{
    const struct settings_item *s;
    for (int g = 0; settings_group(g); g++) {
        out_printf(OUT_STDOUT, "\n%s\n", settings_group(g));
        for (size_t i = 0; (s = settings_item(i)); i++) {
            if (s->group != g)
                continue;
            ok[i] = judge(s, &cur[i], pr);
            check_shadowed(s, &cur[i], pr);
            out_printf(OUT_STDOUT, "  %-28s ", s->name);
            standing_show(s, &cur[i]);
            out_puts(OUT_STDOUT, "\n");
        }
    }
}

static const char check_help[] =
"usage: clawhost check [--online]\n"
"\n"
"Lists the settings clawhost knows, whether each is set and where it\n"
"came from (provider = $CREDENTIALS_DIRECTORY, folder =\n"
"$CLAWHOST_SECRETS_DIR, env, .env.local), never the value of a secret;\n"
"flags problems and says which workflows are configured. It calls\n"
"nothing: a configured workflow has its settings, not proof they work.\n"
"\n"
"  --online   then check each Theta capability with one harmless call\n"
"             (GET only: nothing is created or charged), as the\n"
"             capabilities recipe does\n"
"\n"
"exit status: 0 when at least one workflow is configured (and, with\n"
"--online, every configured capability verified), 1 when a probe\n"
"failed, 2 when nothing is configured.\n";

/* --help (1), nothing (0) or an unknown argument (-1, said). */
static int check_args(int argc, char **argv)
{
    if (argc == 0)
        return 0;
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
        return 1;
    out_printf(OUT_STDERR, "clawhost: check: unknown argument %s\n"
               "'clawhost check --help' shows its usage\n", argv[0]);
    return -1;
}

int cmd_check(const char *root, int argc, char **argv, int online)
{
    static struct standing cur[SETTINGS_COUNT];
    static struct problems pr;
    int ok[SETTINGS_COUNT] = {0}, ready = 0, a = check_args(argc, argv);
    (void)root;
    if (a)
        return a > 0 ? (out_puts(OUT_STDOUT, check_help), EXIT_OK)
                     : EXIT_USAGE;
    pr.n = 0;
    for (size_t i = 0; i < SETTINGS_COUNT; i++)    /* all masked first */
        standing_lookup(settings_item(i), &cur[i]);
    show_sources(&pr);
    show_settings(cur, ok, &pr);
    if (pr.n)
        out_puts(OUT_STDOUT, "\nproblems:\n");
    for (int i = 0; i < pr.n; i++)
        out_printf(OUT_STDOUT, "  - %s\n", pr.text[i]);
    out_puts(OUT_STDOUT, "\nworkflows:\n");
    for (size_t i = 0; i < sizeof workflows / sizeof workflows[0]; i++)
        ready += show_workflow(&workflows[i], ok, cur);
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        standing_free(&cur[i]);
    if (!ready)
        out_puts(OUT_STDOUT, "\nnothing is configured yet: run `clawhost "
                 "setup`\n");
    else if (!online)
        out_puts(OUT_STDOUT, "\n(configured: the settings are there; "
                 "nothing was called. `clawhost check --online` verifies "
                 "them.)\n");
    return ready ? EXIT_OK : EXIT_USAGE;
}
