/*
** netpolicy.h -- the egress policy of the HTTP primitive: which schemes,
** hosts and connected addresses a recipe may reach (DESIGN section 4).
**
** Pure C: no Lua, no curl, no allocation, no printing. Errors come back
** as a return value plus a message in a caller's buffer; verdicts carry
** a category and a short reason for an error message that names the
** host. docs/egress.md is the user-facing contract.
**
** How the libcurl binding uses it:
**
**     struct netpolicy np;
**     netpolicy_init(&np);
**     netpolicy_add_host(&np, host, port, err, n);     per base URL
**     netpolicy_allow_host_arg(&np, arg, err, n);      per --allow-host
**     netpolicy_connect_to_parse(&np, getenv(...), ents, cap, &count,
**                                err, n);              CLAWHOST_CONNECT_TO
**     netpolicy_check_url(&np, scheme, host, port, &v)  after curl_url()
**     netpolicy_check_connect(&np, host, port, sa, len, &v)
**                                   in CURLOPT_OPENSOCKETFUNCTION
**     netpolicy_check_ip(&np, host, port, primary_ip, &v)
**                                   in CURLOPT_PREREQFUNCTION
**
** The connect-time checks are the authority: they judge the address
** actually connected, so DNS answers and odd IP spellings cannot slip by.
** netpolicy_check_url only refuses early, with a better message.
**
** Hosts are compared after netpolicy_host_normalize: ASCII lower case,
** one trailing dot dropped, IPv6 brackets dropped, and IP literals
** rewritten to their canonical text, so "127.1", "0x7f.0.0.1" and
** "127.0.0.1" are the same host, as are "[::1]" and "0:0::1".
**
** The structs are public so they can live on the stack or inside other
** objects; their fields are private except where documented.
*/
#ifndef CLAWHOST_NETPOLICY_H
#define CLAWHOST_NETPOLICY_H

#include <stddef.h>
#include <sys/socket.h>

#define NETPOLICY_HOST_MAX      256 /* normalized host + NUL (253 + 1) */
#define NETPOLICY_ADDR_MAX      46  /* INET6_ADDRSTRLEN */
#define NETPOLICY_REASON_MAX    256 /* verdict reason, NUL included */
#define NETPOLICY_MAX_HOSTS     64  /* configured host entries */
#define NETPOLICY_CONNECT_TO_LEN 528 /* one CURLOPT_CONNECT_TO string */

/*
** What an address (or a refusal) is. Everything but NETPOLICY_PUBLIC is
** refused for hosts that are not configured. The binding maps any
** refusal to err.code "blocked"; the category is for logs and tests.
*/
enum netpolicy_category {
    NETPOLICY_PUBLIC = 0,       /* globally reachable unicast */
    NETPOLICY_LOOPBACK,         /* 127/8, ::1, "localhost" */
    NETPOLICY_UNSPECIFIED,      /* 0/8 "this network", :: */
    NETPOLICY_PRIVATE,          /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
    NETPOLICY_LINK_LOCAL,       /* 169.254/16, fe80::/10 */
    NETPOLICY_CGNAT,            /* 100.64/10 shared address space */
    NETPOLICY_METADATA,         /* 169.254.169.254, fd00:ec2::254, ... */
    NETPOLICY_MULTICAST,        /* 224/4, ff00::/8 */
    NETPOLICY_BROADCAST,        /* 255.255.255.255 */
    NETPOLICY_RESERVED,         /* 240/4, 192.0.0/24, fec0::/10, ... */
    NETPOLICY_DOCUMENTATION,    /* TEST-NET-1/2/3, 2001:db8::/32, ... */
    NETPOLICY_BENCHMARKING,     /* 198.18/15, 2001:2::/48 */
    NETPOLICY_INVALID,          /* not an IPv4/IPv6 address or host */
    NETPOLICY_SCHEME,           /* scheme other than https/http */
    NETPOLICY_PLAIN_HTTP        /* http:// to a host not configured */
};

/* Kinds netpolicy_host_normalize reports. */
enum netpolicy_host_kind {
    NETPOLICY_HOST_NAME = 1,
    NETPOLICY_HOST_IPV4 = 4,
    NETPOLICY_HOST_IPV6 = 6
};

/*
** A decision. allowed is 1 or 0. addr is the canonical text of the
** address judged ("" for URL-level verdicts on names); ipv4 is the IPv4
** address unwrapped from an IPv6 form ("" when none). reason is one
** line of printable ASCII, e.g. "::ffff:127.0.0.1 maps to 127.0.0.1, a
** loopback address"; it never names the URL host unless it is an IP.
*/
struct netpolicy_verdict {
    int allowed;
    enum netpolicy_category category;
    char addr[NETPOLICY_ADDR_MAX];
    char ipv4[16];
    char reason[NETPOLICY_REASON_MAX];
};

/* One configured host; port 0 means any port. */
struct netpolicy_host {
    char host[NETPOLICY_HOST_MAX];
    unsigned port;
};

/* The configured hosts. Fixed size (about 17 KiB), no allocation. */
struct netpolicy {
    size_t count;
    struct netpolicy_host hosts[NETPOLICY_MAX_HOSTS];
};

/*
** One CLAWHOST_CONNECT_TO entry, validated and normalized. Empty host1
** or port1 (0) match any host or port; empty host2 or port2 (0) keep the
** request's own. curl is the same entry rebuilt in curl's --connect-to
** syntax for a CURLOPT_CONNECT_TO slist (normalized, so curl's
** case-insensitive exact compare of HOST1 with the URL host matches).
**
** clawhost's one extension: host1 ".example.com" (suffix set) maps every
** name under example.com, for services whose host names are made at run
** time (a deployment's endpoint). curl has no such syntax, so curl is
** empty for it and the transfer layer renders an exact entry per request
** (netpolicy_connect_to_for). Every name it covers is configured.
*/
struct netpolicy_connect_to {
    char host1[NETPOLICY_HOST_MAX];     /* with its leading '.' if suffix */
    unsigned port1;
    char host2[NETPOLICY_HOST_MAX];
    unsigned port2;
    int suffix;
    char curl[NETPOLICY_CONNECT_TO_LEN];
};

/* An empty policy: only https to public addresses. */
void netpolicy_init(struct netpolicy *np);

/*
** Configure host (a name or IP literal, IPv6 with or without brackets)
** on port (0: any). A configured host may use http and connect to
** loopback, private and other non-public addresses; the binding calls
** this with the host and port of each base URL in the environment.
** Returns 0, or -1 with a message in err (invalid host, bad port, full).
*/
int netpolicy_add_host(struct netpolicy *np, const char *host,
                       unsigned port, char *err, size_t errlen);

/*
** Parse and add one --allow-host argument: HOST, HOST:PORT, [IPV6],
** [IPV6]:PORT, or a bare IPv6 address without a port. 0 or -1 + err.
*/
int netpolicy_allow_host_arg(struct netpolicy *np, const char *arg,
                             char *err, size_t errlen);

/*
** Parse CLAWHOST_CONNECT_TO: comma-separated HOST1:PORT1:HOST2:PORT2
** entries (curl --connect-to syntax, IPv6 in brackets, blanks around
** entries ignored; NULL or "" is an empty list). Fills out[0..*count).
** When np is not NULL every non-empty HOST1 is configured on PORT1.
** All or nothing: on error returns -1 with a message naming the entry,
** *count is 0 and np is left as it was. Returns 0 on success. count
** must not be NULL; out may be NULL only with cap 0.
*/
int netpolicy_connect_to_parse(struct netpolicy *np, const char *spec,
                               struct netpolicy_connect_to *out,
                               size_t cap, size_t *count,
                               char *err, size_t errlen);

/*
** For a suffix entry m: when host (a name under it) on port matches,
** write curl's exact entry for it into out and return 1; else 0.
*/
int netpolicy_connect_to_for(const struct netpolicy_connect_to *m,
                             const char *host, unsigned port, char *out,
                             size_t cap);

/*
** 1 if host on port is configured (an entry with the same normalized
** host and the same port or port 0). port 0 here means "unknown" and
** matches only any-port entries. An invalid host is never configured.
*/
int netpolicy_is_configured(const struct netpolicy *np, const char *host,
                            unsigned port);

/*
** URL-level check after curl_url() parsed the URL (scheme and host as
** curl returns them, port the effective port). https is allowed; http
** only to a configured host; any other scheme is refused. An IP-literal
** host or a "localhost" name that is not configured and not public is
** refused here already; any other name passes with category PUBLIC, to
** be judged at connect time. Returns v->allowed. np may be NULL.
*/
int netpolicy_check_url(const struct netpolicy *np, const char *scheme,
                        const char *host, unsigned port,
                        struct netpolicy_verdict *v);

/*
** Connect-time check of the address curl is about to connect to for a
** request whose URL host and port are host:port. Public addresses pass;
** others pass only when host:port is configured, except metadata
** addresses, which pass only when the configured host is that very
** address. Returns v->allowed. np and host may be NULL (not configured).
*/
int netpolicy_check_connect(const struct netpolicy *np, const char *host,
                            unsigned port, const struct sockaddr *sa,
                            size_t salen, struct netpolicy_verdict *v);

/* The same with the address as text (CURLINFO_PRIMARY_IP, any spelling). */
int netpolicy_check_ip(const struct netpolicy *np, const char *host,
                       unsigned port, const char *ip,
                       struct netpolicy_verdict *v);

/*
** Classify an address with no policy: v->allowed is 1 only for public
** addresses. IPv6 forms that embed IPv4 (mapped, compatible, SIIT,
** NAT64, 6to4, Teredo) are judged by the IPv4 inside.
*/
void netpolicy_classify(const struct sockaddr *sa, size_t salen,
                        struct netpolicy_verdict *v);

/*
** The same from text: IPv4 in any inet_aton spelling, IPv6 with or
** without brackets and zone. Returns 0, or -1 (v says INVALID) when the
** text is not an IP address.
*/
int netpolicy_classify_ip(const char *text, struct netpolicy_verdict *v);

/* "public", "loopback", "metadata", ...; never NULL. */
const char *netpolicy_category_name(enum netpolicy_category c);

/*
** Normalize a host into out (cap bytes, NETPOLICY_HOST_MAX is enough):
** see the top of this file. Names are ASCII letters, digits, '-', '_'
** and dots, labels 1-63 bytes, 253 bytes in all; a name whose last label
** is numeric must be a valid IPv4 address. IPv6 zone ids are refused.
** Returns a netpolicy_host_kind, or -1 with a message in err.
*/
int netpolicy_host_normalize(const char *host, char *out, size_t cap,
                             char *err, size_t errlen);

/*
** 1 if host matches pattern. A pattern starting with "." (or "*.") is a
** label-boundary suffix: ".example.com" matches "a.example.com" and
** "a.b.example.com", but not "example.com", "evilexample.com" or
** "example.com.evil.tld"; IP literals never match a suffix. Any other
** pattern must equal the host. Both sides are normalized first; an
** invalid side never matches.
*/
int netpolicy_host_matches(const char *pattern, const char *host);

/*
** Parse an IPv4 literal the way inet_aton(3) does, which is what glibc's
** resolver and libcurl accept: 1 to 4 dot-separated parts, each decimal,
** octal (leading 0) or hex (0x), the last part filling the remaining
** bytes ("127.1", "0x7f000001", "017700000001"). Unlike inet_aton, no
** trailing text (not even blanks) is accepted. out gets network order.
** Returns 0 or -1.
*/
int netpolicy_ipv4_parse(const char *s, unsigned char out[4]);

/*
** A port as written after ':' (s[0..n), not NUL-terminated): 1 to 5
** decimal digits, 1-65535, nothing else. Returns 0 with *out set, or -1.
*/
int netpolicy_port_parse(const char *s, size_t n, unsigned *out);

#endif
