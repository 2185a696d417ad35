/*
** setup_test.c -- the pure parts of `clawhost setup`: base URL and id
** validation, quoting a value so dotenv.c reads it back byte for byte,
** merging changes into an existing .env.local, the atomic write.
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

#include "pure/dotenv.h"
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

/* ---- URLs and ids ---- */

static void test_url_accepts_and_normalizes(void)
{
    static const char *const ok[][2] = {
        {"http://127.0.0.1:8000/", "http://127.0.0.1:8000"},
        {"https://ondemand.thetaedgecloud.com",
         "https://ondemand.thetaedgecloud.com"},
        {"  https://x.example/api//  ", "https://x.example/api"},
        {"HTTPS://X.EXAMPLE", "HTTPS://X.EXAMPLE"},
        {"http://[::1]:9/", "http://[::1]:9"},
        {"https://a.b/c/d", "https://a.b/c/d"},
    };
    char out[256], err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_INT(setup_check_url(ok[i][0], out, sizeof out, err,
                                  sizeof err), 0);
        CHECK_STR(out, ok[i][1]);
    }
}

static void test_url_refuses(void)
{
    static const char *const bad[] = {
        "", "   ", "ftp://x.example", "x.example", "//x.example",
        "http://user:SeCrEtPw@x.example", "http://SeCrEtUser@x.example/",
        "http://x.example/?key=SeCrEt", "http://x.example/#SeCrEt",
        "http://x.ex ample", "http://x.example/a\nb", "https://",
        "http://[::1", "javascript:alert(1)", "file:///etc/passwd",
        "http://x.example/\tSeCrEt",
    };
    char out[256], err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (setup_check_url(bad[i], out, sizeof out, err, sizeof err) !=
            -1)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK_INT(setup_check_url(bad[i], out, sizeof out, err,
                                  sizeof err), -1);
        CHECK(err[0] != '\0');
        CHECK(strstr(err, "SeCrEt") == NULL);   /* never quotes input */
    }
    char longurl[3000] = "https://x.example/";
    memset(longurl + 18, 'a', sizeof longurl - 19);
    longurl[sizeof longurl - 1] = '\0';
    CHECK_INT(setup_check_url(longurl, out, sizeof out, err, sizeof err),
              -1);
}

static void test_ids(void)
{
    char err[256];
    CHECK_INT(setup_check_id("prj_", "prj_abc_123", err, sizeof err), 0);
    CHECK_INT(setup_check_id("org_", "org_X9", err, sizeof err), 0);
    CHECK_INT(setup_check_id("prj_", "prj_", err, sizeof err), -1);
    CHECK_INT(setup_check_id("prj_", "prj-abc", err, sizeof err), -1);
    CHECK_INT(setup_check_id("prj_", "org_abc", err, sizeof err), -1);
    CHECK_INT(setup_check_id("prj_", "prj_a b", err, sizeof err), -1);
    CHECK_INT(setup_check_id("prj_", "PRJ_abc", err, sizeof err), -1);
    CHECK_INT(setup_check_id("org_", "org_a/../b", err, sizeof err), -1);
}

/* ---- quoting: dotenv.c reads back exactly the bytes ---- */

static int round_trip(const char *v, size_t len)
{
    char err[256], path[128];
    struct dotenv env;
    char *q = setup_quote(v, len, err, sizeof err);
    if (!q)
        return -1;
    path_in(path, sizeof path, "rt.env");
    size_t n = strlen(q) + 16;
    char *line = malloc(n);
    snprintf(line, n, "K=%s\n", q);
    write_file(path, line);
    free(line);
    free(q);
    int rc = dotenv_load(path, &env, err, sizeof err);
    const char *got = rc == DOTENV_OK ? dotenv_get(&env, "K") : NULL;
    int same = got && strlen(got) == len && memcmp(got, v, len) == 0;
    if (rc == DOTENV_OK)
        dotenv_free(&env);
    return same ? 0 : 1;
}

static void test_quote_forms(void)
{
    char err[256];
    char *q = setup_quote("abc-123_./:@%+=,", 16, err, sizeof err);
    CHECK_STR(q, "abc-123_./:@%+=,");                   /* bare */
    free(q);
    q = setup_quote("a b$c`d\"e\\f", 11, err, sizeof err);
    CHECK_STR(q, "'a b$c`d\"e\\f'");                    /* single */
    free(q);
    q = setup_quote("it's $x \"y\" \\z", 14, err, sizeof err);
    CHECK_STR(q, "\"it's \\$x \\\"y\\\" \\\\z\"");       /* double */
    free(q);
    q = setup_quote("~home", 5, err, sizeof err);       /* no tilde */
    CHECK_STR(q, "'~home'");
    free(q);
    CHECK(setup_quote("it's `cmd`", 10, err, sizeof err) == NULL);
    CHECK(strstr(err, "cmd") == NULL);
    CHECK(setup_quote("a\0b", 3, err, sizeof err) == NULL);
}

static void test_quote_round_trips(void)
{
    static const char *const fixed[] = {
        "plain", "with space", "quote'single", "quote\"double",
        "back\\slash", "dollar$HOME", "tick`x`", "hash # not comment",
        "#start", "multi\nline\nvalue", "-----BEGIN KEY-----\nAAAA\n"
        "-----END KEY-----", "trailing\\", "\\n literal", "'", "\"",
        "it's \"both\" $x \\y", "tab\there", "cr\rhere", "= starts",
        "export X=1",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        CHECK_INT(round_trip(fixed[i], strlen(fixed[i])), 0);
    /* random values of every byte but NUL; those holding both ' and `
    ** are refused, every other one reads back the same */
    unsigned seed = 12345;
    int refused = 0, checked = 0;
    for (int t = 0; t < 3000; t++) {
        char v[200];
        size_t len = 1 + (size_t)(rand_r(&seed) % 150);
        for (size_t i = 0; i < len; i++) {
            static const char special[] = "'`\"\\$#\n \t%&=";
            int r = rand_r(&seed) % 4;
            v[i] = (char)(r == 0 ? 1 + rand_r(&seed) % 255 :
                          r == 1 ? special[rand_r(&seed) %
                                           (int)(sizeof special - 1)] :
                          'a' + rand_r(&seed) % 26);
        }
        int both = memchr(v, '\'', len) && memchr(v, '`', len);
        int rc = round_trip(v, len);
        if (both) {
            CHECK_INT(rc, -1);
            refused++;
        } else {
            CHECK_INT(rc, 0);
            checked++;
        }
    }
    CHECK(refused > 100 && checked > 1000);
}

/* ---- merging into an existing file ---- */

static char *merge(const char *old, const struct setup_update *u,
                   size_t n)
{
    char err[256];
    size_t len;
    return setup_merge(old, old ? strlen(old) : 0, u, n, &len, err,
                       sizeof err);
}

static void test_merge_new_file(void)
{
    struct setup_update u[] = {{"A_URL", "http://x", 8},
                               {"B_SECRET", "s p", 3}};
    char *out = merge(NULL, u, 2);
    CHECK(out && strncmp(out, "# .env.local", 12) == 0);
    CHECK(out && strstr(out, "\nA_URL=http://x\nB_SECRET='s p'\n"));
    free(out);
}

static void test_merge_keeps_everything_else(void)
{
    const char *old =
        "# my notes\n"
        "\n"
        "UNRELATED=keep me   # trailing comment\n"
        "export B_SECRET=\"old\n"
        "spanning\"   # two lines\n"
        "  this line is not an entry\n"
        "A_URL='old'\n"
        "OTHER=\"x\\\"y\"\n"
        "B_SECRET=duplicate\n"
        "GONE=1\n"
        "LAST=no-newline";
    struct setup_update u[] = {{"A_URL", "http://new", 10},
                               {"B_SECRET", "n\"ew", 4},
                               {"GONE", NULL, 0},
                               {"ADDED", "v", 1}};
    static const char want[] =
        "# my notes\n"
        "\n"
        "UNRELATED=keep me   # trailing comment\n"
        "export B_SECRET='n\"ew'\n"
        "  this line is not an entry\n"
        "A_URL=http://new\n"
        "OTHER=\"x\\\"y\"\n"
        "LAST=no-newline\n"
        "ADDED=v\n";
    char *out = merge(old, u, 4);
    CHECK_STR(out, want);
    free(out);
}

static void test_merge_result_parses(void)
{
    char path[128], err[256];
    struct dotenv env;
    const char *old = "# c\nKEEP='a b'\nK=\"multi\nline\"\nexport Z=1\n";
    struct setup_update u[] = {{"K", "it's \"x\"\n$y", 11},
                               {"NEW", "#x", 2}};
    char *out = merge(old, u, 2);
    path_in(path, sizeof path, "merged.env");
    write_file(path, out);
    free(out);
    CHECK_INT(dotenv_load(path, &env, err, sizeof err), DOTENV_OK);
    CHECK_STR(dotenv_get(&env, "KEEP"), "a b");
    CHECK_STR(dotenv_get(&env, "K"), "it's \"x\"\n$y");
    CHECK_STR(dotenv_get(&env, "Z"), "1");
    CHECK_STR(dotenv_get(&env, "NEW"), "#x");
    dotenv_free(&env);
}

static void test_merge_refuses_unwritable_value(void)
{
    char err[256];
    size_t len;
    struct setup_update u[] = {{"K", "a'`b", 4}};
    CHECK(setup_merge("X=1\n", 4, u, 1, &len, err, sizeof err) == NULL);
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
    RUN(test_url_accepts_and_normalizes);
    RUN(test_url_refuses);
    RUN(test_ids);
    RUN(test_quote_forms);
    RUN(test_quote_round_trips);
    RUN(test_merge_new_file);
    RUN(test_merge_keeps_everything_else);
    RUN(test_merge_result_parses);
    RUN(test_merge_refuses_unwritable_value);
    RUN(test_atomic_write);
    RUN(test_atomic_write_failures_leave_the_old_file);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return unit_done("setup");
}
