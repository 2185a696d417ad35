/*
** ledgercmd.h -- `clawhost ledger`.
*/
#ifndef CLAWHOST_LEDGERCMD_H
#define CLAWHOST_LEDGERCMD_H

int cmd_ledger(int argc, char **argv);

#endif
