/* Anti-rollback in the OTA engine: set_boot refuses (and erases) an app older than the
 * eFuse; confirming raises the eFuse to the running app's secure_version; booting a VALID
 * app raises it too (boot layer, through the device); rollback is possible only to an app
 * the eFuse still allows. */
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

/* The factory app's secure_version is the eFuse's value, so it may boot. */
static otk_flash_t *start(uint32_t efuse)
{
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", otk_boot_efuse_secure_version(efuse, 16));
    otk_device_config_t cfg;
    of_config(&cfg);
    cfg.anti_rollback = true;
    of_start(&dev, f, &cfg, efuse);
    return f;
}

/* Write an image with a given secure_version to a slot through OTA (end accepts any). */
static void stage(const char *label, const char *version, uint32_t secure_version)
{
    size_t len = 0;
    const uint8_t *image = of_image(version, secure_version, &len);
    assert_int_equal(of_update(&dev, of_part(&dev, label), image, len, OTA_SIZE_UNKNOWN, 0x800),
                     ESP_OK);
}

static void test_confirm_raises_efuse(void **state)
{
    (void)state;
    otk_flash_t *f = start(0);
    assert_int_equal(dev.efuse_secure_version, 0);
    of_install(&dev, "ota_0", "v2", 2);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v2");
    /* PENDING_VERIFY: the bootloader does not burn anything for an unconfirmed app. */
    assert_int_equal(dev.efuse_secure_version, 0);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    assert_int_equal(dev.efuse_secure_version, 0x3); /* thermometer code of 2 */
    /* Confirming again writes nothing and burns nothing more. */
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    assert_int_equal(f->stats.program_calls + f->stats.erase_calls, 0);
    assert_int_equal(dev.efuse_secure_version, 0x3);
    otk_flash_destroy(f);
}

static void test_set_boot_refuses_old_secure_version(void **state)
{
    (void)state;
    otk_flash_t *f = start(0x3); /* eFuse at 2 */
    stage("ota_1", "old", 1);
    const esp_partition_t *p = of_part(&dev, "ota_1");
    uint8_t before[0x2000];
    const esp_partition_t *od = of_part(&dev, "otadata");
    assert_int_equal(otk_flash_read(f, od->address, before, sizeof before), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_ERR_OTA_SMALL_SEC_VER);
    /* The whole partition is erased; otadata untouched. */
    assert_true(of_erased(&dev, p, 0, p->size));
    uint8_t after[0x2000];
    assert_int_equal(otk_flash_read(f, od->address, after, sizeof after), ESP_OK);
    assert_memory_equal(before, after, sizeof before);
    /* skip_validate applies the same rule. */
    stage("ota_1", "old", 1);
    assert_int_equal(otk_ota_set_boot_partition_skip_validate(&dev, p), ESP_ERR_OTA_SMALL_SEC_VER);
    assert_true(of_erased(&dev, p, 0, p->size));
    /* skip_validate on an erased slot: no app description -> NOT_FOUND. */
    assert_int_equal(otk_ota_set_boot_partition_skip_validate(&dev, p), ESP_ERR_NOT_FOUND);
    /* Equal to the eFuse is allowed. */
    stage("ota_1", "same", 2);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "same");
    otk_flash_destroy(f);
}

/* The bootloader raises the eFuse when it boots an app already VALID. */
static void test_boot_of_valid_app_raises_efuse(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_put(f, "ota_0", "v3", 3);
    otk_device_config_t cfg;
    of_config(&cfg);
    of_start(&dev, f, &cfg, 0); /* without anti-rollback: only to write otadata */
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0")), ESP_OK);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);

    cfg.anti_rollback = true;
    assert_int_equal(otk_device_init(&dev, f, &cfg, 0x1), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v3");
    assert_int_equal(dev.efuse_secure_version, 0x7);
    assert_int_equal(dev.boot.efuse_change_count, 1);
    otk_flash_destroy(f);
}

/* Rollback target below the eFuse: not possible; the factory app is not considered with
 * anti-rollback. */
static void test_rollback_possible_respects_efuse(void **state)
{
    (void)state;
    otk_flash_t *f = start(0);
    of_install(&dev, "ota_0", "v1", 1);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    assert_int_equal(dev.efuse_secure_version, 0x1);
    of_install(&dev, "ota_1", "v2", 2);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v2");
    assert_true(otk_ota_check_rollback_is_possible(&dev)); /* ota_0 has 1 >= 1 */
    dev.efuse_secure_version = 0x3; /* something burned 2 meanwhile */
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    assert_int_equal(otk_ota_mark_app_invalid_rollback(&dev), ESP_ERR_OTA_ROLLBACK_FAILED);
    otk_flash_destroy(f);

    /* First OTA over factory: without anti-rollback factory would be the way back. */
    f = start(0);
    of_install(&dev, "ota_0", "v1", 1);
    of_reboot(&dev);
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    otk_flash_destroy(f);
}

/* The eFuse field is narrower than the version: confirming reports it. */
static void test_confirm_version_too_large_for_field(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    otk_device_config_t cfg;
    of_config(&cfg);
    cfg.anti_rollback = true;
    cfg.secure_version_bits = 4;
    of_start(&dev, f, &cfg, 0);
    of_install(&dev, "ota_0", "v5", 5);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_ERR_INVALID_ARG);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID); /* otadata was written first */
    assert_int_equal(dev.efuse_secure_version, 0);
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confirm_raises_efuse),
        cmocka_unit_test(test_set_boot_refuses_old_secure_version),
        cmocka_unit_test(test_boot_of_valid_app_raises_efuse),
        cmocka_unit_test(test_rollback_possible_respects_efuse),
        cmocka_unit_test(test_confirm_version_too_large_for_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
