/*
** tzone.h -- wall-clock time in a named time zone ("Europe/Paris"), from
** the system's tz database (/usr/share/zoneinfo, or $TZDIR).
**
** A campaign schedules posts "every day at 09:00 in Europe/Paris": the
** instant that is depends on the date (summer time), so it is computed
** by the C library from the zone's own rules, never with a fixed
** offset. The process's TZ is switched for the call and put back.
*/
#ifndef CLAWHOST_TZONE_H
#define CLAWHOST_TZONE_H

#include <stddef.h>
#include <time.h>

#define TZONE_NAME_MAX 64

/*
** 0 when zone names a zone file of the tz database ("UTC",
** "Europe/Paris"); -1 with the reason in why otherwise (a bad name, no
** such zone, not a tz file).
*/
int tzone_check(const char *zone, char *why, size_t whylen);

/*
** The instant of a wall-clock time in zone (wall's year, mon, mday,
** hour, min, sec as struct tm has them). *gap is 1 when that wall time
** does not exist there (the clocks went forward over it) and the
** instant is the one the C library moved it to. 0, or -1 with why.
*/
int tzone_from_local(const char *zone, const struct tm *wall, time_t *t,
                     int *gap, char *why, size_t whylen);

/* The wall-clock time of t in zone, and its offset east of UTC. */
int tzone_to_local(const char *zone, time_t t, struct tm *wall,
                   long *offset, char *why, size_t whylen);

#endif
