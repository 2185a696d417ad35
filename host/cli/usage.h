/*
** usage.h -- what `clawhost --help` says, as tables: the commands, the
** global options, the environment, the files, the exit statuses.
**
** One set of tables feeds the --help text (usage_print), the manual
** page (cmd_man.c) and the shell completions (cmd_completion.c), so a
** command or option added here shows up in all three.
*/
#ifndef CLAWHOST_USAGE_H
#define CLAWHOST_USAGE_H

#include <stddef.h>

/* One line of a table: the thing ("--json", "CLAWHOST_HOME", "3") and
** what it does (one or more sentences; printers wrap it). */
struct usage_item {
    const char *left;
    const char *arg;            /* an option's value ("S", "USD"), or NULL */
    const char *help;
};

/* A command: its name, the rest of its synopsis, what it does, and its
** own options (ending with a {NULL} item) or NULL. */
struct usage_command {
    const char *name;
    const char *synopsis;
    const char *help;
    const struct usage_item *options;
};

/* The tables, each ending with an entry whose first field is NULL. */
extern const struct usage_command usage_commands[];
extern const struct usage_item usage_global_options[];
extern const struct usage_item usage_exit_statuses[];
extern const struct usage_item usage_files[];

/*
** The i-th environment variable clawhost reads: its own first (the
** table in usage.c), then the settings of pure/settings.c (those
** `clawhost check` lists, then those config hands to recipes), each
** name once. NULL past the last. *setting says which kind it is.
*/
const struct usage_item *usage_environment(size_t i, int *setting);

/* The whole --help text on stream (out.h's OUT_STDOUT or OUT_STDERR). */
void usage_print(int stream);

/* Write text wrapped to `width` columns on stream: the first line
** starts at column `at` (the caller has written that much), the others
** are indented by `indent`. Breaks only at spaces. */
void usage_wrap(int stream, const char *text, int at, int indent,
                int width);

#endif
