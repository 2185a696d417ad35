/*
** config.c -- non-secret settings for recipes.
**
**   config.get(name[, default])          string or default
**   config.bool(name[, default])         1/true/yes/on, 0/false/no/off
**   config.number(name[, default[, min, max]])   clamped to [min, max]
**   config.source(name)                  "env", "env-file", ".env.local",
**                                        "user-file" or nil
**   config.places([secrets])             where a lookup looks, for a
**                                        "not set" message
**
** config values are ordinary Lua strings, which a recipe can print or
** send anywhere, so config is an allow-list (DESIGN section 3): it
** hands out the settings clawhost and its libraries document
** (settings_readable_find, pure/settings.c) and those the recipe
** declares in `settings = {...}` (config_declare, cli/declared.c), and
** nothing else. A name that looks like a credential or was loaded as a
** secret, and a value with a user name or password in URL form, are
** refused with a pointer to the secret module, which keeps them opaque.
** A name deny-list alone cannot do this: GH_PAT, DATABASE_URL and their
** kind have no shape in common.
**
** The C functions (config_lookup, config_each) are the host's own and
** are not restricted.
*/
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "pure/dotenv.h"
#include "pure/settings.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/sources.h"

const char *config_lookup(const char *name, const char **source,
                          const char **err)
{
    return sources_lookup(name, source, err);
}

const char *config_each(int (*fn)(const char *name, const char *value,
                                  void *ud), void *ud)
{
    return sources_each(fn, ud);
}

/* A set of names, for the two lists below. */
struct names {
    char **v;
    size_t n;
};

static int names_has(const struct names *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], name) == 0)
            return 1;
    return 0;
}

static int names_add(struct names *l, const char *name)
{
    char **grown, *copy;
    if (names_has(l, name))
        return 0;
    if (!(grown = realloc(l->v, (l->n + 1) * sizeof *l->v)))
        return -1;
    l->v = grown;
    if (!(copy = strdup(name)))
        return -1;
    l->v[l->n++] = copy;
    return 0;
}

static void names_free(struct names *l)
{
    while (l->n > 0)
        free(l->v[--l->n]);
    free(l->v);
    l->v = NULL;
}

/* Names loaded as secrets in this run: config.get must not hand them
** out as plain strings afterwards. Kept here so that secret.c tells
** config what it loaded, and config needs nothing from secret.c. */
static struct names marked;

/* Names the recipe declares in `settings`, handed down by the loader
** (cli/declared.c) before run() starts; known once it says so. */
static struct names declared;
static int declared_known;

void config_close(void)
{
    sources_close();
    names_free(&marked);
    names_free(&declared);
    declared_known = 0;
}

int config_is_marked(const char *name)
{
    return names_has(&marked, name);
}

int config_mark_secret(const char *name)
{
    return names_add(&marked, name);
}

int config_declare(const char *name)
{
    return names_add(&declared, name);
}

void config_declare_done(void)
{
    declared_known = 1;
}

/* May Lua read it: a documented setting or a declared one? */
static int readable(const char *name)
{
    return settings_readable_find(name) != NULL ||
           names_has(&declared, name);
}

int config_is_secret_name(const char *name)
{
    /* the audit's list, beyond the usual words: PASSPHRASE, COOKIE,
    ** AUTHORIZATION, a GitHub personal access token (_PAT), a DSN
    ** (keyword DSNs hold "password=" with no URL to catch), _CRED */
    static const char *const words[] = {"SECRET", "PASSWORD", "PASSWD",
                                        "PASSPHRASE", "CREDENTIAL",
                                        "PRIVATE_KEY", "API_KEY",
                                        "APIKEY", "COOKIE",
                                        "AUTHORIZATION", NULL};
    static const char *const suffixes[] = {"_TOKEN", "_KEY", "_PASS",
                                           "_PWD", "_PAT", "_DSN",
                                           "_CRED", "_CREDS", "_AUTH",
                                           NULL};
    /* settings of clawhost's own that may carry a password */
    static const char *const names[] = {"CLAWHOST_STORE",
                                        "CLAWHOST_PROXY", NULL};
    size_t n = strlen(name);
    for (int i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    for (int i = 0; words[i]; i++)
        if (strcasestr(name, words[i]))
            return 1;
    for (int i = 0; suffixes[i]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n >= k && strcasecmp(name + n - k, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

int config_parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "true", "yes", "on", NULL};
    static const char *const no[] = {"0", "false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    return -1;
}

/* Names config never hands out, whatever the recipe declares. */
static void refuse_credential(lua_State *L, const char *fn,
                              const char *name)
{
    if (config_is_secret_name(name) || config_is_marked(name))
        err_raise(L, "config", "config.%s('%s'): that name %s; use "
                  "secret.get('%s'), which keeps the value out of Lua "
                  "strings", fn, name, config_is_secret_name(name) ?
                  "looks like a credential" : "was loaded as a secret",
                  name);
}

/* The allow-list: refused whether the variable is set or not, so a
** recipe cannot probe which names exist. Code at the top of a recipe
** file runs before its table, and so its settings, is known. */
static void refuse_unlisted(lua_State *L, const char *fn, const char *name)
{
    if (!readable(name))
        err_raise(L, "config", "config.%s('%s'): %s is not a setting this "
                  "recipe declares or clawhost documents; add settings = "
                  "{ %s = \"what it is\" } to the recipe, or read a "
                  "credential with secret.get('%s')%s", fn, name, name,
                  name, name, declared_known ? "" : " (a recipe's own "
                  "settings are readable once it has loaded: read them "
                  "inside run, not at the top of the file)");
}

/* The lookup shared by every function; raises config errors. The
** message for a value with a login never quotes the value. */
static const char *lookup(lua_State *L, const char *fn, const char **src)
{
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len), *err;
    if (!dotenv_valid_key(name, len))
        luaL_argerror(L, 1, "not a variable name");
    refuse_credential(L, fn, name);
    refuse_unlisted(L, fn, name);
    const char *v = config_lookup(name, src, &err);
    if (err)
        err_raise(L, "config", "%s", err);
    if (v && settings_has_userinfo(v, strlen(v)))
        err_raise(L, "config", "config.%s('%s'): the value of %s (from "
                  "%s) holds a user name or password (user:pass@ in a "
                  "URL), and config hands out no credentials; keep the "
                  "password in a setting of its own and read it with "
                  "secret.get", fn, name, name, *src);
    return v;
}

static int l_get(lua_State *L)
{
    const char *src, *v = lookup(L, "get", &src);
    if (v)
        lua_pushstring(L, v);
    else
        lua_settop(L, 2);
    return 1;
}

static int l_bool(lua_State *L)
{
    const char *src, *v = lookup(L, "bool", &src);
    if (!v) {
        lua_pushboolean(L, lua_toboolean(L, 2));
        return 1;
    }
    int b = config_parse_bool(v);
    if (b < 0)
        return err_raise(L, "config", "%s=%s (from %s): expected one of "
                         "1/true/yes/on or 0/false/no/off",
                         lua_tostring(L, 1), v, src);
    lua_pushboolean(L, b);
    return 1;
}

static int l_number(lua_State *L)
{
    const char *src, *v = lookup(L, "number", &src);
    char *end;
    if (!v) {
        lua_settop(L, 2);
        return 1;
    }
    double d = strtod(v, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == v || *end || !isfinite(d))
        return err_raise(L, "config", "%s=%s (from %s): expected a "
                         "number", lua_tostring(L, 1), v, src);
    if (!lua_isnoneornil(L, 3) && d < luaL_checknumber(L, 3))
        d = lua_tonumber(L, 3);
    if (!lua_isnoneornil(L, 4) && d > luaL_checknumber(L, 4))
        d = lua_tonumber(L, 4);
    if (d == floor(d) && fabs(d) < 9e15)
        lua_pushinteger(L, (lua_Integer)d);
    else
        lua_pushnumber(L, d);
    return 1;
}

static int l_source(lua_State *L)
{
    const char *src, *v = lookup(L, "source", &src);
    if (v)
        lua_pushstring(L, src);
    else
        lua_pushnil(L);
    return 1;
}

/* The places searched, with their paths, so a library's "not set"
** message can say where it looked (the cron job run from / that cannot
** find .env.local). Paths only, never a value. */
static int l_places(lua_State *L)
{
    char text[4 * PATH_MAX];
    sources_describe(lua_toboolean(L, 1), text, sizeof text);
    lua_pushstring(L, text);
    return 1;
}

static const luaL_Reg config_funcs[] = {
    {"get", l_get},
    {"bool", l_bool},
    {"number", l_number},
    {"source", l_source},
    {"places", l_places},
    {NULL, NULL}
};

int luaopen_clawhost_config(lua_State *L)
{
    luaL_newlib(L, config_funcs);
    return 1;
}
