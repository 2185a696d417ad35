/*
** httpd.c -- the static HTTP/1.1 server `make bench` measures clients
** against. Not part of the host; loopback only.
**
**   build/bench/httpd PORTFILE [MAX_SECONDS]
**
** Listens on 127.0.0.1 on a port the kernel picks (so it is always
** free), writes that port to PORTFILE once it accepts connections, and
** answers GET / (any query) with a fixed 13-byte body, keep-alive,
** pipelined requests in order. GET /bytes/N answers N bytes (at most
** MAX_BODY) of text lines with a Content-Length, written from one
** static block, for the streaming figures. Anything else gets 404 (GET,
** HEAD) or 501. One thread, edge-triggered epoll, no allocation per
** request: the server must cost less than any client it measures. It
** exits on SIGTERM/SIGINT, and by itself after MAX_SECONDS (default
** 300) so a bench that dies cannot leave it behind.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define INBUF 8192
#define OUTBUF 16384
#define MAX_EVENTS 64
#define BLOCK 65536                    /* the static body block */
#define MAX_BODY ((unsigned long long)1 << 34)  /* /bytes/N: 16 GiB */

#define BODY "hello, bench\n"
static const char ok_head[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n";
static const char ok_close_head[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n";
static const char not_found[] =
    "HTTP/1.1 404 Not Found\r\n"
    "Content-Length: 0\r\n"
    "\r\n";
static const char not_impl[] =
    "HTTP/1.1 501 Not Implemented\r\n"
    "Content-Length: 0\r\n"
    "Connection: close\r\n"
    "\r\n";

struct conn {
    int fd;
    size_t inlen, outlen, outoff;
    unsigned long long body_left;  /* /bytes/N still to send after out */
    unsigned long long body_off;   /* and sent so far */
    int closing;                /* close once the output is written */
    char in[INBUF];
    char out[OUTBUF];
};

static volatile sig_atomic_t stop;

/* Lines of printable text, 64 bytes each: what /bytes/N repeats. */
static char block[BLOCK];

static void block_init(void)
{
    static const char line[] = "stream bench 0123456789 abcdefghijklmnop"
                               "qrstuvwxyz ABCDEFGHIJKL\n";
    _Static_assert(BLOCK % (sizeof line - 1) == 0, "whole lines");
    for (size_t i = 0; i < BLOCK; i += sizeof line - 1)
        memcpy(block + i, line, sizeof line - 1);
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static int queue(struct conn *c, const char *s, size_t n)
{
    if (c->outlen + n > OUTBUF)
        return -1;
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
    return 0;
}

/* Case-insensitive search for a header line "name: value" in the head
** [p, end); the value must start with `want` (case-insensitive). */
static int header_is(const char *p, const char *end, const char *name,
                     const char *want)
{
    size_t nl = strlen(name), wl = strlen(want);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 &&
            p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            if ((size_t)(eol - v) >= wl && strncasecmp(v, want, wl) == 0)
                return 1;
        }
        p = eol + 1;
    }
    return 0;
}

/* GET /bytes/N: the head now, the N body bytes from the static block
** as the socket takes them (flush). */
static int answer_bytes(struct conn *c, const char *num, int get,
                        int close_it)
{
    char head[160], *end;
    unsigned long long n = strtoull(num, &end, 10);
    if (end == num || (*end != ' ' && *end != '?') || n > MAX_BODY)
        return queue(c, not_found, sizeof not_found - 1);
    int len = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
                       "Content-Type: text/plain\r\n"
                       "Content-Length: %llu\r\n%s\r\n", n,
                       close_it ? "Connection: close\r\n" : "");
    if (queue(c, head, (size_t)len) != 0)
        return -1;
    if (get) {
        c->body_left = n;
        c->body_off = 0;
    }
    if (close_it)
        c->closing = 1;
    return 0;
}

/* One request head [p, p+n) (ends with the blank line): queue the
** answer. Returns 0, or -1 when the connection must end. */
static int answer(struct conn *c, const char *p, size_t n)
{
    const char *end = p + n, *sp = memchr(p, ' ', n);
    const char *eol = memchr(p, '\n', n);
    int get = n > 4 && memcmp(p, "GET ", 4) == 0;
    int head = n > 5 && memcmp(p, "HEAD ", 5) == 0;
    int http10 = eol && eol - p >= 9 && memcmp(eol - 9, "HTTP/1.0", 8) == 0;
    int close_it = header_is(eol ? eol + 1 : end, end, "connection",
                             "close") || http10;
    if (!sp || (!get && !head) ||
        header_is(eol ? eol + 1 : end, end, "content-length", "") ||
        header_is(eol ? eol + 1 : end, end, "transfer-encoding", "")) {
        /* bodies are never expected; refuse rather than mis-frame */
        c->closing = 1;
        return queue(c, not_impl, sizeof not_impl - 1);
    }
    const char *path = sp + 1;
    if ((size_t)(end - path) > 7 && memcmp(path, "/bytes/", 7) == 0)
        return answer_bytes(c, path + 7, get, close_it);
    if (path < end && *path == '/' && path + 1 < end &&
        (path[1] == ' ' || path[1] == '?')) {
        const char *h = close_it ? ok_close_head : ok_head;
        size_t hl = close_it ? sizeof ok_close_head - 1 :
                    sizeof ok_head - 1;
        if (queue(c, h, hl) != 0 ||
            (get && queue(c, BODY, sizeof BODY - 1) != 0))
            return -1;
    } else if (queue(c, not_found, sizeof not_found - 1) != 0) {
        return -1;
    }
    if (close_it)
        c->closing = 1;
    return 0;
}

/* Answer every complete request in the input buffer, in order. */
static int parse(struct conn *c)
{
    size_t off = 0;
    while (!c->closing && !c->body_left && off < c->inlen) {
        const char *p = c->in + off;
        size_t left = c->inlen - off;
        const char *e = memmem(p, left, "\r\n\r\n", 4);
        if (!e)
            break;
        size_t n = (size_t)(e - p) + 4;
        if (c->outlen + 256 > OUTBUF)
            break;              /* flush first; the rest stays queued */
        if (answer(c, p, n) != 0)
            return -1;
        off += n;
    }
    if (off) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
    if (c->inlen == INBUF)
        return -1;              /* a head larger than the buffer */
    return 0;
}

/* The rest of a /bytes/N body, straight from the static block. Returns
** 1 when all went out, 0 when the socket is full, -1 on error. */
static int flush_body(struct conn *c)
{
    while (c->body_left > 0) {
        size_t at = (size_t)(c->body_off % BLOCK), n = BLOCK - at;
        if (n > c->body_left)
            n = (size_t)c->body_left;
        ssize_t w = send(c->fd, block + at, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->body_left -= (unsigned long long)w;
        c->body_off += (unsigned long long)w;
    }
    return 1;
}

/* Write what is queued. Returns 1 when all went out, 0 when the socket
** is full, -1 on error. */
static int flush(struct conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
                         MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->outoff += (size_t)w;
    }
    c->outoff = c->outlen = 0;
    return flush_body(c);
}

/* Read, answer, write until the socket would block (edge-triggered). */
static int serve(struct conn *c)
{
    for (;;) {
        int f = flush(c);
        if (f < 0)
            return -1;
        if (f == 0)
            return 0;           /* EPOLLOUT will bring us back */
        if (c->closing)
            return -1;
        if (parse(c) != 0)
            return -1;
        if (c->outlen)
            continue;           /* pipelined answers: write them */
        ssize_t r = recv(c->fd, c->in + c->inlen, INBUF - c->inlen, 0);
        if (r == 0)
            return -1;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->inlen += (size_t)r;
        if (parse(c) != 0)
            return -1;
        if (!c->outlen)
            continue;           /* a partial head: read more */
    }
}

static void accept_all(int ep, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event ev = {EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
                                 {.ptr = c}};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
        }
    }
}

static int listen_loopback(unsigned *port)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(fd, 512) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Write the port to a temporary name, then rename: the reader never
** sees half a number. */
static int publish_port(const char *path, unsigned port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    struct epoll_event evs[MAX_EVENTS];
    unsigned port;
    double limit = argc > 2 ? atof(argv[2]) : 300, until;
    if (argc < 2 || limit <= 0) {
        fprintf(stderr, "usage: httpd PORTFILE [MAX_SECONDS]\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    block_init();
    int lfd = listen_loopback(&port), ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {EPOLLIN, {.ptr = NULL}};
    if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0 ||
        publish_port(argv[1], port) != 0) {
        perror("httpd");
        return 1;
    }
    until = now() + limit;
    while (!stop) {
        double left = until - now();
        if (left <= 0)
            break;
        int n = epoll_wait(ep, evs, MAX_EVENTS,
                           left > 1 ? 1000 : (int)(left * 1000) + 1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                accept_all(ep, lfd);
                continue;
            }
            if ((evs[i].events & EPOLLERR) || serve(c) != 0 ||
                ((evs[i].events & (EPOLLHUP | EPOLLRDHUP)) &&
                 c->inlen == 0 && c->outlen == 0))
                conn_close(ep, c);
        }
    }
    close(lfd);
    close(ep);
    return 0;
}
