/* Anti-rollback (spec §4.1 step 6, §4.4): the thermometer-coded eFuse, candidates refused
 * for an old secure_version, and the eFuse raised when a confirmed app boots. */
#include <string.h>

#include "boot_fixture.h"
#include "test_support.h"

static void anti_cfg(otk_boot_config_t *cfg, uint32_t field, uint8_t bits)
{
    otk_boot_config_init(cfg);
    cfg->anti_rollback = true;
    cfg->secure_version_efuse = field;
    cfg->secure_version_bits = bits;
}

static void test_efuse_value_is_popcount(void **state)
{
    (void)state;
    assert_int_equal(otk_boot_efuse_secure_version(0, 16), 0);
    assert_int_equal(otk_boot_efuse_secure_version(0x1, 16), 1);
    assert_int_equal(otk_boot_efuse_secure_version(0xB, 16), 3);    /* 0b1011 */
    assert_int_equal(otk_boot_efuse_secure_version(0xF0, 4), 0);    /* above the width */
    assert_int_equal(otk_boot_efuse_secure_version(0xFFFFFFFF, 32), 32);
    assert_int_equal(otk_boot_efuse_secure_version(0xFFFFFFFF, 9), 9);
    assert_int_equal(otk_boot_efuse_secure_version(0xFF, 0), 0);    /* no field */
    assert_true(otk_boot_efuse_check(0x3, 16, 2));
    assert_true(otk_boot_efuse_check(0x3, 16, 7));
    assert_false(otk_boot_efuse_check(0x3, 16, 1));
    assert_int_equal(otk_boot_efuse_default_bits(ESP_CHIP_ID_ESP32), 32);
    assert_int_equal(otk_boot_efuse_default_bits(ESP_CHIP_ID_ESP32C2), 4);
    assert_int_equal(otk_boot_efuse_default_bits(ESP_CHIP_ID_ESP32C5), 9);
    assert_int_equal(otk_boot_efuse_default_bits(ESP_CHIP_ID_ESP32C3), 16);
}

static void test_efuse_raise_burns_bits(void **state)
{
    (void)state;
    uint32_t field = 0;
    assert_int_equal(otk_boot_efuse_raise(&field, 16, 3), ESP_OK);
    assert_int_equal(field, 0x7);
    assert_int_equal(otk_boot_efuse_raise(&field, 16, 5), ESP_OK);
    assert_int_equal(field, 0x1F); /* bits 3 and 4 added; 0..2 kept */
    assert_int_equal(otk_boot_efuse_raise(&field, 16, 2), ESP_OK);
    assert_int_equal(field, 0x1F); /* never lowered */
    assert_int_equal(otk_boot_efuse_raise(&field, 16, 5), ESP_OK);
    assert_int_equal(field, 0x1F);

    /* A field not written by this rule: fill the lowest clear bits, popcount = version. */
    field = 0x5; /* 0b101 = 2 */
    assert_int_equal(otk_boot_efuse_raise(&field, 16, 3), ESP_OK);
    assert_int_equal(field, 0x7);

    /* Bits above the width belong to another field: kept, not counted. */
    field = 0x30; /* width 4: value 0 */
    assert_int_equal(otk_boot_efuse_raise(&field, 4, 4), ESP_OK);
    assert_int_equal(field, 0x3F);

    /* Above the field's width: refused, nothing burned. */
    field = 0x3;
    assert_int_equal(otk_boot_efuse_raise(&field, 4, 5), ESP_ERR_INVALID_ARG);
    assert_int_equal(field, 0x3);
    assert_int_equal(otk_boot_efuse_raise(&field, 0, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_boot_efuse_raise(&field, 33, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_boot_efuse_raise(NULL, 16, 1), ESP_ERR_INVALID_ARG);

    field = 0;
    assert_int_equal(otk_boot_efuse_raise(&field, 32, 32), ESP_OK);
    assert_int_equal(field, 0xFFFFFFFF);
}

/* The newer entry's app is older than the eFuse: it is not a candidate. */
static void test_entry_below_efuse_not_selected(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_put_app(f, "ota_0", "v2", 2);
    bf_put_app(f, "ota_1", "v1", 1);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_VALID);
    otk_boot_config_t cfg;
    anti_cfg(&cfg, 0x3, 16); /* eFuse = 2 */
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->selected_index, 0);
    assert_string_equal(r->why, "otadata seq 1 selects ota_0 (otadata[0], VALID); seq 2 (ota_1) "
                                "refused: secure_version 1 < eFuse 2");
    assert_int_equal(r->efuse_change_count, 0);
    assert_int_equal(cfg.secure_version_efuse, 0x3);

    /* Without anti-rollback the same otadata runs ota_1. */
    r = bf_boot(f, NULL);
    assert_int_equal(r->index, 1);
    bf_destroy(f);
}

static void test_valid_selection_raises_efuse(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_put_app(f, "ota_0", "v1", 1);
    bf_put_app(f, "ota_1", "v3", 3);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_NEW);
    otk_boot_config_t cfg;
    anti_cfg(&cfg, 0x1, 16);

    /* NEW: trial boot, PENDING_VERIFY, eFuse untouched (the app may still roll back). */
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->index, 1);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_PENDING_VERIFY);
    assert_int_equal(r->efuse_change_count, 0);
    assert_int_equal(cfg.secure_version_efuse, 0x1);

    /* The app confirms; the next boot burns the eFuse up to 3. */
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_VALID);
    r = bf_boot(f, &cfg);
    assert_int_equal(r->index, 1);
    assert_int_equal(r->efuse_change_count, 1);
    assert_int_equal(r->efuse_changes[0].version, 3);
    assert_int_equal(r->efuse_changes[0].field_before, 0x1);
    assert_int_equal(r->efuse_changes[0].field_after, 0x7);
    assert_int_equal(r->efuse_changes[0].err, ESP_OK);
    assert_int_equal(cfg.secure_version_efuse, 0x7);

    /* ota_0 (secure_version 1) can no longer run, even as a fallback. */
    bf_corrupt(f, "ota_1");
    r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_ERR_NOT_FOUND);
    int i0 = bf_refusal_of(r, 0);
    assert_true(i0 >= 0);
    assert_int_equal(r->refused[i0].err, ESP_ERR_OTA_SMALL_SEC_VER);
    assert_string_equal(r->refused[i0].reason, "secure_version 1 < eFuse 3");
    int i1 = bf_refusal_of(r, 1);
    assert_true(i1 >= 0);
    assert_int_equal(r->refused[i1].err, ESP_ERR_IMAGE_INVALID);
    bf_destroy(f);
}

static void test_version_above_field_width(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_put_app(f, "ota_0", "v5", 5);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    otk_boot_config_t cfg;
    anti_cfg(&cfg, 0x3, 4); /* a 4-bit field cannot hold 5 */
    bf_log_start();
    otk_boot_result_t *r = bf_boot(f, &cfg);
    bf_log_stop();
    /* The app still runs (ESP-IDF ignores the failed burn); the eFuse is unchanged. */
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->efuse_change_count, 1);
    assert_int_equal(r->efuse_changes[0].err, ESP_ERR_INVALID_ARG);
    assert_int_equal(r->efuse_changes[0].field_after, 0x3);
    assert_int_equal(cfg.secure_version_efuse, 0x3);
    assert_true(bf_log_has("efuse: Max secure version is 4. Given 5 version can not be written."));
    bf_destroy(f);
}

/* Blank otadata with anti-rollback: the walk boots the first slot and the initial entry is
 * written, with the eFuse raised to that app. */
static void test_initial_contents_raise_efuse(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_put_app(f, "ota_0", "v2", 2);
    otk_boot_config_t cfg;
    anti_cfg(&cfg, 0, 16);
    bf_log_start();
    otk_boot_result_t *r = bf_boot(f, &cfg);
    bf_log_stop();
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_FACTORY);
    assert_int_equal(r->index, 0);
    assert_true(r->initial_contents);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_INITIAL);
    esp_ota_select_entry_t s0 = bf_entry(1, ESP_OTA_IMG_VALID);
    bf_assert_sector(f, 0, &s0);
    assert_int_equal(cfg.secure_version_efuse, 0x3);
    assert_true(bf_log_has("boot: otadata[0..1] in initial state"));
    assert_true(bf_log_has("boot: Set actual ota_seq=1 in otadata[0]"));
    assert_true(bf_log_has("boot: Secure version (from eFuse) = 0"));
    bf_destroy(f);
}

/* Both entries refused by anti-rollback: nothing selected, and the walk refuses them too. */
static void test_all_entries_below_efuse(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_VALID);
    bf_put_app(f, "factory", "factory", 4);
    otk_boot_config_t cfg;
    anti_cfg(&cfg, 0xF, 16); /* 4; every OTA app is at 0 */
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_FACTORY);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
    assert_non_null(strstr(r->why, "no otadata entry is valid and passes anti-rollback"));
    assert_non_null(strstr(r->why, ": factory"));
    bf_destroy(f);
}

static void test_anti_rollback_needs_rollback(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    otk_boot_config_t cfg;
    anti_cfg(&cfg, 0, 16);
    cfg.rollback = false;
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_ERR_INVALID_ARG);
    assert_int_equal(r->stage, OTK_BOOT_STAGE_ARGS);
    anti_cfg(&cfg, 0, 0);
    r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_ERR_INVALID_ARG);
    bf_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_efuse_value_is_popcount),
        cmocka_unit_test(test_efuse_raise_burns_bits),
        cmocka_unit_test(test_entry_below_efuse_not_selected),
        cmocka_unit_test(test_valid_selection_raises_efuse),
        cmocka_unit_test(test_version_above_field_width),
        cmocka_unit_test(test_initial_contents_raise_efuse),
        cmocka_unit_test(test_all_entries_below_efuse),
        cmocka_unit_test(test_anti_rollback_needs_rollback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
