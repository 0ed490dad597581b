/* ADF's version numbers (Vx.y.z packing, strictly as ota_get_version_number), the otakit
 * data image header, and the SHA-256 hex form. */
#include <string.h>

#include "otakit/crc32.h"
#include "otakit/service.h"
#include "test_support.h"

static void test_version_pack(void **state)
{
    (void)state;
    assert_int_equal(otk_version_pack("V1.2.3"), 0x010203);
    assert_int_equal(otk_version_pack("v0.0.0"), 0);
    assert_int_equal(otk_version_pack("V255.255.255"), 0xFFFFFF);
    assert_int_equal(otk_version_pack("V2.0.10"), 0x02000A);
    assert_int_equal(otk_version_pack("V001.002.003"), 0x010203);
    /* Strictly newer is integer order: V1.10.0 > V1.9.255. */
    assert_true(otk_version_pack("V1.10.0") > otk_version_pack("V1.9.255"));
    static const char *const bad[] = {
        "",         "V",        "1.2.3",     "V1.2",     "V1.2.3.4", "V256.0.0", "V1.256.0",
        "V1.2.256", "V1..3",    "V.1.2",     "V1.2.",    "V1.2.3-rc", " V1.2.3", "V1.2.3 ",
        "V-1.2.3",  "V1.2.0x3", "V0001.2.3", "x1.2.3",   "V1,2,3",
        "V1.2.3                                ", /* longer than 32 characters */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (otk_version_pack(bad[i]) != OTK_VERSION_NONE) {
            fail_msg("'%s' packed", bad[i]);
        }
    }
    assert_int_equal(otk_version_pack(NULL), OTK_VERSION_NONE);
}

static void test_version_format(void **state)
{
    (void)state;
    char text[OTK_VERSION_TEXT_MAX + 1];
    assert_string_equal(otk_version_format(0x010203, text), "V1.2.3");
    assert_string_equal(otk_version_format(0xFFFFFF, text), "V255.255.255");
    assert_string_equal(otk_version_format(OTK_VERSION_NONE, text), "none");
    for (int32_t v = 0; v <= 0xFFFFFF; v += 0x10101) {
        assert_int_equal(otk_version_pack(otk_version_format(v, text)), v);
    }
}

static void test_data_header(void **state)
{
    (void)state;
    otk_data_header_t in = {.version = 0x010001, .payload_len = 1234}, out;
    uint8_t b[OTK_DATA_HEADER_LEN];
    otk_data_header_encode(&in, b);
    /* The documented layout, byte by byte. */
    assert_memory_equal(b, "OTKD\x01\xff\xff\xff\x01\x00\x01\x00\xd2\x04\x00\x00", 16);
    for (size_t i = 16; i < 28; i++) {
        assert_int_equal(b[i], 0xFF);
    }
    uint32_t crc = otk_crc32_update(0, b, 28);
    assert_int_equal(b[28] | b[29] << 8 | b[30] << 16 | (uint32_t)b[31] << 24, crc);
    assert_int_equal(otk_data_header_decode(b, sizeof b, &out, NULL), ESP_OK);
    assert_int_equal(out.version, in.version);
    assert_int_equal(out.payload_len, 1234);

    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_data_header_decode(b, sizeof b - 1, &out, NULL), ESP_ERR_NOT_FOUND);
    b[12] ^= 1; /* payload length changed, CRC not */
    assert_int_equal(otk_data_header_decode(b, sizeof b, &out, &diag), ESP_ERR_INVALID_CRC);
    assert_non_null(strstr(diag.msg, "CRC"));
    b[12] ^= 1;
    b[0] = 'X';
    assert_int_equal(otk_data_header_decode(b, sizeof b, &out, NULL), ESP_ERR_NOT_FOUND);
    /* A newer header format is refused, not misread. */
    otk_data_header_encode(&in, b);
    b[4] = 2;
    uint32_t c = otk_crc32_update(0, b, 28);
    for (int i = 0; i < 4; i++) {
        b[28 + i] = (uint8_t)(c >> (8 * i));
    }
    assert_int_equal(otk_data_header_decode(b, sizeof b, &out, &diag), ESP_ERR_INVALID_VERSION);
}

static void test_sha_hex(void **state)
{
    (void)state;
    uint8_t sha[OTK_SHA256_LEN], back[OTK_SHA256_LEN];
    char hex[2 * OTK_SHA256_LEN + 1];
    otk_sha256("abc", 3, sha);
    assert_string_equal(otk_sha256_to_hex(sha, hex),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(otk_sha256_from_hex(hex, strlen(hex), back));
    assert_memory_equal(sha, back, sizeof sha);
    static const char upper[] =
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
    assert_true(otk_sha256_from_hex(upper, 64, back));
    assert_memory_equal(sha, back, sizeof sha);
    assert_false(otk_sha256_from_hex(hex, 63, back));
    hex[5] = 'g';
    assert_false(otk_sha256_from_hex(hex, 64, back));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_pack),
        cmocka_unit_test(test_version_format),
        cmocka_unit_test(test_data_header),
        cmocka_unit_test(test_sha_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
