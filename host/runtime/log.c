/*
** log.c -- diagnostics on stderr.
**
** Text lines for people ("warning: ..."), JSON lines for machines with
** --log-json, and on a terminal the live progress block (progress.c),
** taken off the screen before any other line. stdout stays reserved for
** the result. Everything goes out through out.c and so through the
** redactor.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/out.h"
#include "runtime/progress.h"

static struct {
    int json;
    int min_level;
} lg = {0, LOG_INFO};

static const char *const level_names[] = {"debug", "info", "warn",
                                          "error"};

void log_setup(int json, int verbosity)
{
    lg.json = json;
    lg.min_level = verbosity < 0 ? LOG_WARN :
                   verbosity > 0 ? LOG_DEBUG : LOG_INFO;
    progress_setup(json ? PROGRESS_RECORD : out_isatty(OUT_STDERR) ?
                   PROGRESS_TTY : PROGRESS_PLAIN);
}

void log_progress_clear(void)
{
    progress_hide();
}

/*
** A JSON string body: quotes, backslashes and control bytes escaped.
** Secrets are masked before escaping: the redactor on stdout/stderr
** sees escaped text, and a string that already held an escaped secret
** would be escaped twice, past what it recognises. Log text is not
** validated as UTF-8; bytes pass as they are.
*/
static void put_json_string(const char *in, size_t inlen)
{
    char esc[8];
    size_t start = 0, len = inlen;
    char *masked = out_redact(in, inlen, &len);
    const char *s = masked ? masked : in;
    out_write(OUT_STDERR, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out_write(OUT_STDERR, s + start, i - start);
        snprintf(esc, sizeof esc, c == '"' ? "\\\"" : c == '\\' ? "\\\\" :
                 c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\u%04x", c);
        out_puts(OUT_STDERR, esc);
        start = i + 1;
    }
    out_write(OUT_STDERR, s + start, len - start);
    out_write(OUT_STDERR, "\"", 1);
    if (masked) {
        explicit_bzero(masked, len);
        free(masked);
    }
}

static void json_head(const char *level)
{
    char ts[40];
    clock_format_iso(clock_realtime(), 3, ts, sizeof ts);
    out_printf(OUT_STDERR, "{\"time\":\"%s\",\"level\":\"%s\"", ts, level);
}

/* A message starts on a line of its own, with no live block around. */
static void clear_for_line(void)
{
    progress_hide();
    if (!lg.json)
        progress_break_line();
}

static void line_start(int level)
{
    clear_for_line();
    if (lg.json) {
        json_head(level_names[level]);
        out_puts(OUT_STDERR, ",\"msg\":");
    } else if (level == LOG_WARN) {
        out_puts(OUT_STDERR, "warning: ");
    } else if (level != LOG_INFO) {
        out_printf(OUT_STDERR, "%s: ", level_names[level]);
    }
}

void log_text(int level, const char *msg, size_t len)
{
    if (level < lg.min_level)
        return;
    line_start(level);
    if (lg.json) {
        put_json_string(msg, len);
        out_puts(OUT_STDERR, "}\n");
    } else {
        out_write(OUT_STDERR, msg, len);
        out_write(OUT_STDERR, "\n", 1);
    }
}

/* Whole messages, never cut: a cut inside a secret would leave a part
** the redactor cannot recognise. */
void log_msgf(int level, const char *fmt, ...)
{
    char small[1024], *buf = small;
    va_list ap;
    if (level < lg.min_level)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small) {
        if (!(buf = malloc((size_t)n + 1)))
            return;
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    log_text(level, buf, (size_t)n);
    if (buf != small)
        free(buf);
}

void log_fields(int level, const char *msg, const struct log_field *f,
                int n)
{
    if (level < lg.min_level)
        return;
    line_start(level);
    if (lg.json)
        put_json_string(msg, strlen(msg));
    else
        out_puts(OUT_STDERR, msg);
    for (int i = 0; i < n; i++) {
        if (lg.json) {
            out_printf(OUT_STDERR, ",\"%s\":", f[i].key);
            if (f[i].str)
                put_json_string(f[i].str, strlen(f[i].str));
            else
                out_printf(OUT_STDERR, "%lld", f[i].num);
        } else if (f[i].str) {
            out_printf(OUT_STDERR, " %s=%s", f[i].key, f[i].str);
        } else {
            out_printf(OUT_STDERR, " %s=%lld", f[i].key, f[i].num);
        }
    }
    out_puts(OUT_STDERR, lg.json ? "}\n" : "\n");
}

/* The last line of a failure: what to do about it. Shown whenever the
** error is (also with --quiet). */
void log_hint(const char *hint)
{
    clear_for_line();
    if (lg.json) {
        json_head("hint");
        out_puts(OUT_STDERR, ",\"msg\":");
        put_json_string(hint, strlen(hint));
        out_puts(OUT_STDERR, "}\n");
    } else {
        out_printf(OUT_STDERR, "hint: %s\n", hint);
    }
}

void log_print(const char *s, size_t len)
{
    clear_for_line();
    if (lg.json) {
        json_head("info");
        out_puts(OUT_STDERR, ",\"source\":\"print\",\"msg\":");
        put_json_string(s, len);
        out_puts(OUT_STDERR, "}\n");
    } else {
        out_write(OUT_STDERR, s, len);
        out_write(OUT_STDERR, "\n", 1);
    }
}

/*
** The state of a long wait (progress.c draws it); with --log-json a
** JSON line per state, with the seconds so far and the limit.
*/
static void progress_at(const char *label, const char *state, int done,
                        double limit, const void *owner)
{
    double elapsed;
    if (lg.min_level > LOG_INFO)
        return;
    elapsed = progress_update(label, state, done, limit, owner);
    if (!lg.json)
        return;
    json_head("progress");
    out_puts(OUT_STDERR, ",\"label\":");
    put_json_string(label, strlen(label));
    out_puts(OUT_STDERR, ",\"state\":");
    put_json_string(state, strlen(state));
    out_printf(OUT_STDERR, ",\"elapsed_s\":%.1f", elapsed);
    if (limit > 0)
        out_printf(OUT_STDERR, ",\"limit_s\":%.0f", limit);
    out_puts(OUT_STDERR, done ? ",\"done\":true}\n" : "}\n");
}

void log_progress(const char *label, const char *state, int done)
{
    progress_at(label, state, done, 0, NULL);
}

/* ---- Lua binding ---- */

static void put_field_text(lua_State *L, const char *key, int v)
{
    size_t len;
    const char *s = luaL_tolstring(L, v, &len);
    int quote = strpbrk(s, " \t\"=") != NULL || len == 0;
    out_printf(OUT_STDERR, " %s=", key);
    if (quote)
        put_json_string(s, len);
    else
        out_write(OUT_STDERR, s, len);
    lua_pop(L, 1);
}

static void put_field_json(lua_State *L, const char *key, int v)
{
    size_t len;
    out_puts(OUT_STDERR, ",");
    put_json_string(key, strlen(key));
    out_puts(OUT_STDERR, ":");
    switch (lua_type(L, v)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, v))
            out_printf(OUT_STDERR, "%lld", (long long)lua_tointeger(L, v));
        else
            out_printf(OUT_STDERR, "%.17g", (double)lua_tonumber(L, v));
        break;
    case LUA_TBOOLEAN:
        out_puts(OUT_STDERR, lua_toboolean(L, v) ? "true" : "false");
        break;
    default: {
        const char *s = luaL_tolstring(L, v, &len);
        put_json_string(s, len);
        lua_pop(L, 1);
    }
    }
}

/* Fields print in the order next() gives; string keys only. */
static void put_fields(lua_State *L, int t)
{
    if (!lua_istable(L, t))
        return;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            if (lg.json)
                put_field_json(L, k, lua_gettop(L));
            else
                put_field_text(L, k, lua_gettop(L));
        }
        lua_pop(L, 1);
    }
}

static int log_at(lua_State *L, int level)
{
    size_t len;
    const char *msg = luaL_checklstring(L, 1, &len);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    if (level < lg.min_level)
        return 0;
    line_start(level);
    if (lg.json) {
        put_json_string(msg, len);
        put_fields(L, 2);
        out_puts(OUT_STDERR, "}\n");
    } else {
        out_write(OUT_STDERR, msg, len);
        put_fields(L, 2);
        out_write(OUT_STDERR, "\n", 1);
    }
    return 0;
}

static int l_debug(lua_State *L) { return log_at(L, LOG_DEBUG); }
static int l_info(lua_State *L) { return log_at(L, LOG_INFO); }
static int l_warn(lua_State *L) { return log_at(L, LOG_WARN); }
static int l_error(lua_State *L) { return log_at(L, LOG_ERROR); }

/*
** log.progress(label, state[, {done = true, limit = seconds}]): the
** line belongs to the calling thread, so it goes when that task ends.
*/
static int l_progress(lua_State *L)
{
    const char *label = luaL_checkstring(L, 1);
    const char *state = luaL_checkstring(L, 2);
    int done = 0;
    double limit = 0;
    /* a boolean is the older form, `done` alone: recipes written for
    ** it keep working */
    if (lua_isboolean(L, 3)) {
        done = lua_toboolean(L, 3);
    } else if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "done");
        done = lua_toboolean(L, -1);
        lua_getfield(L, 3, "limit");
        limit = lua_isnil(L, -1) ? 0 : luaL_checknumber(L, -1);
        luaL_argcheck(L, limit >= 0 && limit < 1e9, 3,
                      "limit must be seconds from 0 to 1e9");
        lua_pop(L, 2);
    }
    progress_at(label, state, done, limit, L);
    return 0;
}

static const luaL_Reg log_funcs[] = {
    {"debug", l_debug},
    {"info", l_info},
    {"warn", l_warn},
    {"error", l_error},
    {"progress", l_progress},
    {NULL, NULL}
};

int luaopen_clawhost_log(lua_State *L)
{
    luaL_newlib(L, log_funcs);
    return 1;
}
