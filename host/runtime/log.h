/*
** log.h -- diagnostics on stderr: readable lines on a terminal or in a
** pipe, JSON lines with --log-json, and the live progress block.
*/
#ifndef CLAWHOST_LOG_H
#define CLAWHOST_LOG_H

#include <stddef.h>
#include <lua.h>

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* json: JSON lines; verbosity: enum rt_verbosity. */
void log_setup(int json, int verbosity);

/* One message from the host. */
void log_msgf(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_text(int level, const char *msg, size_t len);

/* A structured line: text "msg k=v ...", or the fields as JSON. */
struct log_field {
    const char *key;
    const char *str;        /* NULL: use num */
    long long num;
};
void log_fields(int level, const char *msg, const struct log_field *f,
                int n);

/* "hint: what to do", the line after a failure's message. */
void log_hint(const char *hint);

/* A recipe's print(): the text as it is, one line. */
void log_print(const char *s, size_t len);

/* Progress of a long wait; `done` turns the live line into a line
** (progress.h draws them). */
void log_progress(const char *label, const char *state, int done);

/* Take the live progress block off the screen before other output
** (results, streamed text); the next progress update draws it again. */
void log_progress_clear(void);

int luaopen_clawhost_log(lua_State *L);

#endif
