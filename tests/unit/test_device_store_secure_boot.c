/* The device file's Secure Boot v2 keys (otakit/device_store.h): secure_boot and
 * key_digest0..2 parse, format back to the same values, reject what is not a digest,
 * refuse secure boot without a key, and files written before these keys existed still
 * load with secure boot off. */
#include <string.h>

#include "otakit/device_store.h"
#include "sig_fixture.h"
#include "test_support.h"

static esp_err_t parse(const char *text, otk_device_store_t *s, otk_diag_t *why)
{
    otk_device_store_init(s);
    otk_diag_clear(why);
    return otk_device_store_parse(text, strlen(text), s, why);
}

static void expect_error(const char *text, const char *reason)
{
    otk_device_store_t s;
    otk_diag_t why;
    assert_int_equal(parse(text, &s, &why), ESP_ERR_INVALID_ARG);
    if (strstr(why.msg, reason) == NULL) {
        fail_msg("'%s' lacks '%s'", why.msg, reason);
    }
}

static void keys_round_trip(void **state)
{
    (void)state;
    otk_device_store_t s, back;
    otk_diag_t why;
    const char *text = "secure_boot = on\n"
                       "key_digest0 = " SF_DIGEST_RSA_A "\n"
                       "key_digest2 = " SF_DIGEST_EC_B "  # the second key\n";
    assert_int_equal(parse(text, &s, &why), ESP_OK);
    const otk_image_secure_boot_t *sb = &s.config.secure_boot;
    assert_true(sb->enabled);
    uint8_t want[OTK_SHA256_LEN];
    sf_unhex(SF_DIGEST_RSA_A, want, sizeof want);
    assert_memory_equal(sb->key_digest[0], want, sizeof want);
    assert_true(otk_image_sig_digest_blank(sb->key_digest[1]));
    sf_unhex(SF_DIGEST_EC_B, want, sizeof want);
    assert_memory_equal(sb->key_digest[2], want, sizeof want);

    char out[OTK_DEVICE_STORE_TEXT_MAX];
    size_t len = 0;
    assert_int_equal(otk_device_store_format(&s, out, sizeof out, &len), ESP_OK);
    assert_non_null(strstr(out, "\nsecure_boot           = on "));
    assert_non_null(strstr(out, "\nkey_digest0           = " SF_DIGEST_RSA_A " #"));
    assert_non_null(strstr(out, "\nkey_digest1           = none "));
    assert_non_null(strstr(out, "\nkey_digest2           = " SF_DIGEST_EC_B " #"));
    otk_device_store_init(&back);
    assert_int_equal(otk_device_store_parse(out, len, &back, &why), ESP_OK);
    assert_memory_equal(&back.config.secure_boot, sb, sizeof *sb);
}

static void defaults_and_old_files(void **state)
{
    (void)state;
    otk_device_store_t s;
    otk_diag_t why;
    /* A file from before secure boot existed: every key it has, none of the new ones. */
    assert_int_equal(parse("chip = esp32c3\nrollback = on\nefuse_secure_version = 0x1\n", &s,
                           &why),
                     ESP_OK);
    assert_false(s.config.secure_boot.enabled);
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        assert_true(otk_image_sig_digest_blank(s.config.secure_boot.key_digest[i]));
    }
    /* Explicit "none" and "off" are the defaults too. */
    assert_int_equal(parse("secure_boot = off\nkey_digest1 = none\n", &s, &why), ESP_OK);
    assert_false(s.config.secure_boot.enabled);
}

static void bad_values(void **state)
{
    (void)state;
    expect_error("key_digest0 = 1234\n", "line 1: key_digest0 = 1234: expected none or a "
                                         "Secure Boot v2 key digest: 64 hex digits");
    expect_error("key_digest1 = " SF_DIGEST_RSA_A "0\n", "expected none or a Secure Boot v2");
    char upper_g[] = "key_digest2 = " SF_DIGEST_RSA_A "\n";
    upper_g[20] = 'g';
    expect_error(upper_g, "line 1: key_digest2 = ");
    expect_error("key_digest0 = 0000000000000000000000000000000000000000000000000000000000000000"
                 "\n",
                 "not all zero");
    expect_error("secure_boot = yes\n", "secure_boot = yes: expected on or off");
    expect_error("key_digest0 = none\nkey_digest0 = none\n", "line 2: key_digest0 is set twice");
    expect_error("key_digest3 = none\n", "unknown key 'key_digest3'");
    /* On without any key: nothing could ever boot. */
    expect_error("secure_boot = on\n", "secure_boot = on needs a trusted key");
    expect_error("secure_boot = on\nkey_digest1 = none\n", "needs a trusted key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_round_trip),
        cmocka_unit_test(defaults_and_old_files),
        cmocka_unit_test(bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
