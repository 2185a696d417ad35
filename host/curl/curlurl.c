/*
** curlurl.c -- a request URL built with libcurl's URL API (curlurl.h).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl/curlfn.h"
#include "curl/curlurl.h"

static int part(CURLU *u, CURLUPart which, unsigned flags, char *out,
                size_t size)
{
    char *v = NULL;
    int ok = curl_url_get(u, which, &v, flags) == CURLUE_OK;
    if (ok)
        snprintf(out, size, "%s", v);
    curl_free(v);
    return ok;
}

/* Scheme, host and port as libcurl will connect; credentials refused,
** since they would travel outside the secret type and show in logs. */
static int take_apart(CURLU *u, struct curlurl *out)
{
    char port[16], user[8];
    if (part(u, CURLUPART_USER, 0, user, sizeof user))
        return CURLURL_CREDENTIALS;
    part(u, CURLUPART_SCHEME, 0, out->scheme, sizeof out->scheme);
    part(u, CURLUPART_HOST, CURLU_PUNYCODE, out->host, sizeof out->host);
    part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, port, sizeof port);
    out->port = (unsigned)atoi(port);
    return CURLURL_OK;
}

int curlurl_build(const char *url, const char *const *pairs, size_t npairs,
                  struct curlurl *out, char *err, size_t errlen)
{
    char *full = NULL;
    int st;
    memset(out, 0, sizeof *out);
    if (curlfn_load(err, errlen) != 0)
        return CURLURL_NO_LIBCURL;
    CURLU *u = curl_url();
    if (!u)
        return snprintf(err, errlen, "out of memory"), CURLURL_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
        CURLUE_OK)
        st = CURLURL_INVALID;
    else
        st = take_apart(u, out);
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    for (size_t i = 0; st == CURLURL_OK && i < npairs; i++)
        curl_url_set(u, CURLUPART_QUERY, pairs[i],
                     CURLU_APPENDQUERY | CURLU_URLENCODE);
    if (st == CURLURL_OK)
        curl_url_get(u, CURLUPART_URL, &full, 0);
    curl_url_cleanup(u);
    if (st == CURLURL_OK && !(out->url = full ? strdup(full) : NULL))
        st = CURLURL_NOMEM;
    curl_free(full);
    snprintf(err, errlen, "%s", st == CURLURL_INVALID ? "not a valid "
             "absolute URL" : st == CURLURL_CREDENTIALS ? "credentials in "
             "the URL are refused" : st == CURLURL_NOMEM ? "out of memory"
             : "");
    return st;
}
