/*
** dotenv_test.c -- .env.local (host/pure/dotenv.c): what the reader
** takes and refuses (by line number, never quoting), quoting a value so
** the reader gives back exactly its bytes, and merging changes into an
** existing file with every other line kept byte for byte.
*/
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pure/dotenv.h"
#include "util/dynbuf.h"
#include "unit.h"

static char dir[64];

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static void write_bytes(const char *path, const char *text, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, text, n) == (ssize_t)n);
        close(fd);
    }
}

static void write_file(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* Load text as a file; DOTENV_OK and env filled, or the error. */
static int load_text(const char *text, struct dotenv *env, char *err,
                     size_t errlen)
{
    char path[128];
    path_in(path, sizeof path, "t.env");
    write_file(path, text);
    return dotenv_load(path, env, err, errlen);
}

/* ---- reading ---- */

static void test_reader_takes(void)
{
    static const struct { const char *text, *key, *value; } ok[] = {
        {"# c\n\nK=v\n", "K", "v"},
        {"export K=v", "K", "v"},
        {"export\tK = v   # comment\n", "K", "v"},
        {"K=a#b", "K", "a#b"},
        {"K= #x", "K", "#x"},
        {"K='a # b' # c", "K", "a # b"},
        {"K=\"a\\nb\\t\\$\\\"\\\\\\q\"", "K", "a\nb\t$\"\\\\q"},
        {"K=\"l1\nl2\"\nJ=1\n", "K", "l1\nl2"},
        {"K=\"l1\nl2\"\nJ=1\n", "J", "1"},
        {"K='l1\nl2'", "K", "l1\nl2"},
        {"K=1\nK=2\n", "K", "2"},
        {"K=v\r\n", "K", "v"},
        {"  K=v \t\r\n", "K", "v"},
        {"K=", "K", ""},
        {"K=''", "K", ""},
        {"export=1", "export", "1"},
    };
    char err[256];
    struct dotenv env;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_INT(load_text(ok[i].text, &env, err, sizeof err), DOTENV_OK);
        CHECK_STR(dotenv_get(&env, ok[i].key), ok[i].value);
        dotenv_free(&env);
    }
    CHECK_INT(load_text("", &env, err, sizeof err), DOTENV_OK);
    CHECK_INT(env.n, 0);
    dotenv_free(&env);
}

static void test_reader_refuses_by_line(void)
{
    static const struct { const char *text; int line; } bad[] = {
        {"K\t=v", 1}, {"1K=v", 1}, {"K", 1}, {"K v", 1},
        {"K='x'SeCrEt", 1}, {"K=\"SeCrEt\nJ=1", 1}, {"L=1\nK='SeCrEt", 2},
        {"A=\"x\ny\"\nSeCrEt line", 3}, {"# c\n\n  SeCrEt", 3},
        {"K\r=v", 1}, {"K\xc3\xa9=v", 1}, {"export K", 1},
    };
    char err[256], want[256], path[128];
    struct dotenv env;
    path_in(path, sizeof path, "t.env");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(load_text(bad[i].text, &env, err, sizeof err),
                  DOTENV_ERROR);
        snprintf(want, sizeof want, "%s:%d: expected KEY=value (a quoted "
                 "value may be unterminated)", path, bad[i].line);
        CHECK_STR(err, want);
        CHECK_INT(env.n, 0);
    }
}

static void test_reader_file_rules(void)
{
    char err[256], path[128];
    struct dotenv env;
    path_in(path, sizeof path, "none.env");
    CHECK_INT(dotenv_load(path, &env, err, sizeof err), DOTENV_MISSING);
    path_in(path, sizeof path, "open.env");
    write_file(path, "K=SeCrEt\n");
    chmod(path, 0644);
    CHECK_INT(dotenv_load(path, &env, err, sizeof err), DOTENV_ERROR);
    CHECK(strstr(err, "can be read or changed by others (mode 0644)"));
    CHECK(strstr(err, "SeCrEt") == NULL);
    path_in(path, sizeof path, "big.env");
    char *big = malloc(DOTENV_FILE_MAX + 1);
    memset(big, '#', DOTENV_FILE_MAX + 1);
    write_bytes(path, big, DOTENV_FILE_MAX);
    CHECK_INT(dotenv_load(path, &env, err, sizeof err), DOTENV_OK);
    dotenv_free(&env);
    write_bytes(path, big, DOTENV_FILE_MAX + 1);
    CHECK_INT(dotenv_load(path, &env, err, sizeof err), DOTENV_ERROR);
    CHECK(strstr(err, "is larger than 1 MiB"));
    free(big);
}

/* ---- quoting: the reader reads back exactly the bytes ---- */

/* Quote v into a K= line, load it back: 0 same bytes, 1 different,
** -1 refused by the quoting. */
static int round_trip(const char *v, size_t len)
{
    char err[256], path[128];
    struct dotenv env;
    struct dynbuf line;
    dynbuf_init(&line, 1 << 16);
    dynbuf_adds(&line, "K=");
    if (dotenv_quote(&line, v, len, err, sizeof err) != 0) {
        dynbuf_free(&line);
        return -1;
    }
    dynbuf_adds(&line, "\n");
    path_in(path, sizeof path, "rt.env");
    write_bytes(path, line.p, line.len);
    dynbuf_free(&line);
    int rc = dotenv_load(path, &env, err, sizeof err);
    const char *got = rc == DOTENV_OK ? dotenv_get(&env, "K") : NULL;
    int same = got && strlen(got) == len && memcmp(got, v, len) == 0;
    if (rc == DOTENV_OK)
        dotenv_free(&env);
    return same ? 0 : 1;
}

/* dotenv_quote into a fresh buffer, as a string ("" when refused). */
static char *quoted(const char *v, size_t len, char *err, size_t errlen)
{
    static char out[256];
    struct dynbuf b;
    dynbuf_init(&b, sizeof out - 1);
    int rc = dotenv_quote(&b, v, len, err, errlen);
    snprintf(out, sizeof out, "%s", rc == 0 && b.p ? b.p : "");
    dynbuf_free(&b);
    return rc == 0 ? out : NULL;
}

static void test_quote_forms(void)
{
    char err[256];
    CHECK_STR(quoted("abc-123_./:@%+=,", 16, err, sizeof err),
              "abc-123_./:@%+=,");                      /* bare */
    CHECK_STR(quoted("a b$c`d\"e\\f", 11, err, sizeof err),
              "'a b$c`d\"e\\f'");                       /* single */
    CHECK_STR(quoted("it's $x \"y\" \\z", 14, err, sizeof err),
              "\"it's \\$x \\\"y\\\" \\\\z\"");          /* double */
    CHECK_STR(quoted("~home", 5, err, sizeof err), "'~home'");  /* no ~ */
    CHECK_STR(quoted("", 0, err, sizeof err), "''");
    CHECK_STR(quoted("\xc3\xa9", 2, err, sizeof err), "'\xc3\xa9'");
    CHECK(quoted("it's `cmd`", 10, err, sizeof err) == NULL);
    CHECK(strstr(err, "both ' and `") != NULL);
    CHECK(strstr(err, "cmd") == NULL);
    CHECK(quoted("a\0b", 3, err, sizeof err) == NULL);
    CHECK_STR(err, "the value holds a NUL byte");
    /* no buffer: only whether it can be written */
    CHECK_INT(dotenv_quote(NULL, "it's", 4, err, sizeof err), 0);
    CHECK_INT(dotenv_quote(NULL, "'`", 2, err, sizeof err), -1);
    /* a full buffer is an error, not a cut value */
    struct dynbuf b;
    dynbuf_init(&b, 4);
    CHECK_INT(dotenv_quote(&b, "a b c", 5, err, sizeof err), -1);
    CHECK_STR(err, "too large");
    dynbuf_free(&b);
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

/* The merged text (static), or NULL with err set. */
static char *merge(const char *old, const struct dotenv_update *u,
                   size_t n, char *err, size_t errlen)
{
    static char out[4096];
    struct dynbuf b;
    dynbuf_init(&b, DOTENV_FILE_MAX);
    b.wipe = 1;
    int rc = dotenv_merge(old, old ? strlen(old) : 0, u, n, &b, err,
                          errlen);
    if (rc == 0)
        snprintf(out, sizeof out, "%s", b.p ? b.p : "");
    dynbuf_free(&b);
    return rc == 0 ? out : NULL;
}

static void test_merge_new_file(void)
{
    struct dotenv_update u[] = {{"A_URL", "http://x", 8},
                                {"B_SECRET", "s p", 3}};
    char err[256], *out = merge(NULL, u, 2, err, sizeof err);
    CHECK(out && strncmp(out, "# .env.local", 12) == 0);
    CHECK(out && strstr(out, "\nA_URL=http://x\nB_SECRET='s p'\n"));
    out = merge("", u, 1, err, sizeof err);     /* an empty file too */
    CHECK(out && strncmp(out, "# .env.local", 12) == 0);
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
    struct dotenv_update u[] = {{"A_URL", "http://new", 10},
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
    char err[256];
    CHECK_STR(merge(old, u, 4, err, sizeof err), want);
}

/* A line the reader refuses but that starts as NAME= is still that
** name's entry to the writer (so setup can mend it); any other bad line
** stays as it is, bytes the reader never saw included. */
static void test_merge_bad_lines(void)
{
    const char *old =
        "K=\"open\n"
        "J='x'junk\n"
        "T\t=tab\n"
        "not an entry \xff\x01\n"
        "M='two\n"
        "lines'junk\n"
        "L=keep";
    struct dotenv_update u[] = {{"K", "k", 1}, {"J", "j", 1},
                                {"T", "t", 1}, {"M", "m", 1}};
    static const char want[] =
        "K=k\n"
        "J=j\n"
        "T=t\n"
        "not an entry \xff\x01\n"
        "M=m\n"
        "L=keep\n";
    char err[256];
    CHECK_STR(merge(old, u, 4, err, sizeof err), want);
}

static void test_merge_result_parses(void)
{
    char path[128], err[256];
    struct dotenv env;
    const char *old = "# c\nKEEP='a b'\nK=\"multi\nline\"\nexport Z=1\n";
    struct dotenv_update u[] = {{"K", "it's \"x\"\n$y", 11},
                                {"NEW", "#x", 2}};
    char *out = merge(old, u, 2, err, sizeof err);
    CHECK(out != NULL);
    path_in(path, sizeof path, "merged.env");
    write_file(path, out ? out : "");
    CHECK_INT(dotenv_load(path, &env, err, sizeof err), DOTENV_OK);
    CHECK_STR(dotenv_get(&env, "KEEP"), "a b");
    CHECK_STR(dotenv_get(&env, "K"), "it's \"x\"\n$y");
    CHECK_STR(dotenv_get(&env, "Z"), "1");
    CHECK_STR(dotenv_get(&env, "NEW"), "#x");
    dotenv_free(&env);
}

static void test_merge_refusals(void)
{
    char err[256];
    struct dotenv_update u[] = {{"K", "a'`b", 4}};
    CHECK(merge("X=1\n", u, 1, err, sizeof err) == NULL);
    CHECK(strstr(err, "both ' and `") != NULL);
    /* past DOTENV_FILE_MAX the reader would refuse the file */
    static char big[4200];
    memset(big, 'v', sizeof big - 1);
    struct dotenv_update many[300];
    char names[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "N%d", i);
        many[i] = (struct dotenv_update){names[i], big, sizeof big - 1};
    }
    CHECK(merge(NULL, many, 300, err, sizeof err) == NULL);
    CHECK_STR(err, "the new .env.local would be larger than 1 MiB");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dotenv_test.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_reader_takes);
    RUN(test_reader_refuses_by_line);
    RUN(test_reader_file_rules);
    RUN(test_quote_forms);
    RUN(test_quote_round_trips);
    RUN(test_merge_new_file);
    RUN(test_merge_keeps_everything_else);
    RUN(test_merge_bad_lines);
    RUN(test_merge_result_parses);
    RUN(test_merge_refusals);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return unit_done("dotenv");
}
