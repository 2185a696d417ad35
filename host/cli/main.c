/*
** main.c -- the command line: commands, global options, where the
** recipes live. Everything else is in run.c and below.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli/cmd_check.h"
#include "cli/cmd_completion.h"
#include "cli/cmd_ledger.h"
#include "cli/cmd_man.h"
#include "cli/cmd_setup.h"
#include "cli/cmd_mcp.h"
#include "cli/cmd_store.h"
#include "cli/recipe.h"
#include "cli/run.h"
#include "cli/usage.h"
#include "curl/transfer.h"
#include "lib/json.h"
#include "pure/money.h"
#include "pure/netpolicy.h"
#include "pure/suggest.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/init.h"
#include "runtime/log.h"
#include "runtime/out.h"
#include "runtime/sources.h"

#define MAX_ALLOW 64

struct cli {
    struct rt_options opt;
    const char *allow[MAX_ALLOW + 1];
    int help;
};

static int usage_error(const char *fmt, const char *a, const char *b)
{
    out_puts(OUT_STDERR, "clawhost: ");
    out_printf(OUT_STDERR, fmt, a, b);
    out_puts(OUT_STDERR, "\n'clawhost --help' lists the commands and "
             "options\n");
    return EXIT_USAGE;
}

static int has_recipes(const char *dir)
{
    char cand[PATH_MAX + 160];
    struct stat st;
    snprintf(cand, sizeof cand, "%s/recipes", dir);
    return stat(cand, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
** The installation: $CLAWHOST_HOME, else the nearest folder above the
** binary that holds recipes/ (build/clawhost and build/asan/clawhost in
** a checkout), else PREFIX/share/clawhost for an installed binary.
*/
static int find_root(char *out, size_t size)
{
    char exe[PATH_MAX], cand[PATH_MAX + 32];
    const char *home = getenv("CLAWHOST_HOME");
    if (home && *home) {
        snprintf(out, size, "%s", home);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(cand, sizeof cand, "%s/../share/clawhost", exe);
    if (has_recipes(cand))
        return realpath(cand, out) ? 0 : -1;
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash)
            break;
        *slash = '\0';
        if (has_recipes(exe[0] ? exe : "/"))
            return realpath(exe[0] ? exe : "/", out) ? 0 : -1;
    }
    return -1;
}

/* A run always has a deadline (it is what ends a hung request), so 0
** does not mean "none": it is refused, and the message says what is
** taken instead of contradicting itself ("between 0 and ..."). */
static int parse_seconds(const char *flag, const char *v, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d) || d <= 0 || d > 7 * 86400)
        return usage_error("%s expects seconds, more than 0 and at most "
                           "604800 (7 days; there is no unlimited run), "
                           "got '%s'", flag, v);
    *out = d;
    return 0;
}

static int parse_memory(const char *v, size_t *out)
{
    char *end;
    long mb = strtol(v, &end, 10);
    if (end == v || *end || mb < 16 || mb > 1 << 20)
        return usage_error("--memory-mb expects a whole number of MiB "
                           "from 16 to 1048576, got '%s'%s", v, "");
    *out = (size_t)mb << 20;
    return 0;
}

static int check_budget(const char *v)
{
    char err[256];
    int64_t nano;
    if (money_usd_parse(v, &nano, err, sizeof err) != 0)
        return usage_error("--budget: %s%s", err, "");
    return 0;
}

static int check_allow(struct cli *c, const char *v)
{
    struct netpolicy np;
    char err[512];
    netpolicy_init(&np);
    if (netpolicy_allow_host_arg(&np, v, err, sizeof err) != 0)
        return usage_error("--allow-host: %s%s", err, "");
    if (c->opt.nallow_hosts == MAX_ALLOW)
        return usage_error("--allow-host given more than %s times%s",
                           "64", "");
    c->allow[c->opt.nallow_hosts++] = v;
    c->allow[c->opt.nallow_hosts] = NULL;
    return 0;
}

/* --env-file PATH: read before ./.env.local (runtime/sources.h). */
static int use_env_file(const char *v)
{
    if (!*v)
        return usage_error("--env-file needs a file name%s%s", "", "");
    sources_set_env_file(v);
    return 0;
}

/*
** A file named on purpose (--env-file, $CLAWHOST_ENV_FILE) that cannot
** be used stops a run before it starts, even one that would read no
** setting from it: a typo in a crontab must not go unnoticed.
*/
static int env_file_usable(void)
{
    const struct sources_file *f = sources_file(SOURCES_ENV_FILE);
    if (f->status == DOTENV_ERROR)
        return usage_error("%s%s", f->err, "");
    return 0;
}

static int option_value(int argc, char **argv, int *i, const char *eq,
                        const char **value)
{
    if (eq) {
        *value = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc)
        return usage_error("%s needs a value%s", argv[*i], "");
    *value = argv[++*i];
    return 0;
}

static int flag_option(struct cli *c, const char *name, size_t len)
{
    static const char *const flags[] = {"json", "dry-run", "log-json",
                                        "quiet", "verbose", "help", NULL};
    for (int k = 0; flags[k]; k++) {
        if (strlen(flags[k]) != len || strncmp(flags[k], name, len) != 0)
            continue;
        switch (k) {
        case 0: c->opt.json = 1; break;
        case 1: c->opt.dry_run = 1; break;
        case 2: c->opt.log_json = 1; break;
        case 3: c->opt.verbosity = RT_QUIET; break;
        case 4: c->opt.verbosity = RT_VERBOSE; break;
        default: c->help = 1; break;
        }
        return 1;
    }
    return 0;
}

/*
** Consume argv[*i] if it is a global option (and its value). Returns 1
** when consumed, 0 when it is not one, -1 after printing an error.
*/
static int global_option(struct cli *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v, *eq;
    static const char *const shorts[][2] = {{"-q", "quiet"},
                                            {"-v", "verbose"},
                                            {"-h", "help"}};
    for (int k = 0; k < 3; k++)
        if (strcmp(a, shorts[k][0]) == 0)
            return flag_option(c, shorts[k][1], strlen(shorts[k][1]));
    if (strncmp(a, "--", 2) != 0)
        return 0;
    eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (!eq && flag_option(c, a + 2, len))
        return 1;
    static const char *const valued[] = {"timeout", "memory-mb", "budget",
                                         "allow-host", "cleanup-timeout",
                                         "env-file", NULL};
    for (int k = 0; valued[k]; k++) {
        if (strlen(valued[k]) != len || strncmp(valued[k], a + 2, len))
            continue;
        if (option_value(argc, argv, i, eq, &v) != 0)
            return -1;
        int bad = k == 0 ? parse_seconds("--timeout", v, &c->opt.timeout_s)
                : k == 1 ? parse_memory(v, &c->opt.memory_bytes)
                : k == 2 ? check_budget(v)
                : k == 3 ? check_allow(c, v)
                : k == 5 ? use_env_file(v)
                : parse_seconds("--cleanup-timeout", v,
                                &c->opt.cleanup_timeout_s);
        if (k == 2 && !bad)
            c->opt.budget = v;
        return bad ? -1 : 1;
    }
    return 0;
}

static void defaults(struct cli *c)
{
    memset(c, 0, sizeof *c);
    c->opt.timeout_s = 600;
    c->opt.cleanup_timeout_s = 60;
    c->opt.memory_bytes = (size_t)256 << 20;
    c->opt.allow_hosts = c->allow;
}

/* THETA_DRY_RUN from the seed: 1/true/yes/on turn dry run on. */
static int env_dry_run(struct cli *c)
{
    const char *v = getenv("THETA_DRY_RUN");
    if (!v || !*v)
        return 0;
    int b = config_parse_bool(v);
    if (b < 0)
        return usage_error("THETA_DRY_RUN=%s: expected 1/true/yes/on or "
                           "0/false/no/off%s", v, "");
    c->opt.dry_run |= b;
    return 0;
}

static int cmd_run(const char *root, int argc, char **argv, int help)
{
    struct cli c;
    const char *recipe = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n = 0, status;
    defaults(&c);
    c.help = help;
    if (!rest)
        return EXIT_FAILED;
    for (int i = 0; i < argc; i++) {
        int g = global_option(&c, argc, argv, &i);
        if (g < 0) {
            free(rest);
            return EXIT_USAGE;
        }
        if (g > 0)
            continue;
        if (!recipe && argv[i][0] == '-') {
            free(rest);
            return usage_error("unknown option %s (recipe options go "
                               "after the recipe name)%s", argv[i], "");
        }
        if (!recipe)
            recipe = argv[i];
        else
            rest[n++] = argv[i];
    }
    if (!recipe) {
        free(rest);
        return usage_error("%s: which recipe? ('clawhost list' shows "
                           "them)%s", help ? "help" : "run", "");
    }
    if (env_dry_run(&c) != 0 || (!c.help && env_file_usable() != 0)) {
        free(rest);
        return EXIT_USAGE;
    }
    log_setup(c.opt.log_json, c.opt.verbosity);
    status = run_recipe(&c.opt, root, recipe, n, rest, c.help);
    free(rest);
    return status;
}

/* ---- list ---- */

static int describe_one(lua_State *L)
{
    const struct recipe_ref *ref = lua_touserdata(L, 1);
    lua_settop(L, 0);
    recipe_load(L, ref, 1);
    lua_getfield(L, 1, "description");
    lua_getfield(L, 1, "spends");
    lua_getfield(L, 1, "group");
    lua_getfield(L, 1, "alias_of");
    return 4;
}

/* One recipe's {name, description, spends, group, alias_of}, appended
** to the list at `list`. */
static void list_entry(lua_State *L, const struct recipe_ref *ref,
                       int list, int show_all)
{
    struct rt *r = rt_get();
    snprintf(r->recipe_dir, sizeof r->recipe_dir, "%s", ref->dir);
    lua_pushcfunction(L, describe_one);
    lua_pushlightuserdata(L, (void *)ref);
    int ok = lua_pcall(L, 1, 4, 0) == LUA_OK;
    const char *alias = ok ? lua_tostring(L, -1) : NULL;
    if (ok)
        lua_insert(L, -4);
    int spends = ok && lua_toboolean(L, -2);
    const char *group = ok && lua_type(L, -1) == LUA_TSTRING ?
                        lua_tostring(L, -1) : "Other";
    const char *desc = ok ? lua_tostring(L, -3) :
                       lua_pushfstring(L, "(cannot load: %s)",
                                       err_describe(L, -1));
    rt_clear_fatal();           /* one refused recipe must not taint the
                                ** next one's load */
    int top = lua_gettop(L);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, ref->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, desc ? desc : "");
    lua_setfield(L, -2, "description");
    lua_pushboolean(L, spends);
    lua_setfield(L, -2, "spends");
    lua_pushstring(L, group);
    lua_setfield(L, -2, "group");
    lua_pushstring(L, alias);
    lua_setfield(L, -2, "alias_of");
    if (show_all || !recipe_hidden(alias, group))
        lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
    lua_settop(L, top - (ok ? 4 : 2));
}

/* The groups in the order they first appear in name order, each with
** its recipes; a recipe without a group is under "Other", last. */
static void print_grouped(lua_State *L, int list)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    const char *done[64];
    int ndone = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, list, i);
            lua_getfield(L, -1, "group");
            const char *g = lua_tostring(L, -1);
            int seen = 0, other = strcmp(g, "Other") == 0;
            for (int k = 0; k < ndone; k++)
                seen |= strcmp(done[k], g) == 0;
            if (seen || other != pass || ndone == 64) {
                lua_pop(L, 2);
                continue;
            }
            done[ndone++] = g;          /* kept alive by the list */
            out_printf(OUT_STDOUT, "%s%s\n", ndone > 1 ? "\n" : "", g);
            for (lua_Integer j = i; j <= n; j++) {
                lua_rawgeti(L, list, j);
                lua_getfield(L, -1, "group");
                if (strcmp(lua_tostring(L, -1), g) == 0) {
                    lua_getfield(L, -2, "name");
                    lua_getfield(L, -3, "description");
                    out_printf(OUT_STDOUT, "  %-22s %s\n",
                               lua_tostring(L, -2), lua_tostring(L, -1));
                    lua_pop(L, 2);
                }
                lua_pop(L, 2);
            }
            lua_pop(L, 2);
        }
    }
}

static int list_all(lua_State *L)
{
    const char *root = lua_touserdata(L, 1);
    int json = lua_toboolean(L, 2), all = lua_toboolean(L, 3);
    char **names, err[512];
    struct recipe_ref ref;
    int n = recipe_names(root, &names), shown = 0;
    lua_settop(L, 3);
    lua_newtable(L);
    for (int i = 0; i < n; i++)
        if (recipe_resolve(root, names[i], &ref, err, sizeof err) == 0) {
            list_entry(L, &ref, 4, all);
            shown++;
        }
    recipe_free_names(names, n);
    shown -= (int)lua_rawlen(L, 4);
    if (json) {
        json_mark_array(L, 4);
        json_encode_value(L, 4, JSON_PRETTY);
        out_printf(OUT_STDOUT, "%s\n", lua_tostring(L, -1));
    } else {
        print_grouped(L, 4);
        if (shown > 0)
            out_printf(OUT_STDOUT, "\n%d more (examples and other names "
                       "of these): clawhost list --all\n", shown);
    }
    return 0;
}

static const char list_help[] =
"usage: clawhost list [--all] [--json]\n"
"\n"
"Lists the recipes in the recipes/ folder of the clawhost home by\n"
"group (a recipe's `group` field), each with its one-line description.\n"
"The examples (group Examples) and the recipes that are another name\n"
"of one (`alias_of`, like the MCP names) are left out unless --all.\n"
"--json prints them as an array of {name, description, spends, group,\n"
"alias_of}. 'clawhost help RECIPE' shows one in full.\n";

static int cmd_list(const char *root, int argc, char **argv)
{
    struct cli c;
    char err[512];
    int json = 0, all = 0;
    defaults(&c);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            out_puts(OUT_STDOUT, list_help);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return usage_error("list: unknown argument %s%s", argv[i], "");
    }
    c.opt.timeout_s = 30;
    if (init_start(&c.opt, root, err, sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: %s\n", err);
        init_stop();
        return EXIT_FAILED;
    }
    lua_State *L = rt_get()->L;
    lua_pushcfunction(L, list_all);
    lua_pushlightuserdata(L, (void *)root);
    lua_pushboolean(L, json);
    lua_pushboolean(L, all);
    int status = lua_pcall(L, 3, 0, 0) == LUA_OK ? EXIT_OK : EXIT_FAILED;
    if (status != EXIT_OK)
        log_msgf(LOG_ERROR, "list: %s", err_describe(L, -1));
    out_flush_all();
    init_stop();
    return status;
}

/* ---- main ---- */

static int cmd_version(void)
{
    const char *curl = transfer_curl_version();
    out_printf(OUT_STDOUT, "clawhost %s (%s, lua-cjson 2.1.0, libcurl "
               "%s)\n", CLAWHOST_VERSION, LUA_RELEASE,
               curl ? curl : "not loadable");
    return EXIT_OK;
}

static int unknown_command(const char *cmd)
{
    static const char *const cmds[] = {"run", "list", "help", "version",
                                       "ledger", "store", "sweep",
                                       "setup", "check",
                                       "completion", "man", NULL};
    const char *best = NULL;
    size_t dist = 0;
    for (int i = 0; cmds[i]; i++)
        suggest_consider(cmd, cmds[i], &best, &dist);
    if (best)
        return usage_error("unknown command '%s' (did you mean %s?)", cmd,
                           best);
    return usage_error("unknown command '%s'%s", cmd, "");
}

/* `clawhost sweep ARGS` is `clawhost run sweep ARGS`: the cleanup it
** finishes is library code (lua/theta/disposable.lua), run with the
** run's deadline, signals and dry run. */
static int as_recipe(const char *root, const char *name, int argc,
                     char **argv)
{
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args)
        return EXIT_FAILED;
    args[0] = (char *)name;
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    int status = cmd_run(root, argc + 1, args, 0);
    free(args);
    return status;
}

/* `clawhost check --online`: the settings as plain check shows them,
** then each capability verified with one harmless call (the
** capabilities recipe). The status is the probes' when the settings
** are usable. */
static int check_online(const char *root, int argc, char **argv)
{
    int online = 0, n = 0;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return EXIT_FAILED;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--online") == 0)
            online = 1;
        else
            rest[n++] = argv[i];
    }
    int status = cmd_check(root, n, rest, online);
    free(rest);
    if (!online || status != EXIT_OK)
        return status;
    out_puts(OUT_STDOUT, "\nonline (one harmless call each):\n");
    out_flush_all();
    return as_recipe(root, "capabilities", 0, NULL);
}

/* ---- global options anywhere ---- */

/*
** The commands that are not a run read no global option but
** --env-file; take it out of their arguments wherever it stands. The
** new argc, or -1 after a usage error.
*/
static int take_env_file(int argc, char **argv)
{
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--env-file=", 11) == 0) {
            if (use_env_file(a + 11) != 0)
                return -1;
        } else if (strcmp(a, "--env-file") == 0) {
            if (i + 1 >= argc)
                return usage_error("--env-file needs a value%s%s", "", "");
            if (use_env_file(argv[++i]) != 0)
                return -1;
        } else {
            argv[n++] = argv[i];
        }
    }
    argv[n] = NULL;
    return n;
}

/*
** `clawhost --timeout 20 run publish` is `clawhost run --timeout 20
** publish`: the global options before the command are moved after its
** name into args (argc + 1 entries), where the command reads them as it
** reads its own. Help and version stop the scan, so `clawhost --json
** --help` still helps. 0 to go on, or 1 with *status set.
*/
static int front_options(int argc, char **argv, char **args, int *status)
{
    struct cli probe;
    int i = 1, n = 0;
    defaults(&probe);
    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "-h") &&
           strcmp(argv[i], "--help") && strcmp(argv[i], "-V") &&
           strcmp(argv[i], "--version")) {
        int g = global_option(&probe, argc, argv, &i);
        if (g <= 0) {
            *status = g < 0 ? EXIT_USAGE : usage_error("unknown option "
                      "%s%s", argv[i], "");
            return 1;
        }
        i++;
    }
    if (i == argc && i > 1) {
        *status = usage_error("a command is missing after the global "
                              "options%s%s", "", "");
        return 1;
    }
    args[n++] = argv[0];
    if (i < argc)
        args[n++] = argv[i];
    for (int k = 1; k < i; k++)
        args[n++] = argv[k];
    for (int k = i + 1; k < argc; k++)
        args[n++] = argv[k];
    args[n] = NULL;
    return 0;
}

/* run, help and sweep read every global option, anywhere after the
** command; the others only --env-file. */
static int reads_run_options(const char *cmd)
{
    return strcmp(cmd, "run") == 0 || strcmp(cmd, "help") == 0 ||
           strcmp(cmd, "sweep") == 0;
}

static int dispatch(const char *root, int argc, char **argv)
{
    const char *cmd = argv[1];
    if (!reads_run_options(cmd)) {
        int n = take_env_file(argc - 2, argv + 2);
        if (n < 0)
            return EXIT_USAGE;
        argc = n + 2;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(root, argc - 2, argv + 2, 0);
    if (strcmp(cmd, "ledger") == 0)
        return cmd_ledger(argc - 2, argv + 2);
    if (strcmp(cmd, "store") == 0)
        return cmd_store(argc - 2, argv + 2);
    if (strcmp(cmd, "list") == 0)
        return cmd_list(root, argc - 2, argv + 2);
    if (strcmp(cmd, "setup") == 0)
        return cmd_setup(root, argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return check_online(root, argc - 2, argv + 2);
    if (strcmp(cmd, "mcp") == 0)
        return cmd_mcp(root, argc - 2, argv + 2);
    if (strcmp(cmd, "completion") == 0)
        return cmd_completion(root, argc - 2, argv + 2);
    if (strcmp(cmd, "sweep") == 0)
        return as_recipe(root, "sweep", argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0 && argc > 2)
        return cmd_run(root, argc - 2, argv + 2, 1);
    return unknown_command(cmd);
}

static int start(int argc, char **argv)
{
    char root[PATH_MAX];
    int status;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 ||
        (strcmp(argv[1], "help") == 0 && argc == 2)) {
        usage_print(argc < 2 ? OUT_STDERR : OUT_STDOUT);
        out_flush_all();
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "-V") == 0 ||
        strcmp(argv[1], "--version") == 0) {
        status = cmd_version();
    } else if (strcmp(argv[1], "man") == 0) {
        status = cmd_man(argc - 2, argv + 2);
    } else if (argv[1][0] == '-') {
        status = usage_error("unknown option %s%s", argv[1], "");
    } else if (find_root(root, sizeof root) != 0) {
        status = usage_error("cannot find the recipes folder next to the "
                             "binary; set CLAWHOST_HOME to the folder that "
                             "holds lua/ and recipes/%s%s", "", "");
    } else {
        status = dispatch(root, argc, argv);
    }
    return status;
}

int main(int argc, char **argv)
{
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int status;
    rt_harden_process();
    if (!args) {
        out_puts(OUT_STDERR, "clawhost: out of memory\n");
        status = EXIT_FAILED;
    } else if (front_options(argc, argv, args, &status) == 0) {
        status = start(argc, args);
    }
    free(args);
    out_flush_all();
    return status;
}
