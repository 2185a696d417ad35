/*
** params.c -- a recipe's declared params: validation, command-line
** parsing into the args table, and the help text.
**
** A param is `name = {type = ..., required = ..., default = ...,
** help = ..., values = {...} (enum), min/max (numbers), max_bytes
** (file, string), of = "integer" (a list's elements), arg = "URL" (the
** placeholder in help)}`. The flag is the name with '_' turned into
** '-': chat_id is --chat-id. Every error says which flag (and which
** element of a list), what was expected, and points at `clawhost help
** RECIPE`.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli/declared.h"
#include "cli/params.h"
#include "lib/json.h"
#include "pure/suggest.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/out.h"
#include "util/dynbuf.h"
#include "util/fileio.h"

#define MAX_PARAMS 64
#define FILE_MAX_DEFAULT (16u << 20)
#define TEXT_MAX_DEFAULT (1u << 20)
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
    int of;                 /* a list's element type (P_STRING...) */
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
    const char *stdin_flag; /* the param that read stdin, if one did */
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

static const int lua_want[] = {LUA_TSTRING, LUA_TNUMBER, LUA_TNUMBER,
                               LUA_TBOOLEAN, LUA_TSTRING, LUA_TTABLE,
                               LUA_TSTRING, LUA_TNIL, LUA_TNIL};

/* Is the value at the top one of the enum's values (decl at t)? */
static int in_values(lua_State *L, int t)
{
    int found = 0;
    lua_getfield(L, t, "values");
    for (lua_Integer i = 1; !found && i <= luaL_len(L, -1); i++) {
        lua_rawgeti(L, -1, i);
        found = lua_rawequal(L, -1, -3);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return found;
}

/* The value at the top as one value of `type` (the param's, or a
** list's element type); NULL when it is fine, else what is wrong. */
static const char *bad_value(lua_State *L, int type, int t)
{
    double when;
    const char *why;
    int lt = lua_type(L, -1);
    if (lt != lua_want[type])
        return lua_pushfstring(L, "is a %s, not a %s",
                               lua_typename(L, lt),
                               lua_typename(L, lua_want[type]));
    if (type == P_INTEGER && !lua_isinteger(L, -1))
        return "is not a whole number";
    if (type == P_ENUM && !in_values(L, t))
        return "is not one of its values";
    if (type == P_TIME &&
        clock_parse_iso(lua_tostring(L, -1), &when, &why) != 0)
        return lua_pushfstring(L, "is not an RFC 3339 time: %s", why);
    return NULL;
}

/*
** A default must be what the flag would give (a wrong one would reach
** run() unchecked); a list's default is a table of elements, or one
** element, each checked like a value of the list's `of` type.
*/
static void check_default(lua_State *L, struct specs *s,
                          const struct spec *p, int t)
{
    const char *why;
    lua_getfield(L, t, "default");
    if (p->type == P_FILE || p->type == P_OUTPUT)
        bad_decl(L, s, p->name, p->type == P_FILE ? "is a file param; it "
                 "cannot have a default" : "is an output param; it cannot "
                 "have a default (the user names the file)");
    if (p->type != P_LIST) {
        if ((why = bad_value(L, p->type, t)) != NULL)
            bad_decl(L, s, p->name, lua_pushfstring(L, "has a default "
                     "that %s", why));
    } else if (!lua_istable(L, -1)) {
        if ((why = bad_value(L, p->of, t)) != NULL)
            bad_decl(L, s, p->name, lua_pushfstring(L, "has a default "
                     "that %s (a list's default is a table of %ss or one "
                     "%s)", why, type_names[p->of], type_names[p->of]));
    } else {
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            int top = lua_gettop(L);
            lua_rawgeti(L, top, i);
            if ((why = bad_value(L, p->of, t)) != NULL)
                bad_decl(L, s, p->name, lua_pushfstring(L, "has a default "
                         "whose element %I %s", i, why));
            lua_settop(L, top);
        }
    }
    lua_pop(L, 1);
}

/* The P_ value of a type's name, or -1 for an unknown one. */
static int type_index(const char *type)
{
    for (int k = 0; type_names[k]; k++)
        if (strcmp(type_names[k], type) == 0)
            return k;
    return -1;
}

/* type, and for a list the type of its elements (`of`, default
** string): one of the scalar types a single flag value can have. */
static void parse_type(lua_State *L, struct specs *s, struct spec *p,
                       int t)
{
    const char *type = opt_string(L, t, "type");
    const char *of = opt_string(L, t, "of");
    p->type = type ? type_index(type) : P_STRING;
    if (p->type < 0)
        bad_decl(L, s, p->name, "has an unknown type (expected string, "
                 "number, integer, boolean, enum, list, time, file or "
                 "output)");
    p->of = P_STRING;
    if (p->type != P_LIST) {
        lua_getfield(L, t, "of");
        if (!lua_isnil(L, -1))
            bad_decl(L, s, p->name, "has `of` but is not a list");
        lua_pop(L, 1);
        return;
    }
    p->of = of ? type_index(of) : P_STRING;
    if (p->of != P_STRING && p->of != P_NUMBER && p->of != P_INTEGER &&
        p->of != P_ENUM && p->of != P_TIME)
        bad_decl(L, s, p->name, "is a list of an unknown type (`of` is "
                 "string, number, integer, enum or time)");
}

/* An enum (or a list of enum) needs its values, all strings: they are
** what the flag is compared with and what help and completion show. */
static void check_enum(lua_State *L, struct specs *s, struct spec *p,
                       int t)
{
    if (lua_getfield(L, t, "values") != LUA_TTABLE || luaL_len(L, -1) < 1)
        bad_decl(L, s, p->name, p->type == P_ENUM ? "is an enum without "
                 "a values list" : "is a list of enum without a values "
                 "list");
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
                   p->type == P_STRING ? TEXT_MAX_DEFAULT :
                   FILE_MAX_DEFAULT;
    lua_pop(L, 1);
    if (p->max_bytes == 0 || p->max_bytes > FILE_MAX_LIMIT)
        bad_decl(L, s, p->name, "has max_bytes outside 1..256 MiB");
    if (p->type == P_ENUM || (p->type == P_LIST && p->of == P_ENUM))
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
    s->stdin_flag = NULL;
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
    int type = p->type == P_LIST ? p->of : p->type;
    if (p->arg)
        return p->arg;
    if (type != P_ENUM)
        return type_args[type];
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

/*
** One value being parsed: the param, the type it must have (a list's
** element type for a list) and how messages name it: "--count", or
** "--slot (value 2)" for the second value given to a list.
*/
struct val {
    const struct spec *p;
    int type;
    char label[96];
};

static void push_number(lua_State *L, const struct specs *s,
                        const struct val *x, const char *v)
{
    int t;
    if (!lua_stringtonumber(L, v) || !isfinite(lua_tonumber(L, -1)))
        usage_error(L, s, "%s expects a number, got '%s'", x->label, v);
    if (x->type == P_INTEGER && !lua_isinteger(L, -1)) {
        lua_Number n = lua_tonumber(L, -1);
        if (n != floor(n) || fabs(n) > 9e15)
            usage_error(L, s, "%s expects a whole number, got '%s'",
                        x->label, v);
        lua_pop(L, 1);
        lua_pushinteger(L, (lua_Integer)n);
    }
    t = push_decl(L, s, x->p);
    if (lua_getfield(L, t, "min") == LUA_TNUMBER &&
        lua_compare(L, t - 1, -1, LUA_OPLT))
        usage_error(L, s, "%s must be at least %s, got '%s'", x->label,
                    lua_tostring(L, -1), v);
    if (lua_getfield(L, t, "max") == LUA_TNUMBER &&
        lua_compare(L, -1, t - 1, LUA_OPLT))
        usage_error(L, s, "%s must be at most %s, got '%s'", x->label,
                    lua_tostring(L, -1), v);
    lua_settop(L, t - 1);
}

static void push_enum(lua_State *L, const struct specs *s,
                      const struct val *x, const char *v)
{
    char tmp[256];
    int t = push_decl(L, s, x->p);
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
    usage_error(L, s, "%s must be one of %s, got '%s'", x->label,
                arg_name(L, s, x->p, tmp, sizeof tmp), v);
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
** Where the text of `--name @PATH` or `--name -` comes from: the file
** (opened now: a missing one is a usage error naming it) or stdin,
** which a run can read once. A regular file's size is checked before
** it is read; a pipe (`@<(cmd)`, stdin) is read up to the cap.
*/
static int open_text(lua_State *L, struct specs *s, const struct spec *p,
                     const char *v)
{
    struct stat st;
    if (strcmp(v, "-") == 0) {
        if (s->stdin_flag)
            usage_error(L, s, "--%s -: stdin was already read for --%s; "
                        "a run reads stdin once", p->flag, s->stdin_flag);
        s->stdin_flag = p->flag;
        if (isatty(0))
            out_printf(OUT_STDERR, "clawhost: reading --%s from the "
                       "terminal; end it with Ctrl-D\n", p->flag);
        return 0;
    }
    if (v[1] == '\0')
        usage_error(L, s, "--%s @: a file name must follow @ (a text that "
                    "starts with @ is written @@...)", p->flag);
    int fd = open(v + 1, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        usage_error(L, s, "--%s %s: %s", p->flag, v, strerror(errno));
    int dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    int big = !dir && S_ISREG(st.st_mode) &&
              (size_t)st.st_size > p->max_bytes;
    if (dir || big)
        close(fd);
    if (dir)
        usage_error(L, s, "--%s %s: a folder, not a file", p->flag, v);
    if (big)
        usage_error(L, s, "--%s %s: %I bytes, more than the %I this "
                    "param takes", p->flag, v, (lua_Integer)st.st_size,
                    (lua_Integer)p->max_bytes);
    return fd;
}

/*
** A string param's text must be what a command line could carry: UTF-8
** (the encoder that sends it as JSON refuses anything else) and no NUL
** byte. Checked on text from a file or stdin, at the top of the stack.
*/
static void check_text(lua_State *L, const struct specs *s,
                       const struct spec *p, const char *v)
{
    size_t len, bad;
    const char *t = lua_tolstring(L, -1, &len);
    const char *nul = memchr(t, '\0', len);
    char why[96];
    bad = json_utf8_valid(t, len);
    if (nul && (size_t)(nul - t) < bad)
        snprintf(why, sizeof why, "a NUL byte at byte %zu",
                 (size_t)(nul - t) + 1);
    else if (bad < len)
        snprintf(why, sizeof why, "not UTF-8 (byte %zu is 0x%02X)",
                 bad + 1, (unsigned char)t[bad]);
    else
        return;
    usage_error(L, s, "--%s %s: %s; --%s takes text", p->flag,
                strcmp(v, "-") == 0 ? "- (stdin)" : v, why, p->flag);
}

/*
** `--name @PATH` and `--name -` give a string param the bytes of a
** file or of stdin, so a long text needs no argument longer than the
** kernel lets one be (128 KiB). They are read into C memory, capped at
** max_bytes, and the file is closed before anything can raise.
*/
static void push_text_from(lua_State *L, struct specs *s,
                           const struct spec *p, const char *v)
{
    struct dynbuf b;
    int fd = open_text(L, s, p, v);
    dynbuf_init(&b, p->max_bytes);
    int rc = fileio_read_all(fd, &b), e = errno;
    if (fd != 0)
        close(fd);
    if (rc == 0)
        lua_pushlstring(L, b.p ? b.p : "", b.len);
    dynbuf_free(&b);
    if (rc == DYNBUF_TOOBIG)
        usage_error(L, s, "--%s %s: more than the %I bytes this param "
                    "takes", p->flag, strcmp(v, "-") == 0 ? "- (stdin)" :
                    v, (lua_Integer)p->max_bytes);
    if (rc != 0)
        usage_error(L, s, "--%s %s: %s", p->flag, v, rc == DYNBUF_NOMEM ?
                    "out of memory" : strerror(e));
    check_text(L, s, p, v);
}

/* A string param's value: the text as given, or from a file or stdin
** (above); "@@..." stands for a text that starts with "@". */
static void push_text(lua_State *L, struct specs *s, const struct spec *p,
                      const char *v)
{
    if ((v[0] == '@' && v[1] != '@') || strcmp(v, "-") == 0) {
        push_text_from(L, s, p, v);
        return;
    }
    if (v[0] == '@')
        v++;
    if (strlen(v) > p->max_bytes)
        usage_error(L, s, "--%s: %I bytes, more than the %I this param "
                    "takes", p->flag, (lua_Integer)strlen(v),
                    (lua_Integer)p->max_bytes);
    lua_pushstring(L, v);
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

/*
** Push the value v for p: checked and converted by its type, or for a
** list by its element type, the element being number `nth` (1, 2, ...)
** so a message can say which one was wrong.
*/
static void push_value(lua_State *L, struct specs *s, const struct spec *p,
                       const char *v, int inputs, lua_Integer nth)
{
    const char *why;
    double t;
    struct val x = {p, p->type == P_LIST ? p->of : p->type, ""};
    if (p->type == P_LIST)
        snprintf(x.label, sizeof x.label, "--%s (value %lld)", p->flag,
                 (long long)nth);
    else
        snprintf(x.label, sizeof x.label, "--%s", p->flag);
    switch (p->type == P_STRING ? -1 : x.type) {
    case -1:
        push_text(L, s, p, v);
        return;
    case P_NUMBER:
    case P_INTEGER:
        push_number(L, s, &x, v);
        return;
    case P_ENUM:
        push_enum(L, s, &x, v);
        return;
    case P_TIME:
        if (clock_parse_iso(v, &t, &why) != 0)
            usage_error(L, s, "%s '%s' is not an RFC 3339 time: %s",
                        x.label, v, why);
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
    lua_getfield(L, args, p->name);     /* a list's values so far */
    lua_Integer nth = lua_istable(L, -1) ?
                      (lua_Integer)lua_rawlen(L, -1) + 1 : 1;
    lua_pop(L, 1);
    push_value(L, s, p, value, inputs, nth);
    store(L, s, p, args);
    return used;
}

static void copy_default(lua_State *L, const struct specs *s,
                         const struct spec *p, int args)
{
    int t = push_decl(L, s, p);
    lua_getfield(L, t, "default");
    if (p->type == P_LIST && !lua_istable(L, -1)) {
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
    int type = p->type == P_LIST ? p->of : p->type;
    snprintf(left, sizeof left, "  --%s%s%s%s", p->type == P_BOOLEAN ?
             "[no-]" : "", p->flag, *a ? " " : "", a);
    snprintf(padded, sizeof padded, "%-28s", left);
    lua_pushfstring(L, "%s %s%s%s%s", padded, p->help ? p->help : "",
                    p->required ? " (required)" : "",
                    p->type == P_LIST ? " (repeatable)" : "",
                    type == P_TIME ? " (RFC 3339 with offset, e.g. "
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
    int texts = 0;
    for (int i = 0; i < s.n; i++) {
        add_option_line(L, list, &s, &s.p[i]);
        texts |= s.p[i].type == P_STRING;
    }
    if (texts) {
        lua_pushliteral(L, "\nA text option takes @FILE for the text of "
                        "a file, - for stdin\n(@@... for a text that "
                        "starts with @).\n");
        add(L, list);
    }
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

/* ---- help as data ---- */

/* decl[field] copied to the table at the top, when it is set; a
** table is copied as an array (values, a list's default). */
static void copy_field(lua_State *L, int decl, const char *field)
{
    int type = lua_getfield(L, decl, field);
    if (type == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        lua_createtable(L, (int)n, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -2, i);
            lua_rawseti(L, -2, i);
        }
        json_mark_array(L, -1);
        lua_replace(L, -2);
    }
    if (type == LUA_TNIL)
        lua_pop(L, 1);
    else
        lua_setfield(L, -2, field);
}

/* One param as a table: what `help RECIPE --json` shows of it. */
static void push_param_data(lua_State *L, const struct specs *s,
                            const struct spec *p)
{
    char tmp[128];
    int decl = push_decl(L, s, p);
    lua_createtable(L, 0, 12);
    lua_pushstring(L, p->name);
    lua_setfield(L, -2, "name");
    lua_pushfstring(L, "--%s", p->flag);
    lua_setfield(L, -2, "flag");
    lua_pushstring(L, type_names[p->type]);
    lua_setfield(L, -2, "type");
    if (p->type == P_LIST) {
        lua_pushstring(L, type_names[p->of]);
        lua_setfield(L, -2, "of");
    }
    lua_pushboolean(L, p->required);
    lua_setfield(L, -2, "required");
    lua_pushstring(L, arg_name(L, s, p, tmp, sizeof tmp));
    lua_setfield(L, -2, "arg");
    if (p->type == P_STRING || p->type == P_FILE) {
        lua_pushinteger(L, (lua_Integer)p->max_bytes);
        lua_setfield(L, -2, "max_bytes");
    }
    static const char *const fields[] = {"help", "values", "min", "max",
                                         NULL};
    for (int k = 0; fields[k]; k++)
        copy_field(L, decl, fields[k]);
    if (p->has_default) {
        lua_newtable(L);            /* a list's default: always a list */
        copy_default(L, s, p, lua_gettop(L));
        lua_getfield(L, -1, p->name);
        if (lua_istable(L, -1))
            json_mark_array(L, -1);
        lua_setfield(L, -3, "default");
        lua_pop(L, 1);
    }
    lua_replace(L, decl);
}

void params_push_data(lua_State *L, int idx, const char *recipe)
{
    struct specs s;
    int r = lua_absindex(L, idx), top = lua_gettop(L);
    lua_createtable(L, 0, 11);                          /* top + 1 */
    lua_pushstring(L, recipe);
    lua_setfield(L, top + 1, "name");
    static const char *const fields[] = {"description", "group",
                                         "spends", "alias_of", "settings",
                                         "approval", NULL};
    for (int k = 0; fields[k]; k++) {
        lua_getfield(L, r, fields[k]);
        if (k == 2 && lua_type(L, -1) != LUA_TSTRING) {
            int spends = lua_toboolean(L, -1);  /* no, as help says */
            lua_pop(L, 1);
            lua_pushboolean(L, spends);
        }
        lua_setfield(L, top + 1, fields[k]);
    }
    lua_pushvalue(L, top + 1);
    copy_field(L, r, "calls");
    lua_pop(L, 1);
    lua_getfield(L, r, "params");                       /* top + 2 */
    load_specs(L, top + 2, &s, recipe);
    lua_createtable(L, s.n, 0);                         /* top + 3 */
    json_mark_array(L, top + 3);
    for (int i = 0; i < s.n; i++) {
        push_param_data(L, &s, &s.p[i]);
        lua_rawseti(L, top + 3, i + 1);
    }
    lua_setfield(L, top + 1, "params");
    lua_newtable(L);
    int list = lua_gettop(L);
    lua_pushfstring(L, "clawhost run %s", recipe);
    add(L, list);
    add_synopsis(L, list, &s);
    join(L, list);
    lua_setfield(L, top + 1, "usage");
    lua_settop(L, top + 1);
}
