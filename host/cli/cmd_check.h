/*
** cmd_check.h -- `clawhost check`: which settings are present, where
** each came from, what is wrong with them and which workflows they make
** ready. docs/secrets.md is the user's page.
*/
#ifndef CLAWHOST_CMD_CHECK_H
#define CLAWHOST_CMD_CHECK_H

int cmd_check(const char *root, int argc, char **argv, int online);

#endif
