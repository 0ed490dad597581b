/* The crypto port: the only hashes the core needs, behind one header.
 *
 * Backends are chosen at build time (src/port/crypto_openssl.c now; an mbedTLS one for
 * embedded targets). Contexts are fixed-size opaque storage so the core never allocates;
 * each backend checks at compile time that its native context fits. A context is plain
 * data: a copy of a running one (assignment, memcpy) goes on independently, which the
 * image layer uses to extend one hash past a point where it also needs the digest. */
#ifndef OTAKIT_CRYPTO_H
#define OTAKIT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTK_SHA256_LEN 32
#define OTK_MD5_LEN 16

/* Room for OpenSSL's SHA256_CTX (112 bytes) and mbedTLS's (~108), aligned for uint64_t. */
typedef struct {
    uint64_t opaque[32];
} otk_sha256_ctx_t;

/* Room for OpenSSL's MD5_CTX (92 bytes) and mbedTLS's. */
typedef struct {
    uint64_t opaque[16];
} otk_md5_ctx_t;

void otk_sha256_init(otk_sha256_ctx_t *ctx);
void otk_sha256_update(otk_sha256_ctx_t *ctx, const void *data, size_t len);
void otk_sha256_final(otk_sha256_ctx_t *ctx, uint8_t out[OTK_SHA256_LEN]);
/* One-shot convenience. */
void otk_sha256(const void *data, size_t len, uint8_t out[OTK_SHA256_LEN]);

void otk_md5_init(otk_md5_ctx_t *ctx);
void otk_md5_update(otk_md5_ctx_t *ctx, const void *data, size_t len);
void otk_md5_final(otk_md5_ctx_t *ctx, uint8_t out[OTK_MD5_LEN]);
void otk_md5(const void *data, size_t len, uint8_t out[OTK_MD5_LEN]);

/* Name of the backend, for logs and benchmarks ("openssl 3.0.19"). */
const char *otk_crypto_backend(void);

/* ---- signature verification (Secure Boot v2 images, signed manifests) -------------------
 * Big numbers are given big-endian here (the usual wire order); Secure Boot v2 blocks store
 * theirs little-endian, and the image layer converts. A backend without public-key code
 * (the tiny one of the Cortex-M build) returns ESP_ERR_NOT_SUPPORTED. A signature that does
 * not verify is ESP_ERR_IMAGE_INVALID, a malformed key or signature encoding
 * ESP_ERR_INVALID_ARG, so callers can tell a bad signature from bad input. Every backend
 * sorts alike: an RSA key that is not 3072 bits, an even modulus, an even or too small e,
 * or an EC point that is not on P-256 is INVALID_ARG; a signature value not below n, an
 * r or s that is zero or not below the group order is a signature that does not verify
 * (IMAGE_INVALID). ESP_ERR_NO_MEM when the library could not allocate (host backends). */
#define OTK_RSA3072_LEN 384u   /* modulus and signature bytes */
#define OTK_P256_COORD_LEN 32u /* one coordinate / one of r, s */

/* RSASSA-PSS with SHA-256, MGF1-SHA-256, salt length 32 (what espsecure signs with), over a
 * precomputed digest. n: 384 bytes big-endian; e: the public exponent. */
esp_err_t otk_rsa3072_pss_verify(const uint8_t n[OTK_RSA3072_LEN], uint32_t e,
                                 const uint8_t digest[OTK_SHA256_LEN],
                                 const uint8_t signature[OTK_RSA3072_LEN]);

/* ECDSA over NIST P-256 of a precomputed SHA-256 digest. pub: x || y (64 bytes, big-endian);
 * sig: r || s (64 bytes, big-endian). */
esp_err_t otk_ecdsa_p256_verify(const uint8_t pub[2 * OTK_P256_COORD_LEN],
                                const uint8_t digest[OTK_SHA256_LEN],
                                const uint8_t sig[2 * OTK_P256_COORD_LEN]);

#ifdef __cplusplus
}
#endif
#endif
