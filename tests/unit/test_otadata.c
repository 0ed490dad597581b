/* otadata: CRC vectors, validity, selection, seq arithmetic, the rewrite plan (v6 and v5
 * rules) and the worked timeline of spec §3.6 on an emulated flash, byte for byte. */
#include <string.h>

#include "otakit/flash.h"
#include "otakit/otadata.h"
#include "test_support.h"

static esp_ota_select_entry_t entry(uint32_t seq, uint32_t state)
{
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, seq, state, NULL);
    return e;
}

static esp_ota_select_entry_t empty_entry(void)
{
    esp_ota_select_entry_t e;
    memset(&e, 0xFF, sizeof e);
    return e;
}

static void test_crc_vectors(void **state)
{
    (void)state;
    static const struct {
        uint32_t seq, crc;
    } v[] = {
        {1, 0x4743989A}, {2, 0x55F63774}, {3, 0xED4A5011}, {4, 0x709D68A8},
        {5, 0xC8210FCD}, {6, 0xDA94A023}, {7, 0x6228C746}, {8, 0x3A4BD710},
        {0, 0xFFFFFFFF}, {0xFFFFFFFF, 0x2144DF1C},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(otk_otadata_crc(v[i].seq), v[i].crc);
    }
}

static void test_entry_bytes(void **state)
{
    (void)state;
    esp_ota_select_entry_t e = entry(2, ESP_OTA_IMG_NEW);
    const uint8_t *b = (const uint8_t *)&e;
    static const uint8_t want_head[4] = {0x02, 0x00, 0x00, 0x00};
    static const uint8_t want_tail[8] = {0x00, 0x00, 0x00, 0x00, 0x74, 0x37, 0xF6, 0x55};
    assert_memory_equal(b, want_head, 4);
    for (int i = 4; i < 24; i++) {
        assert_int_equal(b[i], 0xFF);
    }
    assert_memory_equal(b + 24, want_tail, 8);
}

static void test_validity(void **state)
{
    (void)state;
    esp_ota_select_entry_t e = empty_entry();
    assert_true(otk_otadata_entry_invalid(&e));
    assert_false(otk_otadata_entry_valid(&e));
    assert_false(otk_otadata_entry_present(&e));

    static const uint32_t bootable[] = {ESP_OTA_IMG_NEW, ESP_OTA_IMG_PENDING_VERIFY,
                                        ESP_OTA_IMG_VALID, ESP_OTA_IMG_UNDEFINED};
    for (size_t i = 0; i < 4; i++) {
        e = entry(5, bootable[i]);
        assert_true(otk_otadata_entry_valid(&e));
    }
    e = entry(5, ESP_OTA_IMG_INVALID);
    assert_true(otk_otadata_entry_invalid(&e));
    assert_true(otk_otadata_entry_present(&e));
    e = entry(5, ESP_OTA_IMG_ABORTED);
    assert_false(otk_otadata_entry_valid(&e));

    /* A bad CRC is not "invalid" (the bootloader's both-invalid test ignores CRC) but is
     * not valid either. */
    e = entry(5, ESP_OTA_IMG_VALID);
    e.crc ^= 1;
    assert_false(otk_otadata_entry_invalid(&e));
    assert_false(otk_otadata_entry_valid(&e));
    assert_false(otk_otadata_entry_present(&e));

    /* seq 0 over an erased CRC field passes the CRC check (spec §3.2 vector). */
    e = empty_entry();
    e.ota_seq = 0;
    assert_true(otk_otadata_crc_ok(&e));
}

static void test_initial(void **state)
{
    (void)state;
    esp_ota_select_entry_t two[2] = {empty_entry(), empty_entry()};
    assert_true(otk_otadata_is_initial(two));
    two[1] = entry(3, ESP_OTA_IMG_ABORTED); /* present (good CRC) though not bootable */
    assert_false(otk_otadata_is_initial(two));
    two[1].crc = 0;
    assert_true(otk_otadata_is_initial(two));
}

static void test_select_and_active(void **state)
{
    (void)state;
    esp_ota_select_entry_t two[2] = {entry(3, ESP_OTA_IMG_VALID), entry(4, ESP_OTA_IMG_VALID)};
    const bool both[2] = {true, true};
    assert_int_equal(otk_otadata_select(two, both, true), 1);
    assert_int_equal(otk_otadata_select(two, both, false), 0);
    assert_int_equal(otk_otadata_active(two), 1);

    two[1] = entry(3, ESP_OTA_IMG_VALID); /* tie: entry 0 wins either way */
    assert_int_equal(otk_otadata_select(two, both, true), 0);
    assert_int_equal(otk_otadata_select(two, both, false), 0);

    two[1] = entry(9, ESP_OTA_IMG_ABORTED);
    assert_int_equal(otk_otadata_active(two), 0);
    two[0] = entry(2, ESP_OTA_IMG_INVALID);
    assert_int_equal(otk_otadata_active(two), OTK_OTADATA_NONE);
    const bool none[2] = {false, false};
    assert_int_equal(otk_otadata_select(two, none, true), OTK_OTADATA_NONE);
}

static void test_seq_arithmetic(void **state)
{
    (void)state;
    /* spec §3.5 examples */
    assert_int_equal(otk_otadata_next_seq(1, 1, 2), 2);
    assert_int_equal(otk_otadata_next_seq(2, 0, 2), 3);
    assert_int_equal(otk_otadata_next_seq(5, 7, 8), 8);
    assert_int_equal(otk_otadata_next_seq(4, 2, 3), 6);
    assert_int_equal(otk_otadata_slot_of_seq(1, 2), 0);
    assert_int_equal(otk_otadata_slot_of_seq(6, 3), 2);
    /* seq 0: (0 - 1) mod n in unsigned arithmetic */
    assert_int_equal(otk_otadata_slot_of_seq(0, 2), 1);
    assert_int_equal(otk_otadata_slot_of_seq(0, 3), 0xFFFFFFFFu % 3);
    for (uint32_t n = 1; n <= 16; n++) {
        for (uint32_t active = 1; active < 100; active++) {
            for (uint32_t slot = 0; slot < n; slot++) {
                uint32_t next = otk_otadata_next_seq(active, slot, n);
                assert_true(next >= active);
                assert_true(next < active + n);
                if (next != 0) {
                    assert_int_equal(otk_otadata_slot_of_seq(next, n), slot);
                }
            }
        }
    }
}

static void test_plan(void **state)
{
    (void)state;
    esp_ota_select_entry_t two[2] = {empty_entry(), empty_entry()};
    esp_ota_select_entry_t e;
    int sector = -1;

    /* No active entry: sector 0, seq slot+1. */
    assert_int_equal(otk_otadata_plan_select(two, 1, 2, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_OK);
    assert_int_equal(sector, 0);
    assert_int_equal(e.ota_seq, 2);
    assert_int_equal(e.ota_state, ESP_OTA_IMG_NEW);
    assert_int_equal(e.crc, 0x55F63774);

    /* Other slot: the other sector, next seq; its old label bytes are kept. */
    two[0] = entry(1, ESP_OTA_IMG_VALID);
    memset(two[1].seq_label, 0x5A, sizeof two[1].seq_label);
    assert_int_equal(otk_otadata_plan_select(two, 1, 2, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_OK);
    assert_int_equal(sector, 1);
    assert_int_equal(e.ota_seq, 2);
    assert_int_equal(e.seq_label[0], 0x5A);
    assert_int_equal(e.seq_label[19], 0x5A);

    /* Same slot, v6: same sector, same seq, new state. */
    assert_int_equal(otk_otadata_plan_select(two, 0, 2, ESP_OTA_IMG_UNDEFINED,
                                             OTK_OTADATA_RULE_V6, &sector, &e), ESP_OK);
    assert_int_equal(sector, 0);
    assert_int_equal(e.ota_seq, 1);
    assert_int_equal(e.ota_state, ESP_OTA_IMG_UNDEFINED);
    /* Same slot, v5: the other sector gets an equal seq. */
    assert_int_equal(otk_otadata_plan_select(two, 0, 2, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V5,
                                             &sector, &e), ESP_OK);
    assert_int_equal(sector, 1);
    assert_int_equal(e.ota_seq, 1);

    /* Bad arguments. */
    assert_int_equal(otk_otadata_plan_select(two, 2, 2, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_otadata_plan_select(two, 0, 0, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_otadata_plan_select(two, 0, 17, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_ERR_INVALID_ARG);

    /* A seq 0 entry is "valid" (CRC of 0 is 0xFFFFFFFF, an erased CRC field). ESP-IDF's
     * formula would answer seq 0 again for the last slot of a 3-slot layout, and seq 0
     * boots slot (0 - 1) mod 3 = 0, not 2. Found by fuzz_otadata. */
    esp_ota_select_entry_t zero[2] = {empty_entry(), empty_entry()};
    zero[1].ota_seq = 0;
    assert_true(otk_otadata_entry_valid(&zero[1]));
    assert_int_equal(otk_otadata_plan_select(zero, 2, 3, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_OK);
    assert_int_equal(sector, 0);
    assert_int_equal(e.ota_seq, 3);
    assert_int_equal(otk_otadata_slot_of_seq(e.ota_seq, 3), 2);

    /* Seq space exhausted: refuse rather than wrap to an empty/old seq. */
    two[0] = entry(0xFFFFFFFE, ESP_OTA_IMG_VALID);
    assert_int_equal(otk_otadata_plan_select(two, 0, 2, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_ERR_INVALID_STATE);
    two[0] = entry(0xFFFFFFFD, ESP_OTA_IMG_VALID); /* slot 0 of 2 */
    assert_int_equal(otk_otadata_plan_select(two, 1, 2, ESP_OTA_IMG_NEW, OTK_OTADATA_RULE_V6,
                                             &sector, &e), ESP_OK);
    assert_int_equal(e.ota_seq, 0xFFFFFFFE);
}

/* --- on flash --- */

typedef struct {
    otk_flash_t *flash;
    esp_partition_t part;
} fixture_t;

static int setup_flash(void **state)
{
    static fixture_t fx;
    assert_int_equal(otk_flash_mem_create(0x10000, &fx.flash), ESP_OK);
    memset(&fx.part, 0, sizeof fx.part);
    fx.part.flash_chip = fx.flash;
    fx.part.type = ESP_PARTITION_TYPE_DATA;
    fx.part.subtype = ESP_PARTITION_SUBTYPE_DATA_OTA;
    fx.part.address = 0xD000 - 0x8000; /* anywhere sector-aligned inside the 64 KiB device */
    fx.part.size = OTK_OTADATA_SIZE;
    fx.part.erase_size = 0x1000;
    strcpy(fx.part.label, "otadata");
    *state = &fx;
    return 0;
}

static int teardown_flash(void **state)
{
    fixture_t *fx = *state;
    otk_flash_destroy(fx->flash);
    return 0;
}

static void expect_sector(fixture_t *fx, int sector, uint32_t seq, uint32_t st)
{
    uint8_t raw[OTK_OTADATA_SECTOR_SIZE];
    assert_int_equal(otk_flash_read(fx->flash, fx->part.address + (uint32_t)sector * 0x1000, raw,
                                    sizeof raw), ESP_OK);
    esp_ota_select_entry_t want = entry(seq, st);
    assert_memory_equal(raw, &want, sizeof want);
    for (size_t i = sizeof want; i < sizeof raw; i++) {
        assert_int_equal(raw[i], 0xFF);
    }
}

static void expect_empty(fixture_t *fx, int sector)
{
    uint8_t raw[OTK_OTADATA_SECTOR_SIZE];
    assert_int_equal(otk_flash_read(fx->flash, fx->part.address + (uint32_t)sector * 0x1000, raw,
                                    sizeof raw), ESP_OK);
    for (size_t i = 0; i < sizeof raw; i++) {
        assert_int_equal(raw[i], 0xFF);
    }
}

/* spec §3.6, the app-side writes of the timeline (the bootloader steps are written with
 * set_state here; the boot layer does them itself in a later layer). */
static void test_timeline_on_flash(void **state)
{
    fixture_t *fx = *state;
    esp_ota_select_entry_t two[2];
    int sector;

    assert_int_equal(otk_otadata_read(&fx->part, two), ESP_OK);
    assert_true(otk_otadata_is_initial(two));

    assert_int_equal(otk_otadata_select_slot(&fx->part, 0, 2, ESP_OTA_IMG_NEW,
                                             OTK_OTADATA_RULE_V6, &sector), ESP_OK);
    assert_int_equal(sector, 0);
    expect_sector(fx, 0, 1, ESP_OTA_IMG_NEW);
    expect_empty(fx, 1);

    assert_int_equal(otk_otadata_set_state(&fx->part, 0, ESP_OTA_IMG_PENDING_VERIFY), ESP_OK);
    assert_int_equal(otk_otadata_set_state(&fx->part, 0, ESP_OTA_IMG_VALID), ESP_OK);
    expect_sector(fx, 0, 1, ESP_OTA_IMG_VALID);

    assert_int_equal(otk_otadata_select_slot(&fx->part, 1, 2, ESP_OTA_IMG_NEW,
                                             OTK_OTADATA_RULE_V6, &sector), ESP_OK);
    assert_int_equal(sector, 1);
    expect_sector(fx, 0, 1, ESP_OTA_IMG_VALID);
    expect_sector(fx, 1, 2, ESP_OTA_IMG_NEW);

    assert_int_equal(otk_otadata_set_state(&fx->part, 1, ESP_OTA_IMG_PENDING_VERIFY), ESP_OK);
    assert_int_equal(otk_otadata_set_state(&fx->part, 1, ESP_OTA_IMG_ABORTED), ESP_OK);
    assert_int_equal(otk_otadata_read(&fx->part, two), ESP_OK);
    assert_int_equal(otk_otadata_active(two), 0); /* rollback to seq 1 = ota_0 */

    /* Next OTA to ota_1: seq 2 again in sector 1 (active is still seq 1). */
    assert_int_equal(otk_otadata_select_slot(&fx->part, 1, 2, ESP_OTA_IMG_NEW,
                                             OTK_OTADATA_RULE_V6, &sector), ESP_OK);
    expect_sector(fx, 1, 2, ESP_OTA_IMG_NEW);

    /* 7 writes (3 selections, 4 state changes), each one sector erase and two page
     * programs (the entry without its CRC, then the CRC: docs/power-loss.md), plus one
     * page program retiring the old entry in the 5 writes over a sector that held one. */
    assert_int_equal(fx->flash->stats.erase_sectors, 7);
    assert_int_equal(fx->flash->stats.program_pages, 7 * 2 + 5);

    assert_int_equal(otk_otadata_erase(&fx->part), ESP_OK);
    expect_empty(fx, 0);
    expect_empty(fx, 1);
}

static void test_io_errors(void **state)
{
    fixture_t *fx = *state;
    esp_ota_select_entry_t two[2];
    esp_partition_t small = fx->part;
    small.size = 0x1000;
    assert_int_equal(otk_otadata_read(&small, two), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_otadata_read(NULL, two), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_otadata_erase_sector(&fx->part, 2), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_otadata_set_state(&fx->part, -1, ESP_OTA_IMG_VALID),
                     ESP_ERR_INVALID_ARG);

    /* A power cut while the sector is erased leaves it empty, the other entry intact. */
    assert_int_equal(otk_otadata_erase(&fx->part), ESP_OK);
    assert_int_equal(otk_otadata_select_slot(&fx->part, 0, 2, ESP_OTA_IMG_VALID,
                                             OTK_OTADATA_RULE_V6, NULL), ESP_OK);
    otk_flash_arm_fault(fx->flash, 2, OTK_FLASH_FAULT_CUT_BEFORE, 1); /* the program */
    assert_int_equal(otk_otadata_select_slot(&fx->part, 1, 2, ESP_OTA_IMG_NEW,
                                             OTK_OTADATA_RULE_V6, NULL), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(fx->flash);
    expect_sector(fx, 0, 1, ESP_OTA_IMG_VALID);
    expect_empty(fx, 1);
    assert_int_equal(otk_otadata_read(&fx->part, two), ESP_OK);
    assert_int_equal(otk_otadata_active(two), 0);
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(otk_otadata_state_name(ESP_OTA_IMG_PENDING_VERIFY), "PENDING_VERIFY");
    assert_string_equal(otk_otadata_state_name(ESP_OTA_IMG_UNDEFINED), "UNDEFINED");
    assert_string_equal(otk_otadata_state_name(7), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_entry_bytes),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_initial),
        cmocka_unit_test(test_select_and_active),
        cmocka_unit_test(test_seq_arithmetic),
        cmocka_unit_test(test_plan),
        cmocka_unit_test_setup_teardown(test_timeline_on_flash, setup_flash, teardown_flash),
        cmocka_unit_test_setup_teardown(test_io_errors, setup_flash, teardown_flash),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
