/*
** digest.c -- SHA-256 through libcrypto's EVP interface (digest.h).
** Written against OpenSSL 3's stable one-shot EVP_Digest, so no
** digest code of our own.
*/
#include <stddef.h>
#include <stdio.h>

#include "util/digest.h"
#include "util/dlib.h"

struct evp {
    const void *(*sha256)(void);
    int (*digest)(const void *, size_t, unsigned char *, unsigned int *,
                  const void *, void *);
};

static struct evp evp;

static const struct dlib_sym syms[] = {
    {"EVP_sha256", offsetof(struct evp, sha256)},
    {"EVP_Digest", offsetof(struct evp, digest)},
};

static struct dlib lib = {
    "libcrypto.so.3", "libssl3", "3.0", syms, sizeof syms / sizeof syms[0],
    &evp, sizeof evp, NULL
};

int digest_sha256_hex(const void *data, size_t len, char hex[65],
                      char *err, size_t errlen)
{
    unsigned char md[32];
    unsigned int n = 0;
    if (dlib_load(&lib, err, errlen) != 0)
        return -1;
    if (!evp.digest(data, len, md, &n, evp.sha256(), NULL) || n != 32) {
        snprintf(err, errlen, "SHA-256 failed in libcrypto");
        return -1;
    }
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}
