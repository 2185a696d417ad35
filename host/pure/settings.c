/*
** settings.c -- the settings clawhost knows and the rules of their
** values.
**
** The table follows theta-api.md 1.3, threads-api.md 6.1-6.2 and the
** seed's setup_env.sh. Validation is the one place that says what a
** value may be: setup refuses what breaks a rule, check reports it.
** Every rule refuses without quoting the value, which may be a secret
** typed into the wrong prompt.
*/
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pure/baseurl.h"
#include "pure/dotenv.h"
#include "pure/money.h"
#include "pure/settings.h"
#include "util/dynbuf.h"

static const char *const groups[] = {
    "Threads backend", "Theta on-demand", "Theta controller / project",
    "Theta dedicated endpoint", "Theta Video", "Budget", NULL
};

static const struct settings_item table[] = {
    {"THREADS_FASTAPI_BASE_URL", 0, SETTINGS_URL,
     "base URL of the Threads publishing backend"},
    {"THREADS_QUEUE_SECRET", 0, SETTINGS_SECRET,
     "its X-Queue-Secret"},
    {"THREADS_TENANT_ID", 0, SETTINGS_TENANT,
     "tenant id (optional; default agency_paris)"},
    {"THETA_ONDEMAND_API_TOKEN", 1, SETTINGS_SECRET,
     "on-demand access token (also read as THETA_ONDEMAND_API_KEY, "
     "THETA_API_KEY)"},
    {"THETA_ONDEMAND_API_BASE_URL", 1, SETTINGS_URL,
     "on-demand API base URL (optional; default "
     "https://ondemand.thetaedgecloud.com)"},
    {"THETA_EC_API_KEY", 2, SETTINGS_SECRET,
     "project API key (x-api-key)"},
    {"THETA_EC_PROJECT_ID", 2, SETTINGS_PRJ, "project id, prj_..."},
    {"THETA_ORG_ID", 2, SETTINGS_ORG,
     "organization id, org_... (optional; for the balance)"},
    {"THETA_INFERENCE_ENDPOINT", 3, SETTINGS_URL,
     "base URL of your dedicated endpoint"},
    {"THETA_INFERENCE_AUTH_TOKEN", 3, SETTINGS_SECRET,
     "its Bearer token (or user and password below)"},
    {"THETA_INFERENCE_AUTH_USER", 3, SETTINGS_TEXT,
     "its Basic auth user"},
    {"THETA_INFERENCE_AUTH_PASS", 3, SETTINGS_SECRET,
     "its Basic auth password"},
    {"THETA_VIDEO_SA_ID", 4, SETTINGS_TEXT,
     "service account id (srvacc_...)"},
    {"THETA_VIDEO_SA_SECRET", 4, SETTINGS_SECRET,
     "service account secret"},
    {"THETA_MAX_BUDGET_USD", 5, SETTINGS_USD,
     "spend cap of a run in USD (optional; default 2.00)"},
};

_Static_assert(sizeof table / sizeof table[0] == SETTINGS_COUNT,
               "SETTINGS_COUNT is the size of the table");

/* theta-api.md 6.6: the on-demand token goes by three names. */
static const char *const ondemand_aliases[] = {
    "THETA_ONDEMAND_API_TOKEN", "THETA_ONDEMAND_API_KEY", "THETA_API_KEY",
    NULL
};

const struct settings_item *settings_item(size_t i)
{
    return i < SETTINGS_COUNT ? &table[i] : NULL;
}

size_t settings_index(const struct settings_item *s)
{
    return (size_t)(s - table);
}

const char *settings_group(int g)
{
    return g >= 0 && g < (int)(sizeof groups / sizeof groups[0]) ?
           groups[g] : NULL;
}

const char *const *settings_aliases(const char *name)
{
    for (int i = 0; ondemand_aliases[i]; i++)
        if (strcmp(name, ondemand_aliases[i]) == 0)
            return ondemand_aliases;
    return NULL;
}

const struct settings_item *settings_find(const char *name,
                                          const char **spelled)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const char *const *a = settings_aliases(table[i].name);
        const char *found = strcmp(table[i].name, name) == 0 ?
                            table[i].name : NULL;
        for (int k = 0; !found && a && a[k]; k++)
            if (strcmp(a[k], name) == 0)
                found = a[k];
        if (found) {
            if (spelled)
                *spelled = found;
            return &table[i];
        }
    }
    return NULL;
}

size_t settings_trim(const char **s, size_t n)
{
    const char *p = *s;
    while (n > 0 && isspace((unsigned char)*p))
        p++, n--;
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    *s = p;
    return n;
}

/* ---- the rules ---- */

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* `prefix` followed by one or more of [A-Za-z0-9_] ("prj_", "org_"). */
static int check_id(const char *prefix, const char *in, char *err,
                    size_t errlen)
{
    size_t p = strlen(prefix), n = strlen(in), i = p;
    if (n > p && strncmp(in, prefix, p) == 0)
        while (i < n && (isalnum((unsigned char)in[i]) || in[i] == '_'))
            i++;
    if (n > p && i == n)
        return 0;
    snprintf(err, errlen, "expected %s followed by letters, digits or _",
             prefix);
    return -1;
}

/* threads-api.md 6.2: meta.tenant_id is ^[a-z0-9_-]{1,64}$. */
static int check_tenant(const char *s, char *err, size_t errlen)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i])
            && s[i] != '_' && s[i] != '-')
            n = 0;
    return n >= 1 && n <= 64 ? 0 :
        fail(err, errlen, "expected 1 to 64 of a-z 0-9 _ -");
}

/* What every value of a kind must be before its own rule is asked. */
static int check_shape(const struct settings_item *s, const char *v,
                       size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return fail(err, errlen, "empty value");
    if (memchr(v, '\0', n))
        return fail(err, errlen, "the value holds a NUL byte");
    if (s->kind == SETTINGS_SECRET) {
        if (n > SETTINGS_VALUE_MAX)
            return snprintf(err, errlen, "longer than %d bytes",
                            SETTINGS_VALUE_MAX), -1;
        return 0;
    }
    if (n > BASEURL_MAX || (s->kind != SETTINGS_URL &&
                            n > SETTINGS_TEXT_MAX))
        return fail(err, errlen, "value too long");
    if (has_control(v, n))
        return fail(err, errlen, "the value holds control characters");
    return 0;
}

/* The rule of the kind; a URL's stored form goes to *url. */
static int check_kind(const struct settings_item *s, const char *text,
                      struct baseurl *url, char *err, size_t errlen)
{
    int64_t nano;
    switch (s->kind) {
    case SETTINGS_URL:
        return baseurl_parse(text, url, err, errlen);
    case SETTINGS_PRJ:
        return check_id("prj_", text, err, errlen);
    case SETTINGS_ORG:
        return check_id("org_", text, err, errlen);
    case SETTINGS_TENANT:
        return check_tenant(text, err, errlen);
    case SETTINGS_USD:          /* money's own message quotes the input */
        return money_usd_parse(text, &nano, NULL, 0) == MONEY_OK ? 0 :
               fail(err, errlen, "expected US dollars such as 2.00 (up to "
                    "9 decimals)");
    default:
        return 0;
    }
}

int settings_check(const struct settings_item *s, const char *in,
                   size_t len, int to_file, struct dynbuf *out, char *err,
                   size_t errlen)
{
    char text[BASEURL_MAX + 1];
    struct baseurl url;
    size_t n = settings_trim(&in, len);
    int rc = check_shape(s, in, n, err, errlen);
    if (rc == 0 && s->kind != SETTINGS_SECRET) {
        memcpy(text, in, n);    /* n <= BASEURL_MAX: check_shape */
        text[n] = '\0';
        rc = check_kind(s, text, &url, err, errlen);
        if (rc == 0 && s->kind == SETTINGS_URL) {
            in = url.url;
            n = url.len;
        }
    }
    if (rc == 0 && to_file)
        rc = dotenv_quote(NULL, in, n, err, errlen);
    if (rc == 0 && out && dynbuf_add(out, in, n) != DYNBUF_OK)
        rc = fail(err, errlen, dynbuf_strerror(out->err));
    explicit_bzero(text, sizeof text);     /* a secret in the wrong box */
    return rc;
}
