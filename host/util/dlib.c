/*
** dlib.c -- a shared library loaded on first use (dlib.h).
*/
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "util/dlib.h"

int dlib_load(struct dlib *d, char *err, size_t errlen)
{
    if (d->handle)
        return 0;
    void *h = dlopen(d->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load %s (%s); install Debian's %s",
                 d->soname, dlerror(), d->package);
        return -1;
    }
    for (size_t i = 0; i < d->nsyms; i++) {
        void *fn = dlsym(h, d->syms[i].name);
        if (!fn) {
            snprintf(err, errlen, "%s lacks %s (version %s or newer is "
                     "needed)", d->soname, d->syms[i].name, d->need);
            dlclose(h);
            memset(d->table, 0, d->table_size);
            return -1;
        }
        memcpy((char *)d->table + d->syms[i].offset, &fn, sizeof fn);
    }
    d->handle = h;
    return 0;
}
