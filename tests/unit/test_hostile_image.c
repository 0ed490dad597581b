/* Hostile app images, made byte by byte (not with the builder, which refuses to make
 * them): segment counts 0, 16, 17, 255; data lengths 0, 0xFFFFFFFC, 16 MiB, just below it,
 * and lengths whose sum outgrows the partition; load addresses that wrap the address space
 * or run off the end of a flash-mapped window; images that end exactly at the end of their
 * partition (and of the flash) and one byte past it. Each is judged the way ESP-IDF's app
 * context judges it (spec §6.6), with the field named in the reason, and verification
 * never writes a byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "otakit/image.h"
#include "test_support.h"

#define CHIP ESP_CHIP_ID_ESP32C3
/* ESP32-C3's DROM window starts here; an app's segment 0 maps its app desc at +0x20. */
#define DROM_START 0x3C000000u
#define DROM_END 0x3C800000u
#define SEG0_LOAD (DROM_START + 0x20u)
/* A RAM address (DRAM): not flash-mapped, so any image offset will do. */
#define DRAM 0x3FC80000u
#define DESC_LEN 256u
#define MAX_IMAGE 0x20000u
#define FLASH_SIZE 0x80000u
#define LAST_64K (FLASH_SIZE - 0x10000u)

typedef struct {
    uint32_t load;
    uint32_t len;
} seg_t;

static uint8_t img[MAX_IMAGE];

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A well-formed image of these segments (segment 0 begins with esp_app_desc_t): header,
 * segments, zero pad, checksum, SHA-256. Returns its length. */
static size_t make(const seg_t *segs, size_t n)
{
    memset(img, 0, sizeof img);
    img[0] = 0xE9;
    img[1] = (uint8_t)n;
    img[2] = 2;    /* DIO */
    img[3] = 0x1F; /* 2MB, 80 MHz */
    le32(img + 4, 0x40380000u);
    img[8] = 0xEE;
    img[12] = (uint8_t)CHIP;
    img[17] = img[18] = 0xFF; /* max_chip_rev_full: not set */
    img[23] = 1;              /* hash appended */
    size_t at = OTK_IMAGE_HEADER_LEN;
    uint8_t xor_acc = 0xEF;
    for (size_t i = 0; i < n; i++) {
        assert_true(at + 8 + segs[i].len < MAX_IMAGE - 64);
        le32(img + at, segs[i].load);
        le32(img + at + 4, segs[i].len);
        at += 8;
        for (uint32_t k = 0; k < segs[i].len; k++) {
            img[at + k] = (uint8_t)(k * 7 + i);
        }
        if (i == 0) {
            otk_image_app_fields_t app;
            memset(&app, 0, sizeof app);
            app.project_name = "hostile";
            app.version = "1.0.0";
            otk_image_app_desc_make(&app, NULL, 0, img + at);
        }
        for (uint32_t k = 0; k < segs[i].len; k++) {
            xor_acc ^= img[at + k];
        }
        at += segs[i].len;
    }
    size_t end = (at + 1 + 15) / 16 * 16;
    img[end - 1] = xor_acc;
    otk_sha256(img, end, img + end);
    return end + OTK_SHA256_LEN;
}

static esp_err_t verify(size_t len, uint32_t max_size, otk_image_info_t *info, otk_diag_t *d)
{
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.chip_id = CHIP;
    o.max_size = max_size;
    otk_diag_clear(d);
    return otk_image_verify_buffer(img, len, &o, info, d);
}

static void expect_invalid(const char *name, size_t len, uint32_t max_size, const char *what)
{
    static otk_image_info_t info;
    otk_diag_t d;
    hs_expect(name, verify(len, max_size, &info, &d), ESP_ERR_IMAGE_INVALID, d.msg, what);
}

static void test_segment_counts(void **state)
{
    (void)state;
    static otk_image_info_t info;
    otk_diag_t d;
    seg_t segs[17] = {{SEG0_LOAD, DESC_LEN}};
    for (size_t i = 1; i < 17; i++) {
        segs[i] = (seg_t){DRAM + 4u * (uint32_t)i, 4};
    }
    size_t len = make(segs, 1);
    assert_int_equal(verify(len, 0, &info, &d), ESP_OK);
    /* 0: an app has no segment 0 for its descriptor. */
    img[1] = 0;
    expect_invalid("0 segments", len, 0, "header segment_count: expected at least 1");
    /* 16 is the most: valid. 17 and 255: refused at the header, nothing else read. */
    len = make(segs, 16);
    assert_int_equal(verify(len, 0, &info, &d), ESP_OK);
    assert_int_equal(info.segments_read, 16);
    len = make(segs, 17);
    expect_invalid("17 segments", len, 0, "header segment_count: expected at most 16, found 17");
    img[1] = 255;
    expect_invalid("255 segments", len, 0, "expected at most 16, found 255");
    /* A header that says 16 over the bytes of one segment: truncated, not read past. */
    make(segs, 1);
    img[1] = 16;
    expect_invalid("16 claimed, 1 there", OTK_IMAGE_HEADER_LEN + 8 + DESC_LEN, 0,
                   "image truncated: segment 1");
}

static void test_data_lengths(void **state)
{
    (void)state;
    static otk_image_info_t info;
    otk_diag_t d;
    /* 0: an empty segment is a segment (ESP-IDF has no rule against it). */
    seg_t segs[3] = {{SEG0_LOAD, DESC_LEN}, {DRAM, 0}, {DRAM + 4, 8}};
    size_t len = make(segs, 3);
    assert_int_equal(verify(len, 0, &info, &d), ESP_OK);
    assert_int_equal(info.segments[1].data_len, 0);
    /* Lengths the rules refuse at the segment header: named, with where the header is. */
    size_t hdr1 = OTK_IMAGE_HEADER_LEN + 8 + DESC_LEN; /* segment 1's header */
    static const struct {
        uint32_t len;
        const char *what;
    } bad[] = {
        {0xFFFFFFFCu, "segment 1 data_len: expected below 0x1000000 (16 MiB), found 0xfffffffc"},
        {0x1000000u, "found 0x1000000 (segment header at image offset 0x120)"},
        {0xFFFFFFFFu, "segment 1 data_len: 0xffffffff is not a multiple of 4"},
        {6u, "segment 1 data_len: 0x6 is not a multiple of 4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        len = make(segs, 3);
        le32(img + hdr1 + 4, bad[i].len);
        expect_invalid(bad[i].what, len, 0, bad[i].what);
    }
    /* Just below 16 MiB is a length the rules allow: the image then runs past its buffer
     * ("truncated") or past its partition (said at the segment header, before any data). */
    len = make(segs, 3);
    le32(img + hdr1 + 4, 0xFFFFFCu);
    expect_invalid("16 MiB - 4", len, 0, "image truncated: segment 1");
    expect_invalid("16 MiB - 4 in 64 KiB", len, 0x10000,
                   "segment 1 data_len: 0xfffffc bytes of data end at image offset 0x1000124, "
                   "past the partition size 0x10000");
    /* Lengths each allowed whose sum is not: the second one is refused where it starts. */
    seg_t two[3] = {{SEG0_LOAD, DESC_LEN}, {DRAM, 0x8000}, {DRAM + 0x8000, 8}};
    len = make(two, 3);
    le32(img + hdr1 + 8 + 0x8000 + 4, 0xFFFFFCu);
    expect_invalid("sum past the partition", len, 0x20000,
                   "segment 2 data_len: 0xfffffc bytes of data end at image offset 0x100812c");
}

static void test_load_addresses(void **state)
{
    (void)state;
    static otk_image_info_t info;
    otk_diag_t d;
    /* A RAM segment whose [load, load + len) wraps past 4 GiB: the app context loads
     * nothing into RAM (spec §6.6: load-address checks are the bootloader's), so it is an
     * unmapped segment like any other, and the image is judged on the rest. */
    seg_t wrap[2] = {{SEG0_LOAD, DESC_LEN}, {0xFFFFFFFCu, 8}};
    size_t len = make(wrap, 2);
    assert_int_equal(verify(len, 0, &info, &d), ESP_OK);
    assert_false(info.segments[1].mapped);
    /* A flash-mapped segment at the window's last word, running off its end: mapped, so
     * its data must sit at the load address's offset in a 64 KiB page; here it cannot. */
    seg_t edge[2] = {{SEG0_LOAD, DESC_LEN}, {DROM_END - 4u, 8}};
    len = make(edge, 2);
    expect_invalid("mapped at the window's end", len, 0,
                   "segment 1 load_addr: 0x3c7ffffc is flash-mapped, so its data must sit at "
                   "the same offset in a 0x10000-byte MMU page");
    /* Segment 0 anywhere but its place: the same rule names it. */
    seg_t moved[1] = {{DROM_START + 0x100u, DESC_LEN}};
    len = make(moved, 1);
    expect_invalid("segment 0 moved", len, 0, "segment 0 load_addr: 0x3c000100");
}

static void test_partition_end(void **state)
{
    (void)state;
    static otk_image_info_t info;
    otk_diag_t d;
    /* Segment 0 of 0xFFB0 bytes: 24 + 8 + 0xFFB0 = 0xFFD8, checksum block to 0xFFE0, the
     * SHA-256 to exactly 0x10000. */
    seg_t segs[1] = {{SEG0_LOAD, 0xFFB0u}};
    size_t len = make(segs, 1);
    assert_int_equal(len, 0x10000);
    assert_int_equal(verify(len, 0x10000, &info, &d), ESP_OK);
    expect_invalid("one byte short", len, 0xFFFF,
                   "image length: 0x10000 bytes with the appended SHA-256 exceed the partition "
                   "size 0xffff");
    expect_invalid("checksum block outside", len, 0xFFDF,
                   "checksum block ends at image offset 0xffe0, past the partition size 0xffdf");

    /* On flash: the last 64 KiB of the device, exactly; then partitions that reach one
     * byte past the flash or start past it. Reading never writes. */
    otk_flash_t *flash = NULL;
    assert_int_equal(otk_flash_mem_create(FLASH_SIZE, &flash), ESP_OK);
    assert_int_equal(otk_flash_program(flash, LAST_64K, img, len), ESP_OK);
    uint8_t before[32];
    hs_flash_sha(flash, before);
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.chip_id = CHIP;
    otk_diag_clear(&d);
    assert_int_equal(otk_image_verify_flash(flash, LAST_64K, 0x10000, &o, &info, &d), ESP_OK);
    otk_diag_clear(&d);
    esp_err_t err = otk_image_verify_flash(flash, LAST_64K, 0xFFFF, &o, &info, &d);
    hs_expect("flash, one byte short", err, ESP_ERR_IMAGE_INVALID, d.msg, "exceed the partition");
    /* A partition claimed past the flash's end: the image inside still verifies (reads
     * stop at its end); one that starts past the end: a flash error, nothing read. */
    otk_diag_clear(&d);
    err = otk_image_verify_flash(flash, LAST_64K, 0x10001, &o, &info, &d);
    assert_int_equal(err, ESP_OK);
    otk_diag_clear(&d);
    err = otk_image_verify_flash(flash, FLASH_SIZE, 0x10000, &o, &info, &d);
    assert_int_not_equal(err, ESP_OK);
    otk_diag_clear(&d);
    err = otk_image_verify_flash(flash, 0xFFFFF000u, 0x10000, &o, &info, &d);
    assert_int_not_equal(err, ESP_OK);
    /* Larger than 16 MiB (ESP-IDF step 1), and 0. */
    otk_diag_clear(&d);
    err = otk_image_verify_flash(flash, 0, 0x1000001u, &o, &info, &d);
    hs_expect("17 MiB partition", err, ESP_ERR_INVALID_ARG, d.msg, "expected 1 .. 0x1000000");
    err = otk_image_verify_flash(flash, 0, 0, &o, &info, &d);
    assert_int_equal(err, ESP_ERR_INVALID_ARG);
    hs_unchanged("verification", flash, before);
    otk_flash_destroy(flash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_counts),
        cmocka_unit_test(test_data_lengths),
        cmocka_unit_test(test_load_addresses),
        cmocka_unit_test(test_partition_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
