/*
** redact_bench.c -- throughput of the output redactor (host/pure/redact.c).
**
** Builds 64 MB of log-like text in memory (access lines, JSON with
** escapes, URL query strings, base64 and hex ids, chat tokens) with a
** few occurrences of the secrets in several encodings, registers 10
** random 40-byte secrets and writes the text through one stream in
** 16 KiB pieces to a sink that only counts. Prints the best of a few
** runs: "redactor: N MB/s with 10 secrets (K patterns)", MB = 10^6
** bytes, then the same for the one-shot call and for text rich in
** escapes. Times are process CPU time, so other load on a shared
** machine does not halve the figure. Standalone: no Lua, no curl.
*/
#include "pure/redact.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEXT_BYTES (64u * 1000u * 1000u)
#define PIECE (16u * 1024u)
#define ROUNDS 3
#define NSEC 10
#define NMANY 64
#define SECLEN 40

static uint64_t rng = 0xbe4c4ULL;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static unsigned char secrets[NMANY][SECLEN];

struct text {
    char *p;
    size_t n, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->n + n > t->cap)
        n = t->cap - t->n;
    memcpy(t->p + t->n, s, n);
    t->n += n;
}

static void puts_(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_word(struct text *t, size_t len)
{
    char w[32];
    size_t i;

    for (i = 0; i < len && i < sizeof w; i++)
        w[i] = alnum[26 + rnd() % 26];
    put(t, w, i);
}

static void put_hex(struct text *t, size_t len)
{
    char w[64];
    size_t i;

    for (i = 0; i < len && i < sizeof w; i++)
        w[i] = "0123456789abcdef"[rnd() % 16];
    put(t, w, i);
}

/* One line of a plausible host log; escapes appear at their usual
** rate, not everywhere. */
static void put_line(struct text *t, int escapes)
{
    char head[96];
    unsigned k = (unsigned)(rnd() % 10);

    snprintf(head, sizeof head, "2024-05-01T12:%02u:%02u.%03uZ %s ",
             (unsigned)(rnd() % 60), (unsigned)(rnd() % 60),
             (unsigned)(rnd() % 1000), k < 7 ? "INFO" : "WARN");
    puts_(t, head);
    if (escapes || k == 0) {
        puts_(t, "{\"role\":\"assistant\",\"content\":\"He said \\\"");
        put_word(t, 6);
        puts_(t, "\\\" at C:\\\\tmp\\\\x and left.\\n\",\"url\":\"https:\\/\\/"
                 "example.com\\/a?q=1&amp;r=2\"}");
    } else if (k < 4) {
        puts_(t, "GET /api/v1/posts?limit=20&q=hello+world%21&next=");
        put_hex(t, 16);
        puts_(t, " 200 12ms");
    } else if (k < 6) {
        puts_(t, "request id=");
        put_hex(t, 32);
        puts_(t, " token=eyJhbGciOiJIUzI1NiJ9.");
        put_word(t, 20);
    } else {
        size_t w;
        puts_(t, "chat:");
        for (w = 0; w < 12; w++) {
            puts_(t, " ");
            put_word(t, 2 + rnd() % 8);
        }
    }
    puts_(t, "\n");
}

static void put_b64(struct text *t, const unsigned char *v, size_t n)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char o[128];
    size_t i, k = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t x = (uint32_t)v[i] << 16 | v[i + 1] << 8 | v[i + 2];
        o[k++] = a[x >> 18];
        o[k++] = a[(x >> 12) & 63];
        o[k++] = a[(x >> 6) & 63];
        o[k++] = a[x & 63];
    }
    put(t, o, k);
}

/* A secret escaped the way a JSON encoder (json) or a URL encoder
** (!json) would: '/' and '+' are the characters that need it here. */
static void put_escaped(struct text *t, const unsigned char *s, int json)
{
    size_t i;

    for (i = 0; i < SECLEN; i++) {
        if (s[i] == '/')
            puts_(t, json ? "\\/" : "%2F");
        else if (s[i] == '+' && !json)
            puts_(t, "%2B");
        else
            put(t, (const char *)s + i, 1);
    }
}

/* A secret in one of a few encodings, once per megabyte. */
static void put_secret(struct text *t, unsigned i)
{
    const unsigned char *s = secrets[i % NSEC];

    puts_(t, "leak: ");
    switch (i % 4) {
    case 0: put(t, (const char *)s, SECLEN); break;
    case 1: {
        unsigned char blob[SECLEN + 2];
        memcpy(blob, s, SECLEN);
        memcpy(blob + SECLEN, "ok", 2);
        put_b64(t, blob, sizeof blob);
        break;
    }
    default: put_escaped(t, s, i % 4 == 2); break;
    }
    puts_(t, "\n");
}

static struct text make_text(int escapes)
{
    struct text t = { malloc(TEXT_BYTES), 0, TEXT_BYTES };
    unsigned next = 0;

    if (!t.p)
        exit(1);
    while (t.n < t.cap) {
        if (t.n / 1000000 >= next) {
            put_secret(&t, next);
            next++;
        }
        put_line(&t, escapes);
    }
    return t;
}

struct count {
    size_t bytes, masks;
};

static int on_write(void *ctx, const char *p, size_t n)
{
    struct count *c = ctx;
    const char *q = p;

    c->bytes += n;
    while ((q = memchr(q, '<', (size_t)(p + n - q))) != NULL) {
        if ((size_t)(p + n - q) >= 8 && memcmp(q, "<secret ", 8) == 0)
            c->masks++;
        q++;
    }
    return 0;
}

/* CPU seconds of this process: the figure is the redactor's cost, not
** the scheduler's. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of ROUNDS stream runs over t, in MB/s. */
static double run_stream(redact_t *r, const struct text *t,
                         struct count *c)
{
    double best = 1e30;
    int round;

    for (round = 0; round < ROUNDS; round++) {
        redact_stream_t *s = redact_stream_new(r, on_write, c);
        double t0 = now(), dt;
        size_t at;
        memset(c, 0, sizeof *c);
        for (at = 0; at < t->n; at += PIECE) {
            size_t m = t->n - at < PIECE ? t->n - at : PIECE;
            if (redact_stream_write(s, t->p + at, m) != REDACT_OK)
                exit(1);
        }
        if (redact_stream_flush(s) != REDACT_OK)
            exit(1);
        dt = now() - t0;
        redact_stream_free(s);
        if (dt < best)
            best = dt;
    }
    return (double)t->n / 1e6 / best;
}

static double run_oneshot(redact_t *r, const struct text *t)
{
    double best = 1e30;
    int round;

    for (round = 0; round < ROUNDS; round++) {
        char *out;
        size_t n;
        double t0 = now(), dt;
        if (redact_buf(r, t->p, t->n, &out, &n) != REDACT_OK)
            exit(1);
        dt = now() - t0;
        free(out);
        if (dt < best)
            best = dt;
    }
    return (double)t->n / 1e6 / best;
}

/* A redactor with the first n secrets, API-key-like values. */
static redact_t *with_secrets(int n)
{
    redact_t *r = redact_new();
    char name[16];
    int i;

    for (i = 0; r && i < n; i++) {
        snprintf(name, sizeof name, "KEY_%d", i);
        if (redact_add(r, name, secrets[i], SECLEN) != REDACT_OK)
            exit(1);
    }
    return r;
}

int main(void)
{
    redact_t *r, *many, *none;
    struct text plain, esc;
    struct count c;
    double mbs;
    int i, k;

    for (i = 0; i < NMANY; i++)
        for (k = 0; k < SECLEN; k++)
            secrets[i][k] = (unsigned char)"ABCDEFGHIJKLMNOPQRSTUVWXYZabcd"
                "efghijklmnopqrstuvwxyz0123456789-_./+"[rnd() % 66];
    r = with_secrets(NSEC);
    many = with_secrets(NMANY);
    none = with_secrets(0);
    if (!r || !many || !none)
        return 1;
    plain = make_text(0);
    esc = make_text(1);
    mbs = run_stream(r, &plain, &c);
    printf("redactor: %.0f MB/s with %d secrets (%zu patterns)\n", mbs,
           NSEC, redact_pattern_count(r));
    printf("  stream, 16 KiB writes: %.1f MB in, %.1f MB out, %zu masks\n",
           (double)plain.n / 1e6, (double)c.bytes / 1e6, c.masks);
    printf("  one-shot redact_buf:   %.0f MB/s\n", run_oneshot(r, &plain));
    mbs = run_stream(r, &esc, &c);
    printf("  JSON-escaped lines:    %.0f MB/s (%zu masks)\n", mbs,
           c.masks);
    mbs = run_stream(many, &plain, &c);
    printf("  %d secrets:            %.0f MB/s (%zu patterns)\n", NMANY,
           mbs, redact_pattern_count(many));
    printf("  no secrets registered: %.0f MB/s\n",
           run_stream(none, &plain, &c));
    free(plain.p);
    free(esc.p);
    redact_free(r);
    redact_free(many);
    redact_free(none);
    return 0;
}
