/*
** cmd_setup.h -- `clawhost setup`: collect settings into .env.local,
** asking on a terminal (secrets without echo), or from NAME=value lines
** on stdin, or from the environment. docs/secrets.md is the user's page.
*/
#ifndef CLAWHOST_CMD_SETUP_H
#define CLAWHOST_CMD_SETUP_H

int cmd_setup(const char *root, int argc, char **argv);

#endif
