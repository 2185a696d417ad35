/*
** fileio.h -- writing files so that nothing is half-written.
**
** fileio_write_all retries short writes and EINTR. fileio_replace swaps
** a whole file for new contents the way a crash cannot tear: a fresh
** temporary file in the same folder (O_EXCL, O_NOFOLLOW, the final
** mode from the start), written, fsync'ed, closed, renamed over the
** old name, and then the folder fsync'ed, because the rename is only
** durable once the folder is (reliability-anchors 4.2 item 4). Every
** result is checked; on any failure before the rename the old file is
** untouched and the temporary file is removed.
*/
#ifndef CLAWHOST_FILEIO_H
#define CLAWHOST_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

struct dynbuf;

/*
** Read fd to its end into b, never past b->max: a file that is longer
** fails with DYNBUF_TOOBIG after reading at most one byte too many, so
** a huge file is refused, not read into memory. 0, DYNBUF_TOOBIG,
** DYNBUF_NOMEM, or -1 with errno set (a read error).
*/
int fileio_read_all(int fd, struct dynbuf *b);

/* Write all n bytes; 0, or -1 with errno set. */
int fileio_write_all(int fd, const void *p, size_t n);

/* Where fileio_replace may be stopped by a crash test (its step hook). */
enum fileio_step {
    FILEIO_TEMP_OPENED,         /* empty temporary file created */
    FILEIO_TEMP_PARTIAL,        /* half of the new contents written */
    FILEIO_TEMP_WRITTEN,        /* all written, not synced */
    FILEIO_TEMP_SYNCED,         /* fsync'ed and closed */
    FILEIO_RENAMED,             /* in place, folder not synced */
    FILEIO_DIR_SYNCED           /* durable */
};

struct fileio_target {
    int dirfd;                  /* the folder, or AT_FDCWD */
    const char *name;           /* the file, relative to dirfd */
    const char *shown;          /* its name in messages (NULL: name) */
    mode_t mode;                /* of the new file, e.g. 0600 */
    void (*step)(int step, void *ud);   /* NULL, or a crash test */
    void *step_ud;
};

/*
** Replace the file with len bytes of data. 0, or -1 with a message in
** err that names the file and the step that failed (never the data).
** A failure after the rename (the folder's fsync) is reported too: the
** new contents are in place but may not survive a power loss.
*/
int fileio_replace(const struct fileio_target *t, const void *data,
                   size_t len, char *err, size_t errlen);

#endif
