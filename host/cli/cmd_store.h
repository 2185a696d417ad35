/*
** cmd_store.h -- `clawhost store migrate|status`, for operators.
*/
#ifndef CLAWHOST_CMD_STORE_H
#define CLAWHOST_CMD_STORE_H

int cmd_store(int argc, char **argv);

#endif
