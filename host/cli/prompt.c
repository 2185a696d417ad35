/*
** prompt.c -- lines from fd 0 into one locked, wiped buffer; the
** terminal's echo off and back on, also when a signal ends the process.
*/
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "cli/prompt.h"
#include "runtime/err.h"

/* One buffer for every line read: static, so it can be locked once
** and wiped after each use, and no copy is ever made of it. */
static char line[PROMPT_LINE_MAX + 2];

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;
static const char *bye;
static size_t bye_len;

void prompt_wipe(void)
{
    explicit_bzero(line, sizeof line);
}

int prompt_read_line(const char **out, size_t *len)
{
    size_t n = 0;
    int too_long = 0, any = 0;
    for (;;) {
        char c;
        ssize_t r = read(0, &c, 1);     /* no read-ahead past the line */
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        any = 1;
        if (c == '\n')
            break;
        if (n < sizeof line - 1)
            line[n++] = c;
        else
            too_long = 1;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    *out = line;
    *len = too_long ? 0 : n;
    return !any ? 0 : too_long ? -1 : 1;
}

/* An interrupt while echo is off must not leave the terminal mute.
** Only async-signal-safe calls here. */
static void on_signal(int sig)
{
    ssize_t w;
    (void)sig;
    if (tio_saved)
        tcsetattr(0, TCSANOW, &saved_tio);
    w = write(2, bye, bye_len);
    (void)w;
    _exit(EXIT_INTERRUPTED);
}

void prompt_init(const char *farewell)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa;
    bye = farewell;
    bye_len = strlen(farewell);
    mlock(line, sizeof line);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

int prompt_echo_off(void)
{
    struct termios t;
    if (tcgetattr(0, &saved_tio) != 0)
        return -1;
    t = saved_tio;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
    t.c_lflag |= ECHONL;
    tio_saved = 1;
    if (tcsetattr(0, TCSANOW, &t) != 0) {
        tio_saved = 0;
        return -1;
    }
    return 0;
}

void prompt_echo_on(void)
{
    if (tio_saved) {
        tcsetattr(0, TCSANOW, &saved_tio);
        tio_saved = 0;
    }
}
