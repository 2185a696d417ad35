/*
** cmd_completion.h -- `clawhost completion bash|zsh`: a completion
** script made from the commands and the recipes' params.
*/
#ifndef CLAWHOST_CMD_COMPLETION_H
#define CLAWHOST_CMD_COMPLETION_H

/* Print the script for argv[0] ("bash" or "zsh") on stdout, from the
** recipes in root/recipes. Returns the exit status. */
int cmd_completion(const char *root, int argc, char **argv);

#endif
