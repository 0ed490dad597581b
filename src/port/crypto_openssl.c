/* Crypto port backend: OpenSSL's libcrypto. The low-level SHA256_ and MD5_ calls are
 * deprecated in OpenSSL 3 but remain the only allocation-free interface, and they use the
 * same SHA-NI / AVX code paths as EVP. Contexts are plain structs, so a copy of one goes on
 * independently (crypto.h). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "otakit/crypto.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/obj_mac.h>
#include <openssl/opensslv.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "crypto_sig_rules.h"

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

/* ---- signature verification ------------------------------------------------------------
 * The RSA and EC_KEY interfaces are deprecated in OpenSSL 3 like the hashes above, and for
 * the same reason stay: they build a key from raw numbers in a few calls on 1.1 and 3.x
 * alike (3.x's replacement, OSSL_PARAM_BLD, does not exist in 1.1). They allocate; this is
 * the host backend. */
esp_err_t otk_rsa3072_pss_verify(const uint8_t n[OTK_RSA3072_LEN], uint32_t e,
                                 const uint8_t digest[OTK_SHA256_LEN],
                                 const uint8_t signature[OTK_RSA3072_LEN])
{
    if (n == NULL || digest == NULL || signature == NULL || !otk_rsa3072_key_shape_ok(n, e)) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t result = ESP_ERR_INVALID_ARG;
    RSA *rsa = RSA_new();
    BIGNUM *bn_n = BN_bin2bn(n, (int)OTK_RSA3072_LEN, NULL);
    BIGNUM *bn_e = BN_new();
    EVP_PKEY *pkey = EVP_PKEY_new();
    EVP_PKEY_CTX *ctx = NULL;
    if (rsa == NULL || bn_n == NULL || bn_e == NULL || pkey == NULL ||
        BN_set_word(bn_e, e) != 1 || RSA_set0_key(rsa, bn_n, bn_e, NULL) != 1) {
        BN_free(bn_n);
        BN_free(bn_e);
        RSA_free(rsa);
        EVP_PKEY_free(pkey);
        return ESP_ERR_NO_MEM;
    }
    /* The key owns the numbers now, and the EVP_PKEY owns the key. */
    if (EVP_PKEY_assign_RSA(pkey, rsa) != 1) {
        RSA_free(rsa);
        goto out;
    }
    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)OTK_RSA_PSS_SALT_LEN) != 1) {
        goto out;
    }
    /* 1 verifies; 0 or an error (a signature not below n, bad padding) does not. */
    result = EVP_PKEY_verify(ctx, signature, OTK_RSA3072_LEN, digest, OTK_SHA256_LEN) == 1
                 ? ESP_OK
                 : ESP_ERR_IMAGE_INVALID;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return result;
}

esp_err_t otk_ecdsa_p256_verify(const uint8_t pub[2 * OTK_P256_COORD_LEN],
                                const uint8_t digest[OTK_SHA256_LEN],
                                const uint8_t sig[2 * OTK_P256_COORD_LEN])
{
    if (pub == NULL || digest == NULL || sig == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t result = ESP_ERR_NO_MEM;
    EC_KEY *key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *x = BN_bin2bn(pub, (int)OTK_P256_COORD_LEN, NULL);
    BIGNUM *y = BN_bin2bn(pub + OTK_P256_COORD_LEN, (int)OTK_P256_COORD_LEN, NULL);
    BIGNUM *r = BN_bin2bn(sig, (int)OTK_P256_COORD_LEN, NULL);
    BIGNUM *s = BN_bin2bn(sig + OTK_P256_COORD_LEN, (int)OTK_P256_COORD_LEN, NULL);
    ECDSA_SIG *esig = ECDSA_SIG_new();
    if (key == NULL || x == NULL || y == NULL || r == NULL || s == NULL || esig == NULL) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    /* Rejects coordinates not below p and points not on the curve. */
    if (EC_KEY_set_public_key_affine_coordinates(key, x, y) != 1) {
        BN_free(r);
        BN_free(s);
        result = ESP_ERR_INVALID_ARG;
        goto out;
    }
    ECDSA_SIG_set0(esig, r, s); /* the signature owns r and s now */
    /* 1 verifies; 0 (r or s zero or not below the order, or a wrong signature) or an
     * error does not. */
    result = ECDSA_do_verify(digest, (int)OTK_SHA256_LEN, esig, key) == 1
                 ? ESP_OK
                 : ESP_ERR_IMAGE_INVALID;
out:
    ECDSA_SIG_free(esig);
    BN_free(x);
    BN_free(y);
    EC_KEY_free(key);
    return result;
}
