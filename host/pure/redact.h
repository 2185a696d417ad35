/*
** redact.h -- masks registered secrets, and the usual encodings of them,
** in every byte the process writes.
**
** Pure C: no Lua, no curl, never prints. docs/redaction.md is the full
** contract; in short:
**
**     redact_t *r = redact_new();
**     redact_add(r, "THETA_API_KEY", key, keylen);     at resolve time
**     redact_buf(r, msg, len, &out, &outlen);          one-shot, malloc'd
**     s = redact_stream_new(r, write_fn, ctx);         one per sink
**     redact_stream_write(s, buf, n);                  as output is made
**     redact_stream_mark(s);                           a piece ends here
**     redact_stream_flush(s);                          end of stream
**     redact_stream_free(s); redact_free(r);
**
** Every match becomes "<secret NAME>". What is masked, per secret:
**   - the raw bytes, also when they appear percent-encoded (any hex case,
**     any set of unescaped characters, '+' or %20 for space), JSON-escaped
**     (short escapes, \u00XX, \uXXXX and surrogate pairs, '/' escaped or
**     not) or XML/HTML-escaped (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;):
**     the text is also read through decoders for those escapings;
**   - for secrets of at least REDACT_MIN_ENCODED bytes: base64 and
**     base64url at byte offsets 0, 1 and 2 of a larger blob (the part of
**     the encoding the secret alone decides, with and without the '='
**     tail), hex in lower and upper case; the same value with surrounding
**     whitespace and one pair of quotes trimmed off; each line of a
**     multi-line value that has at least REDACT_MIN_LINE bytes once
**     trimmed (a PEM block printed line by line);
**   - redact_add_basic(): base64("user:password") as in HTTP Basic.
** Shorter secrets are masked in raw form only (through the decoders too):
** the base64 core of a 3-byte value would hit ordinary words.
**
** Not covered (a net, not a boundary): base32, base64 with line breaks
** inside, other encodings or transformations (compression, encryption,
** case changes, reversal, double escaping such as JSON of a URL-encoded
** value), prefixes or fragments of a secret, values escaped in a way that
** starts inside the text before them ("%4" followed by an encoded secret
** that begins with a hex digit). Not thread-safe: one thread owns a
** redactor and its streams.
*/
#ifndef CLAWHOST_REDACT_H
#define CLAWHOST_REDACT_H

#include <stddef.h>

/* Limits (docs/redaction.md explains each). */
#define REDACT_NAME_MAX          64     /* [A-Za-z0-9_.-], 1..64 bytes */
#define REDACT_SECRET_MAX        4096   /* bytes per value (and user) */
#define REDACT_SECRETS_MAX       64     /* distinct names */
#define REDACT_PATTERN_BYTES_MAX (1024 * 1024)  /* all derived forms */
#define REDACT_MIN_ENCODED       8      /* below: raw form only */
#define REDACT_MIN_LINE          8      /* shorter lines not on their own */
#define REDACT_RUN_MAX           65536  /* longest one mask stands for */

/* Return codes: 0 or negative. Stream errors are sticky. */
enum {
    REDACT_OK = 0,
    REDACT_EINVAL = -1,     /* bad name, empty or too long value, NULL */
    REDACT_ENOMEM = -2,     /* allocation failed; nothing was changed */
    REDACT_ELIMIT = -3,     /* too many secrets or pattern bytes */
    REDACT_EWRITE = -4      /* the sink's write callback failed */
};

typedef struct redact redact_t;
typedef struct redact_stream redact_stream_t;

/* A sink: write all len bytes, return 0, or nonzero on failure. */
typedef int (*redact_write_fn)(void *ctx, const char *buf, size_t len);

/* A redactor with no secrets (passes everything through), or NULL. */
redact_t *redact_new(void);

/* Wipes every copy of secret bytes and frees. Streams must go first. */
void redact_free(redact_t *r);

/* Whether name may name a secret: 1..REDACT_NAME_MAX of [A-Za-z0-9_.-]. */
int redact_valid_name(const char *name);

/* Registers a secret value (1..REDACT_SECRET_MAX bytes, any bytes) under
** name and every derived form above. Several values may share a name.
** Open streams pick the new patterns up on their next call and rescan
** what they still hold. On error nothing was registered. */
int redact_add(redact_t *r, const char *name, const void *value,
               size_t len);

/* HTTP Basic credentials: registers password as redact_add() does, and
** base64(user ":" password) (when that is at least REDACT_MIN_ENCODED
** bytes before encoding). The user alone is not masked. */
int redact_add_basic(redact_t *r, const char *name, const void *user,
                     size_t ulen, const void *password, size_t plen);

/* Distinct names registered; distinct patterns the matcher holds. */
size_t redact_secret_count(const redact_t *r);
size_t redact_pattern_count(const redact_t *r);

/* A static English message for a return code. */
const char *redact_strerror(int rc);

/* One-shot: *out receives a malloc'd, NUL-terminated redacted copy of
** in[0..len) (free() it), *outlen its length without the NUL. Same
** result as one stream written in one piece and flushed. On error *out
** is NULL. */
int redact_buf(redact_t *r, const void *in, size_t len, char **out,
               size_t *outlen);

/* A stream for one sink. Output reaches fn in order; fn is called from
** inside write/flush only. NULL when out of memory. */
redact_stream_t *redact_stream_new(redact_t *r, redact_write_fn fn,
                                   void *ctx);

/* Masks and forwards buf. Only bytes that could still be part of a
** match (the longest tail that begins some pattern, an escape sequence
** not finished yet, a match that may still grow) are held back; the rest
** reaches fn before this returns. The output does not depend on how the
** text is split between calls. */
int redact_stream_write(redact_stream_t *s, const void *buf, size_t len);

/* Forwards everything held back, masked. A match that straddles a flush
** is masked from the flush point on only, so flush at end of stream, or
** where the caller must show the output now. */
int redact_stream_flush(redact_stream_t *s);

/* Marks a piece boundary at the current end of the input, for callers
** that hand out pieces a reader may join again (the data of SSE events).
** The sink gets fn(ctx, NULL, 0) at that point of the output once the
** output before it is final; a mask over bytes on both sides of the
** boundary comes whole before the signal (it goes with the piece it
** starts in). So the pieces between signals, joined in order, are the
** masked text: no secret is split across them. flush signals every mark
** still pending. Streams that are never marked never see fn(.., NULL,
** 0). */
int redact_stream_mark(redact_stream_t *s);

/* Bytes currently held back (for tests and diagnostics). */
size_t redact_stream_held(const redact_stream_t *s);

/* Frees the stream, wiping what it holds. Does not flush. */
void redact_stream_free(redact_stream_t *s);

#endif
