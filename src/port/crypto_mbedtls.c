/* Crypto port backend: mbedTLS (2.28 as Debian ships it, 3.x as ESP-IDF ships it).
 *
 * The embedded backend: hashing allocates nothing, contexts live in the port's fixed-size
 * storage (plain data, so a copy of one goes on independently, crypto.h). Signature
 * verification works on mbedTLS bignums, which take their limbs from mbedTLS's platform
 * calloc: a product without a heap points that at a static pool
 * (mbedtls_memory_buffer_alloc_init).
 * mbedTLS 2.x names the error-returning calls *_ret (the plain names are deprecated void
 * forms); 3.x dropped the suffix and made the plain names return int. MBEDTLS_VERSION_NUMBER
 * picks the spelling, so the same file builds against either. */
#include "otakit/crypto.h"

#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "crypto_sig_rules.h"

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

/* ---- signature verification ------------------------------------------------------------
 * Only with the modules a verification needs; a build of mbedTLS without them gets
 * ESP_ERR_NOT_SUPPORTED, as the tiny backend does. */

#if defined(MBEDTLS_RSA_C) && defined(MBEDTLS_PKCS1_V21) && defined(MBEDTLS_BIGNUM_C)
#define OTK_MBEDTLS_HAS_RSA_PSS 1
#else
#define OTK_MBEDTLS_HAS_RSA_PSS 0
#endif
#if defined(MBEDTLS_ECDSA_C) && defined(MBEDTLS_ECP_DP_SECP256R1_ENABLED)
#define OTK_MBEDTLS_HAS_P256 1
#else
#define OTK_MBEDTLS_HAS_P256 0
#endif

/* The public exponent as the big-endian bytes mbedtls_rsa_import_raw takes. */
#define OTK_RSA_EXPONENT_LEN 4u
/* SEC 1 uncompressed point: 0x04, then x and y. */
#define OTK_EC_POINT_UNCOMPRESSED 0x04u
#define OTK_P256_POINT_LEN (1u + 2u * OTK_P256_COORD_LEN)

esp_err_t otk_rsa3072_pss_verify(const uint8_t n[OTK_RSA3072_LEN], uint32_t e,
                                 const uint8_t digest[OTK_SHA256_LEN],
                                 const uint8_t signature[OTK_RSA3072_LEN])
{
    if (n == NULL || digest == NULL || signature == NULL || !otk_rsa3072_key_shape_ok(n, e)) {
        return ESP_ERR_INVALID_ARG;
    }
#if OTK_MBEDTLS_HAS_RSA_PSS
    const uint8_t e_be[OTK_RSA_EXPONENT_LEN] = {(uint8_t)(e >> 24), (uint8_t)(e >> 16),
                                                (uint8_t)(e >> 8), (uint8_t)e};
    mbedtls_rsa_context rsa;
#if MBEDTLS_VERSION_NUMBER >= OTK_MBEDTLS_V3
    mbedtls_rsa_init(&rsa);
    (void)mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#else
    mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#endif
    esp_err_t result = ESP_ERR_INVALID_ARG;
    if (mbedtls_rsa_import_raw(&rsa, n, OTK_RSA3072_LEN, NULL, 0, NULL, 0, NULL, 0, e_be,
                               sizeof e_be) == 0 &&
        mbedtls_rsa_complete(&rsa) == 0 && mbedtls_rsa_check_pubkey(&rsa) == 0) {
        /* Any failure from here on (bad padding, a signature not below n) is a signature
         * that does not verify. */
#if MBEDTLS_VERSION_NUMBER >= OTK_MBEDTLS_V3
        int rc = mbedtls_rsa_rsassa_pss_verify_ext(&rsa, MBEDTLS_MD_SHA256, OTK_SHA256_LEN,
                                                   digest, MBEDTLS_MD_SHA256,
                                                   (int)OTK_RSA_PSS_SALT_LEN, signature);
#else
        int rc = mbedtls_rsa_rsassa_pss_verify_ext(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC,
                                                   MBEDTLS_MD_SHA256, OTK_SHA256_LEN, digest,
                                                   MBEDTLS_MD_SHA256,
                                                   (int)OTK_RSA_PSS_SALT_LEN, signature);
#endif
        result = rc == 0 ? ESP_OK : ESP_ERR_IMAGE_INVALID;
    }
    mbedtls_rsa_free(&rsa);
    return result;
#else
    return ESP_ERR_NOT_SUPPORTED;
#endif
}

esp_err_t otk_ecdsa_p256_verify(const uint8_t pub[2 * OTK_P256_COORD_LEN],
                                const uint8_t digest[OTK_SHA256_LEN],
                                const uint8_t sig[2 * OTK_P256_COORD_LEN])
{
    if (pub == NULL || digest == NULL || sig == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
#if OTK_MBEDTLS_HAS_P256
    uint8_t point[OTK_P256_POINT_LEN];
    point[0] = OTK_EC_POINT_UNCOMPRESSED;
    memcpy(point + 1, pub, 2 * OTK_P256_COORD_LEN);
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    esp_err_t result = ESP_ERR_NO_MEM;
    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
        mbedtls_mpi_read_binary(&r, sig, OTK_P256_COORD_LEN) != 0 ||
        mbedtls_mpi_read_binary(&s, sig + OTK_P256_COORD_LEN, OTK_P256_COORD_LEN) != 0) {
        goto out;
    }
    /* Coordinates not below p, or a point off the curve: not a public key. */
    if (mbedtls_ecp_point_read_binary(&grp, &q, point, sizeof point) != 0 ||
        mbedtls_ecp_check_pubkey(&grp, &q) != 0) {
        result = ESP_ERR_INVALID_ARG;
        goto out;
    }
    /* r or s out of range fails here like a wrong signature does. */
    result = mbedtls_ecdsa_verify(&grp, digest, OTK_SHA256_LEN, &q, &r, &s) == 0
                 ? ESP_OK
                 : ESP_ERR_IMAGE_INVALID;
out:
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return result;
#else
    return ESP_ERR_NOT_SUPPORTED;
#endif
}
