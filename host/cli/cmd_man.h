/*
** cmd_man.h -- `clawhost man`: the manual page, as roff on stdout.
*/
#ifndef CLAWHOST_CMD_MAN_H
#define CLAWHOST_CMD_MAN_H

/* Print clawhost(1); takes no arguments. Returns the exit status. */
int cmd_man(int argc, char **argv);

#endif
