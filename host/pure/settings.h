/*
** settings.h -- the settings clawhost knows: names, aliases, groups,
** kinds, help, and the rules their values must follow.
**
** `clawhost setup` asks for them in this order, `clawhost check` lists
** them, the secret module tries the aliases (theta-api.md 6.6); the
** config module hands out only the readable ones below. Pure C:
** no Lua, no curl, no printing; messages never quote a value.
** docs/secrets.md is the user's page.
*/
#ifndef CLAWHOST_SETTINGS_H
#define CLAWHOST_SETTINGS_H

#include <stddef.h>

struct dynbuf;

#define SETTINGS_VALUE_MAX 4096     /* bytes of one value, a secret's too */
#define SETTINGS_TEXT_MAX 256       /* an id, tenant, user or amount */
#define SETTINGS_COUNT 19           /* entries in the table */

enum settings_kind {
    SETTINGS_URL,               /* a base URL (pure/baseurl.h) */
    SETTINGS_SECRET,            /* never shown */
    SETTINGS_PRJ,               /* prj_... */
    SETTINGS_ORG,               /* org_... */
    SETTINGS_TENANT,            /* threads-api.md 6.2 */
    SETTINGS_TEXT,              /* plain text */
    SETTINGS_USD                /* an amount (pure/money.h) */
};

struct settings_item {
    const char *name;
    int group;                  /* settings_group(group) */
    enum settings_kind kind;
    const char *help;
};

/* The i-th setting in the order setup asks for them; NULL past the
** last (i == SETTINGS_COUNT). */
const struct settings_item *settings_item(size_t i);

/* Its position in that order. */
size_t settings_index(const struct settings_item *s);

/* The name of group g ("Threads backend", ...); NULL past the last. */
const char *settings_group(int g);

/*
** The setting `name` stands for, found by its name or an alias, or
** NULL. *spelled (when not NULL) gets the table's own copy of `name`,
** which outlives the caller's buffer.
*/
const struct settings_item *settings_find(const char *name,
                                          const char **spelled);

/* The names tried, in order, for a name that has aliases (the list it
** is in, NULL-terminated); NULL for any other name. */
const char *const *settings_aliases(const char *name);

/* Blanks and line breaks at both ends of s[0..n) removed: moves *s,
** returns the new length. Values are compared and stored trimmed. */
size_t settings_trim(const char **s, size_t n);

/*
** Check a value for s: trimmed first, then the rules of its kind; with
** to_file, it must also be writable to .env.local (dotenv_quote). On
** success the value as it is to be stored (trimmed, a URL without
** trailing slashes) is appended to out, unless out is NULL. 0, or -1
** with a message in err.
*/
int settings_check(const struct settings_item *s, const char *in,
                   size_t len, int to_file, struct dynbuf *out, char *err,
                   size_t errlen);

/*
** A setting the config module may hand to Lua (runtime/config.c): one
** clawhost or a library in lua/ reads and docs/modules.md lists. None
** carries a credential; a recipe adds its own names with `settings`.
*/
struct settings_readable {
    const char *name;
    const char *reader;         /* who reads it: "lua/threads", "http" */
    const char *help;           /* one line, as in docs/modules.md */
};

/* The i-th of them (in the order of docs/modules.md); NULL past the
** last. */
const struct settings_readable *settings_readable_item(size_t i);

/* The one called `name`, or NULL. */
const struct settings_readable *settings_readable_find(const char *name);

/*
** Does s[0..n) hold a user name or password in URL form: an authority
** with an "@" (scheme://user[:pass]@host, //user@host), or a value that
** starts with user:pass@? Such a value is a credential, whatever the
** name of the setting.
*/
int settings_has_userinfo(const char *s, size_t n);

#endif
