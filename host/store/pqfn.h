/*
** pqfn.h -- libpq, loaded when a PostgreSQL store is opened.
**
** Most runs never touch PostgreSQL; libpq and the libraries it pulls in
** (Kerberos, LDAP, OpenSSL) are loaded only when CLAWHOST_STORE names
** a postgresql:// database, so a recipe's cold start does not grow.
** Include this instead of <libpq-fe.h>, only in host/store, and call
** pqfn_load() before the first libpq call.
*/
#ifndef CLAWHOST_PQFN_H
#define CLAWHOST_PQFN_H

#include <stddef.h>

#include <libpq-fe.h>

struct pqfn {
    PGconn *(*connectdbParams)(const char *const *, const char *const *,
                               int);
    ConnStatusType (*status)(const PGconn *);
    char *(*errorMessage)(const PGconn *);
    void (*finish)(PGconn *);
    PGresult *(*exec)(PGconn *, const char *);
    PGresult *(*prepare)(PGconn *, const char *, const char *, int,
                         const Oid *);
    PGresult *(*execPrepared)(PGconn *, const char *, int,
                              const char *const *, const int *,
                              const int *, int);
    ExecStatusType (*resultStatus)(const PGresult *);
    char *(*resultErrorField)(const PGresult *, int);
    char *(*resultErrorMessage)(const PGresult *);
    void (*clear)(PGresult *);
    int (*ntuples)(const PGresult *);
    int (*nfields)(const PGresult *);
    char *(*getvalue)(const PGresult *, int, int);
    int (*getlength)(const PGresult *, int, int);
    int (*getisnull)(const PGresult *, int, int);
    Oid (*ftype)(const PGresult *, int);
    PQnoticeProcessor (*setNoticeProcessor)(PGconn *, PQnoticeProcessor,
                                            void *);
    PGTransactionStatusType (*transactionStatus)(const PGconn *);
    char *(*host)(const PGconn *);
    char *(*port)(const PGconn *);
    char *(*db)(const PGconn *);
    char *(*user)(const PGconn *);
    int (*serverVersion)(const PGconn *);
};

extern struct pqfn pqfn;

/* Load libpq once; 0, or -1 with a message. */
int pqfn_load(char *err, size_t errlen);

#endif
