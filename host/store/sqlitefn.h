/*
** sqlitefn.h -- SQLite, loaded when the store is first opened.
**
** Linked in, SQLite's relocations would cost every run's start about
** 45,000 instructions in the dynamic loader (measured with callgrind on
** `clawhost run hello`), though most runs never open the store. It is
** loaded with the host's one loader (util/dlib.c) at the first open
** instead. Include this instead of <sqlite3.h>, only in host/store, and
** call sqlitefn_load() first.
*/
#ifndef CLAWHOST_SQLITEFN_H
#define CLAWHOST_SQLITEFN_H

#include <stddef.h>

#include <sqlite3.h>

struct sqlitefn {
    int (*open_v2)(const char *, sqlite3 **, int, const char *);
    int (*close)(sqlite3 *);
    int (*exec)(sqlite3 *, const char *, int (*)(void *, int, char **,
                                                  char **), void *,
                char **);
    int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **,
                      const char **);
    int (*prepare_v3)(sqlite3 *, const char *, int, unsigned int,
                      sqlite3_stmt **, const char **);
    int (*step)(sqlite3_stmt *);
    int (*reset)(sqlite3_stmt *);
    int (*clear_bindings)(sqlite3_stmt *);
    int (*finalize)(sqlite3_stmt *);
    int (*bind_int64)(sqlite3_stmt *, int, sqlite3_int64);
    int (*bind_text)(sqlite3_stmt *, int, const char *, int,
                     void (*)(void *));
    int (*bind_null)(sqlite3_stmt *, int);
    int (*column_count)(sqlite3_stmt *);
    int (*column_type)(sqlite3_stmt *, int);
    sqlite3_int64 (*column_int64)(sqlite3_stmt *, int);
    const unsigned char *(*column_text)(sqlite3_stmt *, int);
    int (*column_bytes)(sqlite3_stmt *, int);
    const char *(*errmsg)(sqlite3 *);
    const char *(*errstr)(int);
    int (*busy_timeout)(sqlite3 *, int);
    int (*get_autocommit)(sqlite3 *);
    void (*free)(void *);
};

extern struct sqlitefn sqlitefn;

/* Load libsqlite3 once; 0, or -1 with a message. */
int sqlitefn_load(char *err, size_t errlen);

#define sqlite3_open_v2 sqlitefn.open_v2
#define sqlite3_close sqlitefn.close
#define sqlite3_exec sqlitefn.exec
#define sqlite3_prepare_v2 sqlitefn.prepare_v2
#define sqlite3_prepare_v3 sqlitefn.prepare_v3
#define sqlite3_step sqlitefn.step
#define sqlite3_reset sqlitefn.reset
#define sqlite3_clear_bindings sqlitefn.clear_bindings
#define sqlite3_finalize sqlitefn.finalize
#define sqlite3_bind_int64 sqlitefn.bind_int64
#define sqlite3_bind_text sqlitefn.bind_text
#define sqlite3_bind_null sqlitefn.bind_null
#define sqlite3_column_count sqlitefn.column_count
#define sqlite3_column_type sqlitefn.column_type
#define sqlite3_column_int64 sqlitefn.column_int64
#define sqlite3_column_text sqlitefn.column_text
#define sqlite3_column_bytes sqlitefn.column_bytes
#define sqlite3_errmsg sqlitefn.errmsg
#define sqlite3_errstr sqlitefn.errstr
#define sqlite3_busy_timeout sqlitefn.busy_timeout
#define sqlite3_get_autocommit sqlitefn.get_autocommit
#define sqlite3_free sqlitefn.free

#endif
