/* The device file: defaults, a format -> parse round trip, every error with its line
 * number, and load/save on real files (missing file = new device, atomic replace). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/boot.h"
#include "otakit/device_store.h"
#include "test_support.h"

static esp_err_t parse(const char *text, otk_device_store_t *s, otk_diag_t *diag)
{
    otk_device_store_init(s);
    otk_diag_clear(diag);
    return otk_device_store_parse(text, strlen(text), s, diag);
}

/* The error for text, which must name `line` and contain `what`. */
static void expect_error(const char *text, unsigned line, const char *what)
{
    otk_device_store_t s;
    otk_diag_t diag;
    assert_int_equal(parse(text, &s, &diag), ESP_ERR_INVALID_ARG);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "line %u: ", line);
    if (strncmp(diag.msg, prefix, strlen(prefix)) != 0 || strstr(diag.msg, what) == NULL) {
        fail_msg("for %s: got '%s', wanted '%s...%s'", text, diag.msg, prefix, what);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    otk_device_store_t s;
    otk_device_config_t c;
    otk_device_store_init(&s);
    otk_device_config_init(&c);
    assert_memory_equal(&s.config, &c, sizeof c);
    assert_int_equal(s.efuse_secure_version, 0);
    assert_int_equal(s.selftest, OTK_SELFTEST_AUTO);

    otk_diag_t diag;
    assert_int_equal(parse("", &s, &diag), ESP_OK);
    assert_memory_equal(&s.config, &c, sizeof c);
    assert_int_equal(parse("\n# only a comment\n   \n\t\n", &s, &diag), ESP_OK);
    assert_memory_equal(&s.config, &c, sizeof c);
}

static void test_round_trip(void **state)
{
    (void)state;
    otk_device_store_t a, b;
    otk_device_store_init(&a);
    a.config.chip_id = ESP_CHIP_ID_ESP32C3;
    a.config.chip_rev = 4;
    a.config.rollback = true;
    a.config.anti_rollback = true;
    a.config.secure_version_bits = 7;
    a.config.table_offset = 0x10000;
    a.config.table_md5 = false;
    a.config.otadata_rule = OTK_OTADATA_RULE_V5;
    a.selftest = OTK_SELFTEST_FAIL;
    a.efuse_secure_version = 0x0000001F;
    char text[OTK_DEVICE_STORE_TEXT_MAX];
    size_t len = 0;
    assert_int_equal(otk_device_store_format(&a, text, sizeof text, &len), ESP_OK);
    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, "chip                  = esp32c3"));
    assert_non_null(strstr(text, "efuse_secure_version  = 0x0000001f"));
    otk_diag_t diag;
    otk_device_store_init(&b);
    assert_int_equal(otk_device_store_parse(text, len, &b, &diag), ESP_OK);
    assert_memory_equal(&a.config, &b.config, sizeof a.config);
    assert_int_equal(b.selftest, OTK_SELFTEST_FAIL);
    assert_int_equal(b.efuse_secure_version, 0x1F);

    /* Too small a buffer is refused, not cut. */
    assert_int_equal(otk_device_store_format(&a, text, 100, &len), ESP_ERR_INVALID_SIZE);
}

static void test_syntax_variants(void **state)
{
    (void)state;
    otk_device_store_t s;
    otk_diag_t diag;
    /* No spaces, CRLF, tabs, trailing comments, no final newline, hex and decimal. */
    const char *text = "rollback=off\r\n\tchip_rev\t=\t101  # v1.1\r\n"
                       "efuse_secure_version = 0X7\nselftest = pass";
    assert_int_equal(parse(text, &s, &diag), ESP_OK);
    assert_false(s.config.rollback);
    assert_int_equal(s.config.chip_rev, 101);
    assert_int_equal(s.efuse_secure_version, 7);
    assert_int_equal(s.selftest, OTK_SELFTEST_PASS);

    /* A chip without an explicit width gets the chip's width; with one, it is kept. */
    assert_int_equal(parse("chip = esp32c2\n", &s, &diag), ESP_OK);
    assert_int_equal(s.config.chip_id, ESP_CHIP_ID_ESP32C2);
    assert_int_equal(s.config.secure_version_bits,
                     otk_boot_efuse_default_bits(ESP_CHIP_ID_ESP32C2));
    assert_int_equal(parse("secure_version_bits = 3\nchip = esp32s3\n", &s, &diag), ESP_OK);
    assert_int_equal(s.config.secure_version_bits, 3);
}

static void test_errors_name_the_line(void **state)
{
    (void)state;
    expect_error("# header\n\ncolour = blue\n", 3, "unknown key 'colour'");
    expect_error("rollback = maybe\n", 1, "rollback = maybe: expected on or off");
    expect_error("chip = esp8266\n", 1, "expected a chip name");
    expect_error("rollback = on\nrollback = off\n", 2, "rollback is set twice");
    expect_error("\nrollback\n", 2, "expected key = value");
    expect_error("rollback =\n", 1, "rollback: missing value");
    expect_error("chip_rev = 65536\n", 1, "0..65535");
    expect_error("chip_rev = -1\n", 1, "chip_rev = -1");
    expect_error("chip_rev = 12abc\n", 1, "chip_rev = 12abc");
    expect_error("secure_version_bits = 0\n", 1, "expected 1..32");
    expect_error("secure_version_bits = 33\n", 1, "expected 1..32");
    expect_error("table_offset = 0x8100\n", 1, "multiple of 0x1000");
    expect_error("table_offset = 0\n", 1, "multiple of 0x1000");
    expect_error("otadata_rule = v4\n", 1, "expected v6 or v5");
    expect_error("selftest = sometimes\n", 1, "expected auto, pass or fail");
    expect_error("efuse_secure_version = 0x100000000\n", 1, "32-bit bit pattern");
    expect_error("efuse_secure_version = 0x\n", 1, "32-bit bit pattern");
    expect_error("x\n\n\nrollback = on # fine\nrollback2 = on\n", 1, "expected key = value");
    expect_error("rollback = off\nanti_rollback = on\n", 2, "needs rollback = on");
    expect_error("anti_rollback = on\nrollback = off\n", 1, "needs rollback = on");

    /* A NUL byte, an overlong line, an overlong value. */
    otk_device_store_t s;
    otk_diag_t diag;
    otk_device_store_init(&s);
    static const char nul[] = "chip = esp32\nrollback = o\0n\n";
    assert_int_equal(otk_device_store_parse(nul, sizeof nul - 1, &s, &diag), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, "line 2: a NUL byte"));
    char longline[OTK_DEVICE_STORE_LINE_MAX + 20];
    memset(longline, ' ', sizeof longline);
    memcpy(longline, "rollback = on", 13);
    longline[sizeof longline - 1] = '\0';
    expect_error(longline, 1, "longer than 256 bytes");
    /* Values go up to 128 characters (a manifest key in hex). */
    char longvalue[160];
    snprintf(longvalue, sizeof longvalue, "chip = %0129d\n", 7);
    expect_error(longvalue, 1, "overlong value");
    assert_int_equal(otk_device_store_parse(NULL, 3, &s, &diag), ESP_ERR_INVALID_ARG);
}

/* The manifest key (signed manifests): absent in a file written before it existed, kept
 * as 128 hex digits, "none" clears it, anything else names the line. */
static void test_manifest_key(void **state)
{
    (void)state;
    otk_device_store_t s, b;
    otk_diag_t diag;
    assert_int_equal(parse("chip = esp32\nrollback = on\n", &s, &diag), ESP_OK);
    assert_false(s.has_manifest_key);
    char line[200], hex[129];
    static const char digits[] = "0123456789ABCDEF"; /* upper case is accepted */
    for (size_t i = 0; i < 64; i++) {
        hex[2 * i] = digits[((i * 7 + 1) >> 4) & 0xF];
        hex[2 * i + 1] = digits[(i * 7 + 1) & 0xF];
    }
    hex[128] = '\0';
    snprintf(line, sizeof line, "manifest_key = %s\n", hex);
    assert_int_equal(parse(line, &s, &diag), ESP_OK);
    assert_true(s.has_manifest_key);
    assert_int_equal(s.manifest_key[0], 1);
    assert_int_equal(s.manifest_key[63], (uint8_t)(63 * 7 + 1));
    char text[OTK_DEVICE_STORE_TEXT_MAX];
    size_t len = 0;
    assert_int_equal(otk_device_store_format(&s, text, sizeof text, &len), ESP_OK);
    assert_non_null(strstr(text, "manifest_key          = 01080f16"));
    otk_device_store_init(&b);
    assert_int_equal(otk_device_store_parse(text, len, &b, &diag), ESP_OK);
    assert_true(b.has_manifest_key);
    assert_memory_equal(b.manifest_key, s.manifest_key, sizeof s.manifest_key);
    otk_device_store_init(&b);
    assert_int_equal(otk_device_store_format(&b, text, sizeof text, &len), ESP_OK);
    assert_non_null(strstr(text, "manifest_key          = none"));
    assert_int_equal(parse("manifest_key = none\n", &s, &diag), ESP_OK);
    assert_false(s.has_manifest_key);
    expect_error("manifest_key = abcd\n", 1, "expected none or 128 hex digits");
    hex[5] = 'g';
    snprintf(line, sizeof line, "chip = esp32\nmanifest_key = %s\n", hex);
    expect_error(line, 2, "expected hex digits only");
    expect_error("manifest_key = none\nmanifest_key = none\n", 2, "set twice");
}

static void test_path(void **state)
{
    (void)state;
    char out[32];
    assert_true(otk_device_store_path("dir/dev.bin", out, sizeof out));
    assert_string_equal(out, "dir/dev.bin.device");
    assert_false(otk_device_store_path("a-very-long-name-for-a-flash.bin", out, sizeof out));
    assert_false(otk_device_store_path(NULL, out, sizeof out));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_save(void **state)
{
    (void)state;
    const char *dir = ts_make_temp_dir();
    char flash[512], store_path[600];
    snprintf(flash, sizeof flash, "%s/dev.bin", dir);
    snprintf(store_path, sizeof store_path, "%s/dev.bin.device", dir);

    otk_device_store_t s;
    otk_diag_t diag;
    bool existed = true;
    assert_int_equal(otk_device_store_load(flash, &s, &existed, &diag), ESP_OK);
    assert_false(existed);
    assert_true(s.config.rollback);
    assert_null(fopen(store_path, "rb")); /* loading does not create it */

    s.config.anti_rollback = true;
    s.efuse_secure_version = 0x3;
    s.selftest = OTK_SELFTEST_FAIL;
    assert_int_equal(otk_device_store_save(flash, &s, &diag), ESP_OK);
    otk_device_store_t t;
    assert_int_equal(otk_device_store_load(flash, &t, &existed, &diag), ESP_OK);
    assert_true(existed);
    assert_true(t.config.anti_rollback);
    assert_int_equal(t.efuse_secure_version, 3);
    assert_int_equal(t.selftest, OTK_SELFTEST_FAIL);

    /* A bad line: the message names the file and the line, compiler style. */
    write_text(store_path, "chip = esp32\n# fine\nrollback = perhaps\n");
    assert_int_equal(otk_device_store_load(flash, &t, &existed, &diag), ESP_ERR_INVALID_ARG);
    char want[700];
    snprintf(want, sizeof want, "%s:3: rollback = perhaps: expected on or off", store_path);
    assert_string_equal(diag.msg, want);
    assert_false(existed);

    /* Larger than any device file. */
    char *big = malloc(OTK_DEVICE_STORE_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, '\n', OTK_DEVICE_STORE_FILE_MAX + 1);
    big[OTK_DEVICE_STORE_FILE_MAX + 1] = '\0';
    write_text(store_path, big);
    free(big);
    assert_int_equal(otk_device_store_load(flash, &t, NULL, &diag), ESP_ERR_INVALID_SIZE);

    /* Saving replaces it whole, and leaves no temporary file behind. */
    assert_int_equal(otk_device_store_save(flash, &s, &diag), ESP_OK);
    assert_int_equal(otk_device_store_load(flash, &t, NULL, &diag), ESP_OK);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", store_path);
    assert_null(fopen(tmp, "rb"));

    /* A directory that does not exist. */
    char nowhere[600];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/dev.bin", dir);
    assert_int_equal(otk_device_store_save(nowhere, &s, &diag), ESP_FAIL);
    assert_non_null(strstr(diag.msg, "cannot create"));
    ts_cleanup_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_syntax_variants),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_manifest_key),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_load_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
