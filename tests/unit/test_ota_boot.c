/* esp_ota_set_boot_partition (and _skip_validate), esp_ota_get_boot_partition,
 * esp_ota_get_running_partition, esp_ota_get_next_update_partition,
 * esp_ota_get_app_partition_count. */
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

static void snapshot(otk_flash_t *f, uint8_t out[0x2000])
{
    assert_int_equal(otk_flash_read(f, of_part(&dev, "otadata")->address, out, 0x2000), ESP_OK);
}

static void test_set_boot_errors(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    uint8_t before[0x2000], after[0x2000];
    snapshot(f, before);
    assert_int_equal(otk_ota_set_boot_partition(&dev, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_set_boot_partition(NULL, dev.running), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_set_boot_partition_skip_validate(&dev, NULL), ESP_ERR_INVALID_ARG);
    /* Decision: a partition that is not in the table is NOT_FOUND. */
    esp_partition_t bogus = *of_part(&dev, "ota_0");
    bogus.address = 0x60000;
    assert_int_equal(otk_ota_set_boot_partition(&dev, &bogus), ESP_ERR_NOT_FOUND);
    /* An empty slot does not verify. */
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0")),
                     ESP_ERR_OTA_VALIDATE_FAILED);
    /* A data partition: the verification fails first (ESP-IDF's order)... */
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "spare")),
                     ESP_ERR_OTA_VALIDATE_FAILED);
    /* ...and without it, the type check. */
    assert_int_equal(otk_ota_set_boot_partition_skip_validate(&dev, of_part(&dev, "spare")),
                     ESP_ERR_INVALID_ARG);
    snapshot(f, after);
    assert_memory_equal(before, after, sizeof before);
    /* skip_validate selects a slot whatever it holds. */
    assert_int_equal(otk_ota_set_boot_partition_skip_validate(&dev, of_part(&dev, "ota_1")),
                     ESP_OK);
    of_assert_entry(&dev, 0, 2, ESP_OTA_IMG_NEW);
    otk_flash_destroy(f);
}

static void test_set_boot_factory_erases_otadata(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    of_install(&dev, "ota_0", "v1", 0);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    of_install(&dev, "ota_1", "v2", 0);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "factory")), ESP_OK);
    of_assert_erased_sector(&dev, 0);
    of_assert_erased_sector(&dev, 1);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "factory"));
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "factory");
    otk_flash_destroy(f);
}

/* Decision: the test app is not an OTA slot (ESP-IDF would select ota_0 for it). */
static void test_set_boot_test_subtype(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash("otadata, data, ota,     0xd000,  0x2000\n"
                              "factory, app,  factory, 0x10000, 0x10000\n"
                              "ota_0,   app,  ota_0,   0x20000, 0x10000\n"
                              "test,    app,  test,    0x30000, 0x10000\n",
                              OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_put(f, "test", "test", 0);
    of_start(&dev, f, NULL, 0);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "test")),
                     ESP_ERR_INVALID_ARG);
    of_assert_erased_sector(&dev, 0);
    of_assert_erased_sector(&dev, 1);
    otk_flash_destroy(f);
}

static void test_set_boot_without_otadata(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash("factory, app, factory, 0x10000, 0x10000\n"
                              "ota_0,   app, ota_0,   0x20000, 0x10000\n",
                              OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_put(f, "ota_0", "v1", 0);
    of_start(&dev, f, NULL, 0);
    assert_string_equal(dev.running->label, "factory");
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0")), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "factory")),
                     ESP_ERR_NOT_FOUND);
    /* Decision: without otadata the bootloader starts the factory app; say so (ESP-IDF:
     * NULL). */
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "factory"));
    otk_flash_destroy(f);
}

/* Same slot again: v6 rewrites the active sector's state, v5 writes the other sector with
 * the same seq. */
static void test_same_slot_rules(void **state)
{
    (void)state;
    for (int rule = 0; rule < 2; rule++) {
        otk_flash_t *f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
        of_put(f, "ota_0", "v1", 0);
        otk_device_config_t cfg;
        of_config(&cfg);
        cfg.otadata_rule = rule == 0 ? OTK_OTADATA_RULE_V6 : OTK_OTADATA_RULE_V5;
        of_start(&dev, f, &cfg, 0);
        of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
        assert_int_equal(otk_ota_set_boot_partition(&dev, dev.running), ESP_OK);
        if (rule == 0) {
            of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_NEW);
            of_assert_erased_sector(&dev, 1);
        } else {
            of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
            of_assert_entry(&dev, 1, 1, ESP_OTA_IMG_NEW);
        }
        otk_flash_destroy(f);
    }
}

static void test_get_boot_partition(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    of_put(f, "ota_0", "v1", 0);
    of_put(f, "ota_1", "v2", 0);
    of_start(&dev, f, NULL, 0);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_0"));
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_1")), ESP_OK);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_1"));
    assert_ptr_equal(otk_ota_get_running_partition(&dev), of_part(&dev, "ota_0"));
    /* Both entries invalid: the default (no factory: the lowest slot). */
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, 2, ESP_OTA_IMG_INVALID, NULL);
    assert_int_equal(otk_otadata_write(of_part(&dev, "otadata"), 1, &e), ESP_OK);
    otk_otadata_make_entry(&e, 1, ESP_OTA_IMG_ABORTED, NULL);
    assert_int_equal(otk_otadata_write(of_part(&dev, "otadata"), 0, &e), ESP_OK);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_0"));
    assert_null(otk_ota_get_boot_partition(NULL));
    assert_null(otk_ota_get_running_partition(NULL));
    otk_flash_destroy(f);
}

static void test_next_update_partition(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_3OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_start(&dev, f, NULL, 0);
    const esp_partition_t *o0 = of_part(&dev, "ota_0"), *o1 = of_part(&dev, "ota_1"),
                          *o2 = of_part(&dev, "ota_2");
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, NULL), o0); /* from factory */
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, o0), o1);
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, o1), o2);
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, o2), o0); /* wraps */
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, of_part(&dev, "factory")), o0);
    esp_partition_t copy = *o1; /* a copy of a table entry means that entry */
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, &copy), o2);
    copy.size = 0x1000; /* Decision: not in the table -> NULL (ESP-IDF asserts) */
    assert_null(otk_ota_get_next_update_partition(&dev, &copy));
    assert_null(otk_ota_get_next_update_partition(NULL, NULL));
    assert_int_equal(otk_ota_get_app_partition_count(&dev), 3);
    otk_flash_destroy(f);

    /* No OTA slot at all. */
    f = of_flash(OF_CSV_FACTORY_ONLY, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_start(&dev, f, NULL, 0);
    assert_null(otk_ota_get_next_update_partition(&dev, NULL));
    assert_int_equal(otk_ota_get_app_partition_count(&dev), 0);
    assert_int_equal(otk_ota_get_app_partition_count(NULL), 0);
    otk_flash_destroy(f);
}

/* ota_0 and ota_2 only: the app counts N = 1 (stops at the gap), as ESP-IDF does; slot 2
 * cannot be selected. */
static void test_non_contiguous_slots(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash("otadata, data, ota,     0xd000,  0x2000\n"
                              "factory, app,  factory, 0x10000, 0x10000\n"
                              "ota_0,   app,  ota_0,   0x20000, 0x10000\n"
                              "ota_2,   app,  ota_2,   0x30000, 0x10000\n",
                              OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_put(f, "ota_2", "v2", 0);
    of_start(&dev, f, NULL, 0);
    assert_int_equal(otk_ota_get_app_partition_count(&dev), 1);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_2")),
                     ESP_ERR_INVALID_ARG);
    of_assert_erased_sector(&dev, 0);
    /* The next update still walks every OTA subtype present. */
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, of_part(&dev, "ota_0")),
                     of_part(&dev, "ota_2"));
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_boot_errors),
        cmocka_unit_test(test_set_boot_factory_erases_otadata),
        cmocka_unit_test(test_set_boot_test_subtype),
        cmocka_unit_test(test_set_boot_without_otadata),
        cmocka_unit_test(test_same_slot_rules),
        cmocka_unit_test(test_get_boot_partition),
        cmocka_unit_test(test_next_update_partition),
        cmocka_unit_test(test_non_contiguous_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
