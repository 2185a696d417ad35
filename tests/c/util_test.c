/*
** util_test.c -- unit tests for host/util: the capped byte buffer, the
** atomic file replace and whole-file read, and message quoting.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util/dynbuf.h"
#include "util/fileio.h"
#include "util/quote.h"

/* ---- dynbuf ---------------------------------------------------------- */

static void test_dynbuf_add_and_nul(void)
{
    struct dynbuf b;
    dynbuf_init(&b, 1000);
    CHECK(b.p == NULL && b.len == 0);
    CHECK_INT(dynbuf_add(&b, "abc", 3), DYNBUF_OK);
    CHECK_INT(dynbuf_adds(&b, "def"), DYNBUF_OK);
    CHECK_INT(dynbuf_addf(&b, "-%d-", 42), DYNBUF_OK);
    CHECK_STR(b.p, "abcdef-42-");
    CHECK_INT(b.len, 10);
    CHECK_INT(dynbuf_add(&b, "", 0), DYNBUF_OK);
    CHECK_INT(b.len, 10);
    dynbuf_free(&b);
    CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
}

/* The cap holds exactly: max bytes fit, one more does not, and the
** failed add changes nothing and is sticky. */
static void test_dynbuf_cap(void)
{
    struct dynbuf b;
    char big[300];
    memset(big, 'x', sizeof big);
    dynbuf_init(&b, 100);
    CHECK_INT(dynbuf_add(&b, big, 100), DYNBUF_OK);
    CHECK(b.cap <= 101);
    CHECK_INT(dynbuf_add(&b, "y", 1), DYNBUF_TOOBIG);
    CHECK_INT(b.len, 100);
    CHECK_INT(b.err, DYNBUF_TOOBIG);
    CHECK_INT(dynbuf_add(&b, "", 0), DYNBUF_TOOBIG);
    dynbuf_reset(&b);
    CHECK_INT(b.err, DYNBUF_OK);
    CHECK_INT(b.len, 0);
    CHECK_INT(dynbuf_add(&b, big, 101), DYNBUF_TOOBIG);
    CHECK_INT(b.len, 0);
    dynbuf_reset(&b);
    CHECK_INT(dynbuf_addf(&b, "%.*s", 150, big), DYNBUF_TOOBIG);
    CHECK_INT(b.len, 0);
    dynbuf_free(&b);
}

/* A long formatted string goes through the slow path intact. */
static void test_dynbuf_addf_long(void)
{
    struct dynbuf b;
    char want[1001];
    memset(want, 'q', 1000);
    want[1000] = '\0';
    dynbuf_init(&b, SIZE_MAX);
    CHECK_INT(dynbuf_addf(&b, "<%s>", want), DYNBUF_OK);
    CHECK_INT(b.len, 1002);
    CHECK(b.p[0] == '<' && b.p[1001] == '>' && b.p[1002] == '\0');
    CHECK(memcmp(b.p + 1, want, 1000) == 0);
    dynbuf_free(&b);
}

struct counting {
    size_t live, calls;
    size_t limit;
};

/* An allocator with lua_Alloc's contract that counts and can refuse. */
static void *counting_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
    struct counting *c = ud;
    c->calls++;
    if (p)
        c->live -= osize;
    if (nsize == 0) {
        free(p);
        return NULL;
    }
    if (c->live + nsize > c->limit) {
        if (p)
            c->live += osize;
        return NULL;
    }
    void *q = realloc(p, nsize);
    if (!q) {
        if (p)
            c->live += osize;
        return NULL;
    }
    c->live += nsize;
    return q;
}

static void test_dynbuf_allocator(void)
{
    struct counting c = {0, 0, 4096};
    struct dynbuf b;
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    dynbuf_init_alloc(&b, SIZE_MAX, counting_alloc, &c);
    CHECK_INT(dynbuf_add(&b, chunk, 1000), DYNBUF_OK);
    CHECK(c.live == b.cap);
    CHECK_INT(dynbuf_add(&b, chunk, 1000), DYNBUF_OK);
    CHECK(c.live == b.cap);
    /* the allocator refuses growth past its limit */
    for (int i = 0; i < 10 && b.err == DYNBUF_OK; i++)
        dynbuf_add(&b, chunk, 1000);
    CHECK_INT(b.err, DYNBUF_NOMEM);
    CHECK(b.len <= 4096);
    CHECK(dynbuf_take(&b, NULL) == NULL);  /* not realloc'd memory */
    CHECK_INT(c.live, 0);
    CHECK(b.p == NULL);
}

/* A wiping buffer must not leave its old bytes in memory it gives back:
** the allocator sees every released block, so look at it then. */
static int saw_secret;

static void *peeking_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
    (void)ud;
    if (p && nsize == 0) {
        const char *s = p;
        for (size_t i = 0; i + 6 <= osize; i++)
            saw_secret |= memcmp(s + i, "SECRET", 6) == 0;
        free(p);
        return NULL;
    }
    if (p && nsize != 0)
        saw_secret |= 2;        /* realloc: it would keep a copy */
    return nsize ? realloc(p, nsize) : NULL;
}

static void test_dynbuf_wipe(void)
{
    struct dynbuf b;
    char pad[500];
    memset(pad, '.', sizeof pad);
    dynbuf_init_alloc(&b, SIZE_MAX, peeking_alloc, NULL);
    b.wipe = 1;
    saw_secret = 0;
    dynbuf_adds(&b, "SECRET");
    for (int i = 0; i < 20; i++)
        dynbuf_add(&b, pad, sizeof pad);
    dynbuf_consume(&b, 3);
    dynbuf_reset(&b);
    dynbuf_adds(&b, "SECRET");
    dynbuf_free(&b);
    CHECK_INT(saw_secret, 0);
    /* the same without wipe does leave it (the check can fail) */
    dynbuf_init_alloc(&b, SIZE_MAX, peeking_alloc, NULL);
    saw_secret = 0;
    dynbuf_adds(&b, "SECRET");
    dynbuf_free(&b);
    CHECK(saw_secret != 0);
}

static void test_dynbuf_consume_take(void)
{
    struct dynbuf b;
    size_t n = 99;
    dynbuf_init(&b, 64);
    dynbuf_adds(&b, "hello world");
    dynbuf_consume(&b, 6);
    CHECK_STR(b.p, "world");
    dynbuf_consume(&b, 100);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.p, "");
    dynbuf_adds(&b, "kept");
    char *t = dynbuf_take(&b, &n);
    CHECK_STR(t, "kept");
    CHECK_INT(n, 4);
    CHECK(b.p == NULL && b.len == 0);
    free(t);
    /* an empty buffer gives an empty string, not NULL */
    t = dynbuf_take(&b, &n);
    CHECK(t && t[0] == '\0' && n == 0);
    free(t);
    /* a failed one gives NULL and is freed */
    dynbuf_init(&b, 2);
    dynbuf_adds(&b, "abc");
    CHECK(dynbuf_take(&b, &n) == NULL && n == 0 && b.p == NULL);
}

static void test_dynbuf_extend(void)
{
    struct dynbuf b;
    dynbuf_init(&b, 10);
    char *p = dynbuf_extend(&b, 4);
    CHECK(p != NULL);
    if (p)
        memcpy(p, "abcd", 4);
    CHECK_INT(b.len, 4);
    CHECK_STR(b.p, "abcd");
    CHECK(dynbuf_extend(&b, 7) == NULL);
    CHECK_INT(b.err, DYNBUF_TOOBIG);
    CHECK_STR(dynbuf_strerror(DYNBUF_TOOBIG), "too large");
    CHECK_STR(dynbuf_strerror(DYNBUF_NOMEM), "out of memory");
    dynbuf_free(&b);
}

/* ---- fileio ---------------------------------------------------------- */

static char *tmpdir(void)
{
    static char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/clawhost-util-XXXXXX",
             base && *base ? base : "/tmp");
    return mkdtemp(path);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void drop(const char *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Entries of dir other than . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static char *slurp(int dirfd, const char *name, size_t *len)
{
    struct dynbuf b;
    int fd = openat(dirfd, name, O_RDONLY);
    dynbuf_init(&b, 1 << 20);
    if (fd < 0 || fileio_read_all(fd, &b) != 0) {
        if (fd >= 0)
            close(fd);
        dynbuf_free(&b);
        return NULL;
    }
    close(fd);
    return dynbuf_take(&b, len);
}

static void test_fileio_replace(void)
{
    char *dir = tmpdir(), err[256] = "";
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct fileio_target t = {dfd, "f.txt", NULL, 0600, NULL, NULL};
    struct stat st;
    size_t n;
    CHECK_INT(fileio_replace(&t, "one\n", 4, err, sizeof err), 0);
    char *s = slurp(dfd, "f.txt", &n);
    CHECK_STR(s, "one\n");
    free(s);
    CHECK(fstatat(dfd, "f.txt", &st, 0) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_INT(fileio_replace(&t, "two", 3, err, sizeof err), 0);
    s = slurp(dfd, "f.txt", &n);
    CHECK_STR(s, "two");
    free(s);
    CHECK_INT(entries(dir), 1);         /* no temporary file left */
    /* a folder that is not there: an error naming the file and step */
    struct fileio_target bad = {dfd, "nope/f.txt", "nope/f.txt", 0600,
                                NULL, NULL};
    CHECK_INT(fileio_replace(&bad, "x", 1, err, sizeof err), -1);
    CHECK(strstr(err, "cannot write nope/f.txt (create a temporary "
                 "file: No such file or directory)") != NULL);
    close(dfd);
    drop(dir);
}

/* The file it makes is private whatever the umask, and a readable one
** is replaced by a private one (a new file, not a chmod); a full disk
** (writes past 100 bytes fail with EFBIG) leaves the old file whole, no
** temporary file behind, and a message that names the step, never the
** data. */
static void test_fileio_replace_private_and_full_disk(void)
{
    char *dir = tmpdir(), err[256], big[8192];
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct fileio_target t = {dfd, ".env.local", NULL, 0600, NULL, NULL};
    struct stat st, st2;
    struct rlimit old, small;
    mode_t mask = umask(0);
    CHECK_INT(fileio_replace(&t, "A=1\n", 4, err, sizeof err), 0);
    umask(mask);
    CHECK(fstatat(dfd, ".env.local", &st, 0) == 0 &&
          (st.st_mode & 07777) == 0600);
    fchmodat(dfd, ".env.local", 0644, 0);
    CHECK_INT(fileio_replace(&t, "OLD=1\n", 6, err, sizeof err), 0);
    CHECK(fstatat(dfd, ".env.local", &st2, 0) == 0 &&
          (st2.st_mode & 07777) == 0600);
    CHECK(st2.st_ino != st.st_ino);
    memset(big, 'S', sizeof big);
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = 100;
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    int rc = fileio_replace(&t, big, sizeof big, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_INT(rc, -1);
    CHECK(strstr(err, "write") && strstr(err, "left as it was"));
    CHECK(strstr(err, "SSSS") == NULL);
    char *s = slurp(dfd, ".env.local", &(size_t){0});
    CHECK_STR(s, "OLD=1\n");
    free(s);
    CHECK_INT(entries(dir), 1);
    close(dfd);
    drop(dir);
}

static int crash_step;

static void die_at(int step, void *ud)
{
    (void)ud;
    if (step == crash_step)
        _exit(77);
}

/* Killed at every step, the file holds exactly the old or the new
** contents, never a mix (the crash test of the atomic replace). */
static void test_fileio_crash_every_step(void)
{
    for (int step = FILEIO_TEMP_OPENED; step <= FILEIO_DIR_SYNCED;
         step++) {
        char *dir = tmpdir(), err[256];
        int dfd = open(dir, O_RDONLY | O_DIRECTORY), status = 0;
        struct fileio_target t = {dfd, "f", NULL, 0600, die_at, NULL};
        size_t n;
        fileio_replace(&(struct fileio_target){dfd, "f", NULL, 0600, NULL,
                                               NULL}, "old contents", 12,
                       err, sizeof err);
        pid_t pid = fork();
        if (pid == 0) {
            crash_step = step;
            fileio_replace(&t, "the new contents", 16, err, sizeof err);
            _exit(0);
        }
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 77);
        char *s = slurp(dfd, "f", &n);
        if (step >= FILEIO_RENAMED)
            CHECK_STR(s, "the new contents");
        else
            CHECK_STR(s, "old contents");
        free(s);
        close(dfd);
        drop(dir);
    }
}

static void test_fileio_read_cap(void)
{
    char *dir = tmpdir(), err[256], data[5000];
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct fileio_target t = {dfd, "f", NULL, 0600, NULL, NULL};
    struct dynbuf b;
    memset(data, 'z', sizeof data);
    fileio_replace(&t, data, sizeof data, err, sizeof err);
    int fd = openat(dfd, "f", O_RDONLY);
    dynbuf_init(&b, 5000);
    CHECK_INT(fileio_read_all(fd, &b), 0);
    CHECK_INT(b.len, 5000);
    close(fd);
    dynbuf_free(&b);
    fd = openat(dfd, "f", O_RDONLY);
    dynbuf_init(&b, 4999);
    CHECK_INT(fileio_read_all(fd, &b), DYNBUF_TOOBIG);
    CHECK(b.len <= 4999);
    close(fd);
    dynbuf_free(&b);
    /* a read error is -1 with errno */
    dynbuf_init(&b, 10);
    CHECK_INT(fileio_read_all(-1, &b), -1);
    CHECK_INT(errno, EBADF);
    dynbuf_free(&b);
    close(dfd);
    drop(dir);
}

/* ---- quote ----------------------------------------------------------- */

static void test_quote(void)
{
    char q[QUOTE_MAX], small[8], long_in[200];
    CHECK_STR(quote_text(q, sizeof q, "host.example", 12), "host.example");
    CHECK_STR(quote_text(q, sizeof q, "a\x1b[31mb\n\x7f\xff", 10),
              "a?[31mb???");
    CHECK_STR(quote_str(q, sizeof q, NULL), "(null)");
    memset(long_in, 'x', sizeof long_in - 1);
    long_in[sizeof long_in - 1] = '\0';
    quote_str(q, sizeof q, long_in);
    CHECK_INT(strlen(q), QUOTE_MAX - 4 + 3);
    CHECK(strcmp(q + QUOTE_MAX - 4, "...") == 0);
    CHECK_STR(quote_str(small, sizeof small, "abcdefgh"), "abcd...");
    CHECK_STR(quote_str(small, sizeof small, "abc"), "abc");
    CHECK_STR(quote_text(q, sizeof q, "a\0b", 3), "a?b");
}

int main(void)
{
    RUN(test_dynbuf_add_and_nul);
    RUN(test_dynbuf_cap);
    RUN(test_dynbuf_addf_long);
    RUN(test_dynbuf_allocator);
    RUN(test_dynbuf_wipe);
    RUN(test_dynbuf_consume_take);
    RUN(test_dynbuf_extend);
    RUN(test_fileio_replace);
    RUN(test_fileio_replace_private_and_full_disk);
    RUN(test_fileio_crash_every_step);
    RUN(test_fileio_read_cap);
    RUN(test_quote);
    return unit_done("util");
}
