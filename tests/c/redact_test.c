/*
** redact_test.c -- unit tests for the output redactor (host/pure/redact.c).
**
** Figures S-1..S-3 of reliability-anchors.md section 8: 30 seeded random
** secrets (8..128 bytes with quotes, %, &, \, /, spaces, newlines and a
** few control and UTF-8 bytes) and a PEM-like block, each encoded every
** way docs/redaction.md claims and embedded in text: zero leaks of the
** encoded form or the raw value, and streams split at every position
** and byte by byte give the one-shot output. The encoders here are
** written apart from the redactor's on purpose.
*/
#include "pure/redact.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

#define NSECRETS 30
#define NALL (NSECRETS + 1)     /* plus the PEM block */

static uint64_t rng = 0x5eed2024c1a3ULL;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* ---- buffers and sinks ------------------------------------------- */

static void buf_byte(struct dynbuf *b, unsigned c)
{
    unsigned char ch = (unsigned char)c;
    unit_buf_add(b, &ch, 1);
}

static int sink(void *ctx, const char *p, size_t n)
{
    unit_buf_add(ctx, p, n);
    return 0;
}

static struct dynbuf oneshot(redact_t *r, const void *in, size_t n)
{
    struct dynbuf b = unit_buf_new();
    char *out = NULL;
    size_t outn = 0;
    int rc = redact_buf(r, in, n, &out, &outn);

    CHECK_INT(rc, REDACT_OK);
    CHECK(out != NULL && out[outn] == '\0');
    unit_buf_add(&b, out ? out : "", out ? outn : 0);
    free(out);
    return b;
}

/* Writes in[0..n) as pieces ending at the given cuts, then flushes. */
static struct dynbuf streamed(redact_t *r, const void *in, size_t n,
                                const size_t *cut, size_t ncut)
{
    struct dynbuf b = unit_buf_new();
    redact_stream_t *s = redact_stream_new(r, sink, &b);
    const char *p = in;
    size_t at = 0, i;

    unit_buf_add(&b, "", 0);
    CHECK(s != NULL);
    if (!s)
        return b;
    for (i = 0; i <= ncut; i++) {
        size_t end = i < ncut ? cut[i] : n;
        CHECK_INT(redact_stream_write(s, p + at, end - at), REDACT_OK);
        at = end;
    }
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK_INT(redact_stream_held(s), 0);
    redact_stream_free(s);
    return b;
}

static int same(const struct dynbuf *a, const struct dynbuf *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Every split into two writes, then one byte per write: all must equal
** the one-shot output. Returns the number of mismatches. */
static int split_mismatches(redact_t *r, const struct dynbuf *text,
                            const struct dynbuf *ref)
{
    size_t k, *cuts = malloc((text->len + 1) * sizeof *cuts);
    struct dynbuf o;
    int bad = 0;

    for (k = 0; k <= text->len; k++) {
        o = streamed(r, text->p, text->len, &k, 1);
        bad += !same(&o, ref);
        unit_buf_free(&o);
    }
    for (k = 0; k < text->len; k++)
        cuts[k] = k;
    o = streamed(r, text->p, text->len, cuts, text->len ? text->len - 1 : 0);
    bad += !same(&o, ref);
    unit_buf_free(&o);
    free(cuts);
    return bad;
}

static struct dynbuf streamed_bytewise(redact_t *r, const struct dynbuf *t)
{
    size_t k, *cuts = malloc((t->len + 1) * sizeof *cuts);
    struct dynbuf o;

    for (k = 0; k < t->len; k++)
        cuts[k] = k;
    o = streamed(r, t->p, t->len, cuts, t->len ? t->len - 1 : 0);
    free(cuts);
    return o;
}

/* No window of 12 bytes (or the whole, if shorter) of forbid appears. */
static int leaks(const struct dynbuf *out, const void *forbid, size_t n)
{
    const char *f = forbid;
    size_t w = n < 12 ? n : 12, i;

    if (n == 0)
        return 0;
    for (i = 0; i + w <= n; i++)
        if (memmem(out->p, out->len, f + i, w))
            return 1;
    return 0;
}

/* ---- the secrets ------------------------------------------------- */

static unsigned char secret[NALL][1024];
static size_t secret_len[NALL];
static char secret_name[NALL][16];

static const char specials[] = "\"%&\\/ \n";
static const char others[] = "'<>+=?#:;,.-_~*!@$()[]{}|^\t";
static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* A byte or a whole UTF-8 character; the value stays valid UTF-8 so the
** \u escaping of a JSON encoder applies. */
static size_t random_piece(unsigned char *o)
{
    static const char *const exotic[] = { "\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x98\x80", "\x01", "\x1f", "\x7f", "\0" };
    size_t roll = below(100), n;

    if (roll < 55) {
        o[0] = (unsigned char)alnum[below(sizeof alnum - 1)];
        return 1;
    }
    if (roll < 75) {
        o[0] = (unsigned char)specials[below(sizeof specials - 1)];
        return 1;
    }
    if (roll < 93) {
        o[0] = (unsigned char)others[below(sizeof others - 1)];
        return 1;
    }
    roll = below(7);
    n = roll == 6 ? 1 : strlen(exotic[roll]);
    memcpy(o, exotic[roll], n);
    return n;
}

static void make_secret(int i)
{
    size_t want = 8 + below(121), n = 0, k;
    unsigned char *s = secret[i];

    while (n < want) {
        unsigned char piece[4];
        size_t m = random_piece(piece);
        if (n + m > 128)
            break;
        memcpy(s + n, piece, m);
        n += m;
    }
    /* Two of the characters the figure names, over ASCII bytes only so
    ** the value stays valid UTF-8. */
    for (k = 0; k < 2; k++) {
        size_t at = below(n);
        while (at < n && s[at] >= 0x80)
            at++;
        if (at < n)
            s[at] = (unsigned char)specials[(size_t)(i + 3 * (int)k)
                                            % (sizeof specials - 1)];
    }
    secret_len[i] = n;
    snprintf(secret_name[i], sizeof secret_name[i], "S%02d", i);
}

static void make_pem(void)
{
    unsigned char *s = secret[NSECRETS];
    size_t n = 0, line, k;
    const char *head = "-----BEGIN TEST PRIVATE KEY-----\n";
    const char *tail = "-----END TEST PRIVATE KEY-----\n";
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    memcpy(s, head, strlen(head));
    n = strlen(head);
    for (line = 0; line < 9; line++) {
        size_t width = line < 8 ? 64 : 28;
        for (k = 0; k < width; k++)
            s[n++] = (unsigned char)b64[below(64)];
        s[n++] = '\n';
    }
    memcpy(s + n, tail, strlen(tail));
    n += strlen(tail);
    secret_len[NSECRETS] = n;
    strcpy(secret_name[NSECRETS], "PEM_KEY");
}

static redact_t *all_secrets(void)
{
    redact_t *r = redact_new();
    int i;

    CHECK(r != NULL);
    for (i = 0; i < NALL; i++)
        CHECK_INT(redact_add(r, secret_name[i], secret[i], secret_len[i]),
                  REDACT_OK);
    return r;
}

/* ---- encoders (independent of the redactor's) -------------------- */

static const char std64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Bit by bit, unlike the redactor's 3-byte groups. */
static void enc_b64(struct dynbuf *o, const unsigned char *in, size_t n,
                    const char *alpha, int pad)
{
    size_t bits = 8 * n, j, start = o->len;

    for (j = 0; 6 * j < bits; j++) {
        unsigned v = 0, b;
        for (b = 0; b < 6; b++) {
            size_t bit = 6 * j + b;
            unsigned x = bit < bits ? (in[bit / 8] >> (7 - bit % 8)) & 1 : 0;
            v = v << 1 | x;
        }
        buf_byte(o, (unsigned char)alpha[v]);
    }
    while (pad && (o->len - start) % 4)
        buf_byte(o, '=');
}

static void enc_hex(struct dynbuf *o, const unsigned char *in, size_t n,
                    int upper)
{
    char t[3];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(t, sizeof t, upper ? "%02X" : "%02x", in[i]);
        unit_buf_str(o, t);
    }
}

enum { U_LOWER = 1, U_PLUS = 2, U_ALL = 4, U_MIXED = 8, U_SLASH = 16,
       U_FORMSET = 32 };

static void enc_url(struct dynbuf *o, const unsigned char *in, size_t n,
                    int style)
{
    size_t i;
    char t[4];

    for (i = 0; i < n; i++) {
        unsigned c = in[i];
        int keep = strchr(alnum, (int)c) && c;
        if (style & U_FORMSET)
            keep = keep || (c && strchr("*-._", (int)c));
        else
            keep = keep || (c && strchr("-._~", (int)c));
        if ((style & U_SLASH) && c == '/')
            keep = 1;
        if (style & U_ALL)
            keep = 0;
        if (keep) {
            buf_byte(o, c);
        } else if (c == ' ' && (style & U_PLUS)) {
            buf_byte(o, '+');
        } else {
            int lower = (style & U_LOWER) || ((style & U_MIXED) && i % 2);
            snprintf(t, sizeof t, lower ? "%%%02x" : "%%%02X", c);
            unit_buf_str(o, t);
        }
    }
}

enum { J_SLASH = 1, J_ASCII = 2, J_ALLU = 4 };

static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2, i;
    uint32_t v = p[0] & (0x3F >> (len - 1));

    if (len > n)
        len = n;
    for (i = 1; i < len; i++)
        v = v << 6 | (p[i] & 0x3F);
    *cp = v;
    return len;
}

static void enc_json(struct dynbuf *o, const unsigned char *in, size_t n,
                     int style)
{
    static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
    char t[16];
    size_t i = 0;

    while (i < n) {
        unsigned c = in[i];
        const char *p = c ? strchr(from, (int)c) : NULL;
        if (c >= 0x80 && (style & J_ASCII)) {
            uint32_t cp;
            i += utf8_decode(in + i, n - i, &cp);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                snprintf(t, sizeof t, "\\u%04X\\u%04X",
                         0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                snprintf(t, sizeof t, "\\u%04X", cp);
            }
            unit_buf_str(o, t);
            continue;
        }
        if ((style & J_ALLU) && c < 0x80 && !strchr(alnum, (int)c)) {
            snprintf(t, sizeof t, "\\u%04x", c);
            unit_buf_str(o, t);
        } else if (p) {
            buf_byte(o, '\\');
            buf_byte(o, (unsigned char)to[p - from]);
        } else if (c == '/' && (style & J_SLASH)) {
            unit_buf_str(o, "\\/");
        } else if (c < 0x20) {
            snprintf(t, sizeof t, "\\u%04x", c);
            unit_buf_str(o, t);
        } else {
            buf_byte(o, c);
        }
        i++;
    }
}

enum { X_NAMED, X_HEX, X_DEC };

static void enc_xml(struct dynbuf *o, const unsigned char *in, size_t n,
                    int style)
{
    char t[16];
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned c = in[i];
        int plain = c >= 0x80 || (c && strchr(alnum, (int)c));
        if (plain) {
            buf_byte(o, c);
        } else if (style == X_HEX) {
            snprintf(t, sizeof t, "&#x%X;", c);
            unit_buf_str(o, t);
        } else if (style == X_DEC) {
            snprintf(t, sizeof t, "&#%u;", c);
            unit_buf_str(o, t);
        } else if (c == '&') {
            unit_buf_str(o, "&amp;");
        } else if (c == '<') {
            unit_buf_str(o, "&lt;");
        } else if (c == '>') {
            unit_buf_str(o, "&gt;");
        } else if (c == '"') {
            unit_buf_str(o, "&quot;");
        } else if (c == '\'') {
            unit_buf_str(o, "&#39;");
        } else {
            buf_byte(o, c);
        }
    }
}

/* ---- the encoding matrix ----------------------------------------- */

enum { E_RAW, E_B64_END, E_B64_MID, E_URL64_END, E_URL64_MID, E_HEX,
       E_URL, E_JSON, E_XML };

struct enc {
    const char *label;
    int kind, arg;
};

static const struct enc encs[] = {
    { "raw", E_RAW, 0 },
    { "base64 offset 0, at end", E_B64_END, 0 },
    { "base64 offset 1, at end", E_B64_END, 1 },
    { "base64 offset 2, at end", E_B64_END, 2 },
    { "base64 offset 0, inside", E_B64_MID, 0 },
    { "base64 offset 1, inside", E_B64_MID, 1 },
    { "base64 offset 2, inside", E_B64_MID, 2 },
    { "base64url offset 0, at end", E_URL64_END, 0 },
    { "base64url offset 1, at end", E_URL64_END, 1 },
    { "base64url offset 2, at end", E_URL64_END, 2 },
    { "base64url offset 0, inside", E_URL64_MID, 0 },
    { "base64url offset 1, inside", E_URL64_MID, 1 },
    { "base64url offset 2, inside", E_URL64_MID, 2 },
    { "hex lower", E_HEX, 0 },
    { "hex upper", E_HEX, 1 },
    { "url RFC 3986 upper", E_URL, 0 },
    { "url RFC 3986 lower", E_URL, U_LOWER },
    { "url form upper", E_URL, U_PLUS | U_FORMSET },
    { "url form lower", E_URL, U_PLUS | U_FORMSET | U_LOWER },
    { "url every byte, mixed case", E_URL, U_ALL | U_MIXED },
    { "url '/' left alone", E_URL, U_SLASH },
    { "json, '/' escaped", E_JSON, J_SLASH },
    { "json, '/' plain", E_JSON, 0 },
    { "json ASCII-only", E_JSON, J_ASCII | J_SLASH },
    { "json all \\u00XX", E_JSON, J_ALLU },
    { "xml named", E_XML, X_NAMED },
    { "xml &#xH;", E_XML, X_HEX },
    { "xml &#N;", E_XML, X_DEC },
};
#define NENCS (sizeof encs / sizeof encs[0])

/* Base64 of pre(a bytes) + value + tail; form gets the characters whose
** six bits all come from the value. */
static void b64_case(struct dynbuf *text, struct dynbuf *form,
                     const unsigned char *v, size_t n, int a, int mid,
                     const char *alpha)
{
    static const unsigned char pre[2] = { 0xA5, '{' };
    static const char tail[] = "\"} trailing bytes\n";
    struct dynbuf blob = unit_buf_new(), e = unit_buf_new();
    size_t j0, j1;

    unit_buf_add(&blob, pre, (size_t)a);
    unit_buf_add(&blob, v, n);
    if (mid)
        unit_buf_str(&blob, tail);
    enc_b64(&e, (const unsigned char *)blob.p, blob.len, alpha,
            alpha == std64);
    j0 = (8 * (size_t)a + 5) / 6;
    j1 = (8 * ((size_t)a + n)) / 6;
    unit_buf_add(form, e.p + j0, j1 - j0);
    unit_buf_str(text, "blob: ");
    unit_buf_add(text, e.p, e.len);
    unit_buf_str(text, " (end)\n");
    unit_buf_free(&blob);
    unit_buf_free(&e);
}

static void make_case(const struct enc *e, const unsigned char *v,
                      size_t n, struct dynbuf *text, struct dynbuf *form)
{
    switch (e->kind) {
    case E_B64_END:
    case E_B64_MID:
        b64_case(text, form, v, n, e->arg, e->kind == E_B64_MID, std64);
        return;
    case E_URL64_END:
    case E_URL64_MID:
        b64_case(text, form, v, n, e->arg, e->kind == E_URL64_MID, url64);
        return;
    case E_RAW: unit_buf_add(form, v, n); break;
    case E_HEX: enc_hex(form, v, n, e->arg); break;
    case E_URL: enc_url(form, v, n, e->arg); break;
    case E_JSON: enc_json(form, v, n, e->arg); break;
    default: enc_xml(form, v, n, e->arg); break;
    }
    unit_buf_str(text, e->kind == E_JSON ? "{\"token\":\"" :
             e->kind == E_URL ? "GET /cb?code=" :
             e->kind == E_XML ? "<key>" : "value: ");
    unit_buf_add(text, form->p, form->len);
    unit_buf_str(text, e->kind == E_JSON ? "\",\"n\":1}\n" :
             e->kind == E_URL ? "&state=xyz HTTP/1.1\n" :
             e->kind == E_XML ? "</key>\n" : " end\n");
}

static int matrix_texts, matrix_leaks, matrix_split_bad, matrix_unnamed;

/* One value in one encoding: leaks, the mask name, stream equality. */
static void check_case(redact_t *r, int i, const struct enc *e)
{
    struct dynbuf text = unit_buf_new(), form = unit_buf_new(), out;
    char mask[64];

    make_case(e, secret[i], secret_len[i], &text, &form);
    out = oneshot(r, text.p, text.len);
    matrix_texts++;
    if (leaks(&out, form.p, form.len)
        || leaks(&out, secret[i], secret_len[i])) {
        matrix_leaks++;
        if (matrix_leaks <= 5)
            fprintf(stderr, "  leak: %s in %s: %.300s\n", secret_name[i],
                    e->label, out.p);
    }
    /* At the end of a blob the last partial character is masked too. */
    snprintf(mask, sizeof mask, e->kind == E_B64_END
             || e->kind == E_URL64_END ? "<secret %.15s> (end)"
             : "<secret %.15s>", secret_name[i]);
    matrix_unnamed += !strstr(out.p, mask);
    matrix_split_bad += split_mismatches(r, &text, &out);
    unit_buf_free(&text);
    unit_buf_free(&form);
    unit_buf_free(&out);
}

static void test_matrix(void)
{
    redact_t *r = all_secrets();
    size_t e;
    int i;

    for (i = 0; i < NALL; i++)
        for (e = 0; e < NENCS; e++)
            check_case(r, i, &encs[e]);
    CHECK_INT(matrix_texts, NALL * (int)NENCS);
    CHECK_INT(matrix_leaks, 0);
    CHECK_INT(matrix_unnamed, 0);
    CHECK_INT(matrix_split_bad, 0);
    printf("ok matrix: %d secrets x %d encodings = %d texts, %d leaks, "
           "%d stream mismatches\n", NALL, (int)NENCS, matrix_texts,
           matrix_leaks, matrix_split_bad);
    redact_free(r);
}

/* Each line of a multi-line value printed on its own, CRLF or not. */
static void test_lines(void)
{
    redact_t *r = all_secrets();
    int i, nlines = 0, bad = 0, split_bad = 0;

    for (i = 0; i < NALL; i++) {
        const unsigned char *v = secret[i];
        size_t n = secret_len[i], a = 0, b;
        while (a < n) {
            struct dynbuf text = unit_buf_new(), out;
            for (b = a; b < n && v[b] != '\n'; b++)
                ;
            if (b - a >= 12 && !memchr(v + a, '\r', b - a)
                && v[a] != ' ' && v[b - 1] != ' ' && v[b - 1] != '\t'
                && v[a] != '\t') {
                unit_buf_str(&text, "line: ");
                unit_buf_add(&text, v + a, b - a);
                unit_buf_str(&text, nlines % 2 ? "\r\n" : "\n");
                out = oneshot(r, text.p, text.len);
                bad += leaks(&out, v + a, b - a);
                split_bad += split_mismatches(r, &text, &out);
                nlines++;
                unit_buf_free(&out);
            }
            unit_buf_free(&text);
            a = b + 1;
        }
    }
    CHECK(nlines >= 11);
    CHECK_INT(bad, 0);
    CHECK_INT(split_bad, 0);
    printf("ok lines: %d lines printed alone, %d leaks\n", nlines, bad);
    redact_free(r);
}

/* ---- exact outputs ----------------------------------------------- */

static void expect(redact_t *r, const char *in, size_t n, const char *want)
{
    struct dynbuf out = oneshot(r, in, n), text = unit_buf_new();

    CHECK_STR(out.p, want);
    unit_buf_add(&text, in, n);
    CHECK_INT(split_mismatches(r, &text, &out), 0);
    unit_buf_free(&out);
    unit_buf_free(&text);
}

#define EXPECT(r, in, want) expect(r, in, strlen(in), want)

static void test_prefix_and_overlap(void)
{
    redact_t *r = redact_new();

    CHECK_INT(redact_add(r, "A", "prefixsecret1234", 16), REDACT_OK);
    CHECK_INT(redact_add(r, "B", "prefixsecret1234-and-more", 25),
              REDACT_OK);
    CHECK_INT(redact_add(r, "C", "abcdefgh12345678", 16), REDACT_OK);
    CHECK_INT(redact_add(r, "D", "12345678zyxwvuts", 16), REDACT_OK);
    CHECK_INT(redact_add(r, "P", "abababab", 8), REDACT_OK);
    EXPECT(r, "x prefixsecret1234-and-more y", "x <secret B> y");
    EXPECT(r, "x prefixsecret1234 y", "x <secret A> y");
    EXPECT(r, "prefixsecret1234-and-less", "<secret A>-and-less");
    EXPECT(r, "prefixsecret1234-and-mor", "<secret A>-and-mor");
    EXPECT(r, "abcdefgh12345678prefixsecret1234",
           "<secret C><secret A>");
    EXPECT(r, "abcdefgh12345678abcdefgh12345678",
           "<secret C><secret C>");
    EXPECT(r, "abcdefgh12345678zyxwvuts!", "<secret C>!");
    EXPECT(r, "prefixsecret1234", "<secret A>");
    EXPECT(r, "start prefixsecret1234", "start <secret A>");
    EXPECT(r, "abababababab.", "<secret P>.");
    EXPECT(r, "aabababab", "a<secret P>");
    redact_free(r);
}

static void test_basic(void)
{
    redact_t *r = redact_new();
    struct dynbuf hdr = unit_buf_new(), text = unit_buf_new();
    const char *user = "deploy-bot", *pass = "s3cr3t:pa55/w0rd";

    CHECK_INT(redact_add_basic(r, "DEPLOY_PASSWORD", user, strlen(user),
                               pass, strlen(pass)), REDACT_OK);
    CHECK_INT(redact_add_basic(r, "SHORT_PW", "someuser", 8, "pw12", 4),
              REDACT_OK);
    CHECK_INT(redact_secret_count(r), 2);
    unit_buf_str(&text, "deploy-bot:s3cr3t:pa55/w0rd");
    unit_buf_str(&hdr, "Authorization: Basic ");
    enc_b64(&hdr, (const unsigned char *)text.p, text.len, std64, 1);
    unit_buf_str(&hdr, "\r\n");
    expect(r, hdr.p, hdr.len,
           "Authorization: Basic <secret DEPLOY_PASSWORD>\r\n");
    EXPECT(r, "user=deploy-bot pass=s3cr3t:pa55/w0rd",
           "user=deploy-bot pass=<secret DEPLOY_PASSWORD>");
    EXPECT(r, "https://deploy-bot:s3cr3t%3Apa55%2Fw0rd@host/",
           "https://deploy-bot:<secret DEPLOY_PASSWORD>@host/");
    /* "someuser:pw12" */
    EXPECT(r, "Basic c29tZXVzZXI6cHcxMg==", "Basic <secret SHORT_PW>");
    EXPECT(r, "pw=pw12;", "pw=<secret SHORT_PW>;");
    EXPECT(r, "someuser logged in", "someuser logged in");
    unit_buf_free(&hdr);
    unit_buf_free(&text);
    redact_free(r);
}

static void test_json_escapes(void)
{
    redact_t *r = redact_new();
    static const char v[] = "he said \"hi\"\x01\tok/\\end\n";

    CHECK_INT(redact_add(r, "JSONY", v, sizeof v - 1), REDACT_OK);
    EXPECT(r, "{\"msg\":\"he said \\\"hi\\\"\\u0001\\tok\\/\\\\end\\n\"}",
           "{\"msg\":\"<secret JSONY>\"}");
    EXPECT(r, "{\"msg\":\"he said \\\"hi\\\"\\u0001\\tok/\\\\end\\n\"}",
           "{\"msg\":\"<secret JSONY>\"}");
    EXPECT(r, "[\"he said \\\"hi\\\"\\u0001\\u0009ok\\u002F\\\\end\\n\"]",
           "[\"<secret JSONY>\"]");
    /* A backslash that is not an escape stays text. */
    EXPECT(r, "C:\\new\\table \\q \\u12 \\uD800x",
           "C:\\new\\table \\q \\u12 \\uD800x");
    redact_free(r);
}

static void test_url_escapes(void)
{
    redact_t *r = redact_new();

    CHECK_INT(redact_add(r, "URLY", "p@ss w0rd/with&stuff%", 21),
              REDACT_OK);
    EXPECT(r, "?k=p%40ss%20w0rd%2Fwith%26stuff%25&x=1",
           "?k=<secret URLY>&x=1");
    EXPECT(r, "?k=p%40ss%20w0rd%2fwith%26stuff%25&x=1",
           "?k=<secret URLY>&x=1");
    EXPECT(r, "?k=p%40ss+w0rd%2Fwith%26stuff%25&x=1",
           "?k=<secret URLY>&x=1");
    EXPECT(r, "?k=p@ss+w0rd/with%26stuff%25", "?k=<secret URLY>");
    EXPECT(r, "?k=%70%40%73s%20w0rd%2fwith%26stuff%25",
           "?k=<secret URLY>");
    EXPECT(r, "100%4G and %%25 and 50% off", "100%4G and %%25 and 50% off");
    /* Ends in '%' at end of text, seen only by the form decoder. */
    CHECK_INT(redact_add(r, "PCT", "pass word%", 10), REDACT_OK);
    EXPECT(r, "k=pass+word%", "k=<secret PCT>");
    EXPECT(r, "k=pass+word%4", "k=<secret PCT>4");
    redact_free(r);
}

static void test_xml_escapes(void)
{
    redact_t *r = redact_new();

    CHECK_INT(redact_add(r, "XMLY", "<a&b>\"it's\"", 11), REDACT_OK);
    EXPECT(r, "<v>&lt;a&amp;b&gt;&quot;it&apos;s&quot;</v>",
           "<v><secret XMLY></v>");
    EXPECT(r, "<v>&#60;a&#x26;b&#X3e;&#34;it&#39;s&#x22;</v>",
           "<v><secret XMLY></v>");
    EXPECT(r, "&amp &lt &#; &#x; &nbsp; &#99999999;",
           "&amp &lt &#; &#x; &nbsp; &#99999999;");
    redact_free(r);
}

/* A value from a file or a quoted .env line is printed without the
** newline or the quotes. */
static void test_trimmed(void)
{
    redact_t *r = redact_new();
    struct dynbuf b = unit_buf_new();

    CHECK_INT(redact_add(r, "FILEKEY", "  tok-1234567890\n", 17),
              REDACT_OK);
    CHECK_INT(redact_add(r, "QUOTED", "\"quoted secret value\"", 21),
              REDACT_OK);
    EXPECT(r, "key=tok-1234567890;", "key=<secret FILEKEY>;");
    EXPECT(r, "v=quoted secret value.", "v=<secret QUOTED>.");
    unit_buf_str(&b, "b64=");
    enc_b64(&b, (const unsigned char *)"tok-1234567890", 14, std64, 1);
    expect(r, b.p, b.len, "b64=<secret FILEKEY>");
    unit_buf_free(&b);
    redact_free(r);
}

/* Below REDACT_MIN_ENCODED bytes only the raw value is masked (through
** the escape decoders too); its base64 and hex forms stay. */
static void test_short_secret(void)
{
    redact_t *r = redact_new();

    CHECK_INT(redact_add(r, "SHORT", "abc", 3), REDACT_OK);
    EXPECT(r, "xabcx", "x<secret SHORT>x");
    EXPECT(r, "YWJj 616263 YWJjZA==", "YWJj 616263 YWJjZA==");
    EXPECT(r, "q=%61bc", "q=<secret SHORT>");
    EXPECT(r, "ab ac bc", "ab ac bc");
    CHECK_INT(redact_pattern_count(r), 1);
    redact_free(r);
}

static const char ordinary[] =
    "2024-05-01T12:00:00Z INFO GET /api/v1/posts?limit=20&offset=40 200\n"
    "2024-05-01T12:00:01Z WARN retry 2/5 after 503 (Retry-After: 3)\n"
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"He said "
    "\\\"hello\\\"\\n\"}}],\"path\":\"a\\/b\","
    "\"u\":\"\\u00e9\\ud83d\\ude00\"}\n"
    "redirect_uri=https%3A%2F%2Fexample.com%2Fcb&scope=a+b+c 100% done\n"
    "<p>Tom &amp; Jerry &lt;3 &#169; &#x2F; &quot;q&quot;</p>\n"
    "blob=SGVsbG8sIFdvcmxkIQ== hex=48656c6c6f2c20576f726c6421 "
    "C:\\Users\\me\\new\\table.txt\n"
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
    "-----END PUBLIC KEY-----\n"
    "tokens: The quick brown fox jumps over the lazy dog 0123456789 "
    "\t~!@#$^*()_+-=[]{}|;:',.<>/?\n";

static void test_no_overmasking(void)
{
    redact_t *r = all_secrets(), *none = redact_new();

    expect(r, ordinary, sizeof ordinary - 1, ordinary);
    expect(none, ordinary, sizeof ordinary - 1, ordinary);
    expect(r, "", 0, "");
    CHECK_INT(redact_pattern_count(none), 0);
    redact_free(r);
    redact_free(none);
}

/* ---- streaming --------------------------------------------------- */

static size_t stream_put(redact_stream_t *s, const char *t)
{
    CHECK_INT(redact_stream_write(s, t, strlen(t)), REDACT_OK);
    return redact_stream_held(s);
}

static void test_holdback(void)
{
    redact_t *r = redact_new();
    struct dynbuf out = unit_buf_new();
    redact_stream_t *s;

    CHECK_INT(redact_add(r, "HB", "Zq9Xw2Lm7Pk4Rt", 14), REDACT_OK);
    s = redact_stream_new(r, sink, &out);
    unit_buf_add(&out, "", 0);
    CHECK_INT(stream_put(s, "hello, world: "), 0);
    CHECK_STR(out.p, "hello, world: ");
    CHECK_INT(stream_put(s, "token Zq9X"), 4);
    CHECK_STR(out.p, "hello, world: token ");
    CHECK_INT(stream_put(s, "w2"), 6);
    CHECK_INT(stream_put(s, "Lm7Pk4Rt"), 0);
    CHECK_STR(out.p, "hello, world: token <secret HB>");
    /* Words streamed to a terminal without a newline show at once. */
    CHECK_INT(stream_put(s, " The"), 0);
    CHECK_INT(stream_put(s, " quick"), 0);
    CHECK_INT(stream_put(s, " brown."), 0);
    CHECK_STR(out.p, "hello, world: token <secret HB> The quick brown.");
    /* An escape that is not finished may still decode to a secret. */
    CHECK_INT(stream_put(s, " 100%"), 1);
    CHECK_INT(stream_put(s, "2"), 2);
    CHECK_INT(stream_put(s, "5!"), 0);
    CHECK_INT(stream_put(s, " x\\"), 1);
    CHECK_INT(stream_put(s, "n &am"), 3);
    CHECK_INT(stream_put(s, "p; Zq"), 2);
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK_INT(redact_stream_held(s), 0);
    CHECK_STR(out.p, "hello, world: token <secret HB> The quick brown."
                     " 100%25! x\\n &amp; Zq");
    redact_stream_free(s);
    unit_buf_free(&out);
    redact_free(r);
}

/* A flush in the middle of a secret lets its first part out (by
** contract) but the rest is still masked. */
static void test_flush_midway(void)
{
    redact_t *r = redact_new();
    struct dynbuf out = unit_buf_new();
    redact_stream_t *s;

    CHECK_INT(redact_add(r, "HB", "Zq9Xw2Lm7Pk4Rt", 14), REDACT_OK);
    s = redact_stream_new(r, sink, &out);
    stream_put(s, "a Zq9X");
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK_STR(out.p, "a Zq9X");
    stream_put(s, "w2Lm7Pk4Rt b");
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK_STR(out.p, "a Zq9X<secret HB> b");
    redact_stream_free(s);
    unit_buf_free(&out);
    redact_free(r);
}

/* A secret registered while a stream holds its beginning. */
static void test_added_midstream(void)
{
    redact_t *r = redact_new();
    struct dynbuf out = unit_buf_new();
    redact_stream_t *s;

    CHECK_INT(redact_add(r, "OLD", "NEWSECRETPART-old", 17), REDACT_OK);
    s = redact_stream_new(r, sink, &out);
    CHECK_INT(stream_put(s, "hello NEWSECRETPART"), 13);
    CHECK_INT(redact_add(r, "NEW", "NEWSECRETPARTIAL-123", 20), REDACT_OK);
    stream_put(s, "IAL-123 end");
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK_STR(out.p, "hello <secret NEW> end");
    redact_stream_free(s);
    unit_buf_free(&out);
    redact_free(r);
}

static int failing_sink(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return -1;
}

static void test_write_error(void)
{
    redact_t *r = redact_new();
    redact_stream_t *s;

    CHECK_INT(redact_add(r, "HB", "Zq9Xw2Lm7Pk4Rt", 14), REDACT_OK);
    s = redact_stream_new(r, failing_sink, NULL);
    CHECK_INT(redact_stream_write(s, "abc\n", 4), REDACT_EWRITE);
    CHECK_INT(redact_stream_write(s, "abc\n", 4), REDACT_EWRITE);
    CHECK_INT(redact_stream_flush(s), REDACT_EWRITE);
    redact_stream_free(s);
    redact_free(r);
}

/* A periodic secret in endless text: masks are cut every RUN_MAX bytes
** and the stream never holds much more. */
static void test_long_run(void)
{
    redact_t *r = redact_new();
    struct dynbuf text = unit_buf_new(), out, got = unit_buf_new();
    redact_stream_t *s;
    size_t i, maxheld = 0;

    CHECK_INT(redact_add(r, "P", "abababab", 8), REDACT_OK);
    for (i = 0; i < 100000; i++)
        unit_buf_str(&text, "ab");
    unit_buf_str(&text, "!");
    out = oneshot(r, text.p, text.len);
    CHECK_STR(out.p, "<secret P><secret P><secret P><secret P>!");
    s = redact_stream_new(r, sink, &got);
    for (i = 0; i < text.len; i += 997) {
        size_t m = text.len - i < 997 ? text.len - i : 997;
        CHECK_INT(redact_stream_write(s, text.p + i, m), REDACT_OK);
        if (redact_stream_held(s) > maxheld)
            maxheld = redact_stream_held(s);
    }
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK(same(&out, &got));
    CHECK(maxheld <= REDACT_RUN_MAX + 1024);
    redact_stream_free(s);
    unit_buf_free(&text);
    unit_buf_free(&out);
    unit_buf_free(&got);
    redact_free(r);
}

static const char junk[] = "%+\\&;#xu0123456789abcdefABCDEF \n\"'/=";

/* Whole or cut-off encoded secrets, with escape characters and junk in
** between: the places where decoders start, fail and resume. */
static void random_text(struct dynbuf *text)
{
    size_t k, nfrag = 1 + below(6);

    for (k = 0; k < nfrag; k++) {
        struct dynbuf t = unit_buf_new(), f = unit_buf_new();
        int i = (int)below(NSECRETS);
        size_t from, len;
        make_case(&encs[below(NENCS)], secret[i], secret_len[i], &t, &f);
        from = below(2) ? 0 : below(t.len);
        len = below(2) ? t.len - from : below(t.len - from + 1);
        unit_buf_add(text, t.p + from, len);
        for (len = below(4); len > 0; len--)
            buf_byte(text, (unsigned char)junk[below(sizeof junk - 1)]);
        unit_buf_free(&t);
        unit_buf_free(&f);
    }
}

/* Random texts written in random pieces: always the one-shot output. */
static void test_random_splits(void)
{
    redact_t *r = all_secrets();
    int iter, bad = 0;

    for (iter = 0; iter < 1500; iter++) {
        struct dynbuf text = unit_buf_new(), ref, o;
        size_t cuts[16], ncut = below(16), k;
        random_text(&text);
        ref = oneshot(r, text.p, text.len);
        for (k = 0; k < ncut; k++)
            cuts[k] = below(text.len + 1);
        for (k = 1; k < ncut; k++) {    /* insertion sort */
            size_t j = k, c = cuts[k];
            while (j > 0 && cuts[j - 1] > c) {
                cuts[j] = cuts[j - 1];
                j--;
            }
            cuts[j] = c;
        }
        o = streamed(r, text.p, text.len, cuts, ncut);
        bad += !same(&o, &ref);
        unit_buf_free(&o);
        unit_buf_free(&ref);
        unit_buf_free(&text);
    }
    CHECK_INT(bad, 0);
    printf("ok random splits: 1500 texts, %d mismatches\n", bad);
    redact_free(r);
}

/* ---- marks: pieces a reader may join ----------------------------- */

/* The output cut at the sink's (NULL, 0) signals. */
struct pieces {
    struct dynbuf cur;
    struct dynbuf all[64];
    int n;
};

static int piece_sink(void *ctx, const char *p, size_t n)
{
    struct pieces *ps = ctx;

    if (p) {
        unit_buf_add(&ps->cur, p, n);
        return 0;
    }
    if (ps->n < 64) {
        ps->all[ps->n] = unit_buf_new();
        unit_buf_add(&ps->all[ps->n], ps->cur.p ? ps->cur.p : "",
                     ps->cur.len);
    }
    ps->n++;
    ps->cur.len = 0;
    return 0;
}

static void pieces_free(struct pieces *ps)
{
    int i;

    for (i = 0; i < ps->n && i < 64; i++)
        unit_buf_free(&ps->all[i]);
    unit_buf_free(&ps->cur);
}

/* A piece whose tail could begin a secret is signalled only once the
** next one decides; one that cannot, at once. */
static void test_marks_hold_a_piece(void)
{
    redact_t *r = redact_new();
    struct pieces ps = {unit_buf_new(), {{0}}, 0};
    redact_stream_t *s;

    CHECK_INT(redact_add(r, "HB", "Zq9Xw2Lm7Pk4Rt", 14), REDACT_OK);
    s = redact_stream_new(r, piece_sink, &ps);
    stream_put(s, "first");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(ps.n, 1);
    CHECK_STR(ps.all[0].p, "first");
    stream_put(s, "token Zq9X");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(ps.n, 1);                 /* "Zq9X" may begin HB */
    stream_put(s, "w2Lm7");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(ps.n, 1);
    stream_put(s, "Pk4Rt and more");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(ps.n, 4);
    CHECK_STR(ps.all[1].p, "token <secret HB>");
    CHECK_STR(ps.all[2].p, "");         /* all of it inside the mask */
    CHECK_STR(ps.all[3].p, " and more");
    /* a tail ruled out by the next piece goes with its own piece */
    stream_put(s, "Zq9");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    stream_put(s, "!");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(ps.n, 6);
    CHECK_STR(ps.all[4].p, "Zq9");
    CHECK_STR(ps.all[5].p, "!");
    /* flush signals what is left */
    stream_put(s, "end Zq");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(ps.n, 6);
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK_INT(ps.n, 7);
    CHECK_STR(ps.all[6].p, "end Zq");
    redact_stream_free(s);
    pieces_free(&ps);
    redact_free(r);
}

/* A mask that starts right at a mark belongs to the next piece; marks
** on a stream with no secret, or an empty piece, signal at once. */
static void test_marks_edges(void)
{
    redact_t *r = redact_new();
    struct pieces ps = {unit_buf_new(), {{0}}, 0};
    redact_stream_t *s = redact_stream_new(r, piece_sink, &ps);

    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    stream_put(s, "no secrets yet");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(ps.n, 2);
    CHECK_STR(ps.all[0].p, "");
    CHECK_STR(ps.all[1].p, "no secrets yet");
    CHECK_INT(redact_add(r, "HB", "Zq9Xw2Lm7Pk4Rt", 14), REDACT_OK);
    stream_put(s, "a ");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    stream_put(s, "Zq9Xw2Lm7Pk4Rt");
    CHECK_INT(redact_stream_mark(s), REDACT_OK);
    CHECK_INT(redact_stream_mark(s), REDACT_OK);   /* an empty piece */
    CHECK_INT(redact_stream_flush(s), REDACT_OK);
    CHECK_INT(ps.n, 5);
    CHECK_STR(ps.all[2].p, "a ");
    CHECK_STR(ps.all[3].p, "<secret HB>");
    CHECK_STR(ps.all[4].p, "");
    redact_stream_free(s);
    pieces_free(&ps);
    redact_free(r);
}

/* Does the piece end inside a mask ("<secret " without its name and
** '>')? Then the next one starts inside it. */
static int mask_cut(const struct dynbuf *p)
{
    const char *m = p->p, *end = p->p + p->len;

    while (m && (m = memmem(m, (size_t)(end - m), "<secret ", 8))) {
        const char *gt = memchr(m + 8, '>', (size_t)(end - m - 8));
        if (!gt || gt - m - 8 > REDACT_NAME_MAX)
            return 1;
        m = gt;
    }
    return 0;
}

/* Random texts of encoded secrets cut into random pieces, each marked:
** one signal per mark, the pieces joined give the one-shot output, and
** no piece holds part of a mask, so no secret is split across pieces.
** Then the same text one byte per piece. */
static int marked_mismatch(redact_t *r, const struct dynbuf *text,
                           const size_t *cut, size_t ncut,
                           const struct dynbuf *ref)
{
    struct pieces ps = {unit_buf_new(), {{0}}, 0};
    struct dynbuf joined = unit_buf_new();
    redact_stream_t *s = redact_stream_new(r, piece_sink, &ps);
    size_t at = 0, i;
    int bad = 0;

    for (i = 0; i <= ncut; i++) {
        size_t end = i < ncut ? cut[i] : text->len;
        bad |= redact_stream_write(s, text->p + at, end - at) != 0;
        bad |= redact_stream_mark(s) != 0;
        at = end;
    }
    bad |= redact_stream_flush(s) != 0;
    bad |= ps.n != (int)ncut + 1 || ps.cur.len != 0;
    for (i = 0; i < (size_t)ps.n && i < 64; i++) {
        const struct dynbuf *p = &ps.all[i];
        bad |= mask_cut(p);
        unit_buf_add(&joined, p->p ? p->p : "", p->len);
    }
    bad |= !same(&joined, ref);
    redact_stream_free(s);
    pieces_free(&ps);
    unit_buf_free(&joined);
    return bad;
}

static void test_marks_random(void)
{
    redact_t *r = all_secrets();
    int iter, bad = 0;

    for (iter = 0; iter < 600; iter++) {
        struct dynbuf text = unit_buf_new(), ref;
        size_t cuts[64], ncut = below(12), k;
        random_text(&text);
        ref = oneshot(r, text.p, text.len);
        for (k = 0; k < ncut; k++)
            cuts[k] = below(text.len + 1);
        for (k = 1; k < ncut; k++) {    /* insertion sort */
            size_t j = k, c = cuts[k];
            while (j > 0 && cuts[j - 1] > c) {
                cuts[j] = cuts[j - 1];
                j--;
            }
            cuts[j] = c;
        }
        bad += marked_mismatch(r, &text, cuts, ncut, &ref);
        if (text.len <= 64) {
            for (k = 0; k + 1 < text.len; k++)
                cuts[k] = k + 1;
            bad += marked_mismatch(r, &text, cuts,
                                   text.len ? text.len - 1 : 0, &ref);
        }
        unit_buf_free(&ref);
        unit_buf_free(&text);
    }
    CHECK_INT(bad, 0);
    printf("ok marks: 600 texts in marked pieces, %d mismatches\n", bad);
    redact_free(r);
}

/* ---- brute-force oracle ------------------------------------------ */

/* A second, deliberately naive reading of the contract: decode the
** whole text greedily left to right in each of the five ways, find
** every occurrence of every (short, raw-only) secret in each decoding,
** map it back to input bytes, merge overlapping spans, name each run
** after its leftmost-longest match (then the first name). */

static int ohex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 32) >= 'a' && (c | 32) <= 'f')
        return (c | 32) - 'a' + 10;
    return -1;
}

static int ohex4(const char *p, size_t avail, unsigned *v)
{
    int i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        if ((size_t)i >= avail || ohex(p[i]) < 0)
            return 0;
        *v = *v * 16 + (unsigned)ohex(p[i]);
    }
    return 1;
}

static size_t outf8(unsigned cp, char *o)
{
    struct dynbuf b = unit_buf_new();
    size_t n;

    if (cp < 0x80) {
        buf_byte(&b, cp);
    } else if (cp < 0x800) {
        buf_byte(&b, 0xC0 | cp >> 6);
        buf_byte(&b, 0x80 | (cp & 63));
    } else if (cp < 0x10000) {
        buf_byte(&b, 0xE0 | cp >> 12);
        buf_byte(&b, 0x80 | ((cp >> 6) & 63));
        buf_byte(&b, 0x80 | (cp & 63));
    } else {
        buf_byte(&b, 0xF0 | cp >> 18);
        buf_byte(&b, 0x80 | ((cp >> 12) & 63));
        buf_byte(&b, 0x80 | ((cp >> 6) & 63));
        buf_byte(&b, 0x80 | (cp & 63));
    }
    memcpy(o, b.p, b.len);
    n = b.len;
    unit_buf_free(&b);
    return n;
}

/* Length of the JSON escape at t (0: none), decoded into o. */
static size_t ojson(const char *t, size_t n, char *o, size_t *no)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p = n > 1 && t[1] ? strchr(from, t[1]) : NULL;
    unsigned hi, lo;

    if (n < 2 || t[0] != '\\')
        return 0;
    if (p) {
        o[0] = to[p - from];
        *no = 1;
        return 2;
    }
    if (t[1] != 'u' || !ohex4(t + 2, n - 2, &hi)
        || (hi >= 0xDC00 && hi <= 0xDFFF))
        return 0;
    if (hi < 0xD800 || hi > 0xDBFF) {
        *no = outf8(hi, o);
        return 6;
    }
    if (n < 12 || t[6] != '\\' || t[7] != 'u'
        || !ohex4(t + 8, n - 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    *no = outf8(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), o);
    return 12;
}

/* Length of the XML reference at t (0: none), decoded into o. */
static size_t oxml(const char *t, size_t n, char *o, size_t *no)
{
    static const char *const name[] = { "amp;", "lt;", "gt;", "quot;",
                                        "apos;" };
    unsigned long v = 0;
    size_t k, i;
    int base = 10;

    for (i = 0; i < 5; i++)
        if (n > strlen(name[i]) && t[0] == '&'
            && memcmp(t + 1, name[i], strlen(name[i])) == 0) {
            o[0] = "&<>\"'"[i];
            *no = 1;
            return strlen(name[i]) + 1;
        }
    if (n < 4 || t[0] != '&' || t[1] != '#')
        return 0;
    k = 2;
    if (t[2] == 'x' || t[2] == 'X') {
        base = 16;
        k = 3;
    }
    for (i = k; i < n && i < 12 && t[i] != ';'; i++) {
        int d = base == 16 ? ohex(t[i])
                           : (t[i] >= '0' && t[i] <= '9' ? t[i] - '0' : -1);
        if (d < 0 || (v = v * (unsigned)base + (unsigned)d) > 0x10FFFF)
            return 0;
    }
    if (i == k || i >= n || t[i] != ';' || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *no = outf8((unsigned)v, o);
    return i + 1;
}

/* Escape at t in decoding mode 1..4 (percent, form, JSON, XML). */
static size_t oesc(int mode, const char *t, size_t n, char *o, size_t *no)
{
    if (mode <= 2 && t[0] == '%' && n > 2 && ohex(t[1]) >= 0
        && ohex(t[2]) >= 0) {
        o[0] = (char)(ohex(t[1]) * 16 + ohex(t[2]));
        *no = 1;
        return 3;
    }
    if (mode == 2 && t[0] == '+') {
        o[0] = ' ';
        *no = 1;
        return 1;
    }
    if (mode == 3)
        return ojson(t, n, o, no);
    return mode == 4 ? oxml(t, n, o, no) : 0;
}

struct odec {
    char d[512];
    size_t from[512], to[512], n;
};

static void odecode(int mode, const char *t, size_t n, struct odec *o)
{
    size_t k = 0, q;

    o->n = 0;
    while (k < n) {
        char e[4];
        size_t ne = 0, len = mode ? oesc(mode, t + k, n - k, e, &ne) : 0;
        if (!len) {
            e[0] = t[k];
            ne = len = 1;
        }
        for (q = 0; q < ne; q++) {
            o->d[o->n] = e[q];
            o->from[o->n] = k;
            o->to[o->n++] = k + len;
        }
        k += len;
    }
}

struct osecrets {
    char v[4][16];
    size_t len[4];
    int n;
};

/* For each input byte, the end of the longest match starting there. */
static void omatches(const struct osecrets *sc, const char *t, size_t n,
                     size_t *end, int *id)
{
    static struct odec o;
    size_t k;
    int mode, i;

    for (mode = 0; mode < 5; mode++) {
        odecode(mode, t, n, &o);
        for (k = 0; k < o.n; k++)
            for (i = 0; i < sc->n; i++) {
                size_t s0, e0;
                int first = i, j;
                if (sc->len[i] > o.n - k
                    || memcmp(o.d + k, sc->v[i], sc->len[i]))
                    continue;
                for (j = 0; j < i; j++)
                    if (sc->len[j] == sc->len[i]
                        && !memcmp(sc->v[j], sc->v[i], sc->len[i])) {
                        first = j;
                        break;
                    }
                s0 = o.from[k];
                e0 = o.to[k + sc->len[i] - 1];
                if (e0 > end[s0] || (e0 == end[s0] && first < id[s0])) {
                    end[s0] = e0;
                    id[s0] = first;
                }
            }
    }
}

static void oracle(const struct osecrets *sc, const char *t, size_t n,
                   struct dynbuf *want)
{
    size_t end[512] = { 0 }, k = 0, j, e;
    int id[512];
    char mask[32];

    omatches(sc, t, n, end, id);
    unit_buf_add(want, "", 0);
    while (k < n) {
        if (!end[k]) {
            unit_buf_add(want, t + k, 1);
            k++;
            continue;
        }
        for (e = end[k], j = k + 1; j < e; j++)
            if (end[j] > e)
                e = end[j];
        snprintf(mask, sizeof mask, "<secret N%d>", id[k]);
        unit_buf_str(want, mask);
        k = e;
    }
}

static void oracle_case(struct osecrets *sc, struct dynbuf *text)
{
    static const char *const sbits[] = { "a", "A", " ", "%", "+", "\"",
        "\n", "/", "&", "<", "\xf0\x9f\x98\x80", "\xc3\xa9" };
    static const char *const tbits[] = { "a", "A", " ", "%", "+", "4", "1",
        "2", "0", "\\", "u", "D", "8", "3", "C", "d", "e", "\"", "n", "/",
        "&", "#", "x", ";", "lt", "amp", "3C", "26", "\xf0", "\\ud83d",
        "\\ude00", "\\u00", "%F0%9F", "%98%80", "\xc3\xa9", "&#x" };
    static const char *const ends[] = { "%", "%4", "\\", "\\u00", "&",
        "&#", "&am", "\\ud83d", "+%", " %" };
    size_t k, m;
    int i;

    sc->n = 1 + (int)below(3);
    for (i = 0; i < sc->n; i++)
        for (sc->len[i] = 0, m = 1 + below(3), k = 0; k < m; k++) {
            const char *b = sbits[below(12)];
            memcpy(sc->v[i] + sc->len[i], b, strlen(b));
            sc->len[i] += strlen(b);
        }
    for (m = below(60), k = 0; k < m; k++)
        unit_buf_str(text, tbits[below(sizeof tbits / sizeof *tbits)]);
    /* A quarter end inside an escape: what a flush must settle. */
    if (below(4) == 0)
        unit_buf_str(text, ends[below(sizeof ends / sizeof *ends)]);
}

static void test_oracle(void)
{
    int iter, bad = 0, masked = 0, i;

    for (iter = 0; iter < 20000; iter++) {
        struct osecrets sc;
        struct dynbuf text = unit_buf_new(), want = unit_buf_new();
        struct dynbuf got, bytes;
        redact_t *r = redact_new();
        char name[16];
        oracle_case(&sc, &text);
        unit_buf_add(&text, "", 0);
        for (i = 0; i < sc.n; i++) {
            snprintf(name, sizeof name, "N%d", i);
            CHECK_INT(redact_add(r, name, sc.v[i], sc.len[i]), REDACT_OK);
        }
        oracle(&sc, text.p, text.len, &want);
        got = oneshot(r, text.p, text.len);
        bytes = streamed_bytewise(r, &text);
        bad += !same(&got, &want) || !same(&bytes, &want);
        masked += strstr(want.p, "<secret ") != NULL;
        unit_buf_free(&text);
        unit_buf_free(&want);
        unit_buf_free(&got);
        unit_buf_free(&bytes);
        redact_free(r);
    }
    CHECK_INT(bad, 0);
    CHECK(masked > 2000);
    printf("ok oracle: 20000 texts (%d with masks), %d differ\n", masked,
           bad);
}

/* ---- limits ------------------------------------------------------ */

static void test_bad_arguments(void)
{
    redact_t *r = redact_new();
    unsigned char *big = calloc(1, REDACT_SECRET_MAX + 1);

    CHECK_INT(redact_add(r, "", "x", 1), REDACT_EINVAL);
    CHECK_INT(redact_add(r, "bad name", "xxxxxxxx", 8), REDACT_EINVAL);
    CHECK_INT(redact_add(r, "X<", "xxxxxxxx", 8), REDACT_EINVAL);
    CHECK_INT(redact_add(r, "N", "x", 0), REDACT_EINVAL);
    CHECK_INT(redact_add(r, NULL, "x", 1), REDACT_EINVAL);
    CHECK_INT(redact_add(r, "BIG", big, REDACT_SECRET_MAX + 1),
              REDACT_EINVAL);
    CHECK_INT(redact_add(r, "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN"
                         "NNNNNNNNNNNNNNNNNNNN", "xxxxxxxx", 8),
              REDACT_EINVAL);
    CHECK_INT(redact_add_basic(r, "B", "u", 1, "", 0), REDACT_EINVAL);
    CHECK_INT(redact_buf(r, NULL, 3, NULL, NULL), REDACT_EINVAL);
    CHECK_INT(redact_secret_count(r), 0);
    CHECK_STR(redact_strerror(REDACT_ELIMIT), "redactor limit reached");
    redact_free(r);
    free(big);
}

/* Big values until the pattern budget runs out: the failed add leaves
** nothing behind and the redactor still works. */
static void test_pattern_budget(void)
{
    redact_t *r = redact_new();
    unsigned char *big = malloc(REDACT_SECRET_MAX);
    char name[16];
    int i, rc = REDACT_OK;

    for (i = 0; i < 40 && rc == REDACT_OK; i++) {
        size_t k;
        for (k = 0; k < REDACT_SECRET_MAX; k++)
            big[k] = (unsigned char)(rnd() >> 24);
        snprintf(name, sizeof name, "BIG%d", i);
        rc = redact_add(r, name, big, REDACT_SECRET_MAX);
    }
    CHECK_INT(rc, REDACT_ELIMIT);
    CHECK(i > 5);
    CHECK_INT(redact_secret_count(r), i - 1);
    EXPECT(r, "plain text\n", "plain text\n");
    redact_free(r);
    free(big);
}

static void test_name_limit(void)
{
    redact_t *r = redact_new();
    char name[16];
    int i;

    for (i = 0; i < REDACT_SECRETS_MAX; i++) {
        snprintf(name, sizeof name, "K%d", i);
        CHECK_INT(redact_add(r, name, name, strlen(name)), REDACT_OK);
    }
    CHECK_INT(redact_add(r, "ONE_TOO_MANY", "zzzzzzzz", 8), REDACT_ELIMIT);
    CHECK_INT(redact_add(r, "K1", "another-value", 13), REDACT_OK);
    EXPECT(r, "another-value", "<secret K1>");
    redact_free(r);
}

int main(void)
{
    int i;

    for (i = 0; i < NSECRETS; i++)
        make_secret(i);
    make_pem();
    RUN(test_matrix);
    RUN(test_lines);
    RUN(test_prefix_and_overlap);
    RUN(test_basic);
    RUN(test_json_escapes);
    RUN(test_url_escapes);
    RUN(test_xml_escapes);
    RUN(test_trimmed);
    RUN(test_short_secret);
    RUN(test_no_overmasking);
    RUN(test_holdback);
    RUN(test_flush_midway);
    RUN(test_added_midstream);
    RUN(test_write_error);
    RUN(test_long_run);
    RUN(test_random_splits);
    RUN(test_marks_hold_a_piece);
    RUN(test_marks_edges);
    RUN(test_marks_random);
    RUN(test_oracle);
    RUN(test_bad_arguments);
    RUN(test_pattern_budget);
    RUN(test_name_limit);
    return unit_done("redact");
}
