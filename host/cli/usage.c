/*
** usage.c -- what `clawhost --help` says, as tables (usage.h).
**
** The man page and the shell completions are generated from these same
** tables; tests/e2e/conventions_test.py checks that the three agree and
** that every command's --help names the options listed here.
*/
#include <stdio.h>
#include <string.h>

#include "cli/usage.h"
#include "pure/settings.h"
#include "runtime/out.h"

static const struct usage_item list_options[] = {
    {"--all", NULL, "also the examples and the other names of recipes "
     "(alias_of)"},
    {"--json", NULL, "an array of {name, description, spends, group, "
     "alias_of}"},
    {NULL, NULL, NULL}
};

static const struct usage_item help_options[] = {
    {"--json", NULL, "the recipe and its params as data (name, flag, "
     "type, required, default, values, min, max, help, arg, of), for "
     "agents that build calls"},
    {NULL, NULL, NULL}
};

static const struct usage_item ledger_options[] = {
    {"--json", NULL, "the same as JSON"},
    {"--since", "DATE", "from the UTC day DATE (2026-12-01) on, instead "
     "of all days"},
    {"--run", "ID", "one run: its recipe, exit and every reservation"},
    {"--open", NULL, "reservations still open (a run killed mid-call "
     "leaves them; they count against the caps)"},
    {"--release", "ID", "close one as 0 USD: the request never left"},
    {"--settle", "ID USD", "close one at what the provider says it cost"},
    {NULL, NULL, NULL}
};

static const struct usage_item store_options[] = {
    {"status", "[--json]", "the engine, where it is (never its "
     "password), the schema version and what it holds"},
    {"migrate", NULL, "bring the schema to this clawhost's version"},
    {NULL, NULL, NULL}
};

static const struct usage_item setup_options[] = {
    {"--from-env", NULL, "take every setting set in the environment "
     "instead of asking (without a terminal, NAME=value lines are read "
     "from stdin)"},
    {"--user", NULL, "write the user file ($XDG_CONFIG_HOME/clawhost/env, "
     "~/.config/clawhost/env)"},
    {"--project", NULL, "write ./.env.local"},
    {NULL, NULL, NULL}
};

static const struct usage_item check_options[] = {
    {"--json", NULL, "every setting, its source and path, the workflows "
     "and problems, as data (never a value)"},
    {"--online", NULL, "also verify each capability with one harmless "
     "call"},
    {NULL, NULL, NULL}
};

static const struct usage_item sweep_options[] = {
    {"--dry-run", NULL, "list what would be cleaned up, change nothing"},
    {"--force", NULL, "also entries of runs that may still be running"},
    {NULL, NULL, NULL}
};

static const struct usage_item completion_options[] = {
    {"bash", NULL, "for bash: source <(clawhost completion bash)"},
    {"zsh", NULL, "for zsh, after compinit: source <(clawhost "
     "completion zsh)"},
    {NULL, NULL, NULL}
};

static const struct usage_item mcp_options[] = {
    {"--budget", "USD", "what all calls of this server together may "
     "spend, on top of each run's and the daily cap (default: "
     "THETA_MAX_BUDGET_USD, else 2.00)"},
    {"--dry-run", NULL, "serve every tool in dry-run mode: no request "
     "but GET/HEAD leaves"},
    {"--approve-spend", NULL, "run recipes that need approval without "
     "asking when the client cannot ask the user (elicitation)"},
    {"--confirm-above", "USD", "a spending call may spend at most USD "
     "unless the user approves more when asked; a client that cannot "
     "ask is held to USD"},
    {"--recipes", "DIR", "also serve the recipes (*.lua) in DIR "
     "(repeatable)"},
    {"--only", "NAME", "serve only these recipes (repeatable, or "
     "NAME,NAME)"},
    {"--exclude", "NAME", "do not serve these recipes (repeatable, or "
     "NAME,NAME)"},
    {"--allow-file-dir", "DIR", "file params may name files under DIR "
     "(repeatable); without it no tool reads a file"},
    {"--max-calls", "N", "calls running at once, more wait (default 8, "
     "at most 64)"},
    {"--timeout", "S", "deadline of each call (default 600)"},
    {"--memory-mb", "N", "memory cap of each call (default 256)"},
    {NULL, NULL, NULL}
};

const struct usage_command usage_commands[] = {
    {"run", "RECIPE [--param value ...] [global options]",
     "run a recipe; a TEXT param also takes @FILE or - (stdin)", NULL},
    {"list", "[--all] [--json]", "recipes by group with one-line "
     "descriptions (examples and aliases with --all)", list_options},
    {"help", "RECIPE [--json]", "params, what it calls, whether it "
     "spends", help_options},
    {"ledger", "[--json] [--since DATE | --run ID | --open]",
     "spend so far, per service and per run; --release ID and --settle "
     "ID USD close a reservation a killed run left open", ledger_options},
    {"store", "status [--json] | migrate", "the database behind the "
     "ledger, the cleanup journal and recipe state", store_options},
    {"setup", "[--user|--project] [--from-env]", "collect settings into "
     "the user file or ./.env.local (0600)", setup_options},
    {"check", "[--json] [--online]", "which settings are set, from where; "
     "--online verifies each with one call", check_options},
    {"sweep", "[--dry-run] [--force]", "finish cleanup a killed run "
     "left (delete and verify its deployments)", sweep_options},
    {"mcp", "[--budget USD] [--dry-run] [--approve-spend] [options]",
     "serve the recipes as tools of a Model Context Protocol server on "
     "stdin/stdout (docs/mcp.md)", mcp_options},
    {"completion", "bash|zsh", "print a shell completion script made "
     "from the recipes' params", completion_options},
    {"man", "", "print this manual page as roff (man -l <(clawhost "
     "man))", NULL},
    {"version", "", "the versions of clawhost, Lua and libcurl (also -V, "
     "--version)", NULL},
    {NULL, NULL, NULL, NULL}
};

const struct usage_item usage_global_options[] = {
    {"--env-file", "PATH", "read settings from PATH after the environment "
     "and before ./.env.local (also CLAWHOST_ENV_FILE); mode 0600, "
     "yours; a run stops if it is unusable"},
    {"--json", NULL, "print the result as JSON on stdout"},
    {"--dry-run", NULL, "send no request but GET/HEAD; show the plan "
     "instead (also THETA_DRY_RUN=1)"},
    {"--timeout", "S", "wall-clock limit of the run, more than 0 and at "
     "most 604800 (default 600; 0 is refused: every run has a "
     "deadline)"},
    {"--memory-mb", "N", "memory cap of the recipe (default 256)"},
    {"--budget", "USD", "spend cap of the run (default: "
     "THETA_MAX_BUDGET_USD, else 2.00)"},
    {"--allow-host", "H[:P]", "let the recipe reach host H over http or "
     "on a private address (repeatable)"},
    {"--cleanup-timeout", "S", "limit of deferred cleanup (default 60)"},
    {"--log-json", NULL, "diagnostics as JSON lines on stderr"},
    {"-q, --quiet", NULL, "only warnings and errors (with their hint) on "
     "stderr"},
    {"-v, --verbose", NULL, "debug messages: each HTTP attempt and retry, "
     "an error's fields, tracebacks"},
    {"-h, --help", NULL, "the recipe's help instead of a run"},
    {NULL, NULL, NULL}
};

const struct usage_item usage_exit_statuses[] = {
    {"0", NULL, "ok"},
    {"1", NULL, "recipe failed"},
    {"2", NULL, "usage or config error"},
    {"3", NULL, "budget cap reached"},
    {"4", NULL, "refused by policy"},
    {"124", NULL, "deadline"},
    {"130", NULL, "interrupted"},
    {NULL, NULL, NULL}
};

const struct usage_item usage_files[] = {
    {".env.local", NULL, "settings in the working folder, written by "
     "clawhost setup (mode 0600; the environment and --env-file win over "
     "it)"},
    {"~/.config/clawhost/env", NULL, "the user file ($XDG_CONFIG_HOME/"
     "clawhost/env): settings that follow the user, read last (mode "
     "0600)"},
    {"$CLAWHOST_HOME/recipes/NAME.lua", NULL, "the recipe `clawhost run "
     "NAME` runs; lua/ next to it holds the library recipes require"},
    {"PREFIX/share/clawhost", NULL, "recipes/ and lua/ of an installed "
     "clawhost (when CLAWHOST_HOME is not set)"},
    {"~/.local/state/clawhost/clawhost.db", NULL, "the store: spend "
     "ledger, cleanup journal, recipe state (see CLAWHOST_STORE, "
     "CLAWHOST_STATE_DIR, XDG_STATE_HOME)"},
    {NULL, NULL, NULL}
};

/* The variables the host itself reads (getenv), beside the settings of
** pure/settings.c. */
static const struct usage_item host_environment[] = {
    {"CLAWHOST_HOME", NULL, "the folder that holds lua/ and recipes/ "
     "(default: found from the binary)"},
    {"CLAWHOST_ENV_FILE", NULL, "a settings file read after the "
     "environment (--env-file wins over it)"},
    {"XDG_CONFIG_HOME", NULL, "the folder of the user file clawhost/env "
     "(default ~/.config)"},
    {"CLAWHOST_STORE", NULL, "the store: sqlite:///ABSOLUTE/PATH.db or "
     "postgresql://... (a secret: never shown)"},
    {"CLAWHOST_STATE_DIR", NULL, "the folder of clawhost.db when "
     "CLAWHOST_STORE is not set"},
    {"XDG_STATE_HOME", NULL, "its parent when CLAWHOST_STATE_DIR is not "
     "set (default ~/.local/state)"},
    {"CLAWHOST_SECRETS_DIR", NULL, "a folder of secrets, one file per "
     "name (mode 0600)"},
    {"CREDENTIALS_DIRECTORY", NULL, "systemd's credentials, one file per "
     "name, tried first"},
    {"CLAWHOST_DAILY_BUDGET_USD", NULL, "spend cap of one day in USD, "
     "shared by every run"},
    {"CLAWHOST_BUDGET_GROUP", NULL, "a group of runs with one cap (set by "
     "a parent such as clawhost mcp; docs/budget.md)"},
    {"CLAWHOST_BUDGET_GROUP_CAP", NULL, "that group's cap in USD, over "
     "its life"},
    {"CLAWHOST_PROXY", NULL, "the proxy requests go through (http_proxy "
     "and the like are ignored)"},
    {"CLAWHOST_CA_FILE", NULL, "the PEM file of CA certificates TLS "
     "trusts (checks stay on)"},
    {"CLAWHOST_CONNECT_TO", NULL, "HOST1:PORT1:HOST2:PORT2,... connect to "
     "HOST2:PORT2 for HOST1:PORT1 (docs/egress.md)"},
    {"THETA_DRY_RUN", NULL, "1/true/yes/on: every run is a --dry-run"},
    {"THETA_MAX_BUDGET_USD", NULL, "the default --budget"},
    {"COLUMNS", NULL, "width of result tables (default: the terminal's, "
     "else 100)"},
    {"TZDIR", NULL, "the time zone database (default "
     "/usr/share/zoneinfo)"},
    {NULL, NULL, NULL}
};

/* Entries in host_environment (it ends with a NULL row). */
static int host_count(void)
{
    int n = 0;
    while (host_environment[n].left)
        n++;
    return n;
}

/* The j-th setting: those `clawhost check` lists, then those config
** hands out; NULL past the last. */
static const char *setting_name(size_t j, const char **help)
{
    const struct settings_item *si = settings_item(j);
    const struct settings_readable *sr;
    if (si) {
        *help = si->help;
        return si->name;
    }
    sr = settings_readable_item(j - SETTINGS_COUNT);
    *help = sr ? sr->help : NULL;
    return sr ? sr->name : NULL;
}

/* Is the j-th setting's name one listed before it (as a host variable
** or an earlier setting)? */
static int listed_before(size_t j)
{
    const char *help, *name = setting_name(j, &help);
    for (int k = 0; host_environment[k].left; k++)
        if (strcmp(host_environment[k].left, name) == 0)
            return 1;
    for (size_t k = 0; k < j; k++)
        if (strcmp(setting_name(k, &help), name) == 0)
            return 1;
    return 0;
}

/*
** Entries past the host's own are made on the fly from pure/settings.c,
** so a setting added there is documented here without a second list;
** one that is already listed (THETA_DRY_RUN, ...) is skipped.
*/
const struct usage_item *usage_environment(size_t i, int *setting)
{
    static struct usage_item made;
    size_t nhost = (size_t)host_count(), k = nhost;
    *setting = i >= nhost;
    if (i < nhost)
        return &host_environment[i];
    for (size_t j = 0; setting_name(j, &made.help) != NULL; j++) {
        if (listed_before(j) || k++ != i)
            continue;
        made.left = setting_name(j, &made.help);
        made.arg = NULL;
        return &made;
    }
    return NULL;
}

/* The length of the word at s (up to a space or the end). */
static size_t word_len(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != ' ')
        n++;
    return n;
}

void usage_wrap(int stream, const char *text, int at, int indent,
                int width)
{
    int col = at, first = 1;
    while (*text) {
        while (*text == ' ')
            text++;
        size_t n = word_len(text);
        if (n == 0)
            break;
        if (!first && col + 1 + (int)n > width) {
            out_printf(stream, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            out_puts(stream, " ");
            col++;
        }
        out_write(stream, text, n);
        col += (int)n;
        text += n;
        first = 0;
    }
    out_puts(stream, "\n");
}

/* "  LEFT ARG" padded to the help column, or the help on the next line
** when the left part is too wide. */
static void print_item(int stream, const char *left, const char *arg,
                       const char *help, int column)
{
    char head[160];
    int n = snprintf(head, sizeof head, "  %s%s%s", left, arg ? " " : "",
                     arg ? arg : "");
    out_puts(stream, head);
    if (n + 1 > column) {
        out_printf(stream, "\n%*s", column, "");
    } else {
        out_printf(stream, "%*s", column - n, "");
    }
    usage_wrap(stream, help, column, column, 79);
}

/* The settings in one wrapped paragraph: they are many, and `clawhost
** check` explains each; the host's own variables get a line each. */
static void print_environment(int stream)
{
    int setting;
    const struct usage_item *e;
    char names[2048];
    size_t used = 0;
    out_puts(stream, "\nenvironment:\n");
    for (size_t i = 0; (e = usage_environment(i, &setting)) != NULL;
         i++) {
        if (!setting)
            print_item(stream, e->left, NULL, e->help, 29);
        else if (used < sizeof names)
            used += (size_t)snprintf(names + used, sizeof names - used,
                                     "%s%s", used ? " " : "", e->left);
    }
    out_puts(stream, "  settings (clawhost check shows each, docs/"
             "secrets.md and docs/modules.md):\n    ");
    usage_wrap(stream, names, 4, 4, 79);
}

void usage_print(int stream)
{
    char left[128];
    out_puts(stream, "clawhost " CLAWHOST_VERSION " -- run automation "
             "recipes written in Lua,\nwith sandboxed HTTP, opaque secrets "
             "and a hard spend cap.\n\nusage:\n");
    for (const struct usage_command *c = usage_commands; c->name; c++) {
        snprintf(left, sizeof left, "clawhost %s%s%s", c->name,
                 *c->synopsis ? " " : "", c->synopsis);
        print_item(stream, left, NULL, c->help, 32);
    }
    out_puts(stream, "\nRECIPE is a name from `clawhost list` or a path to "
             "a .lua file.\n\nglobal options, before or after the command "
             "(all but --env-file are\nfor run, help and sweep; before "
             "another command they are its own\narguments, so `clawhost "
             "--json check` is `clawhost check --json`):\n");
    for (const struct usage_item *o = usage_global_options; o->left; o++)
        print_item(stream, o->left, o->arg, o->help, 23);
    print_environment(stream);
    out_puts(stream, "\nSettings: $CREDENTIALS_DIRECTORY and "
             "$CLAWHOST_SECRETS_DIR (secrets\nonly), the environment, "
             "--env-file, ./.env.local, then the user file\n"
             "$XDG_CONFIG_HOME/clawhost/env (~/.config/clawhost/env); the "
             "first\nthat has a name wins (docs/secrets.md).\n");
    out_puts(stream, "\nThe result goes to stdout, progress and diagnostics "
             "to stderr: on a\nterminal one live line per task with its "
             "elapsed time (and limit),\nelsewhere a plain line per change; "
             "no colour. A failure is one \"error:\"\nline, then a "
             "\"hint:\" line that says what to do (--verbose: the "
             "detail).\n");
    char line[512];
    size_t used = (size_t)snprintf(line, sizeof line, "exit status:");
    for (const struct usage_item *x = usage_exit_statuses; x->left; x++)
        used += (size_t)snprintf(line + used, sizeof line - used,
                                 "%s %s %s", x == usage_exit_statuses ?
                                 "" : ",", x->left, x->help);
    usage_wrap(stream, line, 0, 2, 79);
}
