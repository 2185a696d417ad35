/*
** json_test.c -- unit tests for the json module (host/lib/json.c).
**
** The bulk is tests/lua/json_test.lua, run here on a plain Lua state
** (run from the repository root). The C tests cover what Lua cannot
** see: the C API (pretty printing, caps set from C, decode errors as
** return values, stack balance), lazy set-up without luaopen, memory
** errors passing through the safe variants, and, through the linker's
** --wrap=strbuf_new (mk/json.mk), that input over the cap never reaches
** lua-cjson: strbuf_new is the malloc cjson makes for every decode.
** test_json_test_suite decodes the nst/JSONTestSuite parsing cases in
** tests/fixtures/json (its README.md says what the names mean).
*/
#include "lib/json.h"
#include "runtime/err.h"
#include "unit.h"

#include <dirent.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

#define MiB ((size_t)1 << 20)

/* ---- lua-cjson's decode buffer, counted ---- */

void *__real_strbuf_new(int len);
void *__wrap_strbuf_new(int len);

static int strbuf_calls;

void *__wrap_strbuf_new(int len)
{
    strbuf_calls++;
    return __real_strbuf_new(len);
}

/* ---- stand-ins for host types: full userdata with their names ---- */

static int fake_wait(lua_State *L)
{
    (void)L;
    return 0;
}

static void push_fake(lua_State *L, const char *type)
{
    lua_newuserdatauv(L, 16, 0);
    if (luaL_newmetatable(L, type)) {
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, fake_wait);
        lua_setfield(L, -2, "wait");
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
}

/* task.spawn(fn) -> a clawhost.Task look-alike (fn is not run). */
static int fake_spawn(lua_State *L)
{
    push_fake(L, "clawhost.Task");
    return 1;
}

static int open_fake_task(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, fake_spawn);
    lua_setfield(L, -2, "spawn");
    return 1;
}

static void preload(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
    lua_pop(L, 2);
}

static void setup(lua_State *L)
{
    luaL_openlibs(L);
    preload(L, "json", luaopen_clawhost_json);
    preload(L, "task", open_fake_task);
    lua_getglobal(L, "package");
    lua_pushliteral(L, "tests/lua/?.lua");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    setup(L);
    return L;
}

/* Run Lua code that must succeed; returns its first result on top. */
static int run_lua(lua_State *L, const char *code)
{
    if (luaL_loadstring(L, code) || lua_pcall(L, 0, 1, 0)) {
        fprintf(stderr, "  lua error: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

/* ---- the Lua suite ---- */

static void print_failures(lua_State *L, int result)
{
    lua_getfield(L, result, "failures");
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
        fprintf(stderr, "  lua: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

static void test_lua_suite(void)
{
    lua_State *L = new_state();
    int failed, passed;

    if (luaL_loadfile(L, "tests/lua/json_test.lua") ||
        lua_pcall(L, 0, 1, 0)) {
        fprintf(stderr, "  %s\n", lua_tostring(L, -1));
        CHECK(!"json_test.lua loads");
        lua_close(L);
        return;
    }
    lua_getfield(L, -1, "run");
    lua_pushnil(L);
    if (lua_pcall(L, 1, 1, 0)) {
        fprintf(stderr, "  run: %s\n", lua_tostring(L, -1));
        CHECK(!"json_test.lua run");
        lua_close(L);
        return;
    }
    lua_getfield(L, -1, "passed");
    lua_getfield(L, -2, "failed");
    passed = (int)lua_tointeger(L, -2);
    failed = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    print_failures(L, lua_gettop(L));
    printf("lua json_test: %d passed, %d failed\n", passed, failed);
    CHECK_INT(failed, 0);
    CHECK(passed >= 20);
    lua_close(L);
}

/* ---- the C API ---- */

/* Encode the value the Lua code returns; NULL when it raised. */
static const char *encode_lua(lua_State *L, const char *code, int flags)
{
    if (!run_lua(L, code))
        return NULL;
    json_encode_value(L, -1, flags);
    lua_remove(L, -2);
    return lua_tostring(L, -1);
}

static void test_pretty(void)
{
    static const char code[] =
        "local json = require 'json'\n"
        "return { b = { 1, { x = 2 } }, a = 'x', e = {},\n"
        "  f = json.array(), g = { {} } }";
    static const char want[] =
        "{\n"
        "  \"a\": \"x\",\n"
        "  \"b\": [\n"
        "    1,\n"
        "    {\n"
        "      \"x\": 2\n"
        "    }\n"
        "  ],\n"
        "  \"e\": {},\n"
        "  \"f\": [],\n"
        "  \"g\": [\n"
        "    {}\n"
        "  ]\n"
        "}";
    lua_State *L = new_state();
    int top = lua_gettop(L);
    const char *got;

    got = encode_lua(L, code, JSON_PRETTY);
    CHECK_STR(got, want);
    got = encode_lua(L, "return { b = { 1 }, a = 'x' }", 0);
    CHECK_STR(got, "{\"a\":\"x\",\"b\":[1]}");
    got = encode_lua(L, "return 1.25", JSON_PRETTY);
    CHECK_STR(got, "1.25");
    CHECK_INT(lua_gettop(L), top + 3);
    lua_close(L);
}

/* json_encode_value raises a clawhost.Error with code "json". */
static int encode_arg(lua_State *L)
{
    return json_encode_value(L, 1, 0);
}

static void test_encode_raises(void)
{
    lua_State *L = new_state();

    lua_pushcfunction(L, encode_arg);
    lua_pushcfunction(L, encode_arg);
    CHECK_INT(lua_pcall(L, 1, 1, 0), LUA_ERRRUN);
    CHECK_STR(err_code(L, -1), "json");
    lua_getfield(L, -1, "message");
    CHECK_STR(lua_tostring(L, -1),
              "json.encode: cannot encode a function at (root)");
    lua_close(L);
}

/* Secrets get the rule that applies to them, wherever they sit. */
static void test_secret_refused(void)
{
    lua_State *L = new_state();

    CHECK(run_lua(L, "return require 'json'"));
    lua_createtable(L, 0, 1);                   /* { meta = { token } } */
    lua_createtable(L, 0, 1);
    push_fake(L, "clawhost.Secret");
    lua_setfield(L, -2, "token");
    lua_setfield(L, -2, "meta");
    lua_getfield(L, -2, "safe");
    lua_getfield(L, -1, "encode");
    lua_pushvalue(L, -3);
    CHECK_INT(lua_pcall(L, 1, 2, 0), LUA_OK);
    CHECK(lua_isnil(L, -2));
    CHECK_STR(err_code(L, -1), "json");
    lua_getfield(L, -1, "message");
    {
        static const char want[] = "json.encode: cannot encode a "
            "clawhost.Secret at meta.token: a secret never becomes text; "
            "send it as a header, or in the json body of http.request";
        CHECK(strcmp(lua_tostring(L, -1), want) == 0);
    }
    lua_close(L);
}

static void test_encode_cap(void)
{
    lua_State *L = new_state();

    json_set_limits(L, 10, 0);
    lua_pushliteral(L, "12345678");     /* 10 bytes with its quotes */
    json_encode_value(L, -1, 0);
    CHECK_STR(lua_tostring(L, -1), "\"12345678\"");
    lua_pushcfunction(L, encode_arg);
    lua_pushliteral(L, "123456789");
    CHECK_INT(lua_pcall(L, 1, 1, 0), LUA_ERRRUN);
    CHECK_STR(err_code(L, -1), "json");
    lua_getfield(L, -1, "message");
    CHECK_STR(lua_tostring(L, -1), "json.encode: output would exceed the "
              "limit of 10 bytes (at (root))");
    lua_settop(L, 0);
    CHECK(run_lua(L, "local ok, err = pcall(require('json').encode,\n"
                  "  { list = { 'abcdefghij' } })\n"
                  "return not ok and err.message"));
    CHECK_STR(lua_tostring(L, -1), "json.encode: output would exceed the "
              "limit of 10 bytes (at list[1])");
    json_set_limits(L, 0, 0);           /* 0 keeps the cap */
    lua_pushcfunction(L, encode_arg);
    lua_pushliteral(L, "123456789");
    CHECK_INT(lua_pcall(L, 1, 1, 0), LUA_ERRRUN);
    json_set_limits(L, JSON_DEFAULT_MAX_ENCODE, 0);
    lua_pushliteral(L, "123456789");
    json_encode_value(L, -1, 0);
    CHECK_STR(lua_tostring(L, -1), "\"123456789\"");
    lua_close(L);
}

static const char *decode_str(lua_State *L, const char *s, size_t len,
                              int *rc)
{
    *rc = json_decode_buffer(L, s, len);
    if (*rc) {
        lua_getfield(L, -1, "message");
        lua_remove(L, -2);
        return lua_tostring(L, -1);
    }
    json_encode_value(L, -1, 0);
    lua_remove(L, -2);
    return lua_tostring(L, -1);
}

static void test_decode_buffer(void)
{
    lua_State *L = new_state();
    int top = lua_gettop(L), rc;
    const char *out;

    out = decode_str(L, "[1,2]xyz", 5, &rc);    /* not NUL-terminated */
    CHECK_INT(rc, 0);
    CHECK_STR(out, "[1,2]");
    out = decode_str(L, "{\"b\":[],\"a\":[{}]}", 17, &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(out, "{\"a\":[{}],\"b\":[]}");
    out = decode_str(L, "{\"a\":", 5, &rc);
    CHECK_INT(rc, 1);
    CHECK_STR(out, "json.decode: expected value but found the end of the "
              "input at byte 6");
    CHECK_INT(lua_gettop(L), top + 3);
    CHECK_INT(json_decode_buffer(L, "[1,]", 4), 1);
    CHECK_STR(err_code(L, -1), "json");
    CHECK_INT(json_decode_buffer(L, "[[1]]", 5), 0);
    CHECK(lua_getmetatable(L, -1));
    luaL_getmetatable(L, JSON_ARRAY_MT);
    CHECK(lua_rawequal(L, -1, -2));
    lua_close(L);
}

/* The cap is checked before anything is copied or handed to cjson. */
static void test_decode_cap_before_cjson(void)
{
    lua_State *L = new_state();
    static const char tiny[] = "[]";
    int before, rc;
    const char *msg;

    before = strbuf_calls;
    CHECK_INT(json_decode_buffer(L, "[1]", 3), 0);
    CHECK_INT(strbuf_calls, before + 1);        /* the wrap is live */

    /* tiny is never read: a read past it would trip ASan */
    before = strbuf_calls;
    msg = decode_str(L, tiny, JSON_DEFAULT_MAX_DECODE + 1, &rc);
    CHECK_INT(rc, 1);
    CHECK_STR(msg, "json.decode: the input is 67108865 bytes; the limit "
              "is 67108864 bytes");
    CHECK_INT(strbuf_calls, before);

    json_set_limits(L, 0, 16);
    msg = decode_str(L, "[1,2,3,4,5,6,7,8]", 17, &rc);
    CHECK_INT(rc, 1);
    CHECK_STR(msg, "json.decode: the input is 17 bytes; the limit is 16 "
              "bytes");
    msg = decode_str(L, "[1,2,3,4,5,6,78]", 16, &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(msg, "[1,2,3,4,5,6,78]");
    CHECK_INT(strbuf_calls, before + 1);

    /* empty arrays grow by the marker: the grown text is capped too */
    json_set_limits(L, 0, 40);
    msg = decode_str(L, "[[],[ ]]", 8, &rc);
    CHECK_INT(rc, 1);
    CHECK_STR(msg, "json.decode: the input is 8 bytes, 45 once its empty "
              "arrays are marked; the limit is 40 bytes");
    CHECK_INT(strbuf_calls, before + 1);
    json_set_limits(L, 0, 45);
    msg = decode_str(L, "[[],[ ]]", 8, &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(msg, "[[],[]]");

    /* the cap never goes above what cjson's int sizes can hold */
    json_set_limits(L, 0, (size_t)-1);
    msg = decode_str(L, tiny, JSON_MAX_DECODE_CEILING + 1, &rc);
    CHECK_INT(rc, 1);
    CHECK_STR(msg, "json.decode: the input is 1073741825 bytes; the limit "
              "is 1073741824 bytes");
    CHECK_INT(strbuf_calls, before + 2);
    lua_close(L);
}

/* The Lua-string path: json.decode on a string over the default cap. */
static void test_decode_cap_lua_string(void)
{
    lua_State *L = new_state();
    size_t n = JSON_DEFAULT_MAX_DECODE + 1;
    char *big = malloc(n);
    int before = strbuf_calls;

    CHECK(big != NULL);
    if (!big) {
        lua_close(L);
        return;
    }
    memset(big, ' ', n);
    CHECK(run_lua(L, "return require('json').safe.decode"));
    lua_pushlstring(L, big, n);
    free(big);
    CHECK_INT(lua_pcall(L, 1, 2, 0), LUA_OK);
    CHECK(lua_isnil(L, -2));
    CHECK_STR(err_code(L, -1), "json");
    CHECK_INT(strbuf_calls, before);
    lua_close(L);
}

/* The C API works on a state that never loaded the module. */
static void test_lazy_setup(void)
{
    lua_State *L = luaL_newstate();
    int rc;

    CHECK_STR(decode_str(L, "{\"a\":[]}", 8, &rc), "{\"a\":[]}");
    CHECK_INT(rc, 0);
    lua_close(L);
}

/* ---- memory errors are not "json" errors ---- */

struct capped {
    size_t used, limit;
};

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct capped *c = ud;
    void *p;

    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        c->used -= osize;
        return NULL;
    }
    if (nsize > osize && c->used + (nsize - osize) > c->limit)
        return NULL;
    p = realloc(ptr, nsize);
    if (p)
        c->used = c->used - osize + nsize;
    return p;
}

/*
** With the state's allocator refusing, safe.encode must raise, not
** return nil, err: the host's memory cap has to stop the recipe.
*/
static void test_memory_error_passes(void)
{
    struct capped c = { 0, (size_t)-1 };
    lua_State *L = lua_newstate(capped_alloc, &c);

    setup(L);
    CHECK(run_lua(L, "json = require 'json'\n"
                  "big = {}\n"
                  "for i = 1, 24 do big[i] = ('x'):rep(1 << 20) .. i end\n"
                  "return true"));
    lua_pop(L, 1);
    c.limit = c.used + 4 * MiB;
    CHECK(run_lua(L, "local ok, v, err = pcall(json.safe.encode, big)\n"
                  "return not ok and type(v) == 'string' and v"));
    CHECK_STR(lua_tostring(L, -1), "not enough memory");
    lua_pop(L, 1);
    c.limit = (size_t)-1;
    CHECK(run_lua(L, "return #json.encode(big)"));
    /* 24 strings of 1 MiB plus 39 digits, quotes, 23 commas, [] */
    CHECK_INT(lua_tointeger(L, -1), 24 * (MiB + 2) + 39 + 23 + 2);
    lua_close(L);
}

/*
** __gc finalizers are recipe code and run inside GC steps; encode stops
** the collector so none can change a table while it holds raw pointers
** to its keys. It must restart it on success and on error, and leave a
** collector the host stopped alone.
*/
static void test_gc_stopped_while_encoding(void)
{
    lua_State *L = new_state();

    CHECK(run_lua(L, "local json = require 'json'\n"
                  "assert(collectgarbage('isrunning'))\n"
                  "json.encode({ a = { 1, 2 } })\n"
                  "assert(collectgarbage('isrunning'), 'after success')\n"
                  "assert(not pcall(json.encode, { a = { print } }))\n"
                  "assert(not pcall(json.safe.encode))\n"
                  "assert(json.safe.encode({ print }) == nil)\n"
                  "assert(collectgarbage('isrunning'), 'after errors')\n"
                  "collectgarbage('stop')\n"
                  "json.encode({ a = 1 })\n"
                  "pcall(json.encode, { print })\n"
                  "assert(not collectgarbage('isrunning'), 'host stop')\n"
                  "collectgarbage('restart')\n"
                  "return true"));
    CHECK(lua_toboolean(L, -1));
    lua_close(L);
}

/*
** The same under churn: a busy collector, long keys re-pushed (new
** strings, so allocation), finalizers that delete keys. A finalizer run
** between sorting the keys and reading the values would show as a null
** (or as a use-after-free under ASan).
*/
static void test_finalizer_churn(void)
{
    lua_State *L = new_state();

    CHECK(run_lua(L, "local json = require 'json'\n"
                  "collectgarbage('incremental', 10, 400)\n"
                  "local victim, torn = {}, 0\n"
                  "for i = 1, 3000 do\n"
                  "  victim[('k'):rep(300) .. i] = i\n"
                  "end\n"
                  "for round = 1, 30 do\n"
                  "  for i = 1, 50 do\n"
                  "    setmetatable({}, { __gc = function()\n"
                  "      local k = next(victim)\n"
                  "      if k then victim[k] = nil end\n"
                  "    end })\n"
                  "  end\n"
                  "  if json.encode(victim):find('null', 1, true) then\n"
                  "    torn = torn + 1\n"
                  "  end\n"
                  "end\n"
                  "return torn"));
    CHECK_INT(lua_tointeger(L, -1), 0);
    lua_close(L);
}

/* ---- nst/JSONTestSuite: y_ accepted, n_ refused, i_ no crash ---- */

struct verdicts {
    int files[3];       /* y, n, i */
    int accepted[3];
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n;

    *len = 0;
    if (!f)
        return NULL;
    do {
        if (*len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (!buf)
                exit(2);
        }
        n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
    } while (n > 0);
    fclose(f);
    return buf;
}

/* Decode one file; a wrong y_ or n_ verdict is a failed check. */
static void suite_file(lua_State *L, const char *dir, const char *name,
                       struct verdicts *v)
{
    static const char kinds[] = "yni";
    const char *k = strchr(kinds, name[0]);
    char path[512];
    size_t len;
    char *text;
    int kind, rc;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    text = slurp(path, &len);
    CHECK(text != NULL);
    if (!text || !k)
        return;
    kind = (int)(k - kinds);
    rc = json_decode_buffer(L, text, len);
    lua_settop(L, 0);
    free(text);
    v->files[kind]++;
    v->accepted[kind] += rc == 0;
    if ((kind == 0 && rc != 0) || (kind == 1 && rc == 0)) {
        CHECK(!"JSONTestSuite verdict");
        fprintf(stderr, "  %s: %s\n", name, rc ? "refused" : "accepted");
    }
}

static int is_case(const char *name)
{
    size_t n = strlen(name);

    return n > 7 && strchr("yni", name[0]) && name[1] == '_' &&
           strcmp(name + n - 5, ".json") == 0;
}

/*
** Every file of the suite, with the counts on one line. The totals are
** checked too, so a missing or half-copied folder cannot pass.
*/
static void test_json_test_suite(void)
{
    const char *dir = getenv("JSON_FIXTURES");
    lua_State *L = new_state();
    struct verdicts v = { { 0 }, { 0 } };
    struct dirent *e;
    DIR *d;

    dir = dir && *dir ? dir : "tests/fixtures/json";
    d = opendir(dir);
    CHECK(d != NULL);
    while (d && (e = readdir(d)) != NULL)
        if (is_case(e->d_name))
            suite_file(L, dir, e->d_name, &v);
    if (d)
        closedir(d);
    printf("JSONTestSuite: y %d/%d accepted, n %d/%d refused, i %d run "
           "(%d accepted)\n", v.accepted[0], v.files[0],
           v.files[1] - v.accepted[1], v.files[1], v.files[2],
           v.accepted[2]);
    CHECK_INT(v.files[0], 95);
    CHECK_INT(v.files[1], 188);
    CHECK_INT(v.files[2], 35);
    lua_close(L);
}

int main(void)
{
    RUN(test_lua_suite);
    RUN(test_pretty);
    RUN(test_encode_raises);
    RUN(test_secret_refused);
    RUN(test_encode_cap);
    RUN(test_decode_buffer);
    RUN(test_decode_cap_before_cjson);
    RUN(test_decode_cap_lua_string);
    RUN(test_lazy_setup);
    RUN(test_memory_error_passes);
    RUN(test_gc_stopped_while_encoding);
    RUN(test_finalizer_churn);
    RUN(test_json_test_suite);
    return unit_done("json");
}
