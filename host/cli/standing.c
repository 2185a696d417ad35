/*
** standing.c -- where each setting stands now, shared by `clawhost
** setup` and `clawhost check`.
**
** The lookups are the ones a recipe meets (secret_lookup for secrets,
** config_lookup for the rest), so what these commands say is what a run
** would get. Values go through out.c like all output, and every secret
** found is registered with the redactor first, so even a bug that
** printed one would print "<secret NAME>".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/standing.h"
#include "lib/secret.h"
#include "pure/settings.h"
#include "runtime/config.h"
#include "runtime/out.h"
#include "runtime/sources.h"
#include "util/quote.h"

#define SHOW_MAX 100            /* characters of a value shown */
#define MASK_MIN 4              /* shorter values are not registered */

void standing_mask(const char *name, const char *v, size_t len)
{
    if (len >= MASK_MIN)
        out_add_secret(name, v, len, NULL, 0);
}

/* The first of the names that is set, or refused, wins: as secret.get. */
static void lookup_secret(const char *const *names, const char *main,
                          struct standing *c)
{
    const char *src;
    for (int i = 0; names[i]; i++) {
        c->value = secret_lookup(names[i], &c->len, &src, c->err,
                                 sizeof c->err);
        if (c->value || c->err[0]) {
            c->as = names[i];
            c->source = c->value ? src : NULL;
            if (c->value)
                standing_mask(main, c->value, c->len);
            return;
        }
    }
}

static void lookup_config(const struct settings_item *s,
                          struct standing *c)
{
    const char *src, *cerr, *v = config_lookup(s->name, &src, &cerr);
    if (cerr) {
        snprintf(c->err, sizeof c->err, "%s", cerr);
    } else if (v) {
        size_t n = settings_trim(&v, strlen(v));
        if ((c->value = strndup(v, n))) {
            c->len = n;
            c->source = src;
            c->as = s->name;
        }
    }
}

void standing_lookup(const struct settings_item *s, struct standing *c)
{
    const char *const one[] = {s->name, NULL};
    const char *const *names = settings_aliases(s->name);
    memset(c, 0, sizeof *c);
    if (s->kind == SETTINGS_SECRET)
        lookup_secret(names ? names : one, s->name, c);
    else
        lookup_config(s, c);
}

void standing_free(struct standing *c)
{
    secret_wipe(c->value, c->len);
    c->value = NULL;
}

/* A value that may be shown: bytes outside printable ASCII as '?', cut
** short, as every quote of untrusted text in a message. */
static void show_plain(const char *v, size_t len)
{
    char shown[SHOW_MAX + 4];
    out_puts(OUT_STDOUT, quote_text(shown, sizeof shown, v, len));
}

/* "(provider, $CREDENTIALS_DIRECTORY)", "(user-file, /home/...)": the
** source, and where it is when that is not plain from its name. */
static void show_source(const char *src)
{
    const char *path = sources_path_of(src);
    if (strcmp(src, "provider") == 0)
        out_puts(OUT_STDOUT, " (provider, $CREDENTIALS_DIRECTORY)");
    else if (strcmp(src, "folder") == 0)
        out_puts(OUT_STDOUT, " (folder, $CLAWHOST_SECRETS_DIR)");
    else if (path && strcmp(src, ".env.local") != 0)
        out_printf(OUT_STDOUT, " (%s, %s)", src, path);
    else
        out_printf(OUT_STDOUT, " (%s)", src);
}

void standing_show(const struct settings_item *s, const struct standing *c)
{
    if (!c->source) {
        out_puts(OUT_STDOUT, c->err[0] ? "refused (see problems)"
                                       : "not set");
        return;
    }
    out_puts(OUT_STDOUT, "set");
    if (strcmp(c->as, s->name) != 0)
        out_printf(OUT_STDOUT, " as %s", c->as);
    show_source(c->source);
    if (s->kind == SETTINGS_SECRET) {
        out_puts(OUT_STDOUT, ", value hidden");
    } else {
        out_puts(OUT_STDOUT, ": ");
        show_plain(c->value, c->len);
    }
}
