/*
** httpform.c -- the `form` option of http.request (httpform.h).
**
**   http.request{method = "POST", url = ..., form = {
**     {name = "project_id", value = "prj_..."},
**     {name = "file", filename = "faq.md", content_type = "text/markdown",
**      data = ctx.input("document")},
**   }}
**
** Why a host option and not a body built in Lua: the framing (boundary,
** part headers, quoting of names) is a format; libcurl's mime API writes
** it. A secret never goes into a form: it travels in a header, or in a
** json body for the hosts it is bound to.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lib/httpform.h"
#include "util/digest.h"

static const char *field(lua_State *L, int part, int i, const char *k,
                         size_t *len, int required)
{
    int t = lua_getfield(L, part, k);
    const char *s = NULL;
    if (t == LUA_TSTRING) {
        s = lua_tolstring(L, -1, len);
    } else if (t != LUA_TNIL || required) {
        luaL_error(L, "http: form part %d: %s must be a string%s", i, k,
                   t == LUA_TUSERDATA ? " (a secret never goes into a "
                   "form: send it in a header)" : "");
    }
    lua_pop(L, 1);              /* the list keeps the string alive */
    return s;
}

void httpform_parse(lua_State *L, int idx, struct transfer_part **parts,
                    size_t *n)
{
    idx = lua_absindex(L, idx);
    luaL_argexpected(L, lua_istable(L, idx), 1, "form to be a list");
    size_t count = lua_rawlen(L, idx);
    if (count == 0 || count > HTTPFORM_MAX_PARTS)
        luaL_error(L, "http: form must have 1 to %d parts",
                   HTTPFORM_MAX_PARTS);
    struct transfer_part *p = lua_newuserdatauv(L, count * sizeof *p, 0);
    memset(p, 0, count * sizeof *p);
    for (size_t i = 0; i < count; i++) {
        size_t len = 0, vlen = 0;
        int part;
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        part = lua_gettop(L);
        if (!lua_istable(L, part))
            luaL_error(L, "http: form part %d must be a table {name =, "
                       "value =} or {name =, filename =, data =}",
                       (int)i + 1);
        p[i].name = field(L, part, (int)i + 1, "name", &len, 1);
        if (len == 0 || len > 200)
            luaL_error(L, "http: form part %d: name must be 1 to 200 "
                       "bytes", (int)i + 1);
        p[i].filename = field(L, part, (int)i + 1, "filename", &len, 0);
        p[i].type = field(L, part, (int)i + 1, "content_type", &len, 0);
        p[i].data = field(L, part, (int)i + 1, p[i].filename ? "data" :
                          "value", &vlen, 1);
        p[i].len = vlen;
        lua_pop(L, 1);
    }
    *parts = malloc(count * sizeof **parts);
    if (!*parts)
        luaL_error(L, "http: out of memory building the form");
    memcpy(*parts, p, count * sizeof *p);
    *n = count;
    lua_pop(L, 1);
}

static int sensitive(const char *name)
{
    static const char *const words[] = {"key", "token", "secret",
                                        "password", "auth", "credential",
                                        NULL};
    char low[64];
    size_t i;
    for (i = 0; name[i] && i < sizeof low - 1; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32
                                                          : name[i]);
    low[i] = '\0';
    for (int k = 0; words[k]; k++)
        if (strstr(low, words[k]))
            return 1;
    return 0;
}

void httpform_plan(lua_State *L, const struct transfer_part *parts,
                   size_t n)
{
    char hex[65], err[256];
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        const struct transfer_part *p = &parts[i];
        lua_createtable(L, 0, 5);
        lua_pushstring(L, p->name);
        lua_setfield(L, -2, "name");
        if (!p->filename) {
            if (sensitive(p->name))
                lua_pushliteral(L, "***");
            else
                lua_pushlstring(L, p->data, p->len);
            lua_setfield(L, -2, "value");
        } else {
            lua_pushstring(L, p->filename);
            lua_setfield(L, -2, "filename");
            if (p->type) {
                lua_pushstring(L, p->type);
                lua_setfield(L, -2, "content_type");
            }
            lua_pushinteger(L, (lua_Integer)p->len);
            lua_setfield(L, -2, "bytes");
            if (digest_sha256_hex(p->data, p->len, hex, err,
                                  sizeof err) == 0) {
                lua_pushstring(L, hex);
                lua_setfield(L, -2, "sha256");
            }
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

size_t httpform_bytes(const struct transfer_part *parts, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    return total;
}
