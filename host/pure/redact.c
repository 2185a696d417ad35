/*
** redact.c -- the output redactor: secret patterns, an Aho-Corasick
** matcher, escape decoders and the streaming hold-back.
**
** Read first: every registered value is expanded into literal patterns
** (raw, base64 cores, hex, trimmed value, lines), all in one automaton.
** The text is matched as it is ("identity") and through four decoders
** (percent-encoding with '+' kept, percent-encoding with '+' as space,
** JSON string escapes, XML/HTML character references) that feed the same
** automaton; a decoded byte remembers the input span it came from. A
** decoder only runs while it could see something the identity pass does
** not: it wakes on its escape character and sleeps again once its
** automaton state and window equal the identity ones.
**
** Matches are input intervals; overlapping ones merge into one mask.
** Output is a function of the whole text, not of how it was split: an
** interval is emitted only when no later match can reach it.
**
** Marks are piece boundaries a caller keeps (SSE events whose data a
** recipe may join): each is an input position, signalled to the sink as
** (NULL, 0) once the output before it is final. A mask never straddles
** one: a mark inside a merged run is signalled after its mask.
*/
#include "pure/redact.h"
#include "util/dynbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ESC_MAX 12          /* longest escape a decoder buffers */
#define CHUNK   65536       /* bytes scanned between two emissions */
#define OBUF    4096        /* output gathered before calling the sink */
#define NVIEWS  4

enum { V_URL, V_FORM, V_JSON, V_XML };
enum { ESC_MORE, ESC_FAIL, ESC_DONE };

struct pat {
    unsigned char *b;
    uint32_t len;
    uint16_t sid;
};

/* Automaton node: sparse edges plus a failure link. */
struct ac_node {
    uint32_t fail;
    uint32_t edge;          /* first edge in ebyte/etgt */
    uint16_t nedge;
    uint16_t hold;          /* depth of the deepest suffix state that
                               still has edges: what may yet match */
    uint16_t out_len;       /* longest pattern ending here, 0 if none */
    uint16_t out_sid;
};

struct ac {
    struct ac_node *node;
    size_t nnode;
    unsigned char *ebyte;
    uint32_t *etgt;
    size_t nedge;
    uint32_t root[256];     /* dense transitions of the root */
    unsigned char skip[256];    /* at root: byte starts nothing */
    unsigned char trig[256];    /* byte wakes some decoder */
    uint64_t pair[1024];        /* bit b0<<8|b1: a match may start b0 b1 */
    size_t npat;
    size_t maxlen;
};

struct redact {
    char names[REDACT_SECRETS_MAX][REDACT_NAME_MAX + 1];
    size_t nnames;
    struct pat *pats;
    size_t npats, cappats, patbytes;
    struct ac *ac;
    unsigned gen;
};

/* A decoder ("view") of the text, with its own automaton state. */
struct view {
    int kind, active;
    uint32_t state;
    uint64_t ndec;          /* decoded bytes since waking */
    uint64_t act_pos;       /* input position where it woke */
    uint64_t last_esc;      /* ndec after the last decoded escape */
    uint64_t *ring;         /* input start of recent decoded bytes */
    uint64_t mask;
    unsigned char esc[ESC_MAX];
    size_t nesc;
    uint64_t esc_pos;
};

/* A run of overlapping matches; the lead match names the mask. */
struct comp {
    uint64_t s, e, lead_s, lead_e;
    uint16_t sid;
};

struct redact_stream {
    redact_t *r;
    unsigned gen;
    redact_write_fn fn;
    void *ctx;
    int err, oom;
    unsigned char *pend;    /* input [base, pos) not emitted yet */
    size_t plen, pcap;
    uint64_t base, pos;
    uint32_t st;            /* identity automaton state */
    struct view v[NVIEWS];
    int nactive;
    struct comp *comps;
    size_t ncomp, capcomp;
    uint64_t *marks;        /* input positions, ascending, not signalled */
    size_t nmark, capmark;
    char obuf[OBUF];
    size_t olen;
};

const char *redact_strerror(int rc)
{
    switch (rc) {
    case REDACT_OK: return "ok";
    case REDACT_EINVAL: return "invalid argument";
    case REDACT_ENOMEM: return "out of memory";
    case REDACT_ELIMIT: return "redactor limit reached";
    case REDACT_EWRITE: return "output write failed";
    default: return "unknown redactor error";
    }
}

/* ---- patterns ---------------------------------------------------- */

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Frees a heap copy of secret bytes; free() alone would leave them. */
static void wipe_free(void *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

static size_t b64_encode(const char *alpha, const unsigned char *in,
                         size_t n, unsigned char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alpha[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

/* Adds one pattern unless this registration already has it. Copies are
** separate allocations so each can be wiped on its own. */
static int pat_add(redact_t *r, size_t first, uint16_t sid,
                   const unsigned char *b, size_t n)
{
    size_t i;
    unsigned char *copy;

    if (n == 0)
        return REDACT_OK;
    for (i = first; i < r->npats; i++)
        if (r->pats[i].len == n && memcmp(r->pats[i].b, b, n) == 0)
            return REDACT_OK;
    if (r->patbytes + n > REDACT_PATTERN_BYTES_MAX)
        return REDACT_ELIMIT;
    if (r->npats == r->cappats) {
        size_t cap = r->cappats ? 2 * r->cappats : 32;
        struct pat *np = realloc(r->pats, cap * sizeof *np);
        if (!np)
            return REDACT_ENOMEM;
        r->pats = np;
        r->cappats = cap;
    }
    if (!(copy = malloc(n)))
        return REDACT_ENOMEM;
    memcpy(copy, b, n);
    r->pats[r->npats].b = copy;
    r->pats[r->npats].len = (uint32_t)n;
    r->pats[r->npats].sid = sid;
    r->npats++;
    r->patbytes += n;
    return REDACT_OK;
}

/* Base64 of a blob where the value starts at byte offset a (0..2) of a
** 3-byte group: only the characters the value alone decides are stable
** (runner ADR 0297: the '=' tail of base64(secret) must not be required,
** actions/runner#291). With the value at the end of the blob its last
** partial character is known too: core plus that character, and the
** same with '=' padding, are added (prefixes of each other: no cost). */
static int add_b64(redact_t *r, size_t first, uint16_t sid,
                   const unsigned char *v, size_t n, const char *alpha,
                   int a)
{
    size_t blen = n + (size_t)a, elen, k0, k1;
    unsigned char *blob = malloc(blen), *enc = malloc(4 * (blen / 3 + 1));
    int rc = REDACT_ENOMEM;

    if (blob && enc) {
        memset(blob, 0, (size_t)a);
        memcpy(blob + a, v, n);
        elen = b64_encode(alpha, blob, blen, enc);
        k0 = (8 * (size_t)a + 5) / 6;
        k1 = 8 * blen / 6;
        rc = pat_add(r, first, sid, enc + k0, k1 - k0);
        if (rc == REDACT_OK && elen > k1)
            rc = pat_add(r, first, sid, enc + k0, k1 + 1 - k0);
        if (rc == REDACT_OK && elen > k1 + 1)
            rc = pat_add(r, first, sid, enc + k0, elen - k0);
    }
    wipe_free(blob, blob ? blen : 0);
    wipe_free(enc, enc ? 4 * (blen / 3 + 1) : 0);
    return rc;
}

static int add_hex(redact_t *r, size_t first, uint16_t sid,
                   const unsigned char *v, size_t n, const char *digits)
{
    unsigned char *h = malloc(2 * n);
    size_t i;
    int rc;

    if (!h)
        return REDACT_ENOMEM;
    for (i = 0; i < n; i++) {
        h[2 * i] = (unsigned char)digits[v[i] >> 4];
        h[2 * i + 1] = (unsigned char)digits[v[i] & 15];
    }
    rc = pat_add(r, first, sid, h, 2 * n);
    wipe_free(h, 2 * n);
    return rc;
}

/* One value and its encoded forms. Short values get the raw form only:
** the base64 core of a few bytes is an ordinary short word
** (actions/runner#326 masked every 'Y' that way). */
static int add_value(redact_t *r, size_t first, uint16_t sid,
                     const unsigned char *v, size_t n)
{
    int rc = pat_add(r, first, sid, v, n), a;

    if (n < REDACT_MIN_ENCODED)
        return rc;
    for (a = 0; a < 3 && rc == REDACT_OK; a++) {
        rc = add_b64(r, first, sid, v, n, b64_std, a);
        if (rc == REDACT_OK)
            rc = add_b64(r, first, sid, v, n, b64_url, a);
    }
    if (rc == REDACT_OK)
        rc = add_hex(r, first, sid, v, n, "0123456789abcdef");
    if (rc == REDACT_OK)
        rc = add_hex(r, first, sid, v, n, "0123456789ABCDEF");
    return rc;
}

static int is_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'
        || c == '\f';
}

static void trim_space(const unsigned char **p, size_t *n)
{
    while (*n > 0 && is_space((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*p)[*n - 1]))
        (*n)--;
}

/* Whitespace and one pair of quotes around a value are often an
** artefact of how it was stored (a credential file ending in a newline,
** a quoted .env entry); the program may print the inner value. */
static void trim_value(const unsigned char **p, size_t *n)
{
    trim_space(p, n);
    if (*n >= 2 && ((*p)[0] == '"' || (*p)[0] == '\'')
        && (*p)[*n - 1] == (*p)[0]) {
        (*p)++;
        *n -= 2;
        trim_space(p, n);
    }
}

/* Each line of a multi-line value on its own: output is often read and
** written line by line (actions/runner registers lines the same way;
** hashicorp/vault-action#208 leaked PEM lines). */
static int add_lines(redact_t *r, size_t first, uint16_t sid,
                     const unsigned char *v, size_t n)
{
    size_t i = 0, j;
    int rc = REDACT_OK;

    while (i < n && rc == REDACT_OK) {
        const unsigned char *line = v + i;
        size_t len;

        for (j = i; j < n && v[j] != '\n' && v[j] != '\r'; j++)
            ;
        len = j - i;
        trim_space(&line, &len);
        if (len >= REDACT_MIN_LINE)
            rc = pat_add(r, first, sid, line, len);
        i = j + 1;
    }
    return rc;
}

static int add_secret(redact_t *r, size_t first, uint16_t sid,
                      const unsigned char *v, size_t n)
{
    const unsigned char *t = v;
    size_t tn = n;
    int rc = add_value(r, first, sid, v, n);

    trim_value(&t, &tn);
    if (rc == REDACT_OK && tn != n && tn >= REDACT_MIN_ENCODED)
        rc = add_value(r, first, sid, t, tn);
    if (rc == REDACT_OK && (memchr(v, '\n', n) || memchr(v, '\r', n)))
        rc = add_lines(r, first, sid, v, n);
    return rc;
}

/* ---- automaton --------------------------------------------------- */

struct tnode {
    uint32_t child, sib;
    uint16_t depth, out_len, out_sid;
    unsigned char byte;
};

static uint32_t tchild(const struct tnode *t, uint32_t u, unsigned c)
{
    uint32_t v;

    for (v = t[u].child; v; v = t[v].sib)
        if (t[v].byte == c)
            return v;
    return 0;
}

/* The trie of all patterns; equal patterns share one terminal node,
** which keeps the first registered name. */
static struct tnode *trie_build(const redact_t *r, size_t *ntn,
                                size_t *npat)
{
    size_t i, k, nt = 1, cap = 1 + r->patbytes;
    struct tnode *t = calloc(cap, sizeof *t);

    if (!t)
        return NULL;
    *npat = 0;
    for (i = 0; i < r->npats; i++) {
        const struct pat *p = &r->pats[i];
        uint32_t u = 0;

        for (k = 0; k < p->len; k++) {
            uint32_t v = tchild(t, u, p->b[k]);
            if (!v) {
                v = (uint32_t)nt++;
                t[v].sib = t[u].child;
                t[v].depth = (uint16_t)(t[u].depth + 1);
                t[v].byte = p->b[k];
                t[u].child = v;
            }
            u = v;
        }
        if (!t[u].out_len) {
            t[u].out_len = (uint16_t)p->len;
            t[u].out_sid = p->sid;
            (*npat)++;
        }
    }
    *ntn = nt;
    return t;
}

/* Breadth-first order, failure links, and the longest pattern that ends
** at each node (its own, else its failure node's: shallower, so done). */
static void trie_links(struct tnode *t, uint32_t *order, uint32_t *fail)
{
    size_t head = 0, tail = 1;

    order[0] = 0;
    fail[0] = 0;
    while (head < tail) {
        uint32_t u = order[head++], v;
        for (v = t[u].child; v; v = t[v].sib) {
            uint32_t f = fail[u], w = 0;
            while (u != 0) {
                w = tchild(t, f, t[v].byte);
                if (w || f == 0)
                    break;
                f = fail[f];
            }
            fail[v] = w;
            if (!t[v].out_len) {
                t[v].out_len = t[w].out_len;
                t[v].out_sid = t[w].out_sid;
            }
            order[tail++] = v;
        }
    }
}

static void ac_free(struct ac *a)
{
    if (!a)
        return;
    wipe_free(a->node, a->nnode * sizeof *a->node);
    wipe_free(a->ebyte, a->nnode);
    wipe_free(a->etgt, a->nnode * sizeof *a->etgt);
    wipe_free(a, sizeof *a);
}

static void pair_set(struct ac *a, unsigned b0, int b1)
{
    unsigned k = b1 < 0 ? 0 : (unsigned)b1, end = b1 < 0 ? 256 : k + 1;

    for (; k < end; k++)
        a->pair[(b0 << 8 | k) >> 6] |= (uint64_t)1 << (k & 63);
}

/* Filters for the hot loop at the root: which single bytes and which
** byte pairs can start a match or wake a decoder. */
static void ac_tables(struct ac *a, const redact_t *r)
{
    size_t i;
    int c;

    a->trig['%'] = a->trig['+'] = a->trig['\\'] = a->trig['&'] = 1;
    for (c = 0; c < 256; c++) {
        a->skip[c] = a->root[c] == 0 && !a->trig[c];
        if (a->trig[c]) {
            unsigned b0;
            pair_set(a, (unsigned)c, -1);
            for (b0 = 0; b0 < 256; b0++)    /* wakes with p[i] seen */
                pair_set(a, b0, c);
        }
    }
    for (i = 0; i < r->npats; i++) {
        const struct pat *p = &r->pats[i];
        pair_set(a, p->b[0], p->len > 1 ? p->b[1] : -1);
    }
}

/* Lays the trie out in breadth-first order with contiguous edges. A
** node without edges (the end of a longest pattern) holds back only what
** its failure node holds: a finished match is not kept waiting. */
static int ac_flatten(struct ac *a, const struct tnode *t, size_t nt,
                      const uint32_t *order, const uint32_t *fail,
                      uint32_t *newidx)
{
    size_t i, e = 0;

    a->nnode = nt;
    a->nedge = nt - 1;
    a->node = calloc(nt, sizeof *a->node);
    a->ebyte = malloc(nt);
    a->etgt = malloc(nt * sizeof *a->etgt);
    if (!a->node || !a->ebyte || !a->etgt)
        return -1;
    for (i = 0; i < nt; i++)
        newidx[order[i]] = (uint32_t)i;
    for (i = 0; i < nt; i++) {
        uint32_t u = order[i], v;
        struct ac_node *n = &a->node[i];
        n->edge = (uint32_t)e;
        for (v = t[u].child; v; v = t[v].sib) {
            a->ebyte[e] = t[v].byte;
            a->etgt[e++] = newidx[v];
            if (u == 0)
                a->root[t[v].byte] = newidx[v];
        }
        n->nedge = (uint16_t)(e - n->edge);
        n->fail = newidx[fail[u]];
        n->hold = n->nedge ? t[u].depth : a->node[n->fail].hold;
        n->out_len = t[u].out_len;
        n->out_sid = t[u].out_sid;
        if (n->out_len > a->maxlen)
            a->maxlen = n->out_len;
    }
    return 0;
}

static struct ac *ac_build(const redact_t *r)
{
    size_t nt = 0, npat = 0;
    struct tnode *t = trie_build(r, &nt, &npat);
    uint32_t *order = t ? malloc(nt * sizeof *order) : NULL;
    uint32_t *fail = t ? malloc(nt * sizeof *fail) : NULL;
    uint32_t *newidx = t ? malloc(nt * sizeof *newidx) : NULL;
    struct ac *a = calloc(1, sizeof *a);
    int ok = 0;

    if (t && order && fail && newidx && a) {
        trie_links(t, order, fail);
        ok = ac_flatten(a, t, nt, order, fail, newidx) == 0;
        a->npat = npat;
        if (ok)
            ac_tables(a, r);
    }
    wipe_free(t, t ? (1 + r->patbytes) * sizeof *t : 0);
    free(order);
    free(fail);
    free(newidx);
    if (!ok) {
        ac_free(a);
        return NULL;
    }
    return a;
}

/* Goto with failure links; the root is a dense table. */
static uint32_t ac_step(const struct ac *a, uint32_t s, unsigned c)
{
    while (s != 0) {
        const struct ac_node *n = &a->node[s];
        const unsigned char *eb = a->ebyte + n->edge;
        unsigned k;

        for (k = 0; k < n->nedge; k++)
            if (eb[k] == c)
                return a->etgt[n->edge + k];
        s = n->fail;
    }
    return a->root[c];
}

/* ---- redactor ---------------------------------------------------- */

redact_t *redact_new(void)
{
    redact_t *r = calloc(1, sizeof *r);

    if (r)
        r->gen = 1;
    return r;
}

static void pats_drop(redact_t *r, size_t from)
{
    while (r->npats > from) {
        struct pat *p = &r->pats[--r->npats];
        r->patbytes -= p->len;
        wipe_free(p->b, p->len);
    }
}

void redact_free(redact_t *r)
{
    if (!r)
        return;
    pats_drop(r, 0);
    free(r->pats);
    ac_free(r->ac);
    explicit_bzero(r, sizeof *r);
    free(r);
}

/* Names end up in output as "<secret NAME>": keep them plain. */
int redact_valid_name(const char *name)
{
    size_t i;

    if (!name || !name[0])
        return 0;
    for (i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= REDACT_NAME_MAX)
            return 0;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.'
              || c == '-'))
            return 0;
    }
    return 1;
}

/* The id of name, registering it if new (*isnew tells). */
static int name_id(redact_t *r, const char *name, int *isnew)
{
    size_t i;

    *isnew = 0;
    for (i = 0; i < r->nnames; i++)
        if (strcmp(r->names[i], name) == 0)
            return (int)i;
    if (r->nnames == REDACT_SECRETS_MAX)
        return REDACT_ELIMIT;
    strcpy(r->names[r->nnames], name);
    *isnew = 1;
    return (int)r->nnames++;
}

/* Swaps in an automaton with the new patterns, or undoes them all. */
static int commit(redact_t *r, size_t first, int isnew, int rc)
{
    struct ac *a = NULL;

    if (rc == REDACT_OK && !(a = ac_build(r)))
        rc = REDACT_ENOMEM;
    if (rc != REDACT_OK) {
        pats_drop(r, first);
        if (isnew)
            explicit_bzero(r->names[--r->nnames], REDACT_NAME_MAX + 1);
        return rc;
    }
    ac_free(r->ac);
    r->ac = a;
    r->gen++;
    return REDACT_OK;
}

int redact_add(redact_t *r, const char *name, const void *value,
               size_t len)
{
    size_t first;
    int sid, isnew;

    if (!r || !redact_valid_name(name) || !value || len == 0
        || len > REDACT_SECRET_MAX)
        return REDACT_EINVAL;
    if ((sid = name_id(r, name, &isnew)) < 0)
        return sid;
    first = r->npats;
    return commit(r, first, isnew,
                  add_secret(r, first, (uint16_t)sid, value, len));
}

int redact_add_basic(redact_t *r, const char *name, const void *user,
                     size_t ulen, const void *password, size_t plen)
{
    size_t first, n = ulen + 1 + plen;
    unsigned char *up;
    int sid, isnew, rc;

    if (!r || !redact_valid_name(name) || (!user && ulen) || !password
        || plen == 0 || plen > REDACT_SECRET_MAX
        || ulen > REDACT_SECRET_MAX)
        return REDACT_EINVAL;
    if (!(up = malloc(n)))
        return REDACT_ENOMEM;
    if (ulen)
        memcpy(up, user, ulen);
    up[ulen] = ':';
    memcpy(up + ulen + 1, password, plen);
    if ((sid = name_id(r, name, &isnew)) < 0) {
        wipe_free(up, n);
        return sid;
    }
    first = r->npats;
    rc = add_secret(r, first, (uint16_t)sid, password, plen);
    if (rc == REDACT_OK && n >= REDACT_MIN_ENCODED)
        rc = add_b64(r, first, (uint16_t)sid, up, n, b64_std, 0);
    wipe_free(up, n);
    return commit(r, first, isnew, rc);
}

size_t redact_secret_count(const redact_t *r)
{
    return r ? r->nnames : 0;
}

size_t redact_pattern_count(const redact_t *r)
{
    return r && r->ac ? r->ac->npat : 0;
}

/* ---- decoders ---------------------------------------------------- */

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

static uint32_t hex4(const unsigned char *p)
{
    return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8
                      | hexval(p[2]) << 4 | hexval(p[3]));
}

static size_t utf8_put(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
        o[2] = (unsigned char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 63));
    o[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

static int view_trigger(int kind, unsigned c)
{
    switch (kind) {
    case V_URL: return c == '%';
    case V_FORM: return c == '%' || c == '+';
    case V_JSON: return c == '\\';
    default: return c == '&';
    }
}

/* %XX with either hex case (RFC 3986 2.1 allows both); in form
** encoding '+' is a space (WHATWG URL, application/x-www-form-urlencoded).
** Which characters an encoder leaves alone does not matter here. */
static int dec_url(const unsigned char *e, size_t n, unsigned char *o,
                   size_t *no)
{
    if (e[0] == '+') {
        o[0] = ' ';
        *no = 1;
        return ESC_DONE;
    }
    if (n == 1)
        return ESC_MORE;
    if (hexval(e[n - 1]) < 0)
        return ESC_FAIL;
    if (n == 2)
        return ESC_MORE;
    o[0] = (unsigned char)(hexval(e[1]) << 4 | hexval(e[2]));
    *no = 1;
    return ESC_DONE;
}

/* JSON string escapes (RFC 8259 section 7), \uXXXX as UTF-8, surrogate
** pairs joined; a lone surrogate is not an escape we decode. */
static int dec_json(const unsigned char *e, size_t n, unsigned char *o,
                    size_t *no)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p;
    uint32_t hi, lo;

    if (n == 1 || (n == 2 && e[1] == 'u'))
        return ESC_MORE;
    if (n == 2) {
        if (!e[1] || !(p = strchr(from, e[1])))
            return ESC_FAIL;
        o[0] = (unsigned char)to[p - from];
        *no = 1;
        return ESC_DONE;
    }
    if (n == 7 || n == 8)
        return e[n - 1] == (n == 7 ? '\\' : 'u') ? ESC_MORE : ESC_FAIL;
    if (hexval(e[n - 1]) < 0)
        return ESC_FAIL;
    if (n < 6 || (n > 8 && n < 12))
        return ESC_MORE;
    hi = hex4(e + 2);
    if (n == 6) {
        if (hi >= 0xD800 && hi <= 0xDBFF)
            return ESC_MORE;
        if (hi >= 0xDC00 && hi <= 0xDFFF)
            return ESC_FAIL;
        *no = utf8_put(hi, o);
        return ESC_DONE;
    }
    lo = hex4(e + 8);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return ESC_FAIL;
    *no = utf8_put(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), o);
    return ESC_DONE;
}

static int xml_number(const unsigned char *b, size_t n, uint32_t *cp)
{
    int base = 10, d;
    size_t i = 1;
    uint32_t v = 0;

    if (n > 1 && (b[1] == 'x' || b[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == n)
        return 0;
    for (; i < n; i++) {
        d = base == 16 ? hexval(b[i])
                       : (b[i] >= '0' && b[i] <= '9' ? b[i] - '0' : -1);
        if (d < 0 || v > 0x10FFFF)
            return 0;
        v = v * (uint32_t)base + (uint32_t)d;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return 1;
}

/* The XML predefined entities and numeric character references (XML 1.0
** section 4.1); HTML's long tail of named entities is not decoded. */
static int xml_entity(const unsigned char *b, size_t n, unsigned char *o,
                      size_t *no)
{
    static const char *const name[] = { "amp", "lt", "gt", "quot",
                                        "apos" };
    static const char val[] = "&<>\"'";
    uint32_t cp;
    size_t i;

    for (i = 0; i < 5; i++)
        if (strlen(name[i]) == n && memcmp(b, name[i], n) == 0) {
            o[0] = (unsigned char)val[i];
            *no = 1;
            return 1;
        }
    if (n < 2 || b[0] != '#' || !xml_number(b, n, &cp))
        return 0;
    *no = utf8_put(cp, o);
    return 1;
}

static int dec_xml(const unsigned char *e, size_t n, unsigned char *o,
                   size_t *no)
{
    unsigned c = e[n - 1];

    if (n == 1)
        return ESC_MORE;
    if (c == ';')
        return xml_entity(e + 1, n - 2, o, no) ? ESC_DONE : ESC_FAIL;
    if (n > ESC_MAX - 1)
        return ESC_FAIL;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || (c == '#' && n == 2))
        return ESC_MORE;
    return ESC_FAIL;
}

static int decode_esc(int kind, const unsigned char *e, size_t n,
                      unsigned char *o, size_t *no)
{
    switch (kind) {
    case V_URL:
    case V_FORM: return dec_url(e, n, o, no);
    case V_JSON: return dec_json(e, n, o, no);
    default: return dec_xml(e, n, o, no);
    }
}

/* ---- matches ----------------------------------------------------- */

/* Which match names a merged run: the first to start, then the longest,
** then the first registered name. A total order, so the name does not
** depend on which decoder found what first. */
static int lead_before(const struct comp *a, const struct comp *b)
{
    if (a->lead_s != b->lead_s)
        return a->lead_s < b->lead_s;
    if (a->lead_e != b->lead_e)
        return a->lead_e > b->lead_e;
    return a->sid < b->sid;
}

static int comp_insert(struct redact_stream *s, size_t i,
                       const struct comp *nc)
{
    if (s->ncomp == s->capcomp) {
        size_t cap = s->capcomp ? 2 * s->capcomp : 8;
        struct comp *n = realloc(s->comps, cap * sizeof *n);
        if (!n)
            return -1;
        s->comps = n;
        s->capcomp = cap;
    }
    memmove(s->comps + i + 1, s->comps + i,
            (s->ncomp - i) * sizeof *s->comps);
    s->comps[i] = *nc;
    s->ncomp++;
    return 0;
}

/* Adds the match [ms, me) to the sorted, disjoint runs, merging every
** run it overlaps (touching runs stay apart: two masks). The union does
** not depend on the order matches are found in, which is what makes the
** output independent of how writes split the text. */
static void comp_add(struct redact_stream *s, uint64_t ms, uint64_t me,
                     uint16_t sid)
{
    uint64_t cs = ms < s->base ? s->base : ms;
    struct comp nc = { cs, me, ms, me, sid };
    size_t i = s->ncomp, j;

    if (me <= cs)
        return;
    while (i > 0 && s->comps[i - 1].e > cs)
        i--;
    for (j = i; j < s->ncomp && s->comps[j].s < me; j++) {
        const struct comp *c = &s->comps[j];
        if (c->s < nc.s)
            nc.s = c->s;
        if (c->e > nc.e)
            nc.e = c->e;
        if (lead_before(c, &nc)) {
            nc.lead_s = c->lead_s;
            nc.lead_e = c->lead_e;
            nc.sid = c->sid;
        }
    }
    if (j == i) {
        if (comp_insert(s, i, &nc))
            s->oom = 1;
        return;
    }
    s->comps[i] = nc;
    memmove(s->comps + i + 1, s->comps + j,
            (s->ncomp - j) * sizeof *s->comps);
    s->ncomp -= j - i - 1;
}

/* ---- views ------------------------------------------------------- */

/* Input start of decoded byte k; before waking the view read the text
** one to one, so negative k counts back from where it woke. */
static uint64_t view_orig(const struct view *v, int64_t k)
{
    if (k < 0)
        return v->act_pos - (uint64_t)(-k);
    return v->ring[(uint64_t)k & v->mask];
}

static void view_emit(struct redact_stream *s, struct view *v, unsigned b,
                      uint64_t os, uint64_t oe, int esc)
{
    const struct ac *a = s->r->ac;
    const struct ac_node *n;

    v->ring[v->ndec & v->mask] = os;
    v->ndec++;
    if (esc)
        v->last_esc = v->ndec;
    v->state = ac_step(a, v->state, b);
    n = &a->node[v->state];
    if (n->out_len)
        comp_add(s, view_orig(v, (int64_t)v->ndec - n->out_len), oe,
                 n->out_sid);
}

static void view_feed(struct redact_stream *s, struct view *v, unsigned c,
                      uint64_t pos);

/* What a decoder holds is not an escape after all: its first byte is a
** literal and the rest is read again (at most ESC_MAX - 1 bytes, so the
** recursion through view_feed is shallow). */
static void view_unwind(struct redact_stream *s, struct view *v)
{
    unsigned char rest[ESC_MAX];
    size_t nrest = v->nesc - 1, k;
    uint64_t start = v->esc_pos;

    memcpy(rest, v->esc + 1, nrest);
    v->nesc = 0;
    view_emit(s, v, v->esc[0], start, start + 1, 0);
    for (k = 0; k < nrest; k++)
        view_feed(s, v, rest[k], start + 1 + k);
}

/* Feeds one input byte to a decoder. */
static void view_feed(struct redact_stream *s, struct view *v, unsigned c,
                      uint64_t pos)
{
    unsigned char o[4];
    size_t no = 0, k;
    int rc;

    if (v->nesc == 0) {
        if (!view_trigger(v->kind, c)) {
            view_emit(s, v, c, pos, pos + 1, 0);
            return;
        }
        v->esc_pos = pos;
    }
    v->esc[v->nesc++] = (unsigned char)c;
    rc = decode_esc(v->kind, v->esc, v->nesc, o, &no);
    if (rc == ESC_MORE)
        return;
    if (rc == ESC_FAIL) {
        view_unwind(s, v);
        return;
    }
    v->nesc = 0;
    for (k = 0; k < no; k++)
        view_emit(s, v, o[k], v->esc_pos, pos + 1, 1);
}

/* At a flush no more bytes will finish an escape: what a decoder holds
** is text, and may end a secret ("50%" when the secret ends in '%'). */
static void views_finish(struct redact_stream *s)
{
    int k;

    for (k = 0; k < NVIEWS; k++)
        while (s->v[k].active && s->v[k].nesc > 0)
            view_unwind(s, &s->v[k]);
}

/* A view that holds no escape, is in the identity state and whose
** window holds only literal bytes would find exactly what the identity
** pass finds: it can sleep. */
static int view_in_sync(const struct redact_stream *s, const struct view *v)
{
    int64_t d = s->r->ac->node[v->state].hold;

    return v->nesc == 0 && v->state == s->st
        && (int64_t)v->ndec - d >= (int64_t)v->last_esc;
}

static void views_step(struct redact_stream *s, uint32_t prev, unsigned c,
                       uint64_t pos)
{
    int k;

    for (k = 0; k < NVIEWS; k++) {
        struct view *v = &s->v[k];
        if (!v->active) {
            if (!view_trigger(v->kind, c))
                continue;
            v->active = 1;
            v->state = prev;
            v->ndec = v->last_esc = 0;
            v->act_pos = pos;
            s->nactive++;
        }
        view_feed(s, v, c, pos);
        if (view_in_sync(s, v)) {
            v->active = 0;
            s->nactive--;
        }
    }
}

/* ---- stream ------------------------------------------------------ */

/* The hot loop: identity automaton, decoders only when awake. */
static void scan(struct redact_stream *s, const unsigned char *p,
                 size_t n, uint64_t pos0)
{
    const struct ac *a = s->r->ac;
    uint32_t st = s->st;
    size_t i = 0;

    while (i < n) {
        unsigned c;
        uint32_t prev = st;
        if (st == 0 && s->nactive == 0) {
            /* No match starts at i unless p[i] p[i+1] begins one; the
            ** state after p[i+1] is then the same as from the root. */
            while (i + 1 < n && !(a->pair[(p[i] << 8 | p[i + 1]) >> 6]
                                  >> (p[i + 1] & 63) & 1))
                i++;
            if (i + 1 == n && a->skip[p[i]])
                i++;
            if (i == n)
                break;
        }
        c = p[i];
        st = ac_step(a, st, c);
        if (a->node[st].out_len)
            comp_add(s, pos0 + i + 1 - a->node[st].out_len, pos0 + i + 1,
                     a->node[st].out_sid);
        if (s->nactive || a->trig[c]) {
            s->st = st;
            views_step(s, prev, c, pos0 + i);
        }
        i++;
    }
    s->st = st;
}

/* Earliest input position a future match could start at: the start of
** the identity window, of each awake view's window (mapped back to the
** input) and of any escape a view is still reading. */
static uint64_t hold_point(const struct redact_stream *s)
{
    const struct ac *a = s->r->ac;
    uint64_t h = s->pos - a->node[s->st].hold, o;
    int k;

    for (k = 0; k < NVIEWS; k++) {
        const struct view *v = &s->v[k];
        if (!v->active)
            continue;
        if (v->nesc && v->esc_pos < h)
            h = v->esc_pos;
        o = view_orig(v, (int64_t)v->ndec - a->node[v->state].hold);
        if (o < h)
            h = o;
    }
    return h;
}

static void out_deliver(struct redact_stream *s)
{
    if (s->olen && !s->err && s->fn(s->ctx, s->obuf, s->olen))
        s->err = REDACT_EWRITE;
    s->olen = 0;
}

static void out_put(struct redact_stream *s, const void *p, size_t n)
{
    if (s->err || n == 0)
        return;
    if (n > OBUF - s->olen) {
        out_deliver(s);
        if (n >= OBUF) {
            if (!s->err && s->fn(s->ctx, p, n))
                s->err = REDACT_EWRITE;
            return;
        }
    }
    memcpy(s->obuf + s->olen, p, n);
    s->olen += n;
}

static void out_mask(struct redact_stream *s, uint16_t sid)
{
    const char *name = s->r->names[sid];

    out_put(s, "<secret ", 8);
    out_put(s, name, strlen(name));
    out_put(s, ">", 1);
}

static void out_raw(struct redact_stream *s, uint64_t from, uint64_t to)
{
    out_put(s, s->pend + (from - s->base), (size_t)(to - from));
}

/* Tells the sink a piece ends here: what it got so far first. */
static void out_signal(struct redact_stream *s)
{
    out_deliver(s);
    if (!s->err && s->fn(s->ctx, NULL, 0))
        s->err = REDACT_EWRITE;
}

/* Signals the marks at or before `upto`, a position the output has
** reached outside any mask. */
static void marks_upto(struct redact_stream *s, uint64_t upto)
{
    size_t k = 0;

    while (k < s->nmark && s->marks[k] <= upto) {
        out_signal(s);
        k++;
    }
    if (k) {
        memmove(s->marks, s->marks + k, (s->nmark - k) * sizeof *s->marks);
        s->nmark -= k;
    }
}

/* Plain text [from, to), cut at the marks inside it. */
static void out_text(struct redact_stream *s, uint64_t from, uint64_t to)
{
    while (s->nmark > 0 && s->marks[0] < to) {
        uint64_t m = s->marks[0] > from ? s->marks[0] : from;
        out_raw(s, from, m);
        marks_upto(s, m);
        from = m;
    }
    out_raw(s, from, to);
    marks_upto(s, to);
}

/* Drops emitted input from the front of the pending buffer. */
static void consume(struct redact_stream *s, uint64_t upto)
{
    size_t n = (size_t)(upto - s->base);

    if (n == 0)
        return;
    memmove(s->pend, s->pend + n, s->plen - n);
    s->plen -= n;
    s->base = upto;
}

/* Emits everything before h that no future match can touch. A run
** longer than REDACT_RUN_MAX is cut into masks at fixed offsets from its
** start so a periodic secret in endless text cannot hold output back
** forever; the cuts depend only on the text, like everything else. A
** mark is signalled where the output reaches it, or after the mask of a
** run that covers it. */
static void emit_upto(struct redact_stream *s, uint64_t h)
{
    uint64_t cur = s->base;

    while (s->ncomp > 0 && s->comps[0].s < h) {
        struct comp *c = &s->comps[0];
        out_text(s, cur, c->s);
        while (c->e - c->s > REDACT_RUN_MAX) {
            out_mask(s, c->sid);
            c->s += REDACT_RUN_MAX;
            marks_upto(s, c->s);
        }
        cur = c->s;
        if (c->e > h)
            break;
        out_mask(s, c->sid);
        cur = c->e;
        marks_upto(s, cur);
        s->ncomp--;
        memmove(s->comps, s->comps + 1, s->ncomp * sizeof *s->comps);
    }
    if ((s->ncomp == 0 || s->comps[0].s >= h) && h > cur) {
        out_text(s, cur, h);
        cur = h;
    }
    consume(s, cur);
}

static int ring_size(struct view *v, size_t need)
{
    size_t cap = 16;
    uint64_t *ring;

    while (cap < need + 1)
        cap *= 2;
    if (v->ring && v->mask + 1 >= cap)
        return 0;
    if (!(ring = malloc(cap * sizeof *ring)))
        return -1;
    free(v->ring);
    v->ring = ring;
    v->mask = cap - 1;
    return 0;
}

/* After new secrets: forget matcher state and read what is still held
** again with the new automaton. */
static int stream_sync(struct redact_stream *s)
{
    size_t need = s->r->ac ? s->r->ac->maxlen : 0;
    int k;

    if (s->gen == s->r->gen)
        return REDACT_OK;
    for (k = 0; k < NVIEWS; k++)
        if (ring_size(&s->v[k], need))
            return REDACT_ENOMEM;
    for (k = 0; k < NVIEWS; k++) {
        s->v[k].active = 0;
        s->v[k].nesc = 0;
    }
    s->nactive = 0;
    s->st = 0;
    s->ncomp = 0;
    s->gen = s->r->gen;
    if (s->r->ac && s->plen)
        scan(s, s->pend, s->plen, s->base);
    return s->oom ? REDACT_ENOMEM : REDACT_OK;
}

redact_stream_t *redact_stream_new(redact_t *r, redact_write_fn fn,
                                   void *ctx)
{
    redact_stream_t *s;
    int k;

    if (!r || !fn || !(s = calloc(1, sizeof *s)))
        return NULL;
    s->r = r;
    s->fn = fn;
    s->ctx = ctx;
    for (k = 0; k < NVIEWS; k++)
        s->v[k].kind = k;
    if (stream_sync(s) != REDACT_OK) {
        redact_stream_free(s);
        return NULL;
    }
    return s;
}

void redact_stream_free(redact_stream_t *s)
{
    int k;

    if (!s)
        return;
    wipe_free(s->pend, s->pcap);
    for (k = 0; k < NVIEWS; k++) {
        explicit_bzero(s->v[k].esc, sizeof s->v[k].esc);
        free(s->v[k].ring);
    }
    free(s->comps);
    free(s->marks);
    explicit_bzero(s, sizeof *s);
    free(s);
}

/* Grows the pending buffer by copying, so the old one can be wiped. */
static int pend_reserve(struct redact_stream *s, size_t more)
{
    size_t cap = s->pcap ? s->pcap : 1024;
    unsigned char *np;

    if (s->plen + more <= s->pcap)
        return 0;
    while (cap < s->plen + more)
        cap *= 2;
    if (!(np = malloc(cap)))
        return -1;
    if (s->plen)
        memcpy(np, s->pend, s->plen);
    wipe_free(s->pend, s->pcap);
    s->pend = np;
    s->pcap = cap;
    return 0;
}

static int stream_chunk(struct redact_stream *s, const unsigned char *p,
                        size_t m)
{
    if (pend_reserve(s, m))
        return REDACT_ENOMEM;
    memcpy(s->pend + s->plen, p, m);
    scan(s, s->pend + s->plen, m, s->pos);
    s->plen += m;
    s->pos += m;
    if (s->oom)
        return REDACT_ENOMEM;
    emit_upto(s, hold_point(s));
    return REDACT_OK;
}

int redact_stream_write(redact_stream_t *s, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    int rc;

    if (!s || (!buf && len))
        return REDACT_EINVAL;
    if (s->err)
        return s->err;
    if ((rc = stream_sync(s)) != REDACT_OK)
        return s->err = rc;
    if (!s->r->ac) {
        out_put(s, p, len);
        s->pos += len;
        s->base = s->pos;
        marks_upto(s, s->pos);
    }
    while (s->r->ac && len > 0 && !s->err) {
        size_t m = len < CHUNK ? len : CHUNK;
        if ((rc = stream_chunk(s, p, m)) != REDACT_OK)
            return s->err = rc;
        p += m;
        len -= m;
    }
    out_deliver(s);
    return s->err;
}

int redact_stream_flush(redact_stream_t *s)
{
    int rc;

    if (!s)
        return REDACT_EINVAL;
    if (s->err)
        return s->err;
    if ((rc = stream_sync(s)) != REDACT_OK)
        return s->err = rc;
    if (s->r->ac) {
        views_finish(s);
        if (s->oom)
            return s->err = REDACT_ENOMEM;
        emit_upto(s, s->pos);
    }
    marks_upto(s, s->pos);
    out_deliver(s);
    return s->err;
}

int redact_stream_mark(redact_stream_t *s)
{
    int rc;

    if (!s)
        return REDACT_EINVAL;
    if (s->err)
        return s->err;
    if ((rc = stream_sync(s)) != REDACT_OK)
        return s->err = rc;
    if (s->plen == 0 && s->ncomp == 0) {
        out_signal(s);          /* nothing held: the piece is final */
        return s->err;
    }
    if (s->nmark == s->capmark) {
        size_t cap = s->capmark ? 2 * s->capmark : 8;
        uint64_t *m = realloc(s->marks, cap * sizeof *m);
        if (!m)
            return s->err = REDACT_ENOMEM;
        s->marks = m;
        s->capmark = cap;
    }
    s->marks[s->nmark++] = s->pos;
    return REDACT_OK;
}

size_t redact_stream_held(const redact_stream_t *s)
{
    return s ? s->plen : 0;
}

/* ---- one-shot ---------------------------------------------------- */

static int collect(void *ctx, const char *b, size_t n)
{
    return dynbuf_add(ctx, b, n) == DYNBUF_OK ? 0 : -1;
}

int redact_buf(redact_t *r, const void *in, size_t len, char **out,
               size_t *outlen)
{
    struct dynbuf g;
    redact_stream_t *s;
    int rc;

    if (out)
        *out = NULL;
    if (outlen)
        *outlen = 0;
    if (!r || !out || (!in && len) || len > SIZE_MAX / 2)
        return REDACT_EINVAL;
    dynbuf_init(&g, SIZE_MAX);
    if (dynbuf_reserve(&g, len + len / 8 + 64) != DYNBUF_OK ||
        !(s = redact_stream_new(r, collect, &g))) {
        dynbuf_free(&g);
        return REDACT_ENOMEM;
    }
    rc = redact_stream_write(s, in, len);
    if (rc == REDACT_OK)
        rc = redact_stream_flush(s);
    redact_stream_free(s);
    if (rc != REDACT_OK) {
        dynbuf_free(&g);
        return rc == REDACT_EWRITE ? REDACT_ENOMEM : rc;
    }
    if (!(*out = dynbuf_take(&g, outlen)))
        return REDACT_ENOMEM;
    return REDACT_OK;
}
