/* TCP's shared-secret check: the device gives out a fresh random nonce in every
 * HelloReply, the host answers with HMAC-SHA256(token, nonce). The token never crosses
 * the wire, and a recorded answer is useless for the next nonce. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "hosted_internal.h"

/* SHA-256's block size: HMAC pads or hashes the key to it (RFC 2104). */
#define HMAC_BLOCK 64u
#define HMAC_IPAD 0x36u
#define HMAC_OPAD 0x5Cu

void hosted_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        uint8_t out[OTK_HOSTED_SHA256_LEN])
{
    uint8_t k[HMAC_BLOCK];
    memset(k, 0, sizeof k);
    if (key_len > HMAC_BLOCK) {
        otk_sha256(key, key_len, k); /* a long key is replaced by its hash */
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    uint8_t pad[HMAC_BLOCK];
    uint8_t inner[OTK_SHA256_LEN];
    otk_sha256_ctx_t ctx;
    for (size_t i = 0; i < HMAC_BLOCK; i++) {
        pad[i] = k[i] ^ HMAC_IPAD;
    }
    otk_sha256_init(&ctx);
    otk_sha256_update(&ctx, pad, sizeof pad);
    otk_sha256_update(&ctx, msg, msg_len);
    otk_sha256_final(&ctx, inner);
    for (size_t i = 0; i < HMAC_BLOCK; i++) {
        pad[i] = k[i] ^ HMAC_OPAD;
    }
    otk_sha256_init(&ctx);
    otk_sha256_update(&ctx, pad, sizeof pad);
    otk_sha256_update(&ctx, inner, sizeof inner);
    otk_sha256_final(&ctx, out);
}

/* Every byte is compared whatever the earlier ones were, so the time taken says nothing
 * about how many leading bytes of a guess were right. volatile keeps the compiler from
 * turning the loop back into an early-exit memcmp. */
bool hosted_equal_ct(const uint8_t *a, const uint8_t *b, size_t len)
{
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < len; i++) {
        diff |= (uint8_t)(a[i] ^ b[i]);
    }
    return diff == 0;
}

bool hosted_random(void *out, size_t len)
{
    uint8_t *p = out;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}
