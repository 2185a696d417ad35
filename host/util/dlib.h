/*
** dlib.h -- a shared library loaded on first use, its functions looked
** up into a table of pointers.
**
** libcurl and libpq each pull in dozens of shared libraries whose
** loading costs milliseconds; a recipe that never makes a request or
** never touches PostgreSQL should not pay for them. Both are loaded
** with this one loader (curl/curlfn.c, store/pqfn.c).
*/
#ifndef CLAWHOST_DLIB_H
#define CLAWHOST_DLIB_H

#include <stddef.h>

/* One function: its name in the library, its slot in the table. */
struct dlib_sym {
    const char *name;
    size_t offset;
};

struct dlib {
    const char *soname;         /* "libcurl.so.4" */
    const char *package;        /* Debian package, for the message */
    const char *need;           /* "7.88", for the message */
    const struct dlib_sym *syms;
    size_t nsyms;
    void *table;                /* where the pointers go */
    size_t table_size;
    void *handle;               /* NULL until loaded */
};

/* Load it once; 0, or -1 with a message naming the package to install
** or the function the installed version lacks (the table is zeroed). */
int dlib_load(struct dlib *d, char *err, size_t errlen);

#endif
