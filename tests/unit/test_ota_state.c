/* The state functions' error paths and edge cases: get_state_partition, mark valid /
 * invalid, get_last_invalid_partition, check_rollback_is_possible,
 * erase_last_boot_app_partition, invalidate_inactive_ota_data_slot. */
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

static otk_flash_t *start(const char *csv)
{
    otk_flash_t *f = of_flash(csv, OF_FLASH_SIZE);
    if (strstr(csv, "factory") != NULL) {
        of_put(f, "factory", "factory", 0);
    }
    if (strstr(csv, "ota_0") != NULL) {
        of_put(f, "ota_0", "v0", 0);
    }
    of_start(&dev, f, NULL, 0);
    return f;
}

static void put_entry(int sector, uint32_t seq, uint32_t state)
{
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, seq, state, NULL);
    assert_int_equal(otk_otadata_write(of_part(&dev, "otadata"), sector, &e), ESP_OK);
}

static void test_get_state_partition(void **state)
{
    (void)state;
    otk_flash_t *f = start(OF_CSV_FACTORY_2OTA);
    esp_ota_img_states_t st = (esp_ota_img_states_t)77;
    const esp_partition_t *o0 = of_part(&dev, "ota_0"), *o1 = of_part(&dev, "ota_1");
    assert_int_equal(otk_ota_get_state_partition(&dev, NULL, &st), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_get_state_partition(&dev, o0, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_get_state_partition(NULL, o0, &st), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_get_state_partition(&dev, of_part(&dev, "factory"), &st),
                     ESP_ERR_NOT_SUPPORTED);
    assert_int_equal(otk_ota_get_state_partition(&dev, of_part(&dev, "spare"), &st),
                     ESP_ERR_NOT_SUPPORTED);
    assert_int_equal(otk_ota_get_state_partition(&dev, o0, &st), ESP_ERR_NOT_FOUND); /* blank */
    put_entry(1, 2, ESP_OTA_IMG_VALID);
    assert_int_equal(otk_ota_get_state_partition(&dev, o1, &st), ESP_OK);
    assert_int_equal(st, ESP_OTA_IMG_VALID);
    assert_int_equal(otk_ota_get_state_partition(&dev, o0, &st), ESP_ERR_NOT_FOUND);
    /* Both entries on the same slot: entry 0 answers. */
    put_entry(0, 4, ESP_OTA_IMG_ABORTED);
    assert_int_equal(otk_ota_get_state_partition(&dev, o1, &st), ESP_OK);
    assert_int_equal(st, ESP_OTA_IMG_ABORTED);
    /* A bad CRC does not count. */
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, 4, ESP_OTA_IMG_NEW, NULL);
    e.crc ^= 1;
    assert_int_equal(otk_otadata_write(of_part(&dev, "otadata"), 0, &e), ESP_OK);
    assert_int_equal(otk_ota_get_state_partition(&dev, o1, &st), ESP_OK);
    assert_int_equal(st, ESP_OTA_IMG_VALID);
    otk_flash_destroy(f);

    /* No otadata partition: NOT_FOUND. */
    f = of_flash("factory, app, factory, 0x10000, 0x10000\n"
                 "ota_0,   app, ota_0,   0x20000, 0x10000\n",
                 OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_start(&dev, f, NULL, 0);
    assert_int_equal(otk_ota_get_state_partition(&dev, of_part(&dev, "ota_0"), &st),
                     ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_ota_mark_app_invalid_rollback(&dev), ESP_ERR_NOT_FOUND);
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    assert_null(otk_ota_get_last_invalid_partition(&dev));
    assert_int_equal(otk_ota_erase_last_boot_app_partition(&dev), ESP_FAIL);
    assert_int_equal(otk_ota_invalidate_inactive_ota_data_slot(&dev), ESP_FAIL);
    otk_flash_destroy(f);
}

static void test_mark_valid_cases(void **state)
{
    (void)state;
    otk_flash_t *f = start(OF_CSV_FACTORY_2OTA);
    /* Factory runs, otadata blank: "running firmware is factory". */
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_FAIL);
    assert_int_equal(otk_ota_mark_app_invalid_rollback(&dev), ESP_FAIL);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(NULL), ESP_ERR_INVALID_ARG);
    of_assert_erased_sector(&dev, 0);
    /* It marks the active entry, whichever partition runs (ESP-IDF). */
    put_entry(0, 1, ESP_OTA_IMG_NEW);
    put_entry(1, 2, ESP_OTA_IMG_PENDING_VERIFY);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_NEW);
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_VALID);
    /* Already VALID: nothing written. */
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    assert_int_equal(f->stats.program_calls + f->stats.erase_calls, 0);
    /* A flash failure while writing is returned. */
    put_entry(1, 2, ESP_OTA_IMG_NEW);
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_BEFORE, 1);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_destroy(f);
}

static void test_last_invalid_partition(void **state)
{
    (void)state;
    otk_flash_t *f = start(OF_CSV_FACTORY_3OTA);
    of_put(f, "ota_1", "v1", 0);
    of_put(f, "ota_2", "v2", 0);
    assert_null(otk_ota_get_last_invalid_partition(&dev));
    assert_null(otk_ota_get_last_invalid_partition(NULL));
    put_entry(0, 2, ESP_OTA_IMG_INVALID); /* ota_1 */
    put_entry(1, 3, ESP_OTA_IMG_ABORTED); /* ota_2 */
    /* Both rejected: the smaller seq. */
    assert_ptr_equal(otk_ota_get_last_invalid_partition(&dev), of_part(&dev, "ota_1"));
    put_entry(0, 2, ESP_OTA_IMG_VALID);
    assert_ptr_equal(otk_ota_get_last_invalid_partition(&dev), of_part(&dev, "ota_2"));
    /* Its image gone: NULL. */
    const esp_partition_t *o2 = of_part(&dev, "ota_2");
    assert_int_equal(otk_flash_erase(f, o2->address, o2->size), ESP_OK);
    assert_null(otk_ota_get_last_invalid_partition(&dev));
    otk_flash_destroy(f);
}

static void test_erase_last_boot_and_invalidate(void **state)
{
    (void)state;
    otk_flash_t *f = start(OF_CSV_FACTORY_2OTA);
    /* No active entry. */
    assert_int_equal(otk_ota_erase_last_boot_app_partition(&dev), ESP_FAIL);
    assert_int_equal(otk_ota_invalidate_inactive_ota_data_slot(&dev), ESP_FAIL);
    of_install(&dev, "ota_0", "v1", 0);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    /* Inactive entry empty. */
    assert_int_equal(otk_ota_erase_last_boot_app_partition(&dev), ESP_FAIL);
    of_install(&dev, "ota_1", "v2", 0);
    /* Not rebooted: the inactive entry (seq 1) names the running ota_0 -> refused. */
    assert_int_equal(otk_ota_erase_last_boot_app_partition(&dev), ESP_FAIL);
    assert_int_equal(otk_ota_invalidate_inactive_ota_data_slot(&dev), ESP_FAIL);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    /* Now ota_1 runs; the last boot app is ota_0 (sector 0). */
    const esp_partition_t *o0 = of_part(&dev, "ota_0");
    assert_false(of_erased(&dev, o0, 0, o0->size));
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_erase_last_boot_app_partition(&dev), ESP_OK);
    assert_true(of_erased(&dev, o0, 0, o0->size));
    assert_int_equal(f->stats.erase_blocks, 1);   /* the 64 KiB slot */
    assert_int_equal(f->stats.erase_sectors, 1);  /* otadata sector 0 */
    of_assert_erased_sector(&dev, 0);
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_VALID);
    assert_true(otk_ota_check_rollback_is_possible(&dev)); /* to factory */

    /* invalidate: the sector only, the app stays. */
    of_install(&dev, "ota_0", "v3", 0);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    const esp_partition_t *o1 = of_part(&dev, "ota_1");
    assert_int_equal(otk_ota_invalidate_inactive_ota_data_slot(&dev), ESP_OK);
    assert_false(of_erased(&dev, o1, 0, 1));
    of_assert_erased_sector(&dev, 1);
    of_assert_entry(&dev, 0, 3, ESP_OTA_IMG_VALID);
    assert_int_equal(otk_ota_invalidate_inactive_ota_data_slot(&dev), ESP_FAIL);
    assert_int_equal(otk_ota_invalidate_inactive_ota_data_slot(NULL), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(f);
}

static void test_rollback_possible_cases(void **state)
{
    (void)state;
    otk_flash_t *f = start(OF_CSV_2OTA);
    assert_false(otk_ota_check_rollback_is_possible(NULL));
    /* Active seq 1 (initial), other empty, no factory. */
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    /* Other entry valid but its slot empty. */
    put_entry(1, 2, ESP_OTA_IMG_VALID);
    put_entry(0, 3, ESP_OTA_IMG_VALID); /* active: seq 3 -> ota_0; other: seq 2 -> ota_1 */
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    of_put(f, "ota_1", "v1", 0);
    assert_true(otk_ota_check_rollback_is_possible(&dev));
    /* Other entry INVALID: not a way back. */
    put_entry(1, 2, ESP_OTA_IMG_INVALID);
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_state_partition),
        cmocka_unit_test(test_mark_valid_cases),
        cmocka_unit_test(test_last_invalid_partition),
        cmocka_unit_test(test_erase_last_boot_and_invalidate),
        cmocka_unit_test(test_rollback_possible_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
