/* The device: configuration defaults and checks, power-on (boot, the app's table, the
 * running partition), what a reset clears, eFuses carried through boots. */
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

static void test_config_defaults(void **state)
{
    (void)state;
    otk_device_config_t c;
    memset(&c, 0xA5, sizeof c);
    otk_device_config_init(&c);
    assert_true(c.rollback);
    assert_false(c.anti_rollback);
    assert_int_equal(c.chip_id, ESP_CHIP_ID_ESP32);
    assert_int_equal(c.chip_rev, 300);
    assert_int_equal(c.secure_version_bits, 32); /* ESP32's field */
    assert_int_equal(c.table_offset, 0x8000);
    assert_true(c.table_md5);
    assert_int_equal(c.otadata_rule, OTK_OTADATA_RULE_V6);
    otk_device_config_init(NULL); /* no crash */
}

static void test_init_checks(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    otk_device_config_t c;
    of_config(&c);
    assert_int_equal(otk_device_init(NULL, f, &c, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_device_init(&dev, NULL, &c, 0), ESP_ERR_INVALID_ARG);
    c.anti_rollback = true;
    c.rollback = false;
    assert_int_equal(otk_device_init(&dev, f, &c, 0), ESP_ERR_INVALID_ARG);
    c.rollback = true;
    c.secure_version_bits = 33;
    assert_int_equal(otk_device_init(&dev, f, &c, 0), ESP_ERR_INVALID_ARG);
    of_config(&c);
    c.table_offset = 0x8800;
    assert_int_equal(otk_device_init(&dev, f, &c, 0), ESP_ERR_INVALID_ARG);
    c.table_offset = OF_FLASH_SIZE;
    assert_int_equal(otk_device_init(&dev, f, &c, 0), ESP_ERR_INVALID_ARG);
    /* NULL config: the defaults. */
    assert_int_equal(otk_device_init(&dev, f, NULL, 0x5), ESP_OK);
    assert_true(dev.config.rollback);
    assert_int_equal(dev.efuse_secure_version, 0x5);
    assert_ptr_equal(dev.flash, f);
    assert_false(dev.powered);
    assert_null(dev.running);
    assert_int_equal(otk_device_power_on(NULL), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(f);
}

static void test_boot_config_mapping(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    otk_device_config_t c;
    of_config(&c);
    c.anti_rollback = true;
    c.secure_version_bits = 9;
    assert_int_equal(otk_device_init(&dev, f, &c, 0x3), ESP_OK);
    otk_boot_config_t bc;
    otk_device_boot_config(&dev, &bc);
    assert_true(bc.rollback);
    assert_true(bc.anti_rollback);
    assert_int_equal(bc.chip_id, OF_CHIP);
    assert_true(bc.check_chip_rev);
    assert_int_equal(bc.chip_rev, 4);
    assert_int_equal(bc.secure_version_efuse, 0x3);
    assert_int_equal(bc.secure_version_bits, 9);
    assert_false(bc.factory_reset);
    assert_false(bc.test_app);
    otk_flash_destroy(f);
}

static void test_power_on_factory(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "1.0", 0);
    of_start(&dev, f, NULL, 0);
    assert_true(dev.powered);
    assert_int_equal(dev.boot_count, 1);
    assert_int_equal(dev.boot.index, OTK_BOOT_INDEX_FACTORY);
    assert_string_equal(dev.running->label, "factory");
    /* running points into the app's table. */
    assert_true(dev.running >= &dev.table.parts[0] &&
                dev.running < &dev.table.parts[dev.table.count]);
    assert_ptr_equal(otk_ota_get_running_partition(&dev), dev.running);
    const esp_app_desc_t *app = otk_device_running_app(&dev);
    assert_non_null(app);
    assert_string_equal(app->version, "1.0");
    assert_string_equal(app->project_name, "otatest");
    assert_null(otk_device_running_app(NULL));
    of_reboot(&dev);
    assert_int_equal(dev.boot_count, 2);
    otk_flash_destroy(f);
}

static void test_power_on_nothing_bootable(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    otk_device_config_t c;
    of_config(&c);
    assert_int_equal(otk_device_init(&dev, f, &c, 0), ESP_OK);
    assert_int_equal(otk_device_power_on(&dev), ESP_ERR_NOT_FOUND);
    assert_int_equal(dev.boot.stage, OTK_BOOT_STAGE_LOAD);
    assert_null(dev.running);
    assert_null(otk_device_running_app(&dev));
    /* A chip that is not the images': nothing boots either. */
    of_put(f, "factory", "1.0", 0);
    dev.config.chip_id = ESP_CHIP_ID_ESP32;
    assert_int_equal(otk_device_power_on(&dev), ESP_ERR_NOT_FOUND);
    dev.config.chip_id = OF_CHIP;
    assert_int_equal(otk_device_power_on(&dev), ESP_OK);
    otk_flash_destroy(f);
}

/* The bootloader accepts a table without MD5; the app (CONFIG_PARTITION_TABLE_MD5) not. */
static void test_table_md5_required_by_app(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "1.0", 0);
    otk_partition_table_t t;
    assert_int_equal(otk_partition_table_load(f, OF_TABLE_OFFSET, OTK_PARTITION_RULES_APP, &t,
                                              NULL),
                     ESP_OK);
    assert_int_equal(otk_partition_table_write(f, OF_TABLE_OFFSET, &t, false, NULL), ESP_OK);
    otk_device_config_t c;
    of_config(&c);
    assert_int_equal(otk_device_init(&dev, f, &c, 0), ESP_OK);
    assert_int_equal(otk_device_power_on(&dev), ESP_ERR_NOT_FOUND);
    assert_int_equal(dev.boot.err, ESP_OK); /* the bootloader did start it */
    assert_null(dev.running);
    c.table_md5 = false;
    assert_int_equal(otk_device_init(&dev, f, &c, 0), ESP_OK);
    assert_int_equal(otk_device_power_on(&dev), ESP_OK);
    assert_string_equal(dev.running->label, "factory");
    otk_flash_destroy(f);
}

/* RAM does not survive a reset: open handles, the restart request, what was verified. */
static void test_reset_clears_ram(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "1.0", 0);
    of_start(&dev, f, NULL, 0);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), OTA_SIZE_UNKNOWN, &h), ESP_OK);
    assert_int_equal(h, 1);
    size_t len = 0;
    const uint8_t *image = of_image("2.0", 0, &len);
    assert_int_equal(otk_ota_write(&dev, h, image, len), ESP_OK);
    dev.restart_requested = true;
    of_reboot(&dev);
    assert_int_equal(of_open_handles(&dev), 0);
    assert_false(dev.restart_requested);
    assert_false(dev.verified_valid);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_NOT_FOUND);
    /* Decision: handle numbers go on counting, so the stale handle 1 never names the new
     * update. */
    esp_ota_handle_t h2 = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), OTA_SIZE_UNKNOWN, &h2), ESP_OK);
    assert_int_equal(h2, 2);
    assert_int_equal(otk_ota_write(&dev, h, image, len), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(f);
}

/* Power-on gives the flash power back after a cut. */
static void test_power_on_after_cut(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "1.0", 0);
    of_start(&dev, f, NULL, 0);
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_BEFORE, 3);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), 0, &h), ESP_ERR_FLASH_OP_FAIL);
    assert_false(otk_flash_is_powered(f));
    of_reboot(&dev);
    assert_true(otk_flash_is_powered(f));
    assert_string_equal(dev.running->label, "factory");
    otk_flash_destroy(f);
}

/* Two devices in one process, each on its own flash. */
static void test_two_devices(void **state)
{
    (void)state;
    static otk_device_t other;
    otk_flash_t *f1 = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    otk_flash_t *f2 = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    of_put(f1, "factory", "one", 0);
    of_put(f2, "ota_0", "two", 0);
    of_start(&dev, f1, NULL, 0);
    of_start(&other, f2, NULL, 0);
    assert_string_equal(of_running_version(&dev), "one");
    assert_string_equal(of_running_version(&other), "two");
    of_install(&dev, "ota_0", "one-b", 0);
    of_reboot(&dev);
    of_reboot(&other);
    assert_string_equal(of_running_version(&dev), "one-b");
    assert_string_equal(of_running_version(&other), "two");
    otk_flash_destroy(f1);
    otk_flash_destroy(f2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_init_checks),
        cmocka_unit_test(test_boot_config_mapping),
        cmocka_unit_test(test_power_on_factory),
        cmocka_unit_test(test_power_on_nothing_bootable),
        cmocka_unit_test(test_table_md5_required_by_app),
        cmocka_unit_test(test_reset_clears_ram),
        cmocka_unit_test(test_power_on_after_cut),
        cmocka_unit_test(test_two_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
