/* Hostile binary partition tables, under each reader's rules (the app-side loader with and
 * without MD5, the bootloader, gen_esp32part with and without MD5): a partition whose
 * offset + size overflows 32 bits, 95/96/97 records, two MD5 records, the MD5 record
 * first, a 16-byte label with no NUL, overlapping partitions. Each reader takes or refuses
 * the table as ESP-IDF's own does, naming the record; what a lax reader takes can still
 * not reach outside its partition or wrap around to flash address 0. No flash byte
 * changes. */
#include <stdio.h>
#include <string.h>

#include "hostile.h"
#include "otakit/crypto.h"
#include "otakit/partition.h"
#include "test_support.h"

#define FLASH_SIZE 0x400000u
#define SECTOR OTK_PARTITION_SECTOR_SIZE
#define REC OTK_PARTITION_RECORD_SIZE
#define TABLE_AT 0x8000u
/* Records the app-side loader may scan: the whole 4 KiB sector. */
#define SECTOR_RECORDS (SECTOR / REC)

static uint8_t bin[SECTOR];
static otk_partition_table_t table;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* An erased sector (every record reads as the end). */
static void blank(void)
{
    memset(bin, 0xFF, sizeof bin);
}

static void record(size_t i, const char *label, uint8_t type, uint8_t subtype,
                   uint32_t offset, uint32_t size)
{
    uint8_t *r = bin + i * REC;
    memset(r, 0, REC);
    r[0] = 0xAA;
    r[1] = 0x50;
    r[2] = type;
    r[3] = subtype;
    put32(r + 4, offset);
    put32(r + 8, size);
    memcpy(r + 12, label, strlen(label) < 16 ? strlen(label) : 16);
}

/* The MD5 record at i over the first n records. */
static void md5_record(size_t i, size_t n)
{
    uint8_t *r = bin + i * REC;
    memset(r, 0xFF, REC);
    r[0] = r[1] = 0xEB;
    otk_md5(bin, n * REC, r + OTK_PARTITION_MD5_OFFSET);
}

/* n data partitions of 4 KiB from 0x10000 on, records 0..n-1. */
static void data_parts(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char label[17];
        snprintf(label, sizeof label, "d%zu", i);
        record(i, label, 1, 0x81, 0x10000u + (uint32_t)i * 0x1000u, 0x1000u);
    }
}

static const char *const rule_names[] = {"app+md5", "app", "bootloader", "gen", "gen-no-md5"};

/* Parse the sector under rules: the result and the message. */
static esp_err_t parse(otk_partition_rules_t rules, otk_diag_t *d)
{
    otk_diag_clear(d);
    return otk_partition_table_parse(bin, sizeof bin, rules, FLASH_SIZE, &table, d);
}

static void expect(otk_partition_rules_t rules, esp_err_t want, const char *what, size_t count)
{
    otk_diag_t d;
    esp_err_t err = parse(rules, &d);
    char name[64];
    snprintf(name, sizeof name, "rules %s", rule_names[rules]);
    hs_expect(name, err, want, want == ESP_OK ? "" : d.msg, want == ESP_OK ? "" : what);
    if (err == ESP_OK && table.count != count) {
        fail_msg("%s: %zu partitions, want %zu", name, table.count, count);
    }
    if (err != ESP_OK) {
        assert_int_equal(table.count, 0); /* a refused table leaves nothing behind */
    }
}

static void test_offset_overflow(void **state)
{
    (void)state;
    blank();
    record(0, "factory", 0, 0, 0x10000, 0x100000);
    record(1, "wrap", 1, 0x81, 0xFFFFF000u, 0x2000); /* ends at 0x1000 after wrapping */
    md5_record(2, 2);
    expect(OTK_PARTITION_RULES_BOOTLOADER, ESP_ERR_INVALID_SIZE,
           "record 1: partition 'wrap' offset 0xfffff000 size 0x2000 exceeds flash chip size "
           "0x400000", 0);
    /* The app-side loader checks nothing (ESP-IDF's partition.c relies on the bootloader
     * having checked), and gen_esp32part's reader takes it too: verify is what refuses. */
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_OK, "", 2);
    expect(OTK_PARTITION_RULES_APP, ESP_OK, "", 2);
    expect(OTK_PARTITION_RULES_GEN, ESP_OK, "", 2);
    /* The tool, like gen_esp32part.py, compares the end (computed without wrapping) with
     * the flash size when it is given (--flash-size), as bin2csv and csv2bin do. */
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    opts.flash_size = FLASH_SIZE;
    otk_diag_t d;
    otk_diag_clear(&d);
    hs_expect("verify with --flash-size", otk_partition_table_check(&table, &opts, &d),
              ESP_ERR_INVALID_SIZE, d.msg,
              "record 1: Partitions tables occupies 4096.0MB of flash (4294971392 bytes) which "
              "does not fit in available flash size 4MB");
    char csv[OTK_PARTITION_CSV_TEXT_MAX];
    otk_diag_clear(&d);
    hs_expect("bin2csv --flash-size",
              otk_partition_bin_to_csv(bin, sizeof bin, &opts, csv, sizeof csv, NULL, &d),
              ESP_ERR_INVALID_SIZE, d.msg, "does not fit in available flash size");

    /* What the lax reader took cannot be used to reach outside it: not at the wrapped
     * address 0, not anywhere. */
    otk_flash_t *flash = NULL;
    assert_int_equal(otk_flash_mem_create(FLASH_SIZE, &flash), ESP_OK);
    assert_int_equal(otk_flash_program(flash, TABLE_AT, bin, sizeof bin), ESP_OK);
    assert_int_equal(otk_partition_table_load(flash, TABLE_AT, OTK_PARTITION_RULES_APP_MD5,
                                              &table, &d),
                     ESP_OK);
    const esp_partition_t *wrap = &table.parts[1];
    uint8_t before[32], buf[16] = {0};
    hs_flash_sha(flash, before);
    hs_log_capture();
    static const char *const inside = "'wrap': the partition at 0xfffff000 (0x2000 bytes) does "
                                      "not lie inside the 0x400000-byte flash";
    hs_expect("write into the wrap", otk_partition_write(wrap, 0x1000, buf, sizeof buf),
              ESP_ERR_INVALID_SIZE, hs_last_log(), inside);
    hs_log_clear();
    hs_expect("write at its start", otk_partition_write(wrap, 0, buf, sizeof buf),
              ESP_ERR_INVALID_SIZE, hs_last_log(), inside);
    hs_log_clear();
    hs_expect("erase it", otk_partition_erase_range(wrap, 0, 0x2000), ESP_ERR_INVALID_SIZE,
              hs_last_log(), inside);
    hs_log_clear();
    hs_expect("read it", otk_partition_read(wrap, 0x1000, buf, sizeof buf),
              ESP_ERR_INVALID_SIZE, hs_last_log(), inside);
    hs_unchanged("a wrapping partition", flash, before);
    /* Also one that merely runs past the end of the chip. */
    record(1, "past", 1, 0x81, FLASH_SIZE - 0x1000u, 0x2000);
    md5_record(2, 2);
    assert_int_equal(otk_partition_table_parse(bin, sizeof bin, OTK_PARTITION_RULES_APP_MD5,
                                               FLASH_SIZE, &table, &d),
                     ESP_OK);
    otk_partition_table_set_flash(&table, flash);
    hs_log_clear();
    hs_expect("write past the chip", otk_partition_write(&table.parts[1], 0, buf, 16),
              ESP_ERR_INVALID_SIZE, hs_last_log(), "'past': the partition at 0x3ff000");
    hs_unchanged("a partition past the chip", flash, before);
    otk_flash_destroy(flash);
}

static void test_record_counts(void **state)
{
    (void)state;
    /* 94 + MD5: what gen_esp32part writes at most; everyone takes it. */
    blank();
    data_parts(94);
    md5_record(94, 94);
    for (int r = 0; r <= OTK_PARTITION_RULES_GEN_NO_MD5; r++) {
        if (r == OTK_PARTITION_RULES_GEN_NO_MD5) {
            expect(r, ESP_ERR_INVALID_STATE, "record 94: Invalid magic bytes (eb eb)", 0);
        } else {
            expect(r, ESP_OK, "", 94);
        }
    }
    /* 95 + MD5 fill the 0xC00 bytes: the bootloader scans 96 records and finds no end. */
    blank();
    data_parts(95);
    md5_record(95, 95);
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_OK, "", 95);
    expect(OTK_PARTITION_RULES_BOOTLOADER, ESP_ERR_INVALID_STATE,
           "no terminating record within the first 96 records", 0);
    /* 96 without MD5. */
    blank();
    data_parts(96);
    expect(OTK_PARTITION_RULES_APP, ESP_OK, "", 96);
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_ERR_NOT_FOUND, "record 96: no MD5 record", 0);
    expect(OTK_PARTITION_RULES_BOOTLOADER, ESP_ERR_INVALID_STATE, "no terminating record", 0);
    expect(OTK_PARTITION_RULES_GEN_NO_MD5, ESP_OK, "", 96);
    /* 97: more than a table holds, under every reader that would read that far. */
    blank();
    data_parts(97);
    md5_record(97, 97);
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_ERR_INVALID_SIZE,
           "record 96: more than 96 partitions do not fit a table", 0);
    expect(OTK_PARTITION_RULES_APP, ESP_ERR_INVALID_SIZE, "more than 96 partitions", 0);
    expect(OTK_PARTITION_RULES_GEN, ESP_ERR_INVALID_SIZE, "more than 96 partitions", 0);
    expect(OTK_PARTITION_RULES_BOOTLOADER, ESP_ERR_INVALID_STATE, "no terminating record", 0);
    /* 127 records and no end at all in the sector: every reader stops inside it. */
    blank();
    data_parts(SECTOR_RECORDS);
    for (int r = 0; r <= OTK_PARTITION_RULES_GEN_NO_MD5; r++) {
        otk_diag_t d;
        assert_int_not_equal(parse(r, &d), ESP_OK);
        assert_true(d.msg[0] != '\0');
    }
}

static void test_md5_records(void **state)
{
    (void)state;
    /* Two MD5 records, both right. */
    blank();
    data_parts(2);
    md5_record(2, 2);
    md5_record(3, 2); /* over the same two partitions: gen_esp32part's MD5 skips MD5s */
    expect(OTK_PARTITION_RULES_BOOTLOADER, ESP_ERR_INVALID_STATE,
           "record 3: a second MD5 record (only one is allowed)", 0);
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_OK, "", 2); /* stops at the first */
    expect(OTK_PARTITION_RULES_GEN_NO_MD5, ESP_ERR_INVALID_STATE, "record 2: Invalid magic", 0);
    /* gen_esp32part's running MD5 skips MD5 records: the second matches too. */
    expect(OTK_PARTITION_RULES_GEN, ESP_OK, "", 2);
    /* A wrong second one. */
    bin[3 * REC + OTK_PARTITION_MD5_OFFSET] ^= 1;
    expect(OTK_PARTITION_RULES_GEN, ESP_ERR_INVALID_STATE, "record 3: MD5 checksums don't match",
           0);
    /* The MD5 record first: the MD5 of nothing. A table of no partitions, which a reader
     * may take; nothing boots from it (test_boot_*), and nothing is written. */
    blank();
    md5_record(0, 0);
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_OK, "", 0);
    expect(OTK_PARTITION_RULES_BOOTLOADER, ESP_OK, "", 0);
    /* First, but wrong: refused by the readers that check it. */
    bin[OTK_PARTITION_MD5_OFFSET] ^= 0xFF;
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_ERR_INVALID_STATE, "record 0: MD5 record holds", 0);
    expect(OTK_PARTITION_RULES_BOOTLOADER, ESP_ERR_INVALID_STATE, "record 0: MD5 record holds",
           0);
    expect(OTK_PARTITION_RULES_GEN, ESP_ERR_INVALID_STATE, "record 0: MD5 checksums", 0);
}

static void test_labels(void **state)
{
    (void)state;
    /* 16 label bytes and no NUL: the label is those 16 characters, terminated in
     * esp_partition_t; a search by a 17-character name does not find it. */
    blank();
    record(0, "abcdefghijklmnopq", 1, 0x81, 0x10000, 0x1000);
    md5_record(1, 1);
    for (int r = 0; r <= OTK_PARTITION_RULES_GEN; r++) {
        expect(r, ESP_OK, "", 1);
        assert_string_equal(table.parts[0].label, "abcdefghijklmnop");
        assert_memory_equal(table.raw_label[0], "abcdefghijklmnop", 16);
    }
    assert_null(otk_partition_find_first(&table, ESP_PARTITION_TYPE_ANY,
                                         ESP_PARTITION_SUBTYPE_ANY, "abcdefghijklmnopq"));
    assert_non_null(otk_partition_find_first(&table, ESP_PARTITION_TYPE_ANY,
                                             ESP_PARTITION_SUBTYPE_ANY, "abcdefghijklmnop"));
    /* Not UTF-8: the tool's reader refuses, the device's take the bytes. */
    bin[12] = 0xC3;
    bin[13] = 0x28;
    md5_record(1, 1);
    expect(OTK_PARTITION_RULES_GEN, ESP_ERR_INVALID_STATE,
           "record 0: label is not valid UTF-8 (byte 0)", 0);
    expect(OTK_PARTITION_RULES_APP_MD5, ESP_OK, "", 1);
}

static void test_overlaps(void **state)
{
    (void)state;
    /* Two app partitions overlapping by 64 KiB, and one inside another. */
    blank();
    record(0, "ota_0", 0, 0x10, 0x10000, 0x20000);
    record(1, "ota_1", 0, 0x11, 0x20000, 0x20000);
    record(2, "inner", 1, 0x81, 0x11000, 0x1000);
    md5_record(3, 3);
    /* No reader of ESP-IDF checks overlaps when loading: every one takes the table. */
    for (int r = 0; r <= OTK_PARTITION_RULES_GEN; r++) {
        expect(r, ESP_OK, "", 3);
    }
    /* gen_esp32part's verify (and so bin2csv) refuses it, naming both. */
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    otk_diag_t d;
    otk_diag_clear(&d);
    hs_expect("verify overlaps", otk_partition_table_check(&table, &opts, &d),
              ESP_ERR_INVALID_STATE, d.msg, "Partition at 0x11000 overlaps 0x10000-0x2ffff");
    char csv[OTK_PARTITION_CSV_TEXT_MAX];
    otk_diag_clear(&d);
    hs_expect("bin2csv overlaps",
              otk_partition_bin_to_csv(bin, sizeof bin, &opts, csv, sizeof csv, NULL, &d),
              ESP_ERR_INVALID_STATE, d.msg, "overlaps");
    /* An overlap ending exactly where the next one starts is no overlap. */
    blank();
    record(0, "ota_0", 0, 0x10, 0x10000, 0x10000);
    record(1, "ota_1", 0, 0x11, 0x20000, 0x10000);
    md5_record(2, 2);
    expect(OTK_PARTITION_RULES_GEN, ESP_OK, "", 2);
    otk_diag_clear(&d);
    assert_int_equal(otk_partition_table_check(&table, &opts, &d), ESP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_overflow), cmocka_unit_test(test_record_counts),
        cmocka_unit_test(test_md5_records),     cmocka_unit_test(test_labels),
        cmocka_unit_test(test_overlaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
