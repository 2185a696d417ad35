/*
** lsse.c -- the `sse` module and response:events().
**
**   local p = sse.parser{max_line = 1048576, max_event = 1048576}
**   for _, ev in ipairs(p:feed(bytes)) do ... end    -- or nil, err
**   p:finish()                     -- true when an unfinished event
**                                  -- was dropped at the end
**   for ev in res:events() do ... end     -- a streaming response
**
** Each event is {event =, data =, id =, retry =}. The parser (sse.c)
** allocates through the Lua state's allocator, so its buffers count
** against the memory cap. Breaking out of an events() loop closes the
** transfer (the stream is the loop's closing value).
**
** The body an events() loop reads is masked on the way in (http.c), but
** a recipe joins the data of successive events, not the body: a secret
** a server sends half in one event and half in the next is whole only
** after the join. So once a secret is loaded, the data of successive
** events also passes one redact stream, one mark per event: an event
** whose data ends in what could begin a secret waits until the next
** one decides, and a secret across events is masked in the event it
** starts in (docs/secrets.md).
*/
#include <string.h>

#include <lauxlib.h>

#include "lib/lsse.h"
#include "pure/sse.h"
#include "runtime/err.h"
#include "runtime/hostmt.h"
#include "runtime/out.h"
#include "runtime/rt.h"

#define PARSER_TYPE "clawhost.sse.Parser"

struct lparser {
    struct sse_parser p;
    int ended;
    int events;                 /* an events() parser: data is masked */
    int masked;                 /* `data` is open */
    lua_Integer head, tail;     /* events() queue: next to hand out,
                                   last added */
    lua_Integer ready;          /* events up to here have their data */
    struct out_pieces data;     /* the data of successive events */
};

struct sink {
    lua_State *L;
    int queue;              /* stack index of the event list */
    lua_Integer *tail;
    struct lparser *lp;     /* events(): mask the data */
};

static void fail_memory(lua_State *L)
{
    rt_memory_exhausted();
    rt_raise_fatal(L);
}

/* Masking starts with the first event after a secret is loaded. A mask
** that cannot be made, or that fails, is the memory cap's business: the
** data never goes out unmasked. */
static int data_masked(lua_State *L, struct lparser *lp)
{
    void *ud;
    lua_Alloc alloc;
    if (!lp->events || lp->masked || !out_has_secrets())
        return lp->masked;
    alloc = lua_getallocf(L, &ud);
    if (out_pieces_open(&lp->data, (dynbuf_alloc_fn)alloc, ud) != 0)
        fail_memory(L);
    return lp->masked = 1;
}

/* Set the data of the events the mask has decided, in order. */
static void settle(lua_State *L, struct lparser *lp, int queue)
{
    const char *d;
    size_t n;
    while (out_pieces_next(&lp->data, &d, &n)) {
        lua_rawgeti(L, queue, ++lp->ready);
        lua_pushlstring(L, d, n);
        lua_setfield(L, -2, "data");
        lua_pop(L, 1);
    }
}

/* Called by sse.c for each event; appends {event, data, id, retry}. An
** events() parser with a mask appends the event without its data,
** which settle() sets once the mask has decided it. */
static int push_event(void *ud, const struct sse_event *ev)
{
    struct sink *k = ud;
    lua_State *L = k->L;
    int mask = k->lp && data_masked(L, k->lp);
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, ev->type, ev->type_len);
    lua_setfield(L, -2, "event");
    if (!mask) {
        lua_pushlstring(L, ev->data, ev->data_len);
        lua_setfield(L, -2, "data");
    }
    if (ev->id_len > 0) {
        lua_pushlstring(L, ev->id, ev->id_len);
        lua_setfield(L, -2, "id");
    }
    if (ev->retry >= 0) {
        lua_pushinteger(L, (lua_Integer)ev->retry);
        lua_setfield(L, -2, "retry");
    }
    lua_rawseti(L, k->queue, ++*k->tail);
    if (!mask) {
        if (k->lp)
            k->lp->ready = *k->tail;
        return 0;
    }
    if (out_pieces_add(&k->lp->data, ev->data, ev->data_len) != 0)
        fail_memory(L);
    settle(L, k->lp, k->queue);
    return 0;
}

static const char *error_code(int rc)
{
    return rc == SSE_ELINE || rc == SSE_EEVENT ? "too_large" : "protocol";
}

/* Feed bytes; events go to the list at `queue`. Returns sse.c's code;
** running out of memory is the host's fatal condition, not an error. */
static int feed(lua_State *L, struct lparser *lp, const char *s,
                size_t n, int queue, lua_Integer *tail)
{
    struct sink k = {L, lua_absindex(L, queue), tail,
                     lp->events ? lp : NULL};
    int rc = sse_feed(&lp->p, s, n, push_event, &k, NULL);
    if (rc == SSE_ENOMEM) {
        rt_memory_exhausted();
        rt_raise_fatal(L);
    }
    return rc;
}

static struct lparser *new_parser(lua_State *L, int opts)
{
    struct sse_config c = {0, 0, NULL, NULL};
    if (lua_istable(L, opts)) {
        lua_getfield(L, opts, "max_line");
        lua_getfield(L, opts, "max_event");
        c.max_line = (size_t)luaL_optinteger(L, -2, 0);
        c.max_event = (size_t)luaL_optinteger(L, -1, 0);
        lua_pop(L, 2);
    }
    c.alloc = (sse_alloc_fn)lua_getallocf(L, &c.alloc_ud);
    struct lparser *lp = lua_newuserdatauv(L, sizeof *lp, 0);
    memset(lp, 0, sizeof *lp);
    sse_init(&lp->p, &c);
    lp->head = 1;
    luaL_setmetatable(L, PARSER_TYPE);
    return lp;
}

static int p_gc(lua_State *L)
{
    struct lparser *lp = luaL_checkudata(L, 1, PARSER_TYPE);
    sse_free(&lp->p);
    if (lp->masked)
        out_pieces_free(&lp->data);
    lp->masked = 0;
    return 0;
}

static int l_parser(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TTABLE);
    new_parser(L, 1);
    return 1;
}

/* p:feed(bytes) -> events, or nil, err, events (those completed before
** the error, which are not lost). */
static int p_feed(lua_State *L)
{
    struct lparser *lp = luaL_checkudata(L, 1, PARSER_TYPE);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    lua_Integer count = 0;
    lua_createtable(L, n / 64 < 4096 ? (int)(n / 64) : 4096, 0);
    int rc = feed(L, lp, s, n, lua_gettop(L), &count);
    if (rc < 0) {
        err_fail(L, error_code(rc), "sse: %s", sse_errmsg(&lp->p));
        lua_rotate(L, -3, -1);              /* nil, err, events */
        return 3;
    }
    return 1;
}

static int p_finish(lua_State *L)
{
    struct lparser *lp = luaL_checkudata(L, 1, PARSER_TYPE);
    int dropped = 0;
    sse_finish(&lp->p, &dropped);
    lua_pushboolean(L, dropped);
    return 1;
}

/* ---- res:events() ---- */

/* The stream failed or the parser refused the data: record it on the
** stream (res.error) and stop the transfer. */
static void stream_failed(lua_State *L, int stream, struct lparser *lp,
                          int rc)
{
    lua_getiuservalue(L, stream, 1);
    err_push(L, error_code(rc), "sse: %s", sse_errmsg(&lp->p));
    lua_setfield(L, -2, "error");
    lua_pop(L, 1);
    lua_getfield(L, stream, "close");
    lua_pushvalue(L, stream);
    lua_call(L, 1, 0);
}

static int events_k(lua_State *L, int status, lua_KContext ctx);

/* How the next body piece of a stream is read: http.c hands it over
** with the methods (lsse_add_methods), so this file needs nothing of
** http.c. One Lua state per process, so one pointer does. */
static lsse_piece_fn next_piece;

/* The stream ended: what the mask still holds is decided now. */
static void end_events(lua_State *L, struct lparser *lp)
{
    int dropped;
    sse_finish(&lp->p, &dropped);
    lp->ended = 1;
    if (lp->masked) {
        if (out_pieces_end(&lp->data) != 0)
            fail_memory(L);
        settle(L, lp, 3);
    }
}

/*
** Stack: 1 parser, 2 stream, 3 the queue of parsed events (head..tail
** in the parser struct, so nothing needs saving across a wait; events
** up to `ready` have their data). Hands out the next event; reads (and
** waits for) more of the body as needed.
*/
static int events_step(lua_State *L)
{
    struct lparser *lp = lua_touserdata(L, 1);
    for (;;) {
        if (lp->head <= lp->ready) {
            lua_rawgeti(L, 3, lp->head);
            lua_pushnil(L);
            lua_rawseti(L, 3, lp->head++);
            return 1;
        }
        if (lp->head > lp->tail) {      /* then ready == tail too */
            lp->head = 1;
            lp->tail = lp->ready = 0;
        }
        if (lp->ended)
            return 0;
        if (next_piece(L, 2, events_k, 0) == 0) {
            end_events(L, lp);
            continue;
        }
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        int rc = feed(L, lp, s, n, 3, &lp->tail);
        lua_pop(L, 1);
        if (rc < 0) {
            stream_failed(L, 2, lp, rc);
            end_events(L, lp);
        }
    }
}

static int events_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    rt_check(L);
    return events_step(L);  /* the stack is as it was before the wait */
}

static int events_next(lua_State *L)
{
    lua_settop(L, 0);
    for (int i = 1; i <= 3; i++)
        lua_pushvalue(L, lua_upvalueindex(i));
    rt_check(L);
    return events_step(L);
}

static int s_events(lua_State *L)
{
    luaL_checkudata(L, 1, "clawhost.http.Stream");
    lua_settop(L, 2);
    new_parser(L, 2)->events = 1;           /* 3 */
    lua_pushvalue(L, 1);
    lua_newtable(L);
    lua_pushcclosure(L, events_next, 3);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, 1);                    /* closing value */
    return 4;
}

static void make_parser_type(lua_State *L);

/* res:events() makes parsers even when the recipe never required sse,
** so the parser type (with its __gc) is made here too. */
void lsse_add_methods(lua_State *L, int idx, lsse_piece_fn piece)
{
    idx = lua_absindex(L, idx);
    next_piece = piece;
    make_parser_type(L);
    lua_pushcfunction(L, s_events);
    lua_setfield(L, idx, "events");
}

static const luaL_Reg parser_methods[] = {
    {"feed", p_feed},
    {"finish", p_finish},
    {NULL, NULL}
};

static const luaL_Reg sse_funcs[] = {
    {"parser", l_parser},
    {NULL, NULL}
};

static const luaL_Reg parser_meta[] = {
    {"__gc", p_gc},
    {NULL, NULL}
};

static void make_parser_type(lua_State *L)
{
    hostmt_type(L, PARSER_TYPE, parser_meta, parser_methods);
    lua_pop(L, 1);
}

int luaopen_clawhost_sse(lua_State *L)
{
    make_parser_type(L);
    luaL_newlib(L, sse_funcs);
    return 1;
}
