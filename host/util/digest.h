/*
** digest.h -- SHA-256 of some bytes, from the system's libcrypto.
**
** A dry-run plan of an upload shows the content's size and hash, never
** the content. libcrypto is already on the machine (libcurl4-openssl
** links it); it is loaded with util/dlib on first use, so nothing else
** pays for it.
*/
#ifndef CLAWHOST_DIGEST_H
#define CLAWHOST_DIGEST_H

#include <stddef.h>

/* 64 lower-case hex digits and a NUL into hex; 0, or -1 with a message
** (libcrypto missing) in err. */
int digest_sha256_hex(const void *data, size_t len, char hex[65],
                      char *err, size_t errlen);

#endif
