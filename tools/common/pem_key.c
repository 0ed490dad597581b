/* P-256 PEM keys through OpenSSL 3's EVP interface: see pem_key.h. */
#include "pem_key.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* An uncompressed point: 0x04, x, y. */
#define POINT_UNCOMPRESSED 0x04u
#define POINT_LEN (1u + OTK_MANIFEST_KEY_LEN)
/* OpenSSL's name of NIST P-256. */
#define P256_GROUP "prime256v1"
#define GROUP_NAME_MAX 64

/* The key in path, public or private; NULL with why. */
static EVP_PKEY *load(const char *path, bool want_private, otk_diag_t *why)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        otk_diag_set(why, "%s: cannot open it", path);
        return NULL;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    if (key == NULL && !want_private) {
        rewind(f);
        key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    }
    fclose(f);
    ERR_clear_error();
    if (key == NULL) {
        otk_diag_set(why, "%s: not a PEM %s key", path, want_private ? "private" : "public or "
                                                                               "private");
        return NULL;
    }
    char group[GROUP_NAME_MAX] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &glen) ||
        strcmp(group, P256_GROUP) != 0) {
        otk_diag_set(why, "%s: not a P-256 (prime256v1) EC key%s%s", path,
                     group[0] != '\0' ? ": its curve is " : "", group);
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

bool pem_p256_public(const char *path, uint8_t xy[OTK_MANIFEST_KEY_LEN], otk_diag_t *why)
{
    EVP_PKEY *key = load(path, false, why);
    if (key == NULL) {
        return false;
    }
    /* Ask for the uncompressed form whatever the file used. */
    EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                   OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED);
    uint8_t point[POINT_LEN];
    size_t n = 0;
    bool ok = EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                              &n) &&
              n == POINT_LEN && point[0] == POINT_UNCOMPRESSED;
    EVP_PKEY_free(key);
    ERR_clear_error();
    if (!ok) {
        otk_diag_set(why, "%s: cannot read its public point", path);
        return false;
    }
    memcpy(xy, point + 1, OTK_MANIFEST_KEY_LEN);
    return true;
}

bool pem_p256_sign(const char *path, const void *data, size_t len,
                   uint8_t der[OTK_MANIFEST_SIG_DER_MAX], size_t *der_len, otk_diag_t *why)
{
    EVP_PKEY *key = load(path, true, why);
    if (key == NULL) {
        return false;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = OTK_MANIFEST_SIG_DER_MAX;
    bool ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestSign(md, der, &n, data, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    ERR_clear_error();
    if (!ok) {
        otk_diag_set(why, "%s: signing failed", path);
        return false;
    }
    *der_len = n;
    return true;
}
