/* CSV compile and bin2csv, pinned to gen_esp32part.py (ESP-IDF v6): the built-in tables'
 * offsets (spec §2.4), the partitions_two_ota bytes and MD5 (spec §2.1), the tool's own
 * test vectors, its CSV text, its number/keyword syntax, and every check it makes, each
 * failing with the CSV line in the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/partition.h"
#include "test_support.h"

#define BIN OTK_PARTITION_TABLE_BIN_SIZE

static char *fixture(const char *name, size_t *len)
{
    const char *root = getenv("OTAKIT_SOURCE");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/partitions/%s", root ? root : ".", name);
    return (char *)ts_read_file(path, len);
}

static esp_err_t compile_opts(const char *csv, const otk_partition_gen_opts_t *o,
                              otk_partition_table_t *t, uint8_t *bin, otk_diag_t *d)
{
    otk_diag_clear(d);
    return otk_partition_csv_compile(csv, strlen(csv), o, t, bin, d);
}

static esp_err_t compile(const char *csv, otk_partition_table_t *t, uint8_t *bin, otk_diag_t *d)
{
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    return compile_opts(csv, &o, t, bin, d);
}

/* The compile fails with `want`, and the message holds both needles. */
static void expect_fail_opts(const char *csv, const otk_partition_gen_opts_t *o, esp_err_t want,
                             const char *needle, const char *where)
{
    static otk_partition_table_t t;
    otk_diag_t d;
    esp_err_t err = compile_opts(csv, o, &t, NULL, &d);
    if (err != want || strstr(d.msg, needle) == NULL || strstr(d.msg, where) == NULL) {
        fail_msg("CSV:\n%s\ngot 0x%x '%s', wanted 0x%x with '%s' and '%s'", csv, err, d.msg, want,
                 needle, where);
    }
    assert_int_equal(t.count, 0);
}

static void expect_fail(const char *csv, esp_err_t want, const char *needle, const char *where)
{
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    expect_fail_opts(csv, &o, want, needle, where);
}

typedef struct {
    const char *label;
    uint8_t type, subtype;
    uint32_t offset, size;
} want_t;

static void expect_table(const otk_partition_table_t *t, const want_t *w, size_t n)
{
    assert_int_equal(t->count, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(t->parts[i].label, w[i].label);
        assert_int_equal(t->parts[i].type, w[i].type);
        assert_int_equal(t->parts[i].subtype, w[i].subtype);
        assert_int_equal(t->parts[i].address, w[i].offset);
        assert_int_equal(t->parts[i].size, w[i].size);
    }
}

static void compile_fixture(const char *name, otk_partition_table_t *t, uint8_t *bin)
{
    size_t len;
    char *csv = fixture(name, &len);
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    otk_diag_t d;
    esp_err_t err = otk_partition_csv_compile(csv, len, &o, t, bin, &d);
    free(csv);
    if (err != ESP_OK) {
        fail_msg("%s: %s", name, d.msg);
    }
}

/* ---- spec §2.4 and §2.1 -------------------------------------------------------------- */

static void test_builtin_offsets(void **state)
{
    (void)state;
    static otk_partition_table_t t;
    static const want_t two_ota[] = {
        {"nvs", 1, 2, 0x9000, 0x4000},        {"otadata", 1, 0, 0xD000, 0x2000},
        {"phy_init", 1, 1, 0xF000, 0x1000},   {"factory", 0, 0, 0x10000, 0x100000},
        {"ota_0", 0, 0x10, 0x110000, 0x100000}, {"ota_1", 0, 0x11, 0x210000, 0x100000},
    };
    compile_fixture("two_ota.csv", &t, NULL);
    expect_table(&t, two_ota, 6);

    static const want_t large[] = {
        {"nvs", 1, 2, 0x9000, 0x6000},          {"otadata", 1, 0, 0xF000, 0x2000},
        {"phy_init", 1, 1, 0x11000, 0x1000},    {"ota_0", 0, 0x10, 0x20000, 0x1A9000},
        {"ota_1", 0, 0x11, 0x1D0000, 0x1A9000},
    };
    compile_fixture("two_ota_large.csv", &t, NULL);
    expect_table(&t, large, 5);

    static const want_t single[] = {
        {"nvs", 1, 2, 0x9000, 0x6000},
        {"phy_init", 1, 1, 0xF000, 0x1000},
        {"factory", 0, 0, 0x10000, 0x100000},
    };
    compile_fixture("singleapp.csv", &t, NULL);
    expect_table(&t, single, 3);

    static const want_t coredump[] = {
        {"nvs", 1, 2, 0x9000, 0x4000},           {"otadata", 1, 0, 0xD000, 0x2000},
        {"phy_init", 1, 1, 0xF000, 0x1000},      {"factory", 0, 0, 0x10000, 0x100000},
        {"coredump", 1, 3, 0x110000, 0x10000},   {"ota_0", 0, 0x10, 0x120000, 0x100000},
        {"ota_1", 0, 0x11, 0x220000, 0x100000},
    };
    compile_fixture("two_ota_coredump.csv", &t, NULL);
    expect_table(&t, coredump, 7);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void record(uint8_t *r, uint8_t type, uint8_t subtype, uint32_t offset, uint32_t size,
                   const char *label)
{
    memset(r, 0, 32);
    r[0] = 0xAA;
    r[1] = 0x50;
    r[2] = type;
    r[3] = subtype;
    put_le32(r + 4, offset);
    put_le32(r + 8, size);
    memcpy(r + 12, label, strlen(label));
}

static void test_two_ota_bytes(void **state)
{
    (void)state;
    static otk_partition_table_t t;
    uint8_t bin[BIN], want[BIN];
    compile_fixture("two_ota.csv", &t, bin);

    memset(want, 0xFF, sizeof want);
    record(want + 0 * 32, 1, 0x02, 0x9000, 0x4000, "nvs");
    record(want + 1 * 32, 1, 0x00, 0xD000, 0x2000, "otadata");
    record(want + 2 * 32, 1, 0x01, 0xF000, 0x1000, "phy_init");
    record(want + 3 * 32, 0, 0x00, 0x10000, 0x100000, "factory");
    record(want + 4 * 32, 0, 0x10, 0x110000, 0x100000, "ota_0");
    record(want + 5 * 32, 0, 0x11, 0x210000, 0x100000, "ota_1");
    want[6 * 32] = 0xEB;
    want[6 * 32 + 1] = 0xEB;
    static const uint8_t md5[16] = {0xbf, 0x25, 0x82, 0x2c, 0x0f, 0xa6, 0xd8, 0x64,
                                    0x1b, 0xd9, 0x30, 0x25, 0x1e, 0x06, 0xb4, 0xc4};
    memcpy(want + 6 * 32 + 16, md5, 16);
    assert_memory_equal(bin, want, BIN);

    /* Without the MD5 record the records are followed directly by 0xFF. */
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.md5 = false;
    otk_diag_t d;
    size_t len;
    char *csv = fixture("two_ota.csv", &len);
    assert_int_equal(otk_partition_csv_compile(csv, len, &o, &t, bin, &d), ESP_OK);
    free(csv);
    memset(want + 6 * 32, 0xFF, 32);
    assert_memory_equal(bin, want, BIN);
    assert_int_equal(t.md5, OTK_PARTITION_MD5_NONE);
}

/* ---- bin2csv text and round trips ---------------------------------------------------- */

static void bin_to_csv(const uint8_t *bin, size_t len, char *text, size_t cap)
{
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    otk_diag_t d;
    size_t n;
    esp_err_t err = otk_partition_bin_to_csv(bin, len, &o, text, cap, &n, &d);
    if (err != ESP_OK) {
        fail_msg("bin2csv: %s", d.msg);
    }
    assert_int_equal(strlen(text), n);
}

static void test_bin2csv_text(void **state)
{
    (void)state;
    static otk_partition_table_t t;
    uint8_t bin[BIN];
    static char text[OTK_PARTITION_CSV_TEXT_MAX];
    compile_fixture("two_ota.csv", &t, bin);
    bin_to_csv(bin, sizeof bin, text, sizeof text);
    size_t len;
    char *want = fixture("two_ota.expected.csv", &len);
    assert_int_equal(strlen(text), len);
    assert_memory_equal(text, want, len);
    free(want);

    /* Too small a buffer is an error, not a truncated table. */
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    otk_diag_t d;
    assert_int_equal(otk_partition_bin_to_csv(bin, sizeof bin, &o, text, 40, NULL, &d),
                     ESP_ERR_INVALID_SIZE);
}

/* Sizes print as nM, nK or hex; unknown types and subtypes in decimal; flags in the
 * tool's order; primary bootloader / table entries by keyword. */
static void test_csv_formatting(void **state)
{
    (void)state;
    static const char csv[] =
        "boot, bootloader, primary, N/A, N/A\n"
        "pt, partition_table, primary, N/A, N/A\n"
        "keys, data, nvs_keys, , 4K, encrypted\n"
        "ro, data, nvs, , 0x1000, readonly\n"
        "both, data, fat, , 0x1400, readonly:encrypted\n"
        "odd, data, 0x99, , 0x1234\n"
        "custom, 0x40, 7, , 0\n"
        "big, 233, 35, , 2M\n"
        "t, app, tee_1, , 64K\n";
    static const char want[] =
        "# ESP-IDF Partition Table\n"
        "# Name, Type, SubType, Offset, Size, Flags\n"
        "boot,bootloader,primary,0x0,32K,\n"
        "pt,partition_table,primary,0x8000,4K,\n"
        "keys,data,nvs_keys,0x9000,4K,encrypted\n"
        "ro,data,nvs,0xa000,4K,readonly\n"
        "both,data,fat,0xb000,5K,encrypted:readonly\n"
        "odd,data,153,0xd000,0x1234,\n"
        "custom,64,7,0xf000,0M,\n"
        "big,233,35,0xf000,2M,\n"
        "t,app,tee_1,0x210000,64K,\n";
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.primary_bootloader_offset = 0;
    static otk_partition_table_t t;
    uint8_t bin[BIN];
    otk_diag_t d;
    esp_err_t err = compile_opts(csv, &o, &t, bin, &d);
    if (err != ESP_OK) {
        fail_msg("%s", d.msg);
    }
    assert_int_equal(t.flags[4], PART_FLAG_ENCRYPTED | PART_FLAG_READONLY);
    static char text[OTK_PARTITION_CSV_TEXT_MAX];
    bin_to_csv(bin, sizeof bin, text, sizeof text);
    assert_string_equal(text, want);
}

static void round_trip(const char *csv, size_t len, const otk_partition_gen_opts_t *o)
{
    static otk_partition_table_t t;
    uint8_t bin1[BIN], bin2[BIN];
    static char text1[OTK_PARTITION_CSV_TEXT_MAX], text2[OTK_PARTITION_CSV_TEXT_MAX];
    otk_diag_t d;
    size_t n1, n2;
    if (otk_partition_csv_compile(csv, len, o, &t, bin1, &d) != ESP_OK ||
        otk_partition_bin_to_csv(bin1, BIN, o, text1, sizeof text1, &n1, &d) != ESP_OK ||
        otk_partition_csv_compile(text1, n1, o, &t, bin2, &d) != ESP_OK ||
        otk_partition_bin_to_csv(bin2, BIN, o, text2, sizeof text2, &n2, &d) != ESP_OK) {
        fail_msg("round trip: %s", d.msg);
    }
    assert_memory_equal(bin1, bin2, BIN);
    assert_string_equal(text1, text2);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *names[] = {"two_ota.csv", "two_ota_large.csv", "singleapp.csv",
                                  "two_ota_coredump.csv", "two_ota.expected.csv"};
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t len;
        char *csv = fixture(names[i], &len);
        round_trip(csv, len, &o);
        free(csv);
    }
    static const char mixed[] = "keys, data, nvs_keys, , 4K, encrypted\n"
                                "ro, data, nvs, , 0x1000, readonly\n"
                                "odd, 0x41, 0x99, , 0x1234\n"
                                "app, app, ota_15, , 0x101000\n";
    round_trip(mixed, strlen(mixed), &o);
    o.md5 = false;
    round_trip(mixed, strlen(mixed), &o);
}

/* ---- gen_esp32part's own test vectors (test_gen_esp32part_host) ---------------------- */

static void test_gen_vectors(void **state)
{
    (void)state;
    /* test_binary_entry: one record, MD5 43033f33...; the offset is only 0x400-aligned,
     * so this is a --no-verify table. */
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.verify = false;
    static otk_partition_table_t t;
    uint8_t bin[BIN];
    otk_diag_t d;
    assert_int_equal(compile_opts("\nfirst, 0x30, 0xEE, 0x100400, 0x300000\n", &o, &t, bin, &d),
                     ESP_OK);
    static const uint8_t md5_first[16] = {0x43, 0x03, 0x3f, 0x33, 0x40, 0x87, 0x57, 0x51,
                                          0x69, 0x83, 0x9b, 0x40, 0x61, 0xb1, 0x27, 0x26};
    assert_int_equal(bin[2], 0x30);
    assert_int_equal(bin[3], 0xEE);
    assert_memory_equal(bin + 32 + 16, md5_first, 16);
    o.verify = true;
    expect_fail_opts("\nfirst, 0x30, 0xEE, 0x100400, 0x300000\n", &o, ESP_ERR_INVALID_STATE,
                     "Offset 0x100400 is not aligned to 0x1000", "line 2:");

    /* LONGER_BINARY_TABLE: three records, MD5 f9bd061b..., then the end marker. */
    uint8_t longer[5 * 32];
    record(longer, 0x00, 0x00, 0x10000, 0x100000, "factory");
    /* (its comments say 128KB and 1MB; the bytes say 0x200 and 0x1000) */
    record(longer + 32, 0x01, 0x20, 0x110000, 0x200, "data");
    record(longer + 64, 0x10, 0x00, 0x150000, 0x1000, "second");
    static const uint8_t md5_longer[16] = {0xf9, 0xbd, 0x06, 0x1b, 0x45, 0x68, 0x6f, 0x86,
                                           0x57, 0x1a, 0x2c, 0xd5, 0x2a, 0x1d, 0xa6, 0x5b};
    memset(longer + 96, 0xFF, 64);
    longer[96] = longer[97] = 0xEB;
    memcpy(longer + 96 + 16, md5_longer, 16);
    assert_int_equal(otk_partition_table_parse(longer, sizeof longer, OTK_PARTITION_RULES_GEN, 0,
                                               &t, &d), ESP_OK);
    assert_int_equal(t.count, 3);
    assert_int_equal(otk_partition_table_serialize(&t, true, bin, &d), ESP_OK);
    assert_memory_equal(bin, longer, sizeof longer);
    static char text[OTK_PARTITION_CSV_TEXT_MAX];
    bin_to_csv(longer, sizeof longer, text, sizeof text);
    assert_string_equal(text, "# ESP-IDF Partition Table\n"
                              "# Name, Type, SubType, Offset, Size, Flags\n"
                              "factory,app,factory,0x10000,1M,\n"
                              "data,data,32,0x110000,0x200,\n"
                              "second,16,0,0x150000,4K,\n");

    /* test_default_offsets: apps go to the next 64 KiB, data right after. */
    static const want_t defaults[] = {
        {"first", 0, 0, 0x10000, 0x100000},
        {"second", 1, 0x15, 0x110000, 0x100000},
        {"minidata", 1, 0x40, 0x210000, 0x8000},
        {"otherapp", 0, 0, 0x220000, 0x100000},
    };
    assert_int_equal(compile("# Name, Type, Subtype, Offset, Size\n"
                             "first, app, factory,, 1M\n"
                             "second, data, 0x15,, 1M\n"
                             "minidata, data, 0x40,, 32K\n"
                             "otherapp, app, factory,, 1M\n", &t, NULL, &d), ESP_OK);
    expect_table(&t, defaults, 4);

    /* test_negative_size_to_offset: -2M means "up to 2 MiB". */
    static const want_t negative[] = {
        {"first", 0, 0, 0x10000, 0x1F0000},
        {"second", 1, 0x15, 0x200000, 0x100000},
    };
    assert_int_equal(compile("first, app, factory, 0x10000, -2M\n"
                             "second, data, 0x15,         ,  1M\n", &t, NULL, &d), ESP_OK);
    expect_table(&t, negative, 2);

    /* test_only_empty_subtype_is_not_0: an empty data subtype is 'undefined' (6). */
    assert_int_equal(compile("storage, data, , , 512k\nstorage2, data, undefined, , 12k\n", &t,
                             NULL, &d), ESP_OK);
    assert_int_equal(t.parts[0].subtype, 6);
    assert_int_equal(t.parts[1].subtype, 6);
}

/* ---- syntax: numbers, keywords, lines, variables, encodings -------------------------- */

static uint32_t size_of(const char *size_field)
{
    char csv[128];
    snprintf(csv, sizeof csv, "x, data, fat, 0x10000, %s\n", size_field);
    static otk_partition_table_t t;
    otk_diag_t d;
    if (compile(csv, &t, NULL, &d) != ESP_OK) {
        fail_msg("size '%s': %s", size_field, d.msg);
    }
    return t.parts[0].size;
}

static void test_numbers(void **state)
{
    (void)state;
    assert_int_equal(size_of("64k"), 0x10000);
    assert_int_equal(size_of("64K"), 0x10000);
    assert_int_equal(size_of("1M"), 0x100000);
    assert_int_equal(size_of("1m"), 0x100000);
    assert_int_equal(size_of("1kk"), 0x100000);  /* the suffix rule recurses */
    assert_int_equal(size_of("0x10K"), 0x4000);
    assert_int_equal(size_of("16 K"), 0x4000);   /* int() tolerates the inner space */
    assert_int_equal(size_of("4096"), 0x1000);
    assert_int_equal(size_of("0x_1000"), 0x1000); /* Python int(): underscores */
    assert_int_equal(size_of("4_096"), 0x1000);
    assert_int_equal(size_of("0o10000"), 0x1000);
    assert_int_equal(size_of("0b1000000000000"), 0x1000);
    assert_int_equal(size_of("+4096"), 0x1000);
    assert_int_equal(size_of("0X1000"), 0x1000);
    assert_int_equal(size_of("0"), 0);
    assert_int_equal(size_of("-0x20000"), 0x10000); /* end address 0x20000 */

    expect_fail("x, data, fat, 0x10000, 010\n", ESP_ERR_INVALID_ARG,
                "Invalid field value 010", "line 1:");
    expect_fail("x, data, fat, 0x10000, 4__096\n", ESP_ERR_INVALID_ARG,
                "Invalid field value 4__096", "line 1:");
    expect_fail("x, data, fat, 0x10000, 12q\n", ESP_ERR_INVALID_ARG, "Invalid field value 12q",
                "line 1:");
    expect_fail("x, data, fat, 0x10000, abck\n", ESP_ERR_INVALID_ARG, "Invalid field value abc",
                "line 1:");
    expect_fail("x, data, fat, 0x9000z, 4K\n", ESP_ERR_INVALID_ARG,
                "Invalid field value 0x9000z", "line 1:");
    expect_fail("x, data, fat, 0x10000, 0x100000000\n", ESP_ERR_INVALID_ARG,
                "size 0x100000000 is outside", "line 1:");
    expect_fail("x, 256, 0, 0x10000, 4K\n", ESP_ERR_INVALID_ARG, "type 0x100 is outside",
                "line 1:");
    expect_fail("x, data, 0x100, 0x10000, 4K\n", ESP_ERR_INVALID_ARG, "subtype 0x100 is outside",
                "line 1:");
}

static void test_keywords(void **state)
{
    (void)state;
    static otk_partition_table_t t;
    otk_diag_t d;
    /* Type 2 is "bootloader": its size needs the bootloader offset. */
    expect_fail("a, APP, OTA_3, , 64K\ne, 2, ota, , 8K\n", ESP_ERR_INVALID_ARG,
                "Primary bootloader offset is not provided", "Error at line 2:");
    assert_int_equal(compile("a, APP, OTA_3, , 64K\nb, Data, NVS, , 12K\nc, 1, phy, , 4K\n"
                             "d, 0x00, 0x20, , 64K\n", &t, NULL, &d), ESP_OK);
    assert_int_equal(t.parts[0].subtype, 0x13);
    assert_int_equal(t.parts[1].subtype, 2);
    assert_int_equal(t.parts[2].type, 1);
    assert_int_equal(t.parts[3].subtype, ESP_PARTITION_SUBTYPE_APP_TEST);

    expect_fail("# c\nx, apps, factory, , 1M\n", ESP_ERR_INVALID_ARG,
                "Value 'apps' is not valid. Known keywords: bootloader, partition_table, app, data",
                "Error at line 2:");
    expect_fail("x, app, ota_16, , 1M\n", ESP_ERR_INVALID_ARG,
                "Value 'ota_16' is not valid. Known keywords: factory, test, ota_0, ota_1",
                "Error at line 1:");
    expect_fail("x, data, ota_0, , 1M\n", ESP_ERR_INVALID_ARG,
                "Known keywords: ota, phy, nvs, coredump, nvs_keys, efuse, undefined, esphttpd, "
                "fat, spiffs, littlefs, tee_ota", "line 1:");
    /* A custom type has no subtype keywords at all. */
    expect_fail("x, 0x40, nvs, , 4K\n", ESP_ERR_INVALID_ARG, "Invalid field value nvs",
                "line 1:");
    expect_fail("\n\nx, , nvs, , 4K\n", ESP_ERR_INVALID_ARG, "Field 'type' can't be left empty.",
                "Error at line 3:");
    expect_fail("x, app, , , 1M\n", ESP_ERR_INVALID_ARG,
                "App partition cannot have an empty subtype", "Error at line 1:");
    expect_fail("x, data, fat, ,\n", ESP_ERR_INVALID_ARG, "Size field can't be empty",
                "Error at line 1:");
    expect_fail("x\n", ESP_ERR_INVALID_ARG, "Field 'type' can't be left empty.", "line 1:");
    /* An empty subtype of any non-app type is 'undefined'. */
    assert_int_equal(compile("x, 0x40, , , 4K\n", &t, NULL, &d), ESP_OK);
    assert_int_equal(t.parts[0].subtype, 6);
}

static void test_flags(void **state)
{
    (void)state;
    static otk_partition_table_t t;
    otk_diag_t d;
    assert_int_equal(compile("a, data, fat, , 4K, encrypted\nb, data, fat, , 4K, readonly\n"
                             "c, data, fat, , 4K, readonly:encrypted:\n",
                             &t, NULL, &d), ESP_OK);
    assert_int_equal(t.flags[0], PART_FLAG_ENCRYPTED);
    assert_int_equal(t.flags[1], PART_FLAG_READONLY);
    assert_int_equal(t.flags[2], PART_FLAG_ENCRYPTED | PART_FLAG_READONLY);
    assert_true(t.parts[1].readonly);
    assert_false(t.parts[0].encrypted); /* no flash encryption on a host */
    expect_fail("a, data, fat, , 4K, secret\n", ESP_ERR_INVALID_ARG,
                "CSV flag column contains unknown flag 'secret'", "Error at line 1:");
    /* Flags are split on ':' and not stripped. */
    expect_fail("a, data, fat, , 4K, encrypted: readonly\n", ESP_ERR_INVALID_ARG,
                "unknown flag ' readonly'", "line 1:");
    /* Columns after the sixth are ignored. */
    assert_int_equal(compile("a, data, fat, , 4K, , whatever, else\n", &t, NULL, &d), ESP_OK);
}

static void test_line_numbers(void **state)
{
    (void)state;
    /* Blank lines, comments, CRLF, lone CR, form feed and vertical tab all count as line
     * breaks for str.splitlines(). */
    expect_fail("# one\r\n\r\nnvs, data, nvs, , 0x4000\rbad, data, nope, , 4K\n",
                ESP_ERR_INVALID_ARG, "Value 'nope'", "Error at line 4:");
    expect_fail("a, data, fat, , 4K\fb, data, nope, , 4K\n", ESP_ERR_INVALID_ARG,
                "Value 'nope'", "Error at line 2:");
    expect_fail("a, data, fat, , 4K\vb, data, nope, , 4K\n", ESP_ERR_INVALID_ARG,
                "Value 'nope'", "Error at line 2:");
    /* U+2028 LINE SEPARATOR splits too. */
    expect_fail("a, data, fat, , 4K\xE2\x80\xA8" "b, data, nope, , 4K\n", ESP_ERR_INVALID_ARG,
                "Value 'nope'", "Error at line 2:");
    /* A UTF-8 BOM does not shift line 1. */
    expect_fail("\xEF\xBB\xBFx, data, nope, , 4K\n", ESP_ERR_INVALID_ARG, "Value 'nope'",
                "Error at line 1:");
    expect_fail("# ok\n# \xC3\x28\n", ESP_ERR_INVALID_ARG, "not valid UTF-8", "line 2:");
    expect_fail("\xFF\xFEx\0", ESP_ERR_NOT_SUPPORTED, "UTF-16", "");

    /* Whitespace is Python's: tabs and NO-BREAK SPACE are stripped from fields. */
    static otk_partition_table_t t;
    otk_diag_t d;
    assert_int_equal(compile("\t nvs\xC2\xA0,\tdata , nvs, , 0x4000 \n", &t, NULL, &d), ESP_OK);
    assert_string_equal(t.parts[0].label, "nvs");

    /* Comment lines may be longer than a data line may be. */
    char big[3000];
    memset(big, 'c', sizeof big);
    big[0] = '#';
    strcpy(big + sizeof big - 40, "\nnvs, data, nvs, , 0x4000\n");
    assert_int_equal(compile(big, &t, NULL, &d), ESP_OK);
    memset(big, 'n', sizeof big);
    strcpy(big + sizeof big - 40, ", data, nvs, , 0x4000\n");
    expect_fail(big, ESP_ERR_INVALID_SIZE, "longer than", "line 1:");
}

static const char *vars(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    if (len == 4 && memcmp(name, "SIZE", 4) == 0) {
        return "0x4000";
    }
    if (len == 4 && memcmp(name, "NAME", 4) == 0) {
        return "storage";
    }
    if (len == 3 && memcmp(name, "SUB", 3) == 0) {
        return "$SIZE"; /* values are not expanded again */
    }
    return NULL;
}

static void test_variables(void **state)
{
    (void)state;
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.getvar = vars;
    static otk_partition_table_t t;
    otk_diag_t d;
    assert_int_equal(compile_opts("$NAME, data, fat, , $SIZE\n${NAME}2, data, fat, , ${SIZE}\n",
                                  &o, &t, NULL, &d), ESP_OK);
    assert_string_equal(t.parts[0].label, "storage");
    assert_string_equal(t.parts[1].label, "storage2");
    assert_int_equal(t.parts[1].size, 0x4000);
    /* An unknown variable at the start of a line is an error ... */
    expect_fail_opts("# x\n$NOPE, data, fat, , 4K\n", &o, ESP_ERR_INVALID_ARG,
                     "unknown variable 'NOPE'", "line 2:");
    /* ... elsewhere it stays as written. */
    assert_int_equal(compile_opts("a$NOPE, data, fat, , 4K\n", &o, &t, NULL, &d), ESP_OK);
    assert_string_equal(t.parts[0].label, "a$NOPE");
    expect_fail_opts("x, data, fat, , $SUB\n", &o, ESP_ERR_INVALID_ARG,
                     "Invalid field value $SIZE", "line 1:");
}

static void test_long_names(void **state)
{
    (void)state;
    static otk_partition_table_t t;
    uint8_t bin[BIN];
    otk_diag_t d;
    /* Names are cut to 16 bytes in the binary; the uniqueness check sees whole names. */
    assert_int_equal(compile("abcdefghijklmnopX, data, fat, , 4K\n"
                             "abcdefghijklmnopY, data, fat, , 4K\n", &t, bin, &d), ESP_OK);
    assert_memory_equal(bin + 12, "abcdefghijklmnop", 16);
    assert_memory_equal(bin + 32 + 12, "abcdefghijklmnop", 16);
    assert_string_equal(t.parts[0].label, "abcdefghijklmnop");
    expect_fail("abcdefghijklmnopX, data, fat, , 4K\nabcdefghijklmnopX, data, fat, , 4K\n",
                ESP_ERR_INVALID_STATE, "Partition names must be unique", "line 2:");
    /* A 16-byte name has no NUL in the record. */
    assert_int_equal(compile("0123456789abcdef, data, fat, , 4K\n", &t, bin, &d), ESP_OK);
    assert_memory_equal(bin + 12, "0123456789abcdef", 16);
    assert_int_equal(bin[28], 0);
}

/* ---- bootloader and partition_table entries ---------------------------------------------- */

static void test_primary_entries(void **state)
{
    (void)state;
    static const char csv[] = "bootloader, bootloader, primary, N/A, N/A\n"
                              "partition_table, partition_table, primary, N/A, N/A\n"
                              "nvs, data, nvs, , 0x4000\n"
                              "recovery, bootloader, recovery, N/A, N/A\n"
                              "stage, bootloader, ota, , \n";
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    expect_fail_opts(csv, &o, ESP_ERR_INVALID_ARG, "Primary bootloader offset is not provided",
                     "Error at line 1:");
    o.primary_bootloader_offset = 0x1000; /* ESP32 */
    expect_fail_opts(csv, &o, ESP_ERR_INVALID_ARG, "Recovery bootloader offset is not provided",
                     "Error at line 4:");
    o.recovery_bootloader_offset = 0x200000;
    static otk_partition_table_t t;
    otk_diag_t d;
    assert_int_equal(compile_opts(csv, &o, &t, NULL, &d), ESP_OK);
    static const want_t want[] = {
        {"bootloader", 2, 0, 0x1000, 0x7000},
        {"partition_table", 3, 0, 0x8000, 0x1000},
        {"nvs", 1, 2, 0x9000, 0x4000},
        {"recovery", 2, 2, 0x200000, 0x7000},
        {"stage", 2, 1, 0x207000, 0x7000}, /* placed after the previous, bootloader-sized */
    };
    expect_table(&t, want, 5);
    /* The recovery entry takes part in placement: an earlier address overlaps. */
    o.recovery_bootloader_offset = 0x9000;
    expect_fail_opts(csv, &o, ESP_ERR_INVALID_STATE,
                     "CSV Error at line 4: Partitions overlap. Partition sets offset 0x9000. "
                     "Previous partition ends 0xd000", "");
}

/* ---- the checks, each with its line -------------------------------------------------------- */

static void test_check_errors(void **state)
{
    (void)state;
    expect_fail("nvs, data, nvs, 0x8000, 0x4000\n", ESP_ERR_INVALID_STATE,
                "CSV Error at line 1: Partitions overlap. Partition sets offset 0x8000. But "
                "partition table occupies the whole sector 0x8000. Use a free offset 0x9000 or "
                "higher.", "");
    expect_fail("# t\na, data, nvs, 0x9000, 0x4000\nb, data, fat, 0xa000, 0x1000\n",
                ESP_ERR_INVALID_STATE,
                "CSV Error at line 3: Partitions overlap. Partition sets offset 0xa000. "
                "Previous partition ends 0xd000", "");
    expect_fail("factory, app, factory, 0x18000, 1M\n", ESP_ERR_INVALID_STATE,
                "Partition factory invalid: Offset 0x18000 is not aligned to 0x10000", "line 1:");
    expect_fail("\nnvs, data, nvs, 0x9420, 0x6000\n", ESP_ERR_INVALID_STATE,
                "Partition nvs invalid: Offset 0x9420 is not aligned to 0x1000", "line 2:");
    expect_fail("ota_1, app, ota_1, , 0x100800\n", ESP_ERR_INVALID_STATE,
                "Partition ota_1 invalid: Size 0x100800 is not aligned to 0x1000", "line 1:");
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.secure = OTK_PARTITION_SECURE_V1;
    expect_fail_opts("ota_0, app, ota_0, , 0x101000\n", &o, ESP_ERR_INVALID_STATE,
                     "Partition ota_0 invalid: Size 0x101000 is not aligned to 0x10000",
                     "line 1:");
    o.secure = OTK_PARTITION_SECURE_V2;
    static otk_partition_table_t t;
    otk_diag_t d;
    assert_int_equal(compile_opts("ota_0, app, ota_0, , 0x101000\n", &o, &t, NULL, &d), ESP_OK);

    expect_fail("nvs, data, nvs, , 0x4000\nx, data, fat, , 4K\nnvs, data, fat, , 4K\n",
                ESP_ERR_INVALID_STATE,
                "Partition names must be unique ('nvs' is also at line 1)", "line 3:");
    expect_fail("otadata, data, ota, , 0x3000\n", ESP_ERR_INVALID_STATE,
                "otadata partition must have size = 0x2000", "line 1:");
    expect_fail("otadata, data, ota, , 0x2000\nota2, data, ota, , 0x2000\n",
                ESP_ERR_INVALID_STATE,
                "Found multiple otadata partitions. Only one partition can be defined with "
                "type=\"data\"(1) and subtype=\"ota\"(0)", "line 2:");
    expect_fail("t, data, tee_ota, , 0x1000\n", ESP_ERR_INVALID_STATE,
                "TEE otadata partition must have size = 0x2000", "line 1:");
    expect_fail("t, data, tee_ota, , 0x2000\nu, data, tee_ota, , 0x2000\n",
                ESP_ERR_INVALID_STATE,
                "Found multiple TEE otadata partitions. Only one partition can be defined with "
                "type=\"data\"(1) and subtype=\"tee_ota\"(0x90)", "line 2:");
    expect_fail("otadata, data, ota, , 0x2000, readonly\n", ESP_ERR_INVALID_STATE,
                "'otadata' partition of type 1 and subtype 0 is always read-write and cannot be "
                "read-only", "line 1:");
    expect_fail("\ncd, data, coredump, , 64K, readonly\n", ESP_ERR_INVALID_STATE,
                "'cd' partition of type 1 and subtype 3 is always read-write", "line 2:");
    expect_fail("nvs, data, nvs, , 0x2000\n", ESP_ERR_INVALID_STATE,
                "'nvs' partition of type 1 and subtype 2 of this size (0x2000) must be flagged "
                "as 'readonly' (the size of read/write NVS has to be at least 0x3000)",
                "line 1:");
    assert_int_equal(compile("nvs, data, nvs, , 0x2000, readonly\n", &t, NULL, &d), ESP_OK);
    assert_int_equal(compile("nvs, data, nvs, , 0x3000\n", &t, NULL, &d), ESP_OK);

    /* A negative size that ends before the partition starts moves the next one down. */
    expect_fail("a, data, fat, 0x9000, -0x8000\nb, data, fat, , 0x2000\n",
                ESP_ERR_INVALID_STATE, "Partition offset 0x8000 is below 0x9000", "line 2:");
    expect_fail("a, data, fat, 0x20000, -0x1f000\nb, data, fat, , 0x4000\n",
                ESP_ERR_INVALID_STATE, "Partition at 0x20000 overlaps 0x1f000-0x22fff (line 2)",
                "line 1:");
    /* The tool prints Python's hex of a negative number. */
    expect_fail("a, data, nvs, 0x9000, -0x8000\n", ESP_ERR_INVALID_STATE,
                "of this size (0x-1000)", "line 1:");

    /* With --no-verify the table checks are skipped, packing limits are not. */
    o.secure = OTK_PARTITION_SECURE_NONE;
    o.verify = false;
    assert_int_equal(compile_opts("nvs, data, nvs, , 0x2000\nnvs, data, ota, , 0x1000\n", &o, &t,
                                  NULL, &d), ESP_OK);
    expect_fail_opts("a, data, fat, 0x9000, -0x8000\n", &o, ESP_ERR_INVALID_ARG,
                     "size 0x-1000 is outside", "line 1:");
}

/* Checks run in the tool's order: per-partition checks first, then names, then layout. */
static void test_check_order(void **state)
{
    (void)state;
    expect_fail("a, data, fat, , 4K\na, data, fat, 0xb800, 4K\n", ESP_ERR_INVALID_STATE,
                "Offset 0xb800 is not aligned", "line 2:");
    expect_fail("a, data, fat, , 4K\na, data, ota, , 0x1000\n", ESP_ERR_INVALID_STATE,
                "names must be unique", "line 2:");
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.flash_size = 0x100000;
    expect_fail_opts("otadata, data, ota, , 0x3000\nbig, app, factory, , 2M\n", &o,
                     ESP_ERR_INVALID_STATE, "otadata partition must have size", "line 1:");
}

static void test_flash_size(void **state)
{
    (void)state;
    size_t len;
    char *csv = fixture("two_ota.csv", &len);
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    o.flash_size = 2 * 1024 * 1024;
    static otk_partition_table_t t;
    otk_diag_t d;
    assert_int_equal(otk_partition_csv_compile(csv, len, &o, &t, NULL, &d), ESP_ERR_INVALID_SIZE);
    assert_string_equal(d.msg, "line 8: Partitions tables occupies 3.1MB of flash (3211264 bytes) "
                               "which does not fit in available flash size 2MB.");
    o.flash_size = 4 * 1024 * 1024;
    assert_int_equal(otk_partition_csv_compile(csv, len, &o, &t, NULL, &d), ESP_OK);
    o.flash_size = 0x310000; /* exactly the end of ota_1 fits */
    assert_int_equal(otk_partition_csv_compile(csv, len, &o, &t, NULL, &d), ESP_OK);
    free(csv);
    /* The size check also runs without verification. */
    o.verify = false;
    o.flash_size = 0x100000;
    expect_fail_opts("big, app, factory, , 2M\n", &o, ESP_ERR_INVALID_SIZE, "does not fit",
                     "line 1:");
}

/* n partitions of 4 KiB each. */
static char *many(size_t n)
{
    char *csv = malloc(n * 40 + 1);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        at += (size_t)sprintf(csv + at, "p%zu, data, fat, , 4K\n", i);
    }
    csv[at] = '\0';
    return csv;
}

static void test_too_many(void **state)
{
    (void)state;
    otk_partition_gen_opts_t o;
    otk_partition_gen_opts_default(&o);
    static otk_partition_table_t t;
    uint8_t bin[BIN];
    otk_diag_t d;
    /* With the MD5 record: 94 fit (95 records < 0xC00 bytes), 95 do not. */
    char *csv = many(94);
    assert_int_equal(compile_opts(csv, &o, &t, bin, &d), ESP_OK);
    assert_int_equal(bin[94 * 32], 0xEB);
    free(csv);
    csv = many(95);
    expect_fail_opts(csv, &o, ESP_ERR_INVALID_SIZE,
                     "line 95: Binary partition table length (3072) longer than max", "");
    o.md5 = false;
    assert_int_equal(compile_opts(csv, &o, &t, bin, &d), ESP_OK);
    free(csv);
    csv = many(96);
    expect_fail_opts(csv, &o, ESP_ERR_INVALID_SIZE, "line 96: Binary partition table length",
                     "");
    free(csv);
    csv = many(97);
    expect_fail_opts(csv, &o, ESP_ERR_INVALID_SIZE, "line 97: too many partitions", "");
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_offsets),  cmocka_unit_test(test_two_ota_bytes),
        cmocka_unit_test(test_bin2csv_text),     cmocka_unit_test(test_csv_formatting),
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_gen_vectors),
        cmocka_unit_test(test_numbers),          cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_flags),            cmocka_unit_test(test_line_numbers),
        cmocka_unit_test(test_variables),        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_primary_entries),  cmocka_unit_test(test_check_errors),
        cmocka_unit_test(test_check_order),      cmocka_unit_test(test_flash_size),
        cmocka_unit_test(test_too_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
