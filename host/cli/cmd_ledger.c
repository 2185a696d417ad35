/*
** cmd_ledger.c -- `clawhost ledger`: what has been spent, per service
** and per run, and reconciliation of reservations a killed run left.
**
**   clawhost ledger [--json]              today's and all-time totals,
**                                         per service and per run
**   clawhost ledger --since DATE          the same from DATE on
**   clawhost ledger --run ID              one run and its reservations
**   clawhost ledger --open                open reservations
**   clawhost ledger --release ID          nothing was spent
**   clawhost ledger --settle ID USD       this is what it cost
**
** Every figure comes from the totals the store keeps per scope, so the
** time this takes grows with what it prints, never with history.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_ledger.h"
#include "lib/lstore.h"
#include "pure/money.h"
#include "runtime/clock.h"
#include "runtime/err.h"
#include "runtime/out.h"
#include "store/store.h"

struct opts {
    int json, open;
    const char *release, *settle, *amount, *since, *run;
};

static int fail(const char *msg)
{
    out_printf(OUT_STDERR, "clawhost ledger: %s\n", msg);
    return EXIT_USAGE;
}

static const char *usd(int64_t nano, char *buf)
{
    return money_usd_format(nano, buf, MONEY_USD_BUFSZ);
}

/* ---- groups: by service, by run ---- */

struct group {
    char key[STORE_NAME_MAX + 12];
    store_totals t;
};

struct groups {
    struct group *v;
    size_t n, cap;
    int oom;
};

static struct group *group_for(struct groups *g, const char *key)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->v[i].key, key) == 0)
            return &g->v[i];
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 32;
        struct group *v = realloc(g->v, cap * sizeof *v);
        if (!v)
            return g->oom = 1, NULL;
        g->v = v;
        g->cap = cap;
    }
    memset(&g->v[g->n], 0, sizeof g->v[0]);
    snprintf(g->v[g->n].key, sizeof g->v[0].key, "%s", key);
    return &g->v[g->n++];
}

static void add_totals(store_totals *a, const store_totals *b)
{
    a->committed += b->committed;
    a->open += b->open;
    a->settled += b->settled;
    a->n_open += b->n_open;
    a->n_settled += b->n_settled;
    a->n_released += b->n_released;
}

static int add_group(void *ud, const char *key, const store_totals *t)
{
    struct group *g = group_for(ud, key);
    if (g)
        add_totals(&g->t, t);
    return g == NULL;
}

/* "2026-12-07 qwen3" counts for qwen3. */
static int add_day_label(void *ud, const char *key, const store_totals *t)
{
    const char *sp = strchr(key, ' ');
    return add_group(ud, sp ? sp + 1 : key, t);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct group *)a)->key,
                  ((const struct group *)b)->key);
}

static void print_groups(const struct groups *g, const char *title,
                         int json)
{
    char a[MONEY_USD_BUFSZ], b[MONEY_USD_BUFSZ], c[MONEY_USD_BUFSZ];
    if (json) {
        out_printf(OUT_STDOUT, ",\n  \"%s\": [", title);
        for (size_t i = 0; i < g->n; i++)
            out_printf(OUT_STDOUT, "%s\n    {\"key\": \"%s\", \"committed\":"
                       " %s, \"settled\": %s, \"open\": %s, \"calls\": %lld}",
                       i ? "," : "", g->v[i].key,
                       usd(g->v[i].t.committed, a),
                       usd(g->v[i].t.settled, b), usd(g->v[i].t.open, c),
                       (long long)(g->v[i].t.n_open + g->v[i].t.n_settled));
        out_puts(OUT_STDOUT, g->n ? "\n  ]" : "]");
        return;
    }
    out_printf(OUT_STDOUT, "\nby %s:\n  %-44s %6s %12s %12s\n", title,
               title, "calls", "settled USD", "open USD");
    for (size_t i = 0; i < g->n; i++)
        out_printf(OUT_STDOUT, "  %-44s %6lld %12s %12s\n", g->v[i].key,
                   (long long)(g->v[i].t.n_open + g->v[i].t.n_settled),
                   usd(g->v[i].t.settled, a), usd(g->v[i].t.open, b));
    if (g->n == 0)
        out_puts(OUT_STDOUT, "  (nothing yet)\n");
}

struct since_runs {
    store *s;
    struct groups *g;
    int st;
    char *err;
    size_t errlen;
};

/* A run started since the date: its totals, one read each. */
static int add_run(void *ud, const store_run *r)
{
    struct since_runs *sr = ud;
    store_totals t;
    sr->st = store_totals_get(sr->s, STORE_SCOPE_RUN, r->id, &t, sr->err,
                              sr->errlen);
    return sr->st != STORE_OK || add_group(sr->g, r->id, &t);
}

/* By service and by run: all time, or from the day `since` on. */
static int collect(store *s, const char *since, int64_t since_t,
                   struct groups *g, char *err, size_t errlen)
{
    int st = since ?
        store_totals_each(s, STORE_SCOPE_DAY_LABEL, since, NULL,
                          add_day_label, &g[0], err, errlen) :
        store_totals_each(s, STORE_SCOPE_LABEL, NULL, NULL, add_group,
                          &g[0], err, errlen);
    if (st == STORE_OK && since) {
        struct since_runs sr = {s, &g[1], STORE_OK, err, errlen};
        st = store_runs_each(s, since_t, add_run, &sr, err, errlen);
        if (st == STORE_OK)
            st = sr.st;
    } else if (st == STORE_OK) {
        st = store_totals_each(s, STORE_SCOPE_RUN, NULL, NULL, add_group,
                               &g[1], err, errlen);
    }
    if (st == STORE_OK && (g[0].oom || g[1].oom))
        st = STORE_ENOMEM;
    qsort(g[0].v, g[0].n, sizeof *g[0].v, by_key);
    return st;
}

/* ---- the totals view ---- */

static int add_day(void *ud, const char *key, const store_totals *t)
{
    (void)key;
    add_totals(ud, t);
    return 0;
}

static void print_head(const store *s, const char *today,
                       const store_totals *t, const store_totals *all,
                       const char *since, int json)
{
    char a[MONEY_USD_BUFSZ], b[MONEY_USD_BUFSZ], c[MONEY_USD_BUFSZ],
         d[MONEY_USD_BUFSZ];
    if (json)
        out_printf(OUT_STDOUT, "{\n  \"ledger\": \"%s\",\n  \"today\": "
                   "\"%s\",\n  \"today_committed\": %s,%s%s%s\n  "
                   "\"committed\": %s,\n  \"settled\": %s,\n  \"open\": %s",
                   store_where(s), today, usd(t->committed, a),
                   since ? "\n  \"since\": \"" : "", since ? since : "",
                   since ? "\"," : "", usd(all->committed, b),
                   usd(all->settled, c), usd(all->open, d));
    else
        out_printf(OUT_STDOUT, "spend ledger %s\ntoday (%s UTC): %s USD\n"
                   "%s%s: %s USD (%s settled, %s reserved and still "
                   "open)\n", store_where(s), today, usd(t->committed, a),
                   since ? "since " : "all days", since ? since : "",
                   usd(all->committed, b), usd(all->settled, c),
                   usd(all->open, d));
}

static int show_totals(store *s, const struct opts *o, int64_t since_t)
{
    struct groups g[2] = {{0}, {0}};
    store_totals t, all = {0};
    char err[512], today[11];
    int st;
    store_day(store_now(), today);
    st = store_totals_get(s, STORE_SCOPE_DAY, today, &t, err, sizeof err);
    if (st == STORE_OK && o->since)
        st = store_totals_each(s, STORE_SCOPE_DAY, o->since, NULL, add_day,
                               &all, err, sizeof err);
    else if (st == STORE_OK)
        st = store_totals_get(s, STORE_SCOPE_ALL, "", &all, err,
                              sizeof err);
    if (st == STORE_OK)
        st = collect(s, o->since, since_t, g, err, sizeof err);
    if (st == STORE_OK) {
        print_head(s, today, &t, &all, o->since, o->json);
        print_groups(&g[0], "service", o->json);
        print_groups(&g[1], "run", o->json);
        if (o->json)
            out_puts(OUT_STDOUT, "\n}\n");
    }
    free(g[0].v);
    free(g[1].v);
    return st == STORE_OK ? EXIT_OK : fail(err);
}

/* ---- one run ---- */

static void print_record(const store_record *r, int json, int first)
{
    char a[MONEY_USD_BUFSZ], b[MONEY_USD_BUFSZ], when[32];
    clock_format_iso((double)r->created, 0, when, sizeof when);
    if (json)
        out_printf(OUT_STDOUT, "%s\n    {\"id\": %lld, \"service\": \"%s\", "
                   "\"state\": \"%s\", \"reserved\": %s, \"committed\": %s, "
                   "\"created\": \"%s\"}", first ? "" : ",",
                   (long long)r->id, r->label, store_state_name(r->state),
                   usd(r->reserved, a), usd(store_record_committed(r), b),
                   when);
    else
        out_printf(OUT_STDOUT, "  %-8lld %-24s %-9s %12s %12s  %s\n",
                   (long long)r->id, r->label, store_state_name(r->state),
                   usd(r->reserved, a), usd(store_record_committed(r), b),
                   when);
}

static void print_run_head(const store_run *r, const store_totals *t,
                           int json)
{
    char a[MONEY_USD_BUFSZ], b[MONEY_USD_BUFSZ], c[MONEY_USD_BUFSZ],
         when[32];
    clock_format_iso((double)r->started, 0, when, sizeof when);
    if (json)
        out_printf(OUT_STDOUT, "{\n  \"run\": \"%s\",\n  \"recipe\": \"%s\","
                   "\n  \"host\": \"%s\",\n  \"started\": \"%s\",\n  "
                   "\"exit\": %d,\n  \"committed\": %s,\n  \"settled\": %s,"
                   "\n  \"open\": %s,\n  \"reservations\": [", r->id,
                   r->recipe, r->host, when, r->exit_code,
                   usd(t->committed, a), usd(t->settled, b),
                   usd(t->open, c));
    else
        out_printf(OUT_STDOUT, "run %s\n  recipe %s on %s, started %s, %s\n"
                   "  %s USD (%s settled, %s reserved and still open)\n\n"
                   "  %-8s %-24s %-9s %12s %12s  %s\n", r->id, r->recipe,
                   r->host, when, r->exit_code < 0 ? "no exit recorded "
                   "(still running, or killed)" : r->exit_code == 0 ?
                   "exit 0" : "failed", usd(t->committed, a),
                   usd(t->settled, b), usd(t->open, c), "id", "service",
                   "state", "reserved USD", "counts USD", "reserved at");
}

static int show_run(store *s, const struct opts *o)
{
    store_run r;
    store_totals t;
    store_record *v = NULL;
    size_t n = 0;
    char err[512];
    int st = store_run_get(s, o->run, &r, err, sizeof err);
    if (st == STORE_ENOTFOUND)
        snprintf(err, sizeof err, "no run %s in %s (clawhost ledger lists "
                 "the runs)", o->run, store_where(s));
    if (st == STORE_OK)
        st = store_totals_get(s, STORE_SCOPE_RUN, o->run, &t, err,
                              sizeof err);
    if (st == STORE_OK)
        st = store_list_run(s, o->run, &v, &n, err, sizeof err);
    if (st != STORE_OK)
        return fail(err);
    print_run_head(&r, &t, o->json);
    for (size_t i = 0; i < n; i++)
        print_record(&v[i], o->json, i == 0);
    if (o->json)
        out_puts(OUT_STDOUT, n ? "\n  ]\n}\n" : "]\n}\n");
    free(v);
    return EXIT_OK;
}

/* ---- reconciliation ---- */

/* A reservation whose process is gone can be reconciled by hand. */
static int show_open(store *s, int json)
{
    store_record *it;
    size_t n;
    char err[512], a[MONEY_USD_BUFSZ];
    int64_t now = store_now();
    if (store_list_open(s, &it, &n, err, sizeof err) != STORE_OK)
        return fail(err);
    if (!json)
        out_printf(OUT_STDOUT, "%-6s %-40s %-16s %8s %10s %s\n", "id", "run",
                   "service", "pid", "age s", "reserved USD");
    for (size_t i = 0; i < n; i++) {
        const store_record *r = &it[i];
        int alive = r->pid > 0 && kill((pid_t)r->pid, 0) == 0;
        if (json)
            out_printf(OUT_STDOUT, "%s{\"id\": %lld, \"run\": \"%s\", "
                       "\"service\": \"%s\", \"pid\": %ld, \"running\": %s, "
                       "\"age_s\": %lld, \"reserved\": %s}", i ? ",\n " :
                       "[", (long long)r->id, r->run, r->label, r->pid,
                       alive ? "true" : "false",
                       (long long)(now - r->created), usd(r->reserved, a));
        else
            out_printf(OUT_STDOUT, "%-6lld %-40s %-16s %8ld %10lld %s%s\n",
                       (long long)r->id, r->run, r->label, r->pid,
                       (long long)(now - r->created), usd(r->reserved, a),
                       alive ? "  (still running)" : "");
    }
    if (json)
        out_puts(OUT_STDOUT, n ? "]\n" : "[]\n");
    else if (n == 0)
        out_puts(OUT_STDOUT, "(no open reservations)\n");
    free(it);
    return EXIT_OK;
}

static int reconcile(store *s, const struct opts *o)
{
    char err[512], *end, a[MONEY_USD_BUFSZ];
    const char *idtext = o->release ? o->release : o->settle;
    int64_t id = strtoll(idtext, &end, 10), amount = 0;
    store_settle_result res;
    int rc;
    if (*end || id <= 0)
        return fail("the reservation id is a positive number (see "
                    "clawhost ledger --open)");
    if (o->settle && money_usd_parse(o->amount, &amount, err,
                                     sizeof err) != 0)
        return fail(err);
    rc = o->release ? store_release(s, id, store_now(), &res, err,
                                    sizeof err)
                    : store_settle(s, id, amount, store_now(), &res, err,
                                   sizeof err);
    if (rc != STORE_OK)
        return fail(err);
    out_printf(OUT_STDOUT, "reservation %lld (%s) is now %s: %s USD\n",
               (long long)id, res.rec.label,
               store_state_name(res.rec.state),
               usd(store_record_committed(&res.rec), a));
    return EXIT_OK;
}

/* ---- the command ---- */

static const char ledger_help[] =
"usage: clawhost ledger [--json] [--since DATE | --run ID | --open |\n"
"                        --release ID | --settle ID USD]\n"
"\n"
"Shows what the spend store holds: committed USD today (UTC) and in\n"
"all, per service and per run. Every paid call reserves its worst case\n"
"here before it is sent and settles its real cost after.\n"
"\n"
"  --json            the same as JSON\n"
"  --since DATE      from the UTC day DATE (2026-12-01) on, instead of\n"
"                    all days\n"
"  --run ID          one run: its recipe, exit and every reservation\n"
"  --open            reservations still open (a run killed mid-call\n"
"                    leaves them; they count against the caps)\n"
"  --release ID      close one as 0 USD: the request never left\n"
"  --settle ID USD   close one at what the provider says it cost\n"
"\n"
"The store is CLAWHOST_STORE, else clawhost.db in $CLAWHOST_STATE_DIR,\n"
"else $XDG_STATE_HOME/clawhost, else ~/.local/state/clawhost\n"
"(docs/store.md).\n";

static int usage(void)
{
    return fail("usage: clawhost ledger [--json] [--since DATE | --run ID "
                "| --open | --release ID | --settle ID USD]");
}

/* One option; returns how many arguments it took, 0 when unknown. */
static int option(int argc, char **argv, int i, struct opts *o)
{
    const char *a = argv[i];
    int more = argc - i - 1;
    if (strcmp(a, "--json") == 0)
        return o->json = 1;
    if (strcmp(a, "--open") == 0)
        return o->open = 1;
    if (strcmp(a, "--release") == 0 && more >= 1)
        return o->release = argv[i + 1], 2;
    if (strcmp(a, "--since") == 0 && more >= 1)
        return o->since = argv[i + 1], 2;
    if (strcmp(a, "--run") == 0 && more >= 1)
        return o->run = argv[i + 1], 2;
    if (strcmp(a, "--settle") == 0 && more >= 2)
        return o->settle = argv[i + 1], o->amount = argv[i + 2], 3;
    return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc;) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            out_puts(OUT_STDOUT, ledger_help);
            return -1;
        }
        int took = option(argc, argv, i, o);
        if (!took)
            return usage();
        i += took;
    }
    if ((o->since != NULL) + (o->run != NULL) + o->open +
        (o->release || o->settle) > 1)
        return fail("--since, --run, --open, --release and --settle go "
                    "one at a time");
    return EXIT_OK;
}

/* DATE as a UTC day: its first second. */
static int since_time(const char *since, int64_t *t)
{
    char back[11], iso[32];
    const char *why;
    double v;
    snprintf(iso, sizeof iso, "%.10sT00:00:00Z", since);
    if (strlen(since) != 10 || clock_parse_iso(iso, &v, &why) != 0)
        return -1;
    store_day((int64_t)v, back);
    *t = (int64_t)v;
    return strcmp(back, since) == 0 ? 0 : -1;
}

int cmd_ledger(int argc, char **argv)
{
    struct opts o;
    store *s;
    char err[512];
    int64_t since_t = 0;
    int status = parse(argc, argv, &o);
    if (status != EXIT_OK)
        return status < 0 ? EXIT_OK : status;
    if (o.since && since_time(o.since, &since_t) != 0)
        return fail("--since takes a UTC day like 2026-12-01");
    if (lstore_open(&s, err, sizeof err) != STORE_OK)
        return fail(err);
    if (o.release || o.settle)
        status = reconcile(s, &o);
    else if (o.open)
        status = show_open(s, o.json);
    else if (o.run)
        status = show_run(s, &o);
    else
        status = show_totals(s, &o, since_t);
    store_close(s);
    return status;
}
