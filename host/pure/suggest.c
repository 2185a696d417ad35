/*
** suggest.c -- "did you mean ...?" for mistyped names.
*/
#include <string.h>

#include "pure/suggest.h"

#define MAX_LEN 64

/* Levenshtein distance over two short strings, one row at a time. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[MAX_LEN + 1];
    if (la > MAX_LEN || lb > MAX_LEN)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void suggest_consider(const char *typed, const char *candidate,
                      const char **best, size_t *dist)
{
    size_t limit = strlen(typed) / 3, d;
    if (limit < 2)
        limit = 2;
    d = distance(typed, candidate);
    if (d <= limit && (!*best || d < *dist)) {
        *best = candidate;
        *dist = d;
    }
}
