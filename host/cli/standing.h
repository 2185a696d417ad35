/*
** standing.h -- where each setting stands now: its current value, the
** source it came from and the name it was found under, as `clawhost
** setup` shows it before asking and `clawhost check` lists it.
**
** A value found is registered with the output redactor before anything
** is printed, and a secret's value is never shown at all.
*/
#ifndef CLAWHOST_STANDING_H
#define CLAWHOST_STANDING_H

#include <stddef.h>

struct settings_item;

struct standing {
    const char *source;         /* "provider", ..., or NULL: not set */
    const char *as;             /* the name it was found under */
    char *value;                /* trimmed, malloc'd (standing_free) */
    size_t len;
    char err[640];              /* why a source was refused */
};

/*
** Look s up: a secret as secret.get finds it (provider, folder, env,
** .env.local; aliases in order), any other setting as config.get does.
*/
void standing_lookup(const struct settings_item *s, struct standing *c);

/* Wipe and free the value. */
void standing_free(struct standing *c);

/* Register a value with the output redactor under name (too short a
** value is not: it would mask ordinary text). */
void standing_mask(const char *name, const char *v, size_t len);

/* "set (env): http://...", "set as THETA_API_KEY (.env.local), value
** hidden", "not set", "refused (see problems)" on stdout. */
void standing_show(const struct settings_item *s, const struct standing *c);

#endif
