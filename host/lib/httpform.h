/*
** httpform.h -- the `form` option of http.request: a multipart/form-data
** body (RFC 7578) of fields and files, framed by libcurl.
*/
#ifndef CLAWHOST_HTTPFORM_H
#define CLAWHOST_HTTPFORM_H

#include <stddef.h>
#include <lua.h>

#include "curl/transfer.h"

#define HTTPFORM_MAX_PARTS 64

/*
** Read the list at idx into a malloc'd array of parts (free() it). The
** bytes are borrowed from the list's strings: the caller keeps the list
** alive until the request ends. Raises on a bad part, naming it.
*/
void httpform_parse(lua_State *L, int idx, struct transfer_part **parts,
                    size_t *n);

/*
** Push what a dry-run plan shows of the parts: fields with their text
** (masked when the name looks like a credential's), files with their
** name, type, size and SHA-256, never their bytes.
*/
void httpform_plan(lua_State *L, const struct transfer_part *parts,
                   size_t n);

/* All the parts' bytes: what the plan calls body_bytes. */
size_t httpform_bytes(const struct transfer_part *parts, size_t n);

#endif
