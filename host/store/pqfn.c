/*
** pqfn.c -- libpq, loaded when a PostgreSQL store is opened (pqfn.h).
**
** The soname is fixed (libpq.so.5, libpq's ABI since PostgreSQL 8.x);
** every function used here exists in libpq 10 and newer.
*/
#include <stddef.h>

#include "store/pqfn.h"
#include "util/dlib.h"

struct pqfn pqfn;

static const struct dlib_sym symbols[] = {
#define SYM(field) {"PQ" #field, offsetof(struct pqfn, field)}
    SYM(connectdbParams), SYM(status), SYM(errorMessage), SYM(finish),
    SYM(exec), SYM(prepare), SYM(execPrepared), SYM(resultStatus),
    SYM(resultErrorField), SYM(resultErrorMessage), SYM(clear),
    SYM(ntuples), SYM(nfields), SYM(getvalue), SYM(getlength),
    SYM(getisnull), SYM(ftype), SYM(setNoticeProcessor),
    SYM(transactionStatus), SYM(host), SYM(port), SYM(db), SYM(user),
    SYM(serverVersion),
#undef SYM
};

static struct dlib lib = {
    "libpq.so.5", "libpq5", "10", symbols,
    sizeof symbols / sizeof symbols[0], &pqfn, sizeof pqfn, NULL
};

int pqfn_load(char *err, size_t errlen)
{
    return dlib_load(&lib, err, errlen);
}
