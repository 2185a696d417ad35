/*
** netpolicy.c -- the egress policy of the HTTP primitive: schemes, hosts
** and the addresses a connection may reach.
**
** Pure C, no allocation; netpolicy.h is the contract, docs/egress.md the
** user's view. The address tables model the IANA IPv4 and IPv6
** Special-Purpose Address Registries (RFC 6890 and its updates): what is
** not globally reachable is refused. The few places where we refuse more
** than the registries do are marked "stricter than IANA".
*/
#include "pure/netpolicy.h"
#include "util/quote.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DETAIL_MAX  192     /* an inner error message */
#define INPUT_MAX   1024    /* longest argument we look at */
#define CT_INPUT_MAX 65536  /* longest CLAWHOST_CONNECT_TO */

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Pure modules never print: errors go to the caller's buffer. */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Value of a hex digit, or -1; locale-free on purpose (hosts are ASCII). */
static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int to_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int ascii_ieq(const char *a, const char *b)
{
    while (*a && to_lower((unsigned char)*a) == to_lower((unsigned char)*b))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

/* strlen that stops looking after INPUT_MAX bytes. */
static size_t bounded_len(const char *s)
{
    const char *nul = memchr(s, '\0', INPUT_MAX + 1);
    return nul ? (size_t)(nul - s) : INPUT_MAX + 1;
}

/* ------------------------------------------------------------------ */
/* IP literal parsing                                                   */

/*
** One inet_aton part starting at s[*i], up to the next '.' or the end:
** decimal, octal after a leading 0 ("0" alone is octal zero), hex after
** 0x. No sign, no blanks. Values above 2^32 - 1 fail, as in glibc.
*/
static int parse_part(const char *s, size_t n, size_t *i, uint32_t *out)
{
    size_t k = *i;
    unsigned base = 10, digits = 0;
    uint64_t v = 0;

    if (k >= n || !is_digit(s[k]))
        return -1;
    if (s[k] == '0' && k + 1 < n && (s[k + 1] == 'x' || s[k + 1] == 'X')) {
        base = 16;
        k += 2;
    } else if (s[k] == '0') {
        base = 8;
    }
    for (; k < n && s[k] != '.'; k++, digits++) {
        int d = hex_value((unsigned char)s[k]);
        if (d < 0 || (unsigned)d >= base)
            return -1;
        v = v * base + (unsigned)d;
        if (v > 0xffffffffu)
            return -1;
    }
    if (digits == 0)
        return -1;
    *i = k;
    *out = (uint32_t)v;
    return 0;
}

/*
** inet_aton(3) on s[0..n). glibc's resolver and libcurl both accept these
** spellings, so the policy must read every one of them the same way:
** classifiers that did not are CVE-2023-42282 and CVE-2024-29415
** (node-ip) and the reason curl's libcurl-security.md warns about them.
** With k parts the first k-1 are bytes and the last fills the rest.
*/
static int parse_ipv4(const char *s, size_t n, uint32_t *out)
{
    uint32_t part[4], a = 0;
    size_t np = 0, i = 0, k;
    unsigned last_bits;

    for (;;) {
        if (np == 4 || parse_part(s, n, &i, &part[np]) < 0)
            return -1;
        np++;
        if (i == n)
            break;
        i++;                        /* the '.' parse_part stopped at */
    }
    for (k = 0; k + 1 < np; k++) {
        if (part[k] > 255)
            return -1;
        a |= part[k] << (24 - 8 * k);
    }
    last_bits = 32 - 8 * (unsigned)(np - 1);
    if (last_bits < 32 && (part[np - 1] >> last_bits) != 0)
        return -1;
    *out = a | part[np - 1];
    return 0;
}

static void put_ipv4(uint32_t a, unsigned char out[4])
{
    out[0] = (unsigned char)(a >> 24);
    out[1] = (unsigned char)(a >> 16);
    out[2] = (unsigned char)(a >> 8);
    out[3] = (unsigned char)a;
}

int netpolicy_ipv4_parse(const char *s, unsigned char out[4])
{
    uint32_t a;
    size_t n;

    if (!s || (n = bounded_len(s)) > INPUT_MAX || parse_ipv4(s, n, &a) < 0)
        return -1;
    put_ipv4(a, out);
    return 0;
}

/* inet_pton(3) on a bounded copy of s[0..n); no zone id. */
static int parse_ipv6(const char *s, size_t n, unsigned char out[16])
{
    char buf[64];

    if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/*
** An IP literal as text, for classification: IPv4 in any inet_aton
** spelling, IPv6 with or without brackets; a zone id ("%eth0") is
** dropped because it does not change what kind of address it is.
** *sp and *spn get the spelling without brackets, for messages.
*/
static int parse_ip_text(const char *text, int *family, unsigned char b[16],
                         const char **sp, size_t *spn)
{
    size_t n = bounded_len(text);
    const char *pct;
    uint32_t a;

    if (n > INPUT_MAX)
        return -1;
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']')
        text++, n -= 2;
    *sp = text;
    *spn = n;
    if (memchr(text, ':', n)) {
        pct = memchr(text, '%', n);
        *family = AF_INET6;
        return parse_ipv6(text, pct ? (size_t)(pct - text) : n, b);
    }
    if (parse_ipv4(text, n, &a) < 0)
        return -1;
    *family = AF_INET;
    put_ipv4(a, b);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Address classification                                               */

#define V4(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
     ((uint32_t)(c) << 8) | (uint32_t)(d))

static const char META[] = "a cloud metadata address";
static const char PRIV[] = "a private address";
static const char DOC[] = "a documentation address";
static const char BENCH[] = "a benchmarking address";
static const char IETF[] = "an IETF protocol assignment address";

struct range4 {
    uint32_t net;
    unsigned len;
    enum netpolicy_category cat;
    const char *what;
};

/*
** IPv4, most specific first; the first match wins. Metadata services are
** named apart because they hand out cloud credentials (the classic SSRF
** target): AWS/GCP/Azure/OCI IMDS, AWS ECS task credentials, AWS EKS Pod
** Identity, Alibaba Cloud.
*/
static const struct range4 table4[] = {
    { V4(169, 254, 169, 254), 32, NETPOLICY_METADATA, META },
    { V4(169, 254, 170, 2), 32, NETPOLICY_METADATA, META },
    { V4(169, 254, 170, 23), 32, NETPOLICY_METADATA, META },
    { V4(100, 100, 100, 200), 32, NETPOLICY_METADATA, META },
    { V4(255, 255, 255, 255), 32, NETPOLICY_BROADCAST,
      "the limited broadcast address" },                    /* RFC 919 */
    { V4(0, 0, 0, 0), 32, NETPOLICY_UNSPECIFIED,
      "the unspecified address" },                          /* RFC 1122 */
    { V4(0, 0, 0, 0), 8, NETPOLICY_UNSPECIFIED,
      "a \"this network\" address" },                       /* RFC 791 */
    { V4(10, 0, 0, 0), 8, NETPOLICY_PRIVATE, PRIV },        /* RFC 1918 */
    { V4(100, 64, 0, 0), 10, NETPOLICY_CGNAT,
      "a shared (carrier-grade NAT) address" },             /* RFC 6598 */
    { V4(127, 0, 0, 0), 8, NETPOLICY_LOOPBACK,
      "a loopback address" },                               /* RFC 1122 */
    { V4(169, 254, 0, 0), 16, NETPOLICY_LINK_LOCAL,
      "a link-local address" },                             /* RFC 3927 */
    { V4(172, 16, 0, 0), 12, NETPOLICY_PRIVATE, PRIV },
    /* Whole /24, also the .9 and .10 anycast services: stricter than
       IANA; no HTTP service lives there. RFC 6890, RFC 7335. */
    { V4(192, 0, 0, 0), 24, NETPOLICY_RESERVED, IETF },
    { V4(192, 0, 2, 0), 24, NETPOLICY_DOCUMENTATION, DOC }, /* RFC 5737 */
    { V4(192, 88, 99, 0), 24, NETPOLICY_RESERVED,
      "a deprecated 6to4 relay anycast address" },          /* RFC 7526 */
    { V4(192, 168, 0, 0), 16, NETPOLICY_PRIVATE, PRIV },
    { V4(198, 18, 0, 0), 15, NETPOLICY_BENCHMARKING, BENCH }, /* RFC 2544 */
    { V4(198, 51, 100, 0), 24, NETPOLICY_DOCUMENTATION, DOC },
    { V4(203, 0, 113, 0), 24, NETPOLICY_DOCUMENTATION, DOC },
    { V4(224, 0, 0, 0), 4, NETPOLICY_MULTICAST,
      "a multicast address" },                              /* RFC 5771 */
    { V4(240, 0, 0, 0), 4, NETPOLICY_RESERVED,
      "a reserved (240.0.0.0/4) address" },                 /* RFC 1112 */
};

struct range6 {
    unsigned char net[16];
    unsigned len;
    enum netpolicy_category cat;
    const char *what;
};

/* IPv6 after the IPv4-embedding forms are unwrapped; first match wins. */
static const struct range6 table6[] = {
    /* AWS IMDS and EKS Pod Identity over IPv6. */
    { { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 }, 128,
      NETPOLICY_METADATA, META },
    { { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23 }, 128,
      NETPOLICY_METADATA, META },
    { { 0x01, 0x00 }, 64, NETPOLICY_RESERVED,
      "a discard-only address" },                           /* RFC 6666 */
    { { 0x20, 0x01, 0x00, 0x02 }, 48, NETPOLICY_BENCHMARKING, BENCH },
    /* 2001::/23 but Teredo (handled before): stricter than IANA, which
       marks a few anycast and ORCHID blocks inside it global. RFC 2928 */
    { { 0x20, 0x01 }, 23, NETPOLICY_RESERVED, IETF },
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, NETPOLICY_DOCUMENTATION, DOC },
    { { 0x3f, 0xff }, 20, NETPOLICY_DOCUMENTATION, DOC },   /* RFC 9637 */
    { { 0x5f, 0x00 }, 16, NETPOLICY_RESERVED,
      "an SRv6 segment identifier address" },               /* RFC 9602 */
    { { 0xfc }, 7, NETPOLICY_PRIVATE,
      "a unique-local (private) address" },                 /* RFC 4193 */
    { { 0xfe, 0x80 }, 10, NETPOLICY_LINK_LOCAL,
      "a link-local address" },                             /* RFC 4291 */
    { { 0xfe, 0xc0 }, 10, NETPOLICY_RESERVED,
      "a deprecated site-local address" },                  /* RFC 3879 */
    { { 0xff }, 8, NETPOLICY_MULTICAST, "a multicast address" },
};

struct embed6 {
    unsigned char net[16];
    unsigned len;
    unsigned at;            /* byte offset of the IPv4 address */
    const char *form;       /* NULL for plain IPv4-mapped */
};

/*
** IPv6 forms that carry an IPv4 address the packet really goes to; they
** defeated classifiers that did not unwrap them (CVE-2024-4032 class,
** ssrfcheck PR #11). Judged by the IPv4 inside. ::/96 must come last:
** it is the widest, and :: and ::1 are taken out before.
*/
static const struct embed6 embeds6[] = {
    { { [10] = 0xff, [11] = 0xff }, 96, 12, NULL },         /* RFC 4291 */
    { { [8] = 0xff, [9] = 0xff }, 96, 12, "IPv4-translated" }, /* 2765 */
    { { 0x00, 0x64, 0xff, 0x9b }, 96, 12, "NAT64" },        /* RFC 6052 */
    { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, 12,
      "local-use NAT64" },                                  /* RFC 8215 */
    { { 0x20, 0x02 }, 16, 2, "6to4" },                      /* RFC 3056 */
    { { 0 }, 96, 12, "IPv4-compatible" },                   /* RFC 4291 */
};

/* What the classifier found, before it becomes a verdict. */
struct judged {
    enum netpolicy_category cat;
    const char *what;       /* "a loopback address" */
    const char *form;       /* how the IPv4 was embedded, or NULL */
    int embedded;           /* v4 holds the unwrapped address */
    unsigned char v4[4];
};

static int prefix_match(const unsigned char *a, const unsigned char *net,
                        unsigned len)
{
    unsigned full = len / 8, rest = len % 8;
    unsigned char mask;

    if (memcmp(a, net, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static void judge4(const unsigned char b[4], struct judged *j)
{
    uint32_t a = V4(b[0], b[1], b[2], b[3]);
    size_t i;

    for (i = 0; i < sizeof table4 / sizeof table4[0]; i++) {
        const struct range4 *r = &table4[i];
        uint32_t mask = r->len ? ~(uint32_t)0 << (32 - r->len) : 0;
        if ((a & mask) == r->net) {
            j->cat = r->cat;
            j->what = r->what;
            return;
        }
    }
    j->cat = NETPOLICY_PUBLIC;
    j->what = "a public address";
}

/* Judge the IPv4 address at b (optionally bit-inverted) as embedded. */
static void unwrap(const unsigned char *b, int invert, const char *form,
                   struct judged *j)
{
    int k;

    for (k = 0; k < 4; k++)
        j->v4[k] = invert ? (unsigned char)~b[k] : b[k];
    judge4(j->v4, j);
    j->embedded = 1;
    j->form = form;
}

/*
** Teredo 2001::/32 (RFC 4380): server IPv4 in bytes 4-7, client IPv4 in
** bytes 12-15 inverted. Packets go to the client's address, so it is
** judged first; a non-public server is refused too.
*/
static int judge_teredo(const unsigned char b[16], struct judged *j)
{
    static const unsigned char pfx[4] = { 0x20, 0x01, 0x00, 0x00 };

    if (memcmp(b, pfx, 4) != 0)
        return 0;
    unwrap(b + 12, 1, "Teredo client", j);
    if (j->cat != NETPOLICY_PUBLIC)
        return 1;
    unwrap(b + 4, 0, "Teredo server", j);
    if (j->cat == NETPOLICY_PUBLIC)
        unwrap(b + 12, 1, "Teredo client", j);
    return 1;
}

/*
** The local-use NAT64 prefix is itself not globally reachable (RFC 8215),
** and its embedding format is a local choice, so only a non-public IPv4
** in the usual /96 position is reported as such; anything else in it is
** refused as local-use.
*/
static int judge_embedded(const unsigned char b[16], struct judged *j)
{
    size_t i;

    for (i = 0; i < sizeof embeds6 / sizeof embeds6[0]; i++) {
        const struct embed6 *e = &embeds6[i];
        if (!prefix_match(b, e->net, e->len))
            continue;
        unwrap(b + e->at, 0, e->form, j);
        if (e->len == 48 && j->cat == NETPOLICY_PUBLIC) {
            j->embedded = 0;
            j->cat = NETPOLICY_RESERVED;
            j->what = "a local-use NAT64 address (64:ff9b:1::/48),"
                      " not globally reachable";
        }
        return 1;
    }
    return 0;
}

static void judge6(const unsigned char b[16], struct judged *j)
{
    static const unsigned char zero[15];
    size_t i;

    if (memcmp(b, zero, 15) == 0 && b[15] <= 1) {
        j->cat = b[15] ? NETPOLICY_LOOPBACK : NETPOLICY_UNSPECIFIED;
        j->what = b[15] ? "a loopback address" : "the unspecified address";
        return;
    }
    if (judge_teredo(b, j) || judge_embedded(b, j))
        return;
    for (i = 0; i < sizeof table6 / sizeof table6[0]; i++) {
        const struct range6 *r = &table6[i];
        if (prefix_match(b, r->net, r->len)) {
            j->cat = r->cat;
            j->what = r->what;
            return;
        }
    }
    /* Only 2000::/3 is allocated global unicast (IANA IPv6 Address
       Space); everything else left is reserved by the IETF. */
    if ((b[0] & 0xe0) != 0x20) {
        j->cat = NETPOLICY_RESERVED;
        j->what = "a reserved address outside 2000::/3";
        return;
    }
    j->cat = NETPOLICY_PUBLIC;
    j->what = "a public address";
}

static void verdict_reset(struct netpolicy_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->category = NETPOLICY_INVALID;
}

/*
** Turn a judgement into a verdict. The reason starts with the address as
** it was spelled, and names the canonical or unwrapped address when it
** differs, so "2130706433" explains itself as 127.0.0.1.
*/
static void explain(struct netpolicy_verdict *v, const char *sp, size_t spn,
                    const struct judged *j)
{
    char q[QUOTE_MAX];

    quote_text(q, sizeof q, sp, spn);
    v->category = j->cat;
    v->allowed = j->cat == NETPOLICY_PUBLIC;
    if (j->embedded) {
        snprintf(v->ipv4, sizeof v->ipv4, "%u.%u.%u.%u", j->v4[0],
                 j->v4[1], j->v4[2], j->v4[3]);
        if (j->form)
            snprintf(v->reason, sizeof v->reason, "%s maps to %s (%s), %s",
                     q, v->ipv4, j->form, j->what);
        else
            snprintf(v->reason, sizeof v->reason, "%s maps to %s, %s", q,
                     v->ipv4, j->what);
    } else if (strcmp(q, v->addr) != 0) {
        snprintf(v->reason, sizeof v->reason, "%s is %s, %s", q, v->addr,
                 j->what);
    } else {
        snprintf(v->reason, sizeof v->reason, "%s is %s", q, j->what);
    }
}

/* Classify raw address bytes; sp/spn is the spelling for the reason. */
static void classify_bytes(int family, const unsigned char *b,
                           const char *sp, size_t spn,
                           struct netpolicy_verdict *v)
{
    struct judged j;

    memset(&j, 0, sizeof j);
    verdict_reset(v);
    inet_ntop(family, b, v->addr, sizeof v->addr);
    if (family == AF_INET)
        judge4(b, &j);
    else
        judge6(b, &j);
    if (!sp) {
        sp = v->addr;
        spn = strlen(v->addr);
    }
    explain(v, sp, spn, &j);
}

void netpolicy_classify(const struct sockaddr *sa, size_t salen,
                        struct netpolicy_verdict *v)
{
    sa_family_t fam;

    verdict_reset(v);
    if (!sa || salen < offsetof(struct sockaddr, sa_family) + sizeof fam) {
        snprintf(v->reason, sizeof v->reason, "no address");
        return;
    }
    memcpy(&fam, (const char *)sa + offsetof(struct sockaddr, sa_family),
           sizeof fam);
    if (fam == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        classify_bytes(AF_INET, (const unsigned char *)&in.sin_addr, NULL,
                       0, v);
    } else if (fam == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        classify_bytes(AF_INET6, in6.sin6_addr.s6_addr, NULL, 0, v);
    } else {
        snprintf(v->reason, sizeof v->reason,
                 "address family %d of length %zu is not IPv4 or IPv6",
                 (int)fam, salen);
    }
}

int netpolicy_classify_ip(const char *text, struct netpolicy_verdict *v)
{
    unsigned char b[16];
    const char *sp;
    size_t spn;
    int family;
    char q[QUOTE_MAX];

    verdict_reset(v);
    if (!text || parse_ip_text(text, &family, b, &sp, &spn) < 0) {
        snprintf(v->reason, sizeof v->reason, "\"%s\" is not an IP address",
                 quote_str(q, sizeof q, text));
        return -1;
    }
    classify_bytes(family, b, sp, spn, v);
    return 0;
}

const char *netpolicy_category_name(enum netpolicy_category c)
{
    static const char *const names[] = {
        "public", "loopback", "unspecified", "private", "link-local",
        "cgnat", "metadata", "multicast", "broadcast", "reserved",
        "documentation", "benchmarking", "invalid", "scheme", "plain-http"
    };

    if ((unsigned)c < sizeof names / sizeof names[0])
        return names[c];
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* Host names                                                           */

static int is_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)
        || c == '-' || c == '_';
}

/*
** A name whose last label is a number ("1.2.3.999", "x.0x10") is not a
** name to any URL parser (WHATWG "ends in a number"); refusing it keeps
** us and libcurl from disagreeing on whether it is an address.
*/
static int ends_in_number(const char *s, size_t n)
{
    size_t start = n, k;

    while (start > 0 && s[start - 1] != '.')
        start--;
    if (n - start >= 2 && s[start] == '0' && to_lower(s[start + 1]) == 'x') {
        for (k = start + 2; k < n; k++)
            if (hex_value((unsigned char)s[k]) < 0)
                return 0;
        return 1;
    }
    for (k = start; k < n; k++)
        if (!is_digit(s[k]))
            return 0;
    return 1;
}

/* Labels of 1-63 name characters; returns the offending byte or -1. */
static long check_labels(const char *s, size_t n, const char **why)
{
    size_t i, label = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0) {
                *why = "has an empty label";
                return (long)i;
            }
            label = 0;
        } else if (!is_name_char((unsigned char)s[i])) {
            *why = "contains a character not allowed in a host name";
            return (long)i;
        } else if (++label > 63) {
            *why = "has a label longer than 63 bytes";
            return (long)i;
        }
    }
    return -1;
}

/*
** Names: one trailing dot (the DNS root) dropped, ASCII lower case; a
** name that parses as IPv4 becomes its dotted-quad form so every
** spelling of one address is one host.
*/
static int norm_name(const char *s, size_t n, char *out, size_t cap,
                     char *err, size_t errlen)
{
    char q[QUOTE_MAX];
    const char *why = NULL;
    uint32_t a;
    size_t i;

    quote_text(q, sizeof q, s, n);
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n > 253) {
        seterr(err, errlen, "\"%s\" is not a host name (%s)", q,
               n ? "longer than 253 bytes" : "empty");
        return -1;
    }
    if (check_labels(s, n, &why) >= 0) {
        seterr(err, errlen, "host \"%s\" %s", q, why);
        return -1;
    }
    if (cap <= n) {
        seterr(err, errlen, "host \"%s\" does not fit", q);
        return -1;
    }
    for (i = 0; i < n; i++)
        out[i] = (char)to_lower((unsigned char)s[i]);
    out[n] = '\0';
    if (parse_ipv4(out, n, &a) == 0) {
        int r = snprintf(out, cap, "%u.%u.%u.%u", (unsigned)(a >> 24),
                         (unsigned)(a >> 16) & 255,
                         (unsigned)(a >> 8) & 255, (unsigned)a & 255);
        if (r < 0 || (size_t)r >= cap) {
            seterr(err, errlen, "host \"%s\" does not fit", q);
            return -1;
        }
        return NETPOLICY_HOST_IPV4;
    }
    if (ends_in_number(out, n)) {
        seterr(err, errlen, "host \"%s\" ends in a number but is not a"
               " valid IPv4 address", q);
        return -1;
    }
    return NETPOLICY_HOST_NAME;
}

static int norm_v6(const char *s, size_t n, char *out, size_t cap,
                   char *err, size_t errlen)
{
    unsigned char b[16];
    char q[QUOTE_MAX];

    quote_text(q, sizeof q, s, n);
    if (memchr(s, '%', n)) {
        seterr(err, errlen, "\"%s\": IPv6 zone ids are not supported", q);
        return -1;
    }
    if (parse_ipv6(s, n, b) < 0) {
        seterr(err, errlen, "\"%s\" is not a valid IPv6 address", q);
        return -1;
    }
    if (!inet_ntop(AF_INET6, b, out, (socklen_t)cap)) {
        seterr(err, errlen, "\"%s\" does not fit", q);
        return -1;
    }
    return NETPOLICY_HOST_IPV6;
}

/* Normalize s[0..n): parsers pass pieces of a larger string. */
static int norm_host(const char *s, size_t n, char *out, size_t cap,
                     char *err, size_t errlen)
{
    char q[QUOTE_MAX];

    if (n == 0) {
        seterr(err, errlen, "empty host");
        return -1;
    }
    if (s[0] == '[') {
        if (n < 2 || s[n - 1] != ']') {
            seterr(err, errlen, "\"%s\": missing ']'",
                   quote_text(q, sizeof q, s, n));
            return -1;
        }
        return norm_v6(s + 1, n - 2, out, cap, err, errlen);
    }
    if (memchr(s, ':', n))
        return norm_v6(s, n, out, cap, err, errlen);
    return norm_name(s, n, out, cap, err, errlen);
}

int netpolicy_host_normalize(const char *host, char *out, size_t cap,
                             char *err, size_t errlen)
{
    size_t n;

    if (!host || !out || cap == 0) {
        seterr(err, errlen, "no host");
        return -1;
    }
    n = bounded_len(host);
    if (n > INPUT_MAX) {
        seterr(err, errlen, "host longer than %d bytes", INPUT_MAX);
        return -1;
    }
    return norm_host(host, n, out, cap, err, errlen);
}

int netpolicy_host_matches(const char *pattern, const char *host)
{
    char p[NETPOLICY_HOST_MAX], h[NETPOLICY_HOST_MAX];
    int suffix = 0, kind;
    size_t pl, hl;

    if (!pattern || !host)
        return 0;
    if (pattern[0] == '*' && pattern[1] == '.')
        pattern++;
    if (pattern[0] == '.') {
        suffix = 1;
        pattern++;
    }
    kind = netpolicy_host_normalize(pattern, p, sizeof p, NULL, 0);
    if (kind < 0 || (suffix && kind != NETPOLICY_HOST_NAME))
        return 0;
    kind = netpolicy_host_normalize(host, h, sizeof h, NULL, 0);
    if (kind < 0)
        return 0;
    if (!suffix)
        return strcmp(p, h) == 0;
    pl = strlen(p);
    hl = strlen(h);
    return kind == NETPOLICY_HOST_NAME && hl > pl + 1
        && h[hl - pl - 1] == '.' && strcmp(h + hl - pl, p) == 0;
}

/* ------------------------------------------------------------------ */
/* Configured hosts                                                     */

void netpolicy_init(struct netpolicy *np)
{
    memset(np, 0, sizeof *np);
}

/* Ports in --allow-host, CLAWHOST_CONNECT_TO and base URLs. */
int netpolicy_port_parse(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    if (n == 0 || n > 5)
        return -1;
    for (i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

static int configured_norm(const struct netpolicy *np, const char *h,
                           unsigned port)
{
    size_t i;

    if (!np || !h || !h[0])
        return 0;
    for (i = 0; i < np->count && i < NETPOLICY_MAX_HOSTS; i++) {
        const struct netpolicy_host *e = &np->hosts[i];
        if ((e->port == 0 || e->port == port) &&
            (e->host[0] == '.' ? netpolicy_host_matches(e->host, h)
                               : strcmp(e->host, h) == 0))
            return 1;
    }
    return 0;
}

/* Append a normalized host unless an entry already covers it. */
static int add_norm(struct netpolicy *np, const char *h, unsigned port,
                    char *err, size_t errlen)
{
    struct netpolicy_host *e;
    size_t i;

    if (!np) {
        seterr(err, errlen, "no policy to add %s to", h);
        return -1;
    }
    for (i = 0; i < np->count; i++) {
        e = &np->hosts[i];
        if (strcmp(e->host, h) == 0 && (e->port == 0 || e->port == port))
            return 0;
    }
    if (np->count >= NETPOLICY_MAX_HOSTS) {
        seterr(err, errlen, "too many configured hosts (at most %d)",
               NETPOLICY_MAX_HOSTS);
        return -1;
    }
    e = &np->hosts[np->count++];
    snprintf(e->host, sizeof e->host, "%s", h);
    e->port = port;
    return 0;
}

int netpolicy_add_host(struct netpolicy *np, const char *host,
                       unsigned port, char *err, size_t errlen)
{
    char h[NETPOLICY_HOST_MAX];

    if (port > 65535) {
        seterr(err, errlen, "port %u is out of range (0-65535)", port);
        return -1;
    }
    if (netpolicy_host_normalize(host, h, sizeof h, err, errlen) < 0)
        return -1;
    return add_norm(np, h, port, err, errlen);
}

int netpolicy_is_configured(const struct netpolicy *np, const char *host,
                            unsigned port)
{
    char h[NETPOLICY_HOST_MAX];

    if (!np || netpolicy_host_normalize(host, h, sizeof h, NULL, 0) < 0)
        return 0;
    return configured_norm(np, h, port);
}

/*
** Split an --allow-host argument into host and port text. A bare IPv6
** address has colons of its own, so a port needs brackets; that is the
** syntax of URLs (RFC 3986 section 3.2.2) and of curl.
*/
static int split_hostport(const char *a, size_t n, size_t *hn,
                          const char **port, size_t *pn, const char **why)
{
    const char *close, *colon = memchr(a, ':', n);

    *port = NULL;
    *pn = 0;
    *hn = n;
    if (a[0] == '[') {
        close = memchr(a, ']', n);
        if (!close) {
            *why = "missing ']'";
            return -1;
        }
        *hn = (size_t)(close - a) + 1;
        colon = *hn < n ? close + 1 : NULL;
        if (colon && *colon != ':') {
            *why = "expected ':PORT' after ']'";
            return -1;
        }
    } else if (colon && memchr(colon + 1, ':', n - (size_t)(colon - a) - 1)) {
        return 0;           /* bare IPv6, no port */
    }
    if (colon) {
        *hn = (size_t)(colon - a);
        *port = colon + 1;
        *pn = n - *hn - 1;
    }
    return 0;
}

int netpolicy_allow_host_arg(struct netpolicy *np, const char *arg,
                             char *err, size_t errlen)
{
    char h[NETPOLICY_HOST_MAX], detail[DETAIL_MAX], q[QUOTE_MAX];
    const char *port_s, *why = NULL;
    size_t n, hn, pn;
    unsigned port = 0;

    n = arg ? bounded_len(arg) : 0;
    quote_text(q, sizeof q, arg ? arg : "", n > INPUT_MAX ? INPUT_MAX : n);
    if (n == 0 || n > INPUT_MAX) {
        seterr(err, errlen, "--allow-host \"%s\": expected HOST or"
               " HOST:PORT", q);
        return -1;
    }
    if (split_hostport(arg, n, &hn, &port_s, &pn, &why) < 0) {
        seterr(err, errlen, "--allow-host \"%s\": %s; expected HOST,"
               " HOST:PORT or [IPV6]:PORT", q, why);
        return -1;
    }
    if (port_s && netpolicy_port_parse(port_s, pn, &port) < 0) {
        seterr(err, errlen, "--allow-host \"%s\": expected a port number"
               " (1-65535) after ':'", q);
        return -1;
    }
    if (norm_host(arg, hn, h, sizeof h, detail, sizeof detail) < 0) {
        seterr(err, errlen, "--allow-host \"%s\": %s", q, detail);
        return -1;
    }
    if (add_norm(np, h, port, detail, sizeof detail) < 0) {
        seterr(err, errlen, "--allow-host \"%s\": %s", q, detail);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* CLAWHOST_CONNECT_TO                                                  */

/*
** Split one entry into its four fields. A field starting with '[' runs to
** the matching ']' (IPv6), any other to the next ':'. Returns 0, or -1
** with why set.
*/
static int ct_fields(const char *s, size_t n, const char *f[4],
                     size_t fl[4], const char **why)
{
    size_t i = 0, start, k = 0;
    const char *close;

    for (;;) {
        start = i;
        if (i < n && s[i] == '[') {
            close = memchr(s + i, ']', n - i);
            if (!close) {
                *why = "missing ']'";
                return -1;
            }
            i = (size_t)(close - s) + 1;
        } else {
            while (i < n && s[i] != ':')
                i++;
        }
        f[k] = s + start;
        fl[k++] = i - start;
        if (i == n)
            break;
        if (s[i] != ':') {
            *why = "expected ':' after ']'";
            return -1;
        }
        if (k == 4) {
            *why = "too many ':' (write IPv6 addresses in [brackets])";
            return -1;
        }
        i++;
    }
    if (k != 4) {
        *why = "too few fields";
        return -1;
    }
    return 0;
}

/* A connect-to host field: empty, or a normalized host. */
static int ct_host(const char *s, size_t n, char *out, char *why,
                   size_t whylen)
{
    if (n == 0) {
        out[0] = '\0';
        return 0;
    }
    return norm_host(s, n, out, NETPOLICY_HOST_MAX, why, whylen);
}

/* A connect-to port field: empty (0), or 1-65535. */
static int ct_port(const char *s, size_t n, unsigned *out, char *why,
                   size_t whylen)
{
    char q[QUOTE_MAX];

    *out = 0;
    if (n == 0 || netpolicy_port_parse(s, n, out) == 0)
        return 0;
    seterr(why, whylen, "\"%s\" is not a port number (1-65535)",
           quote_text(q, sizeof q, s, n));
    return -1;
}

/* Rebuild the entry for curl; IPv6 hosts go back into brackets. */
static int ct_render(struct netpolicy_connect_to *e)
{
    char p1[12] = "", p2[12] = "";
    int b1 = strchr(e->host1, ':') != NULL;
    int b2 = strchr(e->host2, ':') != NULL;
    int r;

    if (e->port1)
        snprintf(p1, sizeof p1, "%u", e->port1);
    if (e->port2)
        snprintf(p2, sizeof p2, "%u", e->port2);
    r = snprintf(e->curl, sizeof e->curl, "%s%s%s:%s:%s%s%s:%s",
                 b1 ? "[" : "", e->host1, b1 ? "]" : "", p1,
                 b2 ? "[" : "", e->host2, b2 ? "]" : "", p2);
    return (r < 0 || (size_t)r >= sizeof e->curl) ? -1 : 0;
}

/* Parse one entry s[0..n) into e; why gets the detail on error. */
static int ct_entry(const char *s, size_t n, struct netpolicy_connect_to *e,
                    char *why, size_t whylen)
{
    const char *f[4], *w = NULL;
    size_t fl[4];

    memset(e, 0, sizeof *e);
    if (ct_fields(s, n, f, fl, &w) < 0) {
        seterr(why, whylen, "%s", w);
        return -1;
    }
    char tmp[NETPOLICY_HOST_MAX];
    if (fl[0] > 1 && f[0][0] == '.') {
        e->suffix = 1;
        e->host1[0] = '.';
        if (ct_host(f[0] + 1, fl[0] - 1, e->host1 + 1, why, whylen) < 0)
            return -1;
        if (netpolicy_host_normalize(e->host1 + 1, tmp, sizeof tmp, NULL,
                                     0) != NETPOLICY_HOST_NAME) {
            seterr(why, whylen, "a leading '.' (any name under it) needs "
                   "a host name, not an address");
            return -1;
        }
    } else if (ct_host(f[0], fl[0], e->host1, why, whylen) < 0) {
        return -1;
    }
    if (ct_port(f[1], fl[1], &e->port1, why, whylen) < 0
        || ct_host(f[2], fl[2], e->host2, why, whylen) < 0
        || ct_port(f[3], fl[3], &e->port2, why, whylen) < 0)
        return -1;
    if (!e->host2[0] && !e->port2) {
        seterr(why, whylen, "HOST2 and PORT2 are both empty, so it maps"
               " nothing");
        return -1;
    }
    if (!e->suffix && ct_render(e) < 0) {
        seterr(why, whylen, "entry too long");
        return -1;
    }
    return 0;
}

int netpolicy_connect_to_for(const struct netpolicy_connect_to *m,
                             const char *host, unsigned port, char *out,
                             size_t cap)
{
    struct netpolicy_connect_to e;
    char h[NETPOLICY_HOST_MAX];

    if (!m->suffix || !netpolicy_host_matches(m->host1, host)
        || (m->port1 && m->port1 != port)
        || netpolicy_host_normalize(host, h, sizeof h, NULL, 0) < 0)
        return 0;
    e = *m;
    e.suffix = 0;
    snprintf(e.host1, sizeof e.host1, "%s", h);
    if (ct_render(&e) < 0 || strlen(e.curl) >= cap)
        return 0;
    memcpy(out, e.curl, strlen(e.curl) + 1);
    return 1;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* Mark every non-empty HOST1 configured; undo all of it on failure. */
static int ct_configure(struct netpolicy *np,
                        const struct netpolicy_connect_to *out, size_t n,
                        char *err, size_t errlen)
{
    size_t i, before = np->count;
    char detail[DETAIL_MAX];

    for (i = 0; i < n; i++) {
        if (out[i].host1[0]
            && add_norm(np, out[i].host1, out[i].port1, detail,
                        sizeof detail) < 0) {
            np->count = before;
            seterr(err, errlen, "CLAWHOST_CONNECT_TO: %s", detail);
            return -1;
        }
    }
    return 0;
}

static const char CT_SYNTAX[] = "expected HOST1:PORT1:HOST2:PORT2 (HOST1"
    " or PORT1 empty for any; IPv6 in [brackets])";

/* Entry number i (0-based) is b..e; check room, parse it into *slot. */
static int ct_one(const char *b, const char *e, size_t i, size_t cap,
                  struct netpolicy_connect_to *slot, char *err,
                  size_t errlen)
{
    char why[DETAIL_MAX], q[QUOTE_MAX];

    if (i >= cap) {
        seterr(err, errlen, "CLAWHOST_CONNECT_TO: more than %zu entries",
               cap);
        return -1;
    }
    if (b == e) {
        seterr(err, errlen, "CLAWHOST_CONNECT_TO entry %zu is empty; %s",
               i + 1, CT_SYNTAX);
        return -1;
    }
    if (ct_entry(b, (size_t)(e - b), slot, why, sizeof why) < 0) {
        seterr(err, errlen, "CLAWHOST_CONNECT_TO entry %zu \"%s\": %s; %s",
               i + 1, quote_text(q, sizeof q, b, (size_t)(e - b)), why,
               CT_SYNTAX);
        return -1;
    }
    return 0;
}

int netpolicy_connect_to_parse(struct netpolicy *np, const char *spec,
                               struct netpolicy_connect_to *out,
                               size_t cap, size_t *count,
                               char *err, size_t errlen)
{
    const char *p = spec, *end, *b, *e, *comma;
    size_t n = 0;

    *count = 0;
    if (!spec)
        return 0;
    end = memchr(spec, '\0', CT_INPUT_MAX + 1);
    if (!end) {
        seterr(err, errlen, "CLAWHOST_CONNECT_TO is longer than %d bytes",
               CT_INPUT_MAX);
        return -1;
    }
    b = spec;
    e = end;
    trim(&b, &e);
    if (b == e)
        return 0;                   /* unset or blank: an empty list */
    for (;;) {
        comma = memchr(p, ',', (size_t)(end - p));
        b = p;
        e = comma ? comma : end;
        trim(&b, &e);
        if (ct_one(b, e, n, cap, &out[n < cap ? n : 0], err, errlen) < 0)
            return -1;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (np && ct_configure(np, out, n, err, errlen) < 0)
        return -1;
    *count = n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Decisions                                                            */

static void reason_append(struct netpolicy_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reason_append(struct netpolicy_verdict *v, const char *fmt, ...)
{
    size_t len = strlen(v->reason);
    va_list ap;

    if (len + 1 >= sizeof v->reason)
        return;
    va_start(ap, fmt);
    vsnprintf(v->reason + len, sizeof v->reason - len, fmt, ap);
    va_end(ap);
}

/*
** Public addresses pass. Others pass only for a configured host (that is
** how users reach their own backend and tests their local servers), and
** a metadata address only when the configured host is that address:
** stricter than the configuration alone, because a configured name that
** resolves to the credential service is far likelier an attack (DNS
** rebinding) than an intent.
*/
static int decide(const char *h, int conf, struct netpolicy_verdict *v)
{
    char q[QUOTE_MAX];

    if (v->category == NETPOLICY_PUBLIC)
        return v->allowed = 1;
    v->allowed = 0;
    if (v->category == NETPOLICY_INVALID || !conf)
        return 0;
    quote_text(q, sizeof q, h, strlen(h));
    if (v->category == NETPOLICY_METADATA && strcmp(h, v->addr) != 0
        && strcmp(h, v->ipv4) != 0) {
        reason_append(v, "; refused although %s is configured: allow the"
                      " address itself to reach it", q);
        return 0;
    }
    reason_append(v, "; allowed because %s is configured", q);
    return v->allowed = 1;
}

/* Normalized host, or "" when host is NULL or invalid (never matches). */
static void norm_or_empty(const char *host, char h[NETPOLICY_HOST_MAX])
{
    if (!host || netpolicy_host_normalize(host, h, NETPOLICY_HOST_MAX,
                                          NULL, 0) < 0)
        h[0] = '\0';
}

int netpolicy_check_connect(const struct netpolicy *np, const char *host,
                            unsigned port, const struct sockaddr *sa,
                            size_t salen, struct netpolicy_verdict *v)
{
    char h[NETPOLICY_HOST_MAX];

    netpolicy_classify(sa, salen, v);
    norm_or_empty(host, h);
    return decide(h, configured_norm(np, h, port), v);
}

int netpolicy_check_ip(const struct netpolicy *np, const char *host,
                       unsigned port, const char *ip,
                       struct netpolicy_verdict *v)
{
    char h[NETPOLICY_HOST_MAX];

    if (netpolicy_classify_ip(ip, v) < 0)
        return v->allowed = 0;
    norm_or_empty(host, h);
    return decide(h, configured_norm(np, h, port), v);
}

/*
** https always; http only to configured hosts, because it carries the
** request and any secret header in clear text; every other scheme is
** refused (libcurl speaks dozens: file, gopher, dict, ... are classic
** SSRF tools).
*/
static int scheme_ok(const char *scheme, int conf, const char *h,
                     struct netpolicy_verdict *v)
{
    char q[QUOTE_MAX], hq[QUOTE_MAX];

    if (scheme && ascii_ieq(scheme, "https"))
        return 1;
    if (scheme && ascii_ieq(scheme, "http")) {
        if (conf)
            return 1;
        v->category = NETPOLICY_PLAIN_HTTP;
        snprintf(v->reason, sizeof v->reason, "http is allowed only to"
                 " configured hosts and %s is not one; use https or"
                 " --allow-host", quote_text(hq, sizeof hq, h, strlen(h)));
        return 0;
    }
    v->category = NETPOLICY_SCHEME;
    if (!scheme || !scheme[0])
        snprintf(v->reason, sizeof v->reason, "the URL has no scheme;"
                 " only https is allowed");
    else
        snprintf(v->reason, sizeof v->reason, "scheme \"%s\" is not"
                 " allowed; only https (and http to configured hosts)",
                 quote_str(q, sizeof q, scheme));
    return 0;
}

/* RFC 6761 section 6.3: "localhost" and names below it are loopback. */
static int is_localhost(const char *h)
{
    size_t n = strlen(h);

    return strcmp(h, "localhost") == 0
        || (n > 10 && strcmp(h + n - 10, ".localhost") == 0);
}

int netpolicy_check_url(const struct netpolicy *np, const char *scheme,
                        const char *host, unsigned port,
                        struct netpolicy_verdict *v)
{
    char h[NETPOLICY_HOST_MAX], q[QUOTE_MAX];
    int kind, conf;

    verdict_reset(v);
    kind = netpolicy_host_normalize(host, h, sizeof h, v->reason,
                                    sizeof v->reason);
    if (kind < 0 || port > 65535) {
        if (kind >= 0)
            snprintf(v->reason, sizeof v->reason, "port %u is out of"
                     " range", port);
        return 0;
    }
    conf = configured_norm(np, h, port);
    if (!scheme_ok(scheme, conf, h, v))
        return 0;
    if (kind != NETPOLICY_HOST_NAME) {
        /* "127.0.0.1." is no IP text but normalizes to one */
        if (netpolicy_classify_ip(host, v) < 0)
            netpolicy_classify_ip(h, v);
        return decide(h, conf, v);
    }
    if (is_localhost(h) && !conf) {
        v->category = NETPOLICY_LOOPBACK;
        snprintf(v->reason, sizeof v->reason, "%s is a loopback name"
                 " (RFC 6761)", quote_text(q, sizeof q, h, strlen(h)));
        return 0;
    }
    v->category = NETPOLICY_PUBLIC;
    snprintf(v->reason, sizeof v->reason, "%s is judged on the address it"
             " connects to", quote_text(q, sizeof q, h, strlen(h)));
    return v->allowed = 1;
}
