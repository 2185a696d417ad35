/*
** money_test.c -- unit tests for the money type (host/pure/money.c):
** parsing decimal US dollars, formatting, round trips, converting Lua
** numbers, and the Theta cost formula in integer nano-USD.
*/
#include <math.h>
#include <stdint.h>

#include "pure/money.h"
#include "unit.h"

static char errbuf[512];

static void test_parse_ok(void)
{
    static const struct { const char *s; int64_t v; } ok[] = {
        {"0", 0}, {"0.00", 0}, {"2", INT64_C(2000000000)},
        {"2.00", INT64_C(2000000000)}, {"0.0001", INT64_C(100000)},
        {"0.000000001", 1}, {"0.0001028", INT64_C(102800)},
        {"00.5", INT64_C(500000000)}, {"0.30", INT64_C(300000000)},
        {"123.456789012", INT64_C(123456789012)},
        {"1000000", MONEY_USD_MAX}, {"1000000.000000000", MONEY_USD_MAX},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        CHECK_INT(money_usd_parse(ok[i].s, &v, errbuf, sizeof errbuf),
                  MONEY_OK);
        CHECK_INT(v, ok[i].v);
    }
}

static void test_parse_reject(void)
{
    static const char *const bad[] = {
        "", "-1", "-0", "+1", "nan", "NaN", "inf", "-inf", "1e3", "0x10",
        " 1", "1 ", "1.", ".5", "1..2", "1,5", "1.0000000001",
        "1000000.000000001", "10000000", "99999999999999999999", "abc",
        "1.2.3", "\xd9\xa1", "1\n", "$1", "1.5USD", "0.1e1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        errbuf[0] = '\0';
        CHECK_INT(money_usd_parse(bad[i], &v, errbuf, sizeof errbuf),
                  MONEY_EINVAL);
        CHECK(errbuf[0] != '\0');
        CHECK_INT(v, 42);
    }
    money_usd_parse("-2.00", &(int64_t){0}, errbuf, sizeof errbuf);
    CHECK(strstr(errbuf, "negative") != NULL);
    money_usd_parse("0.0000000001", &(int64_t){0}, errbuf, sizeof errbuf);
    CHECK(strstr(errbuf, "9 decimal places") != NULL);
    money_usd_parse("5000000", &(int64_t){0}, errbuf, sizeof errbuf);
    CHECK(strstr(errbuf, "too large") != NULL);
    money_usd_parse("nan", &(int64_t){0}, errbuf, sizeof errbuf);
    CHECK(strstr(errbuf, "\"nan\"") != NULL);
    CHECK_INT(money_usd_parse(NULL, &(int64_t){0}, errbuf, sizeof errbuf),
              MONEY_EINVAL);
}

static void test_format(void)
{
    char b[MONEY_USD_BUFSZ];
    CHECK_STR(money_usd_format(0, b, sizeof b), "0.00");
    CHECK_STR(money_usd_format(INT64_C(2000000000), b, sizeof b), "2.00");
    CHECK_STR(money_usd_format(INT64_C(102800), b, sizeof b), "0.0001028");
    CHECK_STR(money_usd_format(1, b, sizeof b), "0.000000001");
    CHECK_STR(money_usd_format(INT64_C(-500000000), b, sizeof b), "-0.50");
    CHECK_STR(money_usd_format(MONEY_USD_MAX, b, sizeof b), "1000000.00");
    CHECK_STR(money_usd_format(INT64_MAX, b, sizeof b),
              "9223372036.854775807");
    CHECK_STR(money_usd_format(INT64_MIN, b, sizeof b),
              "-9223372036.854775808");
    /* Round trips over a spread of magnitudes. */
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 20000; i++) {
        int64_t v, back = -1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = (int64_t)(x % (uint64_t)MONEY_USD_MAX);
        if (i % 3 == 0)
            v /= 1000000;
        money_usd_format(v, b, sizeof b);
        CHECK_INT(money_usd_parse(b, &back, NULL, 0), MONEY_OK);
        CHECK_INT(back, v);
    }
}

static void test_from_double(void)
{
    int64_t v = -1;
    CHECK_INT(money_usd_from_double(0.0001028, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 102800);
    CHECK_INT(money_usd_from_double(2.0, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, INT64_C(2000000000));
    CHECK_INT(money_usd_from_double(0.1 + 0.2, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 300000000);
    CHECK_INT(money_usd_from_double(1e-10, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 1);                     /* below a nano: rounds up */
    CHECK_INT(money_usd_from_double(1.5e-9, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 2);
    CHECK_INT(money_usd_from_double(0.0, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 0);
    CHECK_INT(money_usd_from_double(1e6, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, MONEY_USD_MAX);
    CHECK_INT(money_usd_from_double(NAN, &v, errbuf, sizeof errbuf),
              MONEY_EINVAL);
    CHECK_INT(money_usd_from_double(INFINITY, &v, NULL, 0), MONEY_EINVAL);
    CHECK_INT(money_usd_from_double(-0.01, &v, NULL, 0), MONEY_EINVAL);
    CHECK_INT(money_usd_from_double(1e6 + 1, &v, NULL, 0), MONEY_EINVAL);
}

static void test_cost_cents(void)
{
    int64_t v = -1;
    /* theta-api.md 7: 257 tokens at 40 cents per 1M tokens. */
    CHECK_INT(money_cost_cents(257, 40, 1000000, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 102800);
    CHECK_INT(money_cost_cents(13, 154, 1000000, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 20020);
    CHECK_INT(money_cost_cents(1, 1, 1, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 10000000);              /* one image at 1 cent */
    CHECK_INT(money_cost_cents(1, 1, 3, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 3333334);               /* rounded up */
    CHECK_INT(money_cost_cents(0, 484, 1000000, &v, NULL, 0), MONEY_OK);
    CHECK_INT(v, 0);
    CHECK_INT(money_cost_cents(-1, 1, 1, &v, NULL, 0), MONEY_EINVAL);
    CHECK_INT(money_cost_cents(1, -1, 1, &v, NULL, 0), MONEY_EINVAL);
    CHECK_INT(money_cost_cents(1, 1, 0, &v, NULL, 0), MONEY_EINVAL);
    CHECK_INT(money_cost_cents(INT64_MAX, INT64_MAX, 1, &v, errbuf,
                                sizeof errbuf), MONEY_EINVAL);
}

int main(void)
{
    RUN(test_parse_ok);
    RUN(test_parse_reject);
    RUN(test_format);
    RUN(test_from_double);
    RUN(test_cost_cents);
    return unit_done("money");
}
