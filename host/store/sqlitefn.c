/*
** sqlitefn.c -- SQLite, loaded when the store is first opened
** (sqlitefn.h). The soname is fixed: libsqlite3.so.0, the ABI of every
** SQLite 3; the functions used exist in 3.35 and newer (RETURNING).
*/
#include <stddef.h>

#include "store/sqlitefn.h"
#include "util/dlib.h"

struct sqlitefn sqlitefn;

static const struct dlib_sym symbols[] = {
#define SYM(field) {"sqlite3_" #field, offsetof(struct sqlitefn, field)}
    SYM(open_v2), SYM(close), SYM(exec), SYM(prepare_v2),
    SYM(prepare_v3), SYM(step), SYM(reset), SYM(clear_bindings),
    SYM(finalize), SYM(bind_int64), SYM(bind_text), SYM(bind_null),
    SYM(column_count), SYM(column_type), SYM(column_int64),
    SYM(column_text), SYM(column_bytes), SYM(errmsg), SYM(errstr),
    SYM(busy_timeout), SYM(get_autocommit), SYM(free),
#undef SYM
};

static struct dlib lib = {
    "libsqlite3.so.0", "libsqlite3-0", "3.35", symbols,
    sizeof symbols / sizeof symbols[0], &sqlitefn, sizeof sqlitefn, NULL
};

int sqlitefn_load(char *err, size_t errlen)
{
    return dlib_load(&lib, err, errlen);
}
