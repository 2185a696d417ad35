/*
** errors.h -- clawhost.Error values and the exit codes they map to.
**
** Every failure the host hands to Lua is a table whose metatable is
** clawhost.Error: `code` is stable and machine-readable ("timeout",
** "blocked", "config", ...), `message` is for people. Functions that
** fail softly return nil, err; bad arguments raise. The same codes pick
** the process exit status (DESIGN section 7).
*/
#ifndef CLAWHOST_ERRORS_H
#define CLAWHOST_ERRORS_H

#include <stdarg.h>
#include <lua.h>

#define ERR_TYPE "clawhost.Error"

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,        /* the recipe failed */
    EXIT_USAGE = 2,         /* usage or configuration error */
    EXIT_BUDGET = 3,        /* budget cap reached */
    EXIT_POLICY = 4,        /* refused by policy (sandbox, egress) */
    EXIT_DEADLINE = 124,    /* wall-clock deadline */
    EXIT_INTERRUPTED = 130  /* SIGINT or SIGTERM */
};

/* Push a new error {code=, message=}; the message is printf-formatted. */
void err_push(lua_State *L, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void err_pushv(lua_State *L, const char *code, const char *fmt,
               va_list ap);

/* Push nil and a new error; returns 2 for `return err_fail(...)`. */
int err_fail(lua_State *L, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Raise a new error; use as `return err_raise(...)`. */
int err_raise(lua_State *L, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Is the value at idx a clawhost.Error? */
int err_is(lua_State *L, int idx);

/* The code of the error at idx, or NULL when it is not one. */
const char *err_code(lua_State *L, int idx);

/* Exit status for an error code (unknown codes fail with 1). */
int err_exit_status(const char *code);

/*
** A printable message for any error value at idx, without calling
** script-supplied __tostring metamethods (a recipe could make them
** loop or leak); pushes the string.
*/
const char *err_describe(lua_State *L, int idx);

int luaopen_clawhost_errors(lua_State *L);

#endif
