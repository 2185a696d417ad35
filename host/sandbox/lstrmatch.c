/*
** lstrmatch.c -- string.find/match/gmatch/gsub on the polling matcher.
**
** Drop-in replacements for Lua 5.4.4's four pattern functions (manual
** section 6.4): same arguments, same results, same error messages. The
** matching itself is strmatch.c; this file only reads arguments, walks
** the subject the way each function does and pushes results.
**
** When the poll callback set with lstrmatch_set_poll returns nonzero,
** the running call raises the Lua error STRMATCH_ABORT_MSG. The
** matcher holds nothing but C stack, and partial results live in Lua
** buffers, so the error (or a longjmp from the callback) leaks nothing.
*/
#include "sandbox/lstrmatch.h"

#include <ctype.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

static strmatch_poll_fn poll_fn;
static void *poll_ud;

/* Process-global because the host runs one Lua state. */
void lstrmatch_set_poll(strmatch_poll_fn poll, void *ud)
{
    poll_fn = poll;
    poll_ud = ud;
}

/* Raises the matcher's error as Lua does: luaL_error from the C
** function itself, so no position prefix. */
static int raise_error(lua_State *L, const struct strmatch_state *st)
{
    char buf[48];

    return luaL_error(L, "%s", strmatch_errmsg(st, buf, sizeof buf));
}

/* A 1-based, possibly negative start position to a 1-based one in
** [1, len + 1] or beyond; 0 and positions before the start are 1. */
static size_t start_position(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static void push_capture(lua_State *L, struct strmatch_state *st, int i,
                         size_t s, size_t e)
{
    struct strmatch_span c;

    if (strmatch_capture(st, i, s, e, &c) != STRMATCH_OK)
        raise_error(L, st);
    if (c.is_position)
        lua_pushinteger(L, (lua_Integer)c.start + 1);
    else
        lua_pushlstring(L, (const char *)st->src + c.start, c.len);
}

/* Pushes the captures of the match [s, e), or the match itself when
** whole is set and the pattern has none; returns how many. */
static int push_captures(lua_State *L, struct strmatch_state *st,
                         size_t s, size_t e, int whole)
{
    int i, n = strmatch_capture_count(st, whole);

    luaL_checkstack(L, n, "too many captures");
    for (i = 0; i < n; i++)
        push_capture(L, st, i, s, e);
    return n;
}

/* find with plain set, or a pattern without magic characters: a
** substring search, as in Lua (which is why find("a)", "a)") works
** while match raises "invalid pattern capture"). */
static int find_plain(lua_State *L, const char *s, size_t ls,
                      const char *p, size_t lp, size_t init)
{
    size_t pos;

    if (strmatch_find_plain(s, ls, p, lp, init, &pos) != STRMATCH_OK) {
        luaL_pushfail(L);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    lua_pushinteger(L, (lua_Integer)(pos + lp));
    return 2;
}

/* string.find (find set) and string.match: the same search, different
** results. */
static int find_aux(lua_State *L, int find)
{
    size_t ls, lp, b, e;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    struct strmatch_state st;
    int rc;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !strmatch_has_specials(p, lp)))
        return find_plain(L, s, ls, p, lp, init);
    strmatch_init(&st, s, ls, p, lp, poll_fn, poll_ud);
    rc = strmatch_search(&st, init, &b, &e);
    if (rc == STRMATCH_NOMATCH) {
        luaL_pushfail(L);
        return 1;
    }
    if (rc != STRMATCH_OK)
        return raise_error(L, &st);
    if (!find)
        return push_captures(L, &st, b, e, 1);
    lua_pushinteger(L, (lua_Integer)b + 1);
    lua_pushinteger(L, (lua_Integer)e);
    return push_captures(L, &st, b, e, 0) + 2;
}

static int str_find(lua_State *L)
{
    return find_aux(L, 1);
}

static int str_match(lua_State *L)
{
    return find_aux(L, 0);
}

/* The iterator's state, a full userdata kept as its third upvalue; the
** subject and pattern are the first two, so st's pointers stay valid. */
struct gmatch_state {
    size_t src;         /* where the next search starts */
    size_t lastmatch;   /* end of the last match, if has_last */
    int has_last;
    struct strmatch_state st;
};

/* Next match: an empty match is not taken where the previous match
** ended, so "a*" over "baa" yields "", "aa", "" (Lua 5.4 rule). */
static int gmatch_next(lua_State *L)
{
    struct gmatch_state *gm = lua_touserdata(L, lua_upvalueindex(3));
    size_t src, e;
    int rc;

    gm->st.poll = poll_fn;
    gm->st.poll_ud = poll_ud;
    for (src = gm->src; src <= gm->st.srclen; src++) {
        rc = strmatch_at(&gm->st, src, 0, &e);
        if (rc == STRMATCH_OK && !(gm->has_last && e == gm->lastmatch)) {
            gm->src = gm->lastmatch = e;
            gm->has_last = 1;
            return push_captures(L, &gm->st, src, e, 1);
        }
        if (rc == STRMATCH_ERROR || rc == STRMATCH_ABORTED)
            return raise_error(L, &gm->st);
    }
    return 0;
}

/* string.gmatch: a '^' in the pattern is an ordinary character here. */
static int str_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    struct gmatch_state *gm;

    lua_settop(L, 2);
    gm = lua_newuserdatauv(L, sizeof *gm, 0);
    if (init > ls)
        init = ls + 1;
    strmatch_init(&gm->st, s, ls, p, lp, NULL, NULL);
    gm->src = init;
    gm->lastmatch = 0;
    gm->has_last = 0;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* A replacement string: %0-%9 are the match and its captures, %% is a
** '%', any other '%' is an error. */
static void add_string(lua_State *L, luaL_Buffer *b,
                       struct strmatch_state *st, size_t s, size_t e,
                       const char *repl, size_t len)
{
    const char *end = repl + len, *q;
    struct strmatch_span c;

    while ((q = memchr(repl, '%', (size_t)(end - repl))) != NULL) {
        luaL_addlstring(b, repl, (size_t)(q - repl));
        q++;
        if (q < end && *q == '%') {
            luaL_addchar(b, '%');
        } else if (q < end && isdigit((unsigned char)*q)) {
            if (*q == '0') {
                c.start = s;
                c.len = e - s;
                c.is_position = 0;
            } else if (strmatch_capture(st, *q - '1', s, e, &c)
                       != STRMATCH_OK) {
                raise_error(L, st);
            }
            if (c.is_position) {
                lua_pushinteger(L, (lua_Integer)c.start + 1);
                luaL_addvalue(b);
            } else {
                luaL_addlstring(b, (const char *)st->src + c.start, c.len);
            }
        } else {
            luaL_error(L, "invalid use of '%%' in replacement string");
        }
        repl = q + 1;
    }
    luaL_addlstring(b, repl, (size_t)(end - repl));
}

/* The replacement for the match [s, e), argument 3 of type tr. What a
** table or function gives: false or nil keeps the match, a string or
** number replaces it, anything else is an error. Returns whether the
** subject changed. */
static int add_value(lua_State *L, luaL_Buffer *b,
                     struct strmatch_state *st, size_t s, size_t e, int tr)
{
    if (tr == LUA_TSTRING || tr == LUA_TNUMBER) {
        size_t len;
        const char *repl = lua_tolstring(L, 3, &len);
        add_string(L, b, st, s, e, repl, len);
        return 1;
    }
    if (tr == LUA_TFUNCTION) {
        int n;
        lua_pushvalue(L, 3);
        n = push_captures(L, st, s, e, 1);
        lua_call(L, n, 1);
    } else {
        push_capture(L, st, 0, s, e);
        lua_gettable(L, 3);
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, (const char *)st->src + s, e - s);
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)",
                          luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

/* string.gsub. The arguments are checked in Lua's order (the limit n
** before the type of the replacement), so errors name the same one. */
static int str_gsub(lua_State *L)
{
    size_t srcl, lp, pos = 0, e, last = 0;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    int anchor = lp > 0 && *p == '^';
    int changed = 0, has_last = 0, rc;
    lua_Integer n = 0;
    struct strmatch_state st;
    luaL_Buffer b;

    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING
                     || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    luaL_buffinit(L, &b);
    strmatch_init(&st, src, srcl, p, lp, poll_fn, poll_ud);
    while (n < max_s) {
        rc = strmatch_at(&st, pos, anchor ? 1 : 0, &e);
        if (rc == STRMATCH_OK && !(has_last && e == last)) {
            n++;
            changed |= add_value(L, &b, &st, pos, e, tr);
            pos = last = e;
            has_last = 1;
        } else if (rc == STRMATCH_ERROR || rc == STRMATCH_ABORTED) {
            return raise_error(L, &st);
        } else if (pos < srcl) {
            luaL_addchar(&b, src[pos++]);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src + pos, srcl - pos);
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

static const luaL_Reg strmatch_funcs[] = {
    {"find", str_find},
    {"match", str_match},
    {"gmatch", str_gmatch},
    {"gsub", str_gsub},
    {NULL, NULL}
};

int luaopen_clawhost_strmatch(lua_State *L)
{
    luaL_newlib(L, strmatch_funcs);
    return 1;
}
