/* The fallback walk (spec §4.2): order, refusals with their reasons, otadata left alone,
 * nothing bootable, and how much flash a boot reads. */
#include <string.h>

#include "boot_fixture.h"
#include "test_support.h"

/* The walk from ota_2 in the factory + ota_0..ota_3 + test layout. */
static const int ORDER_FROM_2[] = {2, 1, 0, OTK_BOOT_INDEX_FACTORY, 3, OTK_BOOT_INDEX_TEST};
#define ORDER_LEN (sizeof ORDER_FROM_2 / sizeof ORDER_FROM_2[0])

static const char *label_of(int index)
{
    return otk_boot_index_name(index); /* the layout's labels are the index names */
}

static otk_flash_t *four_slots_selecting_ota2(void)
{
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_4OTA_TEST);
    bf_set_otadata(f, 0, 3, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_VALID);
    return f;
}

static void test_walk_order_step_by_step(void **state)
{
    (void)state;
    for (size_t k = 1; k < ORDER_LEN; k++) {
        otk_flash_t *f = four_slots_selecting_ota2();
        for (size_t i = 0; i < k; i++) {
            bf_corrupt(f, label_of(ORDER_FROM_2[i]));
        }
        uint8_t before[0x2000], after[0x2000];
        bf_snapshot_otadata(f, before);
        bf_log_start();
        otk_boot_result_t *r = bf_boot(f, NULL);
        bf_log_stop();
        assert_int_equal(r->err, ESP_OK);
        assert_int_equal(r->selected_index, 2);
        assert_int_equal(r->index, ORDER_FROM_2[k]);
        assert_string_equal(r->partition.label, label_of(ORDER_FROM_2[k]));
        assert_string_equal(r->image.app_desc.version, label_of(ORDER_FROM_2[k]));
        assert_int_equal(r->refused_count, k);
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(r->refused[i].index, ORDER_FROM_2[i]);
            assert_string_equal(r->refused[i].label, label_of(ORDER_FROM_2[i]));
            assert_int_equal(r->refused[i].err, ESP_ERR_IMAGE_INVALID);
            /* The verifier's reason: the bit cleared breaks the checksum. */
            assert_non_null(strstr(r->refused[i].reason, "checksum"));
        }
        /* Fallback never rewrites otadata: the app sees boot != running partition. */
        assert_int_equal(r->write_count, 0);
        bf_snapshot_otadata(f, after);
        assert_memory_equal(before, after, sizeof before);
        if (ORDER_FROM_2[k] == OTK_BOOT_INDEX_TEST) {
            assert_true(bf_log_has("W ("));
            assert_true(bf_log_has("boot: Falling back to test app as only bootable partition"));
        }
        assert_true(bf_log_has("boot: OTA app partition slot 2 is not bootable"));
        bf_destroy(f);
    }
}

static void test_nothing_bootable(void **state)
{
    (void)state;
    otk_flash_t *f = four_slots_selecting_ota2();
    for (size_t i = 0; i < ORDER_LEN; i++) {
        bf_corrupt(f, label_of(ORDER_FROM_2[i]));
    }
    uint8_t before[0x2000], after[0x2000];
    bf_snapshot_otadata(f, before);
    bf_log_start();
    otk_boot_result_t *r = bf_boot(f, NULL);
    bf_log_stop();
    assert_int_equal(r->err, ESP_ERR_NOT_FOUND);
    assert_int_equal(r->stage, OTK_BOOT_STAGE_LOAD);
    assert_int_equal(r->index, OTK_BOOT_INDEX_INVALID);
    assert_int_equal(r->selected_index, 2);
    assert_int_equal(r->refused_count, ORDER_LEN);
    for (size_t i = 0; i < ORDER_LEN; i++) {
        assert_int_equal(r->refused[i].index, ORDER_FROM_2[i]);
    }
    assert_false(r->image.header_read);
    assert_true(bf_log_has("E ("));
    assert_true(bf_log_has("boot: No bootable app partitions in the partition table"));
    assert_true(bf_log_has("boot: Factory app partition is not bootable"));
    assert_true(bf_log_has("boot: Factory test app partition is not bootable"));
    bf_snapshot_otadata(f, after);
    assert_memory_equal(before, after, sizeof before);
    bf_destroy(f);
}

/* The new app is broken: it is marked PENDING_VERIFY when selected, the walk runs the old
 * one without touching otadata, and the next boot's sweep aborts the new one. */
static void test_broken_update_rolls_back_over_two_boots(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_NEW);
    bf_corrupt(f, "ota_1");
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->selected_index, 1);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->refused_count, 1);
    assert_int_equal(r->refused[0].index, 1);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_PENDING_VERIFY);
    esp_ota_select_entry_t s1 = bf_entry(2, ESP_OTA_IMG_PENDING_VERIFY);
    bf_assert_sector(f, 1, &s1);

    r = bf_boot(f, NULL);
    assert_int_equal(r->selected_index, 0);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->refused_count, 0);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_ABORTED);
    s1 = bf_entry(2, ESP_OTA_IMG_ABORTED);
    bf_assert_sector(f, 1, &s1);
    bf_destroy(f);
}

/* Blank otadata, no factory, ota_0 broken: the walk boots ota_1 and the initial entry
 * names the slot that booted (seq = index + 1). */
static void test_initial_write_names_fallback_slot(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_corrupt(f, "ota_0");
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->selected_index, 0);
    assert_int_equal(r->index, 1);
    assert_true(r->initial_contents);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_INITIAL);
    static const uint8_t want[32] = {
        0x02, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x74, 0x37, 0xF6, 0x55,
    };
    bf_assert_sector(f, 0, (const esp_ota_select_entry_t *)(const void *)want);
    bf_assert_sector_erased(f, 1);
    bf_destroy(f);
}

static void test_erased_slot_reason(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 2, ESP_OTA_IMG_VALID);
    bf_erase(f, "ota_1");
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->refused_count, 1);
    assert_string_equal(r->refused[0].label, "ota_1");
    assert_int_equal(r->refused[0].address, 0x30000);
    assert_non_null(strstr(r->refused[0].reason, "magic"));
    bf_destroy(f);
}

/* ota_0 and ota_2 only: the bootloader's N is 2, seq 2 selects slot 1, which is absent,
 * and slot 2 lies beyond N so the walk never tries it (spec §3.4). */
static void test_non_contiguous_slots(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create("otadata, data, ota,   0xd000,  0x2000\n"
                               "ota_0,   app,  ota_0, 0x10000, 0x10000\n"
                               "ota_2,   app,  ota_2, 0x30000, 0x10000\n");
    bf_set_otadata(f, 0, 2, ESP_OTA_IMG_VALID);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->selected_index, 1);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->refused_count, 1);
    assert_int_equal(r->refused[0].index, 1);
    assert_int_equal(r->refused[0].err, ESP_ERR_NOT_FOUND);
    assert_string_equal(r->refused[0].reason, "absent");
    assert_string_equal(r->refused[0].label, "");

    bf_corrupt(f, "ota_0");
    r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_ERR_NOT_FOUND);
    assert_int_equal(r->refused_count, 2);
    assert_int_equal(bf_refusal_of(r, 2), -1);
    bf_destroy(f);
}

static void test_chip_mismatch_refused(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.chip_id = ESP_CHIP_ID_ESP32;
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_ERR_NOT_FOUND);
    assert_int_equal(r->refused_count, 3); /* factory, ota_0, ota_1 */
    assert_int_equal(r->refused[0].index, OTK_BOOT_INDEX_FACTORY);
    assert_int_equal(r->refused[1].index, 0);
    assert_int_equal(r->refused[2].index, 1);
    assert_non_null(strstr(r->refused[0].reason, "chip"));

    cfg.chip_id = BF_CHIP;
    r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
    bf_destroy(f);
}

/* Each candidate image is read once: the table sector, the two otadata entries, then one
 * read per candidate covering its whole (small) image. */
static void test_each_image_read_once(void **state)
{
    (void)state;
    otk_flash_t *f = four_slots_selecting_ota2();
    bf_corrupt(f, "ota_2");
    bf_corrupt(f, "ota_1");
    otk_flash_stats_reset(f);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    const uint32_t candidates = 3;
    assert_true(r->image.total_len <= OTK_FLASH_SECTOR_SIZE);
    assert_int_equal(f->stats.read_calls, 1 + 2 + candidates);
    assert_true(f->stats.read_bytes <=
                OTK_FLASH_SECTOR_SIZE + 2 * 32 + candidates * OTK_FLASH_SECTOR_SIZE);
    assert_int_equal(f->stats.program_calls, 0);
    assert_int_equal(f->stats.erase_calls, 0);
    bf_destroy(f);
}

/* A power cut at the sweep's erase stops the boot with the flash error; once power is
 * back the next boot finishes the job. */
static void test_power_cut_during_sweep(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_PENDING_VERIFY);
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_BEFORE, 1);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(r->stage, OTK_BOOT_STAGE_OTADATA);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].err, ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);
    esp_ota_select_entry_t s1 = bf_entry(2, ESP_OTA_IMG_PENDING_VERIFY);
    bf_assert_sector(f, 1, &s1);
    r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 0);
    s1 = bf_entry(2, ESP_OTA_IMG_ABORTED);
    bf_assert_sector(f, 1, &s1);
    bf_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_order_step_by_step),
        cmocka_unit_test(test_nothing_bootable),
        cmocka_unit_test(test_broken_update_rolls_back_over_two_boots),
        cmocka_unit_test(test_initial_write_names_fallback_slot),
        cmocka_unit_test(test_erased_slot_reason),
        cmocka_unit_test(test_non_contiguous_slots),
        cmocka_unit_test(test_chip_mismatch_refused),
        cmocka_unit_test(test_each_image_read_once),
        cmocka_unit_test(test_power_cut_during_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
