/*
** settings.c -- the settings clawhost knows and the rules of their
** values.
**
** The table follows theta-api.md 1.3, threads-api.md 6.1-6.2 and the
** seed's setup_env.sh. Validation is the one place that says what a
** value may be: setup refuses what breaks a rule, check reports it.
** Every rule refuses without quoting the value, which may be a secret
** typed into the wrong prompt. A second table lists the settings the
** config module may hand to recipes (the allow-list of config.get).
*/
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pure/baseurl.h"
#include "pure/dotenv.h"
#include "pure/money.h"
#include "pure/settings.h"
#include "util/dynbuf.h"

static const char *const groups[] = {
    "Threads backend", "Theta on-demand", "Theta controller / project",
    "Theta dedicated endpoint", "Theta Video", "Budget",
    "Theta nodes (JSON-RPC)", NULL
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
    {"THETA_EDGECLOUD_RPC_URL", 6, SETTINGS_URL,
     "EdgeCloud client node RPC (e.g. http://localhost:9545/rpc)"},
    {"THETA_CHAIN_RPC_URL", 6, SETTINGS_URL,
     "Theta chain node RPC (e.g. http://localhost:16888/rpc)"},
    {"THETA_CLI_RPC_URL", 6, SETTINGS_URL,
     "thetacli daemon RPC (e.g. http://localhost:16889/rpc)"},
    {"THETA_CLI_PASSWORD", 6, SETTINGS_SECRET,
     "password of thetacli keys (NewKey, UnlockKey)"},
};

_Static_assert(sizeof table / sizeof table[0] == SETTINGS_COUNT,
               "SETTINGS_COUNT is the size of the table");

/*
** The settings config may hand to Lua: every non-secret name clawhost
** or a library in lua/ reads (through config_lookup, config.get or
** getenv), in the order of docs/modules.md, which has the same lines.
** Left out on purpose: every SETTINGS_SECRET entry above; the user
** half of a credential pair (THETA_INFERENCE_AUTH_USER: secret.get
** reads it with its binding; THETA_VIDEO_SA_ID is readable, because
** the Video API puts it in its URL paths);
** CLAWHOST_STORE and CLAWHOST_PROXY, URLs that may hold a password; and
** the host's plumbing (CLAWHOST_HOME, CLAWHOST_STATE_DIR,
** CLAWHOST_SECRETS_DIR, CLAWHOST_ENV_FILE, CLAWHOST_CONNECT_TO,
** CLAWHOST_CA_FILE), which no recipe needs to see.
*/
static const struct settings_readable readable[] = {
    {"THREADS_FASTAPI_BASE_URL", "lua/threads, secret",
     "base URL of the Threads publishing backend"},
    {"THREADS_TENANT_ID", "lua/threads",
     "tenant id sent with each post (default agency_paris)"},
    {"THETA_ONDEMAND_API_BASE_URL", "lua/theta, secret",
     "on-demand API base URL (default "
     "https://ondemand.thetaedgecloud.com)"},
    {"THETA_API_BASE_URL", "lua/theta, secret",
     "the same, under the official MCP server's name"},
    {"THETA_EC_PROJECT_ID", "setup, check",
     "controller project id, prj_..."},
    {"THETA_ORG_ID", "setup, check", "organization id, org_..."},
    {"THETA_INFERENCE_ENDPOINT", "secret, setup, check",
     "base URL of a dedicated inference endpoint"},
    {"THETA_HTTP_TIMEOUT_MS", "http, lua/theta",
     "time allowed for one HTTP call (default 20000)"},
    {"THETA_HTTP_MAX_RETRIES", "http",
     "retries of a call that may be retried (default 2, at most 6)"},
    {"THETA_HTTP_RETRY_BACKOFF_MS", "http",
     "the first retry's pause (default 250)"},
    {"THETA_DRY_RUN", "clawhost run",
     "1: plan instead of sending (a recipe reads ctx.dry_run)"},
    {"THETA_MAX_BUDGET_USD", "budget",
     "spend cap of one run in USD (default 2.00)"},
    {"CLAWHOST_DAILY_BUDGET_USD", "budget",
     "spend cap of one day in USD, shared by every run"},
    {"SERVICES", "lua/theta/smoke",
     "the smoke run's services, comma separated"},
    {"THETA_WAIT_SECONDS", "lua/theta/smoke",
     "wait of each create call (default 30; qwen3 60)"},
    {"THETA_POLL_UNTIL_DONE", "lua/theta/smoke",
     "poll jobs the wait did not finish (default 1)"},
    {"THETA_POLL_INTERVAL_SECONDS", "lua/theta/smoke",
     "pause between two polls (default 3)"},
    {"THETA_POLL_TIMEOUT_SECONDS", "lua/theta/smoke",
     "longest wait for one job (default 180)"},
    {"THETA_VIDEO_SA_ID", "lua/theta/video",
     "Video API service account id (in the API's URL paths)"},
    {"THETA_EDGECLOUD_RPC_URL", "lua/theta/rpc, secret",
     "EdgeCloud client node JSON-RPC URL (no default)"},
    {"THETA_CHAIN_RPC_URL", "lua/theta/rpc, secret",
     "Theta chain node JSON-RPC URL (no default)"},
    {"THETA_CLI_RPC_URL", "lua/theta/rpc, secret",
     "thetacli daemon JSON-RPC URL (no default)"},
};

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

const struct settings_readable *settings_readable_item(size_t i)
{
    return i < sizeof readable / sizeof readable[0] ? &readable[i] : NULL;
}

const struct settings_readable *settings_readable_find(const char *name)
{
    const struct settings_readable *r;
    for (size_t i = 0; (r = settings_readable_item(i)); i++)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

/* RFC 3986 3.2: the authority after "//" ends at the next "/", "?" or
** "#"; an "@" inside it closes a userinfo. Any userinfo counts, not
** only user:password: a token often travels as the user alone
** (https://TOKEN@host). */
static int authority_has_at(const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i] != '/' && s[i] != '?' &&
         s[i] != '#'; i++)
        if (s[i] == '@')
            return 1;
    return 0;
}

/* user:pass@host with no scheme (Go's MySQL DSN and the like): a ':'
** and then an '@' before the first '/', '?', '#' or blank. mailto:
** (RFC 6068) holds an address, not a userinfo. */
static int starts_with_login(const char *s, size_t n)
{
    int colon = 0;
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    if (n >= 7 && strncasecmp(s, "mailto:", 7) == 0)
        return 0;
    for (size_t i = 0; i < n && !strchr("/?# \t\r\n", s[i]); i++) {
        if (s[i] == ':')
            colon = 1;
        else if (s[i] == '@')
            return colon;
    }
    return 0;
}

int settings_has_userinfo(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '/' && s[i + 1] == '/' &&
            authority_has_at(s + i + 2, n - i - 2))
            return 1;
    return starts_with_login(s, n);
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
