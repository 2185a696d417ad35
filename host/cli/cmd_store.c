/*
** cmd_store.c -- `clawhost store`: the database behind the spend
** ledger, the cleanup journal and recipe state, for operators.
**
**   clawhost store status [--json]    engine, where, schema, counts
**   clawhost store migrate            bring the schema up to date
**
** Every open migrates already (under a lock, so a fleet that upgrades
** at once migrates once); `migrate` is there to do it deliberately,
** before a rollout, and to say what it did. docs/store.md.
*/
#include <stdio.h>
#include <string.h>

#include "cli/cmd_store.h"
#include "lib/lstore.h"
#include "runtime/err.h"
#include "runtime/out.h"
#include "store/store.h"

static const char store_help[] =
"usage: clawhost store status [--json]\n"
"       clawhost store migrate\n"
"\n"
"The database behind the spend ledger, the cleanup journal and recipe\n"
"state: CLAWHOST_STORE (sqlite:///ABSOLUTE/PATH.db or postgresql://...,\n"
"read like a secret: credentials folders, environment, settings files),\n"
"else clawhost.db in the state directory (docs/store.md).\n"
"\n"
"  status     the engine, where it is (never its password), the schema\n"
"             version, and how many records, open reservations, runs,\n"
"             live journal entries and state keys it holds\n"
"  migrate    bring the schema to this clawhost's version (opening does\n"
"             it too) and say what was done\n";

static int fail(const char *msg)
{
    out_printf(OUT_STDERR, "clawhost store: %s\n", msg);
    return EXIT_USAGE;
}

static int status(store *s, int json)
{
    store_info in;
    char err[512];
    if (store_info_get(s, &in, err, sizeof err) != STORE_OK)
        return fail(err);
    if (json) {
        out_printf(OUT_STDOUT, "{\"engine\": \"%s\", \"where\": \"%s\", "
                   "\"schema\": %d, \"schema_newest\": %d, \"records\": "
                   "%lld, \"open\": %lld, \"runs\": %lld, \"journal_live\":"
                   " %lld, \"state_keys\": %lld}\n", store_engine(s),
                   store_where(s), in.schema, in.schema_newest,
                   (long long)in.records, (long long)in.open,
                   (long long)in.runs, (long long)in.journal_live,
                   (long long)in.state_keys);
        return EXIT_OK;
    }
    out_printf(OUT_STDOUT, "engine       %s\nwhere        %s\nschema       "
               "%d (this clawhost writes %d)\nspend        %lld records, "
               "%lld open\nruns         %lld\njournal      %lld not yet "
               "gone\nstate        %lld keys\n", store_engine(s),
               store_where(s), in.schema, in.schema_newest,
               (long long)in.records, (long long)in.open,
               (long long)in.runs, (long long)in.journal_live,
               (long long)in.state_keys);
    return EXIT_OK;
}

static int migrate(store *s)
{
    int from, to;
    store_migrated(s, &from, &to);
    if (from == to)
        out_printf(OUT_STDOUT, "%s: schema version %d, up to date\n",
                   store_where(s), to);
    else
        out_printf(OUT_STDOUT, "%s: schema version %d -> %d\n",
                   store_where(s), from, to);
    return EXIT_OK;
}

int cmd_store(int argc, char **argv)
{
    store *s;
    char err[512];
    int json = argc == 2 && strcmp(argv[1], "--json") == 0, rc;
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 ||
                      strcmp(argv[0], "-h") == 0)) {
        out_puts(OUT_STDOUT, store_help);
        return EXIT_OK;
    }
    if (argc < 1 || (strcmp(argv[0], "status") != 0 &&
                     strcmp(argv[0], "migrate") != 0) ||
        argc > 2 || (argc == 2 && !(json && argv[0][0] == 's')))
        return fail("usage: clawhost store status [--json] | clawhost "
                    "store migrate ('clawhost store --help' says more)");
    if (lstore_open(&s, err, sizeof err) != STORE_OK)
        return fail(err);
    rc = argv[0][0] == 's' ? status(s, json) : migrate(s);
    store_close(s);
    return rc;
}
