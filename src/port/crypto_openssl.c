/* Crypto port backend: OpenSSL's libcrypto. The low-level SHA256_ and MD5_ calls are
 * deprecated in OpenSSL 3 but remain the only allocation-free interface, and they use the
 * same SHA-NI / AVX code paths as EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "otakit/crypto.h"

#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(otk_sha256_ctx_t), "otk_sha256_ctx_t too small");
_Static_assert(sizeof(MD5_CTX) <= sizeof(otk_md5_ctx_t), "otk_md5_ctx_t too small");

void otk_sha256_init(otk_sha256_ctx_t *ctx)
{
    SHA256_Init((SHA256_CTX *)ctx);
}

void otk_sha256_update(otk_sha256_ctx_t *ctx, const void *data, size_t len)
{
    SHA256_Update((SHA256_CTX *)ctx, data, len);
}

void otk_sha256_final(otk_sha256_ctx_t *ctx, uint8_t out[OTK_SHA256_LEN])
{
    SHA256_Final(out, (SHA256_CTX *)ctx);
}

void otk_sha256(const void *data, size_t len, uint8_t out[OTK_SHA256_LEN])
{
    otk_sha256_ctx_t ctx;
    otk_sha256_init(&ctx);
    otk_sha256_update(&ctx, data, len);
    otk_sha256_final(&ctx, out);
}

void otk_md5_init(otk_md5_ctx_t *ctx)
{
    MD5_Init((MD5_CTX *)ctx);
}

void otk_md5_update(otk_md5_ctx_t *ctx, const void *data, size_t len)
{
    MD5_Update((MD5_CTX *)ctx, data, len);
}

void otk_md5_final(otk_md5_ctx_t *ctx, uint8_t out[OTK_MD5_LEN])
{
    MD5_Final(out, (MD5_CTX *)ctx);
}

void otk_md5(const void *data, size_t len, uint8_t out[OTK_MD5_LEN])
{
    otk_md5_ctx_t ctx;
    otk_md5_init(&ctx);
    otk_md5_update(&ctx, data, len);
    otk_md5_final(&ctx, out);
}

const char *otk_crypto_backend(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}
