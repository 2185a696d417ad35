/*
** http.c -- the `http` module: requests that wait without blocking.
**
**   http.request{method, url, query, headers, json | body, timeout_ms,
**                retries, idempotency_key, max_bytes, stream, ...}
**   http.get(url[, opts]), http.post(url[, opts])
**
** A request yields its task until the transfer completes (or, for a
** stream, until the headers arrive), so recipe code reads as plain
** sequential Lua while other tasks run. A non-2xx status is a response;
** failures are nil, err with a stable err.code. docs/http.md is the
** contract. Policy lives elsewhere: netpolicy.c (egress), retry.c
** (retries); the curl side is transfer.c.
*/
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "curl/curlurl.h"
#include "curl/transfer.h"
#include "lib/http.h"
#include "lib/httpform.h"
#include "lib/json.h"
#include "lib/lsse.h"
#include "lib/secret.h"
#include "pure/redact.h"
#include "runtime/config.h"
#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/out.h"
#include "runtime/rt.h"
#include "util/dynbuf.h"

#define REQ_TYPE "clawhost.http.Request"
#define RESPONSE_TYPE "clawhost.http.Response"
#define STREAM_TYPE "clawhost.http.Stream"
#define HEADERS_TYPE "clawhost.http.Headers"
#define MAX_BODY_DEFAULT ((size_t)16 << 20)
#define MAX_BODY_LIMIT ((size_t)256 << 20)
#define STREAM_MAX_DEFAULT ((size_t)64 << 20)
#define BACKOFF_CAP_MS 8000L
#define PLAN_BODY_MAX 4096
/* Stream pieces handed to Lua stay well below glibc's mmap threshold
** (128 KiB): a larger string is a fresh mapping, zero-filled page by
** page by the kernel, which costs more than the copy (measured: 96 KiB
** pieces fault 6 times as many pages as 64 KiB ones). */
#define PIECE_MAX ((size_t)64 << 10)

enum want { WANT_NOTHING, WANT_HEADERS, WANT_DATA, WANT_DONE };

struct req {
    struct transfer *t;
    struct transfer_hdrs *headers;
    char *body;
    size_t body_len;
    char *shown_body;           /* a body with secrets, as plans show it */
    int body_wipe;              /* the body holds secret bytes */
    char *url;
    char *shown;                /* URL with secret-looking query masked */
    char host[NETPOLICY_HOST_MAX];
    unsigned port;
    char method[12];
    struct transfer_opts o;
    int attempt, max_attempts;
    double deadline;            /* the call's overall deadline */
    long timeout_ms, backoff_ms;
    int idempotent, has_key, stream;
    enum want want;
    struct task *waiter;
    redact_stream_t *mask;      /* stream bodies, split-safe masking */
    struct dynbuf masked;       /* what the mask let through so far */
    struct transfer_part *parts;        /* a form body (lib/httpform.c) */
    size_t nparts;
    char progress[64];          /* the progress line's label, or "" */
    double progress_at;         /* when it was last written */
    const char *url_arg;        /* http.get/post: the URL, not opts.url */
    const char *method_arg;     /* and the method, not opts.method */
};

/* Knobs from the seed, read once: THETA_HTTP_TIMEOUT_MS and friends. */
static struct {
    int read;
    long timeout_ms, retries, backoff_ms;
} knobs;

static long knob(const char *name, long def, long lo, long hi)
{
    const char *src, *err, *v = config_lookup(name, &src, &err);
    char *end;
    if (!v)
        return def;
    long n = strtol(v, &end, 10);
    if (end == v || *end) {
        log_msgf(LOG_WARN, "%s=%s is not a whole number; using %ld",
                 name, v, def);
        return def;
    }
    return n < lo ? lo : n > hi ? hi : n;
}

static void read_knobs(void)
{
    if (knobs.read)
        return;
    knobs.read = 1;
    knobs.timeout_ms = knob("THETA_HTTP_TIMEOUT_MS", 20000, 1000, 120000);
    knobs.retries = knob("THETA_HTTP_MAX_RETRIES", 2, 0, 6);
    knobs.backoff_ms = knob("THETA_HTTP_RETRY_BACKOFF_MS", 250, 25, 10000);
}

/* ---- the request object ---- */

static void req_clear(struct req *r)
{
    transfer_free(r->t);
    r->t = NULL;
    redact_stream_free(r->mask);
    r->mask = NULL;
    dynbuf_free(&r->masked);
    transfer_hdrs_free(&r->headers);
    if (r->body && r->body_wipe)
        explicit_bzero(r->body, r->body_len);
    free(r->body);
    free(r->parts);
    r->parts = NULL;
    free(r->shown_body);
    free(r->url);
    free(r->shown);
    r->body = r->shown_body = r->url = r->shown = NULL;
}

static int req_gc(lua_State *L)
{
    req_clear(luaL_checkudata(L, 1, REQ_TYPE));
    return 0;
}

static struct req *new_req(lua_State *L)
{
    void *ud;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    struct req *r = lua_newuserdatauv(L, sizeof *r, 1);   /* the form */
    memset(r, 0, sizeof *r);
    /* counted against the recipe's memory cap */
    dynbuf_init_alloc(&r->masked, SIZE_MAX, (dynbuf_alloc_fn)alloc, ud);
    r->masked.wipe = 1;         /* pieces are wiped once given to Lua */
    luaL_setmetatable(L, REQ_TYPE);
    return r;
}

static void on_event(struct transfer *t, enum xfer_event ev, void *ud)
{
    struct req *r = ud;
    struct task *w = r->waiter;
    (void)t;
    if (!w || r->want == WANT_NOTHING)
        return;
    if (ev == XEV_DONE || (ev == XEV_HEADERS && r->want == WANT_HEADERS) ||
        (ev == XEV_DATA && r->want == WANT_DATA)) {
        r->waiter = NULL;
        r->want = WANT_NOTHING;
        loop_wake(w);
    }
}

/* The task waiting on r is being abandoned: stop the transfer. */
static void on_cancel(void *ud)
{
    struct req *r = ud;
    r->waiter = NULL;
    r->want = WANT_NOTHING;
    if (r->t)
        transfer_abort(r->t);
}

/* Wait until r's transfer reaches `w`; k(ctx) continues. */
static int wait_on(lua_State *L, struct req *r, enum want w,
                   lua_KFunction k, lua_KContext ctx)
{
    r->want = w;
    r->waiter = loop_current();
    return loop_wait(L, ctx, k, on_cancel, r);
}

static int wait_for(lua_State *L, struct req *r, enum want w,
                    lua_KFunction k)
{
    return wait_on(L, r, w, k, (lua_KContext)r);
}

/* ---- options ---- */

static long opt_int(lua_State *L, int t, const char *k, long def, long lo,
                    long hi)
{
    long v = def;
    int type = lua_getfield(L, t, k);
    if (type != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            luaL_error(L, "http: %s must be a whole number", k);
        v = (long)lua_tointeger(L, -1);
        if (v < lo || v > hi)
            luaL_error(L, "http: %s must be between %I and %I", k,
                       (lua_Integer)lo, (lua_Integer)hi);
    }
    lua_pop(L, 1);
    return v;
}

static const char *opt_str(lua_State *L, int t, const char *k)
{
    const char *v = NULL;
    int type = lua_getfield(L, t, k);
    if (type == LUA_TSTRING)
        v = lua_tostring(L, -1);        /* kept alive by the options */
    else if (type != LUA_TNIL)
        luaL_error(L, "http: %s must be a string", k);
    lua_pop(L, 1);
    return v;
}

static int is_idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
           !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

static void parse_method(lua_State *L, int opts, struct req *r)
{
    static const char *const ok[] = {"GET", "HEAD", "POST", "PUT",
                                     "PATCH", "DELETE", "OPTIONS", NULL};
    const char *m = r->method_arg ? r->method_arg :
                    opt_str(L, opts, "method");
    char up[12];
    size_t i = 0;
    if (!m)
        m = "GET";
    for (; m[i] && i + 1 < sizeof up; i++)
        up[i] = (char)toupper((unsigned char)m[i]);
    up[i] = '\0';
    for (int k = 0; ok[k]; k++) {
        if (strcmp(ok[k], up) == 0 && !m[i]) {
            memcpy(r->method, up, i + 1);
            r->idempotent = is_idempotent(up);
            return;
        }
    }
    luaL_error(L, "http: method must be one of GET, HEAD, POST, PUT, "
               "PATCH, DELETE, OPTIONS (got '%s')", m);
}

static void parse_limits(lua_State *L, int opts, struct req *r)
{
    r->timeout_ms = opt_int(L, opts, "timeout_ms", knobs.timeout_ms, 1,
                            86400000L);
    r->max_attempts = 1 + (int)opt_int(L, opts, "retries", knobs.retries,
                                       0, 6);
    r->backoff_ms = opt_int(L, opts, "backoff_ms", knobs.backoff_ms, 1,
                            60000);
    long cap = r->backoff_ms << 3 < BACKOFF_CAP_MS ? r->backoff_ms << 3 :
               BACKOFF_CAP_MS;
    long overall = opt_int(L, opts, "deadline_ms", r->timeout_ms *
                           r->max_attempts + cap * (r->max_attempts - 1),
                           1, 86400000L);
    r->deadline = rt_now() + overall / 1000.0;
    lua_getfield(L, opts, "stream");
    r->stream = lua_toboolean(L, -1);
    lua_pop(L, 1);
    r->o.max_bytes = (size_t)opt_int(L, opts, "max_bytes",
                                     (long)(r->stream ? STREAM_MAX_DEFAULT :
                                            MAX_BODY_DEFAULT), 0,
                                     (long)MAX_BODY_LIMIT);
    r->o.connect_timeout_ms = opt_int(L, opts, "connect_timeout_ms",
                                      r->timeout_ms < 10000 ?
                                      r->timeout_ms : 10000, 1, 600000);
    r->o.first_byte_ms = opt_int(L, opts, "first_byte_timeout_ms", 0, 0,
                                 86400000L);
    r->o.idle_ms = opt_int(L, opts, "idle_timeout_ms", 0, 0, 86400000L);
    const char *label = opt_str(L, opts, "progress");
    if (label)
        snprintf(r->progress, sizeof r->progress, "%s", label);
}

/* ---- headers ---- */

static int token_char(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Headers are sent as given: CR, LF or NUL would let a value start a
** new header (libcurl-security.md, "CRLF in Headers"). */
static void check_header(lua_State *L, const char *name, const char *v,
                         size_t vlen)
{
    static const char *const managed[] = {"host", "content-length",
                                          "transfer-encoding",
                                          "connection", NULL};
    if (!*name)
        luaL_error(L, "http: empty header name");
    for (const char *c = name; *c; c++)
        if (!token_char((unsigned char)*c))
            luaL_error(L, "http: header name '%s' has a character that "
                       "is not allowed", name);
    for (int i = 0; managed[i]; i++)
        if (strcasecmp(name, managed[i]) == 0)
            luaL_error(L, "http: the %s header is set by the host", name);
    for (size_t i = 0; i < vlen; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
            luaL_error(L, "http: header %s contains CR, LF or NUL", name);
}

static void append_header(lua_State *L, struct req *r, const char *name,
                          const char *v, size_t vlen)
{
    size_t n = strlen(name) + vlen + 3;
    char *line = malloc(n);
    int rc = -1;
    if (line) {
        snprintf(line, n, "%s: %.*s", name, (int)vlen, v);
        rc = transfer_hdrs_add(&r->headers, line);
        explicit_bzero(line, n);
        free(line);
    }
    if (rc != 0)
        luaL_error(L, "http: out of memory building headers");
}

static int has_header(lua_State *L, int shown, const char *name)
{
    int found = 0;
    lua_pushnil(L);
    while (!found && lua_next(L, shown)) {
        found = strcasecmp(lua_tostring(L, -2), name) == 0;
        lua_pop(L, 1);
    }
    if (found)
        lua_pop(L, 1);
    return found;
}

/*
** One header from the options; `shown` collects what a plan may show.
** Returns 0, or -1 with a message pushed when a secret may not go to
** this host (the caller turns it into err.code "blocked").
*/
static int add_user_header(lua_State *L, struct req *r, int shown,
                           const char *name, int v)
{
    size_t len;
    const char *s;
    int sec;
    if (lua_type(L, v) == LUA_TSTRING || lua_type(L, v) == LUA_TNUMBER) {
        s = lua_tolstring(L, v, &len);
        check_header(L, name, s, len);
        append_header(L, r, name, s, len);
        lua_pushvalue(L, v);
    } else if ((sec = secret_header(L, v, r->host, r->port, &s,
                                        &len)) > 0) {
        check_header(L, name, s, len);
        append_header(L, r, name, s, len);  /* shown text was pushed */
    } else if (sec < 0) {
        return -1;
    } else {
        return luaL_error(L, "http: header %s must be a string or a "
                          "clawhost.Secret, not a %s", name,
                          luaL_typename(L, v));
    }
    lua_setfield(L, shown, name);
    if (strcasecmp(name, "idempotency-key") == 0)
        r->has_key = 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* The recipe's headers, in name order so requests are reproducible. */
static int add_user_headers(lua_State *L, int opts, struct req *r,
                            int shown)
{
    const char *names[128];
    int n = 0;
    if (lua_getfield(L, opts, "headers") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    int h = lua_gettop(L);
    luaL_argexpected(L, lua_istable(L, h), 1, "headers to be a table");
    lua_pushnil(L);
    while (lua_next(L, h)) {
        if (lua_type(L, -2) != LUA_TSTRING || n == 128)
            return luaL_error(L, "http: headers must be at most 128 "
                              "name = value pairs");
        names[n++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, h, names[i]);
        if (add_user_header(L, r, shown, names[i], lua_gettop(L)) != 0)
            return -1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

static void add_host_header(lua_State *L, struct req *r, int shown,
                            const char *name, const char *value)
{
    if (has_header(L, shown, name))
        return;
    append_header(L, r, name, value, strlen(value));
    lua_pushstring(L, value);
    lua_setfield(L, shown, name);
}

/* ---- body ---- */

/*
** A JSON body whose text (at -1) has secrets marked (json_encode_marked,
** list at -2): the real body is built in C memory that is wiped when the
** request ends, with each secret's bytes quoted in place of its mark; a
** plan shows "<secret NAME>" there instead. A secret goes into a body
** only for the hosts it is bound to, as into a header. Returns 0, or -1
** with a message pushed (err.code "blocked").
*/
static int body_with_secrets(lua_State *L, struct req *r)
{
    size_t len, n = lua_rawlen(L, -2);
    const char *text = lua_tolstring(L, -1, &len);
    int list = lua_gettop(L) - 1, rc = 0;
    struct dynbuf real, plan;
    size_t k = 0;

    dynbuf_init(&real, SIZE_MAX);
    real.wipe = 1;
    dynbuf_init(&plan, SIZE_MAX);
    for (size_t i = 0; i < len && rc == 0; i++) {
        if (text[i] != JSON_SECRET_MARK) {
            dynbuf_add(&real, text + i, 1);
            dynbuf_add(&plan, text + i, 1);
            continue;
        }
        const char *bytes, *as;
        size_t blen, alen;
        lua_rawgeti(L, list, (lua_Integer)++k);
        int sec = k <= n ? secret_header(L, -1, r->host, r->port, &bytes,
                                         &blen) : 0;
        if (sec <= 0) {
            if (sec == 0)
                lua_pushliteral(L, "http: a JSON body lost track of a "
                                "secret");
            rc = -1;
            break;
        }
        as = lua_tolstring(L, -1, &alen);
        if (json_quote(&real, bytes, blen) != 0 && real.err == 0) {
            lua_pushliteral(L, "http: a secret in a JSON body must be "
                            "UTF-8 text");
            rc = -1;
            break;
        }
        json_quote(&plan, as, alen);
        lua_pop(L, 2);
    }
    if (rc == 0) {
        r->body_wipe = 1;
        r->body = dynbuf_take(&real, &r->body_len);
        r->shown_body = dynbuf_take(&plan, &len);
        if (!r->body || !r->shown_body)
            rc = -2;
    }
    dynbuf_free(&real);
    dynbuf_free(&plan);
    if (rc == -2)
        return luaL_error(L, "http: out of memory building the body");
    if (rc == -1) {
        lua_replace(L, list);           /* the message where the list was */
        lua_settop(L, list);
        return -1;
    }
    lua_pop(L, 2);
    return 0;
}

/* The body from json or body; returns -1 with a message pushed when a
** secret in a JSON body may not go to this host. */
/*
** A form body: its parts borrow the bytes of the list, which is kept as
** the request's user value so it lives as long as the request. The
** content type (with its boundary) is libcurl's to write.
*/
static void set_form(lua_State *L, int opts, struct req *r, int req_idx)
{
    if (lua_getfield(L, opts, "form") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (strcmp(r->method, "POST") != 0 && strcmp(r->method, "PUT") != 0 &&
        strcmp(r->method, "PATCH") != 0)
        luaL_error(L, "http: a form goes with POST, PUT or PATCH, not %s",
                   r->method);
    httpform_parse(L, -1, &r->parts, &r->nparts);
    lua_setiuservalue(L, req_idx, 1);
}

static int set_body(lua_State *L, int opts, struct req *r, int shown)
{
    size_t len;
    int has_json = lua_getfield(L, opts, "json") != LUA_TNIL;
    int has_body = lua_getfield(L, opts, "body") != LUA_TNIL;
    if (has_json && has_body)
        luaL_error(L, "http: give json or body, not both");
    if ((has_json || has_body) && r->parts)
        luaL_error(L, "http: give form, json or body, only one");
    if ((has_json || has_body) && (strcmp(r->method, "GET") == 0 ||
                                   strcmp(r->method, "HEAD") == 0))
        luaL_error(L, "http: a %s request cannot carry a body; use POST "
                   "or PUT", r->method);
    if (has_json) {
        lua_newtable(L);
        json_encode_marked(L, -3, -1);
        add_host_header(L, r, shown, "Content-Type", "application/json");
        if (lua_rawlen(L, -2) > 0) {
            if (body_with_secrets(L, r) != 0) {
                lua_replace(L, -3);     /* keep only the message */
                lua_pop(L, 1);
                return -1;
            }
            lua_pop(L, 2);
            return 0;
        }
        lua_remove(L, -2);
    } else if (has_body) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "http: body must be a string, not a %s%s",
                       luaL_typename(L, -1), lua_type(L, -1) ==
                       LUA_TUSERDATA ? " (a secret only goes in a header "
                       "or in a json body)" : "");
        lua_pushvalue(L, -1);
        add_host_header(L, r, shown, "Content-Type",
                        "application/octet-stream");
    } else {
        lua_pop(L, 2);
        return 0;
    }
    const char *s = lua_tolstring(L, -1, &len);
    if (!(r->body = malloc(len ? len : 1)))
        luaL_error(L, "http: out of memory copying the body");
    memcpy(r->body, s, len);
    r->body_len = len;
    lua_pop(L, 3);
    return 0;
}

/* ---- the URL ---- */

/* Query parameters whose values are never logged or shown. */
static int sensitive_name(const char *k, size_t n)
{
    static const char *const words[] = {"key", "token", "sig", "secret",
                                        "password", "auth", "credential",
                                        "policy", "access", "x-amz",
                                        "x-goog", NULL};
    char low[64];
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    low[n] = '\0';
    for (int i = 0; words[i]; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

/* The URL as logs and errors may show it: secret-looking query values
** become "***"; the fragment is dropped. */
static char *shown_url(const char *url)
{
    size_t n = strlen(url);
    char *out = malloc(n + 1), *o = out;
    const char *q = strchr(url, '?'), *p;
    if (!out)
        return NULL;
    if (!q) {
        memcpy(out, url, n + 1);
        return out;
    }
    memcpy(o, url, (size_t)(q - url) + 1);
    o += q - url + 1;
    for (p = q + 1; *p && *p != '#';) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && sensitive_name(p, (size_t)(eq - p))) {
            memcpy(o, p, (size_t)(eq - p) + 1);
            o += eq - p + 1;
            memcpy(o, "***", 3);
            o += 3;
        } else {
            memcpy(o, p, (size_t)(end - p));
            o += end - p;
        }
        if (!amp)
            break;
        *o++ = '&';
        p = amp + 1;
    }
    *o = '\0';
    return out;
}

static void push_pair(lua_State *L, int list, const char *k, int v)
{
    const char *s = lua_type(L, v) == LUA_TBOOLEAN ?
                    (lua_toboolean(L, v) ? "true" : "false") :
                    lua_tostring(L, v);
    if (!s)
        luaL_error(L, "http: query value of %s must be a string, number "
                   "or boolean", k);
    lua_pushfstring(L, "%s=%s", k, s);
    lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
** query = {k = v, list = {"a", "b"}} as "k=v" strings in key order,
** pushed as a list; everything that can raise happens here, before any
** curl handle exists.
*/
static void collect_query(lua_State *L, int opts)
{
    const char *keys[128];
    int n = 0;
    lua_newtable(L);
    int list = lua_gettop(L);
    if (lua_getfield(L, opts, "query") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    int q = lua_gettop(L);
    luaL_argexpected(L, lua_istable(L, q), 1, "query to be a table");
    lua_pushnil(L);
    while (lua_next(L, q)) {
        if (lua_type(L, -2) != LUA_TSTRING || n == 128)
            luaL_error(L, "http: query must be at most 128 name = value "
                       "pairs");
        keys[n++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_keys);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, q, keys[i]);
        if (lua_istable(L, -1)) {
            for (lua_Integer j = 1; j <= luaL_len(L, -1); j++) {
                lua_rawgeti(L, -1, j);
                push_pair(L, list, keys[i], lua_gettop(L));
                lua_pop(L, 1);
            }
        } else {
            push_pair(L, list, keys[i], lua_gettop(L));
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/*
** libcurl takes the URL apart (curl/curlurl.c), so that this check and
** libcurl agree on the host (libcurl-security.md). Credentials in URLs
** are refused: they would travel outside the secret type and show in
** logs.
*/
/* The URL with the query table's pairs appended (collect_query). */
static int url_with_query(lua_State *L, int opts, const char *url,
                          struct curlurl *u, char *err, size_t errlen)
{
    collect_query(L, opts);
    int pairs = lua_gettop(L);
    size_t n = lua_rawlen(L, pairs);
    const char **v = lua_newuserdatauv(L, (n ? n : 1) * sizeof *v, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, pairs, (lua_Integer)i + 1);
        v[i] = lua_tostring(L, -1);     /* kept alive by the list */
        lua_pop(L, 1);
    }
    int st = curlurl_build(url, v, n, u, err, errlen);
    lua_pop(L, 2);
    return st;
}

static void build_url(lua_State *L, int opts, struct req *r, char *scheme,
                      size_t slen)
{
    const char *url = r->url_arg ? r->url_arg : opt_str(L, opts, "url");
    struct curlurl u;
    char err[512];
    if (!url)
        luaL_error(L, "http: url is required");
    int query = lua_getfield(L, opts, "query") != LUA_TNIL;
    lua_pop(L, 1);
    int st = query ? url_with_query(L, opts, url, &u, err, sizeof err) :
             curlurl_build(url, NULL, 0, &u, err, sizeof err);
    if (st == CURLURL_NO_LIBCURL)
        err_raise(L, "config", "%s", err);
    if (st == CURLURL_INVALID)
        luaL_error(L, "http: '%s' is not a valid absolute URL", url);
    if (st == CURLURL_CREDENTIALS)
        luaL_error(L, "http: credentials in the URL are refused; send "
                   "them as a header (secret.basic, secret.bearer)");
    snprintf(scheme, slen, "%s", u.scheme);
    snprintf(r->host, sizeof r->host, "%s", u.host);
    r->port = u.port;
    r->url = u.url;
    if (!r->url || !(r->shown = shown_url(r->url)))
        luaL_error(L, "http: out of memory building the URL");
}

/* ---- results ---- */

static const char *path_of(const char *shown)
{
    const char *p = strstr(shown, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "/";
}

/* Each attempt is detail for --verbose: a failure the caller reports
** is its one message, not one line per attempt (issue 15). */
static void log_attempt(struct req *r)
{
    struct transfer *t = r->t;
    enum xfer_error e = transfer_error(t);
    struct log_field f[] = {
        {"method", r->method, 0}, {"host", r->host, 0},
        {"path", path_of(r->shown), 0},
        {e ? "error" : "status", e ? transfer_error_code(e) : NULL,
         transfer_status(t)},
        {"ms", NULL, transfer_elapsed_ms(t)},
        {"attempt", NULL, r->attempt},
        {"bytes", NULL, (long long)transfer_bytes(t)},
    };
    log_fields(LOG_DEBUG, "http", f, 7);
}

static int fail(lua_State *L, struct req *r, const char *code,
                const char *msg)
{
    lua_pushnil(L);
    err_push(L, code, "%s %s: %s%s", r->method, r->shown, msg,
             r->attempt > 1 ? " (after retries)" : "");
    lua_pushstring(L, r->shown);
    lua_setfield(L, -2, "url");
    lua_pushinteger(L, r->attempt);
    lua_setfield(L, -2, "attempts");
    return 2;
}

/* err.sent says whether the server may have seen the request, so a
** caller can release a budget reservation for what never left. */
static int fail_transfer(lua_State *L, struct req *r)
{
    enum xfer_error e = transfer_error(r->t);
    int sent = transfer_outcome(r->t) != RETRY_NOT_SENT &&
               e != XE_BLOCKED;
    lua_pushstring(L, transfer_message(r->t));
    transfer_free(r->t);
    r->t = NULL;
    fail(L, r, transfer_error_code(e), lua_tostring(L, -1));
    lua_remove(L, -3);
    lua_pushboolean(L, sent);
    lua_setfield(L, -2, "sent");
    return 2;
}

/* Dry run: the host itself refuses to send anything but GET and HEAD,
** and says exactly what would have been sent. */
static int dry_run(lua_State *L, struct req *r, int shown)
{
    log_msgf(LOG_INFO, "dry run: not sending %s %s", r->method, r->shown);
    fail(L, r, "dry_run", "not sent (dry run)");
    lua_createtable(L, 0, 6);
    lua_pushstring(L, r->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, r->shown);
    lua_setfield(L, -2, "url");
    lua_pushvalue(L, shown);
    lua_setfield(L, -2, "headers");
    lua_pushinteger(L, (lua_Integer)r->body_len);
    lua_setfield(L, -2, "body_bytes");
    if (r->shown_body) {
        lua_pushstring(L, r->shown_body);
        lua_setfield(L, -2, "body");
    } else if (r->body && r->body_len <= PLAN_BODY_MAX) {
        lua_pushlstring(L, r->body, r->body_len);
        lua_setfield(L, -2, "body");
    }
    if (r->parts) {
        lua_pushinteger(L, (lua_Integer)httpform_bytes(r->parts,
                                                       r->nparts));
        lua_setfield(L, -2, "body_bytes");
        httpform_plan(L, r->parts, r->nparts);
        lua_setfield(L, -2, "form");
    }
    lua_setfield(L, -2, "plan");
    return 2;
}

static void fail_memory(lua_State *L)
{
    rt_memory_exhausted();
    rt_raise_fatal(L);
}

/*
** Push text from the server, masked: a server that echoes a secret
** (an error page quoting the Authorization header) must not hand it to
** the recipe as a plain string. With a secret loaded, a copy that
** cannot be masked is never pushed plain.
*/
static void push_masked(lua_State *L, const char *s, size_t len)
{
    size_t n;
    char *masked;
    if (!out_has_secrets()) {
        lua_pushlstring(L, s, len);
        return;
    }
    if (!(masked = out_redact(s, len, &n)))
        fail_memory(L);
    lua_pushlstring(L, masked, n);
    explicit_bzero(masked, n);
    free(masked);
}

/* headers[name] with any case: the table keeps lower-case names. */
static int headers_index(lua_State *L)
{
    size_t n;
    const char *k = lua_tolstring(L, 2, &n);
    char low[256];
    if (!k || n >= sizeof low)
        return 0;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    lua_pushstring(L, low);
    lua_rawget(L, 1);
    return 1;
}

/*
** The header values, masked, as a list at the top. They are pieces a
** recipe may join (header_list in order), so they pass one redact
** stream with a mark after each: a secret a server spreads over two
** header lines is masked in the first. Only with a secret loaded.
*/
static void push_values(lua_State *L, const struct xfer_header *h,
                        size_t n)
{
    struct out_pieces p;
    const char *v;
    size_t len, i = 0;
    void *ud;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    lua_createtable(L, (int)n, 0);
    int bad = out_pieces_open(&p, (dynbuf_alloc_fn)alloc, ud) != 0;
    for (size_t k = 0; k < n && !bad; k++)
        bad = out_pieces_add(&p, h[k].value, strlen(h[k].value)) != 0;
    if (!bad && out_pieces_end(&p) == 0) {
        while (out_pieces_next(&p, &v, &len)) {
            lua_pushlstring(L, v, len);
            lua_rawseti(L, -2, (lua_Integer)++i);
        }
    }
    out_pieces_free(&p);
    if (i != n)
        fail_memory(L);
}

/* A repeated header's value is joined with ", " (RFC 9110 5.3) from
** the bytes received, and masked as a whole: the join may make a
** secret that holds ", ". */
static void join_repeated(lua_State *L, int headers,
                          const struct xfer_header *h, size_t n,
                          const char *name)
{
    luaL_Buffer b;
    int first = 1;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(h[i].name, name) != 0)
            continue;
        if (!first)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, h[i].value);
        first = 0;
    }
    luaL_pushresult(&b);
    size_t len;
    const char *joined = lua_tolstring(L, -1, &len);
    push_masked(L, joined, len);
    lua_setfield(L, headers, name);
    lua_pop(L, 1);
}

/* Header value i, masked (from the list at `values`, or as received
** when no secret is loaded and there is no list). */
static void push_value(lua_State *L, int values,
                       const struct xfer_header *h, size_t i)
{
    if (values)
        lua_rawgeti(L, values, (lua_Integer)i + 1);
    else
        lua_pushstring(L, h[i].value);
}

/* headers (by lower-case name) and header_list ({name, value} in
** order), both from the masked values. */
static void push_headers(lua_State *L, struct transfer *t)
{
    size_t n;
    const struct xfer_header *h = transfer_headers(t, &n);
    int values = 0;
    lua_createtable(L, 0, (int)n);
    int headers = lua_gettop(L);
    lua_createtable(L, (int)n, 0);
    int list = lua_gettop(L);
    if (out_has_secrets()) {
        push_values(L, h, n);
        values = lua_gettop(L);
    }
    for (size_t i = 0; i < n; i++) {
        push_value(L, values, h, i);
        if (lua_getfield(L, headers, h[i].name) == LUA_TNIL) {
            lua_pushvalue(L, -2);
            lua_setfield(L, headers, h[i].name);
        } else {
            join_repeated(L, headers, h, n, h[i].name);
        }
        lua_pop(L, 1);
        lua_createtable(L, 2, 0);
        lua_pushstring(L, h[i].name);
        lua_rawseti(L, -2, 1);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, list, (lua_Integer)i + 1);
    }
    lua_settop(L, list);
    lua_insert(L, -2);                      /* list, headers */
    luaL_setmetatable(L, HEADERS_TYPE);
}

/* Fields shared by responses and streams, set in the table at t. */
static void set_common(lua_State *L, int t, struct req *r)
{
    long status = transfer_status(r->t);
    push_headers(L, r->t);                  /* list, headers */
    lua_setfield(L, t, "headers");
    lua_setfield(L, t, "header_list");
    lua_pushinteger(L, status);
    lua_setfield(L, t, "status");
    lua_pushboolean(L, status >= 200 && status <= 299);
    lua_setfield(L, t, "ok");
    lua_pushstring(L, r->shown);
    lua_setfield(L, t, "url");
    lua_pushinteger(L, r->attempt);
    lua_setfield(L, t, "attempts");
    lua_pushinteger(L, transfer_elapsed_ms(r->t));
    lua_setfield(L, t, "ms");
}

static int push_response(lua_State *L, struct req *r)
{
    size_t len;
    const char *body = transfer_body(r->t, &len);
    lua_createtable(L, 0, 10);
    set_common(L, lua_gettop(L), r);
    push_masked(L, body, len);
    lua_setfield(L, -2, "body");
    luaL_setmetatable(L, RESPONSE_TYPE);
    transfer_free(r->t);
    r->t = NULL;
    return 1;
}

/* ---- attempts and retries ---- */

static double unit_random(void)
{
    static int seeded;
    if (!seeded) {
        unsigned short seed[3];
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed[0] = (unsigned short)ts.tv_nsec;
        seed[1] = (unsigned short)(ts.tv_nsec >> 16);
        seed[2] = (unsigned short)getpid();
        seed48(seed);
        seeded = 1;
    }
    return drand48();
}

/* Milliseconds left for this call: its own deadline and the run's. */
static long time_left_ms(struct req *r)
{
    double until = r->deadline < rt_get()->deadline ? r->deadline :
                   rt_get()->deadline;
    return (long)((until - rt_now()) * 1000);
}

static int start_attempt(lua_State *L, struct req *r)
{
    char err[256];
    long left = time_left_ms(r);
    if (left <= 0)
        return fail(L, r, "timeout", "no time left for the request "
                    "(its deadline or the run's has passed)");
    r->o.timeout_ms = r->timeout_ms < left ? r->timeout_ms : left;
    r->attempt++;
    r->t = transfer_start(&r->o, err, sizeof err);
    if (!r->t)
        return fail(L, r, "protocol", err);
    return 0;
}

/*
** Whether and when to try again. The delay is full-jitter backoff, at
** least what Retry-After asks for; a retry that cannot finish before
** the call's deadline is not started.
*/
static long retry_delay(struct req *r, const char **why)
{
    struct transfer *t = r->t;
    struct retry_attempt a = {0};
    size_t len = 0;
    *why = NULL;
    if (r->attempt >= r->max_attempts)
        return -1;
    a.outcome = transfer_error(t) ? transfer_outcome(t) : RETRY_RESPONSE;
    a.status = transfer_status(t);
    a.body = transfer_body(t, &len);
    a.body_len = len;
    a.idempotent = r->idempotent;
    a.has_key = r->has_key;
    if (!(*why = retry_should(&a)))
        return -1;
    long delay = retry_backoff_ms(r->attempt, r->backoff_ms,
                                  BACKOFF_CAP_MS, unit_random());
    long after = retry_after_ms(transfer_header(t, "retry-after"),
                                time(NULL));
    if (after > delay)
        delay = after;
    if (delay + 50 >= time_left_ms(r)) {
        *why = NULL;
        return -1;
    }
    return delay;
}

static int attempt_k(lua_State *L, int status, lua_KContext ctx);

static int retry_k(lua_State *L, int status, lua_KContext ctx)
{
    struct req *r = (struct req *)ctx;
    (void)status;
    rt_check(L);
    if (start_attempt(L, r))
        return 2;
    return wait_for(L, r, r->stream ? WANT_HEADERS : WANT_DONE, attempt_k);
}

static int push_stream(lua_State *L, struct req *r, int req_idx);

static int attempt_k(lua_State *L, int status, lua_KContext ctx)
{
    struct req *r = (struct req *)ctx;
    const char *why;
    (void)status;
    rt_check(L);
    /* an error status on a stream: read its (small) body first, it may
    ** say "No instances available" */
    if (r->stream && !transfer_done(r->t) && transfer_status(r->t) >= 300)
        return wait_for(L, r, WANT_DONE, attempt_k);
    long delay = retry_delay(r, &why);
    if (delay >= 0 || transfer_error(r->t) || !r->stream)
        log_attempt(r);     /* a stream handed over logs at its end */
    if (delay >= 0) {
        log_msgf(LOG_DEBUG, "retrying %s %s in %ld ms (%s; attempt %d of "
                 "%d)", r->method, r->shown, delay, why, r->attempt + 1,
                 r->max_attempts);
        transfer_free(r->t);
        r->t = NULL;
        if (loop_timer_reserve() != 0)
            return luaL_error(L, "http: out of memory");
        loop_timer(loop_current(), rt_now() + delay / 1000.0);
        return loop_wait(L, ctx, retry_k, NULL, NULL);
    }
    if (transfer_error(r->t))
        return fail_transfer(L, r);
    if (r->stream)
        return push_stream(L, r, 2);
    return push_response(L, r);
}

/* ---- streams ---- */

struct stream {
    struct req *r;
    int closed;
};

static struct stream *check_stream(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, STREAM_TYPE);
}

static int push_stream(lua_State *L, struct req *r, int req_idx)
{
    struct stream *s = lua_newuserdatauv(L, sizeof *s, 2);
    s->r = r;
    s->closed = 0;
    lua_createtable(L, 0, 10);
    set_common(L, lua_gettop(L), r);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, req_idx);
    lua_setiuservalue(L, -2, 2);
    luaL_setmetatable(L, STREAM_TYPE);
    return 1;
}

/* Once the transfer ended: info.error (a clawhost.Error) or
** info.complete = true. */
static void record_end(lua_State *L, struct stream *s, int self)
{
    struct req *r = s->r;
    lua_getiuservalue(L, self, 1);
    if (transfer_error(r->t)) {
        err_push(L, transfer_error_code(transfer_error(r->t)), "%s %s: %s",
                 r->method, r->shown, transfer_message(r->t));
        lua_setfield(L, -2, "error");
    } else {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "complete");
    }
    lua_pop(L, 1);
    log_attempt(r);
}

/* The mask's output collects in r->masked until handed to Lua. */
static int collect_masked(void *ud, const char *buf, size_t len)
{
    struct req *r = ud;
    return dynbuf_add(&r->masked, buf, len) == DYNBUF_OK ? 0 : -1;
}

/*
** Body bytes pass a redact stream before they become Lua strings, so a
** secret the server echoes across two pieces is still masked; what
** could begin a secret is held back until more arrives or the end. The
** mask starts with the first piece read after a secret is loaded; with
** one loaded, no piece goes out unmasked (a mask that fails is the
** memory cap's business).
*/
static int push_piece(lua_State *L, struct req *r, const char *buf,
                      size_t len, int last)
{
    if (!r->mask && out_has_secrets() &&
        !(r->mask = out_redact_stream(collect_masked, r)))
        fail_memory(L);
    if (!r->mask) {
        if (len == 0)
            return 0;
        lua_pushlstring(L, buf, len);
        return 1;
    }
    if (redact_stream_write(r->mask, buf, len) != REDACT_OK ||
        (last && redact_stream_flush(r->mask) != REDACT_OK))
        fail_memory(L);
    if (r->masked.len == 0)
        return 0;
    lua_pushlstring(L, r->masked.p, r->masked.len);
    dynbuf_reset(&r->masked);
    return 1;
}

/*
** The next piece of the body: 1 (a string pushed), 0 at the end, or a
** wait (the continuation k resumes here). Ends quietly on errors:
** `for` loops cannot take nil, err; the error is in s.error.
*/
static int next_piece(lua_State *L, struct stream *s, int self,
                      lua_KFunction k, lua_KContext ctx)
{
    struct req *r = s->r;
    size_t avail, len;
    if (s->closed || !r->t)
        return 0;
    for (;;) {
        const char *buf = transfer_peek(r->t, &avail);
        len = avail < PIECE_MAX ? avail : PIECE_MAX;
        int done = transfer_done(r->t) && len == avail;
        int got = push_piece(L, r, buf, len, done);
        transfer_consume(r->t, len);
        if (got)
            return 1;
        if (done) {
            record_end(L, s, self);
            s->closed = 1;
            return 0;
        }
        if (len == avail)
            break;
    }
    loop_can_wait(L, "reading a stream");
    return wait_on(L, r, WANT_DATA, k, ctx);
}

/* What lsse.c's events() reads the stream with. */
static int stream_piece(lua_State *L, int self, lua_KFunction k,
                        lua_KContext ctx)
{
    return next_piece(L, check_stream(L, self), self, k, ctx);
}

static int chunks_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    rt_check(L);
    return next_piece(L, (struct stream *)ctx, 1, chunks_k, ctx);
}

static int chunks_next(lua_State *L)
{
    struct stream *s = check_stream(L, 1);
    lua_settop(L, 1);
    rt_check(L);
    return next_piece(L, s, 1, chunks_k, (lua_KContext)s);
}

/* for piece in res:chunks() do ... end; `break` closes the transfer
** through the loop's closing value (the stream itself). */
static int s_chunks(lua_State *L)
{
    check_stream(L, 1);
    lua_pushcfunction(L, chunks_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_pushvalue(L, 1);
    return 4;
}

static int read_k(lua_State *L, int status, lua_KContext ctx);
static int decode_body(lua_State *L, const char *body, size_t len);

/*
** The rest of the body: pieces collect in the table at 2; with
** `decode` (low bit of the context) the text is decoded as JSON.
** Returns the body, or nil, err when the transfer failed.
*/
static int read_rest(lua_State *L, struct stream *s, int decode)
{
    lua_KContext ctx = (lua_KContext)s | (lua_KContext)decode;
    size_t len;
    while (next_piece(L, s, 1, read_k, ctx) == 1)
        lua_rawseti(L, 2, (lua_Integer)lua_rawlen(L, 2) + 1);
    lua_getiuservalue(L, 1, 1);
    if (lua_getfield(L, -1, "error") != LUA_TNIL) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    lua_settop(L, 2);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, 2); i++) {
        lua_rawgeti(L, 2, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    if (!decode)
        return 1;
    const char *body = lua_tolstring(L, -1, &len);
    return decode_body(L, body, len);
}

static int read_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    rt_check(L);
    return read_rest(L, (struct stream *)(ctx & ~(lua_KContext)1),
                     (int)(ctx & 1));
}

static int read_body(lua_State *L, int decode)
{
    struct stream *s = check_stream(L, 1);
    lua_settop(L, 1);
    rt_check(L);
    lua_newtable(L);
    return read_rest(L, s, decode);
}

static int s_read(lua_State *L) { return read_body(L, 0); }
static int s_json(lua_State *L) { return read_body(L, 1); }

/*
** Stop the transfer. What the stream says afterwards: complete = false
** and error = cancelled. A task waiting on the stream (another task
** reading it) is woken and sees the end.
*/
static int s_close(lua_State *L)
{
    struct stream *s = check_stream(L, 1);
    struct req *r = s->r;
    if (!s->closed && r->t && !transfer_done(r->t)) {
        transfer_abort(r->t);
        lua_getiuservalue(L, 1, 1);
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "complete");
        if (lua_getfield(L, -1, "error") == LUA_TNIL) {  /* keep a cause */
            err_push(L, "cancelled", "%s %s: the stream was closed "
                     "before its end", r->method, r->shown);
            lua_setfield(L, -3, "error");
        }
        lua_pop(L, 2);
        log_attempt(r);
    }
    s->closed = 1;
    if (r->waiter) {
        struct task *w = r->waiter;
        r->waiter = NULL;
        r->want = WANT_NOTHING;
        loop_wake(w);
    }
    return 0;
}

static int s_index(lua_State *L)
{
    check_stream(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int s_tostring(lua_State *L)
{
    struct stream *s = check_stream(L, 1);
    lua_pushfstring(L, STREAM_TYPE " (%s %s)", s->r->method, s->r->shown ?
                    s->r->shown : "?");
    return 1;
}

/* ---- response methods ---- */

static int decode_body(lua_State *L, const char *body, size_t len)
{
    if (json_decode_buffer(L, body, len) != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* res:json() -> value, or nil, err (a parse failure is not a raise). */
static int r_json(lua_State *L)
{
    size_t len;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "body");
    const char *body = lua_tolstring(L, -1, &len);
    if (!body)
        return err_fail(L, "json", "the response has no body");
    return decode_body(L, body, len);
}

static int r_header(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    lua_getfield(L, 1, "headers");
    lua_pushvalue(L, 2);
    lua_gettable(L, -2);
    return 1;
}

/* ---- entry points ---- */

static void set_idempotency_key(lua_State *L, int opts, struct req *r,
                                int shown)
{
    const char *k = opt_str(L, opts, "idempotency_key");
    if (!k)
        return;
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        luaL_error(L, "http: idempotency_key must be 1 to 255 characters");
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x20 || k[i] > 0x7e)
            luaL_error(L, "http: idempotency_key must be printable ASCII");
    add_host_header(L, r, shown, "Idempotency-Key", k);
    r->has_key = 1;
}

static void megabytes(char *buf, size_t size, double n)
{
    if (n < 1e3)
        snprintf(buf, size, "%.0f B", n);
    else
        snprintf(buf, size, n >= 1e6 ? "%.1f MB" : "%.0f kB", n >= 1e6 ?
                 n / 1e6 : n / 1e3);
}

/*
** opts.progress: a progress line for a long upload or download, at most
** twice a second, written by the host while libcurl works (no Lua runs
** in between).
*/
static void on_progress(void *ud, double up, double up_total, double down,
                        double down_total)
{
    struct req *r = ud;
    char line[128], a[32], b[32];
    double now = rt_now();
    if (now - r->progress_at < 0.5)
        return;
    if (up_total > 0 && up < up_total) {
        megabytes(a, sizeof a, up);
        megabytes(b, sizeof b, up_total);
        snprintf(line, sizeof line, "sending %s of %s (%.0f%%)", a, b,
                 100.0 * up / up_total);
    } else if (down_total > 0) {
        megabytes(a, sizeof a, down);
        megabytes(b, sizeof b, down_total);
        snprintf(line, sizeof line, "receiving %s of %s (%.0f%%)", a, b,
                 100.0 * down / down_total);
    } else if (down > 0) {
        megabytes(a, sizeof a, down);
        snprintf(line, sizeof line, "received %s", a);
    } else if (up_total > 0) {
        megabytes(a, sizeof a, up_total);
        snprintf(line, sizeof line, "sent %s, waiting for the answer", a);
    } else {
        return;                 /* nothing known yet */
    }
    r->progress_at = now;
    log_progress(r->progress, line, 0);
}

/* Everything before the first wait; options at 1. */
static int prepare(lua_State *L, struct req *r)
{
    char scheme[16] = "";
    struct netpolicy_verdict v;
    parse_method(L, 1, r);
    parse_limits(L, 1, r);
    build_url(L, 1, r, scheme, sizeof scheme);
    set_idempotency_key(L, 1, r, 3);
    set_form(L, 1, r, 2);
    if (set_body(L, 1, r, 3) != 0)
        return fail(L, r, "blocked", lua_tostring(L, -1));
    const char *perr = transfer_policy_error();
    if (perr)
        return err_raise(L, "config", "%s", perr);
    if (!transfer_check_url(scheme, r->host, r->port, &v))
        return fail(L, r, "blocked", v.reason);
    if (add_user_headers(L, 1, r, 3) != 0)
        return fail(L, r, "blocked", lua_tostring(L, -1));
    if (transfer_hdrs_add(&r->headers, "Expect:") != 0)
        return luaL_error(L, "http: out of memory");
    return 0;
}

/*
** The options at 1; url and method come from the table, or from
** http.get and http.post (url_at > 0: the URL string at that index,
** which is kept on the stack above the request while prepare reads it).
*/
static int request(lua_State *L, int url_at, const char *method)
{
    char lerr[512];
    rt_check(L);
    if (transfer_load(lerr, sizeof lerr) != 0)
        err_raise(L, "config", "%s", lerr);
    read_knobs();
    struct req *r = new_req(L);                     /* 2 */
    lua_newtable(L);                                /* 3: shown headers */
    if (url_at) {
        lua_rotate(L, url_at, -1);                  /* 4: the URL */
        r->url_arg = lua_tostring(L, 4);
        r->method_arg = method;
    }
    if (prepare(L, r) != 0)
        return 2;
    if (rt_get()->opt.dry_run && strcmp(r->method, "GET") != 0 &&
        strcmp(r->method, "HEAD") != 0)
        return dry_run(L, r, 3);
    r->o.method = r->method;
    r->o.url = r->url;
    r->o.host = r->host;
    r->o.port = r->port;
    r->o.headers = r->headers;
    r->o.body = r->body;
    r->o.body_len = r->body_len;
    r->o.parts = r->parts;
    r->o.nparts = r->nparts;
    r->o.on_progress = r->progress[0] ? on_progress : NULL;
    r->o.stream = r->stream;
    r->o.fresh_connection = !r->idempotent && !r->has_key;
    /* the body is held for the recipe: it counts against its memory
    ** cap, and is wiped once read when a secret could be in it */
    r->o.alloc = (dynbuf_alloc_fn)lua_getallocf(L, &r->o.alloc_ud);
    r->o.wipe = out_has_secrets();
    r->o.on_event = on_event;
    r->o.ud = r;
    loop_can_wait(L, "http.request");
    if (start_attempt(L, r))
        return 2;
    return wait_for(L, r, r->stream ? WANT_HEADERS : WANT_DONE, attempt_k);
}

static int l_request(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    return request(L, 0, NULL);
}

/*
** http.get(url[, opts]) and http.post(url[, opts]): the options with
** url and method given apart. The recipe's table is read in place, not
** copied (a table and its hash part less per request); one with a
** metatable is still copied, so that its __index is not consulted, as
** before.
*/
static int with_method(lua_State *L, const char *method)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 2);
    if (lua_isnil(L, 2)) {
        lua_newtable(L);
        lua_replace(L, 2);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_getmetatable(L, 2)) {
        lua_insert(L, 1);                   /* opts, url */
        return request(L, 2, method);
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, 3);
    }
    lua_pushvalue(L, 1);
    lua_setfield(L, 3, "url");
    lua_pushstring(L, method);
    lua_setfield(L, 3, "method");
    lua_replace(L, 1);
    lua_settop(L, 1);
    return request(L, 0, NULL);
}

static int l_get(lua_State *L) { return with_method(L, "GET"); }
static int l_post(lua_State *L) { return with_method(L, "POST"); }

static const luaL_Reg http_funcs[] = {
    {"request", l_request},
    {"get", l_get},
    {"post", l_post},
    {NULL, NULL}
};

static const luaL_Reg response_methods[] = {
    {"json", r_json},
    {"header", r_header},
    {NULL, NULL}
};

static const luaL_Reg stream_methods[] = {
    {"chunks", s_chunks},
    {"read", s_read},
    {"json", s_json},
    {"close", s_close},
    {NULL, NULL}
};

static const luaL_Reg req_meta[] = {
    {"__gc", req_gc},
    {NULL, NULL}
};

static const luaL_Reg headers_meta[] = {
    {"__index", headers_index},
    {NULL, NULL}
};

static const luaL_Reg stream_meta[] = {
    {"__close", s_close},
    {"__gc", s_close},
    {"__tostring", s_tostring},
    {NULL, NULL}
};

static const luaL_Reg no_meta[] = {
    {NULL, NULL}
};

/* A stream's __index is a closure (s_index): its methods, then the
** fields kept in its user value (status, headers, ...). */
static void make_stream_type(lua_State *L)
{
    if (!luaL_newmetatable(L, STREAM_TYPE))
        return;
    luaL_setfuncs(L, stream_meta, 0);
    luaL_newlib(L, stream_methods);
    lsse_add_methods(L, -1, stream_piece);
    lua_pushcclosure(L, s_index, 1);
    lua_setfield(L, -2, "__index");
    hostmt_lock(L, -1);
}

static void make_types(lua_State *L)
{
    hostmt_type(L, REQ_TYPE, req_meta, NULL);
    hostmt_type(L, RESPONSE_TYPE, no_meta, response_methods);
    hostmt_type(L, HEADERS_TYPE, headers_meta, NULL);
    make_stream_type(L);
    lua_pop(L, 4);
}

int luaopen_clawhost_http(lua_State *L)
{
    make_types(L);
    luaL_newlib(L, http_funcs);
    return 1;
}
