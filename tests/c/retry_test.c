/*
** retry_test.c -- unit tests for the retry policy (host/pure/retry.c).
**
** retry_should is checked against an oracle written from the rules in
** DESIGN section 4 and docs/http.md, over every outcome, method kind,
** key, stream state and a list of statuses. retry_backoff_ms is sampled
** 10000 times per attempt number and must stay within full-jitter bounds
** and actually spread over them. retry_after_ms is fed delta-seconds,
** HTTP dates (all three RFC 9110 forms) around a fixed "now", junk and
** huge values.
*/
#include "pure/retry.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char CAPACITY[] = "{\"error\": \"No instances available\"}";
static const char CONFLICT[] = "{\"error\": \"version conflict\"}";

/* ---- retry_should ---- */

struct status_case {
    long status;
    const char *body;
    int refusal;        /* "not now": retried whatever the method */
    int maybe_applied;  /* retried only if idempotent or keyed */
};

static const struct status_case statuses[] = {
    {200, NULL, 0, 0}, {201, NULL, 0, 0}, {204, NULL, 0, 0},
    {301, NULL, 0, 0}, {302, NULL, 0, 0}, {304, NULL, 0, 0},
    {400, NULL, 0, 0}, {401, NULL, 0, 0}, {403, NULL, 0, 0},
    {404, NULL, 0, 0}, {405, NULL, 0, 0}, {410, NULL, 0, 0},
    {413, NULL, 0, 0}, {422, NULL, 0, 0}, {428, NULL, 0, 0},
    {431, NULL, 0, 0}, {451, NULL, 0, 0},
    {408, NULL, 0, 1},
    /* 409 other than Theta's capacity refusal: retried only with a key
    ** (see the oracle) */
    {409, CAPACITY, 1, 0}, {409, CONFLICT, 0, 0}, {409, NULL, 0, 0},
    {409, "", 0, 0},
    {425, NULL, 1, 0}, {429, NULL, 1, 0}, {429, CAPACITY, 1, 0},
    {500, NULL, 0, 1}, {500, CAPACITY, 0, 1}, {502, NULL, 0, 1},
    {503, NULL, 0, 1}, {504, NULL, 0, 1}, {507, NULL, 0, 1},
    {599, NULL, 0, 1},
    /* 501 Not Implemented and 505 Version Not Supported will not change
    ** on a retry: retry.h says "most 5xx" */
    {501, NULL, 0, 0}, {505, NULL, 0, 0},
};

/* The rules, written independently of retry.c. */
static int oracle(enum retry_outcome o, const struct status_case *s,
                  int idem, int key, int started)
{
    if (started || o == RETRY_FINAL)
        return 0;
    if (o == RETRY_NOT_SENT)
        return 1;
    if (o == RETRY_MAYBE_SENT)
        return idem || key;
    if (s->refusal)
        return 1;
    /* with an idempotency key, a 409 means the first request with that
    ** key is still being processed (IETF httpapi idempotency-key draft) */
    if (s->status == 409 && key)
        return 1;
    return s->maybe_applied && (idem || key);
}

static void test_should_matrix(void)
{
    static const enum retry_outcome outcomes[] = {
        RETRY_RESPONSE, RETRY_NOT_SENT, RETRY_MAYBE_SENT, RETRY_FINAL};
    size_t ns = sizeof statuses / sizeof *statuses, checked = 0;
    for (size_t oi = 0; oi < 4; oi++)
        for (size_t si = 0; si < ns; si++)
            for (int bits = 0; bits < 8; bits++) {
                const struct status_case *s = &statuses[si];
                struct retry_attempt a = {0};
                a.outcome = outcomes[oi];
                a.status = outcomes[oi] == RETRY_RESPONSE ? s->status : 0;
                a.body = s->body;
                a.body_len = s->body ? strlen(s->body) : 0;
                a.idempotent = bits & 1;
                a.has_key = (bits >> 1) & 1;
                a.stream_started = (bits >> 2) & 1;
                const char *why = retry_should(&a);
                int want = oracle(a.outcome, s, a.idempotent, a.has_key,
                                  a.stream_started);
                if ((why != NULL) != want) {
                    char m[160];
                    snprintf(m, sizeof m, "outcome %d status %ld body %s "
                             "idem %d key %d started %d: got %s",
                             (int)a.outcome, s->status,
                             s->body ? s->body : "-", a.idempotent,
                             a.has_key, a.stream_started,
                             why ? why : "no retry");
                    unit_fail(__FILE__, __LINE__, m);
                }
                if (why)
                    CHECK(*why != '\0');
                checked++;
            }
    CHECK_INT(checked, 4 * ns * 8);
}

/* A status that came with a failure kind is not read as a response. */
static void test_should_outcome_wins(void)
{
    struct retry_attempt a = {0};
    a.outcome = RETRY_FINAL;
    a.status = 503;
    a.idempotent = 1;
    CHECK(retry_should(&a) == NULL);
    a.outcome = RETRY_NOT_SENT;
    a.status = 200;
    a.idempotent = 0;
    CHECK(retry_should(&a) != NULL);
    a.stream_started = 1;
    CHECK(retry_should(&a) == NULL);
}

static void test_capacity_text(void)
{
    static const char *const yes[] = {
        "No instances available", "no instances available",
        "NO INSTANCES AVAILABLE", "No  instances\n\tavailable",
        "{\"message\":\"No instances available, retry later\"}",
        "error: no instances available", NULL};
    static const char *const no[] = {
        "", "No instance available", "No instances", "instances available",
        "Noinstances available", "No instancesavailable",
        "No instances unavailable", "No-instances-available", NULL};
    for (int i = 0; yes[i]; i++)
        CHECK(retry_is_capacity(yes[i], strlen(yes[i])));
    for (int i = 0; no[i]; i++)
        CHECK(!retry_is_capacity(no[i], strlen(no[i])));
    CHECK(!retry_is_capacity(NULL, 0));
    /* the length is authoritative: no reading past it, NUL is a byte */
    const char *s = "No instances available";
    CHECK(!retry_is_capacity(s, strlen(s) - 1));
    CHECK(!retry_is_capacity(s, 3));
    static const char nul[] = "x\0No instances available";
    CHECK(retry_is_capacity(nul, sizeof nul - 1));
    static const char cut[] = "No instances\0available";
    CHECK(!retry_is_capacity(cut, sizeof cut - 1));
}

/* ---- retry_backoff_ms ---- */

static long ceiling_of(int n, long base, long cap)
{
    double c = (double)base * pow(2.0, n > 1 ? n - 1 : 0);
    return c > (double)cap ? cap : (long)c;
}

static void test_backoff_bounds(void)
{
    static const long bases[] = {1, 25, 250, 1000, 10000};
    static const long caps[] = {8000, 100, 1};
    unsigned short seed[3] = {1, 2, 3};
    for (size_t bi = 0; bi < 5; bi++)
        for (size_t ci = 0; ci < 3; ci++)
            for (int n = 1; n <= 12; n++) {
                long base = bases[bi], cap = caps[ci];
                long top = ceiling_of(n, base, cap), lo = top, hi = 0;
                double sum = 0;
                for (int k = 0; k < 10000; k++) {
                    long d = retry_backoff_ms(n, base, cap, erand48(seed));
                    if (d < 0 || d > top) {
                        char m[128];
                        snprintf(m, sizeof m, "n %d base %ld cap %ld: %ld "
                                 "outside [0, %ld]", n, base, cap, d, top);
                        unit_fail(__FILE__, __LINE__, m);
                        return;
                    }
                    lo = d < lo ? d : lo;
                    hi = d > hi ? d : hi;
                    sum += (double)d;
                }
                /* full jitter: the whole range is used, evenly */
                if (top >= 20) {
                    CHECK(lo <= top / 10);
                    CHECK(hi >= top - top / 10);
                    double mean = sum / 10000, want = top / 2.0;
                    CHECK(fabs(mean - want) <= 0.05 * top + 1);
                }
            }
}

static void test_backoff_edges(void)
{
    double below_one = nextafter(1.0, 0.0);
    CHECK_INT(retry_backoff_ms(1, 250, 8000, 0.0), 0);
    CHECK_INT(retry_backoff_ms(1, 250, 8000, below_one), 250);
    CHECK_INT(retry_backoff_ms(2, 250, 8000, below_one), 500);
    CHECK_INT(retry_backoff_ms(6, 250, 8000, below_one), 8000);
    CHECK_INT(retry_backoff_ms(7, 250, 8000, below_one), 8000);
    /* huge attempt numbers neither overflow nor pass the cap */
    CHECK_INT(retry_backoff_ms(1000, 250, 8000, below_one), 8000);
    CHECK_INT(retry_backoff_ms(1 << 30, 10000, 8000, below_one), 8000);
    /* a base above the cap is the cap */
    CHECK_INT(retry_backoff_ms(1, 10000, 8000, below_one), 8000);
    /* n 0 or below: the first attempt's range */
    CHECK(retry_backoff_ms(0, 250, 8000, below_one) <= 250);
    CHECK(retry_backoff_ms(-5, 250, 8000, below_one) <= 250);
    /* a unit outside [0, 1) is not trusted */
    long d = retry_backoff_ms(3, 250, 8000, 1.0);
    CHECK(d >= 0 && d <= 1000);
    d = retry_backoff_ms(3, 250, 8000, 7.5);
    CHECK(d >= 0 && d <= 1000);
    d = retry_backoff_ms(3, 250, 8000, -0.5);
    CHECK(d >= 0 && d <= 1000);
}

/* ---- retry_after_ms ---- */

/* Wed, 21 Oct 2015 07:28:00 GMT */
static time_t fixed_now(void)
{
    struct tm tm = {0};
    tm.tm_year = 2015 - 1900;
    tm.tm_mon = 9;
    tm.tm_mday = 21;
    tm.tm_hour = 7;
    tm.tm_min = 28;
    return timegm(&tm);
}

static void test_after_seconds(void)
{
    time_t now = fixed_now();
    CHECK_INT(retry_after_ms("0", now), 0);
    CHECK_INT(retry_after_ms("1", now), 1000);
    CHECK_INT(retry_after_ms("120", now), 120000);
    CHECK_INT(retry_after_ms("0005", now), 5000);
    CHECK_INT(retry_after_ms(" 7", now), 7000);
    CHECK_INT(retry_after_ms("7 ", now), 7000);
    /* capped at a day, also past what a long holds */
    CHECK_INT(retry_after_ms("86400", now), 86400000L);
    CHECK_INT(retry_after_ms("86401", now), 86400000L);
    CHECK_INT(retry_after_ms("99999999999", now), 86400000L);
    CHECK_INT(retry_after_ms("999999999999999999999999999999", now),
              86400000L);
}

static void test_after_dates(void)
{
    time_t now = fixed_now();
    CHECK_INT(retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000);
    CHECK_INT(retry_after_ms("Wed, 21 Oct 2015 08:28:00 GMT", now),
              3600000L);
    CHECK_INT(retry_after_ms("Thu, 22 Oct 2015 07:28:00 GMT", now),
              86400000L);
    /* far future: capped */
    CHECK_INT(retry_after_ms("Fri, 01 Jan 2100 00:00:00 GMT", now),
              86400000L);
    /* now and the past: no wait */
    CHECK_INT(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", now), 0);
    CHECK_INT(retry_after_ms("Wed, 21 Oct 2015 07:27:59 GMT", now), 0);
    CHECK_INT(retry_after_ms("Thu, 01 Jan 1970 00:00:00 GMT", now), 0);
    CHECK_INT(retry_after_ms(" Wed, 21 Oct 2015 07:28:10 GMT", now),
              10000);
    /* RFC 9110 5.6.7: a recipient MUST also accept the obsolete
    ** RFC 850 and asctime forms of HTTP-date */
    CHECK_INT(retry_after_ms("Wednesday, 21-Oct-15 07:28:30 GMT", now),
              30000);
    CHECK_INT(retry_after_ms("Wed Oct 21 07:28:30 2015", now), 30000);
}

static void test_after_junk(void)
{
    static const char *const junk[] = {
        "", " ", "soon", "-1", "-0", "+5", "1.5", "5s", "5 s", "0x10",
        "1e3", "5, 6", "Wed, 21 Oct 2015", "Wed, 21 Oct 2015 07:28:30",
        "Wed, 21 Oct 2015 07:28:30 GMT trailing",
        "Wed, 32 Oct 2015 07:28:30 GMT", "Wed, 21 Foo 2015 07:28:30 GMT",
        "Wed, 21 Oct 2015 25:28:30 GMT", "21 Oct 2015 07:28:30 GMT",
        NULL};
    time_t now = fixed_now();
    CHECK_INT(retry_after_ms(NULL, now), -1);
    for (int i = 0; junk[i]; i++) {
        long v = retry_after_ms(junk[i], now);
        if (v != -1) {
            char m[160];
            snprintf(m, sizeof m, "retry_after_ms(\"%s\") = %ld, want -1",
                     junk[i], v);
            unit_fail(__FILE__, __LINE__, m);
        }
    }
}

int main(void)
{
    RUN(test_should_matrix);
    RUN(test_should_outcome_wins);
    RUN(test_capacity_text);
    RUN(test_backoff_bounds);
    RUN(test_backoff_edges);
    RUN(test_after_seconds);
    RUN(test_after_dates);
    RUN(test_after_junk);
    return unit_done("retry");
}
