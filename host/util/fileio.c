/*
** fileio.c -- writing files so that nothing is half-written.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dynbuf.h"
#include "util/fileio.h"

#define READ_STEP 65536

int fileio_read_all(int fd, struct dynbuf *b)
{
    for (;;) {
        size_t room = b->max - b->len;
        char one, *at = &one;
        if (room > READ_STEP)
            room = READ_STEP;
        if (room > 0 && dynbuf_reserve(b, room) != DYNBUF_OK)
            return b->err;
        if (room > 0)
            at = b->p + b->len;
        ssize_t r = read(fd, at, room > 0 ? room : 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        if (room == 0)
            return b->err = DYNBUF_TOOBIG;
        b->len += (size_t)r;
        b->p[b->len] = '\0';
    }
}

int fileio_write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void step(const struct fileio_target *t, int s)
{
    if (t->step)
        t->step(s, t->step_ud);
}

static int fail(const struct fileio_target *t, const char *what, int e,
                char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot write %s (%s: %s); it was left as it "
             "was", t->shown ? t->shown : t->name, what, strerror(e));
    return -1;
}

/* A name no other writer can be using: NAME.tmp.<16 hex digits>. */
static int temp_open(const struct fileio_target *t, char *tmp, size_t size)
{
    for (int tries = 0; tries < 8; tries++) {
        unsigned long long r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r ^= (unsigned long long)getpid() << 20 ^ (unsigned)tries;
        if ((size_t)snprintf(tmp, size, "%s.tmp.%016llx", t->name, r) >=
            size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = openat(t->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
                        O_CLOEXEC | O_NOFOLLOW, t->mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Write, fsync and close; the step hook sees each stage. NULL, or the
** step that failed with errno set. */
static const char *temp_fill(const struct fileio_target *t, int fd,
                             const char *data, size_t len)
{
    size_t half = len / 2;
    const char *what = NULL;
    step(t, FILEIO_TEMP_OPENED);
    if (fchmod(fd, t->mode) != 0)
        what = "chmod";
    else if (fileio_write_all(fd, data, half) != 0)
        what = "write";
    if (!what) {
        step(t, FILEIO_TEMP_PARTIAL);
        if (fileio_write_all(fd, data + half, len - half) != 0)
            what = "write";
    }
    if (!what) {
        step(t, FILEIO_TEMP_WRITTEN);
        if (fsync(fd) != 0)     /* not retried: the pages may be gone */
            what = "fsync";
    }
    int e = errno;
    if (close(fd) != 0 && !what)
        return "close";
    errno = e;
    return what;
}

/* The folder of t->name, opened for its fsync. */
static int dir_open(const struct fileio_target *t)
{
    const char *slash = strrchr(t->name, '/');
    char dir[PATH_MAX];
    if (!slash)
        return openat(t->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if ((size_t)(slash - t->name) + 2 > sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, t->name, (size_t)(slash - t->name) + 1);
    dir[slash - t->name + 1] = '\0';
    return openat(t->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int dir_sync(const struct fileio_target *t, char *err, size_t errlen)
{
    int fd = dir_open(t);
    int rc = fd < 0 ? -1 : fsync(fd);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        snprintf(err, errlen, "%s was replaced, but its folder could not "
                 "be synced (%s); the change may not survive a power loss",
                 t->shown ? t->shown : t->name, strerror(e));
        return -1;
    }
    step(t, FILEIO_DIR_SYNCED);
    return 0;
}

int fileio_replace(const struct fileio_target *t, const void *data,
                   size_t len, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    int fd = temp_open(t, tmp, sizeof tmp);
    if (fd < 0)
        return fail(t, "create a temporary file", errno, err, errlen);
    const char *what = temp_fill(t, fd, data, len);
    if (!what) {
        step(t, FILEIO_TEMP_SYNCED);
        if (renameat(t->dirfd, tmp, t->dirfd, t->name) != 0)
            what = "rename";
    }
    if (what) {
        int e = errno;
        unlinkat(t->dirfd, tmp, 0);
        return fail(t, what, e, err, errlen);
    }
    step(t, FILEIO_RENAMED);
    return dir_sync(t, err, errlen);
}
