/* Hostile otadata, each entry with a CRC that checks out: seq 0, seq 0xFFFFFFFE (the top
 * of the seq space), seq 0xFFFFFFFF (the erased value, whatever its CRC says) and states
 * outside esp_ota_img_states_t. The bootloader selects what ESP-IDF's would; the OTA engine
 * refuses a selection that would run out of seqs, with the reason logged and otadata
 * byte-identical; no boot rewrites an entry it does not own. */
#include <string.h>

#include "boot_fixture.h"
#include "hostile.h"
#include "ota_fixture.h"
#include "otakit/device.h"
#include "otakit/ota.h"
#include "test_support.h"

/* States no ESP-IDF version writes. */
#define STATE_UNKNOWN_SMALL 7u
#define STATE_UNKNOWN_LARGE 0x12345678u

/* A device on flash f (rollback on), booted; asserts it boots. */
static void start(otk_device_t *dev, otk_flash_t *f)
{
    otk_device_config_t cfg;
    of_config(&cfg);
    cfg.chip_id = BF_CHIP;
    of_start(dev, f, &cfg, 0);
}

static void test_seq_zero(void **state)
{
    (void)state;
    /* seq 0 passes the CRC (the CRC of seq 0 is 0xFFFFFFFF) and selects slot
     * (0 - 1) mod n: ota_1 of two slots, ota_0 of three. As ESP-IDF's bootloader. */
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_set_otadata(f, 0, 0, ESP_OTA_IMG_VALID);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_string_equal(r->partition.label, "ota_1");
    assert_int_equal(r->write_count, 0);
    /* The engine never writes seq 0, and its next seq follows from 1: ota_0 gets seq 1. */
    otk_device_t dev;
    start(&dev, f);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0")), ESP_OK);
    esp_ota_select_entry_t e[2];
    bf_read_otadata(f, e);
    assert_int_equal(e[1].ota_seq, 1);
    r = bf_boot(f, NULL);
    assert_string_equal(r->partition.label, "ota_0");
    bf_destroy(f);

    f = bf_create(BF_CSV_3OTA);
    bf_set_otadata(f, 1, 0, ESP_OTA_IMG_VALID);
    r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_string_equal(r->partition.label, "ota_0");
    bf_destroy(f);
}

static void test_top_of_seq_space(void **state)
{
    (void)state;
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_set_otadata(f, 0, 0xFFFFFFFEu, ESP_OTA_IMG_VALID);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_int_equal(r->err, ESP_OK);
    assert_string_equal(r->partition.label, "ota_1"); /* (0xFFFFFFFE - 1) mod 2 */
    otk_device_t dev;
    start(&dev, f);
    /* Another slot would need seq 0xFFFFFFFF: the erased value, an entry that reads as
     * empty (ESP-IDF's 32-bit formula writes it and the device falls back to the initial
     * state). Refused, said, nothing written. */
    uint8_t before[32];
    hs_flash_sha(f, before);
    hs_log_capture();
    esp_err_t err = otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0"));
    hs_expect("next seq past 0xFFFFFFFE", err, ESP_ERR_INVALID_STATE, hs_last_log(),
              "cannot select slot 0 of 2: the next seq after the active 0xfffffffe would reach "
              "0xFFFFFFFF (the erased value): the seq space is used up");
    hs_unchanged("set_boot at the top of the seq space", f, before);
    /* The slot already selected keeps its seq (v6: the state is rewritten in place). */
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_1")), ESP_OK);
    esp_ota_select_entry_t e[2];
    bf_read_otadata(f, e);
    assert_int_equal(e[0].ota_seq, 0xFFFFFFFEu);
    bf_destroy(f);
}

static void test_seq_all_ones(void **state)
{
    (void)state;
    /* seq 0xFFFFFFFF is "no entry", even with the CRC of 0xFFFFFFFF stored beside it. */
    esp_ota_select_entry_t ones = bf_entry(0xFFFFFFFFu, ESP_OTA_IMG_VALID);
    assert_true(otk_otadata_crc_ok(&ones));
    assert_false(otk_otadata_entry_valid(&ones));
    otk_flash_t *f = bf_create(BF_CSV_2OTA);
    bf_set_otadata_raw(f, 0, &ones);
    bf_set_otadata(f, 1, 6, ESP_OTA_IMG_VALID);
    otk_boot_result_t *r = bf_boot(f, NULL);
    assert_string_equal(r->partition.label, "ota_1"); /* seq 6 */
    assert_int_equal(r->write_count, 0);
    bf_assert_sector(f, 0, &ones);
    bf_destroy(f);
    /* Alone it is the initial state: ota_0 boots and gets seq 1 in sector 0 (the boot's
     * own initial write, as on a blank otadata). */
    f = bf_create(BF_CSV_2OTA);
    bf_set_otadata_raw(f, 1, &ones);
    r = bf_boot(f, NULL);
    assert_string_equal(r->partition.label, "ota_0");
    assert_true(r->initial_contents);
    bf_assert_sector(f, 1, &ones);
    bf_destroy(f);
}

static void test_unknown_states(void **state)
{
    (void)state;
    static const uint32_t states[] = {STATE_UNKNOWN_SMALL, STATE_UNKNOWN_LARGE};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        /* Not INVALID or ABORTED, so valid (ESP-IDF's rule); not NEW or PENDING_VERIFY,
         * so the rollback sweep leaves it alone: it boots and nothing is written. */
        otk_flash_t *f = bf_create(BF_CSV_2OTA);
        bf_set_otadata(f, 0, 1, ESP_OTA_IMG_VALID);
        bf_set_otadata(f, 1, 2, states[i]);
        uint8_t before[32];
        hs_flash_sha(f, before);
        otk_boot_config_t cfg;
        otk_boot_config_init(&cfg);
        cfg.rollback = true;
        otk_boot_result_t *r = bf_boot(f, &cfg);
        assert_int_equal(r->err, ESP_OK);
        assert_string_equal(r->partition.label, "ota_1");
        assert_int_equal(r->write_count, 0);
        hs_unchanged("an unknown state at boot", f, before);
        /* Its name says what it is rather than pretending to be one of the enum. */
        const char *name = otk_otadata_state_name(states[i]);
        assert_non_null(name);
        assert_string_not_equal(name, "VALID");
        assert_string_not_equal(name, "UNDEFINED");
        /* The running app's state is reported as stored; the engine can still move on. */
        otk_device_t dev;
        start(&dev, f);
        esp_ota_img_states_t st = ESP_OTA_IMG_VALID;
        assert_int_equal(otk_ota_get_state_partition(&dev, of_part(&dev, "ota_1"), &st), ESP_OK);
        assert_int_equal((uint32_t)st, states[i]);
        assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0")), ESP_OK);
        r = bf_boot(f, NULL);
        assert_string_equal(r->partition.label, "ota_0");
        bf_destroy(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_zero),
        cmocka_unit_test(test_top_of_seq_space),
        cmocka_unit_test(test_seq_all_ones),
        cmocka_unit_test(test_unknown_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
