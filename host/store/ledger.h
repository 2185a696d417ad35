/*
** ledger.h -- the spend ledger file of clawhost 0.1 (STATE_DIR/
** spend.ledger), read once so that the store imports it (store.c).
**
** The format, for the record (docs/store.md, "Coming from 0.1"):
**
**     clawhost-ledger 1
**     next 4
**     rec id=1 state=settled created=... updated=... pid=... run=...
**         label=... reserved=0.30 settled=0.0001028     (one line)
**     end records=3 fnv1a64=<FNV-1a 64 of every byte above>
**
** Every function that can fail returns a ledger_status and writes a
** one-line message for people into err.
*/
#ifndef CLAWHOST_LEDGER_H
#define CLAWHOST_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_VERSION      1
#define LEDGER_NAME_MAX     64              /* run id and label, bytes */
#define LEDGER_MAX_BYTES    ((size_t)16 << 20)
#define LEDGER_MAX_RECORDS  ((size_t)100000)
#define LEDGER_FILE         "spend.ledger"
#define LEDGER_LOCK_FILE    "spend.ledger.lock"

typedef enum {
    LEDGER_OK = 0,
    LEDGER_ECORRUPT,    /* the file does not parse exactly: refused */
    LEDGER_ELIMIT,      /* larger than the format's bounds */
    LEDGER_EIO,         /* a system call failed */
    LEDGER_ENOMEM,      /* an allocation failed */
    LEDGER_EBUSY        /* its lock is held by another process */
} ledger_status;

typedef enum {
    LEDGER_OPEN = 0,    /* reserved; counts its reserved amount */
    LEDGER_SETTLED,     /* counts its settled amount */
    LEDGER_RELEASED     /* nothing was spent; counts 0 */
} ledger_state;

typedef struct {
    int64_t id;                         /* 1, 2, ... */
    ledger_state state;
    int64_t created;                    /* unix seconds, UTC */
    int64_t updated;                    /* last settle/release */
    long pid;                           /* process that reserved */
    char run[LEDGER_NAME_MAX + 1];      /* run id */
    char label[LEDGER_NAME_MAX + 1];    /* service name */
    int64_t reserved;                   /* nano-USD */
    int64_t settled;                    /* nano-USD; 0 unless SETTLED */
} ledger_record;

/* A whole file: its records in id order, and its own checksum. */
typedef struct {
    ledger_record *rec;
    size_t n;
    int64_t next_id;
    uint64_t checksum;          /* the end line's fnv1a64 */
} ledger_file;

/*
** Read `path` and check it strictly: the header and version, every
** field, the id order, the record count and the checksum. On failure
** nothing is returned and err names the file and the line.
*/
int ledger_read(const char *path, ledger_file *out, char *err,
                size_t errlen);
void ledger_file_free(ledger_file *f);

/*
** Take the lock clawhost 0.1's writers take (dir/spend.ledger.lock),
** exclusively, waiting at most timeout_ms; ledger_unlock gives it back.
*/
int ledger_lock(const char *dir, int timeout_ms, int *fd, char *err,
                size_t errlen);
void ledger_unlock(int fd);

#endif
