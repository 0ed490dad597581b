/* The binary table under each reader's rules (spec §2.1): the app-side loader with and
 * without MD5, the bootloader's esp_partition_table_verify, gen_esp32part's reader; the
 * serializer; labels and flags kept byte for byte; load and write on a flash device. */
#include <string.h>

#include "otakit/crypto.h"
#include "otakit/flash.h"
#include "otakit/partition.h"
#include "test_support.h"

#define BIN OTK_PARTITION_TABLE_BIN_SIZE
#define SECTOR OTK_PARTITION_SECTOR_SIZE
#define FOUR_MB 0x400000u

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void record(uint8_t *r, uint8_t type, uint8_t subtype, uint32_t offset, uint32_t size,
                   const char *label, uint32_t flags)
{
    memset(r, 0, 32);
    r[0] = 0xAA;
    r[1] = 0x50;
    r[2] = type;
    r[3] = subtype;
    put_le32(r + 4, offset);
    put_le32(r + 8, size);
    memcpy(r + 12, label, strlen(label) < 16 ? strlen(label) : 16);
    put_le32(r + 28, flags);
}

static void md5_record(uint8_t *r, const uint8_t *covered, size_t len)
{
    memset(r, 0xFF, 32);
    r[0] = r[1] = 0xEB;
    otk_md5(covered, len, r + 16);
}

/* The partitions_two_ota table in a 4 KiB sector: 6 records, MD5 record, 0xFF. */
static void two_ota_sector(uint8_t *s)
{
    memset(s, 0xFF, SECTOR);
    record(s + 0 * 32, 1, 0x02, 0x9000, 0x4000, "nvs", 0);
    record(s + 1 * 32, 1, 0x00, 0xD000, 0x2000, "otadata", 0);
    record(s + 2 * 32, 1, 0x01, 0xF000, 0x1000, "phy_init", 0);
    record(s + 3 * 32, 0, 0x00, 0x10000, 0x100000, "factory", 0);
    record(s + 4 * 32, 0, 0x10, 0x110000, 0x100000, "ota_0", 0);
    record(s + 5 * 32, 0, 0x11, 0x210000, 0x100000, "ota_1", 0);
    md5_record(s + 6 * 32, s, 6 * 32);
}

static esp_err_t parse(const uint8_t *s, size_t len, otk_partition_rules_t rules, uint32_t chip,
                       otk_partition_table_t *t, otk_diag_t *d)
{
    otk_diag_clear(d);
    return otk_partition_table_parse(s, len, rules, chip, t, d);
}

static void expect(const uint8_t *s, size_t len, otk_partition_rules_t rules, uint32_t chip,
                   esp_err_t want, const char *needle)
{
    static otk_partition_table_t t;
    otk_diag_t d;
    esp_err_t err = parse(s, len, rules, chip, &t, &d);
    if (err != want || (needle != NULL && strstr(d.msg, needle) == NULL)) {
        fail_msg("rules %d: got 0x%x '%s', wanted 0x%x '%s'", (int)rules, err, d.msg, want,
                 needle ? needle : "");
    }
    if (err != ESP_OK) {
        assert_int_equal(t.count, 0);
    }
    /* Checking only (no table, as esp_ota_end does): the same verdict and reason under
     * the bootloader's rules; the other rules need a table. */
    otk_diag_t d2;
    esp_err_t only = parse(s, len, rules, chip, NULL, &d2);
    if (rules == OTK_PARTITION_RULES_BOOTLOADER) {
        assert_int_equal(only, err);
        assert_string_equal(d2.msg, d.msg);
    } else {
        assert_int_equal(only, ESP_ERR_INVALID_ARG);
    }
}

static void test_two_ota_all_rules(void **state)
{
    (void)state;
    uint8_t s[SECTOR];
    two_ota_sector(s);
    static const uint8_t md5[16] = {0xbf, 0x25, 0x82, 0x2c, 0x0f, 0xa6, 0xd8, 0x64,
                                    0x1b, 0xd9, 0x30, 0x25, 0x1e, 0x06, 0xb4, 0xc4};
    assert_memory_equal(s + 6 * 32 + 16, md5, 16);
    static const otk_partition_rules_t all[] = {
        OTK_PARTITION_RULES_APP_MD5, OTK_PARTITION_RULES_APP, OTK_PARTITION_RULES_BOOTLOADER,
        OTK_PARTITION_RULES_GEN};
    for (size_t r = 0; r < 4; r++) {
        static otk_partition_table_t t;
        otk_diag_t d;
        assert_int_equal(parse(s, SECTOR, all[r], FOUR_MB, &t, &d), ESP_OK);
        assert_int_equal(t.count, 6);
        assert_int_equal(t.md5, OTK_PARTITION_MD5_OK);
        assert_string_equal(t.parts[2].label, "phy_init");
        assert_int_equal(t.parts[4].subtype, ESP_PARTITION_SUBTYPE_APP_OTA_0);
        assert_int_equal(t.parts[4].address, 0x110000);
        assert_int_equal(t.parts[4].erase_size, 0x1000);
        assert_null(t.parts[4].flash_chip);
        uint8_t out[BIN];
        assert_int_equal(otk_partition_table_serialize(&t, true, out, &d), ESP_OK);
        assert_memory_equal(out, s, BIN);
    }
    /* gen_esp32part's output file is exactly 0xC00 bytes; the readers take it as is. */
    expect(s, BIN, OTK_PARTITION_RULES_APP_MD5, 0, ESP_OK, NULL);
    expect(s, BIN, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_OK, NULL);
}

static void test_app_loader(void **state)
{
    (void)state;
    uint8_t s[SECTOR];
    static otk_partition_table_t t;
    otk_diag_t d;
    /* A wrong digest rejects the whole table with MD5 rules; without them it is noted. */
    two_ota_sector(s);
    s[6 * 32 + 20] ^= 1;
    expect(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, ESP_ERR_INVALID_STATE, "record 6: MD5");
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_APP, 0, &t, &d), ESP_OK);
    assert_int_equal(t.count, 6);
    assert_int_equal(t.md5, OTK_PARTITION_MD5_MISMATCH);
    /* A changed record is a mismatch too. */
    two_ota_sector(s);
    s[3 * 32 + 8] ^= 0x10;
    expect(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, ESP_ERR_INVALID_STATE, "MD5");
    /* No MD5 record: NOT_FOUND with MD5 rules, fine without. */
    two_ota_sector(s);
    memset(s + 6 * 32, 0xFF, 32);
    expect(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, ESP_ERR_NOT_FOUND, "no MD5 record");
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_APP, 0, &t, &d), ESP_OK);
    assert_int_equal(t.md5, OTK_PARTITION_MD5_NONE);
    /* Any other magic ends the list; the bytes 2..15 of the MD5 record are not looked at. */
    two_ota_sector(s);
    s[6 * 32 + 5] = 0x00;
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, &t, &d), ESP_OK);
    s[2 * 32] = 0x12;
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_APP, 0, &t, &d), ESP_OK);
    assert_int_equal(t.count, 2);
    expect(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, ESP_ERR_NOT_FOUND, "magic 0x5012");
    /* No bounds checks on this side: a partition far past any flash loads. */
    two_ota_sector(s);
    put_le32(s + 5 * 32 + 4, 0xFFFF0000);
    md5_record(s + 6 * 32, s, 6 * 32);
    expect(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, ESP_OK, NULL);
    /* The loader scans the whole sector: more partitions than a table can hold. */
    for (size_t i = 0; i < SECTOR / 32; i++) {
        record(s + i * 32, 1, 0x81, 0x9000 + (uint32_t)i * 0x1000, 0x1000, "p", 0);
    }
    expect(s, SECTOR, OTK_PARTITION_RULES_APP, 0, ESP_ERR_INVALID_SIZE, "record 96");
    /* Data shorter than the sector: the rest counts as absent. */
    two_ota_sector(s);
    expect(s, 6 * 32, OTK_PARTITION_RULES_APP_MD5, 0, ESP_ERR_NOT_FOUND, "end of data");
    expect(s, 6 * 32, OTK_PARTITION_RULES_APP, 0, ESP_OK, NULL);
}

static void test_bootloader_rules(void **state)
{
    (void)state;
    uint8_t s[SECTOR];
    static otk_partition_table_t t;
    otk_diag_t d;
    two_ota_sector(s);
    /* two_ota ends at 0x310000: on a 2 MB chip ota_0 (to 0x210000) is the first too far. */
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, 0x200000, ESP_ERR_INVALID_SIZE,
           "record 4: partition 'ota_0' offset 0x110000 size 0x100000 exceeds flash chip size");
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, 0x310000, ESP_OK, NULL);
    /* No MD5 record is fine for the bootloader. */
    memset(s + 6 * 32, 0xFF, 32);
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, &t, &d), ESP_OK);
    assert_int_equal(t.md5, OTK_PARTITION_MD5_NONE);
    /* Records after the MD5 record still count; a second MD5 record does not pass. */
    two_ota_sector(s);
    record(s + 7 * 32, 1, 0x81, 0x310000, 0x1000, "late", 0);
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, &t, &d), ESP_OK);
    assert_int_equal(t.count, 7);
    md5_record(s + 8 * 32, s, 8 * 32);
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_ERR_INVALID_STATE,
           "record 8: a second MD5 record");
    /* The terminator needs magic 0xFFFF and type/subtype 0xFF; the rest is not read. */
    two_ota_sector(s);
    s[7 * 32 + 10] = 0;
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_OK, NULL);
    s[7 * 32 + 3] = 0;
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_ERR_INVALID_STATE,
           "record 7: invalid magic number 0xffff");
    two_ota_sector(s);
    s[2 * 32 + 1] = 0x51;
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_ERR_INVALID_STATE,
           "record 2: invalid magic number 0x51aa");
    /* An empty table (terminator first) is not a table. */
    memset(s, 0xFF, SECTOR);
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_ERR_INVALID_STATE,
           "empty table");
    /* 96 records and no terminator. */
    for (size_t i = 0; i < 96; i++) {
        record(s + i * 32, 1, 0x81, 0x9000 + (uint32_t)i * 0x1000, 0x1000, "p", 0);
    }
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_ERR_INVALID_STATE,
           "no terminating record");
    /* 95 partitions and the terminator is the most it takes. */
    memset(s + 95 * 32, 0xFF, 32);
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_OK, NULL);
    /* The size check is not fooled by wrap-around. */
    two_ota_sector(s);
    put_le32(s + 8, 0xFFFFF000);
    md5_record(s + 6 * 32, s, 6 * 32);
    expect(s, SECTOR, OTK_PARTITION_RULES_BOOTLOADER, FOUR_MB, ESP_ERR_INVALID_SIZE, "record 0");
}

static void test_gen_reader(void **state)
{
    (void)state;
    uint8_t s[SECTOR];
    static otk_partition_table_t t;
    otk_diag_t d;
    two_ota_sector(s);
    /* The table ends at the first all-0xFF record; length must be a multiple of 32. */
    expect(s, 8 * 32, OTK_PARTITION_RULES_GEN, 0, ESP_OK, NULL);
    expect(s, 7 * 32, OTK_PARTITION_RULES_GEN, 0, ESP_ERR_INVALID_STATE,
           "missing an end-of-table marker");
    expect(s, 7 * 32 + 5, OTK_PARTITION_RULES_GEN, 0, ESP_ERR_INVALID_SIZE,
           "multiple of 32 bytes");
    s[6 * 32 + 31] ^= 1;
    expect(s, SECTOR, OTK_PARTITION_RULES_GEN, 0, ESP_ERR_INVALID_STATE,
           "MD5 checksums don't match! (computed: 0xbf25822c0fa6d8641bd930251e06b4c4, parsed: "
           "0xbf25822c0fa6d8641bd930251e06b4c5)");
    /* --disable-md5sum: the MD5 record is just a record with bad magic bytes. */
    two_ota_sector(s);
    expect(s, SECTOR, OTK_PARTITION_RULES_GEN_NO_MD5, 0, ESP_ERR_INVALID_STATE,
           "record 6: Invalid magic bytes (eb eb)");
    /* Several MD5 records are fine if each matches the partition records before it. */
    two_ota_sector(s);
    record(s + 7 * 32, 1, 0x81, 0x310000, 0x1000, "late", 0);
    uint8_t covered[7 * 32];
    memcpy(covered, s, 6 * 32);
    memcpy(covered + 6 * 32, s + 7 * 32, 32);
    md5_record(s + 8 * 32, covered, sizeof covered);
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_GEN, 0, &t, &d), ESP_OK);
    assert_int_equal(t.count, 7);
    /* Unknown flag bits are dropped; a label must be UTF-8. */
    two_ota_sector(s);
    put_le32(s + 28, 0x80000003);
    md5_record(s + 6 * 32, s, 6 * 32);
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_GEN, 0, &t, &d), ESP_OK);
    assert_int_equal(t.flags[0], 3);
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, &t, &d), ESP_OK);
    assert_int_equal(t.flags[0], 0x80000003);
    s[12] = 0xC3;
    s[13] = 0x28;
    md5_record(s + 6 * 32, s, 6 * 32);
    expect(s, SECTOR, OTK_PARTITION_RULES_GEN, 0, ESP_ERR_INVALID_STATE, "not valid UTF-8");
    expect(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, ESP_OK, NULL);
    /* An empty table is a valid (empty) gen_esp32part table. */
    memset(s, 0xFF, 32);
    assert_int_equal(parse(s, 32, OTK_PARTITION_RULES_GEN, 0, &t, &d), ESP_OK);
    assert_int_equal(t.count, 0);
}

static void test_labels_and_flags(void **state)
{
    (void)state;
    uint8_t s[SECTOR];
    memset(s, 0xFF, SECTOR);
    record(s, 1, 0x81, 0x9000, 0x1000, "sixteen_chars_xx", PART_FLAG_READONLY);
    record(s + 32, 1, 0x81, 0xA000, 0x1000, "ab", PART_FLAG_ENCRYPTED | 0x100);
    s[32 + 12 + 5] = 'z'; /* junk after the terminating NUL */
    md5_record(s + 64, s, 64);
    static otk_partition_table_t t;
    otk_diag_t d;
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_APP_MD5, 0, &t, &d), ESP_OK);
    /* 16 chars, no NUL in the record: the label is all 16 */
    assert_string_equal(t.parts[0].label, "sixteen_chars_xx");
    assert_true(t.parts[0].readonly);
    assert_false(t.parts[0].encrypted);
    assert_string_equal(t.parts[1].label, "ab");
    assert_false(t.parts[1].encrypted); /* never on a host (no flash encryption) */
    assert_int_equal(t.flags[1], PART_FLAG_ENCRYPTED | 0x100);
    /* Re-serialized, the records are the input records exactly. */
    uint8_t out[BIN];
    assert_int_equal(otk_partition_table_serialize(&t, true, out, &d), ESP_OK);
    assert_memory_equal(out, s, BIN);
}

static void test_serialize(void **state)
{
    (void)state;
    static otk_partition_table_t t;
    otk_diag_t d;
    uint8_t out[BIN], want[BIN];
    otk_partition_table_init(&t, 0x8000);
    assert_int_equal(otk_partition_table_serialize(&t, true, out, &d), ESP_OK);
    memset(want, 0xFF, BIN);
    md5_record(want, want, 0); /* MD5 of nothing: d41d8cd9... */
    assert_memory_equal(out, want, BIN);
    assert_int_equal(out[16], 0xd4);

    for (int i = 0; i < 94; i++) {
        assert_int_equal(otk_partition_table_add(&t, "p", 1, 0x81, 0x9000 + (uint32_t)i * 0x1000,
                                                 0x1000, 0), ESP_OK);
    }
    assert_int_equal(otk_partition_table_serialize(&t, true, out, &d), ESP_OK);
    assert_int_equal(out[94 * 32], 0xEB);
    assert_int_equal(out[95 * 32], 0xFF);
    assert_int_equal(otk_partition_table_add(&t, "p", 1, 0x81, 0x200000, 0x1000, 0), ESP_OK);
    assert_int_equal(otk_partition_table_serialize(&t, true, out, &d), ESP_ERR_INVALID_SIZE);
    assert_non_null(strstr(d.msg, "Binary partition table length (3072) longer than max"));
    assert_int_equal(otk_partition_table_serialize(&t, false, out, &d), ESP_OK);
    assert_int_equal(otk_partition_table_add(&t, "p", 1, 0x81, 0x201000, 0x1000, 0), ESP_OK);
    assert_int_equal(otk_partition_table_serialize(&t, false, out, &d), ESP_ERR_INVALID_SIZE);
    /* The table is full at 96. */
    assert_int_equal(t.count, 96);
    assert_int_equal(otk_partition_table_add(&t, "p", 1, 0x81, 0x202000, 0x1000, 0),
                     ESP_ERR_NO_MEM);
    assert_int_equal(otk_partition_table_parse(NULL, 1, OTK_PARTITION_RULES_APP, 0, &t, &d),
                     ESP_ERR_INVALID_ARG);
}

static void test_on_flash(void **state)
{
    (void)state;
    otk_flash_t *flash;
    assert_int_equal(otk_flash_mem_create(FOUR_MB, &flash), ESP_OK);
    uint8_t s[SECTOR];
    two_ota_sector(s);
    static otk_partition_table_t t, back;
    otk_diag_t d;
    assert_int_equal(parse(s, SECTOR, OTK_PARTITION_RULES_GEN, 0, &t, &d), ESP_OK);
    /* An erased device has no table. */
    assert_int_equal(otk_partition_table_load(flash, 0x8000, OTK_PARTITION_RULES_APP_MD5, &back,
                                              &d), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_partition_table_write(flash, 0x8000, &t, true, &d), ESP_OK);
    uint8_t sector[SECTOR];
    assert_int_equal(otk_flash_read(flash, 0x8000, sector, SECTOR), ESP_OK);
    assert_memory_equal(sector, s, SECTOR);
    assert_int_equal(otk_partition_table_load(flash, 0x8000, OTK_PARTITION_RULES_APP_MD5, &back,
                                              &d), ESP_OK);
    assert_int_equal(back.count, 6);
    assert_int_equal(back.table_offset, 0x8000);
    assert_ptr_equal(back.parts[3].flash_chip, flash);
    assert_int_equal(otk_partition_table_load(flash, 0x8000, OTK_PARTITION_RULES_BOOTLOADER,
                                              &back, &d), ESP_OK);
    /* Offsets must be sector-aligned and inside the device. */
    assert_int_equal(otk_partition_table_load(flash, 0x8100, OTK_PARTITION_RULES_APP, &back, &d),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_partition_table_load(flash, FOUR_MB, OTK_PARTITION_RULES_APP, &back,
                                              &d), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_partition_table_write(flash, FOUR_MB - 0x800, &t, true, &d),
                     ESP_ERR_INVALID_ARG);
    /* On a 2 MB device the bootloader refuses two_ota. */
    otk_flash_t *small;
    assert_int_equal(otk_flash_mem_create(0x200000, &small), ESP_OK);
    assert_int_equal(otk_partition_table_write(small, 0x8000, &t, true, &d), ESP_OK);
    assert_int_equal(otk_partition_table_load(small, 0x8000, OTK_PARTITION_RULES_BOOTLOADER,
                                              &back, &d), ESP_ERR_INVALID_SIZE);
    assert_int_equal(back.count, 0);
    otk_flash_destroy(small);
    otk_flash_destroy(flash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_ota_all_rules), cmocka_unit_test(test_app_loader),
        cmocka_unit_test(test_bootloader_rules),  cmocka_unit_test(test_gen_reader),
        cmocka_unit_test(test_labels_and_flags),  cmocka_unit_test(test_serialize),
        cmocka_unit_test(test_on_flash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
