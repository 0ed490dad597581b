/* Crypto port backend: mbedTLS (2.28 as Debian ships it, 3.x as ESP-IDF ships it).
 *
 * The embedded backend: no allocation, contexts live in the port's fixed-size storage.
 * mbedTLS 2.x names the error-returning calls *_ret (the plain names are deprecated void
 * forms); 3.x dropped the suffix and made the plain names return int. MBEDTLS_VERSION_NUMBER
 * picks the spelling, so the same file builds against either. */
#include "otakit/crypto.h"

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#if !defined(MBEDTLS_SHA256_C) || !defined(MBEDTLS_MD5_C)
#error "otakit needs mbedTLS built with MBEDTLS_SHA256_C and MBEDTLS_MD5_C (partition table MD5)"
#endif

/* 3.0.0 is the release that renamed the *_ret functions. */
#define OTK_MBEDTLS_V3 0x03000000

#if MBEDTLS_VERSION_NUMBER >= OTK_MBEDTLS_V3
#define OTK_SHA256_STARTS mbedtls_sha256_starts
#define OTK_SHA256_UPDATE mbedtls_sha256_update
#define OTK_SHA256_FINISH mbedtls_sha256_finish
#define OTK_MD5_STARTS mbedtls_md5_starts
#define OTK_MD5_UPDATE mbedtls_md5_update
#define OTK_MD5_FINISH mbedtls_md5_finish
#else
#define OTK_SHA256_STARTS mbedtls_sha256_starts_ret
#define OTK_SHA256_UPDATE mbedtls_sha256_update_ret
#define OTK_SHA256_FINISH mbedtls_sha256_finish_ret
#define OTK_MD5_STARTS mbedtls_md5_starts_ret
#define OTK_MD5_UPDATE mbedtls_md5_update_ret
#define OTK_MD5_FINISH mbedtls_md5_finish_ret
#endif

/* mbedtls_sha256_starts' second argument: 0 selects SHA-256 (1 would be SHA-224). */
#define OTK_SHA256_NOT_224 0

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(otk_sha256_ctx_t),
               "otk_sha256_ctx_t too small for mbedtls_sha256_context");
_Static_assert(_Alignof(mbedtls_sha256_context) <= _Alignof(otk_sha256_ctx_t),
               "otk_sha256_ctx_t under-aligned for mbedtls_sha256_context");
_Static_assert(sizeof(mbedtls_md5_context) <= sizeof(otk_md5_ctx_t),
               "otk_md5_ctx_t too small for mbedtls_md5_context");
_Static_assert(_Alignof(mbedtls_md5_context) <= _Alignof(otk_md5_ctx_t),
               "otk_md5_ctx_t under-aligned for mbedtls_md5_context");

/* The port's functions return nothing: the software implementations only fail on NULL
 * arguments, which the core never passes. A hardware-accelerated mbedTLS (an _ALT
 * implementation) that can fail would need the port to grow an error path. The int results
 * are dropped deliberately. */

void otk_sha256_init(otk_sha256_ctx_t *ctx)
{
    mbedtls_sha256_context *c = (mbedtls_sha256_context *)ctx;
    mbedtls_sha256_init(c);
    (void)OTK_SHA256_STARTS(c, OTK_SHA256_NOT_224);
}

void otk_sha256_update(otk_sha256_ctx_t *ctx, const void *data, size_t len)
{
    (void)OTK_SHA256_UPDATE((mbedtls_sha256_context *)ctx, data, len);
}

void otk_sha256_final(otk_sha256_ctx_t *ctx, uint8_t out[OTK_SHA256_LEN])
{
    mbedtls_sha256_context *c = (mbedtls_sha256_context *)ctx;
    (void)OTK_SHA256_FINISH(c, out);
    mbedtls_sha256_free(c); /* wipes the state; a context is finished once */
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
    mbedtls_md5_context *c = (mbedtls_md5_context *)ctx;
    mbedtls_md5_init(c);
    (void)OTK_MD5_STARTS(c);
}

void otk_md5_update(otk_md5_ctx_t *ctx, const void *data, size_t len)
{
    (void)OTK_MD5_UPDATE((mbedtls_md5_context *)ctx, data, len);
}

void otk_md5_final(otk_md5_ctx_t *ctx, uint8_t out[OTK_MD5_LEN])
{
    mbedtls_md5_context *c = (mbedtls_md5_context *)ctx;
    (void)OTK_MD5_FINISH(c, out);
    mbedtls_md5_free(c);
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
    return "mbedtls " MBEDTLS_VERSION_STRING;
}
