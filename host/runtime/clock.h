/*
** clock.h -- time: clocks, RFC 3339 text, and the `clock` module.
*/
#ifndef CLAWHOST_CLOCK_H
#define CLAWHOST_CLOCK_H

#include <stddef.h>
#include <lua.h>

double clock_realtime(void);    /* seconds since the epoch */
double clock_monotonic(void);   /* seconds, never goes back */

/* "2026-05-12T06:00:00Z", with `digits` (0-6) fractional digits. */
int clock_format_iso(double t, int digits, char *buf, size_t size);

/*
** Parse an RFC 3339 date-time; the offset ("Z" or "+02:00") is required
** because a time without one means different instants to different
** machines. Returns 0 and the epoch time, or -1 and a reason.
*/
int clock_parse_iso(const char *s, double *t, const char **why);

int luaopen_clawhost_clock(lua_State *L);

#endif
