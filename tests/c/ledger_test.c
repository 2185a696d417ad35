/*
** ledger_test.c -- unit tests for the reader of clawhost 0.1's spend
** ledger files (host/store/ledger.c), which the store imports: a good
** file read exactly, every kind of damage refused with the file and the
** line named, and the old writers' lock.
*/
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "v1ledger.h"
#include "store/ledger.h"

static char errbuf[512];
static char dir[4096], path[4200];

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void fresh(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ledger_test.XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(path, sizeof path, "%s/" LEDGER_FILE, dir);
}

static void drop(void)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void spit(const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

static void test_read_sample(void)
{
    char text[2048];
    ledger_file f;
    fresh();
    spit(text, v1_sample(text, sizeof text));
    CHECK_INT(ledger_read(path, &f, errbuf, sizeof errbuf), LEDGER_OK);
    CHECK_INT(f.n, 3);
    CHECK_INT(f.next_id, 4);
    if (f.n == 3) {
        CHECK_INT(f.rec[0].state, LEDGER_OPEN);
        CHECK_INT(f.rec[0].reserved, 250000000);
        CHECK_INT(f.rec[0].created, 1714564800);
        CHECK_INT(f.rec[0].pid, 4242);
        CHECK_STR(f.rec[0].run, "run-1");
        CHECK_STR(f.rec[0].label, "qwen3");
        CHECK_INT(f.rec[1].state, LEDGER_SETTLED);
        CHECK_INT(f.rec[1].settled, 400000000);
        CHECK_INT(f.rec[1].updated, 1714564803);
        CHECK_INT(f.rec[2].state, LEDGER_RELEASED);
        CHECK_INT(f.rec[2].settled, 0);
    }
    CHECK(f.checksum != 0);
    ledger_file_free(&f);
    CHECK(f.rec == NULL && f.n == 0);
    /* an empty table is a file too */
    snprintf(text, sizeof text, "clawhost-ledger 1\nnext 1\n");
    spit(text, v1_finish(text, sizeof text, 0));
    CHECK_INT(ledger_read(path, &f, errbuf, sizeof errbuf), LEDGER_OK);
    CHECK_INT(f.n, 0);
    ledger_file_free(&f);
    drop();
}

/* Refused, naming the file (and the line when want_line > 0). */
static void refused(const char *text, size_t len, int want_line,
                    const char *want_msg)
{
    char at[4300];
    ledger_file f;
    spit(text, len);
    int st = ledger_read(path, &f, errbuf, sizeof errbuf);
    CHECK(st == LEDGER_ECORRUPT || st == LEDGER_ELIMIT);
    CHECK(f.rec == NULL && f.n == 0);
    CHECK(strstr(errbuf, path) != NULL);
    if (want_line > 0) {
        snprintf(at, sizeof at, "%s:%d: ", path, want_line);
        CHECK(strstr(errbuf, at) != NULL);
        if (!strstr(errbuf, at))
            fprintf(stderr, "    got: %s\n", errbuf);
    }
    if (want_msg)
        CHECK(strstr(errbuf, want_msg) != NULL);
}

static void test_truncated(void)
{
    char text[2048];
    size_t len;
    fresh();
    len = v1_sample(text, sizeof text);
    for (size_t cut = 0; cut < len; cut++)
        refused(text, cut, 0, NULL);
    refused(text, 0, 1, "empty file");
    refused(text, len - 1, 6, "truncated line");
    refused(text, (size_t)(strstr(text, "\nend ") - text) + 1, 6,
            "missing end line");
    drop();
}

static void test_junk(void)
{
    char text[2048], bad[2200];
    size_t len, hl;
    fresh();
    len = v1_sample(text, sizeof text);
    hl = (size_t)(strchr(strchr(text, '\n') + 1, '\n') - text) + 1;
    memcpy(bad, text, hl);
    memcpy(bad + hl, "garbage\n", 8);
    memcpy(bad + hl + 8, text + hl, len - hl);
    refused(bad, len + 8, 3, "unknown line");
    memcpy(bad, text, len);
    bad[16] = '2';
    refused(bad, len, 1, "unsupported ledger version \"2\"");
    refused("hello\n", 6, 1, "not a clawhost ledger");
    /* one digit of an amount changed: the checksum catches it */
    memcpy(bad, text, len);
    *(strstr(bad, "reserved=0.25") + 11) = '1';
    refused(bad, len, 6, "checksum mismatch");
    memcpy(bad, text, len);
    memcpy(bad + len, "x\n", 2);
    refused(bad, len + 2, 7, "data after the end line");
    memcpy(bad, text, len);
    bad[hl - 1] = '\r';
    refused(bad, len, 2, "byte 0x0d");
    memcpy(bad, text, len);
    memcpy(strstr(bad, " pid="), " pix=", 5);
    refused(bad, len, 3, "expected pid=");
    refused("clawhost-ledger 1\n", 18, 2, "missing next line");
    refused("clawhost-ledger 1\nnext 0\n", 25, 2, "next ID");
    /* a good file is read again */
    ledger_file f;
    spit(text, len);
    CHECK_INT(ledger_read(path, &f, errbuf, sizeof errbuf), LEDGER_OK);
    ledger_file_free(&f);
    /* not there, not a file */
    remove(path);
    CHECK_INT(ledger_read(path, &f, errbuf, sizeof errbuf), LEDGER_EIO);
    mkdir(path, 0700);
    CHECK(ledger_read(path, &f, errbuf, sizeof errbuf) != LEDGER_OK);
    drop();
}

/* Held by another process, the lock is refused after the timeout. */
static void test_lock(void)
{
    int fd, fd2;
    fresh();
    CHECK_INT(ledger_lock(dir, 100, &fd, errbuf, sizeof errbuf), LEDGER_OK);
    pid_t pid = fork();
    if (pid == 0) {
        int st = ledger_lock(dir, 100, &fd2, errbuf, sizeof errbuf);
        _exit(st == LEDGER_EBUSY && strstr(errbuf, "held by another") ?
              0 : 1);
    }
    int ws;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    ledger_unlock(fd);
    CHECK_INT(ledger_lock(dir, 100, &fd2, errbuf, sizeof errbuf),
              LEDGER_OK);
    ledger_unlock(fd2);
    drop();
}

int main(void)
{
    RUN(test_read_sample);
    RUN(test_truncated);
    RUN(test_junk);
    RUN(test_lock);
    return unit_done("ledger");
}
