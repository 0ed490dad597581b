/* The crypto port's signature verification (otakit/crypto.h) against known answers, with
 * whichever backend the build uses (openssl or mbedtls; the tiny one has none):
 *   - ECDSA P-256: RFC 6979 appendix A.2.5, the "sample" message with SHA-256 (a published
 *     vector), and a signature made with the OpenSSL command line;
 *   - RSA-3072-PSS (SHA-256, MGF1-SHA-256, salt 32, as espsecure signs): a key and two
 *     signatures made with the OpenSSL command line (openssl genrsa 3072; openssl pkeyutl
 *     -sign -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32|20 -pkeyopt
 *     digest:sha256 over the SHA-256 of "otakit crypto port vector");
 * and every way a backend must sort bad input: a signature that does not verify is
 * ESP_ERR_IMAGE_INVALID, a key that is not one ESP_ERR_INVALID_ARG. */
#include <stdio.h>
#include <string.h>

#include "otakit/crypto.h"
#include "test_support.h"

/* RFC 6979 A.2.5: the P-256 key's public point and the signature of "sample". */
static const char RFC6979_PUB[] =
    "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
static const char RFC6979_SIG_SAMPLE[] =
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
/* The order n of P-256 (FIPS 186-4 D.1.2.3): an s this large is out of range. */
static const char P256_ORDER[] =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
/* The field prime p of P-256: an x this large is not a coordinate. */
static const char P256_PRIME[] =
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";

/* Made with the OpenSSL command line (see the top). */
#define RSA_E 65537u
static const char RSA_N[] =
    "c5d06bdd36d7e46d3e52bba6b3341ee082327acf02e6f6e2cd905d5346e868f961873220d9ff6f4d"
    "7ebdb824cdaac873530ce05c7d77c83bb38c959414bfc38112a83e6c782016b7601faf395be20964"
    "71cdc22417bab83db40ef3a86de6f4a66dcd69fc5392c28a184184b0439bb97d130822d92c27ad83"
    "b849420d3975b76c004a4fbb5c28a12db9ac48c57959deba59e169bf617b30645180fa2049e12585"
    "89ee92f994f747450ea5ce58eeeb6eba62769db329ba663891d09cbc38b358380bfaa56076f766e6"
    "a1d53ed979cf2bd6dfea8df45e4923781ad453597c8e031d71f7cbafd71aac5c1cd7f5035cc5095c"
    "9017b2a08019fa9ecd05a68b109b651efdb89cabe5770b4a1b63611afd807e0886e65f6a45be8042"
    "5a5c28eda401dae28b18ab18a745f1bfb362965dc57a0ce801d7905b120623e48759090c271e35e4"
    "8e832fee322b9f9921385f9baebc052c9366847e5f490210750d9e9ee06d41797ff84ff0fc0b628d"
    "f0151cb9f9feca94d94757e6120c1b77db90b74ae90d8ba5";
static const char RSA_DIGEST[] =
    "b7c8ee9ea34e37977b5bfaa3fd2e9cb572d378e376c063f2f0e983416b793cda";
static const char RSA_SIG_SALT32[] =
    "8436621de518f9eaa8accddf0ca53b0a8f27b9d640e16cc85228c41971005b1a2a0aaed6b024fff4"
    "0500f7d5733129e24910c60e344acedaba87bd8a6a8f8a8aa59ae30920661cdf844fc6fb4120c5f5"
    "3faa1d4a8b86a4512b511fbc8545a814ec3c36adf3731861ed8624601e0b3b915e310eb0158c150d"
    "c5232489fb27b7b3e1a49405a14af691ca794cc25fdeb3358932651380f6bbae0c06c47212b8bd4a"
    "0b65f848a32ac5d2f24e3215bb757372eadc04a69f69e141f4bc2564c02b62631bf359d78558262f"
    "4c1430b6d0d9bf8beb51c9c0f60c473d55b833579d5cb32acaa1420aca2dac2dffb58d1ce72acb1c"
    "58307b8c95f499642241e1991fe9246d66e9b767cabd64ab6acfff4d12de7a5813d89ca602a39094"
    "467d2d1a15728e5b0dad1d3cbdef0c6e4e40c85420ce6bd030b28041645210d7d655bdeca51f04e3"
    "029c02e059aa5c4d409627f7c5c3c4d4763dabf5c10300a37f89142bb1b37fe6458b1d91cc2840c1"
    "51f9ad4d7762465b4a3196fde123654f3a5351170d964d48";
static const char RSA_SIG_SALT20[] =
    "00f4ae13700242722b3c88d2d9a1a4c7fa13fe04bf247dec8b3a37194e5f33ea4e9d5986d2bcb960"
    "2a6225d545b09ff72436ab8c5e8902957cd83a1ad2d1251d249544139552869423de5b06d809084d"
    "6d70e50aa5d24a938d49bc838360b78432f2c94ecacbe2c86f821dd146a5724a6134308348cbc59f"
    "9ab2951001d62f1b50d2c5d5a09e5cd98f709be1fc46aacaeeeac5d1ec69309c7af775254866f0f2"
    "c706d0b372680aa819c7fbffd0d65ebc0c4ea1117d674b130c147b98ca79f297528f154709727103"
    "b603894777c763745c4657a0897b1e8b19b84f58f843d4721bfb3b7b7e12b53509bfa4b327a83166"
    "4c1d0edb3b36f971245154ddd4c36fcb946785088ef3fa5062d1c0b4f86786dbc0648275863dc2ef"
    "f233bdd153cd783b3e96a130404489029a2aaa1e0fd8d32434896a2923cc926bb82854e677694df3"
    "b0062d5f43608488c50c97fa566625eed9ed61a03ea0dd09a5b768d9ddff7d5cb8d32deaf6965d62"
    "5a57e66284dd5bdb1dfc79d9dbbc982582434851f5568cdf";
static const char EC_PUB[] =
    "9201f5e7fccc0c7642c29b40cb8b2c1c144ac50e6c007cf90963164be7ec8c189a40124d587a833d"
    "cf7200e79c921042a2c03f0b15620ec410d1538642b046af";
static const char EC_SIG[] =
    "441d5ff269cc7c947304c10ba438e198fffc5da47c51d69b8001e9d422a3715abf54afafe5f736bd"
    "e24f05375b76c965f093dee49323bd959740c1c7002965cd";

static void unhex(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(strlen(hex), 2 * len);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

typedef struct {
    uint8_t n[OTK_RSA3072_LEN];
    uint8_t digest[OTK_SHA256_LEN];
    uint8_t sig[OTK_RSA3072_LEN];
} rsa_vec_t;

static void rsa_vec(rsa_vec_t *v)
{
    unhex(RSA_N, v->n, sizeof v->n);
    unhex(RSA_DIGEST, v->digest, sizeof v->digest);
    unhex(RSA_SIG_SALT32, v->sig, sizeof v->sig);
}

static void rsa_pss_known_answer(void **state)
{
    (void)state;
    rsa_vec_t v;
    rsa_vec(&v);
    uint8_t want[OTK_SHA256_LEN];
    otk_sha256("otakit crypto port vector", strlen("otakit crypto port vector"), want);
    assert_memory_equal(v.digest, want, sizeof want);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, v.sig), ESP_OK);
}

static void rsa_pss_bad_signatures(void **state)
{
    (void)state;
    rsa_vec_t v;
    rsa_vec(&v);
    v.sig[200] ^= 0x01;
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    rsa_vec(&v);
    v.digest[0] ^= 0x80;
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    /* The same key and digest, PSS with a 20-byte salt: not what espsecure makes. */
    rsa_vec(&v);
    unhex(RSA_SIG_SALT20, v.sig, sizeof v.sig);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    /* A signature value not below n. */
    memset(v.sig, 0xFF, sizeof v.sig);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    /* Another public exponent (still a valid shape). */
    rsa_vec(&v);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, 3, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
}

static void rsa_bad_keys(void **state)
{
    (void)state;
    rsa_vec_t v;
    rsa_vec(&v);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, 1, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, 65536, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    v.n[OTK_RSA3072_LEN - 1] &= 0xFE; /* even */
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    rsa_vec(&v);
    v.n[0] = 0x7F; /* 3071 bits */
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    rsa_vec(&v);
    assert_int_equal(otk_rsa3072_pss_verify(NULL, RSA_E, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, NULL, v.sig), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_rsa3072_pss_verify(v.n, RSA_E, v.digest, NULL), ESP_ERR_INVALID_ARG);
}

typedef struct {
    uint8_t pub[2 * OTK_P256_COORD_LEN];
    uint8_t digest[OTK_SHA256_LEN];
    uint8_t sig[2 * OTK_P256_COORD_LEN];
} ec_vec_t;

static void rfc6979(ec_vec_t *v)
{
    unhex(RFC6979_PUB, v->pub, sizeof v->pub);
    otk_sha256("sample", strlen("sample"), v->digest);
    unhex(RFC6979_SIG_SAMPLE, v->sig, sizeof v->sig);
}

static void ecdsa_known_answers(void **state)
{
    (void)state;
    ec_vec_t v;
    rfc6979(&v);
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_OK);
    unhex(EC_PUB, v.pub, sizeof v.pub);
    unhex(RSA_DIGEST, v.digest, sizeof v.digest);
    unhex(EC_SIG, v.sig, sizeof v.sig);
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_OK);
}

static void ecdsa_bad_signatures(void **state)
{
    (void)state;
    ec_vec_t v;
    rfc6979(&v);
    v.sig[5] ^= 0x01; /* r */
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    rfc6979(&v);
    v.sig[63] ^= 0x01; /* s */
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    rfc6979(&v);
    otk_sha256("test", strlen("test"), v.digest); /* RFC 6979's other message */
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    /* r = 0, and s = the group order: out of range, so no valid signature. */
    rfc6979(&v);
    memset(v.sig, 0, OTK_P256_COORD_LEN);
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
    rfc6979(&v);
    unhex(P256_ORDER, v.sig + OTK_P256_COORD_LEN, OTK_P256_COORD_LEN);
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_IMAGE_INVALID);
}

static void ecdsa_bad_keys(void **state)
{
    (void)state;
    ec_vec_t v;
    rfc6979(&v);
    v.pub[63] ^= 0x01; /* y: off the curve */
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    rfc6979(&v);
    unhex(P256_PRIME, v.pub, OTK_P256_COORD_LEN); /* x = p */
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    rfc6979(&v);
    memset(v.pub, 0, sizeof v.pub); /* (0, 0): not a point (the identity has no x, y) */
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    rfc6979(&v);
    assert_int_equal(otk_ecdsa_p256_verify(NULL, v.digest, v.sig), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, NULL, v.sig), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ecdsa_p256_verify(v.pub, v.digest, NULL), ESP_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_pss_known_answer),  cmocka_unit_test(rsa_pss_bad_signatures),
        cmocka_unit_test(rsa_bad_keys),          cmocka_unit_test(ecdsa_known_answers),
        cmocka_unit_test(ecdsa_bad_signatures),  cmocka_unit_test(ecdsa_bad_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
