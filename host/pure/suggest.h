/*
** suggest.h -- "did you mean ...?" for mistyped names.
*/
#ifndef CLAWHOST_SUGGEST_H
#define CLAWHOST_SUGGEST_H

#include <stddef.h>

/*
** Keep `candidate` in *best when it is closer to `typed` than what
** *best holds (edit distance, at most max(2, len/3) edits). Start with
** *best = NULL and *dist = 0.
*/
void suggest_consider(const char *typed, const char *candidate,
                      const char **best, size_t *dist);

#endif
