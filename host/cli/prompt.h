/*
** prompt.h -- reading answers from the terminal (or NAME=value lines
** from a pipe) without leaving copies of them around.
**
** Lines are read with read(2), one byte at a time, into one buffer
** that is locked in memory and wiped after every use: no stdio buffer
** keeps a copy of a secret typed in. Echo is turned off and on as
** getpass(3) does, and a signal that ends the process first puts the
** terminal back the way it was.
*/
#ifndef CLAWHOST_PROMPT_H
#define CLAWHOST_PROMPT_H

#include <stddef.h>

#include "pure/settings.h"

#define PROMPT_LINE_MAX SETTINGS_VALUE_MAX  /* bytes of one line */

/*
** Lock the line buffer in memory and catch SIGINT, SIGTERM, SIGHUP and
** SIGQUIT: the handler restores the terminal, writes `farewell` (a
** string that must outlive the process) to stderr and exits with 130.
*/
void prompt_init(const char *farewell);

/*
** One line from fd 0, without its newline (nor a CR before it). 1 with
** *line and *len set (the bytes stay valid until the next read or
** prompt_wipe), 0 at the end of input, -1 for a line longer than
** PROMPT_LINE_MAX (skipped; *len is 0).
*/
int prompt_read_line(const char **line, size_t *len);

/* Zero the line buffer. */
void prompt_wipe(void);

/* Echo off, the newline still shown (ECHONL). 0, or -1 when fd 0 is
** not a terminal that allows it. */
int prompt_echo_off(void);

/* The terminal as it was before prompt_echo_off. */
void prompt_echo_on(void);

#endif
