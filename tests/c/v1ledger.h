/*
** v1ledger.h -- clawhost 0.1 ledger files for the tests of the reader
** (ledger_test.c) and of the import (store_test.c), written here the
** way 0.1 wrote them: a header, "next", one line a record, and an end
** line with the record count and the FNV-1a 64 of every byte above it.
*/
#ifndef CLAWHOST_V1LEDGER_H
#define CLAWHOST_V1LEDGER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t v1_fnv1a(const char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Close a text of header, next and record lines with its end line. */
static size_t v1_finish(char *text, size_t size, int records)
{
    size_t n = strlen(text);
    snprintf(text + n, size - n, "end records=%d fnv1a64=%016llx\n",
             records, (unsigned long long)v1_fnv1a(text, n));
    return strlen(text);
}

/*
** Three records, one of each state, on 2024-05-01: run-1 qwen3 0.25
** open, run-1 flux 0.50 settled at 0.40, run-2 qwen3 0.10 released.
** Committed: 0.65 (0.25 open + 0.40 settled).
*/
static size_t v1_sample(char *text, size_t size)
{
    snprintf(text, size,
        "clawhost-ledger 1\n"
        "next 4\n"
        "rec id=1 state=open created=2024-05-01T12:00:00Z "
        "updated=2024-05-01T12:00:00Z pid=4242 run=run-1 label=qwen3 "
        "reserved=0.25 settled=-\n"
        "rec id=2 state=settled created=2024-05-01T12:00:01Z "
        "updated=2024-05-01T12:00:03Z pid=4242 run=run-1 label=flux "
        "reserved=0.50 settled=0.40\n"
        "rec id=3 state=released created=2024-05-01T12:00:02Z "
        "updated=2024-05-01T12:00:04Z pid=4243 run=run-2 label=qwen3 "
        "reserved=0.10 settled=0.00\n");
    return v1_finish(text, size, 3);
}

#endif
