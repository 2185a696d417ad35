/*
** result.c -- what `run` returned, on stdout.
**
** With --json: the value as JSON (rows given to ctx.report under
** "report"). Otherwise a readable summary: `key: value` lines in key
** order, nested tables indented, lists of rows as aligned columns. A
** result table, or any table in it, may name the column order of its
** row lists in `columns = {"service", "state", ...}`.
**
** A table of rows fits the terminal: COLUMNS when set, else the width of
** the terminal on stdout, else 100 columns (a pipe or a log file). The
** widest columns give way first, and a cell cut to fit ends with "..."
** at a word boundary (mid-word only for a single word too long).
*/
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli/result.h"
#include "lib/json.h"
#include "runtime/ctx.h"
#include "runtime/out.h"

#define MAX_DEPTH 16
#define MAX_KEYS 512
#define PIPE_WIDTH 100      /* when stdout is not a terminal */
#define MIN_COLUMN 6        /* a column never gets narrower than this */

static void put(const char *s)
{
    out_puts(OUT_STDOUT, s);
}

static void indent_by(int n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        out_write(OUT_STDOUT, spaces, (size_t)(n < 32 ? n : 32));
        n -= 32;
    }
}

/* Keys 1..n and nothing else (n >= 1). */
static int is_list(lua_State *L, int t)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, t), count = 0;
    if (n == 0)
        return 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        count++;
    }
    return count == n;
}

static int has_tostring(lua_State *L, int idx)
{
    int has = luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL;
    if (has)
        lua_pop(L, 1);
    return has;
}

/* A list whose items are all plain (non-list) tables: shown as rows. */
static int is_rows(lua_State *L, int t)
{
    if (!is_list(L, t))
        return 0;
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, t); i++) {
        int row = lua_rawgeti(L, t, i) == LUA_TTABLE && !is_list(L, -1) &&
                  !has_tostring(L, -1);
        lua_pop(L, 1);
        if (!row)
            return 0;
    }
    return 1;
}

/* Characters on screen: UTF-8 lead bytes (wide glyphs count as one). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Byte offset where character number n starts (or the end). */
static size_t char_offset(const char *s, size_t len, size_t n)
{
    size_t i = 0;
    for (; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && n-- == 0)
            break;
    return i;
}

/*
** Where to cut s (len bytes) so it holds at most `room` characters:
** after the last word that fits, or, when not even the first word does,
** after `room` characters. Returns a byte offset.
*/
static size_t cut_at(const char *s, size_t len, size_t room)
{
    size_t end = char_offset(s, len, room), at = end;
    if (end < len && s[end] == ' ')
        return end;
    while (at > 0 && s[at - 1] != ' ')
        at--;
    while (at > 0 && s[at - 1] == ' ')
        at--;
    return at > 0 ? at : end;
}

/* A scalar's text; at most max characters in a cell (max > 0), cut at
** a word boundary and on a character boundary, so the output stays
** valid UTF-8. */
static const char *cell(lua_State *L, int idx, size_t max)
{
    size_t len;
    const char *s;
    if (lua_islightuserdata(L, idx) && !lua_touserdata(L, idx))
        return lua_pushliteral(L, "null");
    if (lua_istable(L, idx) && !has_tostring(L, idx))
        return lua_pushliteral(L, "{...}");
    s = luaL_tolstring(L, idx, &len);
    if (max && text_width(s) > max) {
        /* mask first: a cut inside a secret hides it from the redactor */
        size_t mlen;
        char *masked = out_redact(s, len, &mlen);
        if (masked) {
            lua_pushlstring(L, masked, mlen);
            lua_replace(L, -2);
            explicit_bzero(masked, mlen);
            free(masked);
            s = lua_tolstring(L, -1, &len);
        }
    }
    if (max && text_width(s) > max) {
        lua_pushlstring(L, s, cut_at(s, len, max > 3 ? max - 3 : 0));
        lua_pushliteral(L, "...");
        lua_concat(L, 2);
        lua_replace(L, -2);
        s = lua_tostring(L, -1);
    }
    return s;
}

/* Columns of the terminal the result goes to (see the top). */
static size_t term_width(void)
{
    const char *env = getenv("COLUMNS");
    struct winsize ws;
    char *end;
    if (env && *env) {
        long n = strtol(env, &end, 10);
        if (*end == '\0' && n >= 20 && n <= 10000)
            return (size_t)n;
    }
    if (out_isatty(OUT_STDOUT) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0
        && ws.ws_col >= 20)
        return ws.ws_col;
    return PIPE_WIDTH;
}

/*
** Narrow the columns so a row fits `avail` characters: every column is
** capped at the same width T, the largest that fits, so the widest give
** way first and narrow ones keep their text; no column goes below
** MIN_COLUMN (or its heading). What is left is handed out one by one.
*/
static void fit_columns(size_t *width, const size_t *floor, int n,
                        size_t avail)
{
    size_t want[64], lo = 0, hi = 0, total = 0;
    for (int c = 0; c < n; c++) {
        want[c] = width[c];
        total += width[c];
        hi = width[c] > hi ? width[c] : hi;
    }
    if (total <= avail)
        return;
    while (lo < hi) {               /* the largest T that fits */
        size_t t = (lo + hi + 1) / 2, sum = 0;
        for (int c = 0; c < n; c++)
            sum += want[c] < t ? want[c] : t > floor[c] ? t : floor[c];
        if (sum <= avail)
            lo = t;
        else
            hi = t - 1;
    }
    total = 0;
    for (int c = 0; c < n; c++) {
        size_t cap = lo > floor[c] ? lo : floor[c];
        width[c] = want[c] < cap ? want[c] : cap;
        total += width[c];
    }
    for (int c = 0; c < n && total < avail; c++)
        if (width[c] < want[c]) {
            width[c]++;
            total++;
        }
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted string keys of table t into keys[]; returns how many. */
static int sorted_keys(lua_State *L, int t, const char **keys)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (n == MAX_KEYS) {
            lua_pop(L, 2);
            break;
        }
        if (lua_type(L, -2) == LUA_TSTRING)
            keys[n++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_keys);
    return n;
}

static int add_column(const char **cols, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cols[i], name) == 0)
            return n;
    if (n < 64)
        cols[n++] = name;
    return n;
}

/* The declared column order, else every key of every row, sorted. */
static int row_columns(lua_State *L, int t, int columns, const char **cols)
{
    int n = 0;
    if (columns && lua_istable(L, columns)) {
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, columns);
             i++) {
            if (lua_rawgeti(L, columns, i) == LUA_TSTRING)
                n = add_column(cols, n, lua_tostring(L, -1));
            lua_pop(L, 1);      /* the string lives in `columns` */
        }
        return n;
    }
    const char *keys[MAX_KEYS];
    for (lua_Integer r = 1; r <= (lua_Integer)lua_rawlen(L, t); r++) {
        lua_rawgeti(L, t, r);
        int k = sorted_keys(L, lua_gettop(L), keys);
        for (int i = 0; i < k; i++)
            n = add_column(cols, n, keys[i]);
        lua_pop(L, 1);
    }
    qsort(cols, (size_t)n, sizeof *cols, cmp_keys);
    return n;
}

/* The room a row has: the terminal less the indent and the two blanks
** between columns (at least MIN_COLUMN a column). */
static size_t row_room(int indent, int ncols)
{
    size_t w = term_width(), used = (size_t)indent +
               2 * (size_t)(ncols > 0 ? ncols - 1 : 0);
    size_t least = (size_t)ncols * MIN_COLUMN;
    return w > used + least ? w - used : least;
}

static void render_rows(lua_State *L, int t, int indent, int columns)
{
    luaL_checkstack(L, 12, "result nested too deeply");
    const char *cols[64];
    size_t width[64], floor[64];
    int ncols = row_columns(L, t, columns, cols);
    lua_Integer nrows = (lua_Integer)lua_rawlen(L, t);
    for (int c = 0; c < ncols; c++)
        width[c] = text_width(cols[c]);
    for (lua_Integer r = 1; r <= nrows; r++) {
        lua_rawgeti(L, t, r);
        for (int c = 0; c < ncols; c++) {
            lua_getfield(L, -1, cols[c]);
            size_t w = lua_isnil(L, -1) ? 0 : text_width(cell(L, -1, 0));
            if (w > width[c])
                width[c] = w;
            lua_settop(L, -2 - !lua_isnil(L, -1));
        }
        lua_pop(L, 1);
    }
    for (int c = 0; c < ncols; c++) {
        size_t head = text_width(cols[c]);
        floor[c] = head > MIN_COLUMN ? head : MIN_COLUMN;
        floor[c] = floor[c] < width[c] ? floor[c] : width[c];
    }
    fit_columns(width, floor, ncols, row_room(indent, ncols));
    for (lua_Integer r = 0; r <= nrows; r++) {
        indent_by(indent);
        if (r > 0)
            lua_rawgeti(L, t, r);
        for (int c = 0; c < ncols; c++) {
            const char *text = cols[c];
            if (r > 0) {
                lua_getfield(L, -1, cols[c]);
                text = lua_isnil(L, -1) ? "" : cell(L, -1, width[c]);
            }
            out_puts(OUT_STDOUT, text);
            if (c + 1 < ncols)
                indent_by((int)(width[c] - text_width(text)) + 2);
            else
                put("\n");
            if (r > 0)
                lua_settop(L, lua_gettop(L) - 1 -
                           (lua_isnil(L, -1) ? 0 : 1));
        }
        if (ncols == 0)
            put("\n");
        if (r > 0)
            lua_pop(L, 1);
    }
}

static void render_map(lua_State *L, int t, int indent, int depth,
                       int columns);

/* The part of a `key: ...` line after the key. */
static void render_field(lua_State *L, int v, int indent, int depth,
                         int columns)
{
    if (!lua_istable(L, v) || has_tostring(L, v)) {
        out_printf(OUT_STDOUT, ": %s\n", cell(L, v, 0));
        lua_pop(L, 1);
    } else if (lua_rawlen(L, v) == 0 && (lua_pushnil(L), !lua_next(L, v))) {
        put(": (none)\n");
    } else if (depth >= MAX_DEPTH) {
        put(": {...}\n");
    } else if (is_rows(L, v)) {
        put(":\n");
        render_rows(L, v, indent + 2, columns);
    } else if (is_list(L, v)) {
        put(": ");
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, v); i++) {
            lua_rawgeti(L, v, i);
            out_printf(OUT_STDOUT, "%s%s", i > 1 ? ", " : "",
                       cell(L, -1, 0));
            lua_pop(L, 2);
        }
        put("\n");
    } else {
        put(":\n");
        /* a nested table may name its own rows' columns */
        if (lua_getfield(L, v, "columns") == LUA_TTABLE)
            columns = lua_gettop(L);
        else
            lua_pop(L, 1);
        render_map(L, v, indent + 2, depth + 1, columns);
    }
}

static void render_map(lua_State *L, int t, int indent, int depth,
                       int columns)
{
    const char *keys[MAX_KEYS];
    luaL_checkstack(L, 12, "result nested too deeply");
    int n = sorted_keys(L, t, keys);
    for (int i = 0; i < n; i++) {
        if (strcmp(keys[i], "columns") == 0 &&
            lua_getfield(L, t, "columns") == LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        if (strcmp(keys[i], "columns") == 0)
            lua_pop(L, 1);
        int top = lua_gettop(L);
        indent_by(indent);
        put(keys[i]);
        lua_getfield(L, t, keys[i]);
        render_field(L, top + 1, indent, depth, columns);
        lua_settop(L, top);
    }
}

static void render_text(lua_State *L, int v)
{
    int top = lua_gettop(L), columns = 0;
    if (lua_isnil(L, v))
        return;
    if (!lua_istable(L, v) || has_tostring(L, v)) {
        out_printf(OUT_STDOUT, "%s\n", cell(L, v, 0));
    } else if (is_rows(L, v)) {
        render_rows(L, v, 0, 0);
    } else if (is_list(L, v)) {
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, v); i++) {
            lua_rawgeti(L, v, i);
            out_printf(OUT_STDOUT, "%s\n", cell(L, -1, 0));
            lua_settop(L, top);
        }
    } else {
        lua_getfield(L, v, "columns");
        columns = lua_gettop(L);
        render_map(L, v, 0, 0, columns);
    }
    lua_settop(L, top);
}

/* A masked copy of the string at idx replaces it (in its table). */
static void push_masked_string(lua_State *L, int idx)
{
    size_t len, mlen;
    const char *text = lua_tolstring(L, idx, &len);
    char *masked = out_redact(text, len, &mlen);
    if (masked) {
        lua_pushlstring(L, masked, mlen);
        explicit_bzero(masked, mlen);
        free(masked);
    } else {
        lua_pushvalue(L, idx);
    }
}

/*
** The JSON encoder escapes strings, so a string that already held an
** escaped form of a secret comes out escaped twice, past what the
** redactor on stdout recognises: mask the result's string values
** before encoding (the result is about to be printed; it is changed in
** place). Depth is bounded like the encoder's.
*/
static void mask_strings(lua_State *L, int t, int depth)
{
    if (depth > JSON_MAX_DEPTH || !lua_checkstack(L, 4))
        return;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            push_masked_string(L, -1);
            lua_pushvalue(L, -3);
            lua_insert(L, -2);
            lua_rawset(L, t);
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            mask_strings(L, lua_gettop(L), depth + 1);
        }
        lua_pop(L, 1);
    }
}

void result_print(lua_State *L, int idx, int json)
{
    int v = lua_absindex(L, idx), top = lua_gettop(L);
    ctx_push_reports(L);
    int reports = lua_gettop(L);
    int have_reports = lua_rawlen(L, reports) > 0;
    if (json) {
        if (have_reports && lua_isnil(L, v)) {
            lua_newtable(L);
            lua_replace(L, v);
        }
        if (have_reports && lua_istable(L, v) &&
            lua_getfield(L, v, "report") == LUA_TNIL) {
            lua_pushvalue(L, reports);
            lua_setfield(L, v, "report");
        }
        if (out_has_secrets() && lua_istable(L, v))
            mask_strings(L, v, 0);
        else if (out_has_secrets() && lua_type(L, v) == LUA_TSTRING) {
            push_masked_string(L, v);
            lua_replace(L, v);
        }
        json_encode_value(L, v, JSON_PRETTY);
        out_puts(OUT_STDOUT, lua_tostring(L, -1));
        out_puts(OUT_STDOUT, "\n");
    } else {
        render_text(L, v);
        if (have_reports) {
            if (!lua_isnil(L, v))
                put("\n");
            if (lua_istable(L, v))
                lua_getfield(L, v, "columns");
            else
                lua_pushnil(L);
            render_rows(L, reports, 0, lua_gettop(L));
        }
    }
    lua_settop(L, top);
}

void result_print_json_error(lua_State *L, const char *code,
                             const char *msg)
{
    int top = lua_gettop(L);
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    lua_setfield(L, -2, "error");
    json_encode_value(L, -1, JSON_PRETTY);
    out_puts(OUT_STDOUT, lua_tostring(L, -1));
    out_puts(OUT_STDOUT, "\n");
    lua_settop(L, top);
}
