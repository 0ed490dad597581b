/* The pieces of signed manifests: the DER signature decoder (strict) and encoder, the
 * signature's URI, RFC 3339 times, ECDSA verification over the exact bytes (fixed vectors
 * in support/manifest_vectors.c), and the freshness rules (version floor,
 * expiry) on parsed manifests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_vectors.h"
#include "otakit/manifest.h"
#include "test_support.h"

#define PUB_HEX MV_PUB_HEX
#define PUB2_HEX MV_PUB2_HEX
#define TEXT_OK MV_V5.text
#define SIG_OK MV_V5.sig_hex
#define TEXT_OLD MV_V4.text
#define SIG_OLD MV_V4.sig_hex
#define T2030 MV_EXPIRES
#define BASE "https://fleet.example.com/m.json"
#define unhex mv_unhex

static void expect_decode_error(const char *hex, const char *what)
{
    uint8_t der[128], rs[OTK_MANIFEST_SIG_RS_LEN];
    size_t n = unhex(hex, der);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_manifest_sig_decode(der, n, rs, &diag), ESP_ERR_INVALID_ARG);
    if (strstr(diag.msg, what) == NULL) {
        fail_msg("%s: got '%s', want '%s'", hex, diag.msg, what);
    }
}

static void test_der(void **state)
{
    (void)state;
    uint8_t der[OTK_MANIFEST_SIG_DER_MAX], again[OTK_MANIFEST_SIG_DER_MAX];
    uint8_t rs[OTK_MANIFEST_SIG_RS_LEN];
    /* Both vectors decode, and encode back to the very same bytes. */
    const char *sigs[] = {SIG_OK, SIG_OLD};
    for (size_t i = 0; i < 2; i++) {
        size_t n = unhex(sigs[i], der);
        assert_int_equal(otk_manifest_sig_decode(der, n, rs, NULL), ESP_OK);
        assert_int_equal(otk_manifest_sig_encode(rs, again), n);
        assert_memory_equal(again, der, n);
    }
    assert_int_equal(rs[0], 0x05); /* r of SIG_OLD: 32 bytes, no padding */
    assert_int_equal(rs[OTK_P256_COORD_LEN], 0xcc);
    /* Small numbers: r = 1, s = 0x80 (needs its leading zero). */
    expect_decode_error("", "0 bytes, not a DER ECDSA signature");
    assert_int_equal(unhex("300702010102020080", der), 9);
    assert_int_equal(otk_manifest_sig_decode(der, 9, rs, NULL), ESP_OK);
    assert_int_equal(rs[OTK_P256_COORD_LEN - 1], 1);
    assert_int_equal(rs[OTK_MANIFEST_SIG_RS_LEN - 1], 0x80);
    assert_int_equal(otk_manifest_sig_encode(rs, again), 9);
    assert_memory_equal(again, der, 9);
    /* Every non-canonical or broken form is refused, naming what. */
    expect_decode_error("3107020101020200" "80", "not a DER ECDSA signature");
    expect_decode_error("3008020101020200" "80", "the SEQUENCE says 8 bytes, the file has 7");
    expect_decode_error("3081070201010202008" "0", "the SEQUENCE says 129");
    expect_decode_error("3007030101020200" "80", "r: expected an INTEGER");
    expect_decode_error("300702010102020080" "00", "SEQUENCE says 7 bytes, the file has 8");
    expect_decode_error("30090201010202008000" "00", "bytes after s");
    expect_decode_error("30070201ff02020080", "r is negative");
    expect_decode_error("300802020001020200" "80", "r has a leading zero byte");
    expect_decode_error("300702010103020080", "s: expected an INTEGER");
    expect_decode_error("3006020101020180", "s is negative");
    expect_decode_error("30050201010200", "s: 0 bytes long");
    expect_decode_error("3006020101020900", "s: 9 bytes long");
    /* 33 bytes whose first is not 0: above 256 bits. */
    char big[256];
    snprintf(big, sizeof big, "3026" "0221" "01%064x" "020101", 0);
    expect_decode_error(big, "r is larger than 256 bits");
    /* 73 bytes and more: longer than any P-256 signature. */
    memset(der, 0x30, sizeof der);
    otk_diag_t diag;
    assert_int_equal(otk_manifest_sig_decode(der, OTK_MANIFEST_SIG_DER_MAX + 1, rs, &diag),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_manifest_sig_decode(NULL, 0, rs, &diag), ESP_ERR_INVALID_ARG);
}

static void test_sig_uri(void **state)
{
    (void)state;
    char out[64];
    assert_true(otk_manifest_sig_uri("https://h/v1/m.json", out, sizeof out));
    assert_string_equal(out, "https://h/v1/m.json.sig");
    assert_true(otk_manifest_sig_uri("https://h/m.json?fleet=a&x=1#top", out, sizeof out));
    assert_string_equal(out, "https://h/m.json.sig?fleet=a&x=1");
    assert_true(otk_manifest_sig_uri("file:///srv/m.json#frag", out, sizeof out));
    assert_string_equal(out, "file:///srv/m.json.sig");
    /* Exactly fitting, and one byte short. */
    assert_true(otk_manifest_sig_uri("file:///a", out, 14));
    assert_string_equal(out, "file:///a.sig");
    assert_false(otk_manifest_sig_uri("file:///a", out, 13));
}

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t t = 0;
    char out[OTK_RFC3339_LEN];
    static const struct {
        const char *text;
        int64_t unix_s;
    } good[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2000-01-01T00:00:00Z", 946684800},
        {"2000-02-29T23:59:59Z", 951868799}, /* 2000: a leap year (divisible by 400) */
        {"2024-02-29T12:00:00Z", 1709208000},
        {"2030-01-01T00:00:00Z", T2030},
        {"2038-01-19T03:14:08Z", 2147483648}, /* past 32-bit time_t */
        {"2100-01-01T00:00:00Z", 4102444800},
        {"9999-12-31T23:59:59Z", 253402300799},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(otk_rfc3339_parse(good[i].text, &t));
        assert_int_equal(t, good[i].unix_s);
        assert_string_equal(otk_rfc3339_format(t, out), good[i].text);
    }
    static const char *const bad[] = {
        "", "2030-01-01T00:00:00", "2030-01-01 00:00:00Z", "2030-01-01t00:00:00Z",
        "2030-01-01T00:00:00z", "2030-01-01T00:00:00.5Z", "2030-01-01T00:00:00+00:00",
        "1969-12-31T23:59:59Z", "2030-13-01T00:00:00Z", "2030-00-01T00:00:00Z",
        "2030-01-00T00:00:00Z", "2030-01-32T00:00:00Z", "2100-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z", "2030-04-31T00:00:00Z", "2030-01-01T24:00:00Z",
        "2030-01-01T00:60:00Z", "2030-01-01T00:00:60Z", "+030-01-01T00:00:00Z",
        "2030-01-01T00:00:00ZZ", "20x0-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (otk_rfc3339_parse(bad[i], &t)) {
            fail_msg("'%s' accepted", bad[i]);
        }
    }
    assert_false(otk_rfc3339_parse(NULL, &t));
    assert_string_equal(otk_rfc3339_format(-1, out), "?");
    assert_string_equal(otk_rfc3339_format(253402300800, out), "?"); /* year 10000 */
}

static void test_verify(void **state)
{
    (void)state;
    uint8_t key[OTK_MANIFEST_KEY_LEN], key2[OTK_MANIFEST_KEY_LEN], sig[OTK_MANIFEST_SIG_DER_MAX];
    unhex(PUB_HEX, key);
    unhex(PUB2_HEX, key2);
    size_t n = unhex(SIG_OK, sig);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_manifest_verify(TEXT_OK, strlen(TEXT_OK), sig, n, key, &diag), ESP_OK);
    /* Another key; another text (one byte); the other manifest's signature. */
    assert_int_equal(otk_manifest_verify(TEXT_OK, strlen(TEXT_OK), sig, n, key2, &diag),
                     ESP_ERR_INVALID_CRC);
    assert_non_null(strstr(diag.msg, "does not verify under the device's manifest key"));
    char changed[256];
    snprintf(changed, sizeof changed, "%s", TEXT_OK);
    *strchr(changed, '5') = '6'; /* manifest_version 5 -> 6 */
    assert_int_equal(otk_manifest_verify(changed, strlen(changed), sig, n, key, &diag),
                     ESP_ERR_INVALID_CRC);
    assert_int_equal(otk_manifest_verify(TEXT_OK, strlen(TEXT_OK) - 1, sig, n, key, &diag),
                     ESP_ERR_INVALID_CRC);
    uint8_t old[OTK_MANIFEST_SIG_DER_MAX];
    size_t old_len = unhex(SIG_OLD, old);
    assert_int_equal(otk_manifest_verify(TEXT_OK, strlen(TEXT_OK), old, old_len, key, &diag),
                     ESP_ERR_INVALID_CRC);
    assert_int_equal(otk_manifest_verify(TEXT_OLD, strlen(TEXT_OLD), old, old_len, key, &diag),
                     ESP_OK);
    /* A flipped bit in s; a signature that is not DER; r = 0 (out of range). */
    sig[n - 1] ^= 1;
    assert_int_equal(otk_manifest_verify(TEXT_OK, strlen(TEXT_OK), sig, n, key, &diag),
                     ESP_ERR_INVALID_CRC);
    assert_int_equal(otk_manifest_verify(TEXT_OK, strlen(TEXT_OK), (const uint8_t *)"sig", 3,
                                         key, &diag),
                     ESP_ERR_INVALID_CRC);
    assert_non_null(strstr(diag.msg, "not a DER ECDSA signature"));
    uint8_t zero[] = {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01};
    assert_int_equal(otk_manifest_verify(TEXT_OK, strlen(TEXT_OK), zero, sizeof zero, key, &diag),
                     ESP_ERR_INVALID_CRC);
}

static otk_manifest_t *parse(const char *text)
{
    otk_manifest_t *m = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_manifest_parse(text, strlen(text), BASE, &m, &diag) != ESP_OK) {
        fail_msg("%s: %s", text, diag.msg);
    }
    return m;
}

static void expect_fresh(const char *text, const otk_manifest_trust_t *t, esp_err_t want,
                         const char *what)
{
    otk_manifest_t *m = parse(text);
    uint8_t sha[OTK_SHA256_LEN];
    otk_sha256(text, strlen(text), sha);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_manifest_check_fresh(m, sha, t, &diag);
    otk_manifest_free(m);
    if (err != want || strstr(diag.msg, what) == NULL) {
        fail_msg("%s: got %s '%s', want %s '%s'", text, esp_err_to_name(err), diag.msg,
                 esp_err_to_name(want), what);
    }
}

static void test_fresh(void **state)
{
    (void)state;
    uint8_t key[OTK_MANIFEST_KEY_LEN];
    unhex(PUB_HEX, key);
    otk_manifest_trust_t t = {.key = key, .now = T2030 - 1};
    /* No floor yet: any version; the last second before expiry is still good. */
    expect_fresh(TEXT_OK, &t, ESP_OK, "");
    t.now = T2030;
    expect_fresh(TEXT_OK, &t, ESP_ERR_TIMEOUT,
                 "manifest expired at 2030-01-01T00:00:00Z (the device's clock says "
                 "2030-01-01T00:00:00Z)");
    t.now = T2030 - 1;
    /* The floor: below refused; equal only with the same bytes; above fine. */
    t.has_floor = true;
    t.floor = 5;
    otk_sha256(TEXT_OK, strlen(TEXT_OK), t.floor_sha256);
    expect_fresh(TEXT_OK, &t, ESP_OK, "");
    expect_fresh(TEXT_OLD, &t, ESP_ERR_INVALID_VERSION,
                 "manifest_version 4 is below 5, the last one this device accepted: an older "
                 "manifest is refused");
    expect_fresh("{\"manifest_version\": 5, \"expires\": \"2030-01-01T00:00:00Z\", "
                 "\"nodes\": [{\"type\": \"app\", \"uri\": \"other.bin\"}]}",
                 &t, ESP_ERR_INVALID_VERSION, "equals 5, the last one this device accepted: but "
                                              "the bytes differ");
    expect_fresh("{\"manifest_version\": 999999999999999, \"expires\": "
                 "\"2030-01-01T00:00:00Z\", \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
                 &t, ESP_OK, "");
    /* With a key both fields are required; without one nothing is checked. */
    expect_fresh("{\"expires\": \"2030-01-01T00:00:00Z\", \"nodes\": [{\"type\": \"app\", "
                 "\"uri\": \"a\"}]}",
                 &t, ESP_ERR_INVALID_ARG,
                 "manifest.manifest_version: required when the device has a manifest key");
    expect_fresh("{\"manifest_version\": 7, \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
                 &t, ESP_ERR_INVALID_ARG, "manifest.expires: required");
    t.key = NULL;
    expect_fresh(TEXT_OLD, &t, ESP_OK, "");
    expect_fresh("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}", &t, ESP_OK, "");
    t.now = T2030 + 100;
    expect_fresh(TEXT_OK, &t, ESP_OK, "");
    assert_int_equal(otk_manifest_check_fresh(NULL, NULL, NULL, NULL), ESP_OK);
}

/* The fields' own form, whatever the trust. */
static void test_fields(void **state)
{
    (void)state;
    otk_manifest_t *m = parse(TEXT_OK);
    assert_true(m->has_manifest_version && m->has_expires);
    assert_int_equal(m->manifest_version, 5);
    assert_int_equal(m->expires, T2030);
    otk_manifest_free(m);
    m = parse("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}");
    assert_false(m->has_manifest_version || m->has_expires);
    otk_manifest_free(m);
    static const char *const bad[] = {
        "{\"manifest_version\": -1, \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
        "{\"manifest_version\": 1.5, \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
        ("{\"manifest_version\": 1000000000000000, \"nodes\": [{\"type\": \"app\", "
         "\"uri\": \"a\"}]}"),
        "{\"manifest_version\": 1e300, \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
        "{\"manifest_version\": \"5\", \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
        "{\"expires\": 1893456000, \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
        "{\"expires\": \"2030-01-01\", \"nodes\": [{\"type\": \"app\", \"uri\": \"a\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        otk_diag_t diag;
        otk_diag_clear(&diag);
        m = (otk_manifest_t *)1;
        assert_int_equal(otk_manifest_parse(bad[i], strlen(bad[i]), BASE, &m, &diag),
                         ESP_ERR_INVALID_ARG);
        assert_null(m);
        if (strstr(diag.msg, i < 5 ? "manifest.manifest_version: expected a whole number"
                                   : "manifest.expires: expected a UTC time") == NULL) {
            fail_msg("%s: %s", bad[i], diag.msg);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_der),     cmocka_unit_test(test_sig_uri),
        cmocka_unit_test(test_rfc3339), cmocka_unit_test(test_verify),
        cmocka_unit_test(test_fresh),   cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
