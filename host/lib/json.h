/*
** json.h -- the `json` module: encode Lua values, decode JSON text.
**
** Encoding is our own (sorted keys, empty arrays, no metamethods, paths
** in errors); decoding runs lua-cjson 2.1.0's parser behind size caps and
** a pre-scan, then marks arrays so they re-encode as arrays. docs/json.md
** is the full contract.
**
**     json_encode_value(L, idx, JSON_PRETTY);   pushes the text or raises
**     if (json_decode_buffer(L, body, len))     pushes the value, or an
**         return error;                         error and returns nonzero
**
** Errors are clawhost.Error values with code "json" whose message starts
** with "json.encode:" or "json.decode:" and names where it happened.
** Running out of memory is raised as Lua raises it (a plain "not enough
** memory"), never turned into a "json" error, so the safe variants and
** json_decode_buffer cannot swallow the host's memory cap.
*/
#ifndef CLAWHOST_JSON_H
#define CLAWHOST_JSON_H

#include <stddef.h>
#include <lua.h>

#include "util/dynbuf.h"

/* The metatable that marks a table as a JSON array (locked). */
#define JSON_ARRAY_MT "clawhost.json.array"

/* Deepest nesting of arrays and objects, both ways. */
#define JSON_MAX_DEPTH 128

/* Default caps on encoded output and on decoder input, in bytes. */
#define JSON_DEFAULT_MAX_ENCODE ((size_t)64 << 20)
#define JSON_DEFAULT_MAX_DECODE ((size_t)64 << 20)

/* The decode cap is never set above this (lua-cjson sizes with int). */
#define JSON_MAX_DECODE_CEILING ((size_t)1 << 30)

/* Flags for json_encode_value. */
enum {
    JSON_PRETTY = 1     /* two-space indent, one member per line */
};

/*
** Encode the value at idx and push the text; returns 1. On failure
** raises a clawhost.Error (code "json"). Runs no metamethods, and pauses
** the garbage collector meanwhile so no __gc finalizer runs either.
*/
int json_encode_value(lua_State *L, int idx, int flags);

/*
** For a request body that carries a credential (a generated deployment
** password the service must receive in JSON): encode the value at idx
** and push the text, where each clawhost.Secret is the one byte
** JSON_SECRET_MARK, appended in order to the table at list. The byte
** never occurs otherwise (control characters are always escaped), so
** the caller swaps each for the secret's quoted bytes in C memory
** (json_quote) and the bytes never become a Lua string.
*/
#define JSON_SECRET_MARK '\x01'
int json_encode_marked(lua_State *L, int idx, int list);

/*
** Append str as a JSON string literal (quotes included), escaped as the
** encoder escapes. Returns 0, or -1 for invalid UTF-8 or when the buffer
** failed (b->err).
*/
int json_quote(struct dynbuf *b, const char *str, size_t len);

/*
** How many bytes at the start of s[0..len) are well-formed UTF-8 (the
** rule the encoder applies): len when all of them are, else the offset
** of the first byte that does not start a well-formed sequence.
*/
size_t json_utf8_valid(const char *s, size_t len);

/*
** Decode len bytes at s. On success pushes the value and returns 0; on
** failure pushes a clawhost.Error (code "json") and returns 1. Raises
** only on out-of-memory. s need not be NUL-terminated.
*/
int json_decode_buffer(lua_State *L, const char *s, size_t len);

/*
** Set the caps of this Lua state: max_encode bounds encoded output,
** max_decode bounds decoder input (and what lua-cjson is handed after
** empty arrays are expanded; clamped to JSON_MAX_DECODE_CEILING). 0
** leaves a cap as it is.
*/
void json_set_limits(lua_State *L, size_t max_encode, size_t max_decode);

/* Mark the table at idx as an array (json.array does it in Lua). */
void json_mark_array(lua_State *L, int idx);

/* The module table: encode, decode, safe, null, array, is_array. */
int luaopen_clawhost_json(lua_State *L);

#endif
