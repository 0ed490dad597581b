/* The crypto port: the only hashes the core needs, behind one header.
 *
 * Backends are chosen at build time (src/port/crypto_openssl.c now; an mbedTLS one for
 * embedded targets). Contexts are fixed-size opaque storage so the core never allocates;
 * each backend checks at compile time that its native context fits. */
#ifndef OTAKIT_CRYPTO_H
#define OTAKIT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

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

#ifdef __cplusplus
}
#endif
#endif
