/*
** cmd_man.c -- `clawhost man`: the manual page clawhost(1), as roff.
**
** Written from the tables of usage.c, the ones `clawhost --help` prints,
** so the page cannot fall behind the help. The build runs it into
** build/clawhost.1 and `make install` puts that in man1. Only the prose
** around the tables is here.
*/
#include <string.h>

#include "cli/cmd_man.h"
#include "cli/usage.h"
#include "runtime/err.h"
#include "runtime/out.h"

/*
** Text as roff reads it: a backslash is \e, a '-' that starts a word
** (an option, "- for stdin") is \- so it prints as a minus and is
** searchable, and a line that would start with '.' or '\'' (a request
** to roff) starts with \& instead.
*/
static void put_text(const char *s)
{
    int start = 1;
    if (*s == '.' || *s == '\'')
        out_puts(OUT_STDOUT, "\\&");
    for (; *s; s++) {
        if (*s == '\\')
            out_puts(OUT_STDOUT, "\\e");
        else if (*s == '-' && start)
            out_puts(OUT_STDOUT, "\\-");
        else
            out_write(OUT_STDOUT, s, 1);
        start = *s == ' ' || *s == '[' || *s == '(' || *s == '|' ||
                (*s == '-' && start);
    }
}

/* roff joins lines into paragraphs, so a table's text is one line. */
static void put_line(const char *s)
{
    put_text(s);
    out_puts(OUT_STDOUT, "\n");
}

/* One tagged paragraph: the thing in bold, its value in italics. */
static void put_item(const char *left, const char *arg, const char *help)
{
    out_puts(OUT_STDOUT, ".TP\n\\fB");
    put_text(left);
    out_puts(OUT_STDOUT, "\\fR");
    if (arg) {
        out_puts(OUT_STDOUT, " \\fI");
        put_text(arg);
        out_puts(OUT_STDOUT, "\\fR");
    }
    out_puts(OUT_STDOUT, "\n");
    put_line(help);
}

/* Each command with its synopsis, then its own options indented. */
static void put_commands(void)
{
    out_puts(OUT_STDOUT, ".SH COMMANDS\n");
    for (const struct usage_command *c = usage_commands; c->name; c++) {
        out_puts(OUT_STDOUT, ".TP\n\\fBclawhost ");
        put_text(c->name);
        out_puts(OUT_STDOUT, "\\fR ");
        put_line(c->synopsis);
        put_line(c->help);
        if (!c->options)
            continue;
        out_puts(OUT_STDOUT, ".RS\n");
        for (const struct usage_item *o = c->options; o->left; o++)
            put_item(o->left, o->arg, o->help);
        out_puts(OUT_STDOUT, ".RE\n");
    }
}

static const char description[] =
"clawhost runs automation recipes: Lua files that return a table with a "
"description, the params they take and a run function. The host around "
"them owns what must be safe: HTTP (only to public addresses unless "
"allowed), secrets a recipe can use but never read, time and memory "
"limits, and a spend cap that every paid call reserves against before "
"it is sent. It is meant to be run from a shell, from cron or by an "
"agent.\n"
".PP\n"
"The result of a run goes to stdout, as text or as JSON with "
"--json; progress and diagnostics go to stderr. On a terminal each task "
"that waits has one live line with its elapsed time (and its limit), "
"redrawn in place; in a pipe or a file each change of state is one "
"plain line, with no escape sequences. No colour is used, so NO_COLOR "
"changes nothing. A failure is one error line followed by a hint line "
"that says what to do; --verbose adds the detail (each HTTP attempt, "
"the error's fields).\n";

static const char params_text[] =
"Each param of a recipe is an option named after it, with '_' written "
"'-': chat_id is --chat-id. A value follows the option (--name value) "
"or an equals sign (--name=value). A boolean is --name, --no-name or "
"--name=false; a list is given once per element; a time is RFC 3339 "
"with an offset. clawhost help RECIPE lists a recipe's params.\n"
".PP\n"
"A text (string) param takes @PATH for the bytes of a file and - for "
"stdin, which a run reads once; a text that starts with @ is written "
"@@. The text is capped at 1 MiB unless the recipe says otherwise "
"and must be UTF-8. Only text params read files this way.\n";

static const char examples[] =
".nf\n"
"clawhost list\n"
"clawhost help publish\n"
"clawhost run hello \\-\\-name Ann \\-\\-json\n"
"clawhost run publish \\-\\-message @post.txt \\-\\-dry\\-run\n"
"generate | clawhost run publish \\-\\-message \\-\n"
"clawhost run smoke \\-\\-budget 0.50\n"
"clawhost ledger \\-\\-since 2026\\-12\\-01\n"
"source <(clawhost completion bash)\n"
".fi\n";

/* The host's variables, then the settings under a line saying where
** they are read from. */
static void put_environment(void)
{
    const struct usage_item *e;
    int setting, said = 0;
    out_puts(OUT_STDOUT, ".SH ENVIRONMENT\n");
    for (size_t i = 0; (e = usage_environment(i, &setting)) != NULL;
         i++) {
        if (setting && !said++)
            out_puts(OUT_STDOUT, ".PP\nSettings, read from the "
                     "environment or .env.local (clawhost check shows "
                     "which are set and from where):\n");
        put_item(e->left, NULL, e->help);
    }
}

int cmd_man(int argc, char **argv)
{
    (void)argv;
    if (argc > 0) {
        out_puts(OUT_STDERR, "usage: clawhost man (prints the manual "
                 "page as roff; man -l <(clawhost man) shows it)\n");
        return EXIT_USAGE;
    }
    out_puts(OUT_STDOUT, ".\\\" clawhost(1), made by `clawhost man` from "
             "the tables of --help\n.TH CLAWHOST 1 \"\" \"clawhost "
             CLAWHOST_VERSION "\" \"User Commands\"\n.nh\n.ad l\n"
             ".SH NAME\nclawhost \\- run automation recipes written in "
             "Lua, with sandboxed HTTP, opaque secrets and a hard spend "
             "cap\n.SH SYNOPSIS\n");
    for (const struct usage_command *c = usage_commands; c->name; c++) {
        out_puts(OUT_STDOUT, "\\fBclawhost ");
        put_text(c->name);
        out_puts(OUT_STDOUT, "\\fR ");
        put_line(c->synopsis);
        out_puts(OUT_STDOUT, ".br\n");
    }
    out_puts(OUT_STDOUT, ".SH DESCRIPTION\n");
    put_text(description);
    put_commands();
    out_puts(OUT_STDOUT, ".SH GLOBAL OPTIONS\nThey go before or after "
             "the recipe's own options (clawhost run, sweep).\n");
    for (const struct usage_item *o = usage_global_options; o->left; o++)
        put_item(o->left, o->arg, o->help);
    out_puts(OUT_STDOUT, ".SH RECIPE PARAMS\n");
    put_text(params_text);
    put_environment();
    out_puts(OUT_STDOUT, ".SH FILES\n");
    for (const struct usage_item *f = usage_files; f->left; f++)
        put_item(f->left, NULL, f->help);
    out_puts(OUT_STDOUT, ".SH EXIT STATUS\n");
    for (const struct usage_item *x = usage_exit_statuses; x->left; x++)
        put_item(x->left, NULL, x->help);
    out_puts(OUT_STDOUT, ".SH EXAMPLES\n");
    out_puts(OUT_STDOUT, examples);
    out_puts(OUT_STDOUT, ".SH SEE ALSO\nThe guides next to the sources: "
             "docs/recipes.md (writing recipes), docs/secrets.md, "
             "docs/egress.md, docs/budget.md, docs/store.md, "
             "docs/errors.md.\n");
    return EXIT_OK;
}
