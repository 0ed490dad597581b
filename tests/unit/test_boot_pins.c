/* The GPIO overrides (spec §4.1 step 7) as config inputs: factory reset and test app. */
#include <string.h>

#include "boot_fixture.h"
#include "test_support.h"

static bool all_erased(otk_flash_t *f, const char *label)
{
    const esp_partition_t *p = bf_part(f, label);
    uint8_t buf[256];
    for (uint32_t off = 0; off < p->size; off += sizeof buf) {
        assert_int_equal(otk_flash_read(f, p->address + off, buf, sizeof buf), ESP_OK);
        for (size_t i = 0; i < sizeof buf; i++) {
            if (buf[i] != 0xFF) {
                return false;
            }
        }
    }
    return true;
}

static void fill(otk_flash_t *f, const char *label)
{
    const esp_partition_t *p = bf_part(f, label);
    static const uint8_t data[16] = "nvs data here..";
    assert_int_equal(otk_flash_program(f, p->address, data, sizeof data), ESP_OK);
}

static void test_factory_reset_erases_and_reselects(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 2, ESP_OTA_IMG_VALID);
    fill(f, "nvs");
    fill(f, "phy_init");
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.factory_reset = true;
    cfg.factory_reset_erase_otadata = true;
    cfg.factory_reset_data = "nvs, fctry";
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, OTK_BOOT_INDEX_FACTORY);
    assert_string_equal(r->why, "factory-reset pin held, selected again: initial otadata: factory");
    assert_int_equal(r->erase_total, 2);
    assert_string_equal(r->erases[0].label, "nvs");
    assert_string_equal(r->erases[1].label, "otadata");
    assert_true(all_erased(f, "nvs"));
    assert_true(all_erased(f, "otadata"));
    assert_false(all_erased(f, "phy_init"));
    /* The entries as first read are kept in the result. */
    assert_true(r->has_otadata);
    assert_int_equal(r->otadata[0].ota_seq, 2);
    bf_destroy(f);
}

/* Without erasing otadata the selection runs twice, and ESP-IDF's order of events shows:
 * the first marks the NEW entry PENDING_VERIFY, the second sweeps it to ABORTED. */
static void test_factory_reset_keeping_otadata_aborts_new_entry(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
    bf_set_otadata(f, 1, 2, ESP_OTA_IMG_NEW);
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.factory_reset = true;
    cfg.factory_reset_data = "nvs";
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->write_count, 2);
    assert_int_equal(r->writes[0].kind, OTK_BOOT_WRITE_PENDING_VERIFY);
    assert_int_equal(r->writes[1].kind, OTK_BOOT_WRITE_ABORTED);
    esp_ota_select_entry_t s1 = bf_entry(2, ESP_OTA_IMG_ABORTED);
    bf_assert_sector(f, 1, &s1);
    assert_int_equal(r->erase_total, 1);
    bf_destroy(f);
}

static void test_label_list_matches_whole_labels(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_2OTA);
    fill(f, "nvs");
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.factory_reset = true;
    cfg.factory_reset_data = "nv nvs_keys,,phy"; /* no whole "nvs" */
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->erase_total, 0);
    assert_false(all_erased(f, "nvs"));
    bf_destroy(f);
}

static void test_test_pin(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_FACTORY_4OTA_TEST);
    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.test_app = true;
    otk_boot_result_t *r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_OK);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_TEST);
    assert_int_equal(r->index, OTK_BOOT_INDEX_TEST);
    assert_string_equal(r->partition.label, "test");
    assert_string_equal(r->why, "test-app pin held: test");

    /* A broken test app: no fallback to anything else. */
    bf_corrupt(f, "test");
    r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_ERR_NOT_FOUND);
    assert_int_equal(r->stage, OTK_BOOT_STAGE_LOAD);
    assert_int_equal(r->refused_count, 1);
    assert_int_equal(r->refused[0].index, OTK_BOOT_INDEX_TEST);
    bf_destroy(f);

    /* No test partition: the bootloader resets. */
    f = bf_create(BF_CSV_FACTORY_2OTA);
    r = bf_boot(f, &cfg);
    assert_int_equal(r->err, ESP_ERR_NOT_FOUND);
    assert_int_equal(r->stage, OTK_BOOT_STAGE_SELECT);
    assert_int_equal(r->selected_index, OTK_BOOT_INDEX_INVALID);
    bf_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factory_reset_erases_and_reselects),
        cmocka_unit_test(test_factory_reset_keeping_otadata_aborts_new_entry),
        cmocka_unit_test(test_label_list_matches_whole_labels),
        cmocka_unit_test(test_test_pin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
