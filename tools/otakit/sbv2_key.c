/* Secure Boot v2 keys through OpenSSL 3's EVP interface: see sbv2_key.h. */
#include "sbv2_key.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "otakit/crc32.h"

/* espsecure accepts RSA keys of exactly this size for Secure Boot v2. */
#define RSA_BITS 3072
/* rinv = 2^(2 * 3072) mod n: R^2 for the ROM's Montgomery multiplication. */
#define RSA_RINV_EXPONENT (2 * RSA_BITS)
/* Newton's iteration x = x * (2 - n * x) doubles the correct low bits of 1/n mod 2^32
 * each round; starting from x = n (right in 3 bits for odd n) 4 rounds give 48 >= 32. */
#define INVERSE_ROUNDS 4
#define P256_GROUP "prime256v1"
#define GROUP_NAME_MAX 64
/* The RSA material's fields, relative to the block's key offset. */
#define MAT_RSA_N 0u
#define MAT_RSA_E (OTK_IMAGE_SIG_OFF_RSA_E - OTK_IMAGE_SIG_OFF_KEY)
#define MAT_RSA_RINV (OTK_IMAGE_SIG_OFF_RSA_RINV - OTK_IMAGE_SIG_OFF_KEY)
#define MAT_RSA_MDASH (OTK_IMAGE_SIG_OFF_RSA_MDASH - OTK_IMAGE_SIG_OFF_KEY)
#define MAT_EC_X (OTK_IMAGE_SIG_OFF_EC_POINT - OTK_IMAGE_SIG_OFF_KEY)
#define MAT_EC_Y (MAT_EC_X + OTK_P256_COORD_LEN)
#define MAT_EC_LEN (OTK_IMAGE_SIG_OFF_EC_SIG - OTK_IMAGE_SIG_OFF_KEY)

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* No prompt for a pass phrase: an encrypted key simply does not load. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* -(n^-1) mod 2^32 from n's low word (n is odd). */
static uint32_t mdash_of(uint32_t n0)
{
    uint32_t x = n0;
    for (int i = 0; i < INVERSE_ROUNDS; i++) {
        x *= 2u - n0 * x;
    }
    return (uint32_t)(0u - x);
}

static bool bn_param_le(EVP_PKEY *pkey, const char *name, uint8_t *out, size_t len)
{
    BIGNUM *bn = NULL;
    bool ok = EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 &&
              BN_bn2lebinpad(bn, out, (int)len) == (int)len;
    BN_free(bn);
    return ok;
}

static bool rsa_material(sbv2_key_t *key, const char *path, otk_diag_t *why)
{
    EVP_PKEY *pkey = key->pkey;
    if (EVP_PKEY_get_bits(pkey) != RSA_BITS) {
        otk_diag_set(why, "%s: an RSA key of %d bits; Secure Boot v2 takes RSA-3072 only",
                     path, EVP_PKEY_get_bits(pkey));
        return false;
    }
    uint8_t *m = key->material;
    BIGNUM *n = NULL, *e = NULL, *r = BN_new(), *rinv = BN_new();
    BN_CTX *ctx = BN_CTX_new();
    bool ok = r != NULL && rinv != NULL && ctx != NULL &&
              EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
              EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
              BN_num_bits(e) <= 32 &&
              BN_bn2lebinpad(n, m + MAT_RSA_N, (int)OTK_RSA3072_LEN) == (int)OTK_RSA3072_LEN &&
              BN_set_bit(r, RSA_RINV_EXPONENT) == 1 && BN_mod(rinv, r, n, ctx) == 1 &&
              BN_bn2lebinpad(rinv, m + MAT_RSA_RINV, (int)OTK_RSA3072_LEN) ==
                  (int)OTK_RSA3072_LEN;
    if (ok) {
        put_le32(m + MAT_RSA_E, (uint32_t)BN_get_word(e));
        uint32_t n0 = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 |
                      (uint32_t)m[3] << 24;
        put_le32(m + MAT_RSA_MDASH, mdash_of(n0));
        key->material_len = SBV2_KEY_MATERIAL_MAX;
        key->version = OTK_IMAGE_SIG_VERSION_RSA;
    } else {
        otk_diag_set(why, "%s: cannot read the RSA key's numbers", path);
    }
    BN_free(n);
    BN_free(e);
    BN_free(r);
    BN_free(rinv);
    BN_CTX_free(ctx);
    return ok;
}

static bool ec_material(sbv2_key_t *key, const char *path, otk_diag_t *why)
{
    char group[GROUP_NAME_MAX] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof group, &glen) != 1 ||
        strcmp(group, P256_GROUP) != 0) {
        otk_diag_set(why, "%s: an EC key on curve '%s'; otakit signs with P-256 (prime256v1) "
                     "only", path, group);
        return false;
    }
    key->material[0] = OTK_IMAGE_SIG_CURVE_P256;
    if (!bn_param_le(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, key->material + MAT_EC_X,
                     OTK_P256_COORD_LEN) ||
        !bn_param_le(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, key->material + MAT_EC_Y,
                     OTK_P256_COORD_LEN)) {
        otk_diag_set(why, "%s: cannot read the EC key's public point", path);
        return false;
    }
    key->material_len = MAT_EC_LEN;
    key->version = OTK_IMAGE_SIG_VERSION_ECDSA;
    return true;
}

bool sbv2_key_load(const char *path, bool need_private, sbv2_key_t *key, otk_diag_t *why)
{
    memset(key, 0, sizeof *key);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        otk_diag_set(why, "%s: cannot open it", path);
        return false;
    }
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, no_password, NULL);
    key->is_private = pkey != NULL;
    if (pkey == NULL && !need_private) {
        rewind(f);
        pkey = PEM_read_PUBKEY(f, NULL, no_password, NULL);
    }
    fclose(f);
    ERR_clear_error();
    if (pkey == NULL) {
        otk_diag_set(why, "%s: not an unencrypted PEM %s key", path,
                     need_private ? "private" : "public or private");
        return false;
    }
    key->pkey = pkey;
    bool ok;
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        ok = rsa_material(key, path, why);
        break;
    case EVP_PKEY_EC:
        ok = ec_material(key, path, why);
        break;
    default:
        otk_diag_set(why, "%s: neither an RSA nor an EC key", path);
        ok = false;
        break;
    }
    ERR_clear_error();
    if (!ok) {
        sbv2_key_free(key);
        return false;
    }
    otk_sha256(key->material, key->material_len, key->digest);
    return true;
}

void sbv2_key_free(sbv2_key_t *key)
{
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
}

static void reverse(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[len - 1u - i];
        p[len - 1u - i] = t;
    }
}

/* EVP_PKEY_sign over the digest itself (espsecure signs with Prehashed(SHA256)). */
static bool sign_digest(const sbv2_key_t *key, const uint8_t digest[OTK_SHA256_LEN],
                        uint8_t *sig, size_t *sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
    bool ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1;
    if (ok && key->version == OTK_IMAGE_SIG_VERSION_RSA) {
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)OTK_SHA256_LEN) == 1;
    }
    ok = ok && EVP_PKEY_sign(ctx, sig, sig_len, digest, OTK_SHA256_LEN) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* r || s, each 32 bytes little-endian, from a DER ECDSA signature. */
static bool ecdsa_rs_le(const uint8_t *der, size_t der_len, uint8_t out[2 * OTK_P256_COORD_LEN])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL) {
        return false;
    }
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    bool ok = BN_bn2lebinpad(r, out, (int)OTK_P256_COORD_LEN) == (int)OTK_P256_COORD_LEN &&
              BN_bn2lebinpad(s, out + OTK_P256_COORD_LEN, (int)OTK_P256_COORD_LEN) ==
                  (int)OTK_P256_COORD_LEN;
    ECDSA_SIG_free(sig);
    return ok;
}

bool sbv2_key_sign_block(const sbv2_key_t *key, const uint8_t digest[OTK_SHA256_LEN],
                         uint8_t block[OTK_IMAGE_SIG_BLOCK_LEN], otk_diag_t *why)
{
    if (!key->is_private) {
        otk_diag_set(why, "a public key cannot sign");
        return false;
    }
    memset(block, 0, OTK_IMAGE_SIG_BLOCK_LEN);
    block[0] = OTK_IMAGE_SIG_MAGIC;
    block[OTK_IMAGE_SIG_OFF_VERSION] = key->version;
    /* Byte 2 is reserved for RSA and the SHA type (0: SHA-256) for ECDSA: 0 either way. */
    memcpy(block + OTK_IMAGE_SIG_OFF_DIGEST, digest, OTK_SHA256_LEN);
    memcpy(block + OTK_IMAGE_SIG_OFF_KEY, key->material, key->material_len);
    uint8_t sig[OTK_RSA3072_LEN + 64]; /* an RSA signature or a DER ECDSA one (~72) */
    size_t sig_len = sizeof sig;
    bool ok = sign_digest(key, digest, sig, &sig_len);
    if (ok && key->version == OTK_IMAGE_SIG_VERSION_RSA) {
        ok = sig_len == OTK_RSA3072_LEN;
        reverse(sig, OTK_RSA3072_LEN);
        memcpy(block + OTK_IMAGE_SIG_OFF_RSA_SIG, sig, OTK_RSA3072_LEN);
    } else if (ok) {
        ok = ecdsa_rs_le(sig, sig_len, block + OTK_IMAGE_SIG_OFF_EC_SIG);
    }
    ERR_clear_error();
    if (!ok) {
        otk_diag_set(why, "OpenSSL could not sign with the %s key",
                     otk_image_sig_scheme_name(key->version));
        return false;
    }
    put_le32(block + OTK_IMAGE_SIG_OFF_CRC, otk_crc32_update(0, block, OTK_IMAGE_SIG_OFF_CRC));
    /* The 16 bytes after the CRC stay zero (espsecure's padding). */
    return true;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

bool sbv2_parse_digest(const char *hex, uint8_t out[OTK_SHA256_LEN])
{
    if (hex == NULL || strlen(hex) != 2u * OTK_SHA256_LEN) {
        return false;
    }
    for (size_t i = 0; i < OTK_SHA256_LEN; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}
