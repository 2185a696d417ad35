/*
** secret.c -- the `secret` module: credentials as opaque values.
**
**   secret.get(name[, opts])       a clawhost.Secret, or nil
**   secret.require(name[, opts])   the same, or a config error (exit 2)
**   secret.bearer(s)               "Bearer <s>" as a secret
**   secret.basic(user, pass)       "Basic base64(user:pass)"
**   secret.random(nbytes[, opts])  a fresh base64url secret
**   secret.info(s)                 {name, source, hosts}
**
** A Secret has no Lua path to its bytes (reliability-anchors 1.6): no
** __index, __concat, __len or __eq, a locked metatable, tostring shows
** "<secret NAME>", cjson and our encoder refuse userdata. Only the HTTP
** layer reads it, into a header, and only for a host it is bound to.
** Every secret is registered with the output redactor when it loads;
** its bytes are wiped when it is collected. docs/secrets.md has it all.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lib/http.h"
#include "lib/secret.h"
#include "pure/baseurl.h"
#include "pure/dotenv.h"
#include "pure/netpolicy.h"
#include "pure/redact.h"
#include "pure/settings.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/out.h"
#include "runtime/sources.h"

#define SECRET_TYPE "clawhost.Secret"
#define MAX_BIND 8
#define NAME_MAX_LEN 64

struct binding {
    char host[NETPOLICY_HOST_MAX];  /* normalized; ".suffix" allowed */
    unsigned port;                  /* 0: any */
};

struct secret {
    char name[NAME_MAX_LEN + 1];
    const char *source;
    char *bytes;                    /* the header text */
    size_t len;
    int nbind;
    struct binding bind[MAX_BIND];
};

/* ---- resolution ---- */

void secret_wipe(char *value, size_t len)
{
    if (value) {
        explicit_bzero(value, len);
        free(value);
    }
}

/* Values are trimmed as settings are (settings_trim); blank is unset. */
static char *trimmed_copy(const char *v, size_t n, size_t *len)
{
    if ((n = settings_trim(&v, n)) == 0)
        return NULL;
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, v, n);
        out[n] = '\0';
        *len = n;
    }
    return out;
}

/* One file per name; `strict`: refuse files others may read. */
static char *read_file(const char *dir, const char *name, int strict,
                       size_t *len, char *err, size_t errlen)
{
    char path[4352], buf[SECRET_MAX + 2];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (strict && (st.st_mode & 077))) {
        close(fd);
        snprintf(err, errlen, "%s may be read by others (mode %04o); it "
                 "holds a credential: run chmod 600 %s", path,
                 (unsigned)(st.st_mode & 07777), path);
        return NULL;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    char *v = n > 0 && (size_t)n <= SECRET_MAX + 1 ?
              trimmed_copy(buf, (size_t)n, len) : NULL;
    explicit_bzero(buf, sizeof buf);
    if (n > SECRET_MAX + 1 || (v && *len > SECRET_MAX)) {
        secret_wipe(v, *len);
        snprintf(err, errlen, "%s is longer than %d bytes", path,
                 SECRET_MAX);
        return NULL;
    }
    return v;
}

char *secret_lookup(const char *name, size_t *len, const char **source,
                    char *err, size_t errlen)
{
    const char *dir, *v, *cerr;
    char *out;
    err[0] = '\0';
    *len = 0;
    if ((dir = getenv("CREDENTIALS_DIRECTORY")) && *dir &&
        ((out = read_file(dir, name, 0, len, err, errlen)) || err[0]))
        return *source = "provider", out;
    if ((dir = getenv("CLAWHOST_SECRETS_DIR")) && *dir &&
        ((out = read_file(dir, name, 1, len, err, errlen)) || err[0]))
        return *source = "folder", out;
    v = config_lookup(name, source, &cerr);
    if (cerr) {
        snprintf(err, errlen, "%s", cerr);
        return NULL;
    }
    if (!v)
        return NULL;
    out = trimmed_copy(v, strlen(v), len);
    if (out && *len > SECRET_MAX) {
        secret_wipe(out, *len);
        snprintf(err, errlen, "%s is longer than %d bytes", name,
                 SECRET_MAX);
        return NULL;
    }
    return out;
}

/* ---- host bindings ---- */

static void bind_host(struct secret *s, const char *host, unsigned port)
{
    char norm[NETPOLICY_HOST_MAX], err[128];
    const char *h = host;
    if (s->nbind == MAX_BIND)
        return;
    if (host[0] != '.') {
        if (netpolicy_host_normalize(host, norm, sizeof norm, err,
                                     sizeof err) < 0)
            return;
        h = norm;
    }
    snprintf(s->bind[s->nbind].host, NETPOLICY_HOST_MAX, "%s", h);
    s->bind[s->nbind++].port = port;
}

/* A base URL binds its host and port; one that does not parse as a
** base URL (pure/baseurl.h) binds nothing, so the secret goes nowhere. */
static void bind_url(struct secret *s, const char *url)
{
    struct baseurl b;
    if (baseurl_parse(url, &b, NULL, 0) == 0)
        bind_host(s, b.host, b.port);
}

/* Where the credentials the seeds know about may go (theta-api.md 1.2):
** the base URL set next to them, else the production hosts; and the
** hosts in `also` in either case. A dedicated endpoint's user and
** password also go to the controller, which sets them on a deployment
** it creates (clawhost run deploy, docs/deployments.md). */
static const struct {
    const char *prefix;         /* names starting with this */
    const char *base[3];        /* the first one set wins */
    const char *hosts[3];       /* otherwise */
    const char *also[2];        /* always */
} known[] = {
    {"THREADS_QUEUE_SECRET", {"THREADS_FASTAPI_BASE_URL"}, {NULL}},
    {"THETA_ONDEMAND_API_", {"THETA_ONDEMAND_API_BASE_URL",
                             "THETA_API_BASE_URL"},
     {"ondemand.thetaedgecloud.com"}},
    {"THETA_API_KEY", {"THETA_ONDEMAND_API_BASE_URL",
                       "THETA_API_BASE_URL"},
     {"ondemand.thetaedgecloud.com"}},
    {"THETA_EC_API_KEY", {NULL},
     {"controller.thetaedgecloud.com", "api.thetaedgecloud.com"}},
    {"THETA_INFERENCE_AUTH_", {"THETA_INFERENCE_ENDPOINT"}, {NULL},
     {"controller.thetaedgecloud.com"}},
    {"THETA_VIDEO_SA_", {NULL}, {"api.thetavideoapi.com"}},
    {"THETA_CLI_PASSWORD", {"THETA_CLI_RPC_URL"}, {NULL}},
    {NULL, {NULL}, {NULL}}
};

static int bind_known(struct secret *s)
{
    const char *src, *err;
    for (int i = 0; known[i].prefix; i++) {
        if (strncmp(s->name, known[i].prefix, strlen(known[i].prefix)))
            continue;
        for (int a = 0; a < 2 && known[i].also[a]; a++)
            bind_host(s, known[i].also[a], 0);
        for (int b = 0; b < 3 && known[i].base[b]; b++) {
            const char *url = config_lookup(known[i].base[b], &src, &err);
            if (url) {
                bind_url(s, url);
                return 1;
            }
        }
        for (int h = 0; h < 3 && known[i].hosts[h]; h++)
            bind_host(s, known[i].hosts[h], 0);
        return 1;
    }
    return 0;
}

struct prefix_ctx {
    struct secret *s;
    size_t n;
};

static int bind_same_prefix(const char *name, const char *value, void *ud)
{
    struct prefix_ctx *c = ud;
    size_t len = strlen(name);
    if (strncmp(name, c->s->name, c->n) == 0 && len > 9 &&
        strcmp(name + len - 9, "_BASE_URL") == 0)
        bind_url(c->s, value);
    return 0;
}

static void bind_hosts(lua_State *L, struct secret *s, int opts);

/*
** Names the table does not know go to the base URLs that share their
** first word (MYAPP_TOKEN -> MYAPP_BASE_URL, MYAPP_API_BASE_URL, ...),
** or where the recipe said when it asked (opts.hosts).
*/
static void bind_default(lua_State *L, struct secret *s, int opts)
{
    const char *us = strchr(s->name, '_');
    if (bind_known(s))
        return;
    if (us) {
        struct prefix_ctx c = {s, (size_t)(us - s->name) + 1};
        config_each(bind_same_prefix, &c);
    }
    if (opts && lua_istable(L, opts))
        bind_hosts(L, s, opts);
}

static int bound_to(const struct secret *s, const char *host, unsigned port)
{
    char norm[NETPOLICY_HOST_MAX], err[128];
    if (netpolicy_host_normalize(host, norm, sizeof norm, err,
                                 sizeof err) < 0)
        return 0;
    for (int i = 0; i < s->nbind; i++) {
        const struct binding *b = &s->bind[i];
        if (b->port && b->port != port)
            continue;
        if (b->host[0] == '.' ? netpolicy_host_matches(b->host, norm) :
            strcmp(b->host, norm) == 0)
            return 1;
    }
    return 0;
}

/* ---- the clawhost.Secret type ---- */

static struct secret *new_secret(lua_State *L, const char *name,
                                 const char *source)
{
    struct secret *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->source = source;
    luaL_setmetatable(L, SECRET_TYPE);
    return s;
}

/* Take ownership of `bytes` (malloc'd): kept out of swap where the
** system allows, wiped when the secret is collected. */
static void set_bytes(struct secret *s, char *bytes, size_t len)
{
    s->bytes = bytes;
    s->len = len;
    mlock(bytes, len);
}

static int secret_gc(lua_State *L)
{
    struct secret *s = luaL_checkudata(L, 1, SECRET_TYPE);
    if (s->bytes) {
        explicit_bzero(s->bytes, s->len);
        munlock(s->bytes, s->len);
        free(s->bytes);
        s->bytes = NULL;
    }
    return 0;
}

static int secret_tostring(lua_State *L)
{
    struct secret *s = luaL_checkudata(L, 1, SECRET_TYPE);
    lua_pushfstring(L, "<secret %s>", s->name);
    return 1;
}

/* Every way to see the bytes refuses, and says what to do instead. */
static int secret_refuse(lua_State *L)
{
    const char *what = lua_tostring(L, lua_upvalueindex(1));
    return luaL_error(L, "a clawhost.Secret cannot be %s: it only goes "
                      "into an HTTP header (headers = {Authorization = "
                      "secret.bearer(s)})", what);
}

static struct secret *check_secret(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, SECRET_TYPE);
}

/* Register with the redactor before anything else can see it. */
/*
** Every secret a run makes is added to the output redactor for the rest
** of the run (a copy may have been printed), and each addition rebuilds
** its matcher: a bound keeps a recipe's loop of secret.random from
** turning that into minutes of CPU (docs/secrets.md).
*/
#define MAX_SECRETS 64

static void protect(lua_State *L, struct secret *s, const void *user,
                    size_t ulen, const char *raw, size_t rawlen)
{
    static int made;
    if (++made > MAX_SECRETS)
        err_raise(L, "secret_limit", "secret %s: a run may hold at most "
                  "%d secrets (secret.get, random, bearer and basic each "
                  "make one); make them once and reuse them", s->name,
                  MAX_SECRETS);
    int rc = out_add_secret(s->name, raw, rawlen, user, ulen);
    if (rc != 0)
        err_raise(L, "config", "cannot protect secret %s in the output "
                  "(too many secrets loaded?); refusing to use it",
                  s->name);
}

/* ---- the module ---- */

/* Push the first of the names (a string, or a list) that is set. */
static int get_one(lua_State *L, const char *name, int opts)
{
    char err[640];
    size_t len;
    const char *src;
    if (!dotenv_valid_key(name, strlen(name)) ||
        strlen(name) > NAME_MAX_LEN)
        return luaL_error(L, "secret: '%s' is not a variable name", name);
    char *v = secret_lookup(name, &len, &src, err, sizeof err);
    if (!v && err[0])
        return err_raise(L, "config", "secret %s: %s", name, err);
    if (!v)
        return 0;
    struct secret *s = new_secret(L, name, src);
    set_bytes(s, v, len);
    protect(L, s, NULL, 0, v, len);
    if (config_mark_secret(name) != 0)
        return luaL_error(L, "out of memory recording the secret %s", name);
    bind_default(L, s, opts);
    return 1;
}

static int get_any(lua_State *L)
{
    const char *const *alias;
    int opts = lua_istable(L, 2) ? 2 : 0;
    if (lua_istable(L, 1)) {
        for (lua_Integer i = 1; i <= luaL_len(L, 1); i++) {
            lua_rawgeti(L, 1, i);
            const char *n = luaL_checkstring(L, -1);
            lua_pop(L, 1);
            if (get_one(L, n, opts))
                return 1;
        }
        return 0;
    }
    const char *name = luaL_checkstring(L, 1);
    if (!(alias = settings_aliases(name)))
        return get_one(L, name, opts);
    for (int i = 0; alias[i]; i++)
        if (get_one(L, alias[i], opts))
            return 1;
    return 0;
}

static int l_get(lua_State *L)
{
    if (!get_any(L))
        lua_pushnil(L);
    return 1;
}

/* One paragraph: the name, every place searched in order with its
** path (a cron job run from / learns why its ./.env.local was not
** read), and what to do. */
static int l_require(lua_State *L)
{
    char places[4 * PATH_MAX];
    if (get_any(L))
        return 1;
    const char *name = lua_istable(L, 1) ?
                       (lua_rawgeti(L, 1, 1), lua_tostring(L, -1)) :
                       lua_tostring(L, 1);
    sources_describe(1, places, sizeof places);
    return err_raise(L, "config", "%s is not set; looked in: %s. Run "
                     "`clawhost setup` (it writes ./.env.local or the "
                     "user file), pass --env-file FILE, or provide it as "
                     "$CREDENTIALS_DIRECTORY/%s", name ? name : "?",
                     places, name ? name : "?");
}

static char *join(const char *a, size_t alen, const char *b, size_t blen,
                  size_t *len)
{
    char *out = malloc(alen + blen + 1);
    if (out) {
        memcpy(out, a, alen);
        memcpy(out + alen, b, blen);
        out[alen + blen] = '\0';
        *len = alen + blen;
    }
    return out;
}

static void copy_bindings(struct secret *to, const struct secret *from)
{
    to->nbind = from->nbind;
    memcpy(to->bind, from->bind, sizeof to->bind);
}

static int l_bearer(lua_State *L)
{
    struct secret *src = check_secret(L, 1);
    size_t len;
    char *v = join("Bearer ", 7, src->bytes, src->len, &len);
    if (!v)
        return luaL_error(L, "secret.bearer: out of memory");
    struct secret *s = new_secret(L, src->name, src->source);
    set_bytes(s, v, len);
    copy_bindings(s, src);
    return 1;
}

/* Standard (RFC 4648 4) or URL-safe (5, no padding) base64. */
static char *base64(const unsigned char *in, size_t n, int url,
                    size_t *len)
{
    const char *abc = url ?
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" :
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 |
                     (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        *o++ = abc[v >> 18 & 63];
        *o++ = abc[v >> 12 & 63];
        if (i + 1 < n || !url)
            *o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
        if (i + 2 < n || !url)
            *o++ = i + 2 < n ? abc[v & 63] : '=';
    }
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

/* "Basic base64(user:pass)" (RFC 7617); the user may be plain text. */
static int l_basic(lua_State *L)
{
    size_t ulen, plen, clen, blen;
    struct secret *us = luaL_testudata(L, 1, SECRET_TYPE);
    const char *user = us ? us->bytes : luaL_checklstring(L, 1, &ulen);
    struct secret *pass = check_secret(L, 2);
    if (us)
        ulen = us->len;
    plen = pass->len;
    char *cred = join(user, ulen, ":", 1, &clen);
    char *both = cred ? join(cred, clen, pass->bytes, plen, &clen) : NULL;
    char *b64 = both ? base64((unsigned char *)both, clen, 0, &blen) : NULL;
    char *v = b64 ? join("Basic ", 6, b64, blen, &blen) : NULL;
    secret_wipe(cred, cred ? ulen + 1 : 0);
    secret_wipe(both, both ? clen : 0);
    secret_wipe(b64, b64 ? strlen(b64) : 0);
    if (!v)
        return luaL_error(L, "secret.basic: out of memory");
    struct secret *s = new_secret(L, pass->name, pass->source);
    set_bytes(s, v, blen);
    copy_bindings(s, pass);
    protect(L, s, user, ulen, pass->bytes, plen);
    return 1;
}

static void bind_hosts(lua_State *L, struct secret *s, int opts)
{
    if (lua_getfield(L, opts, "hosts") == LUA_TTABLE) {
        for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            bind_host(s, luaL_checkstring(L, -1), 0);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

/* For generated deployment passwords (theta-api.md 6.9): n random
** bytes from the kernel, as base64url text. */
static int l_random(lua_State *L)
{
    lua_Integer n = luaL_optinteger(L, 1, 18);
    unsigned char raw[256];
    const char *name = "generated";
    size_t len;
    luaL_argcheck(L, n >= 8 && n <= 256, 1, "between 8 and 256 bytes");
    lua_settop(L, 2);
    int opts = lua_istable(L, 2);
    if (opts && lua_getfield(L, 2, "name") == LUA_TSTRING)
        name = lua_tostring(L, -1);
    if (!redact_valid_name(name))
        return luaL_error(L, "secret.random: name must be 1 to %d "
                          "letters, digits, '_', '.' or '-' (it is how "
                          "output shows the secret: <secret NAME>)",
                          REDACT_NAME_MAX);
    if (getrandom(raw, (size_t)n, 0) != n)
        return luaL_error(L, "secret.random: no randomness available");
    char *v = base64(raw, (size_t)n, 1, &len);
    explicit_bzero(raw, sizeof raw);
    if (!v)
        return luaL_error(L, "secret.random: out of memory");
    struct secret *s = new_secret(L, name, "generated");
    set_bytes(s, v, len);
    protect(L, s, NULL, 0, v, len);
    if (opts) {
        int top = lua_gettop(L);
        bind_hosts(L, s, 2);
        lua_settop(L, top);
    }
    return 1;
}

static int l_info(lua_State *L)
{
    struct secret *s = check_secret(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, s->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, s->source);
    lua_setfield(L, -2, "source");
    lua_createtable(L, s->nbind, 0);
    for (int i = 0; i < s->nbind; i++) {
        if (s->bind[i].port)
            lua_pushfstring(L, "%s:%d", s->bind[i].host,
                            (int)s->bind[i].port);
        else
            lua_pushstring(L, s->bind[i].host);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "hosts");
    return 1;
}

static int l_is(lua_State *L)
{
    lua_pushboolean(L, luaL_testudata(L, 1, SECRET_TYPE) != NULL);
    return 1;
}

int secret_header(lua_State *L, int idx, const char *host,
                       unsigned port, const char **bytes, size_t *len)
{
    struct secret *s = luaL_testudata(L, idx, SECRET_TYPE);
    if (!s)
        return 0;
    if (!s->bytes || !bound_to(s, host, port)) {
        lua_pushfstring(L, "secret %s may not be sent to %s:%d (it is "
                        "bound to %s)", s->name, host, (int)port,
                        s->nbind ? s->bind[0].host : "no host; pass "
                        "hosts = {...} when you get it");
        return -1;
    }
    *bytes = s->bytes;
    *len = s->len;
    lua_pushfstring(L, "<secret %s>", s->name);
    return 1;
}

static const luaL_Reg secret_funcs[] = {
    {"get", l_get},
    {"require", l_require},
    {"bearer", l_bearer},
    {"basic", l_basic},
    {"random", l_random},
    {"info", l_info},
    {"is", l_is},
    {NULL, NULL}
};

static void set_refusal(lua_State *L, const char *event, const char *what)
{
    lua_pushstring(L, what);
    lua_pushcclosure(L, secret_refuse, 1);
    lua_setfield(L, -2, event);
}

int luaopen_clawhost_secret(lua_State *L)
{
    luaL_newmetatable(L, SECRET_TYPE);
    lua_pushcfunction(L, secret_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, secret_tostring);
    lua_setfield(L, -2, "__tostring");
    set_refusal(L, "__concat", "concatenated");
    set_refusal(L, "__len", "measured");
    set_refusal(L, "__eq", "compared");
    set_refusal(L, "__lt", "compared");
    set_refusal(L, "__le", "compared");
    set_refusal(L, "__index", "indexed");
    set_refusal(L, "__newindex", "changed");
    set_refusal(L, "__call", "called");
    hostmt_lock(L, -1);
    lua_pop(L, 1);
    luaL_newlib(L, secret_funcs);
    return 1;
}
