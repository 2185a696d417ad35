/*
** netpolicy_test.c -- unit tests for the egress policy
** (host/pure/netpolicy.c).
**
** Pure computation: no packet is sent and no network socket is opened
** (glibc reads the zone of "fe80::1%1" with an ioctl on a local AF_UNIX
** socket, nothing more; checked with strace). Every
** hostile spelling is resolved three ways the real stack would read it
** -- our inet_aton-style parser (or inet_pton for IPv6), glibc's
** inet_aton, and getaddrinfo with AI_NUMERICHOST, which parses locally
** and never queries DNS -- the three must agree on the bytes, and the
** sockaddr getaddrinfo returns is what gets classified, as in the
** CURLOPT_OPENSOCKETFUNCTION callback. Each address is its own counted
** test, named after its spelling.
*/
#include "pure/netpolicy.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#define CAT(x) NETPOLICY_##x

/* ---- resolving spellings the way the stack does ---- */

/*
** getaddrinfo with AI_NUMERICHOST: a numeric host is parsed in-process
** (glibc uses inet_aton_exact and inet_pton); nothing is looked up.
*/
static int gai_numeric(const char *text, int family,
                       struct sockaddr_storage *ss, size_t *len)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(text, "443", &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* The raw address bytes of a sockaddr from gai_numeric. */
static const unsigned char *sa_bytes(const struct sockaddr_storage *ss,
                                     size_t *n)
{
    if (ss->ss_family == AF_INET) {
        *n = 4;
        return (const unsigned char *)
            &((const struct sockaddr_in *)ss)->sin_addr;
    }
    *n = 16;
    return ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
}

/* Our own reading: netpolicy_ipv4_parse, or inet_pton minus any zone. */
static int own_parse(const char *text, unsigned char b[16], size_t *n)
{
    char buf[64];
    const char *pct;

    if (!strchr(text, ':')) {
        *n = 4;
        return netpolicy_ipv4_parse(text, b);
    }
    *n = 16;
    pct = strchr(text, '%');
    snprintf(buf, sizeof buf, "%.*s",
             (int)(pct ? (size_t)(pct - text) : strlen(text)), text);
    return inet_pton(AF_INET6, buf, b) == 1 ? 0 : -1;
}

/* ---- the address matrix ---- */

struct addr_case {
    const char *text;       /* as an attacker would spell it */
    enum netpolicy_category cat;
    const char *addr;       /* canonical text of the address */
    const char *ipv4;       /* unwrapped IPv4, "" when none */
};

static const struct addr_case hostile[] = {
    /* IPv4 loopback in every inet_aton spelling */
    { "127.0.0.1", CAT(LOOPBACK), "127.0.0.1", "" },
    { "127.1", CAT(LOOPBACK), "127.0.0.1", "" },
    { "0x7f.1", CAT(LOOPBACK), "127.0.0.1", "" },
    { "0X7F.0.0.1", CAT(LOOPBACK), "127.0.0.1", "" },
    { "0177.0.0.1", CAT(LOOPBACK), "127.0.0.1", "" },
    { "2130706433", CAT(LOOPBACK), "127.0.0.1", "" },
    { "017700000001", CAT(LOOPBACK), "127.0.0.1", "" },
    { "0x7f000001", CAT(LOOPBACK), "127.0.0.1", "" },
    { "127.000.000.001", CAT(LOOPBACK), "127.0.0.1", "" },
    { "127.0.1", CAT(LOOPBACK), "127.0.0.1", "" },
    { "127.255.255.254", CAT(LOOPBACK), "127.255.255.254", "" },
    { "00000000000000000000177.0.0.1", CAT(LOOPBACK), "127.0.0.1", "" },
    /* "this network" and unspecified */
    { "0", CAT(UNSPECIFIED), "0.0.0.0", "" },
    { "0.0.0.0", CAT(UNSPECIFIED), "0.0.0.0", "" },
    { "0x0", CAT(UNSPECIFIED), "0.0.0.0", "" },
    { "0.1.2.3", CAT(UNSPECIFIED), "0.1.2.3", "" },
    /* private, shared, link-local, metadata */
    { "10.0.0.1", CAT(PRIVATE), "10.0.0.1", "" },
    { "012.1.2.3", CAT(PRIVATE), "10.1.2.3", "" },
    { "10.1", CAT(PRIVATE), "10.0.0.1", "" },
    { "0x0a.0x00.0x00.0x01", CAT(PRIVATE), "10.0.0.1", "" },
    { "167772161", CAT(PRIVATE), "10.0.0.1", "" },
    { "172.16.0.1", CAT(PRIVATE), "172.16.0.1", "" },
    { "172.31.255.255", CAT(PRIVATE), "172.31.255.255", "" },
    { "192.168.1.1", CAT(PRIVATE), "192.168.1.1", "" },
    { "192.168.257", CAT(PRIVATE), "192.168.1.1", "" },
    { "100.64.0.1", CAT(CGNAT), "100.64.0.1", "" },
    { "100.127.255.255", CAT(CGNAT), "100.127.255.255", "" },
    { "169.254.169.254", CAT(METADATA), "169.254.169.254", "" },
    { "0xa9fea9fe", CAT(METADATA), "169.254.169.254", "" },
    { "2852039166", CAT(METADATA), "169.254.169.254", "" },
    { "169.254.170.2", CAT(METADATA), "169.254.170.2", "" },
    { "100.100.100.200", CAT(METADATA), "100.100.100.200", "" },
    { "169.254.0.1", CAT(LINK_LOCAL), "169.254.0.1", "" },
    /* multicast, broadcast, reserved, benchmarking, documentation */
    { "224.0.0.1", CAT(MULTICAST), "224.0.0.1", "" },
    { "239.255.255.250", CAT(MULTICAST), "239.255.255.250", "" },
    { "255.255.255.255", CAT(BROADCAST), "255.255.255.255", "" },
    { "4294967295", CAT(BROADCAST), "255.255.255.255", "" },
    { "240.0.0.1", CAT(RESERVED), "240.0.0.1", "" },
    { "255.255.255.254", CAT(RESERVED), "255.255.255.254", "" },
    { "198.18.0.1", CAT(BENCHMARKING), "198.18.0.1", "" },
    { "198.19.255.255", CAT(BENCHMARKING), "198.19.255.255", "" },
    { "192.0.0.170", CAT(RESERVED), "192.0.0.170", "" },
    { "192.0.0.9", CAT(RESERVED), "192.0.0.9", "" },
    { "192.88.99.1", CAT(RESERVED), "192.88.99.1", "" },
    { "192.0.2.1", CAT(DOCUMENTATION), "192.0.2.1", "" },
    { "198.51.100.7", CAT(DOCUMENTATION), "198.51.100.7", "" },
    { "203.0.113.9", CAT(DOCUMENTATION), "203.0.113.9", "" },
    /* IPv6 loopback and unspecified, and their spellings */
    { "::1", CAT(LOOPBACK), "::1", "" },
    { "::", CAT(UNSPECIFIED), "::", "" },
    { "0:0:0:0:0:0:0:1", CAT(LOOPBACK), "::1", "" },
    { "0:00::0:1", CAT(LOOPBACK), "::1", "" },
    { "0000:0000:0000:0000:0000:0000:0000:0001", CAT(LOOPBACK), "::1", "" },
    /* IPv4-mapped, -compatible, -translated */
    { "::ffff:127.0.0.1", CAT(LOOPBACK), "::ffff:127.0.0.1", "127.0.0.1" },
    { "::FFFF:127.0.0.1", CAT(LOOPBACK), "::ffff:127.0.0.1", "127.0.0.1" },
    { "::ffff:7f00:1", CAT(LOOPBACK), "::ffff:127.0.0.1", "127.0.0.1" },
    { "0:0:0:0:0:ffff:7f00:0001", CAT(LOOPBACK), "::ffff:127.0.0.1",
      "127.0.0.1" },
    { "::ffff:169.254.169.254", CAT(METADATA), "::ffff:169.254.169.254",
      "169.254.169.254" },
    { "::ffff:a00:1", CAT(PRIVATE), "::ffff:10.0.0.1", "10.0.0.1" },
    { "::ffff:0.0.0.0", CAT(UNSPECIFIED), "::ffff:0.0.0.0", "0.0.0.0" },
    { "::ffff:ffff:ffff", CAT(BROADCAST), "::ffff:255.255.255.255",
      "255.255.255.255" },
    { "::127.0.0.1", CAT(LOOPBACK), "::127.0.0.1", "127.0.0.1" },
    { "::a00:1", CAT(PRIVATE), "::10.0.0.1", "10.0.0.1" },
    { "::2", CAT(UNSPECIFIED), "::2", "0.0.0.2" },
    { "::ffff:0:7f00:1", CAT(LOOPBACK), "::ffff:0:7f00:1", "127.0.0.1" },
    /* NAT64, 6to4, Teredo */
    { "64:ff9b::7f00:1", CAT(LOOPBACK), "64:ff9b::7f00:1", "127.0.0.1" },
    { "64:ff9b::127.0.0.1", CAT(LOOPBACK), "64:ff9b::7f00:1", "127.0.0.1" },
    { "64:ff9b::a9fe:a9fe", CAT(METADATA), "64:ff9b::a9fe:a9fe",
      "169.254.169.254" },
    { "64:ff9b:1::a00:1", CAT(PRIVATE), "64:ff9b:1::a00:1", "10.0.0.1" },
    { "64:ff9b:1::808:808", CAT(RESERVED), "64:ff9b:1::808:808", "" },
    { "2002:7f00:1::", CAT(LOOPBACK), "2002:7f00:1::", "127.0.0.1" },
    { "2002:a9fe:a9fe::1", CAT(METADATA), "2002:a9fe:a9fe::1",
      "169.254.169.254" },
    { "2002:c0a8:101::", CAT(PRIVATE), "2002:c0a8:101::", "192.168.1.1" },
    /* Teredo: server 65.54.227.120, client 10.0.0.1 / 127.0.0.1 XORed */
    { "2001:0:4136:e378:8000:63bf:f5ff:fffe", CAT(PRIVATE),
      "2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1" },
    { "2001:0:4136:e378:8000:63bf:80ff:fffe", CAT(LOOPBACK),
      "2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1" },
    /* ... and a private Teredo server with a public client */
    { "2001:0:a00:1:8000:63bf:f7f7:f7f7", CAT(PRIVATE),
      "2001:0:a00:1:8000:63bf:f7f7:f7f7", "10.0.0.1" },
    /* IPv6 special-purpose ranges */
    { "fe80::1", CAT(LINK_LOCAL), "fe80::1", "" },
    { "fe80::1%1", CAT(LINK_LOCAL), "fe80::1", "" },
    { "febf:ffff::1", CAT(LINK_LOCAL), "febf:ffff::1", "" },
    { "fc00::1", CAT(PRIVATE), "fc00::1", "" },
    { "fdff:ffff::1", CAT(PRIVATE), "fdff:ffff::1", "" },
    { "fd00:ec2::254", CAT(METADATA), "fd00:ec2::254", "" },
    { "FD00:0EC2:0:0:0:0:0:0254", CAT(METADATA), "fd00:ec2::254", "" },
    { "fec0::1", CAT(RESERVED), "fec0::1", "" },
    { "ff02::1", CAT(MULTICAST), "ff02::1", "" },
    { "ff05::1:3", CAT(MULTICAST), "ff05::1:3", "" },
    { "2001:db8::1", CAT(DOCUMENTATION), "2001:db8::1", "" },
    { "3fff::1", CAT(DOCUMENTATION), "3fff::1", "" },
    { "100::1", CAT(RESERVED), "100::1", "" },
    { "2001:2::1", CAT(BENCHMARKING), "2001:2::1", "" },
    { "2001:10::1", CAT(RESERVED), "2001:10::1", "" },
    { "5f00::1", CAT(RESERVED), "5f00::1", "" },
    { "1::", CAT(RESERVED), "1::", "" },
    { "4000::1", CAT(RESERVED), "4000::1", "" },
};

static const struct addr_case public_ok[] = {
    { "8.8.8.8", CAT(PUBLIC), "8.8.8.8", "" },
    { "1.1.1.1", CAT(PUBLIC), "1.1.1.1", "" },
    { "134744072", CAT(PUBLIC), "8.8.8.8", "" },
    { "0x08.0x08.0x08.0x08", CAT(PUBLIC), "8.8.8.8", "" },
    { "100.128.0.1", CAT(PUBLIC), "100.128.0.1", "" },
    { "100.63.255.255", CAT(PUBLIC), "100.63.255.255", "" },
    { "172.32.0.1", CAT(PUBLIC), "172.32.0.1", "" },
    { "172.15.255.255", CAT(PUBLIC), "172.15.255.255", "" },
    { "169.253.255.255", CAT(PUBLIC), "169.253.255.255", "" },
    { "169.255.0.1", CAT(PUBLIC), "169.255.0.1", "" },
    { "192.169.0.1", CAT(PUBLIC), "192.169.0.1", "" },
    { "192.0.3.1", CAT(PUBLIC), "192.0.3.1", "" },
    { "198.17.255.255", CAT(PUBLIC), "198.17.255.255", "" },
    { "198.20.0.1", CAT(PUBLIC), "198.20.0.1", "" },
    { "223.255.255.255", CAT(PUBLIC), "223.255.255.255", "" },
    { "11.0.0.1", CAT(PUBLIC), "11.0.0.1", "" },
    { "126.255.255.255", CAT(PUBLIC), "126.255.255.255", "" },
    { "128.0.0.1", CAT(PUBLIC), "128.0.0.1", "" },
    { "2606:4700:4700::1111", CAT(PUBLIC), "2606:4700:4700::1111", "" },
    { "2001:4860:4860::8888", CAT(PUBLIC), "2001:4860:4860::8888", "" },
    { "2620:4f:8000::1", CAT(PUBLIC), "2620:4f:8000::1", "" },
    { "2002:808:808::1", CAT(PUBLIC), "2002:808:808::1", "8.8.8.8" },
    { "::ffff:8.8.8.8", CAT(PUBLIC), "::ffff:8.8.8.8", "8.8.8.8" },
    { "64:ff9b::808:808", CAT(PUBLIC), "64:ff9b::808:808", "8.8.8.8" },
    { "2001:0:4136:e378:8000:63bf:f7f7:f7f7", CAT(PUBLIC),
      "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "8.8.8.8" },
};

static const struct addr_case *cur_case;

/*
** Resolve one spelling three ways, check they agree, classify the
** sockaddr getaddrinfo produced, the text form, and the decision for a
** host nobody configured.
*/
static void t_address(void)
{
    const struct addr_case *c = cur_case;
    struct sockaddr_storage ss;
    struct netpolicy_verdict v;
    struct netpolicy np;
    unsigned char own[16];
    const unsigned char *gb;
    size_t len = 0, ownlen = 0, gblen = 0;
    int want_allowed = c->cat == NETPOLICY_PUBLIC;

    CHECK(gai_numeric(c->text, AF_UNSPEC, &ss, &len) == 0);
    CHECK(own_parse(c->text, own, &ownlen) == 0);
    gb = sa_bytes(&ss, &gblen);
    CHECK_MEM(own, ownlen, gb, gblen);
    if (ownlen == 4) {
        struct in_addr ia;
        CHECK(inet_aton(c->text, &ia) == 1);
        CHECK_MEM(own, 4, &ia, 4);
    }

    netpolicy_classify((const struct sockaddr *)&ss, len, &v);
    CHECK_STR(netpolicy_category_name(v.category),
              netpolicy_category_name(c->cat));
    CHECK_INT(v.allowed, want_allowed);
    CHECK_STR(v.addr, c->addr);
    CHECK_STR(v.ipv4, c->ipv4);
    CHECK(v.reason[0] != '\0');

    CHECK(netpolicy_classify_ip(c->text, &v) == 0);
    CHECK_INT(v.category, c->cat);
    CHECK_STR(v.addr, c->addr);

    netpolicy_init(&np);
    CHECK(netpolicy_add_host(&np, "backend.test", 0, NULL, 0) == 0);
    CHECK_INT(netpolicy_check_connect(&np, "evil.example", 443,
                                      (const struct sockaddr *)&ss, len,
                                      &v), want_allowed);
    CHECK_INT(netpolicy_check_ip(&np, "evil.example", 443, c->text, &v),
              want_allowed);
}

static void run_matrix(const struct addr_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        cur_case = &cases[i];
        unit_run(cases[i].text, t_address);
    }
}

/* ---- the IPv4 parser against glibc ---- */

struct v4_case {
    const char *text;
    int ok;
    unsigned char b[4];
};

static const struct v4_case v4_cases[] = {
    { "1.2.3.4", 1, { 1, 2, 3, 4 } },
    { "1.2.3", 1, { 1, 2, 0, 3 } },
    { "1.2", 1, { 1, 0, 0, 2 } },
    { "1", 1, { 0, 0, 0, 1 } },
    { "1.2.0xffff", 1, { 1, 2, 255, 255 } },
    { "1.0xffffff", 1, { 1, 255, 255, 255 } },
    { "0xffffffff", 1, { 255, 255, 255, 255 } },
    { "037777777777", 1, { 255, 255, 255, 255 } },
    { "0x1.0X2.0x3.0xA", 1, { 1, 2, 3, 10 } },
    { "010.010.010.010", 1, { 8, 8, 8, 8 } },
    { "00", 1, { 0, 0, 0, 0 } },
    { "0x00000000000000000001", 1, { 0, 0, 0, 1 } },
    { "", 0, { 0 } },
    { ".", 0, { 0 } },
    { "1.", 0, { 0 } },
    { ".1", 0, { 0 } },
    { "1..1", 0, { 0 } },
    { "1.2.3.4.", 0, { 0 } },
    { "1.2.3.4.5", 0, { 0 } },
    { "256.0.0.1", 0, { 0 } },
    { "1.256.0.1", 0, { 0 } },
    { "1.2.3.256", 0, { 0 } },
    { "1.2.65536", 0, { 0 } },
    { "1.16777216", 0, { 0 } },
    { "4294967296", 0, { 0 } },
    { "0x100000000", 0, { 0 } },
    { "040000000000", 0, { 0 } },
    { "99999999999999999999999", 0, { 0 } },
    { "0x", 0, { 0 } },
    { "0x.1", 0, { 0 } },
    { "0xg", 0, { 0 } },
    { "08", 0, { 0 } },
    { "09.1.1.1", 0, { 0 } },
    { "00x1", 0, { 0 } },
    { "-1", 0, { 0 } },
    { "+1", 0, { 0 } },
    { " 1", 0, { 0 } },
    { "1 ", 0, { 0 } },
    { "1.2.3.4 ", 0, { 0 } },
    { "1.2.3.4x", 0, { 0 } },
    { "1e3", 0, { 0 } },
    { "a.b.c.d", 0, { 0 } },
    { "example.com", 0, { 0 } },
    { "1.2.3.4/8", 0, { 0 } },
    { "::1", 0, { 0 } },
};

/* Each case through our parser and getaddrinfo(AF_INET, NUMERICHOST). */
static void test_ipv4_parser_matches_glibc(void)
{
    size_t i;

    for (i = 0; i < sizeof v4_cases / sizeof v4_cases[0]; i++) {
        const struct v4_case *c = &v4_cases[i];
        struct sockaddr_storage ss;
        unsigned char b[4] = { 0 };
        size_t len, n;
        int ours = netpolicy_ipv4_parse(c->text, b) == 0;
        int gai = gai_numeric(c->text, AF_INET, &ss, &len) == 0;

        if (ours != c->ok || gai != c->ok)
            fprintf(stderr, "  ipv4 case \"%s\": ours %d glibc %d want %d\n",
                    c->text, ours, gai, c->ok);
        CHECK_INT(ours, c->ok);
        CHECK_INT(gai, c->ok);
        if (c->ok && ours && gai) {
            CHECK_MEM(b, 4, c->b, 4);
            CHECK_MEM(b, 4, sa_bytes(&ss, &n), 4);
        }
    }
    CHECK(netpolicy_ipv4_parse(NULL, (unsigned char[4]){ 0 }) == -1);
}

/* ---- reasons ---- */

static void test_reasons(void)
{
    struct netpolicy_verdict v;

    netpolicy_classify_ip("169.254.169.254", &v);
    CHECK_STR(v.reason, "169.254.169.254 is a cloud metadata address");
    netpolicy_classify_ip("::ffff:127.0.0.1", &v);
    CHECK_STR(v.reason,
              "::ffff:127.0.0.1 maps to 127.0.0.1, a loopback address");
    netpolicy_classify_ip("2130706433", &v);
    CHECK_STR(v.reason, "2130706433 is 127.0.0.1, a loopback address");
    netpolicy_classify_ip("64:ff9b::7f00:1", &v);
    CHECK_STR(v.reason, "64:ff9b::7f00:1 maps to 127.0.0.1 (NAT64),"
              " a loopback address");
    netpolicy_classify_ip("2002:7f00:1::", &v);
    CHECK_STR(v.reason, "2002:7f00:1:: maps to 127.0.0.1 (6to4),"
              " a loopback address");
    netpolicy_classify_ip("2001:0:4136:e378:8000:63bf:f5ff:fffe", &v);
    CHECK_STR(v.reason, "2001:0:4136:e378:8000:63bf:f5ff:fffe maps to"
              " 10.0.0.1 (Teredo client), a private address");
    netpolicy_classify_ip("[::1]", &v);
    CHECK_STR(v.reason, "::1 is a loopback address");
    netpolicy_classify_ip("8.8.8.8", &v);
    CHECK_STR(v.reason, "8.8.8.8 is a public address");
    netpolicy_classify_ip("100.64.0.1", &v);
    CHECK_STR(v.reason, "100.64.0.1 is a shared (carrier-grade NAT)"
              " address");
    netpolicy_classify_ip("fd00:ec2::254", &v);
    CHECK_STR(v.reason, "fd00:ec2::254 is a cloud metadata address");

    CHECK(netpolicy_classify_ip("not-an-ip", &v) == -1);
    CHECK_INT(v.category, NETPOLICY_INVALID);
    CHECK_INT(v.allowed, 0);
    CHECK(netpolicy_classify_ip(NULL, &v) == -1);
    CHECK(netpolicy_classify_ip("1.2.3.4.5", &v) == -1);
    /* hostile text never reaches the message raw */
    CHECK(netpolicy_classify_ip("\x1b[31m1.2.3.4", &v) == -1);
    CHECK(strchr(v.reason, '\x1b') == NULL);
}

static void test_category_names(void)
{
    int c;

    for (c = NETPOLICY_PUBLIC; c <= NETPOLICY_PLAIN_HTTP; c++)
        CHECK(strcmp(netpolicy_category_name(c), "unknown") != 0);
    CHECK_STR(netpolicy_category_name(NETPOLICY_METADATA), "metadata");
    CHECK_STR(netpolicy_category_name(NETPOLICY_CGNAT), "cgnat");
    CHECK_STR(netpolicy_category_name((enum netpolicy_category)99),
              "unknown");
}

/* A sockaddr that is not IPv4/IPv6, or cut short, is never allowed. */
static void test_odd_sockaddrs(void)
{
    struct sockaddr_un un;
    struct sockaddr_in in;
    struct netpolicy_verdict v;
    struct netpolicy np;

    netpolicy_init(&np);
    CHECK(netpolicy_add_host(&np, "localhost", 0, NULL, 0) == 0);
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    CHECK(netpolicy_check_connect(&np, "localhost", 80,
                                  (struct sockaddr *)&un, sizeof un,
                                  &v) == 0);
    CHECK_INT(v.category, NETPOLICY_INVALID);

    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(0x08080808);
    CHECK(netpolicy_check_connect(&np, "localhost", 80,
                                  (struct sockaddr *)&in, 4, &v) == 0);
    CHECK_INT(v.category, NETPOLICY_INVALID);
    CHECK(netpolicy_check_connect(&np, "x.test", 80, NULL, 0, &v) == 0);
    CHECK(netpolicy_check_connect(&np, "x.test", 80,
                                  (struct sockaddr *)&in, sizeof in,
                                  &v) == 1);
}

/* ---- schemes and URL-level checks ---- */

static struct netpolicy url_policy;

static void url_policy_init(void)
{
    netpolicy_init(&url_policy);
    CHECK(netpolicy_add_host(&url_policy, "localhost", 8080, NULL, 0)
          == 0);
    CHECK(netpolicy_add_host(&url_policy, "backend.test", 0, NULL, 0)
          == 0);
    CHECK(netpolicy_add_host(&url_policy, "169.254.169.254", 0, NULL, 0)
          == 0);
}

static void test_schemes(void)
{
    struct netpolicy_verdict v;
    const struct netpolicy *np = &url_policy;
    static const char *const refused[] = {
        "ftp", "file", "gopher", "dict", "ldap", "ws", "wss", "smtp",
        "telnet", "tftp", "scp", "", "https:", " https", "httpsx"
    };
    size_t i;

    url_policy_init();
    CHECK(netpolicy_check_url(np, "https", "api.example.com", 443, &v));
    CHECK_INT(v.category, NETPOLICY_PUBLIC);
    CHECK(netpolicy_check_url(np, "HTTPS", "api.example.com", 443, &v));
    CHECK(netpolicy_check_url(NULL, "https", "api.example.com", 443, &v));

    CHECK(!netpolicy_check_url(np, "http", "api.example.com", 80, &v));
    CHECK_INT(v.category, NETPOLICY_PLAIN_HTTP);
    CHECK(strstr(v.reason, "api.example.com") != NULL);
    CHECK(netpolicy_check_url(np, "http", "localhost", 8080, &v));
    CHECK(netpolicy_check_url(np, "HTTP", "LocalHost.", 8080, &v));
    CHECK(!netpolicy_check_url(np, "http", "localhost", 8081, &v));
    CHECK_INT(v.category, NETPOLICY_PLAIN_HTTP);
    CHECK(netpolicy_check_url(np, "http", "backend.test", 1234, &v));

    for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK(!netpolicy_check_url(np, refused[i], "backend.test", 443,
                                   &v));
        CHECK_INT(v.category, NETPOLICY_SCHEME);
        CHECK_INT(v.allowed, 0);
    }
    CHECK(!netpolicy_check_url(np, NULL, "backend.test", 443, &v));
    CHECK_INT(v.category, NETPOLICY_SCHEME);
    CHECK(!netpolicy_check_url(np, "file", "localhost", 8080, &v));
    CHECK(strstr(v.reason, "\"file\"") != NULL);
}

static void test_url_hosts(void)
{
    struct netpolicy_verdict v;
    const struct netpolicy *np = &url_policy;

    url_policy_init();
    /* IP-literal hosts are refused before any connect */
    CHECK(!netpolicy_check_url(np, "https", "127.0.0.1", 443, &v));
    CHECK_INT(v.category, NETPOLICY_LOOPBACK);
    CHECK_STR(v.reason, "127.0.0.1 is a loopback address");
    CHECK(!netpolicy_check_url(np, "https", "2130706433", 443, &v));
    CHECK_STR(v.reason, "2130706433 is 127.0.0.1, a loopback address");
    CHECK(!netpolicy_check_url(np, "https", "[::ffff:7f00:1]", 443, &v));
    CHECK_INT(v.category, NETPOLICY_LOOPBACK);
    CHECK(!netpolicy_check_url(np, "https", "127.0.0.1.", 443, &v));
    CHECK_INT(v.category, NETPOLICY_LOOPBACK);
    CHECK(!netpolicy_check_url(np, "https", "[fd00:ec2::254]", 443, &v));
    CHECK_INT(v.category, NETPOLICY_METADATA);
    CHECK(netpolicy_check_url(np, "https", "8.8.8.8", 443, &v));
    CHECK(netpolicy_check_url(np, "https", "[2606:4700:4700::1111]", 443,
                              &v));
    /* the metadata address configured as itself */
    CHECK(netpolicy_check_url(np, "http", "169.254.169.254", 80, &v));
    CHECK(netpolicy_check_url(np, "http", "0xa9fea9fe", 80, &v));
    /* localhost names (RFC 6761) */
    CHECK(!netpolicy_check_url(np, "https", "localhost", 443, &v));
    CHECK_INT(v.category, NETPOLICY_LOOPBACK);
    CHECK(!netpolicy_check_url(np, "https", "api.LOCALHOST", 443, &v));
    CHECK(netpolicy_check_url(np, "https", "localhost", 8080, &v));
    CHECK(netpolicy_check_url(np, "https", "notlocalhost", 443, &v));
    /* names are judged at connect time */
    CHECK(netpolicy_check_url(np, "https", "a.example", 443, &v));
    CHECK(strstr(v.reason, "connects to") != NULL);
    /* bad hosts and ports */
    CHECK(!netpolicy_check_url(np, "https", "exa mple.com", 443, &v));
    CHECK_INT(v.category, NETPOLICY_INVALID);
    CHECK(!netpolicy_check_url(np, "https", "", 443, &v));
    CHECK(!netpolicy_check_url(np, "https", NULL, 443, &v));
    CHECK(!netpolicy_check_url(np, "https", "1.2.3.999", 443, &v));
    CHECK(!netpolicy_check_url(np, "https", "a.example", 70000, &v));
    CHECK_INT(v.category, NETPOLICY_INVALID);
}

/* ---- configured hosts ---- */

static void test_host_normalize(void)
{
    static const struct {
        const char *in, *out;
        int kind;
    } ok[] = {
        { "Example.COM", "example.com", NETPOLICY_HOST_NAME },
        { "example.com.", "example.com", NETPOLICY_HOST_NAME },
        { "a_b-c.test", "a_b-c.test", NETPOLICY_HOST_NAME },
        { "127.1", "127.0.0.1", NETPOLICY_HOST_IPV4 },
        { "0X7F.0.0.1.", "127.0.0.1", NETPOLICY_HOST_IPV4 },
        { "[::1]", "::1", NETPOLICY_HOST_IPV6 },
        { "0:0::1", "::1", NETPOLICY_HOST_IPV6 },
        { "[FD00:EC2::254]", "fd00:ec2::254", NETPOLICY_HOST_IPV6 },
        { "[::ffff:7f00:1]", "::ffff:127.0.0.1", NETPOLICY_HOST_IPV6 },
        { "123abc.example", "123abc.example", NETPOLICY_HOST_NAME },
    };
    static const char *const bad[] = {
        "", ".", "..", "a..b", ".a", "a b", "a/b", "a@b", "a%2eb",
        "caf\xc3\xa9.test", "1.2.3.999", "x.0x10", "example.123",
        "[::1", "[example.com]", "fe80::1%eth0", "[fe80::1%25eth0]",
        "1:2", "a\nb",
    };
    char out[NETPOLICY_HOST_MAX], err[256], long_label[80], long_name[300];
    size_t i;

    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_INT(netpolicy_host_normalize(ok[i].in, out, sizeof out, err,
                                           sizeof err), ok[i].kind);
        CHECK_STR(out, ok[i].out);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK(netpolicy_host_normalize(bad[i], out, sizeof out, err,
                                       sizeof err) == -1);
        CHECK(err[0] != '\0');
        CHECK(strchr(err, '\n') == NULL);
    }
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    CHECK(netpolicy_host_normalize(long_label, out, sizeof out, NULL, 0)
          == -1);
    long_label[63] = '\0';
    CHECK(netpolicy_host_normalize(long_label, out, sizeof out, NULL, 0)
          == NETPOLICY_HOST_NAME);
    for (i = 0; i < 254; i++)
        long_name[i] = (i % 2) ? '.' : 'a';
    long_name[253] = '\0';
    CHECK(netpolicy_host_normalize(long_name, out, sizeof out, NULL, 0)
          == NETPOLICY_HOST_NAME);
    long_name[253] = 'a';
    long_name[254] = '\0';
    CHECK(netpolicy_host_normalize(long_name, out, sizeof out, NULL, 0)
          == -1);
    CHECK(netpolicy_host_normalize("0", out, 4, NULL, 0) == -1);
}

static void test_configured_matching(void)
{
    struct netpolicy np;
    char err[256];

    netpolicy_init(&np);
    CHECK(netpolicy_add_host(&np, "Example.COM.", 0, err, sizeof err) == 0);
    CHECK(netpolicy_add_host(&np, "api.test", 8443, err, sizeof err) == 0);
    CHECK(netpolicy_add_host(&np, "[::1]", 8080, err, sizeof err) == 0);
    CHECK(netpolicy_add_host(&np, "127.1", 0, err, sizeof err) == 0);

    CHECK(netpolicy_is_configured(&np, "example.com", 443));
    CHECK(netpolicy_is_configured(&np, "EXAMPLE.com.", 1));
    CHECK(netpolicy_is_configured(&np, "example.com", 0));
    CHECK(!netpolicy_is_configured(&np, "www.example.com", 443));
    CHECK(!netpolicy_is_configured(&np, "example.co", 443));

    CHECK(netpolicy_is_configured(&np, "API.test", 8443));
    CHECK(!netpolicy_is_configured(&np, "api.test", 443));
    CHECK(!netpolicy_is_configured(&np, "api.test", 0));

    CHECK(netpolicy_is_configured(&np, "::1", 8080));
    CHECK(netpolicy_is_configured(&np, "[0:0:0:0:0:0:0:1]", 8080));
    CHECK(!netpolicy_is_configured(&np, "[::1]", 8081));

    CHECK(netpolicy_is_configured(&np, "127.0.0.1", 5));
    CHECK(netpolicy_is_configured(&np, "0x7f000001", 5));
    CHECK(netpolicy_is_configured(&np, "2130706433", 5));
    CHECK(!netpolicy_is_configured(&np, "127.0.0.2", 5));
    CHECK(!netpolicy_is_configured(&np, "[::ffff:127.0.0.1]", 5));

    CHECK(!netpolicy_is_configured(&np, NULL, 443));
    CHECK(!netpolicy_is_configured(&np, "bad host", 443));
    CHECK(!netpolicy_is_configured(NULL, "example.com", 443));
}

static void test_add_host_limits(void)
{
    struct netpolicy np;
    char err[256], name[32];
    size_t i;

    netpolicy_init(&np);
    CHECK(netpolicy_add_host(&np, "a.test", 0, NULL, 0) == 0);
    CHECK(netpolicy_add_host(&np, "A.TEST.", 0, NULL, 0) == 0);
    CHECK(netpolicy_add_host(&np, "a.test", 443, NULL, 0) == 0);
    CHECK_INT(np.count, 1);
    CHECK(netpolicy_add_host(&np, "b.test", 443, NULL, 0) == 0);
    CHECK(netpolicy_add_host(&np, "b.test", 0, NULL, 0) == 0);
    CHECK_INT(np.count, 3);

    CHECK(netpolicy_add_host(&np, "a.test", 65536, err, sizeof err) == -1);
    CHECK(strstr(err, "65536") != NULL);
    CHECK(netpolicy_add_host(&np, "", 0, err, sizeof err) == -1);
    CHECK(netpolicy_add_host(&np, "a..b", 0, err, sizeof err) == -1);
    CHECK(netpolicy_add_host(&np, NULL, 0, err, sizeof err) == -1);

    for (i = np.count; i < NETPOLICY_MAX_HOSTS; i++) {
        snprintf(name, sizeof name, "h%zu.test", i);
        CHECK(netpolicy_add_host(&np, name, 0, NULL, 0) == 0);
    }
    CHECK(netpolicy_add_host(&np, "one-more.test", 0, err, sizeof err)
          == -1);
    CHECK(strstr(err, "too many") != NULL);
    CHECK(netpolicy_add_host(&np, "a.test", 0, err, sizeof err) == 0);
}

/* ---- --allow-host ---- */

static void test_allow_host_valid(void)
{
    struct netpolicy np;
    char err[256];

    netpolicy_init(&np);
    CHECK(netpolicy_allow_host_arg(&np, "localhost:8080", err, sizeof err)
          == 0);
    CHECK(netpolicy_allow_host_arg(&np, "Backend.Local.", err, sizeof err)
          == 0);
    CHECK(netpolicy_allow_host_arg(&np, "[::1]:8443", err, sizeof err)
          == 0);
    CHECK(netpolicy_allow_host_arg(&np, "[fd00::5]", err, sizeof err) == 0);
    CHECK(netpolicy_allow_host_arg(&np, "fe80::7", err, sizeof err) == 0);
    CHECK(netpolicy_allow_host_arg(&np, "10.0.0.5:80", err, sizeof err)
          == 0);
    CHECK(netpolicy_allow_host_arg(&np, "012.0.0.6", err, sizeof err)
          == 0);

    CHECK(netpolicy_is_configured(&np, "localhost", 8080));
    CHECK(!netpolicy_is_configured(&np, "localhost", 8081));
    CHECK(netpolicy_is_configured(&np, "backend.local", 1));
    CHECK(netpolicy_is_configured(&np, "::1", 8443));
    CHECK(!netpolicy_is_configured(&np, "::1", 443));
    CHECK(netpolicy_is_configured(&np, "fd00::5", 443));
    CHECK(netpolicy_is_configured(&np, "[fe80::7]", 443));
    CHECK(netpolicy_is_configured(&np, "10.0.0.5", 80));
    CHECK(netpolicy_is_configured(&np, "10.0.0.6", 80));
}

static void test_allow_host_errors(void)
{
    static const struct {
        const char *arg, *needle;
    } bad[] = {
        { "", "expected HOST" },
        { ":8080", "empty host" },
        { "host:", "port number" },
        { "host:0", "port number" },
        { "host:65536", "port number" },
        { "host:123456", "port number" },
        { "host:http", "port number" },
        { "host:-1", "port number" },
        { "[::1", "missing ']'" },
        { "[::1]8080", "':PORT' after ']'" },
        { "[::1]:", "port number" },
        { "[example.com]:80", "not a valid IPv6" },
        { "[]:80", "not a valid IPv6" },
        { "a b", "not allowed in a host name" },
        { "a..b:80", "empty label" },
        { "fe80::1%eth0", "zone" },
        { "host:80:90", "not a valid IPv6" },
        { "1.2.3.999", "not a valid IPv4" },
    };
    struct netpolicy np;
    char err[256];
    size_t i;

    netpolicy_init(&np);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK(netpolicy_allow_host_arg(&np, bad[i].arg, err, sizeof err)
              == -1);
        if (!strstr(err, bad[i].needle))
            fprintf(stderr, "  --allow-host \"%s\": \"%s\" lacks \"%s\"\n",
                    bad[i].arg, err, bad[i].needle);
        CHECK(strstr(err, bad[i].needle) != NULL);
        CHECK(strstr(err, "--allow-host") == err);
    }
    CHECK(netpolicy_allow_host_arg(&np, NULL, err, sizeof err) == -1);
    CHECK(netpolicy_allow_host_arg(&np, "ev\x1b[2Jil:80", err, sizeof err)
          == -1);
    CHECK(strchr(err, '\x1b') == NULL);
    CHECK_INT(np.count, 0);
}

/* ---- CLAWHOST_CONNECT_TO ---- */

static void test_connect_to_valid(void)
{
    struct netpolicy np;
    struct netpolicy_connect_to e[8];
    size_t n = 99;
    char err[512];

    netpolicy_init(&np);
    CHECK(netpolicy_connect_to_parse(&np,
          "api.thetaedgecloud.com:443:127.0.0.1:8443", e, 8, &n, err,
          sizeof err) == 0);
    CHECK_INT(n, 1);
    CHECK_STR(e[0].host1, "api.thetaedgecloud.com");
    CHECK_INT(e[0].port1, 443);
    CHECK_STR(e[0].host2, "127.0.0.1");
    CHECK_INT(e[0].port2, 8443);
    CHECK_STR(e[0].curl, "api.thetaedgecloud.com:443:127.0.0.1:8443");
    CHECK(netpolicy_is_configured(&np, "api.thetaedgecloud.com", 443));
    CHECK(!netpolicy_is_configured(&np, "api.thetaedgecloud.com", 80));
    CHECK(!netpolicy_is_configured(&np, "127.0.0.1", 8443));

    netpolicy_init(&np);
    CHECK(netpolicy_connect_to_parse(&np,
          " API.Example.COM.:443:127.1:8443 ,graph.test::localhost:9000,"
          "::127.0.0.1:9001,\t[::1]:443:[0:0::1]:8443 ,x.test:443::8444,"
          "y.test:443:[::ffff:7f00:1]:", e, 8, &n, err, sizeof err) == 0);
    CHECK_INT(n, 6);
    CHECK_STR(e[0].curl, "api.example.com:443:127.0.0.1:8443");
    CHECK_STR(e[1].curl, "graph.test::localhost:9000");
    CHECK_INT(e[1].port1, 0);
    CHECK_STR(e[2].curl, "::127.0.0.1:9001");
    CHECK_STR(e[2].host1, "");
    CHECK_STR(e[3].host1, "::1");
    CHECK_STR(e[3].curl, "[::1]:443:[::1]:8443");
    CHECK_STR(e[4].curl, "x.test:443::8444");
    CHECK_STR(e[4].host2, "");
    CHECK_STR(e[5].curl, "y.test:443:[::ffff:127.0.0.1]:");
    CHECK_INT(e[5].port2, 0);
    CHECK(netpolicy_is_configured(&np, "api.example.com", 443));
    CHECK(netpolicy_is_configured(&np, "graph.test", 1234));
    CHECK(netpolicy_is_configured(&np, "[::1]", 443));
    CHECK(netpolicy_is_configured(&np, "x.test", 443));
    /* an empty HOST1 configures nothing */
    CHECK_INT(np.count, 5);

    CHECK(netpolicy_connect_to_parse(&np, NULL, e, 8, &n, err, sizeof err)
          == 0);
    CHECK_INT(n, 0);
    CHECK(netpolicy_connect_to_parse(&np, "", e, 8, &n, err, sizeof err)
          == 0);
    CHECK_INT(n, 0);
    CHECK(netpolicy_connect_to_parse(&np, " \t ", NULL, 0, &n, err,
                                     sizeof err) == 0);
    CHECK_INT(n, 0);
    /* np may be NULL: parse only */
    CHECK(netpolicy_connect_to_parse(NULL, "a.test:1:b.test:2", e, 8, &n,
                                     err, sizeof err) == 0);
    CHECK_INT(n, 1);
}

static void test_connect_to_errors(void)
{
    static const struct {
        const char *spec, *needle;
    } bad[] = {
        { "x.test:443:127.0.0.1", "too few fields" },
        { "x.test", "too few fields" },
        { "x.test:443:127.0.0.1:8443:1", "too many ':'" },
        { "::1:443:127.0.0.1:1", "too many ':'" },
        { "x.test:http:127.0.0.1:1", "\"http\" is not a port" },
        { "x.test:443:127.0.0.1:99999", "\"99999\" is not a port" },
        { "x.test:443:127.0.0.1:0", "\"0\" is not a port" },
        { "x.test:443::", "maps nothing" },
        { "a.test:1:b.test:2,,c.test:1:d.test:2", "entry 2 is empty" },
        { "a.test:1:b.test:2,", "entry 2 is empty" },
        { ",a.test:1:b.test:2", "entry 1 is empty" },
        { "[::1:443:x.test:1", "missing ']'" },
        { "[::1]x:443:a.test:1", "expected ':' after ']'" },
        { "bad host:1:a.test:1", "not allowed in a host name" },
        { "a.test:1:[nope]:1", "not a valid IPv6" },
        { "a.test:1:fe80::1%eth0:1", "too many ':'" },
        { "a.test:1:[fe80::1%eth0]:1", "zone" },
        { "a.test:1:b.test:2,a.test:1:1.2.3.999:2", "entry 2" },
        { ".127.0.0.1:443:a.test:1", "needs a host name" },
        { ".bad host:443:a.test:1", "not allowed in a host name" },
    };
    struct netpolicy np;
    struct netpolicy_connect_to e[4];
    size_t i, n;
    char err[512];

    netpolicy_init(&np);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 99;
        err[0] = '\0';
        CHECK(netpolicy_connect_to_parse(&np, bad[i].spec, e, 4, &n, err,
                                         sizeof err) == -1);
        CHECK_INT(n, 0);
        if (!strstr(err, bad[i].needle))
            fprintf(stderr, "  connect-to \"%s\": \"%s\" lacks \"%s\"\n",
                    bad[i].spec, err, bad[i].needle);
        CHECK(strstr(err, bad[i].needle) != NULL);
        CHECK(strstr(err, "CLAWHOST_CONNECT_TO") == err);
    }
    /* nothing was configured by the failed lists */
    CHECK_INT(np.count, 0);

    /* the message names the bad entry and the expected syntax */
    netpolicy_connect_to_parse(&np, "good.test:1:b.test:2, evil:1:2", e, 4,
                               &n, err, sizeof err);
    CHECK(strstr(err, "entry 2 \"evil:1:2\"") != NULL);
    CHECK(strstr(err, "HOST1:PORT1:HOST2:PORT2") != NULL);

    CHECK(netpolicy_connect_to_parse(&np, "a.t:1:b.t:2,c.t:1:d.t:2,"
          "e.t:1:f.t:2", e, 2, &n, err, sizeof err) == -1);
    CHECK(strstr(err, "more than 2 entries") != NULL);
}

/* A policy that fills up half-way through a list is rolled back. */
static void test_connect_to_all_or_nothing(void)
{
    struct netpolicy np;
    struct netpolicy_connect_to e[4];
    char name[32], err[512];
    size_t i, n;

    netpolicy_init(&np);
    for (i = 0; i + 1 < NETPOLICY_MAX_HOSTS; i++) {
        snprintf(name, sizeof name, "h%zu.test", i);
        CHECK(netpolicy_add_host(&np, name, 0, NULL, 0) == 0);
    }
    CHECK(netpolicy_connect_to_parse(&np, "new1.test:1:a.test:2,"
          "new2.test:1:a.test:2", e, 4, &n, err, sizeof err) == -1);
    CHECK(strstr(err, "too many") != NULL);
    CHECK_INT(np.count, NETPOLICY_MAX_HOSTS - 1);
    CHECK(!netpolicy_is_configured(&np, "new1.test", 1));
}

/* ---- the suffix matcher ---- */

static void test_host_matches(void)
{
    static const struct {
        const char *pattern, *host;
        int want;
    } cases[] = {
        { ".onthetaedgecloud.com", "a.onthetaedgecloud.com", 1 },
        { ".onthetaedgecloud.com", "x.y.onthetaedgecloud.com", 1 },
        { ".onthetaedgecloud.com", "A.OnThetaEdgeCloud.COM.", 1 },
        { ".OnThetaEdgeCloud.com.", "a.onthetaedgecloud.com", 1 },
        { "*.onthetaedgecloud.com", "a.onthetaedgecloud.com", 1 },
        { ".onthetaedgecloud.com", "onthetaedgecloud.com", 0 },
        { ".onthetaedgecloud.com", "evilonthetaedgecloud.com", 0 },
        { ".onthetaedgecloud.com", "onthetaedgecloud.com.evil.tld", 0 },
        { ".onthetaedgecloud.com", "a.onthetaedgecloud.com.evil.tld", 0 },
        { ".onthetaedgecloud.com", "a.onthetaedgecloud.co", 0 },
        { ".onthetaedgecloud.com", "a.onthetaedgecloud.comm", 0 },
        { ".onthetaedgecloud.com", "x.onthetaedgecloud.com@evil", 0 },
        { ".onthetaedgecloud.com", "evil@x.onthetaedgecloud.com", 0 },
        { ".onthetaedgecloud.com", "x.onthetaedgecloud.com:443", 0 },
        { ".onthetaedgecloud.com", "x.onthetaedgecloud.com/", 0 },
        { ".onthetaedgecloud.com", "x.onthetaedgecloud%2ecom", 0 },
        { ".onthetaedgecloud.com", ".onthetaedgecloud.com", 0 },
        { ".onthetaedgecloud.com", "..onthetaedgecloud.com", 0 },
        { ".onthetaedgecloud.com", "", 0 },
        { ".thetaedgecloud.com", "a.onthetaedgecloud.com", 0 },
        { "api.thetaedgecloud.com", "API.thetaedgecloud.com.", 1 },
        { "api.thetaedgecloud.com", "x.api.thetaedgecloud.com", 0 },
        { "api.thetaedgecloud.com", "api.thetaedgecloud.com.evil", 0 },
        { "api.thetaedgecloud.com", "api-thetaedgecloud.com", 0 },
        { ".0.0.1", "127.0.0.1", 0 },
        { "127.0.0.1", "127.1", 1 },
        { "[::1]", "0:0::1", 1 },
        { ".", "a.com", 0 },
        { "..com", "a.com", 0 },
        { "*", "a.com", 0 },
        { "", "", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = netpolicy_host_matches(cases[i].pattern, cases[i].host);
        if (got != cases[i].want)
            fprintf(stderr, "  match(\"%s\", \"%s\") = %d\n",
                    cases[i].pattern, cases[i].host, got);
        CHECK_INT(got, cases[i].want);
    }
    CHECK(!netpolicy_host_matches(NULL, "a.com"));
    CHECK(!netpolicy_host_matches(".com", NULL));
}

/* ---- decisions: configured hosts and the connected address ---- */

static socklen_t make_sa(const char *text, struct sockaddr_storage *ss)
{
    size_t len = 0;

    memset(ss, 0, sizeof *ss);
    if (gai_numeric(text, AF_UNSPEC, ss, &len) < 0)
        return 0;
    return (socklen_t)len;
}

static void test_configured_may_reach_loopback(void)
{
    struct netpolicy np;
    struct netpolicy_verdict v;
    struct sockaddr_storage lo, lo6, priv, pub, mapped;
    socklen_t llo = make_sa("127.0.0.1", &lo), llo6 = make_sa("::1", &lo6);
    socklen_t lpriv = make_sa("10.0.0.5", &priv);
    socklen_t lpub = make_sa("93.184.216.34", &pub);
    socklen_t lmap = make_sa("::ffff:127.0.0.1", &mapped);
    const struct sockaddr *slo = (const struct sockaddr *)&lo;

    CHECK(llo && llo6 && lpriv && lpub && lmap);
    netpolicy_init(&np);
    CHECK(netpolicy_add_host(&np, "localhost", 8080, NULL, 0) == 0);
    CHECK(netpolicy_add_host(&np, "backend.test", 0, NULL, 0) == 0);

    CHECK(netpolicy_check_connect(&np, "localhost", 8080, slo, llo, &v));
    CHECK_INT(v.category, NETPOLICY_LOOPBACK);
    CHECK_STR(v.reason, "127.0.0.1 is a loopback address; allowed because"
              " localhost is configured");
    CHECK(netpolicy_check_connect(&np, "LOCALHOST.", 8080,
                                  (const struct sockaddr *)&lo6, llo6, &v));
    CHECK(netpolicy_check_connect(&np, "localhost", 8080,
                                  (const struct sockaddr *)&mapped, lmap,
                                  &v));
    CHECK(netpolicy_check_connect(&np, "backend.test", 9,
                                  (const struct sockaddr *)&priv, lpriv,
                                  &v));

    /* not configured, other port, no host: refused */
    CHECK(!netpolicy_check_connect(&np, "evil.test", 443, slo, llo, &v));
    CHECK_INT(v.category, NETPOLICY_LOOPBACK);
    CHECK_STR(v.reason, "127.0.0.1 is a loopback address");
    CHECK(!netpolicy_check_connect(&np, "localhost", 9090, slo, llo, &v));
    CHECK(!netpolicy_check_connect(&np, NULL, 8080, slo, llo, &v));
    CHECK(!netpolicy_check_connect(NULL, "localhost", 8080, slo, llo, &v));
    CHECK(!netpolicy_check_connect(&np, "evil.test", 443,
                                   (const struct sockaddr *)&mapped, lmap,
                                   &v));
    CHECK_STR(v.reason,
              "::ffff:127.0.0.1 maps to 127.0.0.1, a loopback address");

    /* public is public for everyone */
    CHECK(netpolicy_check_connect(NULL, NULL, 0,
                                  (const struct sockaddr *)&pub, lpub, &v));
    CHECK_INT(v.category, NETPOLICY_PUBLIC);

    /* the PREREQFUNCTION path, with curl's primary IP text */
    CHECK(netpolicy_check_ip(&np, "localhost", 8080, "127.0.0.1", &v));
    CHECK(netpolicy_check_ip(&np, "localhost", 8080, "::1", &v));
    CHECK(!netpolicy_check_ip(&np, "evil.test", 443, "::1", &v));
    CHECK(!netpolicy_check_ip(&np, "localhost", 8080, "nonsense", &v));
    CHECK_INT(v.category, NETPOLICY_INVALID);
    CHECK(!netpolicy_check_ip(&np, "localhost", 8080, NULL, &v));
}

/* A configured name reaches metadata only if it is that address. */
static void test_metadata_needs_the_address(void)
{
    struct netpolicy np;
    struct netpolicy_verdict v;
    struct sockaddr_storage md, md6, mdm;
    socklen_t l = make_sa("169.254.169.254", &md);
    socklen_t l6 = make_sa("fd00:ec2::254", &md6);
    socklen_t lm = make_sa("::ffff:169.254.169.254", &mdm);

    CHECK(l && l6 && lm);
    netpolicy_init(&np);
    CHECK(netpolicy_add_host(&np, "backend.test", 0, NULL, 0) == 0);
    CHECK(!netpolicy_check_connect(&np, "backend.test", 443,
                                   (const struct sockaddr *)&md, l, &v));
    CHECK_INT(v.category, NETPOLICY_METADATA);
    CHECK(strstr(v.reason, "backend.test is configured") != NULL);
    CHECK(!netpolicy_check_connect(&np, "backend.test", 443,
                                   (const struct sockaddr *)&md6, l6, &v));

    CHECK(netpolicy_add_host(&np, "169.254.169.254", 80, NULL, 0) == 0);
    CHECK(netpolicy_add_host(&np, "[fd00:ec2::254]", 0, NULL, 0) == 0);
    CHECK(netpolicy_check_connect(&np, "169.254.169.254", 80,
                                  (const struct sockaddr *)&md, l, &v));
    CHECK(netpolicy_check_connect(&np, "0xa9fea9fe", 80,
                                  (const struct sockaddr *)&mdm, lm, &v));
    CHECK(netpolicy_check_connect(&np, "fd00:ec2::254", 443,
                                  (const struct sockaddr *)&md6, l6, &v));
    CHECK(!netpolicy_check_connect(&np, "169.254.169.254", 81,
                                   (const struct sockaddr *)&md, l, &v));
}

/* A connect-to mapping lets the production name reach the local server. */
static void test_connect_to_then_connect(void)
{
    struct netpolicy np;
    struct netpolicy_connect_to e[2];
    struct netpolicy_verdict v;
    struct sockaddr_storage lo;
    socklen_t l = make_sa("127.0.0.1", &lo);
    size_t n;
    char err[256];

    netpolicy_init(&np);
    CHECK(netpolicy_connect_to_parse(&np, "api.thetaedgecloud.com:443:"
          "127.0.0.1:18443", e, 2, &n, err, sizeof err) == 0);
    CHECK(netpolicy_check_url(&np, "https", "api.thetaedgecloud.com", 443,
                              &v));
    CHECK(netpolicy_check_url(&np, "http", "api.thetaedgecloud.com", 443,
                              &v));
    CHECK(netpolicy_check_connect(&np, "api.thetaedgecloud.com", 443,
                                  (const struct sockaddr *)&lo, l, &v));
    CHECK(!netpolicy_check_connect(&np, "other.thetaedgecloud.com", 443,
                                   (const struct sockaddr *)&lo, l, &v));
}

/* ".zone:PORT:..." maps every name under zone: each is configured,
** and curl gets an exact entry per request host. */
static void test_connect_to_suffix(void)
{
    struct netpolicy np;
    struct netpolicy_connect_to e[2];
    struct netpolicy_verdict v;
    struct sockaddr_storage lo;
    socklen_t l = make_sa("127.0.0.1", &lo);
    size_t n;
    char err[256], line[NETPOLICY_CONNECT_TO_LEN];

    netpolicy_init(&np);
    CHECK(netpolicy_connect_to_parse(&np, ".OnThetaEdgeCloud.com:443:"
          "127.0.0.1:18443, api.thetaedgecloud.com:443:127.0.0.1:18443",
          e, 2, &n, err, sizeof err) == 0);
    CHECK_INT(n, 2);
    CHECK_INT(e[0].suffix, 1);
    CHECK_STR(e[0].host1, ".onthetaedgecloud.com");
    CHECK_STR(e[0].curl, "");
    CHECK_INT(e[1].suffix, 0);
    CHECK(netpolicy_connect_to_for(&e[0], "x-1.tec-s3.onthetaedgecloud.com",
                                   443, line, sizeof line) == 1);
    CHECK_STR(line, "x-1.tec-s3.onthetaedgecloud.com:443:127.0.0.1:18443");
    /* the zone itself, another port, a look-alike, an exact entry */
    CHECK(!netpolicy_connect_to_for(&e[0], "onthetaedgecloud.com", 443,
                                    line, sizeof line));
    CHECK(!netpolicy_connect_to_for(&e[0], "a.onthetaedgecloud.com", 8443,
                                    line, sizeof line));
    CHECK(!netpolicy_connect_to_for(&e[0], "evilonthetaedgecloud.com", 443,
                                    line, sizeof line));
    CHECK(!netpolicy_connect_to_for(&e[1], "api.thetaedgecloud.com", 443,
                                    line, sizeof line));
    CHECK(!netpolicy_connect_to_for(&e[0], "a.onthetaedgecloud.com", 443,
                                    line, 10));
    CHECK(netpolicy_check_connect(&np, "a.tec-s1.onthetaedgecloud.com", 443,
                                  (const struct sockaddr *)&lo, l, &v));
    CHECK(!netpolicy_check_connect(&np, "a.onthetaedgecloud.com", 444,
                                   (const struct sockaddr *)&lo, l, &v));
    CHECK(!netpolicy_check_connect(&np, "onthetaedgecloud.com.evil", 443,
                                   (const struct sockaddr *)&lo, l, &v));
}

int main(void)
{
    run_matrix(hostile, sizeof hostile / sizeof hostile[0]);
    run_matrix(public_ok, sizeof public_ok / sizeof public_ok[0]);
    RUN(test_ipv4_parser_matches_glibc);
    RUN(test_reasons);
    RUN(test_category_names);
    RUN(test_odd_sockaddrs);
    RUN(test_schemes);
    RUN(test_url_hosts);
    RUN(test_host_normalize);
    RUN(test_configured_matching);
    RUN(test_connect_to_suffix);
    RUN(test_add_host_limits);
    RUN(test_allow_host_valid);
    RUN(test_allow_host_errors);
    RUN(test_connect_to_valid);
    RUN(test_connect_to_errors);
    RUN(test_connect_to_all_or_nothing);
    RUN(test_host_matches);
    RUN(test_configured_may_reach_loopback);
    RUN(test_metadata_needs_the_address);
    RUN(test_connect_to_then_connect);
    return unit_done("netpolicy");
}
