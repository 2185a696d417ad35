/*
** quote.h -- untrusted text made safe to show inside a message.
**
** A host name, a flag's argument or a field of a damaged file may hold
** terminal control sequences; an error message that echoes it must not
** send them to the user's terminal. Every message that quotes input
** passes it through here first.
*/
#ifndef CLAWHOST_QUOTE_H
#define CLAWHOST_QUOTE_H

#include <stddef.h>

/* Enough for every quote the host makes (60 bytes of input and "..."). */
#define QUOTE_MAX 64

/*
** Copy the first n bytes of s into dst (size bytes, at least 4), each
** byte outside printable ASCII as '?', cut with "..." when it does not
** fit. Returns dst, so it can be an argument of a printf.
*/
const char *quote_text(char *dst, size_t size, const char *s, size_t n);

/* The same for a NUL-terminated string (NULL shows as "(null)"). */
const char *quote_str(char *dst, size_t size, const char *s);

#endif
