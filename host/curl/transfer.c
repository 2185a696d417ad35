/*
** transfer.c -- one HTTP attempt over libcurl's multi interface, and
** the I/O source the event loop polls.
**
** Every easy handle follows the checklist of reference/embedding-
** anchors.md 3: https (and http) only, no redirects, no environment
** proxies, no signals, capped buffers, and the egress policy checked
** on the address actually connected (OPENSOCKETFUNCTION) and again
** before each request on a reused connection (PREREQFUNCTION), so DNS
** tricks and odd IP spellings cannot pass (libcurl-security.md).
** libcurl and TLS start only when the first request is made. Easy
** handles are kept for the next request: see "easy handles" below for
** which options are set once and which on every request.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "curl/curlfn.h"
#include "curl/curlurl.h"
#include "curl/transfer.h"
#include "pure/baseurl.h"
#include "runtime/config.h"
#include "runtime/loop.h"
#include "runtime/rt.h"
#include "util/dynbuf.h"

#define MAX_HEADER_BYTES (64u << 10)
#define MAX_HEADERS 256
/* A stream reads with a larger buffer than libcurl's 16 KiB default:
** fewer reads, callbacks and loop rounds per byte (curl's own command
** line reads 100 KiB at a time; 256 KiB measured best here, bench/
** README.md section 7). What the reader has not taken yet may grow to
** STREAM_BUFFER, then the transfer pauses until it has. */
#define STREAM_CURL_BUFFER (256L << 10)
#define STREAM_BUFFER ((size_t)1 << 20)
#define MAX_CONNECT_TO 32
#define IDLE_MAX 64             /* idle easy handles kept, at most */

struct transfer {
    CURL *easy;
    struct transfer_opts o;
    char host[NETPOLICY_HOST_MAX];
    int in_multi, done, headers_done, paused;
    long status;
    struct xfer_header *hdrs;
    size_t nhdrs, hdrs_cap, hdr_bytes;
    struct dynbuf body;         /* what arrived and was not taken yet */
    size_t taken;               /* streams: bytes of body read already */
    size_t total;
    enum xfer_error err;
    enum retry_outcome outcome;
    int blocked, too_large, timed_out;
    int reusable;               /* its handle may serve another request */
    char msg[640];
    char reason[NETPOLICY_REASON_MAX];
    char errbuf[CURL_ERROR_SIZE];
    double start, last_data;
    int got_body;
    struct transfer *prev, *next;       /* attempts in the multi */
    struct curl_slist *connect_to;      /* its own, for a suffix map */
    curl_mime *mime;                    /* a form body, or NULL */
};

static struct {
    CURLM *multi;
    int curl_ready;
    int policy_ready;
    struct netpolicy np;
    char policy_err[512];
    struct curl_slist *connect_to;
    struct netpolicy_connect_to suffix_maps[MAX_CONNECT_TO];
    size_t nsuffix;
    const char *ca_file;
    const char *proxy;
    struct transfer *active;
    CURL *idle[IDLE_MAX];       /* handles kept for the next requests */
    int nidle;
    int nlimited;               /* active with first-byte/idle limits */
    int kicked;                 /* a transfer was added since a perform */
    struct transfer *spare;     /* a freed one, for the next request */
    struct {                    /* the last address before_request let
                                   pass, for a request to host:port */
        char host[NETPOLICY_HOST_MAX], ip[64];
        unsigned port;
    } passed;
} X;

/* ---- libcurl itself, header lists ---- */

int transfer_load(char *err, size_t errlen)
{
    return curlfn_load(err, errlen);
}

const char *transfer_curl_version(void)
{
    char err[256];
    if (curlfn_load(err, sizeof err) != 0)
        return NULL;
    return curl_version_info(CURLVERSION_NOW)->version;
}

/* A transfer_hdrs is a curl_slist under another name, so that code
** outside curl/ never sees a libcurl type. */
int transfer_hdrs_add(struct transfer_hdrs **h, const char *line)
{
    struct curl_slist *l = curl_slist_append((struct curl_slist *)*h, line);
    if (!l)
        return -1;
    *h = (struct transfer_hdrs *)l;
    return 0;
}

void transfer_hdrs_free(struct transfer_hdrs **h)
{
    struct curl_slist *l = (struct curl_slist *)*h;
    for (struct curl_slist *i = l; i; i = i->next)
        explicit_bzero(i->data, strlen(i->data));
    curl_slist_free_all(l);
    *h = NULL;
}

/* ---- the egress policy from the environment ---- */

/* A configured base URL is read by the one parser every base URL goes
** through (pure/baseurl.c), so setup, secrets and the policy agree; one
** that does not parse configures nothing, as before. */
static void configure_base(const char *name, const char *url)
{
    struct baseurl b;
    char err[200];
    if (baseurl_parse(url, &b, NULL, 0) != 0)
        return;
    if (netpolicy_add_host(&X.np, b.host, b.port, err, sizeof err) != 0 &&
        !X.policy_err[0])
        snprintf(X.policy_err, sizeof X.policy_err, "%s: %s", name, err);
}

/* A proxy may be socks5:// and carry user:pass@: libcurl reads it, and
** it alone decides which host that is. */
static void configure_proxy(const char *name, const char *url)
{
    char *host = NULL, *port = NULL, err[200];
    CURLU *u = curl_url();
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
        CURLUE_OK) {
        if (netpolicy_add_host(&X.np, host, (unsigned)atoi(port), err,
                               sizeof err) != 0 && !X.policy_err[0])
            snprintf(X.policy_err, sizeof X.policy_err, "%s: %s", name,
                     err);
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

/* A base URL the user configured (THREADS_FASTAPI_BASE_URL, ...), or
** the URL of a node's JSON-RPC (THETA_CHAIN_RPC_URL, usually on the
** local machine), names a host the user chose to trust, even on a
** private address. */
static int add_base_url(const char *name, const char *value, void *ud)
{
    size_t n = strlen(name);
    (void)ud;
    if ((n > 9 && strcmp(name + n - 9, "_BASE_URL") == 0) ||
        (n > 8 && strcmp(name + n - 8, "_RPC_URL") == 0))
        configure_base(name, value);
    return 0;
}

static void add_connect_to(void)
{
    struct netpolicy_connect_to map[MAX_CONNECT_TO];
    size_t n = 0;
    char err[400];
    const char *spec = getenv("CLAWHOST_CONNECT_TO");
    if (netpolicy_connect_to_parse(&X.np, spec, map, MAX_CONNECT_TO, &n,
                                   err, sizeof err) != 0) {
        snprintf(X.policy_err, sizeof X.policy_err,
                 "CLAWHOST_CONNECT_TO: %s", err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (map[i].suffix)
            X.suffix_maps[X.nsuffix++] = map[i];
        else
            X.connect_to = curl_slist_append(X.connect_to, map[i].curl);
    }
}

/*
** The connect-to list of one request: the global one, plus the exact
** entry of a suffix map that covers its host (curl knows only exact
** names). NULL when no suffix map applies: the global list is used.
*/
static struct curl_slist *connect_to_for(const char *host, unsigned port)
{
    char line[NETPOLICY_CONNECT_TO_LEN];
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < X.nsuffix; i++) {
        if (!netpolicy_connect_to_for(&X.suffix_maps[i], host, port, line,
                                      sizeof line))
            continue;
        l = curl_slist_append(NULL, line);
        for (struct curl_slist *g = X.connect_to; l && g; g = g->next)
            curl_slist_append(l, g->data);
        break;
    }
    return l;
}

const struct netpolicy *transfer_policy(void)
{
    struct rt *r = rt_get();
    char err[400];
    if (X.policy_ready)
        return &X.np;
    X.policy_ready = 1;
    netpolicy_init(&X.np);
    if (curlfn_load(err, sizeof err) != 0) {
        snprintf(X.policy_err, sizeof X.policy_err, "%s", err);
        return &X.np;
    }
    const char *refused = config_each(add_base_url, NULL);
    if (refused)
        snprintf(X.policy_err, sizeof X.policy_err, "%s", refused);
    for (int i = 0; i < r->opt.nallow_hosts; i++)
        if (netpolicy_allow_host_arg(&X.np, r->opt.allow_hosts[i], err,
                                     sizeof err) != 0 && !X.policy_err[0])
            snprintf(X.policy_err, sizeof X.policy_err, "--allow-host: %s",
                     err);
    add_connect_to();
    X.ca_file = getenv("CLAWHOST_CA_FILE");
    X.proxy = getenv("CLAWHOST_PROXY");
    if (X.proxy && *X.proxy)
        configure_proxy("CLAWHOST_PROXY", X.proxy);
    return &X.np;
}

/*
** The early URL check of the policy (netpolicy_check_url), remembering
** the last scheme, host and port it allowed: the policy is fixed once
** built, so the verdict is too, and requests in a row to one host need
** not normalize and classify it again.
*/
int transfer_check_url(const char *scheme, const char *host,
                       unsigned port, struct netpolicy_verdict *v)
{
    static struct {
        char scheme[16], host[NETPOLICY_HOST_MAX];
        unsigned port;
    } ok;
    if (ok.port == port && port && strcmp(ok.scheme, scheme) == 0 &&
        strcmp(ok.host, host) == 0) {
        memset(v, 0, sizeof *v);
        v->allowed = 1;
        return 1;
    }
    if (!netpolicy_check_url(transfer_policy(), scheme, host, port, v))
        return 0;
    if (strlen(scheme) < sizeof ok.scheme &&
        strlen(host) < sizeof ok.host) {
        snprintf(ok.scheme, sizeof ok.scheme, "%s", scheme);
        snprintf(ok.host, sizeof ok.host, "%s", host);
        ok.port = port;
    }
    return 1;
}

const char *transfer_policy_error(void)
{
    transfer_policy();
    return X.policy_err[0] ? X.policy_err : NULL;
}

/* ---- callbacks (libcurl's thread, no Lua) ---- */

static void notify(struct transfer *t, enum xfer_event ev)
{
    if (t->o.on_event)
        t->o.on_event(t, ev, t->o.ud);
}

static void free_headers(struct transfer *t)
{
    for (size_t i = 0; i < t->nhdrs; i++) {
        free(t->hdrs[i].name);
        free(t->hdrs[i].value);
    }
    t->nhdrs = 0;
}

/* Room for one more header; the list grows by doubling (most replies
** have a handful, so no 4 KiB block per request). */
static int grow_headers(struct transfer *t)
{
    size_t cap = t->hdrs_cap ? t->hdrs_cap * 2 : 16;
    struct xfer_header *n;
    if (t->nhdrs < t->hdrs_cap)
        return 0;
    if (!(n = realloc(t->hdrs, cap * sizeof *n)))
        return -1;
    t->hdrs = n;
    t->hdrs_cap = cap;
    return 0;
}

static int add_header(struct transfer *t, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon || t->nhdrs == MAX_HEADERS)
        return colon ? -1 : 0;      /* a line without ':' is ignored */
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (grow_headers(t) != 0)
        return -1;
    struct xfer_header *h = &t->hdrs[t->nhdrs];
    h->name = strndup(line, nlen);
    h->value = strndup(v, (size_t)(end - v));
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return -1;
    }
    for (char *c = h->name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    t->nhdrs++;
    return 0;
}

/* A status line starts a new header block (1xx, then the final one). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n, l = len;
    if ((t->hdr_bytes += len) > MAX_HEADER_BYTES) {
        snprintf(t->msg, sizeof t->msg, "response headers from %s are "
                 "larger than %u bytes", t->host, MAX_HEADER_BYTES);
        t->err = XE_PROTOCOL;
        return 0;
    }
    while (l > 0 && (p[l - 1] == '\n' || p[l - 1] == '\r'))
        l--;
    if (l >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', l);
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        free_headers(t);
        return len;
    }
    if (l == 0 && t->status >= 200 && !t->headers_done) {
        t->headers_done = 1;
        notify(t, XEV_HEADERS);
        return len;
    }
    if (add_header(t, p, l) != 0) {
        snprintf(t->msg, sizeof t->msg, "too many response headers "
                 "from %s", t->host);
        t->err = XE_PROTOCOL;
        return 0;
    }
    return len;
}

/*
** The body cap is enforced here, not with MAXFILESIZE, which only
** stops transfers that announce their size (and only mid-transfer since
** curl 8.4). A stream whose reader is behind pauses instead of growing.
*/
static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n;
    if (t->total + len > t->o.max_bytes) {
        t->too_large = 1;
        return 0;
    }
    if (t->o.stream && t->body.len > 0 &&
        t->body.len + len > STREAM_BUFFER) {
        t->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (dynbuf_add(&t->body, p, len) != DYNBUF_OK) {
        snprintf(t->msg, sizeof t->msg, "out of memory reading from %s",
                 t->host);
        t->err = XE_PROTOCOL;
        /* the buffer counts against the recipe's memory cap: past it
        ** the run ends as for any other allocation of the recipe */
        if (t->o.alloc)
            rt_memory_exhausted();
        return 0;
    }
    t->total += len;
    t->got_body = 1;
    if (t->o.idle_ms > 0)
        t->last_data = rt_now();
    if (t->o.stream)
        notify(t, XEV_DATA);
    return len;
}

static void refuse(struct transfer *t, const struct netpolicy_verdict *v)
{
    t->blocked = 1;
    snprintf(t->reason, sizeof t->reason, "%s", v->reason);
}

/* The policy judges the address the socket is about to connect to. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose,
                                 struct curl_sockaddr *a)
{
    struct transfer *t = ud;
    struct netpolicy_verdict v;
    const char *host = X.proxy && *X.proxy ? NULL : t->host;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (host && !netpolicy_check_connect(&X.np, host, t->o.port,
                                         &a->addr, a->addrlen, &v)) {
        refuse(t, &v);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The policy is fixed once built, so the same host, port and address
** get the same verdict: the last one allowed is remembered (requests
** in a row on one kept-alive connection). */
static int passed_before(const struct transfer *t, const char *ip)
{
    return X.passed.port == t->o.port && strcmp(X.passed.ip, ip) == 0 &&
           strcmp(X.passed.host, t->host) == 0;
}

/* Again before each request, also on a reused connection. */
static int before_request(void *ud, char *ip, char *local_ip, int port,
                          int local_port)
{
    struct transfer *t = ud;
    struct netpolicy_verdict v;
    (void)local_ip;
    (void)port;
    (void)local_port;
    if ((X.proxy && *X.proxy) || passed_before(t, ip))
        return CURL_PREREQFUNC_OK;
    if (!netpolicy_check_ip(&X.np, t->host, t->o.port, ip, &v)) {
        refuse(t, &v);
        return CURL_PREREQFUNC_ABORT;
    }
    if (strlen(ip) < sizeof X.passed.ip) {
        snprintf(X.passed.host, sizeof X.passed.host, "%s", t->host);
        snprintf(X.passed.ip, sizeof X.passed.ip, "%s", ip);
        X.passed.port = t->o.port;
    }
    return CURL_PREREQFUNC_OK;
}

/* ---- classification ---- */

static long request_size(struct transfer *t)
{
    long n = 0;
    curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &n);
    return n;
}

static void fail(struct transfer *t, enum xfer_error e,
                 enum retry_outcome o, const char *fmt, const char *detail)
{
    t->err = e;
    t->outcome = o;
    snprintf(t->msg, sizeof t->msg, fmt, t->host, detail);
}

static int is_tls_trust(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
           rc == CURLE_SSL_ISSUER_ERROR ||
           rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
           rc == CURLE_SSL_INVALIDCERTSTATUS || rc == CURLE_SSL_CIPHER;
}

/* Map a result to a stable code, a message naming the host, and
** whether the server may have seen the request (retry.c decides). */
static void classify(struct transfer *t, CURLcode rc)
{
    const char *d = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
    enum retry_outcome sent = request_size(t) > 0 ? RETRY_MAYBE_SENT :
                                                    RETRY_NOT_SENT;
    t->outcome = RETRY_RESPONSE;
    if (t->blocked)
        fail(t, XE_BLOCKED, RETRY_FINAL, "refused to connect to %s: %s",
             t->reason);
    else if (t->too_large)
        fail(t, XE_TOO_LARGE, RETRY_FINAL, "the response from %s is "
             "larger than max_bytes (%s)", "the body was cut off");
    else if (t->err)
        t->outcome = RETRY_FINAL;           /* message already set */
    else if (rc == CURLE_OK)
        return;
    else if (rc == CURLE_COULDNT_RESOLVE_HOST)
        fail(t, XE_DNS, RETRY_NOT_SENT, "cannot resolve host %s (%s)", d);
    else if (rc == CURLE_COULDNT_CONNECT)
        fail(t, XE_CONNECT, RETRY_NOT_SENT, "cannot connect to %s (%s)", d);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        fail(t, XE_TIMEOUT, sent, "no complete response from %s in time "
             "(%s)", d);
    else if (rc == CURLE_SSL_CONNECT_ERROR)
        fail(t, XE_TLS, RETRY_NOT_SENT, "TLS handshake with %s failed "
             "(%s)", d);
    else if (is_tls_trust(rc))
        fail(t, XE_TLS, RETRY_FINAL, "the TLS certificate of %s is not "
             "trusted (%s)", d);
    else if (sent == RETRY_NOT_SENT)
        fail(t, XE_PROTOCOL, sent, "the connection to %s failed before "
             "the request was sent (%s)", d);
    else
        fail(t, XE_PROTOCOL, sent, "the connection to %s broke after the "
             "request was sent (%s)", d);
}

/* ---- the multi handle and the loop's I/O ---- */

static int limited(const struct transfer *t)
{
    return t->o.first_byte_ms > 0 || t->o.idle_ms > 0;
}

static void unlink_active(struct transfer *t)
{
    if (!t->in_multi)
        return;
    curl_multi_remove_handle(X.multi, t->easy);
    t->in_multi = 0;
    X.nlimited -= limited(t);
    if (t->prev)
        t->prev->next = t->next;
    else
        X.active = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void finish(struct transfer *t, CURLcode rc)
{
    t->reusable = 1;            /* libcurl ended the transfer itself */
    unlink_active(t);
    classify(t, rc);
    t->done = 1;
    notify(t, XEV_DONE);
}

static void time_out(struct transfer *t, const char *what, long ms)
{
    char d[96];
    unlink_active(t);
    snprintf(d, sizeof d, "%s %ld ms", what, ms);
    fail(t, XE_TIMEOUT, RETRY_MAYBE_SENT, "no data from %s: %s", d);
    t->done = 1;
    notify(t, XEV_DONE);
}

/*
** First-byte and idle limits for streams, which curl has no direct
** option for. Returns ms until the next limit could pass (or -1).
** Without such limits there is nothing to do (not even read the clock).
*/
static long sweep(void)
{
    long next = -1;
    struct transfer *t, *nx;
    double now;
    if (X.nlimited == 0)
        return -1;
    now = rt_now();
    for (t = X.active; t; t = nx) {
        nx = t->next;
        double limit = 0;
        if (!t->got_body && t->o.first_byte_ms > 0)
            limit = t->start + t->o.first_byte_ms / 1000.0;
        else if (t->got_body && t->o.idle_ms > 0 && !t->paused)
            limit = t->last_data + t->o.idle_ms / 1000.0;
        if (limit == 0)
            continue;
        if (now >= limit) {
            if (t->got_body)
                time_out(t, "the stream was idle for", t->o.idle_ms);
            else
                time_out(t, "nothing arrived within",
                         t->o.first_byte_ms);
            continue;
        }
        long ms = (long)((limit - now) * 1000) + 1;
        if (next < 0 || ms < next)
            next = ms;
    }
    return next;
}

static int io_pending(void)
{
    return X.active != NULL;
}

/*
** A transfer added since the last perform is due at once (libcurl's
** timeout for it is 0): the poll would return at once, so it is skipped
** and dispatch performs right away, one system call less per request.
*/
static int io_wait(int timeout_ms, int wake_fd)
{
    struct curl_waitfd extra = {wake_fd, CURL_WAIT_POLLIN, 0};
    long s = sweep();
    if (X.kicked)
        return 0;
    if (s >= 0 && s < timeout_ms)
        timeout_ms = (int)s;
    curl_multi_poll(X.multi, &extra, 1, timeout_ms, NULL);
    return 0;
}

static void io_dispatch(void)
{
    int running, left;
    CURLMsg *m;
    X.kicked = 0;
    curl_multi_perform(X.multi, &running);
    while ((m = curl_multi_info_read(X.multi, &left)) != NULL) {
        struct transfer *t = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t)
            finish(t, m->data.result);
    }
    sweep();
}

static const struct loop_io http_io = {io_pending, io_wait, io_dispatch};

static int ensure_curl(char *err, size_t errlen)
{
    if (X.curl_ready)
        return 0;
    if (curlfn_load(err, errlen) != 0)
        return -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(X.multi = curl_multi_init()))
        return snprintf(err, errlen, "cannot start libcurl"), -1;
    X.curl_ready = 1;
    loop_set_io(&http_io);
    return 0;
}

/* ---- easy handles: options per run, per request, and reuse ---- */

/* libcurl's progress report, for a request that asked for one. */
static int on_xferinfo(void *ud, curl_off_t down_total, curl_off_t down,
                       curl_off_t up_total, curl_off_t up)
{
    struct transfer *t = ud;
    if (t && t->o.on_progress)
        t->o.on_progress(t->o.ud, (double)up, (double)up_total,
                         (double)down, (double)down_total);
    return 0;
}

/*
** A handle keeps its options from one transfer to the next, so they
** come in two sets. Per run: the same for every request the process
** makes (the checklist of embedding-anchors.md 3, the callbacks, what
** is sent about the client); set once, when the handle is made. Per
** request: every option that may differ between two requests, each one
** set on every request, to a value even when that is libcurl's
** default, so nothing a previous request set can carry over. No other
** curl_easy_setopt call exists in this file.
*/
static void set_per_run(CURL *e)
{
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, X.proxy ? X.proxy : "");
    curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, before_request);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (X.ca_file && *X.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, X.ca_file);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "clawhost/" CLAWHOST_VERSION);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
}

/*
** The method, from a plain GET: POSTFIELDS (even NULL) makes a POST and
** HTTPGET undoes it along with NOBODY, so a GET after a POST or a HEAD
** on the same handle is a GET with no body.
*/
/*
** A form body: libcurl writes the multipart framing (boundary, part
** headers, escaping of names) -- a format not written by hand here.
** 0, or -1 when libcurl could not build it (out of memory).
*/
static int build_mime(CURL *e, struct transfer *t)
{
    const struct transfer_opts *o = &t->o;
    if (!(t->mime = curl_mime_init(e)))
        return -1;
    for (size_t i = 0; i < o->nparts; i++) {
        const struct transfer_part *p = &o->parts[i];
        curl_mimepart *m = curl_mime_addpart(t->mime);
        if (!m || curl_mime_name(m, p->name) != CURLE_OK ||
            curl_mime_data(m, p->data, p->len) != CURLE_OK ||
            (p->filename && curl_mime_filename(m, p->filename) !=
             CURLE_OK) ||
            (p->type && curl_mime_type(m, p->type) != CURLE_OK))
            return -1;
    }
    return 0;
}

static void set_method(CURL *e, struct transfer *t)
{
    const struct transfer_opts *o = &t->o;
    curl_easy_setopt(e, CURLOPT_MIMEPOST, (curl_mime *)NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    if (strcmp(o->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return;
    }
    if (o->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)o->body_len);
    } else if (o->parts && t->mime) {
        curl_easy_setopt(e, CURLOPT_MIMEPOST, t->mime);
    }
    if (strcmp(o->method, "GET") != 0 &&
        !(strcmp(o->method, "POST") == 0 && (o->body || o->parts)))
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
}


static void set_per_request(CURL *e, struct transfer *t)
{
    const struct transfer_opts *o = &t->o;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                     (const struct curl_slist *)o->headers);
    /* waiting for a connection to multiplex on only pays with HTTP/2,
    ** which libcurl negotiates over TLS; on http it stalls bursts */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT,
                     strncmp(o->url, "https:", 6) == 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     o->connect_timeout_ms > 0 ? o->connect_timeout_ms :
                     10000L);
    /* libcurl silently sends a request again when a reused connection
    ** dies before any reply: for a POST the server may already have
    ** acted on (no idempotency key), a new connection avoids that */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT,
                     o->fresh_connection ? 1L : 0L);
    /* the global map, or a list of this request's own when a suffix
    ** entry covers its host (libcurl does not copy the list: it lives
    ** as long as the transfer, and is set again on every request) */
    t->connect_to = X.nsuffix ? connect_to_for(o->host, o->port) : NULL;
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connect_to ? t->connect_to
                                                          : X.connect_to);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, o->on_progress ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
    set_method(e, t);
}

/*
** A request takes an idle handle when there is one: making a handle and
** its per-run options costs more than the rest of a small request's
** user time (bench/README.md section 7). Streams get a handle of their
** own with a larger read buffer, which is not kept afterwards, so idle
** handles stay small.
*/
static CURL *take_easy(int stream)
{
    CURL *e;
    if (!stream && X.nidle > 0)
        return X.idle[--X.nidle];
    if ((e = curl_easy_init()) != NULL) {
        set_per_run(e);
        if (stream)
            curl_easy_setopt(e, CURLOPT_BUFFERSIZE, STREAM_CURL_BUFFER);
    }
    return e;
}

/*
** Only a handle whose transfer libcurl finished itself goes back (one
** stopped half way, by a timeout of ours or a close, is dropped, with
** whatever state the stop left); the pointers into the transfer that
** ends now are cleared first.
*/
static void give_back_easy(struct transfer *t)
{
    CURL *e = t->easy;
    t->easy = NULL;
    if (!t->reusable || t->o.stream || X.nidle == IDLE_MAX) {
        curl_easy_cleanup(e);
        return;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, NULL);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, NULL);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, (curl_mime *)NULL);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, NULL);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, X.connect_to);
    X.idle[X.nidle++] = e;
}

/* ---- one attempt ---- */

/* The struct is larger than glibc's small-chunk bins: a fresh one per
** request makes malloc consolidate its free lists each time (measured:
** 2% of a GET's time), so the last freed one is kept for the next. */
static struct transfer *new_transfer(void)
{
    struct transfer *t = X.spare;
    if (!t)
        return calloc(1, sizeof *t);
    X.spare = NULL;
    memset(t, 0, sizeof *t);
    return t;
}

struct transfer *transfer_start(const struct transfer_opts *o, char *err,
                                size_t errlen)
{
    struct transfer *t;
    transfer_policy();
    if (ensure_curl(err, errlen) != 0)
        return NULL;
    if (!(t = new_transfer()) || !(t->easy = take_easy(o->stream))) {
        free(t);
        snprintf(err, errlen, "out of memory starting a request");
        return NULL;
    }
    t->o = *o;
    /* on_write checks the cap (and pauses a stream whose reader is
    ** behind); this one also keeps growth from passing it */
    dynbuf_init_alloc(&t->body, o->max_bytes, o->alloc, o->alloc_ud);
    t->body.wipe = o->wipe;
    snprintf(t->host, sizeof t->host, "%s", o->host);
    if (o->parts && !o->body && build_mime(t->easy, t) != 0) {
        transfer_free(t);
        snprintf(err, errlen, "cannot build the form body for %s "
                 "(out of memory)", o->host);
        return NULL;
    }
    set_per_request(t->easy, t);
    t->start = t->last_data = rt_now();
    if (curl_multi_add_handle(X.multi, t->easy) != CURLM_OK) {
        transfer_free(t);
        snprintf(err, errlen, "cannot start a request to %s", o->host);
        return NULL;
    }
    t->in_multi = 1;
    X.nlimited += limited(t);
    X.kicked = 1;
    t->next = X.active;
    if (X.active)
        X.active->prev = t;
    X.active = t;
    return t;
}

void transfer_abort(struct transfer *t)
{
    unlink_active(t);
    if (!t->done) {
        t->done = 1;
        t->err = XE_CANCELLED;
        t->outcome = RETRY_FINAL;
        snprintf(t->msg, sizeof t->msg, "the request to %s was stopped",
                 t->host);
    }
}

void transfer_free(struct transfer *t)
{
    if (!t)
        return;
    unlink_active(t);
    if (t->easy)
        give_back_easy(t);
    curl_slist_free_all(t->connect_to);
    t->connect_to = NULL;
    if (t->mime)
        curl_mime_free(t->mime);
    t->mime = NULL;
    free_headers(t);
    free(t->hdrs);
    dynbuf_free(&t->body);
    if (X.spare || !X.curl_ready) {
        free(t);
        return;
    }
    X.spare = t;
}

const char *transfer_peek(const struct transfer *t, size_t *len)
{
    *len = t->body.len - t->taken;
    return t->body.p ? t->body.p + t->taken : "";
}

/* The buffer is emptied (its memory kept) once all of it was read. */
void transfer_consume(struct transfer *t, size_t n)
{
    t->taken += n < t->body.len - t->taken ? n : t->body.len - t->taken;
    if (t->taken < t->body.len)
        return;
    t->taken = 0;
    dynbuf_reset(&t->body);
    if (t->paused && t->in_multi) {
        t->paused = 0;
        t->last_data = rt_now();
        curl_easy_pause(t->easy, CURLPAUSE_CONT);
    }
}

void transfer_shutdown(void)
{
    if (!curlfn_loaded())
        return;
    while (X.active)
        unlink_active(X.active);
    while (X.nidle > 0)
        curl_easy_cleanup(X.idle[--X.nidle]);
    free(X.spare);
    curlurl_forget();
    if (X.multi)
        curl_multi_cleanup(X.multi);
    curl_slist_free_all(X.connect_to);
    if (X.curl_ready)
        curl_global_cleanup();
    memset(&X, 0, sizeof X);
}

/* ---- accessors ---- */

int transfer_done(const struct transfer *t) { return t->done; }
int transfer_headers_done(const struct transfer *t)
{
    return t->headers_done;
}
long transfer_status(const struct transfer *t) { return t->status; }
enum xfer_error transfer_error(const struct transfer *t) { return t->err; }
const char *transfer_message(const struct transfer *t) { return t->msg; }
size_t transfer_bytes(const struct transfer *t) { return t->total; }

enum retry_outcome transfer_outcome(const struct transfer *t)
{
    return t->outcome;
}

long transfer_elapsed_ms(const struct transfer *t)
{
    return (long)((rt_now() - t->start) * 1000);
}

const struct xfer_header *transfer_headers(const struct transfer *t,
                                           size_t *n)
{
    *n = t->nhdrs;
    return t->hdrs;
}

const char *transfer_header(const struct transfer *t, const char *name)
{
    for (size_t i = 0; i < t->nhdrs; i++)
        if (strcasecmp(t->hdrs[i].name, name) == 0)
            return t->hdrs[i].value;
    return NULL;
}

const char *transfer_body(const struct transfer *t, size_t *len)
{
    *len = t->body.len;
    return t->body.p ? t->body.p : "";
}

const char *transfer_error_code(enum xfer_error e)
{
    static const char *const codes[] = {"", "timeout", "dns", "connect",
                                        "tls", "blocked", "too_large",
                                        "cancelled", "protocol"};
    return codes[e];
}
