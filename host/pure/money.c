/*
** money.c -- US dollars as int64 nano-USD: parse, format, convert.
**
** One amount grammar serves people (--budget, THETA_MAX_BUDGET_USD,
** budget.reserve("0.25")) and the ledger file (which also insists that
** an amount reads back in its canonical form). docs/budget.md has the
** rules; floats appear only where a Lua number has to come in.
*/
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pure/money.h"
#include "util/quote.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return MONEY_EINVAL;
}

static int ok(char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    return MONEY_OK;
}

static int isdig(char c)
{
    return c >= '0' && c <= '9';
}

static int reason(const char **why, const char *text)
{
    *why = text;
    return -1;
}

/* Digits after '.', scaled to nano; at most 9 so nothing is rounded. */
static int parse_frac(const char **pp, int64_t *frac, const char **why)
{
    const char *p = *pp;
    int nf = 0;
    *frac = 0;
    if (!isdig(*p))
        return reason(why, "expected digits after the decimal point");
    for (; isdig(*p); p++) {
        if (++nf > 9)
            return reason(why, "more than 9 decimal places (nano-USD)");
        *frac = *frac * 10 + (*p - '0');
    }
    for (; nf < 9; nf++)
        *frac *= 10;
    *pp = p;
    return 0;
}

/*
** The one amount grammar. Floats are never involved: "0.1" is exactly
** 100000000 nano-USD. At most 7 significant whole digits, so the sum
** below cannot overflow before the range check.
*/
static int parse_usd(const char *s, int64_t *out, const char **why)
{
    const char *p = s;
    int64_t whole = 0, frac = 0;
    int sig = 0;
    if (*p == '\0')
        return reason(why, "empty");
    if (*p == '-')
        return reason(why, "negative amounts are not allowed");
    if (!isdig(*p))
        return reason(why, "expected US dollars such as 2.00");
    for (; isdig(*p); p++) {
        if ((sig > 0 || *p != '0') && ++sig > 7)
            return reason(why, "too large (at most 1000000 USD)");
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        if (parse_frac(&p, &frac, why) != 0)
            return -1;
    }
    if (*p != '\0')
        return reason(why, "unexpected character after the number");
    whole = whole * MONEY_NANO_PER_USD + frac;
    if (whole > MONEY_USD_MAX)
        return reason(why, "too large (at most 1000000 USD)");
    *out = whole;
    return 0;
}

int money_usd_parse(const char *s, int64_t *nano, char *err,
                    size_t errlen)
{
    const char *why;
    char b[48];
    if (!s)
        return fail(err, errlen, "amount missing");
    if (parse_usd(s, nano, &why) != 0)
        return fail(err, errlen, "invalid amount \"%s\": %s",
                    quote_str(b, sizeof b, s), why);
    return ok(err, errlen);
}

char *money_usd_format(int64_t nano, char *buf, size_t buflen)
{
    uint64_t u = nano < 0 ? -(uint64_t)nano : (uint64_t)nano;
    uint64_t n = (uint64_t)MONEY_NANO_PER_USD;
    char tmp[MONEY_USD_BUFSZ];
    size_t len;
    snprintf(tmp, sizeof tmp, "%s%llu.%09llu", nano < 0 ? "-" : "",
             (unsigned long long)(u / n), (unsigned long long)(u % n));
    len = strlen(tmp);
    while (tmp[len - 1] == '0' && tmp[len - 3] != '.')
        tmp[--len] = '\0';
    snprintf(buf, buflen, "%s", tmp);
    return buf;
}

/*
** Costs computed in Lua arrive as doubles: 0.0001028 * 1e9 is
** 102800.00000000001. Within a few ulps (or a thousandth of a nano) of a
** whole nano is float noise and rounds to it; anything else rounds up,
** so a reservation or settlement is never below the real cost.
*/
int money_usd_from_double(double usd, int64_t *nano, char *err,
                          size_t errlen)
{
    double x, r;
    if (isnan(usd))
        return fail(err, errlen, "amount is not a number");
    if (usd < 0)
        return fail(err, errlen, "negative amounts are not allowed (%g)",
                    usd);
    if (!(usd <= 1e6))
        return fail(err, errlen,
                    "amount %g USD too large (at most 1000000 USD)", usd);
    x = usd * 1e9;
    r = nearbyint(x);
    if (fabs(x - r) > fmax(1e-3, x * 4 * DBL_EPSILON))
        r = ceil(x);
    *nano = (int64_t)r;
    return ok(err, errlen);
}

__extension__ typedef unsigned __int128 u128;

/* Integer all the way: usd = units * cents / divisor / 100. */
int money_cost_cents(int64_t units, int64_t cents, int64_t divisor,
                     int64_t *nano, char *err, size_t errlen)
{
    u128 num, q;
    if (units < 0 || cents < 0 || divisor <= 0)
        return fail(err, errlen, "cost: units %lld, cents %lld, divisor "
                    "%lld: units and cents must be >= 0, divisor > 0",
                    (long long)units, (long long)cents,
                    (long long)divisor);
    num = (u128)units * (u128)cents * (u128)10000000u;
    q = (num + (u128)divisor - 1) / (u128)divisor;
    if (q > (u128)MONEY_USD_MAX)
        return fail(err, errlen,
                    "cost: %lld units at %lld/%lld cents is too large",
                    (long long)units, (long long)cents, (long long)divisor);
    *nano = (int64_t)q;
    return ok(err, errlen);
}
