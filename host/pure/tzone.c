/*
** tzone.c -- wall-clock time in a named time zone, by the C library's
** own reading of the tz database (see tzone.h).
**
** Why switch TZ rather than read zone files ourselves: the format has
** versions, transitions and a POSIX rule string for the future; glibc
** reads all of it. The host is single-threaded where this runs (libcurl
** threads never read TZ), so switching it for a call is safe; it is put
** back to what it was before every return.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pure/tzone.h"

static int name_ok(const char *z)
{
    size_t n = strlen(z);
    if (n == 0 || n > TZONE_NAME_MAX || z[0] == '/' || z[0] == '.' ||
        strstr(z, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = z[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || strchr("_+-./", c)))
            return 0;
    }
    return 1;
}

int tzone_check(const char *zone, char *why, size_t whylen)
{
    char path[512], magic[4];
    const char *dir = getenv("TZDIR");
    FILE *f;
    if (!zone || !name_ok(zone)) {
        snprintf(why, whylen, "'%s' is not a time zone name (like "
                 "Europe/Paris or UTC)", zone ? zone : "");
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir :
             "/usr/share/zoneinfo", zone);
    if (!(f = fopen(path, "rb"))) {
        snprintf(why, whylen, "no time zone '%s' in the tz database "
                 "(%s); names look like Europe/Paris or America/New_York",
                 zone, dir && *dir ? dir : "/usr/share/zoneinfo");
        return -1;
    }
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got != sizeof magic || memcmp(magic, "TZif", 4) != 0) {
        snprintf(why, whylen, "'%s' is not a time zone file of the tz "
                 "database", zone);
        return -1;
    }
    return 0;
}

/* Run with TZ set to zone; the old value is restored by leave(). */
struct saved {
    char *tz;
    int had;
};

static int enter(const char *zone, struct saved *sv, char *why,
                 size_t whylen)
{
    const char *old = getenv("TZ");
    if (tzone_check(zone, why, whylen) != 0)
        return -1;
    sv->had = old != NULL;
    sv->tz = old ? strdup(old) : NULL;
    if ((old && !sv->tz) || setenv("TZ", zone, 1) != 0) {
        free(sv->tz);
        snprintf(why, whylen, "out of memory switching the time zone");
        return -1;
    }
    tzset();
    return 0;
}

static void leave(struct saved *sv)
{
    if (sv->had)
        setenv("TZ", sv->tz, 1);
    else
        unsetenv("TZ");
    free(sv->tz);
    tzset();
}

int tzone_from_local(const char *zone, const struct tm *wall, time_t *t,
                     int *gap, char *why, size_t whylen)
{
    struct saved sv;
    struct tm tm = *wall, back;
    if (enter(zone, &sv, why, whylen) != 0)
        return -1;
    tm.tm_isdst = -1;
    *t = mktime(&tm);
    int ok = *t != (time_t)-1 && localtime_r(t, &back);
    leave(&sv);
    if (!ok) {
        snprintf(why, whylen, "that date and time cannot be placed in %s",
                 zone);
        return -1;
    }
    *gap = back.tm_hour != wall->tm_hour || back.tm_min != wall->tm_min ||
           back.tm_mday != wall->tm_mday;
    return 0;
}

int tzone_to_local(const char *zone, time_t t, struct tm *wall,
                   long *offset, char *why, size_t whylen)
{
    struct saved sv;
    if (enter(zone, &sv, why, whylen) != 0)
        return -1;
    int ok = localtime_r(&t, wall) != NULL;
    leave(&sv);
    if (!ok) {
        snprintf(why, whylen, "that time cannot be shown in %s", zone);
        return -1;
    }
    *offset = wall->tm_gmtoff;
    return 0;
}
