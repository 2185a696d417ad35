/*
** curlfn.h -- libcurl, loaded when the first request needs it.
**
** Debian's libcurl pulls in 30-odd shared libraries (GnuTLS, ldap,
** krb5, ssh, ...) whose loading and symbol binding cost about 3.6 ms:
** two thirds of a recipe's cold start. The host resolves the curl
** functions it uses with dlopen() at the first HTTP request or URL
** parse instead, so a recipe that makes no request never pays for it.
** Include this instead of <curl/curl.h>, only in host/curl/ (the
** one room that sees libcurl); call curlfn_load() before the first
** curl call.
*/
#ifndef CLAWHOST_CURLFN_H
#define CLAWHOST_CURLFN_H

#include <stddef.h>

/* curl's type-checking macros would collide with the names below. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

struct curlfn {
    CURLcode (*global_init)(long);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_pause)(CURL *, int);
    const char *(*easy_strerror)(CURLcode);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int,
                            int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_version_info_data *(*version_info)(CURLversion);
    curl_mime *(*mime_init)(CURL *);
    void (*mime_free)(curl_mime *);
    curl_mimepart *(*mime_addpart)(curl_mime *);
    CURLcode (*mime_name)(curl_mimepart *, const char *);
    CURLcode (*mime_data)(curl_mimepart *, const char *, size_t);
    CURLcode (*mime_filename)(curl_mimepart *, const char *);
    CURLcode (*mime_type)(curl_mimepart *, const char *);
};

extern struct curlfn curlfn;

/* Load libcurl once; 0, or -1 with a message. */
int curlfn_load(char *err, size_t errlen);

/* Is it loaded (so cleanup has something to do)? */
int curlfn_loaded(void);

/* curl.h wraps the variadic ones in same-name macros; ours replace them */
#undef curl_easy_setopt
#undef curl_easy_getinfo

#define curl_global_init curlfn.global_init
#define curl_global_cleanup curlfn.global_cleanup
#define curl_easy_init curlfn.easy_init
#define curl_easy_cleanup curlfn.easy_cleanup
#define curl_easy_setopt curlfn.easy_setopt
#define curl_easy_getinfo curlfn.easy_getinfo
#define curl_easy_pause curlfn.easy_pause
#define curl_easy_strerror curlfn.easy_strerror
#define curl_multi_init curlfn.multi_init
#define curl_multi_cleanup curlfn.multi_cleanup
#define curl_multi_add_handle curlfn.multi_add_handle
#define curl_multi_remove_handle curlfn.multi_remove_handle
#define curl_multi_perform curlfn.multi_perform
#define curl_multi_poll curlfn.multi_poll
#define curl_multi_info_read curlfn.multi_info_read
#define curl_url curlfn.url
#define curl_url_cleanup curlfn.url_cleanup
#define curl_url_set curlfn.url_set
#define curl_url_get curlfn.url_get
#define curl_free curlfn.free
#define curl_mime_init curlfn.mime_init
#define curl_mime_free curlfn.mime_free
#define curl_mime_addpart curlfn.mime_addpart
#define curl_mime_name curlfn.mime_name
#define curl_mime_data curlfn.mime_data
#define curl_mime_filename curlfn.mime_filename
#define curl_mime_type curlfn.mime_type
#define curl_slist_append curlfn.slist_append
#define curl_slist_free_all curlfn.slist_free_all
#define curl_version_info curlfn.version_info

#endif
