/*
** mcpproc.c -- the operating-system side of `clawhost mcp`, as a Lua
** module for the server's own state (never a recipe's): child
** processes, pipes, poll(2), signals, and the one way out to stdout.
**
** Read first: the server runs each tools/call as a child process (the
** same binary, `run RECIPE`), so a crash, a memory breach or a deadline
** stays in that child. This file only moves bytes and processes; what
** they mean is decided in lua/mcp/. No shell is ever involved: argv
** items go to execve as they are.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli/mcpproc.h"
#include "pure/money.h"
#include "runtime/out.h"

#define MAX_ARGS 4096           /* argv items of one child */
#define MAX_ENV 4096            /* environment entries of one child */
#define MAX_POLL 1024           /* descriptors watched at once */
#define READ_CHUNK 65536
#define MAX_TEXTS 16            /* texts handed to one child as files */
#define TEXT_FD0 3              /* the first of them is fd 3 there */
#define TEXT_TMP_FD 64          /* where they wait while fds are moved */

static volatile sig_atomic_t got_signal;
static int wake_pipe[2] = {-1, -1};

/* SIGINT/SIGTERM only note the signal and write a byte to the wake
** pipe, which the loop polls: an idle server waits without a timeout,
** and a signal that lands just before poll(2) still wakes it. The
** loop then cancels its calls, lets their cleanup run, and ends. */
static void on_signal(int sig)
{
    int e = errno;
    got_signal = sig;
    if (write(wake_pipe[1], "", 1) < 0) {
        /* full: a wake-up is pending anyway */
    }
    errno = e;
}

static int trap_signals(void)
{
    struct sigaction sa;
    if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;        /* a client gone: EPIPE, not death */
    return sigaction(SIGPIPE, &sa, NULL);
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A NULL-terminated copy of the strings of the table at idx (pushed as
** a userdata so that an error frees it with the state). */
static char **string_list(lua_State *L, int idx, int max, const char *what)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n > max)
        luaL_error(L, "mcpproc: more than %d %s", max, what);
    char **v = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *v, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        v[i - 1] = (char *)luaL_checkstring(L, -1);
        lua_pop(L, 1);      /* the table keeps the string alive */
    }
    v[n] = NULL;
    return v;
}

/* In the child between fork and exec: only async-signal-safe calls.
** The texts (memfds) become fds TEXT_FD0.. in order: first moved out
** of the way, since one may sit where another must go. */
static void child_exec(char **argv, char **envp, int out, int err,
                       const int *texts, int ntexts, pid_t server)
{
    int tmp[MAX_TEXTS];
    /* a server that dies (even by SIGKILL) cancels its runs: SIGTERM
    ** lets each one's deferred cleanup run, as notifications/cancelled
    ** does; the check after it covers a server gone before the call */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != server)
        _exit(127);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
        dup2(err, 2) < 0)
        _exit(127);
    for (int i = 0; i < ntexts; i++)
        if ((tmp[i] = fcntl(texts[i], F_DUPFD, TEXT_TMP_FD)) < 0)
            _exit(127);
    for (int i = 0; i < ntexts; i++)
        if (dup2(tmp[i], TEXT_FD0 + i) < 0)     /* without CLOEXEC */
            _exit(127);
    for (int fd = TEXT_FD0 + ntexts; fd < 1024; fd++)
        close(fd);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    setpgid(0, 0);          /* the terminal's Ctrl-C reaches the server,
                            ** which decides what each child gets */
    execve(argv[0], argv, envp);
    static const char why[] = "clawhost mcp: cannot execute the run\n";
    ssize_t w = write(2, why, sizeof why - 1);     /* best effort */
    (void)w;
    _exit(127);
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/*
** The strings of the table at idx as memfds read from the start: a
** long text reaches the child as `@/dev/fd/N` instead of an argv item,
** which the kernel caps at 128 KiB ("Argument list too long"), and
** nothing is written to disk. Returns how many, or raises an error.
*/
static int make_texts(lua_State *L, int idx, int *fds)
{
    int n = lua_istable(L, idx) ? (int)lua_rawlen(L, idx) : 0;
    if (n > MAX_TEXTS)
        return luaL_error(L, "mcpproc.spawn: more than %d texts",
                          MAX_TEXTS);
    for (int i = 0; i < n; i++)
        fds[i] = -1;
    for (int i = 0; i < n; i++) {
        size_t len, done = 0;
        lua_rawgeti(L, idx, i + 1);
        const char *t = luaL_checklstring(L, -1, &len);
        fds[i] = memfd_create("clawhost-text", MFD_CLOEXEC);
        while (fds[i] >= 0 && done < len) {
            ssize_t w = write(fds[i], t + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        lua_pop(L, 1);
        if (fds[i] < 0 || done < len || lseek(fds[i], 0, SEEK_SET) != 0) {
            int e = errno;
            close_all(fds, i + 1);
            return luaL_error(L, "mcpproc.spawn: a text of %d bytes: %s",
                              (int)len, strerror(e));
        }
    }
    return n;
}

/* spawn(argv, env[, texts]) -> pid, stdout fd, stderr fd (both
** non-blocking); texts[i] is the child's fd 3 + i - 1 (make_texts). */
static int l_spawn(lua_State *L)
{
    int texts[MAX_TEXTS];
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    char **argv = string_list(L, 1, MAX_ARGS, "arguments");
    char **envp = string_list(L, 2, MAX_ENV, "environment entries");
    if (!argv[0])
        return luaL_error(L, "mcpproc.spawn: empty argv");
    int ntexts = make_texts(L, 3, texts);
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0) {
        close_all(texts, ntexts);
        return luaL_error(L, "pipe: %s", strerror(errno));
    }
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        close_all(texts, ntexts);
        return luaL_error(L, "pipe: %s", strerror(errno));
    }
    out_flush_all();        /* nothing buffered is written twice */
    pid_t server = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child_exec(argv, envp, po[1], pe[1], texts, ntexts, server);
    int e = errno;
    close(po[1]);
    close(pe[1]);
    close_all(texts, ntexts);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return luaL_error(L, "fork: %s", strerror(e));
    }
    set_nonblock(po[0]);
    set_nonblock(pe[0]);
    lua_pushinteger(L, pid);
    lua_pushinteger(L, po[0]);
    lua_pushinteger(L, pe[0]);
    return 3;
}

/* poll(fds, timeout_ms) -> a list of the fds that are readable or
** closed (empty on timeout or after a signal). */
static int l_poll(lua_State *L)
{
    struct pollfd p[MAX_POLL];
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 1), ms = (int)luaL_checkinteger(L, 2);
    if (n > MAX_POLL)
        return luaL_error(L, "mcpproc.poll: more than %d fds", MAX_POLL);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        p[i].fd = (int)lua_tointeger(L, -1);
        p[i].events = POLLIN;
        p[i].revents = 0;
        lua_pop(L, 1);
    }
    int r = poll(p, (nfds_t)n, ms);
    lua_newtable(L);
    if (r < 0 && errno != EINTR)
        return luaL_error(L, "poll: %s", strerror(errno));
    for (int i = 0, k = 0; r > 0 && i < n; i++)
        if (p[i].revents) {
            lua_pushinteger(L, p[i].fd);
            lua_rawseti(L, -2, ++k);
        }
    return 1;
}

/* read(fd) -> bytes, "" at end of file, or nil when nothing is ready. */
static int l_read(lua_State *L)
{
    char buf[READ_CHUNK];
    int fd = (int)luaL_checkinteger(L, 1);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0)      /* an error reads as the end: the peer is gone */
        n = 0;
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static int l_close(lua_State *L)
{
    close((int)luaL_checkinteger(L, 1));
    return 0;
}

/* kill(pid, "TERM"|"INT"|"KILL"): the run only (a run starts no
** processes of its own; it is in a group of its own so a terminal's
** Ctrl-C reaches the server first). */
static int l_kill(lua_State *L)
{
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    static const char *const names[] = {"TERM", "INT", "KILL", NULL};
    static const int sigs[] = {SIGTERM, SIGINT, SIGKILL};
    int s = sigs[luaL_checkoption(L, 2, NULL, names)];
    if (pid > 1)
        kill(pid, s);
    return 0;
}

/* reap() -> a list of {pid, status} of children that ended; status is
** the exit code, or 128 + the signal that killed it. */
static int l_reap(lua_State *L)
{
    int st, k = 0;
    pid_t pid;
    lua_newtable(L);
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        lua_createtable(L, 2, 0);
        lua_pushinteger(L, pid);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, WIFEXITED(st) ? WEXITSTATUS(st)
                                         : 128 + WTERMSIG(st));
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

/* The one way to stdout: through the redactor, flushed at once (a
** message must not wait in a buffer while the client waits for it). */
static int l_write(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    out_write(OUT_STDOUT, s, len);
    out_flush_all();
    return 0;
}

static int l_log(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    out_write(OUT_STDERR, s, len);
    return 0;
}

static int l_realpath(lua_State *L)
{
    char buf[PATH_MAX];
    if (!realpath(luaL_checkstring(L, 1), buf)) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushstring(L, buf);
    return 1;
}

/* isfile(path) -> is it a regular file (after links)? */
static int l_isfile(lua_State *L)
{
    struct stat st;
    lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0 &&
                       S_ISREG(st.st_mode));
    return 1;
}

/* listdir(dir) -> sorted names of the *.lua files in dir, or nil, err */
static int l_listdir(lua_State *L)
{
    DIR *d = opendir(luaL_checkstring(L, 1));
    struct dirent *e;
    int k = 0;
    if (!d) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_newtable(L);
    while ((e = readdir(d)) && k < MAX_ARGS) {
        size_t n = strlen(e->d_name);
        if (n > 4 && e->d_name[0] != '.' &&
            strcmp(e->d_name + n - 4, ".lua") == 0) {
            lua_pushstring(L, e->d_name);
            lua_rawseti(L, -2, ++k);
        }
    }
    closedir(d);
    return 1;
}

/* environ() -> the process environment as "NAME=value" items */
static int l_environ(lua_State *L)
{
    extern char **environ;
    int k = 0;
    lua_newtable(L);
    for (char **e = environ; *e && k < MAX_ENV - 8; e++) {
        lua_pushstring(L, *e);
        lua_rawseti(L, -2, ++k);
    }
    return 1;
}

/* id() -> this process's id and the wall clock in seconds: a name for
** its budget group that no other server shares. */
static int l_id(lua_State *L)
{
    lua_pushinteger(L, getpid());
    lua_pushinteger(L, (lua_Integer)time(NULL));
    return 2;
}

static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

/* trap_signals() -> true: (again) this file's SIGINT/SIGTERM handling;
** loading the recipes for the catalog runs the runtime, whose own
** handlers replace these. */
static int l_trap_signals(lua_State *L)
{
    lua_pushboolean(L, trap_signals() == 0);
    return 1;
}

/* usd(text) -> nano-USD, the amount as clawhost writes it ("2.00");
** or nil, why: the ledger's own parser (pure/money.c), so the server's
** --budget reads as every other amount does. */
static int l_usd(lua_State *L)
{
    char err[160], text[48];
    int64_t nano;
    if (money_usd_parse(luaL_checkstring(L, 1), &nano, err,
                        sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)nano);
    lua_pushstring(L, money_usd_format(nano, text, sizeof text));
    return 2;
}

/* signalled() -> "INT"/"TERM" once a signal came, else nil; also
** the wake pipe's fd, to poll, drained here. */
static int l_signalled(lua_State *L)
{
    char buf[64];
    while (read(wake_pipe[0], buf, sizeof buf) > 0)
        continue;
    if (!got_signal) {
        lua_pushnil(L);
        lua_pushinteger(L, wake_pipe[0]);
        return 2;
    }
    lua_pushstring(L, got_signal == SIGINT ? "INT" : "TERM");
    lua_pushinteger(L, wake_pipe[0]);
    return 2;
}

static const luaL_Reg funcs[] = {
    {"spawn", l_spawn}, {"poll", l_poll}, {"read", l_read},
    {"close", l_close}, {"kill", l_kill}, {"reap", l_reap},
    {"write", l_write}, {"log", l_log}, {"realpath", l_realpath},
    {"isfile", l_isfile}, {"listdir", l_listdir}, {"now", l_now},
    {"signalled", l_signalled}, {"environ", l_environ}, {"id", l_id},
    {"usd", l_usd}, {"trap_signals", l_trap_signals}, {NULL, NULL}
};

int luaopen_clawhost_mcpproc(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
