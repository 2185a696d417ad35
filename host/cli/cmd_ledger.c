/*
** ledgercmd.c -- `clawhost ledger`: what has been spent, per run and
** per service, and reconciliation of reservations a killed run left.
**
**   clawhost ledger [--json]              today's and all-time totals,
**                                         per service and per run
**   clawhost ledger --open                open reservations
**   clawhost ledger --release ID          nothing was spent
**   clawhost ledger --settle ID USD       this is what it cost
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/err.h"
#include "pure/money.h"
#include "store/ledger.h"
#include "cli/cmd_ledger.h"
#include "runtime/out.h"

struct opts {
    int json, open;
    const char *release, *settle, *amount;
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

static void print_groups(const ledger_group *g, size_t n, const char *title,
                         int json)
{
    char a[MONEY_USD_BUFSZ], b[MONEY_USD_BUFSZ], c[MONEY_USD_BUFSZ];
    if (json) {
        out_printf(OUT_STDOUT, ",\n  \"%s\": [", title);
        for (size_t i = 0; i < n; i++)
            out_printf(OUT_STDOUT, "%s\n    {\"key\": \"%s\", \"committed\":"
                       " %s, \"settled\": %s, \"open\": %s, \"calls\": %zu}",
                       i ? "," : "", g[i].key, usd(g[i].t.committed, a),
                       usd(g[i].t.settled, b), usd(g[i].t.open, c),
                       g[i].t.n_open + g[i].t.n_settled);
        out_puts(OUT_STDOUT, n ? "\n  ]" : "]");
        return;
    }
    out_printf(OUT_STDOUT, "\nby %s:\n  %-44s %6s %12s %12s\n", title,
               title, "calls", "settled USD", "open USD");
    for (size_t i = 0; i < n; i++)
        out_printf(OUT_STDOUT, "  %-44s %6zu %12s %12s\n", g[i].key,
                   g[i].t.n_open + g[i].t.n_settled, usd(g[i].t.settled, a),
                   usd(g[i].t.open, b));
    if (n == 0)
        out_puts(OUT_STDOUT, "  (nothing yet)\n");
}

static int show_totals(ledger *l, const struct opts *o)
{
    ledger_snap *s;
    ledger_totals t;
    ledger_group *g;
    size_t n;
    char err[512], a[MONEY_USD_BUFSZ], b[MONEY_USD_BUFSZ],
         c[MONEY_USD_BUFSZ], d[MONEY_USD_BUFSZ], today[32];
    ledger_totals all;
    if (ledger_snapshot(l, &s, err, sizeof err) != LEDGER_OK)
        return fail(err);
    ledger_snap_totals(s, NULL, NULL, ledger_now(), &t);
    ledger_snap_totals(s, NULL, NULL, -1, &all);
    clock_format_iso(clock_realtime(), 0, today, sizeof today);
    today[10] = '\0';
    if (o->json)
        out_printf(OUT_STDOUT, "{\n  \"ledger\": \"%s\",\n  \"today\": "
                   "\"%s\",\n  \"today_committed\": %s,\n  \"committed\": "
                   "%s,\n  \"settled\": %s,\n  \"open\": %s", ledger_path(l),
                   today, usd(t.committed, a), usd(all.committed, b),
                   usd(all.settled, c), usd(all.open, d));
    else
        out_printf(OUT_STDOUT, "spend ledger %s\ntoday (%s UTC): %s USD\n"
                   "all days: %s USD (%s settled, %s reserved and still "
                   "open)\n", ledger_path(l), today, usd(t.committed, a),
                   usd(all.committed, b), usd(all.settled, c),
                   usd(all.open, d));
    for (int by = 0; by < 2; by++) {
        if (ledger_snap_group(s, by ? LEDGER_BY_RUN :
                              LEDGER_BY_LABEL, &g, &n, err,
                              sizeof err) != LEDGER_OK) {
            ledger_snap_free(s);
            return fail(err);
        }
        print_groups(g, n, by ? "run" : "service", o->json);
        free(g);
    }
    if (o->json)
        out_puts(OUT_STDOUT, "\n}\n");
    ledger_snap_free(s);
    return EXIT_OK;
}

/* A reservation whose process is gone can be reconciled by hand. */
static int show_open(ledger *l, int json)
{
    ledger_open_item *it;
    size_t n;
    char err[512], a[MONEY_USD_BUFSZ];
    if (ledger_list_open(l, ledger_now(), &it, &n, err, sizeof err) !=
        LEDGER_OK)
        return fail(err);
    if (!json)
        out_printf(OUT_STDOUT, "%-6s %-40s %-16s %8s %10s %s\n", "id", "run",
                   "service", "pid", "age s", "reserved USD");
    for (size_t i = 0; i < n; i++) {
        const ledger_record *r = &it[i].rec;
        int alive = r->pid > 0 && kill((pid_t)r->pid, 0) == 0;
        if (json)
            out_printf(OUT_STDOUT, "%s{\"id\": %lld, \"run\": \"%s\", "
                       "\"service\": \"%s\", \"pid\": %ld, \"running\": %s, "
                       "\"age_s\": %lld, \"reserved\": %s}", i ? ",\n " :
                       "[", (long long)r->id, r->run, r->label, r->pid,
                       alive ? "true" : "false", (long long)it[i].age,
                       usd(r->reserved, a));
        else
            out_printf(OUT_STDOUT, "%-6lld %-40s %-16s %8ld %10lld %s%s\n",
                       (long long)r->id, r->run, r->label, r->pid,
                       (long long)it[i].age, usd(r->reserved, a),
                       alive ? "  (still running)" : "");
    }
    if (json)
        out_puts(OUT_STDOUT, n ? "]\n" : "[]\n");
    else if (n == 0)
        out_puts(OUT_STDOUT, "(no open reservations)\n");
    free(it);
    return EXIT_OK;
}

static int reconcile(ledger *l, const struct opts *o)
{
    char err[512], *end, a[MONEY_USD_BUFSZ];
    const char *idtext = o->release ? o->release : o->settle;
    int64_t id = strtoll(idtext, &end, 10), amount = 0;
    ledger_settle_result res;
    int rc;
    if (*end || id <= 0)
        return fail("the reservation id is a positive number (see "
                    "clawhost ledger --open)");
    if (o->settle && money_usd_parse(o->amount, &amount, err,
                                     sizeof err) != 0)
        return fail(err);
    rc = o->release ? ledger_release(l, id, ledger_now(), &res, err,
                                     sizeof err)
                    : ledger_settle(l, id, amount, ledger_now(), &res, err,
                                    sizeof err);
    if (rc != LEDGER_OK)
        return fail(err);
    out_printf(OUT_STDOUT, "reservation %lld (%s) is now %s: %s USD\n",
               (long long)id, res.rec.label,
               ledger_state_name(res.rec.state),
               usd(ledger_record_committed(&res.rec), a));
    return EXIT_OK;
}

static const char ledger_help[] =
"usage: clawhost ledger [--json] [--open] [--release ID] [--settle ID USD]\n"
"\n"
"Shows what the spend ledger holds: committed USD today (UTC) and in\n"
"all, per service and per run. Every paid call reserves its worst case\n"
"here before it is sent and settles its real cost after.\n"
"\n"
"  --json            the same as JSON\n"
"  --open            reservations still open (a run killed mid-call\n"
"                    leaves them; they count against the caps)\n"
"  --release ID      close one as 0 USD: the request never left\n"
"  --settle ID USD   close one at what the provider says it cost\n"
"\n"
"The ledger is spend.ledger in $CLAWHOST_STATE_DIR, else\n"
"$XDG_STATE_HOME/clawhost, else ~/.local/state/clawhost (docs/budget.md).\n";

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            out_puts(OUT_STDOUT, ledger_help);
            return -1;
        }
        if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--open") == 0)
            o->open = 1;
        else if (strcmp(a, "--release") == 0 && i + 1 < argc)
            o->release = argv[++i];
        else if (strcmp(a, "--settle") == 0 && i + 2 < argc) {
            o->settle = argv[++i];
            o->amount = argv[++i];
        } else
            return fail("usage: clawhost ledger [--json] [--open] "
                        "[--release ID] [--settle ID USD]");
    }
    return EXIT_OK;
}

int cmd_ledger(int argc, char **argv)
{
    struct opts o;
    ledger *l;
    char dir[4096], err[512];
    int status = parse(argc, argv, &o);
    if (status != EXIT_OK)
        return status < 0 ? EXIT_OK : status;
    if (ledger_state_dir(dir, sizeof dir, 1, err, sizeof err) != 0 ||
        ledger_open(&l, dir, err, sizeof err) != 0)
        return fail(err);
    if (o.release || o.settle)
        status = reconcile(l, &o);
    else if (o.open)
        status = show_open(l, o.json);
    else
        status = show_totals(l, &o);
    ledger_close(l);
    return status;
}
