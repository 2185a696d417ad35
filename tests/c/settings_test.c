/*
** settings_test.c -- the settings clawhost knows (host/pure/settings.c):
** the table, names and aliases, and the rules values must follow (base
** URLs, prj_/org_ ids, tenant, amounts, lengths, control bytes, what can
** be written to .env.local), with messages that never quote a value;
** the settings config may hand out and the userinfo rule.
*/
#include <stdlib.h>
#include <string.h>

#include "pure/settings.h"
#include "util/dynbuf.h"
#include "unit.h"

static const struct settings_item *item(const char *name)
{
    const struct settings_item *s = settings_find(name, NULL);
    CHECK(s != NULL);
    return s;
}

/* settings_check on a NUL-terminated value; the stored form in out
** (static) on success, NULL with err set on failure. */
static const char *check(const char *name, const char *in, int to_file,
                         char *err, size_t errlen)
{
    static char out[8192];
    struct dynbuf b;
    dynbuf_init(&b, SETTINGS_VALUE_MAX);
    b.wipe = 1;
    err[0] = '\0';
    int rc = settings_check(item(name), in, strlen(in), to_file, &b, err,
                            errlen);
    if (rc == 0)
        snprintf(out, sizeof out, "%s", b.p ? b.p : "");
    dynbuf_free(&b);
    return rc == 0 ? out : NULL;
}

/* ---- the table ---- */

static void test_table(void)
{
    const struct settings_item *s;
    size_t n = 0;
    int last_group = 0;
    for (size_t i = 0; (s = settings_item(i)); i++, n++) {
        CHECK_INT(settings_index(s), i);
        CHECK(settings_group(s->group) != NULL);
        CHECK(s->group >= last_group);      /* asked group by group */
        last_group = s->group;
        CHECK(settings_find(s->name, NULL) == s);
        CHECK(s->help && *s->help);
    }
    CHECK_INT(n, SETTINGS_COUNT);
    CHECK_STR(settings_group(0), "Threads backend");
    CHECK_STR(settings_group(5), "Budget");
    CHECK_STR(settings_group(6), "Theta nodes (JSON-RPC)");
    CHECK(settings_group(7) == NULL);
    CHECK(settings_group(-1) == NULL);
    CHECK_INT(settings_item(0)->kind, SETTINGS_URL);
    CHECK_STR(settings_item(0)->name, "THREADS_FASTAPI_BASE_URL");
}

static void test_names_and_aliases(void)
{
    const char *spelled = NULL;
    char buf[64];
    const struct settings_item *tok = item("THETA_ONDEMAND_API_TOKEN");
    snprintf(buf, sizeof buf, "THETA_API_KEY");
    CHECK(settings_find(buf, &spelled) == tok);
    CHECK(spelled != buf);                  /* the table's own copy */
    CHECK_STR(spelled, "THETA_API_KEY");
    CHECK(settings_find("THETA_ONDEMAND_API_KEY", NULL) == tok);
    CHECK(settings_find("THREADS_QUEUE_SECRTE", NULL) == NULL);
    CHECK(settings_find("", NULL) == NULL);
    const char *const *a = settings_aliases("THETA_API_KEY");
    CHECK(a != NULL);
    CHECK_STR(a[0], "THETA_ONDEMAND_API_TOKEN");
    CHECK_STR(a[1], "THETA_ONDEMAND_API_KEY");
    CHECK_STR(a[2], "THETA_API_KEY");
    CHECK(a[3] == NULL);
    CHECK(settings_aliases("THREADS_QUEUE_SECRET") == NULL);
}

static void test_trim(void)
{
    const char *s = " \t\r\n a b \n\v";
    size_t n = settings_trim(&s, strlen(s));
    CHECK_INT(n, 3);
    CHECK(strncmp(s, "a b", 3) == 0);
    s = "   ";
    CHECK_INT(settings_trim(&s, 3), 0);
}

/* ---- URLs (pure/baseurl.c, after trimming) ---- */

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
        {"\thttp://x.example/\n", "http://x.example"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECK_STR(check("THREADS_FASTAPI_BASE_URL", ok[i][0], 1, err,
                        sizeof err), ok[i][1]);
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
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (check("THETA_INFERENCE_ENDPOINT", bad[i], 0, err, sizeof err))
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(check("THETA_INFERENCE_ENDPOINT", bad[i], 0, err,
                    sizeof err) == NULL);
        CHECK(err[0] != '\0');
        CHECK(strstr(err, "SeCrEt") == NULL);   /* never quotes input */
    }
    static char longurl[3000] = "https://x.example/";
    memset(longurl + 18, 'a', sizeof longurl - 19);
    CHECK(check("THREADS_FASTAPI_BASE_URL", longurl, 0, err,
                sizeof err) == NULL);
    CHECK_STR(err, "value too long");
    CHECK(check("THREADS_FASTAPI_BASE_URL", "http://u:p@x", 0, err,
                sizeof err) == NULL);
    CHECK_STR(err, "credentials in the URL (user:pass@) are refused: give "
              "them to their own secret setting");
    CHECK(check("THREADS_FASTAPI_BASE_URL", "ftp://bad", 0, err,
                sizeof err) == NULL);
    CHECK_STR(err, "expected an http:// or https:// URL");
}

/* ---- the other kinds ---- */

static void test_ids(void)
{
    char err[256];
    CHECK_STR(check("THETA_EC_PROJECT_ID", "prj_abc_123", 1, err,
                    sizeof err), "prj_abc_123");
    CHECK_STR(check("THETA_ORG_ID", "org_X9", 1, err, sizeof err),
              "org_X9");
    static const char *const bad_prj[] = {
        "prj_", "prj-abc", "org_abc", "prj_a b", "PRJ_abc", "prj_\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof bad_prj / sizeof bad_prj[0]; i++) {
        CHECK(check("THETA_EC_PROJECT_ID", bad_prj[i], 1, err,
                    sizeof err) == NULL);
        CHECK_STR(err, "expected prj_ followed by letters, digits or _");
    }
    CHECK(check("THETA_ORG_ID", "org_a/../b", 1, err, sizeof err) == NULL);
    CHECK_STR(err, "expected org_ followed by letters, digits or _");
    CHECK(check("THETA_ORG_ID", "prj_x", 1, err, sizeof err) == NULL);
}

static void test_tenant(void)
{
    char err[256], name[80];
    CHECK_STR(check("THREADS_TENANT_ID", " agency_paris-2 ", 1, err,
                    sizeof err), "agency_paris-2");
    memset(name, 'a', 64);
    name[64] = '\0';
    CHECK(check("THREADS_TENANT_ID", name, 1, err, sizeof err) != NULL);
    name[64] = 'a';
    name[65] = '\0';
    CHECK(check("THREADS_TENANT_ID", name, 1, err, sizeof err) == NULL);
    CHECK_STR(err, "expected 1 to 64 of a-z 0-9 _ -");
    CHECK(check("THREADS_TENANT_ID", "Agency", 1, err, sizeof err) ==
          NULL);
    CHECK(check("THREADS_TENANT_ID", "a!b", 1, err, sizeof err) == NULL);
}

static void test_usd(void)
{
    char err[256];
    CHECK_STR(check("THETA_MAX_BUDGET_USD", "1.50", 1, err, sizeof err),
              "1.50");
    CHECK_STR(check("THETA_MAX_BUDGET_USD", " 0.000000001\n", 1, err,
                    sizeof err), "0.000000001");
    static const char *const bad[] = {"SeCrEt", "-1", "1e3", "2,00",
                                      "0.0000000001", "5000000", "$2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(check("THETA_MAX_BUDGET_USD", bad[i], 1, err, sizeof err) ==
              NULL);
        CHECK_STR(err, "expected US dollars such as 2.00 (up to 9 "
                  "decimals)");
    }
}

/* ---- rules for every value ---- */

static void test_shape(void)
{
    char err[256];
    static char big[SETTINGS_VALUE_MAX + 2];
    CHECK(check("THREADS_QUEUE_SECRET", " \n ", 1, err, sizeof err) ==
          NULL);
    CHECK_STR(err, "empty value");
    CHECK(settings_check(item("THREADS_QUEUE_SECRET"), "a\0b", 3, 1, NULL,
                         err, sizeof err) == -1);
    CHECK_STR(err, "the value holds a NUL byte");
    memset(big, 's', SETTINGS_VALUE_MAX);
    CHECK(check("THREADS_QUEUE_SECRET", big, 1, err, sizeof err) != NULL);
    big[SETTINGS_VALUE_MAX] = 's';
    CHECK(check("THREADS_QUEUE_SECRET", big, 1, err, sizeof err) == NULL);
    CHECK_STR(err, "longer than 4096 bytes");
    memset(big, 'u', SETTINGS_TEXT_MAX + 1);
    big[SETTINGS_TEXT_MAX + 1] = '\0';
    CHECK(check("THETA_INFERENCE_AUTH_USER", big, 1, err, sizeof err) ==
          NULL);
    CHECK_STR(err, "value too long");
    big[SETTINGS_TEXT_MAX] = '\0';
    CHECK(check("THETA_INFERENCE_AUTH_USER", big, 1, err, sizeof err) !=
          NULL);
    CHECK(check("THETA_INFERENCE_AUTH_USER", "al\x1b[2Jice", 1, err,
                sizeof err) == NULL);
    CHECK_STR(err, "the value holds control characters");
    /* a secret may hold a line break (a PEM block); it is written quoted */
    CHECK_STR(check("THETA_VIDEO_SA_SECRET", " a\nb ", 1, err, sizeof err),
              "a\nb");
}

static void test_to_file(void)
{
    char err[256];
    /* valid as a value, but no form of it reads back alike in a shell */
    CHECK(check("THETA_VIDEO_SA_SECRET", "it's `SeCrEt`", 0, err,
                sizeof err) != NULL);
    CHECK(check("THETA_VIDEO_SA_SECRET", "it's `SeCrEt`", 1, err,
                sizeof err) == NULL);
    CHECK(strstr(err, "both ' and `") != NULL);
    CHECK(strstr(err, "SeCrEt") == NULL);
    CHECK(settings_check(item("THETA_VIDEO_SA_ID"), " srvacc_1 ", 10, 1,
                         NULL, err, sizeof err) == 0);
}

/* ---- what config may hand out ---- */

static void test_readable(void)
{
    const struct settings_readable *r;
    size_t n = 0;
    for (size_t i = 0; (r = settings_readable_item(i)); i++, n++) {
        const struct settings_item *s = settings_find(r->name, NULL);
        CHECK(settings_readable_find(r->name) == r);
        CHECK(r->reader && *r->reader && r->help && *r->help);
        /* never a credential the setup table knows */
        CHECK(!s || s->kind != SETTINGS_SECRET);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(settings_readable_item(k)->name, r->name) != 0);
    }
    CHECK(n >= 18);
    CHECK(settings_readable_item(n) == NULL);
    CHECK(settings_readable_find("THREADS_FASTAPI_BASE_URL") != NULL);
    CHECK(settings_readable_find("THETA_HTTP_TIMEOUT_MS") != NULL);
    CHECK(settings_readable_find("CLAWHOST_DAILY_BUDGET_USD") != NULL);
    CHECK(settings_readable_find("SERVICES") != NULL);
    /* credentials, URLs that may hold a password, halves of a login */
    CHECK(settings_readable_find("THREADS_QUEUE_SECRET") == NULL);
    CHECK(settings_readable_find("THETA_API_KEY") == NULL);
    CHECK(settings_readable_find("CLAWHOST_STORE") == NULL);
    CHECK(settings_readable_find("CLAWHOST_PROXY") == NULL);
    CHECK(settings_readable_find("THETA_INFERENCE_AUTH_USER") == NULL);
    CHECK(settings_readable_find("DATABASE_URL") == NULL);
    CHECK(settings_readable_find("threads_fastapi_base_url") == NULL);
    CHECK(settings_readable_find("") == NULL);
}

static int userinfo(const char *s)
{
    return settings_has_userinfo(s, strlen(s));
}

static void test_userinfo(void)
{
    static const char *const yes[] = {
        "postgres://app:Db-Pa55word@db/app", "redis://:pw@cache:6379/0",
        "https://ghp_0123456789abcdef@github.com/x.git",
        "https://user@example.com", "//u:p@host/path",
        "http://a.example,https://u:p@b.example",
        "mysql://u:p@h?x=1", "user:pass@tcp(127.0.0.1:3306)/db",
        "  u:p@host", "HTTPS://U:P@H", "amqp://u:p%40x@h#frag", NULL
    };
    static const char *const no[] = {
        "https://example.com", "https://example.com/@someone",
        "https://example.com/a?mail=a@b", "https://example.com/#x@y",
        "ops@example.com", "mailto:ops@example.com", "12:30",
        "http://127.0.0.1:8000/api", "a:b", "", "qwen3,flux",
        "https://host/a b@c", NULL
    };
    for (int i = 0; yes[i]; i++) {
        CHECK(userinfo(yes[i]));
        if (!userinfo(yes[i]))
            fprintf(stderr, "    missed: %s\n", yes[i]);
    }
    for (int i = 0; no[i]; i++) {
        CHECK(!userinfo(no[i]));
        if (userinfo(no[i]))
            fprintf(stderr, "    taken: %s\n", no[i]);
    }
    /* the length is the bound, not the NUL */
    CHECK(!settings_has_userinfo("https://u@h", 9));
    CHECK(settings_has_userinfo("x\0//u@h", 7));
}

int main(void)
{
    RUN(test_table);
    RUN(test_names_and_aliases);
    RUN(test_trim);
    RUN(test_url_accepts_and_normalizes);
    RUN(test_url_refuses);
    RUN(test_ids);
    RUN(test_tenant);
    RUN(test_usd);
    RUN(test_shape);
    RUN(test_to_file);
    RUN(test_readable);
    RUN(test_userinfo);
    return unit_done("settings");
}
