/* Private to the source layer (src/net/source*.c): the operations each kind of source
 * provides and the state every source shares. */
#ifndef OTAKIT_SOURCE_INTERNAL_H
#define OTAKIT_SOURCE_INTERNAL_H

#include "otakit/source.h"

#define SOURCE_TAG "source" /* log tag */

typedef struct source_ops {
    /* Position at byte `offset` of the resource (0 when it had to start over). */
    esp_err_t (*open)(otk_source_t *src, uint64_t offset, const otk_source_identity_t *expect,
                      otk_diag_t *diag);
    /* As otk_source_read; src->pos is maintained by the caller. */
    esp_err_t (*read)(otk_source_t *src, void *buf, size_t cap, size_t *got, otk_diag_t *diag);
    void (*close)(otk_source_t *src);
} source_ops_t;

struct otk_source {
    const source_ops_t *ops;
    otk_uri_t uri;
    otk_source_opts_t opts;      /* strings and headers point into the kind's own copies */
    otk_source_identity_t identity;
    otk_source_stats_t stats;
    uint64_t pos;                /* resource offset of the next byte read returns */
    void *kind;                  /* the kind's state (file, http) */
};

/* Copy one header value into a fixed field: trimmed; false (and field emptied) when it
 * does not fit, so an overlong ETag is treated as absent rather than cut. */
bool source_copy_field(char *field, size_t cap, const char *value, size_t len);

/* Whether a continuation of `expect` may use a response whose identity is `got`: the
 * lengths, ETags and Last-Modified dates agree wherever both sides know them. On a
 * mismatch writes which one differs to why (may be NULL). */
bool source_same_resource(const otk_source_identity_t *expect, const otk_source_identity_t *got,
                          otk_diag_t *why);

extern const source_ops_t source_file_ops;
extern const source_ops_t source_http_ops;

#endif
