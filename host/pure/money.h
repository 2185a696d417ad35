/*
** money.h -- amounts of US dollars as int64 nano-USD (1 USD = 1e9).
**
** The host's one money type: the spend ledger stores it, the budget
** module and `clawhost ledger` read and print it, settings validate it.
** Integer all the way, so per-token prices settle exactly and "0.1" is
** exactly 100000000 nano-USD. Pure C: no Lua, no curl, no printing;
** functions that can fail return 0 or MONEY_EINVAL and, when err is not
** NULL, write a one-line message for people into err.
*/
#ifndef CLAWHOST_MONEY_H
#define CLAWHOST_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define MONEY_NANO_PER_USD INT64_C(1000000000)
#define MONEY_USD_MAX      (INT64_C(1000000) * MONEY_NANO_PER_USD)
#define MONEY_USD_BUFSZ    32              /* any formatted amount */

enum money_status {
    MONEY_OK = 0,
    MONEY_EINVAL = -1           /* not an amount, or out of range */
};

/*
** Decimal US dollars to nano-USD: digits, optionally '.' and 1 to 9
** more digits ("2", "2.00", "0.0001028"); at most MONEY_USD_MAX. No
** sign, exponent, spaces, NaN or infinity.
*/
int money_usd_parse(const char *s, int64_t *nano, char *err,
                    size_t errlen);

/* "2.00", "0.0001028", "-0.50": at least 2 decimals, no trailing 0s. */
char *money_usd_format(int64_t nano, char *buf, size_t buflen);

/*
** A double (a Lua number) to nano-USD, rounded up to the next nano
** unless it is within float noise of a whole nano; rejects NaN,
** infinities, negatives and amounts over MONEY_USD_MAX.
*/
int money_usd_from_double(double usd, int64_t *nano, char *err,
                          size_t errlen);

/*
** units * cents / divisor cents in nano-USD, rounded up (the Theta
** formula usage * prediction_cost / prediction_cost_divisor / 100 USD).
*/
int money_cost_cents(int64_t units, int64_t cents, int64_t divisor,
                     int64_t *nano, char *err, size_t errlen);

#endif
