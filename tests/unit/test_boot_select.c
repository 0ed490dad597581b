/* Boot selection (spec §4.1) on an emulated flash: what boots, why, and the otadata bytes
 * the bootloader leaves behind. */
#include <string.h>

#include "boot_fixture.h"
#include "test_support.h"

/* Entry 0 = {seq 1, label 0xFF x20, VALID, crc 0x4743989A}: the initial-contents write. */
static const uint8_t INITIAL_SEQ1_VALID[32] = {
    0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x9A, 0x98, 0x43, 0x47,
};

static void test_fresh_flash_boots_factory(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_FACTORY);
    assert_string_equal(r->partition.label, "factory");
    assert_int_equal(r->partition.address, 0x10000);
    assert_string_equal(r->why, "initial otadata: factory");
    assert_true(r->image.has_app_desc);
    assert_string_equal(r->image.app_desc.version, "factory");
    assert_int_equal(r->refused_count, 0);
    assert_int_equal(r->write_count, 0);
    assert_true(r->has_otadata);
    bf_assert_sector_erased(f, 0);
    bf_assert_sector_erased(f, 1);
    bf_destroy(f);
}

static void test_initial_no_factory_boots_ota0_and_writes_seq1(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 0);
    assert_string_equal(r->partition.label, "ota_0");
    assert_string_equal(r->why, "initial otadata, no factory: ota_0");
    assert_true(r->initial_contents);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_INITIAL);
    assert_int_equal(r->writes[0].sector, 0);
    assert_int_equal(r->writes[0].err, ESP_OK);
    assert_memory_equal(&r->writes[0].entry, INITIAL_SEQ1_VALID, 32);
    bf_assert_sector(f, 0, (const esp_ota_select_entry_t *)(const void *)INITIAL_SEQ1_VALID);
    bf_assert_sector_erased(f, 1);

    /* The next boot finds a real selection and writes nothing. */
    r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    assert_false(r->initial_contents);
    assert_int_equal(r->write_count, 0);
    assert_string_equal(r->why, "otadata seq 1 selects ota_0 (otadata[0], VALID)");
    bf_destroy(f);
}

static void test_initial_bad_crc_counts_as_initial(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    /* One empty entry, one with a seq, a wrong CRC and a rejected state: both "invalid"
     * (CRC not looked at) and both "empty or bad CRC": initial contents. */
    esp_ota_select_entry_t e = bf_entry(7, ESP_OTA_IMG_ABORTED);
    e.crc ^= 0x1;
    bf_set_otadata_raw(f, 1, &e);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    assert_true(r->initial_contents);
    assert_int_equal(r->write_count, 1);
    bf_assert_sector(f, 0, (const esp_ota_select_entry_t *)(const void *)INITIAL_SEQ1_VALID);
    bf_assert_sector(f, 1, &e);
    bf_destroy(f);

    /* The same garbage with a bootable state is not "invalid": the selection finds no
     * valid entry and falls to the walk, which never writes the initial entry. */
    f = bf_create(BF_CSV_2OTA);
    e = bf_entry(7, ESP_OTA_IMG_UNDEFINED);
    e.crc ^= 0x1;
    bf_set_otadata_raw(f, 1, &e);
    r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_FACTORY);
    assert_false(r->initial_contents);
    assert_int_equal(r->write_count, 0);
    bf_assert_sector_erased(f, 0);
    bf_destroy(f);
}

static void test_new_becomes_pending_verify(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_NEW);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 1);
    assert_string_equal(r->why, "otadata seq 2 selects ota_1 (otadata[1], NEW)");
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_PENDING_VERIFY);
    assert_int_equal(r->writes[0].sector, 1);
    esp_ota_select_entry_t want0 = bf_entry(1, ESP_OTA_IMG_VALID);
    esp_ota_select_entry_t want1 = bf_entry(2, ESP_OTA_IMG_PENDING_VERIFY);
    bf_assert_sector(f, 0, &want0);
    bf_assert_sector(f, 1, &want1);
    /* The CRC covers the seq only: the state change kept 0x55F63774. */
    assert_int_equal(want1.crc, 0x55F63774);
    bf_destroy(f);
}

/* Spec §3.6, step by step, with the bytes of both sectors after every boot. */
static void test_timeline_with_factory(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);

    /* OTA to ota_0, set_boot: seq 1 NEW. Reboot: NEW -> PENDING_VERIFY, ota_0 runs. */
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_NEW);
    r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    esp_ota_select_entry_t s0 = bf_entry(1, ESP_OTA_IMG_PENDING_VERIFY);
    bf_assert_sector(f, 0, &s0);
    bf_assert_sector_erased(f, 1);

    /* The app confirms. */
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->write_count, 0);

    /* OTA to ota_1: seq 2 NEW in sector 1; reboot runs it PENDING_VERIFY. */
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_NEW);
    r = bf_boot(f, NULL);
    assert_int_equal(r->index, 1);
    esp_ota_select_entry_t s1 = bf_entry(2, ESP_OTA_IMG_PENDING_VERIFY);
    bf_assert_sector(f, 1, &s1);

    /* Reset before confirming: the sweep aborts seq 2 and ota_0 runs again (rollback). */
    r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->selected_index, 0);
    assert_string_equal(r->why, "otadata seq 1 selects ota_0 (otadata[0], VALID)");
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_ABORTED);
    assert_int_equal(r->writes[0].sector, 1);
    s0 = bf_entry(1, ESP_OTA_IMG_VALID);
    s1 = bf_entry(2, ESP_OTA_IMG_ABORTED);
    bf_assert_sector(f, 0, &s0);
    bf_assert_sector(f, 1, &s1);

    /* And it stays there: ABORTED is never selected, nothing more is written. */
    r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->write_count, 0);
    bf_destroy(f);
}

/* The first-ever OTA app never confirmed: both entries end up invalid. */
static void test_first_ota_aborted_with_factory(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_PENDING_VERIFY);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
    assert_false(r->initial_contents);
    assert_int_equal(r->write_count, 1);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_ABORTED);
    esp_ota_select_entry_t s0 = bf_entry(1, ESP_OTA_IMG_ABORTED);
    bf_assert_sector(f, 0, &s0);
    bf_assert_sector_erased(f, 1);
    bf_destroy(f);
}

static void test_first_ota_aborted_without_factory(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_set_otadata(f, 0, 2, ESP_OTA_IMG_PENDING_VERIFY); /* seq 2 = ota_1 */
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 0);
    assert_string_equal(r->why,
                        "no usable otadata entry (empty, INVALID or ABORTED), no factory: ota_0");
    /* The entry exists with a good CRC: not initial, so no seq-1 entry is written. */
    assert_false(r->initial_contents);
    assert_int_equal(r->write_count, 1);
    esp_ota_select_entry_t s0 = bf_entry(2, ESP_OTA_IMG_ABORTED);
    bf_assert_sector(f, 0, &s0);
    bf_destroy(f);
}

static void test_invalid_and_aborted_never_selected(void **state)
{
    (void)state;
    static const uint32_t bad[] = {ESP_OTA_IMG_INVALID, ESP_OTA_IMG_ABORTED};
    for (size_t i = 0; i < 2; i++) {
        otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
        bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
        bf_set_otadata(f, 1, 2, bad[i]);
        otk_boot_result_t *r = bf_boot(f, NULL);
        assert_int_equal(r->index, 0);
        assert_int_equal(r->write_count, 0);

        /* Both rejected: the factory app. */
        bf_set_otadata(f, 0, 1, bad[i]);
        r = bf_boot(f, NULL);
        assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
        assert_int_equal(r->write_count, 0);
        bf_destroy(f);
    }
}

static void test_bad_crc_entry_ignored(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    esp_ota_select_entry_t e = bf_entry(2, ESP_OTA_IMG_VALID);
    e.crc = 0x12345678;
    bf_set_otadata_raw(f, 1, &e);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->index, 0);
    bf_destroy(f);
}

/* Both entries carry seqs and states but bad CRCs: not "invalid", yet none is valid. */
static void test_both_bad_crc(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    esp_ota_select_entry_t a = bf_entry(1, ESP_OTA_IMG_VALID);
    esp_ota_select_entry_t b = bf_entry(2, ESP_OTA_IMG_VALID);
    a.crc ^= 0x100;
    b.crc ^= 0x100;
    bf_set_otadata_raw(f, 0, &a);
    bf_set_otadata_raw(f, 1, &b);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
    assert_string_equal(r->why, "no otadata entry with a good CRC: factory");
    assert_int_equal(r->write_count, 0);
    bf_destroy(f);

    /* Without a factory the walk starts at FACTORY_INDEX and goes up to ota_0; this branch
     * never writes the initial entry. */
    f = bf_create(BF_CSV_2OTA);
    bf_set_otadata_raw(f, 0, &a);
    bf_set_otadata_raw(f, 1, &b);
    r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_FACTORY);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->write_count, 0);
    assert_int_equal(r->refused_count, 1); /* the selected factory: absent */
    assert_string_equal(r->refused[0].reason, "absent");
    bf_assert_sector(f, 0, &a);
    bf_assert_sector(f, 1, &b);
    bf_destroy(f);
}

static void test_rollback_disabled_leaves_states(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_PENDING_VERIFY);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_NEW);
    uint8_t before[0x2000], after[0x2000];
    bf_snapshot_otadata(f, before);
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.rollback = false;
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->index, 1);
    assert_int_equal(r->write_count, 0);
    bf_snapshot_otadata(f, after);
    assert_memory_equal(before, after, sizeof before);

    /* UNDEFINED (what the app writes without rollback) is bootable. */
    bf_set_otadata(f, 0, 3, ESP_OTA_IMG_UNDEFINED);
    r = bf_boot(f, &cfg);
    assert_int_equal(r->index, 0);
    r = bf_boot(f, NULL); /* with rollback too, UNDEFINED is selected and left alone */
    assert_int_equal(r->index, 0);
    assert_int_equal(r->write_count, 0);
    esp_ota_select_entry_t s0 = bf_entry(3, ESP_OTA_IMG_UNDEFINED);
    bf_assert_sector(f, 0, &s0);
    bf_destroy(f);
}

static void test_rollback_disabled_initial_write_still_happens(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.rollback = false;
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->write_count, 1);
    bf_assert_sector(f, 0, (const esp_ota_select_entry_t *)(const void *)INITIAL_SEQ1_VALID);
    bf_destroy(f);
}

static void test_three_slots_seq_mapping(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_3OTA);
    static const struct {
        uint32_t seq;
        int slot;
    } map[] = {{1, 0}, {2, 1}, {3, 2}, {4, 0}, {5, 1}, {6, 2}, {0xFFFFFFFEu, 1}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
        bf_set_otadata(f, 1, map[i].seq, ESP_OTA_IMG_VALID);
        otk_boot_result_t *r = bf_boot(f, NULL);
        assert_int_equal(r->err, ESP_OK);
        /* seq 1 in sector 0 loses to any larger seq in sector 1 (ties go to sector 0). */
        assert_int_equal(r->index, map[i].slot);
        assert_string_equal(r->partition.label, otk_boot_index_name(map[i].slot));
    }
    bf_destroy(f);
}

static void test_no_otadata_partition_boots_factory(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_ONLY);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
    assert_string_equal(r->why, "no otadata partition: factory");
    assert_false(r->has_otadata);
    bf_destroy(f);
}

static void test_small_otadata_is_an_error(void **state)
{
    (void)state;
    otk_partition_table_t t;
    otk_partition_table_init(&t, BF_TABLE_OFFSET);
    assert_int_equal(otk_partition_table_add(&t, "otadata", ESP_PARTITION_TYPE_DATA,
                                             ESP_PARTITION_SUBTYPE_DATA_OTA, 0xd000, 0x1000, 0),
                     ESP_OK);
    assert_int_equal(otk_partition_table_add(&t, "factory", ESP_PARTITION_TYPE_APP,
                                             ESP_PARTITION_SUBTYPE_APP_FACTORY, 0x10000, 0x10000,
                                             0),
                     ESP_OK);
    otk_flash_t *f = bf_create_table(&t);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_ERR_INVALID_SIZE);
    assert_int_equal(r->stage, OTK_BOOT_STAGE_OTADATA);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_INVALID);
    assert_int_equal(r->index, OTK_BOOT_INDEX_INVALID);
    assert_non_null(strstr(r->diag.msg, "0x1000"));
    bf_destroy(f);
}

static void test_bad_table_is_an_error(void **state)
{
    (void)state;
    otk_flash_t *f = NULL;
    assert_int_equal(otk_flash_mem_create(BF_FLASH_SIZE, &f), ESP_OK);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_not_equal(r->err, ESP_OK);
    assert_int_not_equal(r->err, ESP_ERR_NOT_FOUND);
    assert_int_equal(r->stage, OTK_BOOT_STAGE_TABLE);
    otk_flash_destroy(f);
}

static void test_bad_args(void **state)
{
    (void)state;
    otk_boot_result_t r;
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    assert_int_equal(otk_boot_run(NULL, BF_TABLE_OFFSET, &cfg, &r), ESP_ERR_INVALID_ARG);
    assert_int_equal(r.stage, OTK_BOOT_STAGE_ARGS);
    assert_int_equal(otk_boot_run(NULL, BF_TABLE_OFFSET, &cfg, NULL), ESP_ERR_INVALID_ARG);
}

static void test_log_reads_like_esp_idf(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 2, ESP_OTA_IMG_VALID);
    bf_log_start();
    otk_boot_result_t *r = bf_boot(f, NULL);
    bf_log_stop();
    assert_int_equal(r->index, 1);
    const char *log = bf_log_text();
    assert_true(bf_log_has("I ("));
    assert_true(bf_log_has(") boot: Partition Table:"));
    assert_true(bf_log_has("boot: ## Label            Usage          Type ST Offset   Length"));
    assert_true(bf_log_has("boot:  1 otadata          OTA data         01 00 0000d000 00002000"));
    assert_true(bf_log_has("boot:  3 factory          factory app      00 00 00010000 00010000"));
    assert_true(bf_log_has("boot: End of partition table"));
    /* ESP32-C3: the app's DROM segment maps at 0x3c000020. */
    assert_true(bf_log_has("esp_image: segment 0: paddr=00030020 vaddr=3c000020 size="));
    assert_true(bf_log_has(" map\n"));
    assert_true(bf_log_has("boot: Loaded app from partition at offset 0x30000"));
    assert_null(strstr(log, "E ("));
    bf_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_flash_boots_factory),
        cmocka_unit_test(test_initial_no_factory_boots_ota0_and_writes_seq1),
        cmocka_unit_test(test_initial_bad_crc_counts_as_initial),
        cmocka_unit_test(test_new_becomes_pending_verify),
        cmocka_unit_test(test_timeline_with_factory),
        cmocka_unit_test(test_first_ota_aborted_with_factory),
        cmocka_unit_test(test_first_ota_aborted_without_factory),
        cmocka_unit_test(test_invalid_and_aborted_never_selected),
        cmocka_unit_test(test_bad_crc_entry_ignored),
        cmocka_unit_test(test_both_bad_crc),
        cmocka_unit_test(test_rollback_disabled_leaves_states),
        cmocka_unit_test(test_rollback_disabled_initial_write_still_happens),
        cmocka_unit_test(test_three_slots_seq_mapping),
        cmocka_unit_test(test_no_otadata_partition_boots_factory),
        cmocka_unit_test(test_small_otadata_is_an_error),
        cmocka_unit_test(test_bad_table_is_an_error),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_log_reads_like_esp_idf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
