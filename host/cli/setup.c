/*
** setup.c -- `clawhost setup` and `clawhost check`.
**
** setup asks for every setting the seeds know (grouped as in
** docs/secrets.md), reading secrets with the terminal's echo off, and
** writes .env.local in the working folder atomically with mode 0600,
** keeping every line it was not asked to change. Without a terminal it
** reads NAME=value lines from stdin; --from-env copies the environment.
** check says which settings are present and where each came from, flags
** problems and names the workflows that are ready.
**
** Neither prints a secret: values are never formatted into output, the
** ones found are registered with the redactor anyway, all output goes
** through out.c, input is read with read(2) (no stdio buffer keeps a
** copy) into one buffer that is wiped after every line.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/config.h"
#include "pure/dotenv.h"
#include "runtime/err.h"
#include "runtime/out.h"
#include "lib/secret.h"
#include "cli/setup.h"
#include "pure/settings.h"
#include "pure/suggest.h"
#include "util/dynbuf.h"

#define ENV_FILE ".env.local"
#define SHOW_MAX 100            /* characters of a value check shows */
#define MASK_MIN 4              /* shorter values are not registered */
#define MAX_PROBLEMS 48
#define MAX_TRIES 5

/* Check a value for s with settings_check; on success *out is a
** malloc'd copy of the value as it is to be stored (wipe it). */
static int validate(const struct settings_item *s, const char *in,
                    size_t len, int to_file, char **out, size_t *outlen,
                    char *err, size_t errlen)
{
    struct dynbuf b;
    dynbuf_init(&b, SETTINGS_VALUE_MAX);
    b.wipe = 1;
    if (settings_check(s, in, len, to_file, &b, err, errlen) != 0) {
        dynbuf_free(&b);
        *out = NULL;
        return -1;
    }
    *out = dynbuf_take(&b, outlen);
    if (!*out)
        return snprintf(err, errlen, "out of memory"), -1;
    return 0;
}

static int seterr(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* ---- writing .env.local (pure) ---- */

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The rename is durable only once the folder itself is synced. */
static void sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + 1), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int setup_write_atomic(const char *path, const char *data, size_t len,
                       char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >=
        sizeof tmp)
        return seterr(err, errlen, "path too long");
    mode_t mask = umask(077);
    int fd = mkostemp(tmp, O_CLOEXEC);
    umask(mask);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file next to "
                 "%s: %s", path, strerror(errno));
        return -1;
    }
    const char *step = fchmod(fd, 0600) != 0 ? "chmod" :
                       write_all(fd, data, len) != 0 ? "write" :
                       fsync(fd) != 0 ? "fsync" : NULL;
    int e = errno;
    if (close(fd) != 0 && !step) {
        step = "close";
        e = errno;
    }
    if (!step && rename(tmp, path) != 0) {
        step = "rename";
        e = errno;
    }
    if (step) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write %s (%s: %s); it was left as "
                 "it was", path, step, strerror(e));
        return -1;
    }
    sync_dir(path);
    return 0;
}

/* ---- where each setting stands now ---- */

struct current {
    const char *source;     /* "provider", ..., or NULL: not set */
    const char *as;         /* the name it was found under */
    char *value;
    size_t len;
    char err[640];          /* why a source was refused */
};

static void protect(const char *name, const char *v, size_t len)
{
    if (len >= MASK_MIN)
        out_add_secret(name, v, len, NULL, 0);
}

/* Secrets as secret.get finds them (provider, folder, env, .env.local,
** aliases in order); other settings as config.get does. */
static void lookup(const struct settings_item *s, struct current *c)
{
    const char *const one[] = {s->name, NULL};
    const char *const *names = settings_aliases(s->name);
    const char *src, *cerr, *v;
    memset(c, 0, sizeof *c);
    if (s->kind == SETTINGS_SECRET) {
        for (int i = 0; (names ? names : one)[i]; i++) {
            const char *n = (names ? names : one)[i];
            c->value = secret_lookup(n, &c->len, &src, c->err,
                                     sizeof c->err);
            if (c->value || c->err[0]) {
                c->as = n;
                c->source = c->value ? src : NULL;
                if (c->value)
                    protect(s->name, c->value, c->len);
                return;
            }
        }
        return;
    }
    v = config_lookup(s->name, &src, &cerr);
    if (cerr) {
        snprintf(c->err, sizeof c->err, "%s", cerr);
    } else if (v) {
        size_t n = settings_trim(&v, strlen(v));
        if ((c->value = strndup(v, n))) {
            c->len = n;
            c->source = src;
            c->as = s->name;
        }
    }
}

static void current_free(struct current *c)
{
    secret_wipe(c->value, c->len);
    c->value = NULL;
}

/* A value check or setup may show: control bytes as '?', cut short. */
static void show_plain(const char *v, size_t len)
{
    char shown[SHOW_MAX + 4];
    size_t n = 0;
    for (size_t i = 0; i < len && n < SHOW_MAX; i++)
        shown[n++] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?'
                                                                : v[i];
    if (len > SHOW_MAX)
        memcpy(shown + n, "...", 3), n += 3;
    out_write(OUT_STDOUT, shown, n);
}

static const char *source_label(const char *src)
{
    return strcmp(src, "provider") == 0 ? "provider, $CREDENTIALS_DIRECTORY"
         : strcmp(src, "folder") == 0 ? "folder, $CLAWHOST_SECRETS_DIR"
         : src;
}

/* "set (env)", "set as THETA_API_KEY (.env.local), hidden", ... */
static void show_status(const struct settings_item *s, const struct current *c)
{
    if (!c->source) {
        out_puts(OUT_STDOUT, c->err[0] ? "refused (see problems)"
                                       : "not set");
        return;
    }
    out_puts(OUT_STDOUT, "set");
    if (strcmp(c->as, s->name) != 0)
        out_printf(OUT_STDOUT, " as %s", c->as);
    out_printf(OUT_STDOUT, " (%s)", source_label(c->source));
    if (s->kind == SETTINGS_SECRET) {
        out_puts(OUT_STDOUT, ", value hidden");
    } else {
        out_puts(OUT_STDOUT, ": ");
        show_plain(c->value, c->len);
    }
}

/* ---- check ---- */

struct problems {
    char text[MAX_PROBLEMS][768];
    int n;
};

static void problem(struct problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct problems *p, const char *fmt, ...)
{
    char msg[768];
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

/* Is the setting set and valid? Problems found on the way are noted. */
static int judge(const struct settings_item *s, const struct current *c,
                 struct problems *pr)
{
    char err[256], *norm;
    size_t nlen;
    if (c->err[0]) {            /* once, however many names it hides */
        problem(pr, "error: %s", c->err);
        return 0;
    }
    if (!c->source)
        return 0;
    if (validate(s, c->value, c->len, 0, &norm, &nlen, err,
                 sizeof err)) {
        problem(pr, "error: %s (%s): %s", c->as, c->source, err);
        return 0;
    }
    secret_wipe(norm, nlen);
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
    return 1;
}

/* The other aliases that are set too: the first one wins. */
static void check_shadowed(const struct settings_item *s,
                           const struct current *c,
                           struct problems *pr)
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

static int index_of(const char *name)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        if (strcmp(settings_item(i)->name, name) == 0)
            return (int)i;
    return -1;
}

/* Append ", NAME what" to a reason; n stays within the buffer. */
static size_t reason(char *why, size_t size, size_t n, const char *name,
                     const char *what)
{
    int w = snprintf(why + n, size - n, "%s%s %s", n ? ", " : "", name,
                     what);
    return w < 0 ? n : n + (size_t)w < size ? n + (size_t)w : size - 1;
}

static const char *why_not(const struct current *c)
{
    return c->source ? "is invalid" : c->err[0] ? "cannot be read"
                                                : "is not set";
}

/* One workflow line; returns 1 when it is ready. */
static int show_workflow(const struct workflow *w, const int *ok,
                         const struct current *cur)
{
    char why[512] = "";
    size_t n = 0;
    for (int i = 0; i < 3 && w->needs[i]; i++) {
        int k = index_of(w->needs[i]);
        if (!ok[k])
            n = reason(why, sizeof why, n, w->needs[i], why_not(&cur[k]));
    }
    for (int i = 0; i < 4 && w->uses[i]; i++) {
        int k = index_of(w->uses[i]);
        if ((cur[k].source || cur[k].err[0]) && !ok[k])
            n = reason(why, sizeof why, n, w->uses[i], why_not(&cur[k]));
    }
    if (strcmp(w->name, "Theta dedicated inference") == 0 && n == 0 &&
        !ok[index_of("THETA_INFERENCE_AUTH_TOKEN")] &&
        ok[index_of("THETA_INFERENCE_AUTH_USER")] !=
        ok[index_of("THETA_INFERENCE_AUTH_PASS")])
        n = reason(why, sizeof why, n, "THETA_INFERENCE_AUTH_USER",
                   "needs THETA_INFERENCE_AUTH_PASS (and back)");
    out_printf(OUT_STDOUT, "  %-10s %s%s%s\n", n ? "not ready" : "ready",
               w->name, n ? ": " : "", why);
    return n == 0;
}

static void show_sources(struct problems *pr)
{
    struct stat st;
    char cwd[PATH_MAX];
    const char *cd = getenv("CREDENTIALS_DIRECTORY");
    const char *sd = getenv("CLAWHOST_SECRETS_DIR");
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    out_puts(OUT_STDOUT, "sources, the first that has a name wins:\n");
    out_printf(OUT_STDOUT, "  provider    $CREDENTIALS_DIRECTORY %s\n",
               cd && *cd ? cd : "(not set)");
    if (cd && *cd && (stat(cd, &st) != 0 || !S_ISDIR(st.st_mode)))
        problem(pr, "error: $CREDENTIALS_DIRECTORY (%s) is not a folder",
                cd);
    out_printf(OUT_STDOUT, "  folder      $CLAWHOST_SECRETS_DIR %s\n",
               sd && *sd ? sd : "(not set)");
    if (sd && *sd && (stat(sd, &st) != 0 || !S_ISDIR(st.st_mode)))
        problem(pr, "error: $CLAWHOST_SECRETS_DIR (%s) is not a folder",
                sd);
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
    const char *src, *err;
    config_lookup("CLAWHOST_CHECK_", &src, &err);
    if (err)
        problem(pr, "error: %s", err);
}

static int check_usage(const char *cmd, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        out_printf(OUT_STDERR, "clawhost: %s: unknown argument %s\n"
                   "'clawhost %s --help' shows its usage\n", cmd,
                   argv[i], cmd);
        return -1;
    }
    return 0;
}

static const char check_help[] =
"usage: clawhost check\n"
"\n"
"Lists the settings clawhost knows, whether each is set and where it\n"
"came from (provider = $CREDENTIALS_DIRECTORY, folder =\n"
"$CLAWHOST_SECRETS_DIR, env, .env.local), never the value of a secret;\n"
"flags problems and says which workflows are ready.\n"
"exit status: 0 when at least one workflow is ready, 2 otherwise.\n";

int cmd_check(const char *root, int argc, char **argv)
{
    static struct current cur[SETTINGS_COUNT];
    static struct problems pr;
    int ok[SETTINGS_COUNT], ready = 0, u = check_usage("check", argc, argv);
    (void)root;
    if (u)
        return u > 0 ? (out_puts(OUT_STDOUT, check_help), EXIT_OK)
                     : EXIT_USAGE;
    pr.n = 0;
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        lookup(settings_item(i), &cur[i]);      /* all masked before output */
    show_sources(&pr);
    for (int g = 0; settings_group(g); g++) {
        out_printf(OUT_STDOUT, "\n%s\n", settings_group(g));
        for (size_t i = 0; i < SETTINGS_COUNT; i++) {
            if (settings_item(i)->group != g)
                continue;
            ok[i] = judge(settings_item(i), &cur[i], &pr);
            check_shadowed(settings_item(i), &cur[i], &pr);
            out_printf(OUT_STDOUT, "  %-28s ", settings_item(i)->name);
            show_status(settings_item(i), &cur[i]);
            out_puts(OUT_STDOUT, "\n");
        }
    }
    if (pr.n)
        out_puts(OUT_STDOUT, "\nproblems:\n");
    for (int i = 0; i < pr.n; i++)
        out_printf(OUT_STDOUT, "  - %s\n", pr.text[i]);
    out_puts(OUT_STDOUT, "\nworkflows:\n");
    for (size_t i = 0; i < sizeof workflows / sizeof workflows[0]; i++)
        ready += show_workflow(&workflows[i], ok, cur);
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        current_free(&cur[i]);
    if (!ready) {
        out_puts(OUT_STDOUT, "\nnothing is ready yet: run `clawhost "
                 "setup`\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- setup: reading input ---- */

/* One buffer for every line read, locked in memory and wiped after
** each use. */
static char inbuf[SETTINGS_VALUE_MAX + 2];

static void wipe_input(void)
{
    explicit_bzero(inbuf, sizeof inbuf);
}

/*
** One line from fd 0 with read(2). Returns 1 (*len set, no newline),
** 0 at end of input, -1 for a line longer than inbuf (skipped).
*/
static int read_line(size_t *len)
{
    size_t n = 0;
    int too_long = 0, any = 0;
    for (;;) {
        char c;
        ssize_t r = read(0, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        any = 1;
        if (c == '\n')
            break;
        if (n < sizeof inbuf - 1)
            inbuf[n++] = c;
        else
            too_long = 1;
    }
    if (n > 0 && inbuf[n - 1] == '\r')
        n--;
    inbuf[n] = '\0';
    *len = n;
    return !any ? 0 : too_long ? -1 : 1;
}

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

/* An interrupt while echo is off must not leave the terminal mute. */
static void on_signal(int sig)
{
    ssize_t w;
    (void)sig;
    if (tio_saved)
        tcsetattr(0, TCSANOW, &saved_tio);
    w = write(2, "\nclawhost: setup interrupted; nothing written\n", 46);
    (void)w;
    _exit(EXIT_INTERRUPTED);
}

static void catch_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Echo off, the newline still shown (ECHONL), as getpass(3) does. */
static int echo_off(void)
{
    struct termios t;
    if (tcgetattr(0, &saved_tio) != 0)
        return -1;
    t = saved_tio;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
    t.c_lflag |= ECHONL;
    tio_saved = 1;
    if (tcsetattr(0, TCSANOW, &t) != 0) {
        tio_saved = 0;
        return -1;
    }
    return 0;
}

static void echo_on(void)
{
    if (tio_saved) {
        tcsetattr(0, TCSANOW, &saved_tio);
        tio_saved = 0;
    }
}

/* ---- setup: the plan of changes ---- */

struct plan {
    struct dotenv_update u[SETTINGS_COUNT + 4];
    char *owned[SETTINGS_COUNT + 4];
    size_t n;
};

/* Record name=value (value malloc'd, owned by the plan; NULL removes). */
static void plan_set(struct plan *p, const char *name, char *value,
                     size_t len)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        if (strcmp(p->u[i].name, name) == 0)
            break;
    if (i == sizeof p->u / sizeof p->u[0])
        return;
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

/* ---- setup: the old file ---- */

struct oldfile {
    char *text;
    size_t len;
    int exists;
    unsigned mode;
};

static int read_old(struct oldfile *o, char *err, size_t errlen)
{
    struct stat st;
    memset(o, 0, sizeof *o);
    if (lstat(ENV_FILE, &st) != 0)
        return errno == ENOENT ? 0 :
            (snprintf(err, errlen, "%s: %s", ENV_FILE, strerror(errno)),
             -1);
    if (!S_ISREG(st.st_mode))
        return seterr(err, errlen, ".env.local is not a regular file (a "
                      "link?); setup only replaces a plain file");
    if (st.st_uid != geteuid())
        return seterr(err, errlen, ".env.local belongs to another user");
    if ((size_t)st.st_size > DOTENV_FILE_MAX)
        return seterr(err, errlen, ".env.local is larger than 1 MiB");
    int fd = open(ENV_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !(o->text = malloc((size_t)st.st_size + 1))) {
        snprintf(err, errlen, "cannot read %s: %s", ENV_FILE,
                 fd < 0 ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ssize_t r;
    while (o->len < (size_t)st.st_size &&
           ((r = read(fd, o->text + o->len, (size_t)st.st_size - o->len))
            > 0 || (r < 0 && errno == EINTR)))
        o->len += r > 0 ? (size_t)r : 0;
    close(fd);
    o->text[o->len] = '\0';
    o->exists = 1;
    o->mode = (unsigned)(st.st_mode & 07777);
    return 0;
}

/* Merge the plan into the old text and replace the file. */
static int write_plan(const struct plan *p, const struct oldfile *o)
{
    char err[640];
    struct dynbuf text;
    dynbuf_init(&text, DOTENV_FILE_MAX);
    text.wipe = 1;
    int rc = dotenv_merge(o->text, o->len, p->u, p->n, &text, err,
                          sizeof err);
    if (rc == 0)
        rc = setup_write_atomic(ENV_FILE, text.p, text.len, err,
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

/* ---- setup: the three ways in ---- */

/* Validate `in` for the setting and add it to the plan under `name`. */
static int take(struct plan *p, const struct settings_item *s,
                const char *name,
                const char *in, size_t len, char *err, size_t errlen)
{
    char *v;
    size_t n;
    const char *t = in;
    if (settings_trim(&t, len) == 0) {
        plan_set(p, name, NULL, 0);
        return 0;
    }
    if (validate(s, in, len, 1, &v, &n, err, errlen) != 0)
        return -1;
    if (s->kind == SETTINGS_SECRET)
        protect(s->name, v, n);
    plan_set(p, name, v, n);
    return 0;
}

static int from_env(struct plan *p)
{
    char err[256];
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const char *const one[] = {settings_item(i)->name, NULL};
        const char *const *names = settings_aliases(settings_item(i)->name);
        names = names ? names : one;
        for (int k = 0; names[k]; k++) {
            const char *v = getenv(names[k]), *t = v;
            if (!v || settings_trim(&t, strlen(v)) == 0)
                continue;
            if (take(p, settings_item(i), names[k], v, strlen(v), err,
                     sizeof err) != 0) {
                out_printf(OUT_STDERR, "clawhost: setup: %s from the "
                           "environment: %s\n", names[k], err);
                return -1;
            }
        }
    }
    return 0;
}

/* "did you mean": only known names are ever shown, never the input. */
static void unknown_name(int line, const char *name)
{
    const char *best = NULL;
    size_t dist = 0;
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        suggest_consider(name, settings_item(i)->name, &best, &dist);
    out_printf(OUT_STDERR, "clawhost: setup: stdin line %d: not a setting "
               "clawhost knows%s%s%s ('clawhost setup --help' lists "
               "them)\n", line, best ? " (did you mean " : "",
               best ? best : "", best ? "?)" : "");
}

/* One NAME=value line from stdin; 1 when it was used or skipped. */
static int stdin_line(struct plan *p, int line, size_t len)
{
    char err[256], name[72];
    const char *s = inbuf, *end = inbuf + len, *eq;
    s = skip_blank(s, end);
    if (s == end || *s == '#')
        return 1;
    if (end - s > 7 && memcmp(s, "export ", 7) == 0)
        s = skip_blank(s + 7, end);
    eq = memchr(s, '=', (size_t)(end - s));
    size_t nlen = eq ? (size_t)(eq - s) : 0;
    while (nlen > 0 && (s[nlen - 1] == ' ' || s[nlen - 1] == '\t'))
        nlen--;
    if (!eq || nlen == 0 || nlen >= sizeof name) {
        out_printf(OUT_STDERR, "clawhost: setup: stdin line %d: expected "
                   "NAME=value\n", line);
        return 0;
    }
    memcpy(name, s, nlen);
    name[nlen] = '\0';
    const struct settings_item *set = settings_find(name, NULL);
    if (!set) {
        unknown_name(line, name);
        explicit_bzero(name, sizeof name);
        return 0;
    }
    /* the table's spelling: `name` is a local buffer */
    const char *known = set->name;
    const char *const *al = settings_aliases(set->name);
    for (int k = 0; al && al[k]; k++)
        if (strcmp(al[k], name) == 0)
            known = al[k];
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
    size_t len;
    int line = 0, r, ok = 1;
    while ((r = read_line(&len)) != 0) {
        line++;
        if (r < 0) {
            out_printf(OUT_STDERR, "clawhost: setup: stdin line %d is "
                       "longer than %d bytes\n", line, SETTINGS_VALUE_MAX);
            ok = 0;
        } else if (!stdin_line(p, line, len)) {
            ok = 0;
        }
        wipe_input();
    }
    return ok ? 0 : -1;
}

/* What setup shows before asking. */
static void show_current(const struct settings_item *s,
                         const struct current *c)
{
    out_printf(OUT_STDOUT, "\n  %s -- %s\n    now: ", s->name, s->help);
    show_status(s, c);
    if (c->err[0])
        out_printf(OUT_STDOUT, "\n    refused: %s", c->err);
    else if (c->source && strcmp(c->source, ".env.local") != 0)
        out_printf(OUT_STDOUT, "\n    (that wins over .env.local; a value "
                   "entered here is used only once it is gone)");
    out_puts(OUT_STDOUT, "\n");
}

/* Ask for one setting. 0 done, -1 input ended. */
static int ask(struct plan *p, const struct settings_item *s)
{
    struct current c;
    char err[256];
    size_t len;
    lookup(s, &c);
    show_current(s, &c);
    current_free(&c);
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        /* echo goes off before the prompt shows, as getpass(3) does:
        ** what is typed once the prompt is up is never echoed */
        if (s->kind == SETTINGS_SECRET && echo_off() != 0) {
            out_puts(OUT_STDERR, "clawhost: setup: cannot turn the "
                     "terminal's echo off; not asking for this secret "
                     "(pipe NAME=value lines instead)\n");
            return 0;
        }
        out_printf(OUT_STDOUT, "    new value%s (Enter keeps, - removes "
                   "from .env.local): ", s->kind == SETTINGS_SECRET ?
                   ", not shown" : "");
        out_flush_all();
        int r = read_line(&len);
        echo_on();
        const char *t = inbuf;
        size_t n = r > 0 ? settings_trim(&t, len) : 0;
        if (r == 0)
            return wipe_input(), -1;
        if (r > 0 && n == 0)
            return wipe_input(), 0;
        if (r > 0 && n == 1 && *t == '-') {
            plan_set(p, s->name, NULL, 0);
            return wipe_input(), 0;
        }
        int bad = r < 0 ? seterr(err, sizeof err, "too long") :
                  take(p, s, s->name, inbuf, len, err, sizeof err);
        wipe_input();
        if (!bad)
            return 0;
        out_printf(OUT_STDOUT, "    not taken: %s\n", err);
    }
    out_puts(OUT_STDOUT, "    keeping the current value\n");
    return 0;
}

static int interactive(struct plan *p)
{
    out_printf(OUT_STDOUT, "clawhost setup: settings go to %s in this "
               "folder (mode 0600).\nPress Enter to keep a value; secrets "
               "are read without echo.\n", ENV_FILE);
    for (int g = 0; settings_group(g); g++) {
        out_printf(OUT_STDOUT, "\n== %s ==\n", settings_group(g));
        for (size_t i = 0; i < SETTINGS_COUNT; i++)
            if (settings_item(i)->group == g && ask(p, settings_item(i)) != 0)
                return -1;
    }
    out_puts(OUT_STDOUT, "\n");
    return 0;
}

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

static void print_setup_help(void)
{
    out_puts(OUT_STDOUT, setup_help);
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        out_printf(OUT_STDOUT, "  %-28s %s\n", settings_item(i)->name,
                   settings_item(i)->help);
}

int cmd_setup(const char *root, int argc, char **argv)
{
    struct plan p = {0};
    struct oldfile o;
    char err[640];
    int env = 0, rc;
    (void)root;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--from-env") == 0) {
            env = 1;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            print_setup_help();
            return EXIT_OK;
        } else {
            return check_usage("setup", 1, argv + i), EXIT_USAGE;
        }
    }
    if (read_old(&o, err, sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: setup: %s\n", err);
        return EXIT_USAGE;
    }
    mlock(inbuf, sizeof inbuf);
    catch_signals();
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
    secret_wipe(o.text, o.len);
    wipe_input();
    return rc;
}
