/*
** setup_test.c -- the atomic write of `clawhost setup`. (Validation:
** settings_test.c; quoting and merging: dotenv_test.c.)
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/setup.h"
#include "unit.h"

static char dir[64];

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
        close(fd);
    }
}

static char *read_all(const char *path)
{
    static char buf[65536];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* Temporary files setup_write_atomic may have left in dir. */
static int leftovers(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* ---- the atomic write ---- */

static void test_atomic_write(void)
{
    char path[128], err[256];
    struct stat st, st2;
    path_in(path, sizeof path, ".env.local");
    mode_t mask = umask(0);             /* even with a lax umask */
    CHECK_INT(setup_write_atomic(path, "A=1\n", 4, err, sizeof err), 0);
    umask(mask);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK_STR(read_all(path), "A=1\n");
    chmod(path, 0644);
    CHECK_INT(setup_write_atomic(path, "A=2\n", 4, err, sizeof err), 0);
    CHECK(stat(path, &st2) == 0 && (st2.st_mode & 07777) == 0600);
    CHECK(st2.st_ino != st.st_ino);     /* replaced, not rewritten */
    CHECK_STR(read_all(path), "A=2\n");
    CHECK_INT(leftovers(), 0);
}

static void test_atomic_write_failures_leave_the_old_file(void)
{
    char path[128], err[256], big[8192];
    struct rlimit old, small;
    path_in(path, sizeof path, ".env.local");
    write_file(path, "OLD=1\n");
    /* a full disk: writes past 100 bytes fail with EFBIG */
    memset(big, 'S', sizeof big);
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = 100;
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    int rc = setup_write_atomic(path, big, sizeof big, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_INT(rc, -1);
    CHECK(strstr(err, "write") != NULL);
    CHECK(strstr(err, "SSSS") == NULL);
    CHECK_STR(read_all(path), "OLD=1\n");
    CHECK_INT(leftovers(), 0);
    /* no folder to put the temporary file in */
    CHECK_INT(setup_write_atomic("/nonexistent-dir/.env.local", "A", 1,
                                 err, sizeof err), -1);
    CHECK(strstr(err, "temporary") != NULL);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_setup.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_atomic_write);
    RUN(test_atomic_write_failures_leave_the_old_file);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return unit_done("setup");
}
