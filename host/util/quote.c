/*
** quote.c -- untrusted text made safe to show inside a message.
*/
#include <string.h>

#include "util/quote.h"

const char *quote_text(char *dst, size_t size, const char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n && o + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (i < n) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}

const char *quote_str(char *dst, size_t size, const char *s)
{
    if (!s)
        return quote_text(dst, size, "(null)", 6);
    return quote_text(dst, size, s, strnlen(s, size));
}
