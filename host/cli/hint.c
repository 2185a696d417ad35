/*
** hint.c -- what to do about a failure (hint.h).
**
** A failed run ends with two lines: the one message, then what to do.
** The "what to do" of each code is the column of docs/errors.md, said
** in a line; a library that knows better sets err.hint. Everything
** else the error carries (status, whether it was sent, the server's own
** words) is detail, shown by --verbose only.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cli/hint.h"
#include "runtime/log.h"
#include "runtime/rt.h"

static const struct {
    const char *code, *hint;
} hints[] = {
    {"usage", "fix the input the message names (clawhost help RECIPE "
              "lists the options)"},
    {"config", "fix the setting: clawhost check shows what is set and "
               "where, clawhost setup writes it"},
    {"budget_exceeded", "raise --budget, THETA_MAX_BUDGET_USD or "
                        "CLAWHOST_DAILY_BUDGET_USD, or call less"},
    {"unpriced", "use a service with a known price (clawhost run "
                 "services)"},
    {"blocked", "the egress policy refused it: see docs/egress.md "
                "(--allow-host HOST lets a host through)"},
    {"timeout", "it may still complete: check its status before "
                "repeating the call"},
    {"dns", "check the host name of the base URL, then try again"},
    {"connect", "check that the service is up and the base URL is right, "
                "then try again"},
    {"tls", "check the URL's scheme and the CA (CLAWHOST_CA_FILE)"},
    {"protocol", "try again later; --verbose shows what arrived"},
    {"too_large", "send less, or ask for less"},
    {"invalid_request", "fix what the message names; the same request "
                        "will be refused again"},
    {"forbidden", "check the account: its plan, permissions and credit"},
    {"not_found", "check the name the message gives"},
    {"unsupported", "use a service that offers this call"},
    {"conflict", "nothing to repeat: the state has changed"},
    {"in_flight", "the same request is still being handled: wait, then "
                  "check its status"},
    {"capacity", "no instance is free: try again in a few minutes"},
    {"rate_limited", "wait before the next call"},
    {"unavailable", "the service is down for now: try again in a few "
                    "minutes (--verbose shows each attempt)"},
    {"server_error", "the service failed: try again later (--verbose "
                     "shows each attempt)"},
    {"json", "the answer could not be read: try again; --verbose shows "
             "the detail"},
    {"remote", "the service reported the error above: try again, or "
               "another service"},
    {"job_failed", "the service says the job failed: try again, or "
                   "another service"},
    {"empty_answer", "ask again, or raise --max-tokens"},
    {"smoke_failed", "each service's row says why; --verbose shows each "
                     "request"},
};

const char *hint_for(lua_State *L, int idx)
{
    const char *code;
    if (!lua_istable(L, idx))
        return NULL;
    lua_getfield(L, idx, "hint");
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *h = lua_tostring(L, -1);
        lua_pop(L, 1);              /* the table still holds it */
        return h;
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "code");
    code = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1);
    for (size_t i = 0; code && i < sizeof hints / sizeof hints[0]; i++)
        if (strcmp(hints[i].code, code) == 0)
            return hints[i].hint;
    return NULL;
}

const char *hint_for_fatal(int kind)
{
    switch (kind) {
    case RT_DEADLINE:
        return "raise --timeout (seconds), or do less in one run";
    case RT_MEMORY:
        return "raise --memory-mb, or do less in one run";
    default:
        return NULL;
    }
}

#define DETAIL_MAX 24

struct detail {
    struct log_field f[DETAIL_MAX];
    char text[DETAIL_MAX][96];
    int n;
};

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct log_field *)a)->key,
                  ((const struct log_field *)b)->key);
}

/* One field as text: a scalar, or the message of a nested error. */
static int field_text(lua_State *L, char *buf, size_t size)
{
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        snprintf(buf, size, "%s", lua_tostring(L, -1));
        return 1;
    case LUA_TNUMBER:
        if (lua_isinteger(L, -1))
            snprintf(buf, size, "%lld", (long long)lua_tointeger(L, -1));
        else
            snprintf(buf, size, "%.6g", (double)lua_tonumber(L, -1));
        return 1;
    case LUA_TBOOLEAN:
        snprintf(buf, size, "%s", lua_toboolean(L, -1) ? "true" : "false");
        return 1;
    case LUA_TTABLE:
        lua_getfield(L, -1, "message");
        if (lua_type(L, -1) == LUA_TSTRING) {
            snprintf(buf, size, "%s", lua_tostring(L, -1));
            lua_pop(L, 1);
            return 1;
        }
        lua_pop(L, 1);
        return 0;
    default:
        return 0;
    }
}

void hint_log_detail(lua_State *L, int idx)
{
    struct detail *d;
    if (!lua_istable(L, idx) || rt_get()->opt.verbosity < RT_VERBOSE)
        return;
    if (!(d = calloc(1, sizeof *d)))
        return;
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (d->n < DETAIL_MAX && lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING &&
            strcmp(lua_tostring(L, -2), "message") != 0 &&
            strcmp(lua_tostring(L, -2), "hint") != 0 &&
            field_text(L, d->text[d->n], sizeof d->text[d->n])) {
            d->f[d->n].key = lua_tostring(L, -2);   /* the table keeps it */
            d->f[d->n].str = d->text[d->n];
            d->n++;
        }
        lua_pop(L, 1);
    }
    if (d->n == DETAIL_MAX)
        lua_pop(L, 1);                              /* the last key */
    qsort(d->f, (size_t)d->n, sizeof d->f[0], by_key);
    log_fields(LOG_DEBUG, "detail:", d->f, d->n);
    free(d);
}
