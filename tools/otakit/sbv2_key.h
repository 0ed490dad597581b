/* Secure Boot v2 keys in PEM files, for the tool (OpenSSL's libcrypto directly: the
 * library's crypto port only verifies, and a device never holds a private key).
 *
 * A key is RSA-3072 or ECDSA P-256, public ("BEGIN PUBLIC KEY") or private (any PEM
 * private key; its public half is what a block and a digest hold). Its key material is
 * laid out as a signature block holds it from offset 36 (image.h), and its digest is the
 * SHA-256 of that: what eFuse holds and what espsecure digest_sbv2_public_key writes. */
#ifndef OTAKIT_SBV2_KEY_H
#define OTAKIT_SBV2_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/diag.h"
#include "otakit/image.h"

/* RSA key material: n (384), e (4), rinv (384), mdash (4); ECDSA's is shorter. */
#define SBV2_KEY_MATERIAL_MAX (OTK_IMAGE_SIG_OFF_RSA_SIG - OTK_IMAGE_SIG_OFF_KEY)

typedef struct {
    void *pkey;        /* EVP_PKEY *, owned */
    bool is_private;
    uint8_t version;   /* OTK_IMAGE_SIG_VERSION_RSA or _ECDSA */
    uint8_t material[SBV2_KEY_MATERIAL_MAX];
    size_t material_len;
    uint8_t digest[OTK_SHA256_LEN];
} sbv2_key_t;

/* Load the key in path; need_private refuses a public key. false with why otherwise
 * (not a PEM key, encrypted, RSA of another size, a curve other than P-256). */
bool sbv2_key_load(const char *path, bool need_private, sbv2_key_t *key, otk_diag_t *why);
void sbv2_key_free(sbv2_key_t *key);

/* A whole 1216-byte signature block over digest, as espsecure lays it out: magic, version,
 * (ECDSA: SHA-256 type), digest, key material, signature (little-endian), zeros, CRC-32 of
 * bytes [0, 1196), 16 zero bytes. RSA-PSS uses SHA-256, MGF1-SHA-256 and a 32-byte salt. */
bool sbv2_key_sign_block(const sbv2_key_t *key, const uint8_t digest[OTK_SHA256_LEN],
                         uint8_t block[OTK_IMAGE_SIG_BLOCK_LEN], otk_diag_t *why);

/* Parse 64 hex digits into a digest. */
bool sbv2_parse_digest(const char *hex, uint8_t out[OTK_SHA256_LEN]);

#endif
