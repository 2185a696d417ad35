/*
** sse_bench.c -- throughput of the SSE parser (host/pure/sse.c) alone.
**
** Builds a 100 MB stream of OpenAI-style chat chunks in memory, feeds it
** in 16 KiB pieces (about what a curl write callback hands over) and
** prints the best of a few runs: "sse parser: N MB/s (N events)", with
** MB = 10^6 bytes. Standalone: no Lua, no curl, no network.
*/
#include "pure/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_BYTES (100u * 1000u * 1000u)
#define PIECE (16u * 1024u)
#define ROUNDS 5

static const char chunk[] =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word \"}}]}\n\n";

struct tally {
    size_t events, bytes;
};

/* Touch what a consumer would: count events and their data bytes. */
static int on_event(void *ud, const struct sse_event *ev)
{
    struct tally *t = ud;

    t->events++;
    t->bytes += ev->data_len;
    return 0;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over the stream; returns seconds, or -1 on a parse error. */
static double run(const char *buf, size_t len, struct tally *t)
{
    struct sse_parser p;
    size_t off, n;
    int dropped;
    double t0 = now();

    sse_init(&p, NULL);
    for (off = 0; off < len; off += n) {
        n = len - off < PIECE ? len - off : PIECE;
        if (sse_feed(&p, buf + off, n, on_event, t, NULL) != SSE_OK) {
            sse_free(&p);
            return -1;
        }
    }
    if (sse_finish(&p, &dropped) != SSE_OK || dropped) {
        sse_free(&p);
        return -1;
    }
    sse_free(&p);
    return now() - t0;
}

int main(void)
{
    size_t clen = sizeof chunk - 1;
    size_t count = STREAM_BYTES / clen, len = count * clen, i;
    char *buf = malloc(len);
    double best = 0;
    struct tally t = { 0, 0 };

    if (!buf) {
        fprintf(stderr, "sse_bench: out of memory\n");
        return 1;
    }
    for (i = 0; i < count; i++)
        memcpy(buf + i * clen, chunk, clen);
    for (i = 0; i < ROUNDS; i++) {
        double s;
        t.events = t.bytes = 0;
        s = run(buf, len, &t);
        if (s < 0 || t.events != count) {
            fprintf(stderr, "sse_bench: parse failed\n");
            free(buf);
            return 1;
        }
        if (best == 0 || s < best)
            best = s;
    }
    printf("sse parser: %.0f MB/s (%zu events)\n", (double)len / best / 1e6,
           t.events);
    free(buf);
    return 0;
}
