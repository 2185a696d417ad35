/*
** curlfn.c -- libcurl, loaded when the first request needs it.
**
** The soname is fixed (libcurl.so.4, the ABI of every libcurl 7 and 8);
** the functions are those of 7.88, the version the host is built and
** tested against (vendor/packages.txt).
*/
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "curl/curlfn.h"
#include "util/dlib.h"

struct curlfn curlfn;

static const struct dlib_sym symbols[] = {
#define SYM(field, name) {name, offsetof(struct curlfn, field)}
    SYM(global_init, "curl_global_init"),
    SYM(global_cleanup, "curl_global_cleanup"),
    SYM(easy_init, "curl_easy_init"),
    SYM(easy_cleanup, "curl_easy_cleanup"),
    SYM(easy_setopt, "curl_easy_setopt"),
    SYM(easy_getinfo, "curl_easy_getinfo"),
    SYM(easy_pause, "curl_easy_pause"),
    SYM(easy_strerror, "curl_easy_strerror"),
    SYM(multi_init, "curl_multi_init"),
    SYM(multi_cleanup, "curl_multi_cleanup"),
    SYM(multi_add_handle, "curl_multi_add_handle"),
    SYM(multi_remove_handle, "curl_multi_remove_handle"),
    SYM(multi_perform, "curl_multi_perform"),
    SYM(multi_poll, "curl_multi_poll"),
    SYM(multi_info_read, "curl_multi_info_read"),
    SYM(url, "curl_url"),
    SYM(url_cleanup, "curl_url_cleanup"),
    SYM(url_set, "curl_url_set"),
    SYM(url_get, "curl_url_get"),
    SYM(free, "curl_free"),
    SYM(slist_append, "curl_slist_append"),
    SYM(slist_free_all, "curl_slist_free_all"),
    SYM(version_info, "curl_version_info"),
    SYM(mime_init, "curl_mime_init"),
    SYM(mime_free, "curl_mime_free"),
    SYM(mime_addpart, "curl_mime_addpart"),
    SYM(mime_name, "curl_mime_name"),
    SYM(mime_data, "curl_mime_data"),
    SYM(mime_filename, "curl_mime_filename"),
    SYM(mime_type, "curl_mime_type"),
#undef SYM
};

static struct dlib lib = {
    "libcurl.so.4", "libcurl4", "7.88", symbols,
    sizeof symbols / sizeof symbols[0], &curlfn, sizeof curlfn, NULL
};

int curlfn_load(char *err, size_t errlen)
{
    return dlib_load(&lib, err, errlen);
}

int curlfn_loaded(void)
{
    return lib.handle != NULL;
}
