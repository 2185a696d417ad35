/*
** cmd_completion.c -- `clawhost completion bash|zsh`: a shell completion
** script made from the commands of usage.c and the params of the
** recipes in the clawhost home.
**
** The script holds the recipes' names, flags and enum values as they
** are now (it asks clawhost nothing at completion time, so a TAB costs
** no Lua start); loading it from the shell's startup file with
** `source <(clawhost completion bash)` makes it again in every new
** shell. Words that are not safe in a shell word list (an enum value
** with a blank or a quote) are left out rather than quoted.
*/
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "cli/cmd_completion.h"
#include "cli/params.h"
#include "cli/recipe.h"
#include "cli/usage.h"
#include "runtime/err.h"
#include "runtime/init.h"
#include "runtime/out.h"
#include "runtime/rt.h"

/* The script goes to stdout, through the redactor like all output. */
static void put(const char *s)
{
    out_puts(OUT_STDOUT, s);
}

/* Safe to write into a shell word list unquoted, in bash and zsh. */
static int safe_word(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("._/+=@%,-", *s)))
            return 0;
    return 1;
}

/* ---- the recipes, as data ---- */

/* One recipe as data, in its own pcall: a recipe that does not load
** is left out, not the end of the script. */
static int one_recipe(lua_State *L)
{
    const struct recipe_ref *ref = lua_touserdata(L, 1);
    lua_settop(L, 0);
    recipe_load(L, ref, 1);
    params_push_data(L, 1, ref->name);
    return 1;
}

/* Push a list of every recipe that loads, as params_push_data gives
** it; one that does not load is left out (`clawhost list` says why). */
static int collect(lua_State *L)
{
    const char *root = lua_touserdata(L, 1);
    char **names, err[512];
    struct recipe_ref ref;
    int n = recipe_names(root, &names), k = 0;
    lua_settop(L, 0);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        if (recipe_resolve(root, names[i], &ref, err, sizeof err) != 0)
            continue;
        snprintf(rt_get()->recipe_dir, sizeof rt_get()->recipe_dir, "%s",
                 ref.dir);
        lua_pushcfunction(L, one_recipe);
        lua_pushlightuserdata(L, &ref);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK)
            lua_rawseti(L, 1, ++k);
        else
            lua_pop(L, 1);
        rt_clear_fatal();
    }
    recipe_free_names(names, n);
    return 1;
}

/* t[field] as a string, or NULL; it lives as long as t. */
static const char *str_field(lua_State *L, int t, const char *field)
{
    const char *s = NULL;
    if (lua_getfield(L, t, field) == LUA_TSTRING)
        s = lua_tostring(L, -1);
    lua_pop(L, 1);
    return s;
}

/* The value kind of a param at idx: what completes after its flag. */
static const char *kind_of(lua_State *L, int p)
{
    const char *type = str_field(L, p, "type");
    const char *of = str_field(L, p, "of");
    if (!type || strcmp(type, "boolean") == 0)
        return NULL;
    if (strcmp(type, "enum") == 0 || (of && strcmp(of, "enum") == 0))
        return "enum";
    if (strcmp(type, "file") == 0 || strcmp(type, "output") == 0)
        return "file";
    if (strcmp(type, "string") == 0)
        return "text";
    return "value";
}

/* A boolean whose default is true is turned off with --no-NAME. */
static int negatable(lua_State *L, int p)
{
    const char *type = str_field(L, p, "type");
    lua_getfield(L, p, "default");
    int on = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return type && strcmp(type, "boolean") == 0 && on;
}

/* The enum values of the param at p, blank-separated, after `lead`. */
static void put_values(lua_State *L, int p, const char *lead)
{
    lua_getfield(L, p, "values");
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
        lua_rawgeti(L, -1, i);
        if (safe_word(lua_tostring(L, -1)))
            out_printf(OUT_STDOUT, "%s%s", lead, lua_tostring(L, -1));
        lua_pop(L, 1);
        lead = " ";
    }
    lua_pop(L, 1);
}

/* Each param of each recipe: calls fn(L, recipe name, param index). */
static void each_param(lua_State *L, int recipes,
                       void (*fn)(lua_State *, const char *, int))
{
    for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, recipes);
         r++) {
        lua_rawgeti(L, recipes, r);
        const char *name = str_field(L, -1, "name");
        lua_getfield(L, -1, "params");
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            fn(L, name, lua_gettop(L));
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
}

/* The global options' words ("-q, --quiet" is two); with `valued`,
** only those that take a value. */
static void put_globals(const char *lead, int valued)
{
    for (const struct usage_item *o = usage_global_options; o->left; o++) {
        if (valued && !o->arg)
            continue;
        const char *s = o->left, *comma;
        while ((comma = strstr(s, ", ")) != NULL) {
            out_printf(OUT_STDOUT, "%s%.*s", lead, (int)(comma - s), s);
            lead = " ";
            s = comma + 2;
        }
        out_printf(OUT_STDOUT, "%s%s", lead, s);
        lead = " ";
    }
}

/* ---- bash ---- */

/* One word (two for a boolean that is on) of a recipe's flag list. */
static void bash_flag(lua_State *L, const char *recipe, int p)
{
    (void)recipe;
    out_printf(OUT_STDOUT, " %s", str_field(L, p, "flag"));
    if (negatable(L, p))
        out_printf(OUT_STDOUT, " --no-%s", str_field(L, p, "flag") + 2);
}

/* One case of _clawhost_value: what follows this flag. */
static void bash_value(lua_State *L, const char *recipe, int p)
{
    const char *kind = kind_of(L, p);
    if (!kind)
        return;
    out_printf(OUT_STDOUT, "    '%s %s') echo '%s", recipe,
               str_field(L, p, "flag"), kind);
    if (strcmp(kind, "enum") == 0)
        put_values(L, p, " ");
    put("' ;;\n");
}

/* A case per recipe, so the script needs no associative array (bash
** 3 on macOS has none). */
static void bash_flags(lua_State *L, int recipes)
{
    put("# The options of recipe $1.\n_clawhost_flags() {\n"
        "    case $1 in\n");
    for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, recipes);
         r++) {
        lua_rawgeti(L, recipes, r);
        int t = lua_gettop(L);
        out_printf(OUT_STDOUT, "    %s) echo '", str_field(L, t, "name"));
        lua_getfield(L, t, "params");
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            bash_flag(L, NULL, lua_gettop(L));
            lua_pop(L, 1);
        }
        put("' ;;\n");
        lua_settop(L, t - 1);
    }
    put("    esac\n}\n\n");
}

/* The commands' own words, from usage.c's table. */
static void bash_commands(void)
{
    put("# The words after command $1 (not run, help or sweep).\n"
        "_clawhost_command_words() {\n    case $1 in\n");
    for (const struct usage_command *c = usage_commands; c->name; c++) {
        out_printf(OUT_STDOUT, "    %s) echo '", c->name);
        const char *lead = "";
        for (const struct usage_item *o = c->options; o && o->left; o++) {
            out_printf(OUT_STDOUT, "%s%s", lead, o->left);
            lead = " ";
        }
        out_printf(OUT_STDOUT, "%s--help' ;;\n", lead);
    }
    put("    esac\n}\n\n");
}

static const char bash_main[] =
"_clawhost() {\n"
"    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
"    local cmd=${COMP_WORDS[1]} recipe= kind w i\n"
"    COMPREPLY=()\n"
"    if (( COMP_CWORD == 1 )); then\n"
"        COMPREPLY=($(compgen -W \"$_clawhost_commands --help --version\" "
"-- \"$cur\"))\n"
"        return 0\n"
"    fi\n"
"    case $cmd in\n"
"    run|help) ;;\n"
"    sweep) recipe=sweep ;;\n"
"    *) COMPREPLY=($(compgen -W \"$(_clawhost_command_words \"$cmd\")\" "
"-- \"$cur\"))\n"
"       return 0 ;;\n"
"    esac\n"
"    # the recipe: the first word that is not an option or a value\n"
"    for (( i = 2; i < COMP_CWORD && ${#recipe} == 0; i++ )); do\n"
"        w=${COMP_WORDS[i]}\n"
"        if [[ $w == -* ]]; then\n"
"            [[ \" $_clawhost_valued \" == *\" $w \"* ]] && (( i++ ))\n"
"        else\n"
"            recipe=$w\n"
"        fi\n"
"    done\n"
"    [[ \" $_clawhost_valued \" == *\" $prev \"* ]] && return 0\n"
"    if [[ -z $recipe ]]; then\n"
"        if [[ $cur == -* ]]; then\n"
"            COMPREPLY=($(compgen -W \"$_clawhost_globals\" -- \"$cur\"))\n"
"        elif [[ $cur == */* || $cur == .* ]]; then\n"
"            compopt -o filenames 2>/dev/null\n"
"            COMPREPLY=($(compgen -f -- \"$cur\"))\n"
"        else\n"
"            COMPREPLY=($(compgen -W \"$_clawhost_recipes\" -- \"$cur\"))\n"
"        fi\n"
"        return 0\n"
"    fi\n"
"    if [[ $cmd == help ]]; then\n"
"        COMPREPLY=($(compgen -W '--json' -- \"$cur\"))\n"
"        return 0\n"
"    fi\n"
"    if [[ $prev == --* ]] && kind=$(_clawhost_value \"$recipe\" \"$prev\")"
"; then\n"
"        case $kind in\n"
"        enum*) COMPREPLY=($(compgen -W \"${kind#enum}\" -- \"$cur\")) ;;\n"
"        file) compopt -o filenames 2>/dev/null\n"
"              COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
"        text) [[ $cur == @* ]] &&\n"
"              COMPREPLY=($(compgen -P @ -f -- \"${cur#@}\")) ;;\n"
"        esac\n"
"        return 0\n"
"    fi\n"
"    COMPREPLY=($(compgen -W \"$(_clawhost_flags \"$recipe\") "
"$_clawhost_globals\" -- \"$cur\"))\n"
"}\n"
"\n"
"complete -F _clawhost clawhost\n";

/* The data as shell variables and case statements, then the function
** that reads COMP_WORDS (bash_main). */
static void bash_script(lua_State *L, int recipes, const char *root)
{
    out_printf(OUT_STDOUT, "# bash completion for clawhost, made by "
               "`clawhost completion bash`\n# from its commands and the "
               "params of the recipes in\n# %s/recipes.\n# Load it from "
               "~/.bashrc with: source <(clawhost completion bash)\n# "
               "(made again in each new shell, so new recipes show up).\n"
               "\n_clawhost_commands='", root);
    for (const struct usage_command *c = usage_commands; c->name; c++)
        out_printf(OUT_STDOUT, "%s%s", c == usage_commands ? "" : " ",
                   c->name);
    put("'\n_clawhost_recipes='");
    for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, recipes);
         r++) {
        lua_rawgeti(L, recipes, r);
        out_printf(OUT_STDOUT, "%s%s", r > 1 ? " " : "",
                   str_field(L, -1, "name"));
        lua_pop(L, 1);
    }
    put("'\n_clawhost_globals='");
    put_globals("", 0);
    put("'\n_clawhost_valued='");
    put_globals("", 1);
    put("'\n\n");
    bash_commands();
    bash_flags(L, recipes);
    put("# What follows option $2 of recipe $1: enum VALUES..., file, "
        "text\n# (@FILE completes), value; a switch is not listed.\n"
        "_clawhost_value() {\n    case \"$1 $2\" in\n");
    each_param(L, recipes, bash_value);
    put("    *) return 1 ;;\n    esac\n}\n\n");
    put(bash_main);
}

/* ---- zsh ---- */

/* Text inside '...' and inside an _arguments [description]: a quote
** closes and reopens the shell word, brackets and colons are escaped
** for _arguments. */
static void zsh_text(const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\'')
            put("'\\''");
        else if (*s == '[' || *s == ']' || *s == ':' || *s == '\\')
            out_printf(OUT_STDOUT, "\\%c", *s);
        else
            out_write(OUT_STDOUT, s, 1);
    }
}

/* One _arguments spec: '--flag[help]:ARG:action', '*' first for a
** list (it may be given again). */
static void zsh_spec(lua_State *L, const char *recipe, int p)
{
    const char *kind = kind_of(L, p), *type = str_field(L, p, "type");
    (void)recipe;
    put("    '");
    if (type && strcmp(type, "list") == 0)
        put("*");
    out_printf(OUT_STDOUT, "%s[", str_field(L, p, "flag"));
    zsh_text(str_field(L, p, "help"));
    put("]");
    if (kind) {
        put(":");
        zsh_text(str_field(L, p, "arg"));
        put(":");
        if (strcmp(kind, "enum") == 0) {
            put("(");
            put_values(L, p, "");
            put(")");
        } else if (strcmp(kind, "file") == 0) {
            put("_files");
        } else if (strcmp(kind, "text") == 0) {
            put("_clawhost_text");
        }
    }
    put("'\n");
    if (negatable(L, p))
        out_printf(OUT_STDOUT, "    '--no-%s[turn it off]'\n",
                   str_field(L, p, "flag") + 2);
}

/* A case per recipe that sets $reply to its specs. */
static void zsh_recipes(lua_State *L, int recipes)
{
    put("# The options of recipe $1, for _arguments.\n"
        "_clawhost_recipe_specs() {\n    case $1 in\n");
    for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, recipes);
         r++) {
        lua_rawgeti(L, recipes, r);
        int t = lua_gettop(L);
        out_printf(OUT_STDOUT, "    %s) reply=(\n", str_field(L, t, "name"));
        lua_getfield(L, t, "params");
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            zsh_spec(L, NULL, lua_gettop(L));
            lua_pop(L, 1);
        }
        put("    ) ;;\n");
        lua_settop(L, t - 1);
    }
    put("    *) reply=() ;;\n    esac\n}\n\n");
}

/* A spec of a table row; "-q, --quiet" becomes one spec for both
** spellings, each excluding the other. */
static void zsh_item(const char *left, const char *arg, const char *help,
                     const char *action)
{
    const char *s = left, *comma = strstr(left, ", ");
    if (comma) {                        /* "-q, --quiet": one of them */
        put("    '(");
        out_printf(OUT_STDOUT, "%.*s %s)'{", (int)(comma - s), s,
                   comma + 2);
        out_printf(OUT_STDOUT, "%.*s,%s}'[", (int)(comma - s), s,
                   comma + 2);
    } else {
        out_printf(OUT_STDOUT, "    '%s[", left);
    }
    zsh_text(help);
    put("]");
    if (arg) {
        put(":");
        zsh_text(arg);
        out_printf(OUT_STDOUT, ":%s", action);
    }
    put("'\n");
}

/* The commands, the global options and each command's own options,
** from usage.c's tables. */
static void zsh_commands(void)
{
    put("_clawhost_commands=(\n");
    for (const struct usage_command *c = usage_commands; c->name; c++) {
        out_printf(OUT_STDOUT, "    '%s:", c->name);
        zsh_text(c->help);
        put("'\n");
    }
    put(")\n_clawhost_globals=(\n");
    for (const struct usage_item *o = usage_global_options; o->left; o++)
        if (strcmp(o->left, "-h, --help") != 0)
            zsh_item(o->left, o->arg, o->help, " ");
    put(")\n\n# The options of command $1 (not run, help or sweep).\n"
        "_clawhost_command_specs() {\n    case $1 in\n");
    for (const struct usage_command *c = usage_commands; c->name; c++) {
        if (!c->options)
            continue;
        out_printf(OUT_STDOUT, "    %s) reply=(\n", c->name);
        for (const struct usage_item *o = c->options; o->left; o++) {
            if (o->left[0] == '-')
                zsh_item(o->left, o->arg && o->arg[0] != '[' ? o->arg :
                         NULL, o->help, " ");
        }
        put("    ) ;;\n");
    }
    put("    *) reply=() ;;\n    esac\n}\n\n");
}

static const char zsh_main[] =
"# A text option: @FILE completes file names after the @.\n"
"_clawhost_text() {\n"
"    if compset -P '@'; then\n"
"        _files\n"
"    else\n"
"        _message 'text, @FILE or - (stdin)'\n"
"    fi\n"
"}\n"
"\n"
"_clawhost_words() {\n"
"    case $1 in\n"
"    store) _values 'store command' status migrate ;;\n"
"    completion) _values shell bash zsh ;;\n"
"    esac\n"
"}\n"
"\n"
"_clawhost() {\n"
"    local curcontext=$curcontext state line\n"
"    local -a reply\n"
"    _arguments -C '1:command:->command' '*::argument:->argument' "
"&& return 0\n"
"    case $state in\n"
"    command)\n"
"        _describe -t commands 'clawhost command' _clawhost_commands ;;\n"
"    argument)\n"
"        case $words[1] in\n"
"        run|help)\n"
"            local cmd=$words[1]\n"
"            _arguments -C $_clawhost_globals '1:recipe:->recipe' "
"'*::option:->option' && return 0\n"
"            if [[ $state == recipe ]]; then\n"
"                _alternative \"recipes:recipe:($_clawhost_recipes)\" "
"'files:recipe file:_files -g \"*.lua\"'\n"
"            elif [[ $cmd == help ]]; then\n"
"                compadd -- --json\n"
"            else\n"
"                _clawhost_recipe_specs $words[1]\n"
"                _arguments -s $reply $_clawhost_globals\n"
"            fi ;;\n"
"        sweep)\n"
"            _clawhost_recipe_specs sweep\n"
"            _arguments -s $reply $_clawhost_globals ;;\n"
"        store|completion)\n"
"            _clawhost_words $words[1] ;;\n"
"        *)\n"
"            _clawhost_command_specs $words[1]\n"
"            (( $#reply )) && _arguments -s $reply ;;\n"
"        esac ;;\n"
"    esac\n"
"}\n"
"\n"
"if [[ $funcstack[1] == _clawhost ]]; then\n"
"    _clawhost \"$@\"\n"
"else\n"
"    compdef _clawhost clawhost\n"
"fi\n";

/* Usable both sourced and from $fpath as the file _clawhost (the
** #compdef line and the test at the end of zsh_main). */
static void zsh_script(lua_State *L, int recipes, const char *root)
{
    out_printf(OUT_STDOUT, "#compdef clawhost\n# zsh completion for "
               "clawhost, made by `clawhost completion zsh`\n# from its "
               "commands and the params of the recipes in\n# %s/recipes.\n"
               "# Load it from ~/.zshrc, after compinit, with:\n#   source "
               "<(clawhost completion zsh)\n# or save it as _clawhost in a "
               "folder of $fpath.\n\n", root);
    zsh_commands();
    put("_clawhost_recipes='");
    for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, recipes);
         r++) {
        lua_rawgeti(L, recipes, r);
        out_printf(OUT_STDOUT, "%s%s", r > 1 ? " " : "",
                   str_field(L, -1, "name"));
        lua_pop(L, 1);
    }
    put("'\n\n");
    zsh_recipes(L, recipes);
    put(zsh_main);
}

/* ---- the command ---- */

static const char completion_help[] =
"usage: clawhost completion bash|zsh\n"
"\n"
"Prints a completion script for the shell: commands, recipe names, each\n"
"recipe's options, enum values, file names for file and output params\n"
"and after the @ of a text. Load it from the shell's startup file:\n"
"\n"
"  bash (~/.bashrc):  source <(clawhost completion bash)\n"
"  zsh (~/.zshrc, after compinit):  source <(clawhost completion zsh)\n"
"\n"
"The script knows the recipes of when it was made; sourcing it at each\n"
"start keeps it current.\n";

int cmd_completion(const char *root, int argc, char **argv)
{
    struct rt_options opt;
    char err[512];
    int zsh;
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 ||
                      strcmp(argv[0], "-h") == 0)) {
        put(completion_help);
        return EXIT_OK;
    }
    if (argc != 1 || (strcmp(argv[0], "bash") != 0 &&
                      strcmp(argv[0], "zsh") != 0)) {
        out_puts(OUT_STDERR, "clawhost: completion takes bash or zsh\n"
                 "usage: clawhost completion bash|zsh\n");
        return EXIT_USAGE;
    }
    zsh = strcmp(argv[0], "zsh") == 0;
    memset(&opt, 0, sizeof opt);
    opt.timeout_s = 30;
    opt.cleanup_timeout_s = 5;
    opt.memory_bytes = (size_t)256 << 20;
    if (init_start(&opt, root, err, sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: %s\n", err);
        init_stop();
        return EXIT_FAILED;
    }
    lua_State *L = rt_get()->L;
    lua_pushcfunction(L, collect);
    lua_pushlightuserdata(L, (void *)root);
    int status = EXIT_OK;
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        out_printf(OUT_STDERR, "clawhost: completion: %s\n",
                   err_describe(L, -1));
        status = EXIT_FAILED;
    } else if (zsh) {
        zsh_script(L, lua_gettop(L), root);
    } else {
        bash_script(L, lua_gettop(L), root);
    }
    out_flush_all();
    init_stop();
    return status;
}
