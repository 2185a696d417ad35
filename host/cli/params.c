/*
** params.c -- a recipe's declared params: validation, command-line
** parsing into the args table, and the help text.
**
** A param is `name = {type = ..., required = ..., default = ...,
** help = ..., values = {...} (enum), min/max (numbers), max_bytes
** (file), arg = "URL" (the placeholder in help)}`. The flag is the name
** with '_' turned into '-': chat_id is --chat-id. Every error says which
** flag, what was expected, and points at `clawhost help RECIPE`.
*/
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "cli/declared.h"
#include "cli/params.h"
#include "pure/suggest.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/err.h"

#define MAX_PARAMS 64
#define FILE_MAX_DEFAULT (16u << 20)
#define FILE_MAX_LIMIT (256u << 20)

enum ptype { P_STRING, P_NUMBER, P_INTEGER, P_BOOLEAN, P_ENUM, P_LIST,
             P_TIME, P_FILE, P_OUTPUT };

static const char *const type_names[] = {"string", "number", "integer",
                                         "boolean", "enum", "list", "time",
                                         "file", "output", NULL};
static const char *const type_args[] = {"TEXT", "NUMBER", "N", "", "",
                                        "TEXT", "TIME", "FILE", "FILE"};

const char *const params_global_options[] = {
    "json", "dry_run", "budget", "timeout", "memory_mb", "log_json",
    "quiet", "verbose", "allow_host", "help", "cleanup_timeout", NULL
};

struct spec {
    const char *name;
    char flag[64];
    int type;
    int required;
    int has_default;
    int seen;
    const char *help;
    const char *arg;
    size_t max_bytes;
};

struct specs {
    struct spec p[MAX_PARAMS];
    int n;
    int idx;                /* the params table on the stack */
    const char *recipe;
};

static int bad_decl(lua_State *L, const struct specs *s, const char *name,
                    const char *what)
{
    return err_raise(L, "config", "recipe %s: param '%s' %s", s->recipe,
                     name, what);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const struct spec *)a)->name,
                  ((const struct spec *)b)->name);
}

static int valid_param_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 48 || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '_'))
            return 0;
    return 1;
}

static const char *opt_string(lua_State *L, int t, const char *field)
{
    const char *v = NULL;
    if (lua_getfield(L, t, field) == LUA_TSTRING)
        v = lua_tostring(L, -1);    /* lives in the params table */
    lua_pop(L, 1);
    return v;
}

static int is_reserved(const char *name)
{
    for (int i = 0; params_global_options[i]; i++)
        if (strcmp(name, params_global_options[i]) == 0)
            return 1;
    return 0;
}

/* A default must be what the flag would give (a wrong one would reach
** run() unchecked). */
static void check_default(lua_State *L, struct specs *s,
                          const struct spec *p, int t)
{
    static const int want[] = {LUA_TSTRING, LUA_TNUMBER, LUA_TNUMBER,
                               LUA_TBOOLEAN, LUA_TSTRING, LUA_TTABLE,
                               LUA_TSTRING, LUA_TNIL, LUA_TNIL};
    int type = lua_getfield(L, t, "default");
    if (p->type == P_FILE || p->type == P_OUTPUT)
        bad_decl(L, s, p->name, p->type == P_FILE ? "is a file param; it "
                 "cannot have a default" : "is an output param; it cannot "
                 "have a default (the user names the file)");
    if (type != want[p->type] && !(p->type == P_LIST && type == LUA_TSTRING))
        bad_decl(L, s, p->name, lua_pushfstring(L, "has a default that is "
                 "a %s; a %s param needs a %s", lua_typename(L, type),
                 type_names[p->type], lua_typename(L, want[p->type])));
    if (p->type == P_INTEGER && !lua_isinteger(L, -1))
        bad_decl(L, s, p->name, "has a default that is not a whole number");
    if (p->type == P_ENUM) {
        int found = 0;
        lua_getfield(L, t, "values");
        for (lua_Integer i = 1; !found && i <= luaL_len(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            found = lua_rawequal(L, -1, -3);
            lua_pop(L, 1);
        }
        if (!found)
            bad_decl(L, s, p->name, "has a default that is not one of its "
                     "values");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void parse_type(lua_State *L, struct specs *s, struct spec *p,
                       int t)
{
    const char *type = opt_string(L, t, "type");
    p->type = P_STRING;
    if (!type)
        return;
    for (p->type = 0; type_names[p->type]; p->type++)
        if (strcmp(type_names[p->type], type) == 0)
            return;
    bad_decl(L, s, p->name, "has an unknown type (expected string, "
             "number, integer, boolean, enum, list, time or file)");
}

static void check_enum(lua_State *L, struct specs *s, struct spec *p,
                       int t)
{
    if (lua_getfield(L, t, "values") != LUA_TTABLE || luaL_len(L, -1) < 1)
        bad_decl(L, s, p->name, "is an enum without a values list");
    for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
        if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
            bad_decl(L, s, p->name, "has enum values that are not all "
                     "strings");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* One declaration, at the top of the stack. */
static void load_spec(lua_State *L, struct specs *s, struct spec *p)
{
    int t = lua_gettop(L);
    if (!valid_param_name(p->name))
        bad_decl(L, s, p->name, "is not a valid name (lower-case "
                 "letters, digits and _)");
    if (is_reserved(p->name))
        bad_decl(L, s, p->name, "uses the name of a global option");
    if (!lua_istable(L, t))
        bad_decl(L, s, p->name, "must be a table like {type = "
                 "\"string\", help = \"...\"}");
    parse_type(L, s, p, t);
    lua_getfield(L, t, "required");
    p->required = lua_toboolean(L, -1);
    lua_getfield(L, t, "default");
    p->has_default = !lua_isnil(L, -1);
    lua_pop(L, 2);
    p->help = opt_string(L, t, "help");
    p->arg = opt_string(L, t, "arg");
    lua_getfield(L, t, "max_bytes");
    p->max_bytes = lua_isinteger(L, -1) ? (size_t)lua_tointeger(L, -1) :
                   FILE_MAX_DEFAULT;
    lua_pop(L, 1);
    if (p->max_bytes == 0 || p->max_bytes > FILE_MAX_LIMIT)
        bad_decl(L, s, p->name, "has max_bytes outside 1..256 MiB");
    if (p->type == P_ENUM)
        check_enum(L, s, p, t);
    if (p->has_default)
        check_default(L, s, p, t);
    if (p->required && p->has_default)
        bad_decl(L, s, p->name, "is required and has a default; pick one");
    snprintf(p->flag, sizeof p->flag, "%s", p->name);
    for (char *c = p->flag; *c; c++)
        if (*c == '_')
            *c = '-';
}

static void load_specs(lua_State *L, int idx, struct specs *s,
                       const char *recipe)
{
    s->n = 0;
    s->idx = lua_absindex(L, idx);
    s->recipe = recipe;
    if (lua_isnoneornil(L, s->idx))
        return;
    if (!lua_istable(L, s->idx))
        err_raise(L, "config", "recipe %s: params must be a table", recipe);
    lua_pushnil(L);
    while (lua_next(L, s->idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            err_raise(L, "config", "recipe %s: params keys must be names",
                      recipe);
        if (s->n == MAX_PARAMS)
            err_raise(L, "config", "recipe %s: more than %d params",
                      recipe, MAX_PARAMS);
        struct spec *p = &s->p[s->n++];
        memset(p, 0, sizeof *p);
        p->name = lua_tostring(L, -2);
        load_spec(L, s, p);
        lua_pop(L, 1);
    }
    qsort(s->p, (size_t)s->n, sizeof s->p[0], cmp_names);
}

/* Push the declaration table of p. */
static int push_decl(lua_State *L, const struct specs *s,
                     const struct spec *p)
{
    lua_getfield(L, s->idx, p->name);
    return lua_gettop(L);
}

/* ---- usage ---- */

static const char *arg_name(lua_State *L, const struct specs *s,
                            const struct spec *p, char *buf, size_t size)
{
    if (p->arg)
        return p->arg;
    if (p->type != P_ENUM)
        return type_args[p->type];
    int t = push_decl(L, s, p);
    lua_getfield(L, t, "values");
    size_t used = 0;
    buf[0] = '\0';
    for (lua_Integer i = 1; i <= luaL_len(L, -1) && used < size; i++) {
        lua_rawgeti(L, -1, i);
        used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                 i > 1 ? "|" : "", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_settop(L, t - 1);
    return buf;
}

/* Text is built as a list of pieces (a table at `list`), so helpers
** can use the stack freely; join() makes one string of it. */
static void add(lua_State *L, int list)
{
    lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

static void join(lua_State *L, int list)
{
    luaL_Buffer b;
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    luaL_buffinit(L, &b);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
}

static void add_synopsis(lua_State *L, int list, const struct specs *s)
{
    char tmp[128];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < s->n; i++) {
            const struct spec *p = &s->p[i];
            if (p->required != (pass == 0))
                continue;
            const char *a = arg_name(L, s, p, tmp, sizeof tmp);
            lua_pushfstring(L, " %s--%s%s%s%s%s", p->required ? "" : "[",
                            p->flag, *a ? " " : "", a,
                            p->required ? "" : "]",
                            p->type == P_LIST ? "..." : "");
            add(L, list);
        }
    }
}

static int usage_error(lua_State *L, const struct specs *s,
                       const char *fmt, ...)
{
    va_list ap;
    lua_newtable(L);
    int list = lua_gettop(L);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    add(L, list);
    lua_pushfstring(L, "\nusage: clawhost run %s", s->recipe);
    add(L, list);
    add_synopsis(L, list, s);
    lua_pushfstring(L, "\n'clawhost help %s' describes every option",
                    s->recipe);
    add(L, list);
    join(L, list);
    return err_raise(L, "usage", "%s", lua_tostring(L, -1));
}

/* ---- values ---- */

static void push_number(lua_State *L, const struct specs *s,
                        const struct spec *p, const char *v)
{
    int t;
    if (!lua_stringtonumber(L, v) || !isfinite(lua_tonumber(L, -1)))
        usage_error(L, s, "--%s expects a number, got '%s'", p->flag, v);
    if (p->type == P_INTEGER && !lua_isinteger(L, -1)) {
        lua_Number n = lua_tonumber(L, -1);
        if (n != floor(n) || fabs(n) > 9e15)
            usage_error(L, s, "--%s expects a whole number, got '%s'",
                        p->flag, v);
        lua_pop(L, 1);
        lua_pushinteger(L, (lua_Integer)n);
    }
    t = push_decl(L, s, p);
    if (lua_getfield(L, t, "min") == LUA_TNUMBER &&
        lua_compare(L, t - 1, -1, LUA_OPLT))
        usage_error(L, s, "--%s must be at least %s, got '%s'", p->flag,
                    lua_tostring(L, -1), v);
    if (lua_getfield(L, t, "max") == LUA_TNUMBER &&
        lua_compare(L, -1, t - 1, LUA_OPLT))
        usage_error(L, s, "--%s must be at most %s, got '%s'", p->flag,
                    lua_tostring(L, -1), v);
    lua_settop(L, t - 1);
}

static void push_enum(lua_State *L, const struct specs *s,
                      const struct spec *p, const char *v)
{
    char tmp[256];
    int t = push_decl(L, s, p);
    lua_getfield(L, t, "values");
    for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) == LUA_TSTRING &&
            strcmp(lua_tostring(L, -1), v) == 0) {
            lua_replace(L, t);
            lua_settop(L, t);
            return;
        }
        lua_pop(L, 1);
    }
    usage_error(L, s, "--%s must be one of %s, got '%s'", p->flag,
                arg_name(L, s, p, tmp, sizeof tmp), v);
}

/* The file's bytes go to inputs[name]; the recipe sees the path. The
** buffer comes first, so a memory error cannot leak an open file. */
static void read_input(lua_State *L, const struct specs *s,
                       const struct spec *p, const char *path, int inputs)
{
    struct stat st;
    luaL_Buffer b;
    if (stat(path, &st) != 0)
        usage_error(L, s, "--%s %s: %s", p->flag, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        usage_error(L, s, "--%s %s: not a regular file", p->flag, path);
    if ((size_t)st.st_size > p->max_bytes)
        usage_error(L, s, "--%s %s: %I bytes, more than the %I this "
                    "recipe accepts", p->flag, path,
                    (lua_Integer)st.st_size, (lua_Integer)p->max_bytes);
    char *dst = luaL_buffinitsize(L, &b, (size_t)st.st_size + 1);
    FILE *f = fopen(path, "rb");
    if (!f)
        usage_error(L, s, "--%s %s: %s", p->flag, path, strerror(errno));
    size_t n = fread(dst, 1, (size_t)st.st_size + 1, f);
    fclose(f);
    if (n > (size_t)st.st_size)
        usage_error(L, s, "--%s %s: the file changed while being read",
                    p->flag, path);
    luaL_pushresultsize(&b, n);
    lua_setfield(L, inputs, p->name);
}

/*
** A file the recipe may write (ctx.output): checked now, so a typo in a
** folder is a usage error before anything is spent. Its path goes to
** inputs["output:" .. name]; the host writes it, the recipe cannot.
*/
static void check_output(lua_State *L, const struct specs *s,
                         const struct spec *p, const char *path,
                         int inputs)
{
    struct stat st;
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!*path)
        usage_error(L, s, "--%s needs a file name", p->flag);
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        usage_error(L, s, "--%s %s: exists and is not a regular file",
                    p->flag, path);
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path + 1) : 1,
             slash ? path : ".");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        usage_error(L, s, "--%s %s: the folder %s does not exist", p->flag,
                    path, dir);
    lua_pushstring(L, path);
    lua_pushfstring(L, "output:%s", p->name);
    lua_insert(L, -2);
    lua_settable(L, inputs);
}

static void push_value(lua_State *L, const struct specs *s,
                       const struct spec *p, const char *v, int inputs)
{
    const char *why;
    double t;
    switch (p->type) {
    case P_NUMBER:
    case P_INTEGER:
        push_number(L, s, p, v);
        return;
    case P_ENUM:
        push_enum(L, s, p, v);
        return;
    case P_TIME:
        if (clock_parse_iso(v, &t, &why) != 0)
            usage_error(L, s, "--%s '%s' is not an RFC 3339 time: %s",
                        p->flag, v, why);
        break;
    case P_FILE:
        read_input(L, s, p, v, inputs);
        break;
    case P_OUTPUT:
        check_output(L, s, p, v, inputs);
        break;
    }
    lua_pushstring(L, v);
}

/* ---- parsing ---- */

static struct spec *find_flag(struct specs *s, const char *name,
                              size_t len, int *negated)
{
    *negated = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < s->n; i++) {
            struct spec *p = &s->p[i];
            int match = strlen(p->flag) == len &&
                        (strncmp(p->flag, name, len) == 0 ||
                         strncmp(p->name, name, len) == 0);
            if (match && (pass == 0 || p->type == P_BOOLEAN)) {
                *negated = pass;
                return p;
            }
        }
        if (len < 4 || strncmp(name, "no-", 3) != 0)
            break;
        name += 3;          /* --no-flag for booleans */
        len -= 3;
    }
    return NULL;
}

static int unknown_flag(lua_State *L, struct specs *s, const char *tok,
                        size_t len)
{
    char typed[64];
    const char *best = NULL;
    size_t dist = 0;
    snprintf(typed, sizeof typed, "%.*s", (int)(len < 63 ? len : 63), tok);
    for (int i = 0; i < s->n; i++)
        suggest_consider(typed, s->p[i].flag, &best, &dist);
    if (best)
        return usage_error(L, s, "unknown option --%s for recipe %s (did "
                           "you mean --%s?)", typed, s->recipe, best);
    return usage_error(L, s, "unknown option --%s for recipe %s", typed,
                       s->recipe);
}

/* Store a value for p; lists collect, everything else is set once. */
static void store(lua_State *L, struct specs *s, struct spec *p, int args)
{
    if (p->type == P_LIST) {
        if (lua_getfield(L, args, p->name) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, args, p->name);
        }
        lua_insert(L, -2);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        lua_pop(L, 1);
    } else {
        if (p->seen)
            usage_error(L, s, "--%s was given more than once", p->flag);
        lua_setfield(L, args, p->name);
    }
    p->seen = 1;
}

/* One token (and maybe the next, its value); returns tokens used. */
static int parse_one(lua_State *L, struct specs *s, int args, int inputs,
                     int argc, char **argv, int i)
{
    const char *tok = argv[i], *name, *eq, *value;
    int negated, used = 1;
    if (strncmp(tok, "--", 2) != 0 || tok[2] == '\0')
        usage_error(L, s, "unexpected argument '%s': options look like "
                    "--name value", tok);
    name = tok + 2;
    eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    struct spec *p = find_flag(s, name, len, &negated);
    if (!p)
        unknown_flag(L, s, name, len);
    if (p->type == P_BOOLEAN) {
        int b = negated ? 0 : 1;
        if (eq && (negated || (b = config_parse_bool(eq + 1)) < 0))
            usage_error(L, s, "--%s takes no value, or one of true/false "
                        "(got '%s')", negated ? lua_pushfstring(L,
                        "no-%s", p->flag) : p->flag, eq + 1);
        lua_pushboolean(L, b);
        store(L, s, p, args);
        return 1;
    }
    if (eq) {
        value = eq + 1;
    } else if (i + 1 < argc) {
        value = argv[i + 1];
        used = 2;
    } else {
        char tmp[128];
        return usage_error(L, s, "--%s needs a value (%s)", p->flag,
                           arg_name(L, s, p, tmp, sizeof tmp));
    }
    push_value(L, s, p, value, inputs);
    store(L, s, p, args);
    return used;
}

static void copy_default(lua_State *L, const struct specs *s,
                         const struct spec *p, int args)
{
    int t = push_decl(L, s, p);
    lua_getfield(L, t, "default");
    if (p->type == P_LIST && lua_type(L, -1) == LUA_TSTRING) {
        lua_createtable(L, 1, 0);       /* one value: a list of one */
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
    } else if (lua_istable(L, -1)) {    /* a copy: args are the recipe's */
        lua_newtable(L);
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -2); i++) {
            lua_rawgeti(L, -2, i);
            lua_rawseti(L, -2, i);
        }
        lua_remove(L, -2);
    }
    lua_setfield(L, args, p->name);
    lua_settop(L, t - 1);
}

static void finish_args(lua_State *L, struct specs *s, int args)
{
    luaL_Buffer b;
    int missing = 0;
    luaL_buffinit(L, &b);
    for (int i = 0; i < s->n; i++) {
        struct spec *p = &s->p[i];
        if (p->seen)
            continue;
        if (p->required) {
            lua_pushfstring(L, "%s--%s", missing++ ? ", " : "", p->flag);
            luaL_addvalue(&b);
        } else if (p->has_default) {
            copy_default(L, s, p, args);
        }
    }
    luaL_pushresult(&b);
    if (missing)
        usage_error(L, s, "missing required option%s: %s",
                    missing > 1 ? "s" : "", lua_tostring(L, -1));
    lua_pop(L, 1);
}

void params_check(lua_State *L, int idx, const char *recipe)
{
    struct specs s;
    load_specs(L, idx, &s, recipe);
}

void params_parse(lua_State *L, int idx, int inputs_idx, int argc,
                  char **argv, const char *recipe)
{
    struct specs s;
    int inputs = lua_absindex(L, inputs_idx);
    load_specs(L, idx, &s, recipe);
    lua_newtable(L);
    int args = lua_gettop(L);
    for (int i = 0; i < argc;)
        i += parse_one(L, &s, args, inputs, argc, argv, i);
    finish_args(L, &s, args);
}

/* ---- help ---- */

static void add_option_line(lua_State *L, int list, const struct specs *s,
                            const struct spec *p)
{
    char tmp[128], left[160], padded[200];
    const char *a = arg_name(L, s, p, tmp, sizeof tmp);
    snprintf(left, sizeof left, "  --%s%s%s%s", p->type == P_BOOLEAN ?
             "[no-]" : "", p->flag, *a ? " " : "", a);
    snprintf(padded, sizeof padded, "%-28s", left);
    lua_pushfstring(L, "%s %s%s%s%s", padded, p->help ? p->help : "",
                    p->required ? " (required)" : "",
                    p->type == P_LIST ? " (repeatable)" : "",
                    p->type == P_TIME ? " (RFC 3339 with offset, e.g. "
                    "2026-05-12T06:00:00Z)" : "");
    add(L, list);
    if (p->has_default) {
        int t = push_decl(L, s, p);
        lua_getfield(L, t, "default");
        if (!lua_istable(L, -1)) {
            lua_pushfstring(L, " (default: %s)",
                            luaL_tolstring(L, -1, NULL));
            add(L, list);
        }
        lua_settop(L, t - 1);
    }
    lua_pushliteral(L, "\n");
    add(L, list);
}

static void add_list_field(lua_State *L, int list, int recipe,
                           const char *field, const char *title)
{
    int t = lua_gettop(L) + 1;
    if (lua_getfield(L, recipe, field) == LUA_TTABLE) {
        lua_pushfstring(L, "\n%s\n", title);
        add(L, list);
        for (lua_Integer i = 1; i <= luaL_len(L, t); i++) {
            lua_rawgeti(L, t, i);
            lua_pushfstring(L, "  %s\n", luaL_tolstring(L, -1, NULL));
            add(L, list);
            lua_settop(L, t);
        }
    }
    lua_settop(L, t - 1);
}

void params_push_help(lua_State *L, int idx, const char *recipe)
{
    struct specs s;
    int r = lua_absindex(L, idx), top = lua_gettop(L);
    lua_getfield(L, r, "params");
    load_specs(L, -1, &s, recipe);
    lua_newtable(L);
    int list = lua_gettop(L);
    lua_getfield(L, r, "description");
    lua_pushfstring(L, "%s: %s\n\nusage: clawhost run %s", recipe,
                    lua_isstring(L, -1) ? lua_tostring(L, -1) : "", recipe);
    add(L, list);
    lua_pop(L, 1);
    add_synopsis(L, list, &s);
    lua_pushliteral(L, " [global options]\n");
    add(L, list);
    if (s.n > 0) {
        lua_pushliteral(L, "\noptions:\n");
        add(L, list);
    }
    for (int i = 0; i < s.n; i++)
        add_option_line(L, list, &s, &s.p[i]);
    declared_push_help(L, r);
    add(L, list);
    add_list_field(L, list, r, "calls", "calls:");
    lua_getfield(L, r, "spends");
    lua_pushfstring(L, "\nspends money: %s\n",
                    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) :
                    lua_toboolean(L, -1) ? "yes" : "no");
    add(L, list);
    lua_pop(L, 1);
    lua_pushliteral(L, "\nglobal options: --json --dry-run --timeout S "
                    "--memory-mb N --budget USD\n  --allow-host HOST[:PORT]"
                    " --log-json --quiet --verbose (see clawhost --help)\n");
    add(L, list);
    join(L, list);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
}
