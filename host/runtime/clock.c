/*
** clock.c -- time: clocks, RFC 3339 text, and the `clock` module.
**
**   clock.now()          seconds since the epoch (float)
**   clock.monotonic()    seconds on a clock that never goes back
**   clock.iso(t[, d])    RFC 3339 in UTC, d fractional digits (0-6)
**   clock.parse_iso(s)   epoch seconds, or nil, err
**   clock.in_zone(t, zone)  the wall-clock time of t in a named zone:
**                        {year, month, day, hour, min, sec, wday,
**                        offset, iso}, or nil, err
**   clock.from_zone{year, month, day, hour, min, sec, zone}
**                        the instant of that wall time, and whether it
**                        fell in a gap (summer time), or nil, err
**
** Zones come from the system's tz database (pure/tzone.c): "a slot at
** 09:00 in Europe/Paris" is a different UTC hour in summer and winter.
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "pure/tzone.h"
#include "runtime/clock.h"
#include "runtime/err.h"

double clock_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double clock_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int clock_format_iso(double t, int digits, char *buf, size_t size)
{
    static const double scale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    struct tm tm;
    double whole = floor(t);
    long frac;
    if (digits < 0 || digits > 6)
        digits = 0;
    /* truncated, like other clocks: a second is named when it starts */
    frac = (long)floor((t - whole) * scale[digits] + 1e-6);
    if (frac >= (long)scale[digits])
        frac = (long)scale[digits] - 1;
    time_t secs = (time_t)whole;
    if (!gmtime_r(&secs, &tm))
        return snprintf(buf, size, "(invalid time)");
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (digits > 0)
        n += (size_t)snprintf(buf + n, size - n, ".%0*ld", digits, frac);
    return (int)n + snprintf(buf + n, size - n, "Z");
}

static int digits_at(const char *s, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        *out = *out * 10 + (s[i] - '0');
    }
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                               30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* YYYY-MM-DDTHH:MM:SS; fills tm, returns the rest or NULL. */
static const char *parse_fields(const char *s, struct tm *tm,
                                const char **why)
{
    int y, mo, d, h, mi, sec;
    if (strlen(s) < 19 || digits_at(s, 4, &y) || s[4] != '-' ||
        digits_at(s + 5, 2, &mo) || s[7] != '-' ||
        digits_at(s + 8, 2, &d) || !strchr("Tt ", s[10]) || !s[10] ||
        digits_at(s + 11, 2, &h) || s[13] != ':' ||
        digits_at(s + 14, 2, &mi) || s[16] != ':' ||
        digits_at(s + 17, 2, &sec)) {
        *why = "not of the form 2026-05-12T06:00:00Z";
        return NULL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 60) {
        *why = "a field is out of range (month, day, hour, minute or "
               "second)";
        return NULL;
    }
    memset(tm, 0, sizeof *tm);
    tm->tm_year = y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    tm->tm_hour = h;
    tm->tm_min = mi;
    tm->tm_sec = sec;
    return s + 19;
}

/* ".123" then "Z" or "+HH:MM"; offset in seconds east of UTC. */
static int parse_tail(const char *s, double *frac, long *offset,
                      const char **why)
{
    int oh, om;
    *frac = 0;
    if (*s == '.') {
        double scale = 0.1;
        if (!isdigit((unsigned char)*++s))
            return *why = "a '.' must be followed by digits", -1;
        for (; isdigit((unsigned char)*s); s++, scale /= 10)
            *frac += (*s - '0') * scale;
    }
    if ((*s == 'Z' || *s == 'z') && s[1] == '\0') {
        *offset = 0;
        return 0;
    }
    if (*s == '\0')
        return *why = "the UTC offset is missing (add Z or +HH:MM)", -1;
    if ((*s != '+' && *s != '-') || strlen(s) != 6 ||
        digits_at(s + 1, 2, &oh) || s[3] != ':' ||
        digits_at(s + 4, 2, &om) || oh > 23 || om > 59)
        return *why = "the UTC offset must be Z or +HH:MM / -HH:MM", -1;
    *offset = (*s == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    return 0;
}

int clock_parse_iso(const char *s, double *t, const char **why)
{
    struct tm tm;
    double frac;
    long offset;
    const char *rest = parse_fields(s, &tm, why);
    if (!rest || parse_tail(rest, &frac, &offset, why) != 0)
        return -1;
    *t = (double)timegm(&tm) - (double)offset + frac;
    return 0;
}

/* ---- Lua binding ---- */

static int l_now(lua_State *L)
{
    lua_pushnumber(L, clock_realtime());
    return 1;
}

static int l_monotonic(lua_State *L)
{
    lua_pushnumber(L, clock_monotonic());
    return 1;
}

static int l_iso(lua_State *L)
{
    char buf[64];
    lua_Number t = luaL_optnumber(L, 1, clock_realtime());
    lua_Integer d = luaL_optinteger(L, 2, 0);
    luaL_argcheck(L, isfinite(t) && fabs(t) < 1e13, 1, "time out of range");
    luaL_argcheck(L, d >= 0 && d <= 6, 2, "digits must be 0 to 6");
    clock_format_iso(t, (int)d, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int l_parse_iso(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len), *why;
    double t;
    if (strlen(s) != len)
        return err_fail(L, "parse", "a time contains no NUL byte");
    if (clock_parse_iso(s, &t, &why) != 0)
        return err_fail(L, "parse", "'%s' is not an RFC 3339 time: %s",
                        s, why);
    lua_pushnumber(L, t);
    return 1;
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static int l_in_zone(lua_State *L)
{
    lua_Number t = luaL_checknumber(L, 1);
    const char *zone = luaL_checkstring(L, 2);
    char why[256], iso[48];
    struct tm tm;
    long off;
    luaL_argcheck(L, isfinite(t) && fabs(t) < 1e13, 1, "time out of range");
    if (tzone_to_local(zone, (time_t)floor(t), &tm, &off, why,
                       sizeof why) != 0)
        return err_fail(L, "parse", "%s", why);
    lua_createtable(L, 0, 9);
    set_int(L, "year", tm.tm_year + 1900);
    set_int(L, "month", tm.tm_mon + 1);
    set_int(L, "day", tm.tm_mday);
    set_int(L, "hour", tm.tm_hour);
    set_int(L, "min", tm.tm_min);
    set_int(L, "sec", tm.tm_sec);
    set_int(L, "wday", tm.tm_wday == 0 ? 7 : tm.tm_wday);   /* Mon 1 */
    set_int(L, "offset", off);
    size_t n = strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(iso + n, sizeof iso - n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
             labs(off) / 3600, labs(off) % 3600 / 60);
    lua_pushstring(L, iso);
    lua_setfield(L, -2, "iso");
    return 1;
}

static int field(lua_State *L, const char *k, int lo, int hi, int dflt)
{
    int isnum;
    lua_getfield(L, 1, k);
    lua_Integer v = lua_isnil(L, -1) && dflt >= 0 ? dflt :
                    lua_tointegerx(L, -1, &isnum);
    if (!(lua_isnil(L, -1) && dflt >= 0) && !isnum)
        luaL_error(L, "clock.from_zone: %s must be a whole number", k);
    if (v < lo || v > hi)
        luaL_error(L, "clock.from_zone: %s must be %d to %d", k, lo, hi);
    lua_pop(L, 1);
    return (int)v;
}

static int l_from_zone(lua_State *L)
{
    struct tm tm;
    char why[256];
    time_t t;
    int gap;
    luaL_checktype(L, 1, LUA_TTABLE);
    memset(&tm, 0, sizeof tm);
    tm.tm_year = field(L, "year", 1900, 9999, -1) - 1900;
    tm.tm_mon = field(L, "month", 1, 12, -1) - 1;
    tm.tm_mday = field(L, "day", 1, 31, -1);
    tm.tm_hour = field(L, "hour", 0, 23, 0);
    tm.tm_min = field(L, "min", 0, 59, 0);
    tm.tm_sec = field(L, "sec", 0, 59, 0);
    if (tm.tm_mday > days_in_month(tm.tm_year + 1900, tm.tm_mon + 1)) {
        snprintf(why, sizeof why, "%04d-%02d has no day %d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        return err_fail(L, "parse", "%s", why);
    }
    lua_getfield(L, 1, "zone");
    const char *zone = lua_tostring(L, -1);
    if (!zone)
        return luaL_error(L, "clock.from_zone: zone is required (like "
                          "\"Europe/Paris\" or \"UTC\")");
    if (tzone_from_local(zone, &tm, &t, &gap, why, sizeof why) != 0)
        return err_fail(L, "parse", "%s", why);
    lua_pushnumber(L, (lua_Number)t);
    lua_pushboolean(L, gap);
    return 2;
}

static const luaL_Reg clock_funcs[] = {
    {"now", l_now},
    {"monotonic", l_monotonic},
    {"iso", l_iso},
    {"parse_iso", l_parse_iso},
    {"in_zone", l_in_zone},
    {"from_zone", l_from_zone},
    {NULL, NULL}
};

int luaopen_clawhost_clock(lua_State *L)
{
    luaL_newlib(L, clock_funcs);
    return 1;
}
