/* Whether two verifiers have taken the same bytes under the same rules: how a resumed
 * update proves that what flash holds before the resume point is what its checkpoint saw,
 * without keeping a second verifier over every downloaded byte. */
#include <string.h>

#include "otakit/image.h"

static bool same_opts(const otk_image_verify_opts_t *a, const otk_image_verify_opts_t *b)
{
    /* Field by field: the structs come from different copies (a checkpoint's raw bytes, an
     * assignment), whose padding need not agree. */
    return a->kind == b->kind && a->chip_id == b->chip_id &&
           a->check_chip_rev == b->check_chip_rev && a->chip_rev == b->chip_rev &&
           a->max_size == b->max_size && a->flash_offset == b->flash_offset &&
           a->require_hash == b->require_hash &&
           a->check_bootloader_hash == b->check_bootloader_hash &&
           a->require_app_desc == b->require_app_desc &&
           a->read_signature == b->read_signature &&
           a->secure_boot.enabled == b->secure_boot.enabled &&
           memcmp(a->secure_boot.key_digest, b->secure_boot.key_digest,
                  sizeof a->secure_boot.key_digest) == 0;
}

/* A SHA-256 context's state, compared through the digest of a copy: the backend's
 * context layout is its own business. */
static bool same_sha(const otk_sha256_ctx_t *a, const otk_sha256_ctx_t *b)
{
    otk_sha256_ctx_t ca = *a, cb = *b;
    /* Zeroed first: a context never started (sig_sha before its fork is all zeros) may
     * write no digest at all (OpenSSL's has a digest length of 0 then). */
    uint8_t da[OTK_SHA256_LEN] = {0}, db[OTK_SHA256_LEN] = {0};
    otk_sha256_final(&ca, da);
    otk_sha256_final(&cb, db);
    return memcmp(da, db, sizeof da) == 0;
}

/* The checksum so far: the accumulator's 8 byte lanes depend on where the chunks fed
 * began, their XOR does not. */
static uint8_t folded_xor(uint64_t acc)
{
    acc ^= acc >> 32;
    acc ^= acc >> 16;
    acc ^= acc >> 8;
    return (uint8_t)acc;
}

bool otk_image_stream_same(const otk_image_stream_t *a, const otk_image_stream_t *b)
{
    if (a == NULL || b == NULL || !same_opts(&a->opts, &b->opts) || a->pos != b->pos ||
        a->state != b->state || a->state_end != b->state_end || a->seg != b->seg ||
        a->desc_len != b->desc_len || a->desc_len > sizeof a->desc_raw ||
        folded_xor(a->xor_acc) != folded_xor(b->xor_acc) || a->err != b->err ||
        a->stopped != b->stopped ||
        memcmp(a->buf, b->buf, sizeof a->buf) != 0 ||
        memcmp(a->desc_raw, b->desc_raw, a->desc_len) != 0 || !same_sha(&a->sha, &b->sha)) {
        return false;
    }
#if OTK_CONFIG_SECURE_BOOT
    return same_sha(&a->sig_sha, &b->sig_sha);
#else
    return true;
#endif
}
