/* esp_ota_begin (spec §5.1, seed 000's documented errors), esp_ota_resume, esp_ota_abort
 * and the handle pool. */
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

/* factory runs; ota_0 / ota_1 empty. */
static void test_null_args(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    esp_ota_handle_t h = 77;
    assert_int_equal(otk_ota_begin(&dev, NULL, 0, &h), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), 0, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_begin(NULL, of_part(&dev, "ota_0"), 0, &h), ESP_ERR_INVALID_ARG);
    assert_int_equal(h, 77);
    assert_int_equal(of_open_handles(&dev), 0);
    otk_flash_destroy(f);
}

static void test_not_an_ota_app_partition(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_put(f, "ota_0", "a", 0);
    of_start(&dev, f, NULL, 0);
    /* Make ota_0 run, so factory is an app partition that is not the running one. */
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0")), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "ota_0");
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    uint8_t before[32];
    of_hash(f, of_part(&dev, "factory"), before);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "factory"), 0, &h),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(h, 0);
    uint8_t after[32];
    of_hash(f, of_part(&dev, "factory"), after);
    assert_memory_equal(before, after, 32);
    assert_int_equal(of_open_handles(&dev), 0);
    otk_flash_destroy(f);
}

static void test_running_partition_conflict(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    /* The running app is factory, which is not an OTA app: INVALID_ARG comes first. */
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, dev.running, 0, &h), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(f);

    f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    of_put(f, "ota_0", "a", 0);
    of_start(&dev, f, NULL, 0);
    assert_string_equal(dev.running->label, "ota_0");
    uint8_t before[32], after[32];
    of_hash(f, dev.running, before);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_begin(&dev, dev.running, OTA_SIZE_UNKNOWN, &h),
                     ESP_ERR_OTA_PARTITION_CONFLICT);
    assert_int_equal(f->stats.erase_calls, 0);
    of_hash(f, dev.running, after);
    assert_memory_equal(before, after, 32);
    assert_int_equal(of_open_handles(&dev), 0);
    otk_flash_destroy(f);
}

static void test_partition_not_found(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    esp_partition_t bogus = *of_part(&dev, "ota_0");
    bogus.address += 0x1000; /* not what the table says */
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, &bogus, 0, &h), ESP_ERR_NOT_FOUND);
    bogus = *of_part(&dev, "ota_0");
    strcpy(bogus.label, "nope");
    assert_int_equal(otk_ota_begin(&dev, &bogus, 0, &h), ESP_ERR_NOT_FOUND);
    /* A copy with an empty label and no chip is the same partition (ESP-IDF's rules). */
    bogus = *of_part(&dev, "ota_0");
    bogus.label[0] = '\0';
    bogus.flash_chip = NULL;
    assert_int_equal(otk_ota_begin(&dev, &bogus, 0, &h), ESP_OK);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    otk_flash_destroy(f);
}

/* ota_0 runs in PENDING_VERIFY (first boot after an update). */
static otk_flash_t *start_pending(bool rollback)
{
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    otk_device_config_t cfg;
    of_config(&cfg);
    cfg.rollback = rollback;
    of_start(&dev, f, &cfg, 0);
    of_install(&dev, "ota_0", "v1", 0);
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "ota_0");
    return f;
}

static void test_pending_verify_with_rollback(void **state)
{
    (void)state;
    otk_flash_t *f = start_pending(true);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_PENDING_VERIFY);
    esp_ota_handle_t h = 0;
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_1"), OTA_SIZE_UNKNOWN, &h),
                     ESP_ERR_OTA_ROLLBACK_INVALID_STATE);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_int_equal(of_open_handles(&dev), 0);
    /* Confirmed: now it may update. */
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_1"), OTA_SIZE_UNKNOWN, &h), ESP_OK);
    otk_flash_destroy(f);
}

static void test_pending_state_without_rollback_is_no_obstacle(void **state)
{
    (void)state;
    otk_flash_t *f = start_pending(false);
    /* Without rollback set_boot wrote UNDEFINED and the bootloader changed nothing; put a
     * PENDING_VERIFY there by hand: begin does not look at it. */
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_UNDEFINED);
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, 1, ESP_OTA_IMG_PENDING_VERIFY, NULL);
    assert_int_equal(otk_otadata_write(of_part(&dev, "otadata"), 0, &e), ESP_OK);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_1"), 0, &h), ESP_OK);
    otk_flash_destroy(f);
}

static void test_image_size_larger_than_partition(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    esp_ota_handle_t h = 0;
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_begin(&dev, p, p->size + 1, &h), ESP_ERR_INVALID_SIZE);
    assert_int_equal(h, 0);
    assert_int_equal(f->stats.erase_calls, 0);
    /* Decision: nothing registered, so a retry is not ALREADY_IN_PROGRESS. */
    assert_int_equal(of_open_handles(&dev), 0);
    assert_int_equal(otk_ota_begin(&dev, p, p->size, &h), ESP_OK);
    assert_int_equal(h, 1); /* the failed begin used no handle number */
    /* A 64-bit size whose low 32 bits are the sentinel is a size, not OTA_SIZE_UNKNOWN. */
    esp_ota_handle_t h2 = 0;
    const esp_partition_t *p1 = of_part(&dev, "ota_1");
    if (sizeof(size_t) > 4) {
        assert_int_equal(otk_ota_begin(&dev, p1, (size_t)0x1FFFFFFFFull, &h2),
                         ESP_ERR_INVALID_SIZE);
        assert_int_equal(otk_ota_begin(&dev, p1, (size_t)0x1FFFFFFFEull, &h2),
                         ESP_ERR_INVALID_SIZE);
    }
    assert_int_equal(of_open_handles(&dev), 1);
    otk_flash_destroy(f);
}

static void test_no_mem_when_pool_full(void **state)
{
    (void)state;
    /* Four partitions begin accepts: the two slots and two data partitions. */
    otk_flash_t *f = of_start_factory(&dev);
    const char *labels[] = {"ota_0", "ota_1", "spare", "tiny"};
    esp_ota_handle_t h[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(otk_ota_begin(&dev, of_part(&dev, labels[i]), OTA_WITH_SEQUENTIAL_WRITES,
                                       &h[i]),
                         ESP_OK);
        assert_int_equal(h[i], (esp_ota_handle_t)(i + 1));
    }
    assert_int_equal(of_open_handles(&dev), OTK_DEVICE_MAX_HANDLES);
    /* A fifth: the otadata partition is a data partition begin accepts. */
    esp_ota_handle_t h5 = 0;
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "otadata"), 0, &h5), ESP_ERR_NO_MEM);
    assert_int_equal(h5, 0);
    assert_int_equal(f->stats.erase_calls, 0);
    /* Checks before the allocation still come first. */
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), 0, &h5),
                     ESP_ERR_OTA_ALREADY_IN_PROGRESS);
    /* Freeing one makes room; handle numbers are not reused. */
    assert_int_equal(otk_ota_abort(&dev, h[2]), ESP_OK);
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "spare"), 0, &h5), ESP_OK);
    assert_int_equal(h5, 5);
    otk_flash_destroy(f);
}

static void test_already_in_progress(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    esp_ota_handle_t h = 0, h2 = 0;
    const esp_partition_t *p = of_part(&dev, "ota_0");
    assert_int_equal(otk_ota_begin(&dev, p, OTA_SIZE_UNKNOWN, &h), ESP_OK);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_begin(&dev, p, OTA_SIZE_UNKNOWN, &h2),
                     ESP_ERR_OTA_ALREADY_IN_PROGRESS);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_int_equal(otk_ota_resume(&dev, p, 0, 0, &h2), ESP_ERR_OTA_ALREADY_IN_PROGRESS);
    /* The final partition of an open handle counts too. */
    const esp_partition_t *spare = of_part(&dev, "spare");
    assert_int_equal(otk_ota_set_final_partition(&dev, h, spare, true), ESP_OK);
    assert_int_equal(otk_ota_begin(&dev, spare, 0, &h2), ESP_ERR_OTA_ALREADY_IN_PROGRESS);
    /* After abort both are free again. */
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    assert_int_equal(otk_ota_begin(&dev, spare, 0, &h2), ESP_OK);
    assert_int_equal(otk_ota_begin(&dev, p, 0, &h), ESP_OK);
    otk_flash_destroy(f);
}

/* ESP_ERR_OTA_SELECT_INFO_INVALID is documented but never returned: garbage otadata does
 * not stop begin. */
static void test_garbage_otadata_is_not_select_info_invalid(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *od = of_part(&dev, "otadata");
    uint8_t junk[32];
    memset(junk, 0x5A, sizeof junk);
    assert_int_equal(otk_flash_erase(f, od->address, 0x2000), ESP_OK);
    assert_int_equal(otk_flash_program(f, od->address, junk, sizeof junk), ESP_OK);
    assert_int_equal(otk_flash_program(f, od->address + 0x1000, junk, sizeof junk), ESP_OK);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), 0, &h), ESP_OK);
    otk_flash_destroy(f);
}

static void test_flash_failure_leaves_no_handle(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_BEFORE, 1);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), OTA_SIZE_UNKNOWN, &h),
                     ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(h, 0);
    assert_int_equal(of_open_handles(&dev), 0);
    otk_flash_destroy(f);
}

/* Erase extents: 0 and OTA_SIZE_UNKNOWN the whole partition, a size its sectors,
 * OTA_WITH_SEQUENTIAL_WRITES nothing. */
static void test_erase_extent_by_size(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    const size_t sizes[] = {0, OTA_SIZE_UNKNOWN, (size_t)0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        of_put(f, "ota_0", "old", 0);
        otk_flash_stats_reset(f);
        esp_ota_handle_t h = 0;
        assert_int_equal(otk_ota_begin(&dev, p, sizes[i], &h), ESP_OK);
        assert_int_equal(f->stats.erase_blocks, 1); /* the 64 KiB slot: one block erase */
        assert_int_equal(f->stats.erase_sectors, 0);
        assert_true(of_erased(&dev, p, 0, p->size));
        assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    }
    /* A size: rounded up to the sector, nothing after it touched. */
    of_put(f, "ota_0", "old", 0);
    const uint8_t fill[4] = {0x12, 0x34, 0x56, 0x78};
    assert_int_equal(otk_flash_program(f, p->address + 0x2000, fill, 4), ESP_OK);
    otk_flash_stats_reset(f);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, p, 0x1001, &h), ESP_OK);
    assert_int_equal(f->stats.erase_sectors, 2);
    assert_int_equal(f->stats.erase_blocks, 0);
    assert_true(of_erased(&dev, p, 0, 0x2000));
    uint8_t got[4];
    assert_int_equal(otk_flash_read(f, p->address + 0x2000, got, 4), ESP_OK);
    assert_memory_equal(got, fill, 4);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    /* Sequential: nothing now. */
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_begin(&dev, p, OTA_WITH_SEQUENTIAL_WRITES, &h), ESP_OK);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_true(dev.ota[0].need_erase || dev.ota[1].need_erase || dev.ota[2].need_erase ||
                dev.ota[3].need_erase);
    otk_flash_destroy(f);
}

static void test_handles_count_from_one(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    esp_ota_handle_t h = 0;
    for (esp_ota_handle_t want = 1; want <= 6; want++) {
        assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_1"), 0x1000, &h), ESP_OK);
        assert_int_equal(h, want);
        assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
        assert_int_equal(otk_ota_abort(&dev, h), ESP_ERR_NOT_FOUND);
    }
    assert_int_equal(otk_ota_abort(&dev, 0), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_ota_abort(NULL, 1), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(f);
}

static void test_begin_of_data_partitions_skips_app_checks(void **state)
{
    (void)state;
    otk_flash_t *f = start_pending(true); /* PENDING_VERIFY would stop an app update */
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "spare"), 0, &h), ESP_OK);
    otk_flash_destroy(f);
}

static void test_resume_errors(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_resume(&dev, NULL, 0, 0, &h), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_resume(&dev, p, 0, 0, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_resume(&dev, p, 0, p->size + 1, &h), ESP_ERR_INVALID_ARG);
    esp_partition_t bogus = *p;
    bogus.size = 0x20000;
    assert_int_equal(otk_ota_resume(&dev, &bogus, 0, 0, &h), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_ota_resume(&dev, of_part(&dev, "factory"), 0, 0, &h),
                     ESP_ERR_INVALID_ARG);
    /* Resume never erases. */
    of_put(f, "ota_0", "old", 0);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_resume(&dev, p, 0, p->size, &h), ESP_OK);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_int_equal(h, 1);
    otk_flash_destroy(f);

    f = start_pending(true);
    assert_int_equal(otk_ota_resume(&dev, of_part(&dev, "ota_1"), 0, 0, &h),
                     ESP_ERR_OTA_ROLLBACK_INVALID_STATE);
    assert_int_equal(otk_ota_resume(&dev, of_part(&dev, "ota_0"), 0, 0, &h),
                     ESP_ERR_OTA_PARTITION_CONFLICT);
    otk_flash_destroy(f);
}

/* A device that did not boot has no table: nothing is found. */
static void test_unbooted_device(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    otk_device_config_t cfg;
    of_config(&cfg);
    assert_int_equal(otk_device_init(&dev, f, &cfg, 0), ESP_OK);
    assert_int_equal(otk_device_power_on(&dev), ESP_ERR_NOT_FOUND);
    assert_null(dev.running);
    esp_partition_t p;
    memset(&p, 0, sizeof p);
    p.type = ESP_PARTITION_TYPE_APP;
    p.subtype = ESP_PARTITION_SUBTYPE_APP_OTA_0;
    p.address = 0x10000;
    p.size = 0x10000;
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, &p, 0, &h), ESP_ERR_NOT_FOUND);
    assert_null(otk_ota_get_running_partition(&dev));
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_not_an_ota_app_partition),
        cmocka_unit_test(test_running_partition_conflict),
        cmocka_unit_test(test_partition_not_found),
        cmocka_unit_test(test_pending_verify_with_rollback),
        cmocka_unit_test(test_pending_state_without_rollback_is_no_obstacle),
        cmocka_unit_test(test_image_size_larger_than_partition),
        cmocka_unit_test(test_no_mem_when_pool_full),
        cmocka_unit_test(test_already_in_progress),
        cmocka_unit_test(test_garbage_otadata_is_not_select_info_invalid),
        cmocka_unit_test(test_flash_failure_leaves_no_handle),
        cmocka_unit_test(test_erase_extent_by_size),
        cmocka_unit_test(test_handles_count_from_one),
        cmocka_unit_test(test_begin_of_data_partitions_skips_app_checks),
        cmocka_unit_test(test_resume_errors),
        cmocka_unit_test(test_unbooted_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
