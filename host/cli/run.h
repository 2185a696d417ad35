/*
** run.h -- one run of one recipe, from loading to the exit status.
*/
#ifndef CLAWHOST_RUN_H
#define CLAWHOST_RUN_H

#include "runtime/rt.h"

/*
** Run recipe `arg` (a name or a path) with its command-line args.
** `help` prints the recipe's help instead. Returns the exit status.
*/
int run_recipe(const struct rt_options *opt, const char *root,
               const char *arg, int argc, char **argv, int help);

#endif
