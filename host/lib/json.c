/*
** json.c -- the `json` module: our encoder, lua-cjson 2.1.0's decoder.
**
** Read first: the encoder is written here because cjson 2.1.0 cannot
** give stable key order, `[]` for empty arrays, paths in errors or a
** size cap that stays inside the Lua allocator (it mallocs and calls
** exit() when that fails; reliability-anchors finding 11). The decoder is
** cjson's, held behind a size cap and a pre-scan: cjson never sees more
** than the cap, and never sees a byte we have not looked at.
**
** Each Lua state keeps one private cjson instance, the array metatable
** and the caps in the registry, created on first use; recipes never
** reach the cjson table.
*/
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <lauxlib.h>
#include <lua-cjson.h>

#include "lib/json.h"
#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "util/dynbuf.h"

#define BUF_TYPE "clawhost.json.Buffer"
#define PATH_KEY_MAX 64         /* bytes of one key shown in a path */
#define MAX_SEGS (JSON_MAX_DEPTH + 2)
#define MARKER_LEN 17           /* 0xFF and 16 hex digits */
#define EXACT_INT_MAX 9007199254740992.0        /* 2^53 */

/* User values of the state userdata. */
enum { UV_DECODE = 1, UV_MARKER = 2 };

static const char state_key = 0;

struct jstate {
    size_t max_encode;
    size_t max_decode;
};

/* ---- paths: where in a value something went wrong ---- */

/* One step down: an object key (key != NULL) or an array index. */
struct seg {
    const char *key;
    size_t klen;
    lua_Integer index;
};

struct path {
    int n;
    struct seg s[MAX_SEGS];
};

/* Keys that read well after a dot; anything else is shown quoted. */
static int is_ident(const char *k, size_t n)
{
    if (n == 0 || n > PATH_KEY_MAX || (k[0] >= '0' && k[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/*
** Odd keys are shown as ["..."] with every byte outside printable ASCII
** as \xNN, so an error message is always clean ASCII of bounded size,
** even for a key that is itself invalid UTF-8.
*/
static void path_add_key(luaL_Buffer *b, const char *k, size_t n, int first)
{
    char hex[8];

    if (is_ident(k, n)) {
        if (!first)
            luaL_addchar(b, '.');
        luaL_addlstring(b, k, n);
        return;
    }
    luaL_addstring(b, "[\"");
    for (size_t i = 0; i < n && i < PATH_KEY_MAX; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            luaL_addchar(b, (char)c);
        } else {
            snprintf(hex, sizeof hex, "\\x%02x", c);
            luaL_addstring(b, hex);
        }
    }
    if (n > PATH_KEY_MAX)
        luaL_addstring(b, "...");
    luaL_addstring(b, "\"]");
}

/* Push the path as text: meta.user_id, images[3], (root). */
static const char *push_path(lua_State *L, const struct path *p)
{
    luaL_Buffer b;
    char num[32];

    if (p->n == 0)
        return lua_pushliteral(L, "(root)");
    luaL_buffinit(L, &b);
    for (int i = 0; i < p->n; i++) {
        const struct seg *s = &p->s[i];
        if (s->key) {
            path_add_key(&b, s->key, s->klen, i == 0);
        } else {
            snprintf(num, sizeof num, "[%lld]", (long long)s->index);
            luaL_addstring(&b, num);
        }
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* ---- UTF-8 ---- */

/*
** Length of the well-formed UTF-8 sequence at p (RFC 3629 section 4:
** no overlongs, no surrogates, nothing above U+10FFFF), or 0. p[0] is
** not ASCII.
*/
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;

    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

size_t json_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = utf8_seq(p + i, len - i)) == 0)
            return i;
        i += n;
    }
    return len;
}

/*
** Bytes inside a string: 0 plain ASCII, 1 '"', '\\' or a control
** character, 2 the start of a multi-byte UTF-8 sequence.
*/
static const unsigned char str_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* ---- numbers ---- */

static int fmt_int(char *buf, long long v)
{
    char tmp[24];
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v
                                 : (unsigned long long)v;
    int n = 0, len = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/*
** Shortest of %.14g..%.17g that reads back as the same double (%.17g
** always does). Integral values within 2^53 print as integers: the
** number is exact and APIs with integer fields reject "1800.0". printf
** follows LC_NUMERIC; the host runs in the C locale, but a one-byte
** decimal comma is still turned back into a point.
*/
static int fmt_double(char *buf, size_t size, double d)
{
    int n = 0;

    if (d == floor(d) && fabs(d) <= EXACT_INT_MAX) {
        if (d == 0 && signbit(d))
            return snprintf(buf, size, "-0");
        return fmt_int(buf, (long long)d);
    }
    for (int prec = 14; prec <= 17; prec++) {
        n = snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    for (int i = 0; i < n; i++)
        if (!strchr("0123456789+-eE", buf[i]))
            buf[i] = '.';
    return n;
}

/* ---- per-state data ---- */

/*
** The marker that stands in for an empty array while cjson decodes (see
** expand_empty_arrays). It starts with 0xFF, a byte no well-formed UTF-8
** contains: input is validated before cjson sees it and cjson only emits
** UTF-8 for \u escapes, so no decoded string can equal it. The random
** tail is defence in depth should that validation ever change.
*/
static void make_marker(lua_State *L, char *m)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[(MARKER_LEN - 1) / 2];
    size_t got = 0;

    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            err_raise(L, "json", "json: getrandom failed: %s",
                      strerror(errno));
        got += (size_t)r;
    }
    m[0] = '\xff';
    for (size_t i = 0; i < sizeof rnd; i++) {
        m[1 + 2 * i] = hex[rnd[i] >> 4];
        m[2 + 2 * i] = hex[rnd[i] & 15];
    }
}

/*
** A private cjson instance, configured per reliability-anchors 6.4:
** NaN, Infinity and hex numbers refused, nesting capped at our depth.
*/
static void push_cjson_decode(lua_State *L)
{
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_getfield(L, -1, "decode_invalid_numbers");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode_max_depth");
    lua_pushinteger(L, JSON_MAX_DEPTH);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode");
    lua_remove(L, -2);
}

static void push_array_mt(lua_State *L)
{
    if (luaL_newmetatable(L, JSON_ARRAY_MT))
        hostmt_lock(L, -1);
}

void json_mark_array(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    push_array_mt(L);
    lua_setmetatable(L, idx);
}

static struct jstate *state_create(lua_State *L)
{
    char marker[MARKER_LEN];
    struct jstate *st;

    make_marker(L, marker);
    st = lua_newuserdatauv(L, sizeof *st, 2);
    st->max_encode = JSON_DEFAULT_MAX_ENCODE;
    st->max_decode = JSON_DEFAULT_MAX_DECODE;
    push_cjson_decode(L);
    lua_setiuservalue(L, -2, UV_DECODE);
    lua_pushlstring(L, marker, MARKER_LEN);
    lua_setiuservalue(L, -2, UV_MARKER);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
    push_array_mt(L);
    lua_pop(L, 1);
    return st;
}

/* Push this state's json data, creating it on first use. */
static struct jstate *state_push(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key) == LUA_TUSERDATA)
        return lua_touserdata(L, -1);
    lua_pop(L, 1);
    return state_create(L);
}

/*
** cjson 2.1.0 sizes its decode buffer with an int (strbuf_new(int len),
** then len + 1), the kind of arithmetic CVE-2022-24834 was made of, so
** the decode cap never goes above JSON_MAX_DECODE_CEILING.
*/
void json_set_limits(lua_State *L, size_t max_encode, size_t max_decode)
{
    struct jstate *st = state_push(L);
    if (max_encode)
        st->max_encode = max_encode;
    if (max_decode)
        st->max_decode = max_decode < JSON_MAX_DECODE_CEILING
                         ? max_decode : JSON_MAX_DECODE_CEILING;
    lua_pop(L, 1);
}

/* Is the value at idx a table marked with the array metatable? */
static int is_marked(lua_State *L, int idx)
{
    int marked;
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, JSON_ARRAY_MT);
    marked = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return marked;
}

/* ---- the encoder's output buffer ---- */

/*
** Why not luaL_Buffer: it needs the stack at the same level at every
** buffer call, and a recursive encoder keeps tables and keys on the
** stack between writes. This box does what luaL_Buffer's does: memory
** comes from the state's allocator (so the host's memory cap counts it),
** and it is freed by __close as soon as an error unwinds the encoder.
** It also holds the scratch array of object keys being sorted, and
** restarts the garbage collector the encoder stopped (see encode_core).
*/
struct key {
    const char *s;
    size_t n;
};

struct outbuf {
    struct dynbuf out;          /* the text, capped at max_encode */
    struct key *keys;
    size_t nkeys, keycap;
    lua_Alloc af;
    void *ud;
    int gc_stopped;
};

/* __gc: free the memory (a finalizer must not touch the collector). */
static int outbuf_release(lua_State *L)
{
    struct outbuf *b = lua_touserdata(L, 1);
    dynbuf_free(&b->out);
    if (b->keys)
        b->af(b->ud, b->keys, b->keycap * sizeof *b->keys, 0);
    b->keys = NULL;
    b->keycap = 0;
    return 0;
}

/* __close: the encoder is done, by returning or by an error. */
static int outbuf_close(lua_State *L)
{
    struct outbuf *b = lua_touserdata(L, 1);
    if (b->gc_stopped) {
        b->gc_stopped = 0;
        lua_gc(L, LUA_GCRESTART);
    }
    return outbuf_release(L);
}

static const luaL_Reg outbuf_meta[] = {
    {"__gc", outbuf_release},
    {"__close", outbuf_close},
    {NULL, NULL}
};

static struct outbuf *outbuf_push(lua_State *L, size_t max)
{
    struct outbuf *b = lua_newuserdatauv(L, sizeof *b, 0);

    memset(b, 0, sizeof *b);
    b->af = lua_getallocf(L, &b->ud);
    dynbuf_init_alloc(&b->out, max, b->af, b->ud);
    hostmt_type(L, BUF_TYPE, outbuf_meta, NULL);
    lua_setmetatable(L, -2);
    lua_toclose(L, -1);
    return b;
}

/*
** Out of memory is raised the way luaL_Buffer raises it, as a plain
** error, never as a "json" error that safe.encode would turn into a
** return value: the host's memory cap must stop the recipe.
*/
static void *grow(lua_State *L, struct outbuf *b, void *p, size_t osize,
                  size_t nsize)
{
    void *q = b->af(b->ud, p, osize, nsize);
    if (!q) {
        lua_pushliteral(L, "not enough memory");
        lua_error(L);
    }
    return q;
}

/* ---- the encoder ---- */

struct enc {
    lua_State *L;
    struct outbuf *b;
    size_t max;
    int pretty;
    int depth;
    const void *array_mt;
    const void *open[JSON_MAX_DEPTH];   /* tables being encoded */
    struct path path;
    int secrets;                /* list the secrets go to, or 0 */
};

static int enc_fail(struct enc *e, const char *fmt, const char *what)
{
    const char *path = push_path(e->L, &e->path);
    return err_raise(e->L, "json", fmt, what, path);
}

static void cap_error(struct enc *e)
{
    char lim[32];
    snprintf(lim, sizeof lim, "%zu", e->max);
    enc_fail(e, "json.encode: output would exceed the limit of %s bytes "
             "(at %s)", lim);
}

/* Room for n more bytes, already counted: the cap is checked before
** anything grows. */
static char *reserve(struct enc *e, size_t n)
{
    char *p = dynbuf_extend(&e->b->out, n);
    if (p)
        return p;
    if (e->b->out.err == DYNBUF_TOOBIG)
        cap_error(e);
    lua_pushliteral(e->L, "not enough memory");
    lua_error(e->L);
    return NULL;
}

static void put(struct enc *e, const char *s, size_t n)
{
    if (n == 0)
        return;
    memcpy(reserve(e, n), s, n);
}

static void put_char(struct enc *e, char c)
{
    *reserve(e, 1) = c;
}

static void newline(struct enc *e, int level)
{
    char *p = reserve(e, 1 + 2 * (size_t)level);
    *p = '\n';
    memset(p + 1, ' ', 2 * (size_t)level);
}

/* The escape of a byte strings may not hold as it is: its length. */
static size_t escape_of(unsigned char c, char esc[6])
{
    static const char hex[] = "0123456789abcdef";
    const char *short_esc = strchr("\"\\\b\f\n\r\t", c);

    esc[0] = '\\';
    if (c && short_esc) {
        esc[1] = "\"\\bfnrt"[short_esc - "\"\\\b\f\n\r\t"];
        return 2;
    }
    memcpy(esc + 1, "u00", 3);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 15];
    return 6;
}

static void put_escape(struct enc *e, unsigned char c)
{
    char esc[6];
    put(e, esc, escape_of(c, esc));
}

static void bad_utf8(struct enc *e, size_t at, int is_key)
{
    char pos[64];
    snprintf(pos, sizeof pos, "byte %zu of the %s", at + 1,
             is_key ? "key" : "string");
    enc_fail(e, "json.encode: invalid UTF-8 (%s) at %s", pos);
}

/*
** Valid UTF-8 goes out as is; only '"', '\' and control characters are
** escaped (RFC 8259 section 7). '/' is not: escaping it is optional and
** only obscures URLs.
*/
static void enc_string(struct enc *e, const char *str, size_t len,
                       int is_key)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, from = 0;

    put_char(e, '"');
    while (i < len) {
        unsigned char cls = str_class[s[i]];
        if (cls == 0) {
            i++;
        } else if (cls == 2) {
            size_t k = utf8_seq(s + i, len - i);
            if (!k)
                bad_utf8(e, i, is_key);
            i += k;
        } else {
            put(e, str + from, i - from);
            put_escape(e, s[i]);
            from = ++i;
        }
    }
    put(e, str + from, i - from);
    put_char(e, '"');
}

static void enc_number(struct enc *e, int idx)
{
    lua_State *L = e->L;
    char buf[40];
    double d;

    if (lua_isinteger(L, idx)) {
        put(e, buf, (size_t)fmt_int(buf, (long long)lua_tointeger(L, idx)));
        return;
    }
    d = lua_tonumber(L, idx);
    if (isnan(d) || isinf(d))
        enc_fail(e, "json.encode: cannot encode %s at %s (JSON has no NaN "
                 "or infinity)", isnan(d) ? "NaN" : d > 0 ? "inf" : "-inf");
    put(e, buf, (size_t)fmt_double(buf, sizeof buf, d));
}

/* Whether the value at idx is a clawhost.Secret (__name read raw). */
static int is_secret(lua_State *L, int idx)
{
    int yes = 0;
    if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
        lua_pushliteral(L, "__name");
        lua_rawget(L, -2);
        yes = lua_type(L, -1) == LUA_TSTRING &&
              strcmp(lua_tostring(L, -1), "clawhost.Secret") == 0;
        lua_pop(L, 2);
    }
    return yes;
}

/*
** Refuse a value JSON cannot hold, naming its type from __name (read
** raw, no metamethod runs). Secrets get the rule that applies to them
** (DESIGN section 5): they only ever travel in headers.
*/
static void refuse(struct enc *e, int idx)
{
    lua_State *L = e->L;
    const char *what = luaL_typename(L, idx);
    const char *fmt = "json.encode: cannot encode a %s at %s";

    if (lua_type(L, idx) == LUA_TLIGHTUSERDATA) {
        fmt = "json.encode: cannot encode a %s at %s (only json.null is "
              "allowed)";
        what = "light userdata";
    } else if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
        lua_pushliteral(L, "__name");
        if (lua_rawget(L, -2) == LUA_TSTRING)
            what = lua_tostring(L, -1);
        if (strcmp(what, "clawhost.Secret") == 0)
            fmt = "json.encode: cannot encode a %s at %s: a secret never "
                  "becomes text; send it as a header, or in the json "
                  "body of http.request";
    }
    enc_fail(e, fmt, what);
}

static void enc_value(struct enc *e, int idx);

/* A key an object cannot have: say what it is and which table has it. */
static void bad_key(struct enc *e, int kidx, int marked)
{
    lua_State *L = e->L;
    char what[80], num[40];

    if (lua_type(L, kidx) == LUA_TNUMBER) {
        if (lua_isinteger(L, kidx))
            fmt_int(num, (long long)lua_tointeger(L, kidx));
        else
            fmt_double(num, sizeof num, lua_tonumber(L, kidx));
        snprintf(what, sizeof what, "the number key %s", num);
    } else {
        snprintf(what, sizeof what, "a %s key", luaL_typename(L, kidx));
    }
    if (marked)
        enc_fail(e, "json.encode: json.array has %s at %s (array keys are "
                 "1..n)", what);
    enc_fail(e, "json.encode: table has %s at %s (object keys are strings, "
             "array keys 1..n)", what);
}

static void add_key(struct enc *e, const char *s, size_t n)
{
    struct outbuf *b = e->b;
    if (b->nkeys == b->keycap) {
        size_t cap = b->keycap ? b->keycap * 2 : 64;
        b->keys = grow(e->L, b, b->keys, b->keycap * sizeof *b->keys,
                       cap * sizeof *b->keys);
        b->keycap = cap;
    }
    b->keys[b->nkeys].s = s;
    b->keys[b->nkeys].n = n;
    b->nkeys++;
}

struct shape {
    size_t nstr, nint;
    lua_Integer maxi;
};

/*
** One raw pass over the keys: string keys go to the scratch array to be
** sorted, integer keys 1.. are counted, anything else is an error.
*/
static void scan_keys(struct enc *e, int idx, int marked, struct shape *sh)
{
    lua_State *L = e->L;

    sh->nstr = sh->nint = 0;
    sh->maxi = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            add_key(e, s, n);
            sh->nstr++;
        } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            lua_Integer i = lua_tointeger(L, -1);
            sh->nint++;
            if (i > sh->maxi)
                sh->maxi = i;
        } else {
            bad_key(e, lua_gettop(L), marked);
        }
    }
}

static void sparse_error(struct enc *e, int idx, lua_Integer maxi)
{
    lua_State *L = e->L;
    char what[64];
    lua_Integer i = 1;

    while (i < maxi && lua_rawgeti(L, idx, i) != LUA_TNIL) {
        lua_pop(L, 1);
        i++;
    }
    snprintf(what, sizeof what, "%lld", (long long)i);
    enc_fail(e, "json.encode: array is missing index %s at %s (sparse "
             "arrays are refused; use json.null for holes)", what);
}

/* Decide what the table at idx is; 1 for an array of n, 0 an object. */
static int classify(struct enc *e, int idx, int marked, size_t *n)
{
    struct shape sh;

    scan_keys(e, idx, marked, &sh);
    if (sh.nstr && (marked || sh.nint)) {
        const struct key *k = &e->b->keys[e->b->nkeys - sh.nstr];
        luaL_Buffer b;
        const char *what;
        luaL_buffinit(e->L, &b);
        path_add_key(&b, k->s, k->n, 1);
        luaL_pushresult(&b);
        what = lua_tostring(e->L, -1);
        if (marked)
            enc_fail(e, "json.encode: json.array has the string key %s "
                     "at %s (array keys are 1..n)", what);
        enc_fail(e, "json.encode: table mixes integer keys and string keys "
                 "(such as %s) at %s", what);
    }
    if (sh.nstr) {
        *n = sh.nstr;
        return 0;
    }
    if ((lua_Unsigned)sh.maxi != sh.nint)
        sparse_error(e, idx, sh.maxi);
    *n = sh.nint;
    return marked || sh.nint > 0;
}

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    if (c)
        return c;
    return (x->n > y->n) - (x->n < y->n);
}

static void enc_array(struct enc *e, int idx, size_t n)
{
    lua_State *L = e->L;
    struct seg *s = &e->path.s[e->path.n++];

    put_char(e, '[');
    s->key = NULL;
    for (size_t i = 1; i <= n; i++) {
        if (i > 1)
            put_char(e, ',');
        if (e->pretty)
            newline(e, e->depth);
        s->index = (lua_Integer)i;
        lua_rawgeti(L, idx, (lua_Integer)i);
        enc_value(e, lua_gettop(L));
        lua_pop(L, 1);
    }
    e->path.n--;
    if (e->pretty && n)
        newline(e, e->depth - 1);
    put_char(e, ']');
}

/*
** Members in byte order of their keys (memcmp, not strcoll), so the same
** table gives the same text in every run: Lua seeds its string hashes
** per process, so pairs() order is not stable.
*/
static void enc_object(struct enc *e, int idx, size_t n)
{
    lua_State *L = e->L;
    size_t base = e->b->nkeys - n;
    struct seg *s = &e->path.s[e->path.n++];

    if (n > 1)
        qsort(e->b->keys + base, n, sizeof *e->b->keys, key_cmp);
    put_char(e, '{');
    for (size_t i = 0; i < n; i++) {
        struct key k = e->b->keys[base + i];
        if (i)
            put_char(e, ',');
        if (e->pretty)
            newline(e, e->depth);
        s->key = k.s;
        s->klen = k.n;
        enc_string(e, k.s, k.n, 1);
        put(e, ": ", e->pretty ? 2 : 1);
        lua_pushlstring(L, k.s, k.n);
        lua_rawget(L, idx);
        enc_value(e, lua_gettop(L));
        lua_pop(L, 1);
    }
    e->path.n--;
    e->b->nkeys = base;
    if (e->pretty && n)
        newline(e, e->depth - 1);
    put_char(e, '}');
}

static void enc_table(struct enc *e, int idx)
{
    lua_State *L = e->L;
    const void *p = lua_topointer(L, idx);
    int marked = 0;
    size_t n;

    for (int d = 0; d < e->depth; d++)
        if (e->open[d] == p)
            enc_fail(e, "json.encode: %s at %s (the table contains itself)",
                     "cycle");
    if (e->depth >= JSON_MAX_DEPTH)
        enc_fail(e, "json.encode: nesting deeper than %s at %s", "128");
    luaL_checkstack(L, 8, "json.encode");
    if (lua_getmetatable(L, idx)) {
        marked = lua_topointer(L, -1) == e->array_mt;
        lua_pop(L, 1);
    }
    e->open[e->depth++] = p;
    if (classify(e, idx, marked, &n))
        enc_array(e, idx, n);
    else
        enc_object(e, idx, n);
    e->depth--;
}

static void enc_value(struct enc *e, int idx)
{
    lua_State *L = e->L;

    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        put(e, "null", 4);
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            put(e, "true", 4);
        else
            put(e, "false", 5);
        break;
    case LUA_TNUMBER:
        enc_number(e, idx);
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        enc_string(e, s, n, 0);
        break;
    }
    case LUA_TTABLE:
        enc_table(e, idx);
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            put(e, "null", 4);
            break;
        }
        /* fallthrough */
    default:
        if (e->secrets && is_secret(L, idx)) {
            put_char(e, JSON_SECRET_MARK);
            lua_pushvalue(L, idx);
            lua_rawseti(L, e->secrets,
                        (lua_Integer)lua_rawlen(L, e->secrets) + 1);
            break;
        }
        refuse(e, idx);
    }
}

/*
** encode_core(value, flags) -> text; the buffer is closed on return.
** The collector is stopped while encoding: a GC step can run __gc
** finalizers, which are recipe code, and that code could change a table
** under the encoder, leaving the sorted key pointers dangling. With it
** stopped no Lua code runs until the text is done; the encoder creates
** almost no garbage (long keys re-pushed, error messages).
*/
static int encode_core(lua_State *L)
{
    struct enc e;
    struct jstate *st = state_push(L);

    e.L = L;
    e.max = st->max_encode;
    e.pretty = (int)(lua_tointeger(L, 2) & JSON_PRETTY);
    e.depth = 0;
    e.path.n = 0;
    e.secrets = lua_istable(L, 3) ? 3 : 0;
    luaL_getmetatable(L, JSON_ARRAY_MT);
    e.array_mt = lua_topointer(L, -1);
    lua_pop(L, 2);
    e.b = outbuf_push(L, e.max);
    if (lua_gc(L, LUA_GCISRUNNING) == 1) {
        lua_gc(L, LUA_GCSTOP);
        e.b->gc_stopped = 1;
    }
    enc_value(&e, 1);
    lua_pushlstring(L, e.b->out.p ? e.b->out.p : "", e.b->out.len);
    return 1;
}

int json_encode_value(lua_State *L, int idx, int flags)
{
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, encode_core);
    lua_pushvalue(L, idx);
    lua_pushinteger(L, flags);
    lua_call(L, 2, 1);
    return 1;
}

int json_encode_marked(lua_State *L, int idx, int list)
{
    idx = lua_absindex(L, idx);
    list = lua_absindex(L, list);
    lua_pushcfunction(L, encode_core);
    lua_pushvalue(L, idx);
    lua_pushinteger(L, 0);
    lua_pushvalue(L, list);
    lua_call(L, 3, 1);
    return 1;
}

/*
** The same escaping as the encoder's strings, for bytes that must never
** become a Lua string (a secret's): appended to b as a quoted literal.
*/
int json_quote(struct dynbuf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, from = 0;

    dynbuf_add(b, "\"", 1);
    while (i < len) {
        unsigned char cls = str_class[s[i]];
        if (cls == 0) {
            i++;
        } else if (cls == 2) {
            size_t k = utf8_seq(s + i, len - i);
            if (!k)
                return -1;
            i += k;
        } else {
            char esc[6];
            dynbuf_add(b, str + from, i - from);
            dynbuf_add(b, esc, escape_of(s[i], esc));
            from = ++i;
        }
    }
    dynbuf_add(b, str + from, i - from);
    dynbuf_add(b, "\"", 1);
    return b->err ? -1 : 0;
}

/* ---- the decoder ---- */

/* What the pre-scan found in the input. */
struct scan {
    size_t brackets;    /* '[' outside strings */
    size_t empties;     /* empty arrays: '[' whitespace ']' */
    size_t empty_bytes; /* bytes those take in the input */
    int numbers;        /* a number could be in the input */
    size_t bad;         /* 1-based offset of a refused byte, or 0 */
    const char *why;
};

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void scan_bad(struct scan *sc, size_t at, const char *why)
{
    sc->bad = at + 1;
    sc->why = why;
}

/* From just after an opening quote to just after the closing one. */
static size_t scan_string(const unsigned char *s, size_t len, size_t i,
                          struct scan *sc)
{
    while (i < len) {
        unsigned char c = s[i];
        size_t k;
        if (str_class[c] == 0) {
            i++;
        } else if (c == '"') {
            return i + 1;
        } else if (c == '\\') {
            i += 2;
        } else if (c < 0x20) {
            scan_bad(sc, i, "unescaped control character in a string");
            return len;
        } else if ((k = utf8_seq(s + i, len - i)) != 0) {
            i += k;
        } else {
            scan_bad(sc, i, "invalid UTF-8");
            return len;
        }
    }
    return len;     /* unterminated: cjson says so */
}

static size_t skip_digits(const unsigned char *s, size_t len, size_t i)
{
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* An exponent, if one starts at i: e or E, a sign, digits. */
static size_t skip_exponent(const unsigned char *s, size_t len, size_t i)
{
    if (i == len || (s[i] != 'e' && s[i] != 'E'))
        return i;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    return skip_digits(s, len, i);
}

/*
** From a number's first byte ('-' or a digit) to just after it. cjson
** 2.1.0 hands numbers to strtod, which also takes "1.", "-.5" and
** "2.e3"; RFC 8259 section 6 wants a digit on each side of the '.'
** (int = zero / digit1-9 *DIGIT; frac = "." 1*DIGIT). The rest of a
** number (leading zeros, hex, a bare exponent) cjson refuses itself;
** the exponent is skipped here only so that its sign is not taken for
** the start of another number.
*/
static size_t scan_number(const unsigned char *s, size_t len, size_t i,
                          struct scan *sc)
{
    size_t from;

    sc->numbers = 1;
    if (s[i] == '-')
        i++;
    from = i;
    i = skip_digits(s, len, i);
    if (i < len && s[i] == '.') {
        if (i == from) {
            scan_bad(sc, i, "invalid number (a digit must come before "
                     "'.')");
            return len;
        }
        from = i + 1;
        i = skip_digits(s, len, from);
        if (i == from) {
            scan_bad(sc, i, "invalid number (a digit must follow '.')");
            return len;
        }
    }
    return skip_exponent(s, len, i);
}

/*
** One pass over the input, aware of string literals (a "[]" inside a
** string is text). It refuses what cjson 2.1.0 would let through: bytes
** that are not UTF-8 in strings, raw control characters (RFC 8259
** section 7), NUL (cjson stops reading at one and would ignore what
** follows) and numbers with a bare '.' (RFC 8259 section 6). With out
** set, it also writes the input with every empty array replaced by
** ["MARKER"].
*/
static void scan_text(const unsigned char *s, size_t len, struct scan *sc,
                      char *out, const char *marker)
{
    size_t i = 0, from = 0;

    while (i < len && !sc->bad) {
        unsigned char c = s[i];
        if (c == '"') {
            i = scan_string(s, len, i + 1, sc);
        } else if (c == '[') {
            size_t j = i + 1;
            sc->brackets++;
            while (j < len && is_ws(s[j]))
                j++;
            if (j < len && s[j] == ']') {
                sc->empties++;
                sc->empty_bytes += j + 1 - i;
                if (out) {
                    memcpy(out, s + from, i - from);
                    out += i - from;
                    memcpy(out, "[\"", 2);
                    memcpy(out + 2, marker, MARKER_LEN);
                    memcpy(out + 2 + MARKER_LEN, "\"]", 2);
                    out += MARKER_LEN + 4;
                    from = j + 1;
                }
            }
            i = j;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            i = scan_number(s, len, i, sc);
        } else {
            if (c == 0)
                scan_bad(sc, i, "NUL byte");
            i++;
        }
    }
    if (out)
        memcpy(out, s + from, len - from);
}

static int too_large(lua_State *L, size_t len, size_t expanded, size_t max)
{
    char a[32], b[32], c[32];

    snprintf(a, sizeof a, "%zu", len);
    snprintf(c, sizeof c, "%zu", max);
    if (expanded == len)
        return err_raise(L, "json", "json.decode: the input is %s bytes; "
                         "the limit is %s bytes", a, c);
    snprintf(b, sizeof b, "%zu", expanded);
    return err_raise(L, "json", "json.decode: the input is %s bytes, %s "
                     "once its empty arrays are marked; the limit is %s "
                     "bytes", a, b, c);
}

/*
** cjson 2.1.0 decodes `[]` and `{}` to the same empty table and has no
** decode_array_with_array_mt (that is in the OpenResty fork only). So
** each empty array is rewritten, outside strings, to a one-element array
** holding the marker; after decoding, the walk swaps each such array for
** an empty table with the array metatable. The rewritten text counts
** against the same cap: cjson mallocs a buffer of its size.
*/
static void expand_empty_arrays(lua_State *L, const char *s, size_t len,
                                struct scan *sc, size_t max,
                                const char *marker)
{
    size_t n = len - sc->empty_bytes + sc->empties * (MARKER_LEN + 4);
    struct scan again = { 0 };
    luaL_Buffer b;
    char *out;

    if (n > max)
        too_large(L, len, n, max);
    out = luaL_buffinitsize(L, &b, n);
    scan_text((const unsigned char *)s, len, &again, out, marker);
    luaL_pushresultsize(&b, n);
}

static const char *const token_names[][2] = {
    {"T_OBJ_BEGIN", "'{'"}, {"T_OBJ_END", "'}'"},
    {"T_ARR_BEGIN", "'['"}, {"T_ARR_END", "']'"},
    {"T_STRING", "a string"}, {"T_NUMBER", "a number"},
    {"T_BOOLEAN", "a boolean"}, {"T_NULL", "null"},
    {"T_COLON", "':'"}, {"T_COMMA", "','"},
    {"T_END", "the end of the input"},
    {"Found too many nested data structures",
     "nesting deeper than 128 levels"},
    {" at character ", " at byte "},
    {NULL, NULL}
};

/*
** cjson's messages ("Expected value but found T_END at character 6")
** become ours: "json.decode: expected value but found the end of the
** input at byte 6". The position is cjson's, 1-based.
*/
static int raise_cjson_error(lua_State *L, int idx)
{
    const char *msg = lua_tostring(L, idx);
    char first[2];

    if (!msg)
        msg = "invalid JSON";
    for (int i = 0; token_names[i][0]; i++)
        msg = luaL_gsub(L, msg, token_names[i][0], token_names[i][1]);
    first[0] = (char)(msg[0] >= 'A' && msg[0] <= 'Z' ? msg[0] + 32 : msg[0]);
    first[1] = '\0';
    return err_raise(L, "json", "json.decode: %s%s", first,
                     msg[0] ? msg + 1 : "");
}

/*
** cjson failed. Its own memory errors pass through as they are. On a
** rewritten text its position would be off, so the original is decoded
** again for the message: the rewrite keeps bad input bad at the same
** token.
*/
static int cjson_failed(lua_State *L, int status, int decode_idx,
                        int orig_idx, int rewritten)
{
    if (status != LUA_ERRRUN)
        return lua_error(L);
    if (rewritten) {
        lua_pushvalue(L, decode_idx);
        lua_pushvalue(L, orig_idx);
        status = lua_pcall(L, 1, 1, 0);
        if (status == LUA_ERRRUN)
            return raise_cjson_error(L, -1);
        if (status != LUA_OK)
            return lua_error(L);
        lua_pop(L, 1);      /* cannot happen; keep the first message */
    }
    return raise_cjson_error(L, -1);
}

/* ---- after cjson: mark arrays, restore empty ones, fix numbers ---- */

struct walk {
    lua_State *L;
    int marker;         /* stack index of the marker string */
    int mt;             /* stack index of the array metatable */
    int has_markers;    /* the text had empty arrays */
    size_t replaced;
    struct path path;
};

static void walk_table(struct walk *w, int t);

static int is_marker_array(struct walk *w, int idx)
{
    lua_State *L = w->L;
    int is;

    if (lua_rawlen(L, idx) != 1)
        return 0;
    is = lua_rawgeti(L, idx, 1) == LUA_TSTRING &&
         lua_rawequal(L, -1, w->marker);
    lua_pop(L, 1);
    return is;
}

/*
** Fix the value on top; returns 1 when it was replaced and must be
** stored back. cjson 2.1.0 pushes every number as a float, so integral
** ones within 2^53 become integers (an id prints as 42, not 42.0); a
** number too large for a double came back as inf and is refused.
*/
static int walk_value(struct walk *w)
{
    lua_State *L = w->L;
    double d;

    if (lua_type(L, -1) == LUA_TTABLE) {
        if (!w->has_markers || !is_marker_array(w, -1)) {
            walk_table(w, lua_gettop(L));
            return 0;
        }
        lua_pop(L, 1);
        lua_createtable(L, 0, 0);
        lua_pushvalue(L, w->mt);
        lua_setmetatable(L, -2);
        w->replaced++;
        return 1;
    }
    if (lua_type(L, -1) != LUA_TNUMBER || lua_isinteger(L, -1))
        return 0;
    d = lua_tonumber(L, -1);
    if (isinf(d))
        err_raise(L, "json", "json.decode: number out of range at %s",
                  push_path(L, &w->path));
    if (d != floor(d) || fabs(d) > EXACT_INT_MAX || (d == 0 && signbit(d)))
        return 0;
    lua_pop(L, 1);
    lua_pushinteger(L, (lua_Integer)d);
    return 1;
}

static void walk_array(struct walk *w, int t, lua_Unsigned n)
{
    lua_State *L = w->L;
    struct seg *s = &w->path.s[w->path.n++];

    lua_pushvalue(L, w->mt);
    lua_setmetatable(L, t);
    s->key = NULL;
    for (lua_Unsigned i = 1; i <= n; i++) {
        s->index = (lua_Integer)i;
        lua_rawgeti(L, t, (lua_Integer)i);
        if (walk_value(w))
            lua_rawseti(L, t, (lua_Integer)i);
        else
            lua_pop(L, 1);
    }
    w->path.n--;
}

/* cjson objects have string keys only, so rawlen 0 means an object. */
static void walk_table(struct walk *w, int t)
{
    lua_State *L = w->L;
    lua_Unsigned n = lua_rawlen(L, t);
    struct seg *s;

    if (w->path.n >= MAX_SEGS - 1)
        err_raise(L, "json", "json.decode: nesting deeper than 128 levels");
    luaL_checkstack(L, 6, "json.decode");
    if (n > 0) {
        walk_array(w, t, n);
        return;
    }
    s = &w->path.s[w->path.n++];
    lua_pushnil(L);
    while (lua_next(L, t)) {
        s->key = lua_tolstring(L, -2, &s->klen);
        if (walk_value(w)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, t);
        } else {
            lua_pop(L, 1);
        }
    }
    w->path.n--;
}

/* Walk the decoded value at idx (replacing it if it is the marker). */
static void walk_result(lua_State *L, int idx, int marker, size_t empties)
{
    struct walk w;

    luaL_getmetatable(L, JSON_ARRAY_MT);
    w.L = L;
    w.marker = marker;
    w.mt = lua_gettop(L);
    w.has_markers = empties > 0;
    w.replaced = 0;
    w.path.n = 0;
    lua_pushvalue(L, idx);
    if (walk_value(&w))
        lua_replace(L, idx);
    else
        lua_pop(L, 1);
    if (w.replaced != empties)
        err_raise(L, "json", "json.decode: internal error: %d of %d empty "
                  "arrays restored", (int)w.replaced, (int)empties);
    lua_pop(L, 1);
}

static void check_size(lua_State *L, size_t len, size_t max)
{
    if (len > max)
        too_large(L, len, len, max);
}

/*
** decode_core(text) or decode_core(pointer, length) -> value. The cap is
** checked before the pointer form is even copied into a Lua string.
*/
static int decode_core(lua_State *L)
{
    struct jstate *st = state_push(L);
    struct scan sc = { 0 };
    const char *s;
    size_t len;
    int status, orig;

    if (lua_type(L, 1) == LUA_TLIGHTUSERDATA) {
        len = (size_t)lua_tointeger(L, 2);
        check_size(L, len, st->max_decode);
        s = lua_pushlstring(L, lua_touserdata(L, 1), len);
    } else {
        s = lua_tolstring(L, 1, &len);
        check_size(L, len, st->max_decode);
        lua_pushvalue(L, 1);
    }
    orig = lua_gettop(L);
    scan_text((const unsigned char *)s, len, &sc, NULL, NULL);
    if (sc.bad) {
        char at[32];
        snprintf(at, sizeof at, "%zu", sc.bad);
        return err_raise(L, "json", "json.decode: %s at byte %s", sc.why,
                         at);
    }
    lua_getiuservalue(L, orig - 1, UV_DECODE);
    lua_getiuservalue(L, orig - 1, UV_MARKER);
    lua_pushvalue(L, -2);
    if (sc.empties)
        expand_empty_arrays(L, s, len, &sc, st->max_decode,
                            lua_tostring(L, orig + 2));
    else
        lua_pushvalue(L, orig);
    status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK)
        return cjson_failed(L, status, orig + 1, orig, sc.empties > 0);
    if (sc.brackets || sc.numbers)
        walk_result(L, lua_gettop(L), orig + 2, sc.empties);
    return 1;
}

/*
** Run fn (pushed with its arguments) protected. A "json" error stays on
** the stack and 1 is returned; anything else (out of memory, the host
** stopping the recipe) is raised again: it is not ours to swallow.
*/
static int call_json(lua_State *L, int nargs)
{
    const char *code;

    if (lua_pcall(L, nargs, 1, 0) == LUA_OK)
        return 0;
    code = err_code(L, -1);
    if (code && strcmp(code, "json") == 0)
        return 1;
    return lua_error(L);
}

int json_decode_buffer(lua_State *L, const char *s, size_t len)
{
    lua_pushcfunction(L, decode_core);
    lua_pushlightuserdata(L, (void *)s);
    lua_pushinteger(L, (lua_Integer)len);
    return call_json(L, 2);
}

/* ---- the Lua module ---- */

static void check_text(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING)
        luaL_typeerror(L, 1, "string");
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    return json_encode_value(L, 1, 0);
}

static int l_decode(lua_State *L)
{
    check_text(L);
    lua_pushcfunction(L, decode_core);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

static int l_safe_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushcfunction(L, encode_core);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    if (call_json(L, 2)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

static int l_safe_decode(lua_State *L)
{
    check_text(L);
    lua_pushcfunction(L, decode_core);
    lua_pushvalue(L, 1);
    if (call_json(L, 1)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/*
** json.array([t]): mark t (or a new table) as an array, so it encodes as
** `[]` even when empty. A table with another metatable is refused: its
** owner's metatable must not be replaced behind its back.
*/
static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    } else if (!lua_istable(L, 1)) {
        return err_raise(L, "json", "json.array: expected a table, got %s",
                         luaL_typename(L, 1));
    }
    lua_settop(L, 1);
    if (is_marked(L, 1))
        return 1;
    if (lua_getmetatable(L, 1))
        return err_raise(L, "json", "json.array: the table already has a "
                         "metatable; only a plain table can be marked");
    push_array_mt(L);
    lua_setmetatable(L, 1);
    return 1;
}

static int l_is_array(lua_State *L)
{
    lua_pushboolean(L, is_marked(L, 1));
    return 1;
}

static const luaL_Reg json_funcs[] = {
    {"encode", l_encode},
    {"decode", l_decode},
    {"array", l_array},
    {"is_array", l_is_array},
    {NULL, NULL}
};

static const luaL_Reg json_safe_funcs[] = {
    {"encode", l_safe_encode},
    {"decode", l_safe_decode},
    {NULL, NULL}
};

int luaopen_clawhost_json(lua_State *L)
{
    state_push(L);
    lua_pop(L, 1);
    luaL_newlib(L, json_funcs);
    luaL_newlib(L, json_safe_funcs);
    lua_setfield(L, -2, "safe");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
