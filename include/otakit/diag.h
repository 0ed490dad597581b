/* Why something was rejected, in one line a person can act on.
 *
 * Every parser and verifier takes an optional otk_diag_t*: on failure it writes what was
 * wrong, where, and expected vs found ("segment 2: data_len 0x13 is not a multiple of 4").
 * Passing NULL is always allowed. The struct is fixed-size so the core never allocates.
 *
 * With OTK_CONFIG_DIAG_TEXT=0 (otakit/config.h) the text compiles out: otk_diag_t shrinks to
 * one byte that always holds "", the format strings and their arguments are never emitted
 * (the arguments are kept as unevaluated operands, so nothing becomes "unused"), and no
 * printf is linked for them. Return codes do not change. */
#ifndef OTAKIT_DIAG_H
#define OTAKIT_DIAG_H

#include <stdarg.h>
#include <stddef.h>

#include "otakit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#if OTK_CONFIG_DIAG_TEXT
/* Long enough for a label, two offsets and two values with their field name. */
#define OTK_DIAG_MAX 256
#else
/* Just the NUL: every text field reads as "". */
#define OTK_DIAG_MAX 1
#endif

typedef struct {
    char msg[OTK_DIAG_MAX];
} otk_diag_t;

/* Empty the message (so a caller can tell "no reason given" from a stale one). */
void otk_diag_clear(otk_diag_t *diag);

/* Copy src into dst[cap] (a label, a reason), cutting it to fit; always NUL-terminates
 * when cap > 0. Not compiled out: labels are data, not diagnostics. */
void otk_text_copy(char *dst, size_t cap, const char *src);

#if OTK_CONFIG_DIAG_TEXT

/* printf-style; no-op when diag is NULL. Always NUL-terminates, truncating if needed. */
void otk_diag_set(otk_diag_t *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same into any text field of the diag family (a boot result's why, a refusal's
 * reason): buf[cap], always NUL-terminated when cap > 0. */
void otk_diag_format(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void otk_diag_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#else

/* Empty buf[cap] (cap > 0). */
void otk_diag_empty(char *buf, size_t cap);

#define otk_diag_set(diag, ...) (OTK_UNEVALUATED(__VA_ARGS__), otk_diag_clear(diag))
#define otk_diag_format(buf, cap, ...) (OTK_UNEVALUATED(__VA_ARGS__), otk_diag_empty(buf, cap))
#define otk_diag_vformat(buf, cap, fmt, ap) (OTK_UNEVALUATED(fmt, ap), otk_diag_empty(buf, cap))

#endif

#ifdef __cplusplus
}
#endif
#endif
