/*
** init.h -- start and stop the runtime with its host modules.
*/
#ifndef CLAWHOST_INIT_H
#define CLAWHOST_INIT_H

#include <stddef.h>

#include "runtime/rt.h"

/*
** Create the Lua state (rt_init), register every host module for
** require, and build the sandbox. 0, or -1 with a message in err.
*/
int init_start(const struct rt_options *opt, const char *root, char *err,
               size_t errlen);

/*
** Close the state (finalizers run), then let the modules finish what
** outlives it (open reservations, libcurl), then the runtime itself.
** Safe after a failed init_start.
*/
void init_stop(void);

#endif
