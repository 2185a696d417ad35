/*
** progress.h -- the progress of long waits, one entry per task label.
**
** On a terminal every unfinished label owns one live line, drawn as a
** block under the other output and redrawn in place (elapsed seconds,
** and the limit when the state has one); elsewhere each change of
** state is one plain line. log.c decides the mode and writes JSON lines
** itself; this file keeps the entries and draws them.
*/
#ifndef CLAWHOST_PROGRESS_H
#define CLAWHOST_PROGRESS_H

enum progress_mode {
    PROGRESS_PLAIN,     /* a line per change of state (pipes, files) */
    PROGRESS_TTY,       /* the live block */
    PROGRESS_RECORD     /* keep the entries, draw nothing (--log-json) */
};

void progress_setup(int mode);

/*
** A label's new state. `limit` (seconds, 0 none) is the bound of the
** wait the state describes; `owner` (a task, or NULL) makes the line go
** when that task ends. `done` ends the entry with one lasting line.
** Returns the seconds since the label's first state.
*/
double progress_update(const char *label, const char *state, int done,
                       double limit, const void *owner);

/* Take the live block off the screen before other output; it comes
** back with the next update. */
void progress_hide(void);

/* On a terminal, end a line another write left open (a streamed
** answer on stdout) before a line of stderr starts. */
void progress_break_line(void);

/* The monotonic time the block should be redrawn at (its elapsed
** seconds move), or 0 when nothing is live. */
double progress_next_tick(void);

/* Redraw the block if a tick is due. */
void progress_tick(void);

/* A task ended: its lines go (without a lasting line). */
void progress_forget(const void *owner);

#endif
