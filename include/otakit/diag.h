/* Why something was rejected, in one line a person can act on.
 *
 * Every parser and verifier takes an optional otk_diag_t*: on failure it writes what was
 * wrong, where, and expected vs found ("segment 2: data_len 0x13 is not a multiple of 4").
 * Passing NULL is always allowed. The struct is fixed-size so the core never allocates. */
#ifndef OTAKIT_DIAG_H
#define OTAKIT_DIAG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Long enough for a label, two offsets and two values with their field name. */
#define OTK_DIAG_MAX 256

typedef struct {
    char msg[OTK_DIAG_MAX];
} otk_diag_t;

/* printf-style; no-op when diag is NULL. Always NUL-terminates, truncating if needed. */
void otk_diag_set(otk_diag_t *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empty the message (so a caller can tell "no reason given" from a stale one). */
void otk_diag_clear(otk_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif
