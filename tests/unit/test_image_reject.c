/* Every rejection rule of the verifier, provoked one at a time on an otherwise valid image,
 * with the reason's text checked: it names the field and says expected vs found. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/image.h"

#define IMG_CAP (512u * 1024u)

/* ESP32-S2 windows (esptool targets/esp32s2.py). */
#define S2_DROM 0x3F000020u
#define S2_IROM 0x40080020u
#define S2_DRAM 0x3FFBDE90u
#define S2_IRAM 0x40022000u

typedef struct {
    uint8_t bytes[IMG_CAP];
    size_t len;
} image_t;

static uint8_t payload[3000], iram[0x800], irom[0x2000], dram[0x300];

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
    }
}

/* A valid ESP32-S2 app: app desc segment, DRAM, IRAM (split to pad before IROM), IROM. */
static void make_app(image_t *img, otk_image_build_opts_t *b)
{
    static otk_image_app_fields_t app = {"reject", "1.0", "v5.x", "Jan  1 2024", "00:00:00",
                                         1, NULL, 0, 0, 0};
    static otk_image_segment_src_t segs[3];
    fill(payload, sizeof payload, 1);
    fill(iram, sizeof iram, 2);
    fill(irom, sizeof irom, 3);
    fill(dram, sizeof dram, 4);
    segs[0] = (otk_image_segment_src_t){S2_IRAM, iram, sizeof iram, false};
    segs[1] = (otk_image_segment_src_t){S2_IROM, irom, sizeof irom, false};
    segs[2] = (otk_image_segment_src_t){S2_DRAM, dram, sizeof dram, false};
    if (b->chip_id != ESP_CHIP_ID_ESP32S2) {
        b->segment_count = 0;
    } else if (b->segments == NULL) {
        b->segments = segs;
        b->segment_count = 3;
    }
    if (b->app == NULL) {
        b->app = &app;
        b->payload = payload;
        b->payload_len = sizeof payload;
    }
    otk_diag_t diag = {{0}};
    assert_int_equal(otk_image_build(b, img->bytes, sizeof img->bytes, &img->len, &diag), ESP_OK);
}

static void default_app(image_t *img)
{
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    make_app(img, &b);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Image offset of segment i's header (walks the headers; test-local, not the library). */
static size_t seg_header(const image_t *img, unsigned i)
{
    size_t off = 24;
    for (unsigned k = 0; k < i; k++) {
        off += 8 + le32(img->bytes + off + 4);
    }
    return off;
}

/* Recompute checksum and SHA-256 after an edit, so only the rule under test fails. */
static void refresh(image_t *img)
{
    size_t off = 24;
    uint8_t x = 0xEF;
    for (unsigned i = 0; i < img->bytes[1]; i++) {
        uint32_t n = le32(img->bytes + off + 4);
        for (uint32_t k = 0; k < n; k++) {
            x ^= img->bytes[off + 8 + k];
        }
        off += 8 + n;
    }
    size_t end = (off + 16) & ~(size_t)15;
    memset(img->bytes + off, 0, end - off - 1);
    img->bytes[end - 1] = x;
    img->len = end;
    if (img->bytes[23]) {
        otk_sha256(img->bytes, end, img->bytes + end);
        img->len = end + 32;
    }
}

static otk_image_verify_opts_t app_opts(void)
{
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.chip_id = ESP_CHIP_ID_ESP32S2;
    o.max_size = IMG_CAP;
    return o;
}

/* Verify; expect `want`; the reason must contain every given fragment. */
static void expect(const image_t *img, const otk_image_verify_opts_t *o, esp_err_t want,
                   const char *frag1, const char *frag2)
{
    otk_diag_t diag = {{0}};
    otk_image_info_t info;
    esp_err_t err = otk_image_verify_buffer(img->bytes, img->len, o, &info, &diag);
    if (err != want) {
        fail_msg("expected 0x%x, got 0x%x: %s", (unsigned)want, (unsigned)err, diag.msg);
    }
    assert_int_equal(info.verdict, want);
    if (want == ESP_OK) {
        return;
    }
    if (frag1 != NULL && strstr(diag.msg, frag1) == NULL) {
        fail_msg("reason lacks '%s': %s", frag1, diag.msg);
    }
    if (frag2 != NULL && strstr(diag.msg, frag2) == NULL) {
        fail_msg("reason lacks '%s': %s", frag2, diag.msg);
    }
    /* The streaming verifier, one byte at a time, agrees. */
    otk_image_stream_t s;
    otk_diag_t sd = {{0}};
    otk_image_stream_init(&s, o);
    for (size_t i = 0; i < img->len; i++) {
        otk_image_stream_feed(&s, img->bytes + i, 1, NULL);
    }
    assert_int_equal(otk_image_stream_finish(&s, NULL, &sd), err);
    assert_string_equal(sd.msg, diag.msg);
}

static image_t img;

static void test_baseline_is_valid(void **state)
{
    (void)state;
    default_app(&img);
    otk_image_verify_opts_t o = app_opts();
    o.require_hash = true;
    o.check_chip_rev = true;
    o.chip_rev = 100;
    expect(&img, &o, ESP_OK, NULL, NULL);
}

static void test_bad_magic(void **state)
{
    (void)state;
    default_app(&img);
    img.bytes[0] = 0xE8;
    otk_image_verify_opts_t o = app_opts();
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "header magic: expected 0xe9, found 0xe8", NULL);
}

static void test_too_many_segments(void **state)
{
    (void)state;
    default_app(&img);
    img.bytes[1] = 17;
    otk_image_verify_opts_t o = app_opts();
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "segment_count", "expected at most 16, found 17");
}

static void test_segment_len_not_multiple_of_4(void **state)
{
    (void)state;
    default_app(&img);
    size_t h = seg_header(&img, 1);
    put32(img.bytes + h + 4, le32(img.bytes + h + 4) + 2);
    otk_image_verify_opts_t o = app_opts();
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "segment 1 data_len", "not a multiple of 4");
}

static void test_segment_len_16mib(void **state)
{
    (void)state;
    default_app(&img);
    size_t h = seg_header(&img, 2);
    put32(img.bytes + h + 4, 0x1000000);
    otk_image_verify_opts_t o = app_opts();
    o.max_size = 0;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "segment 2 data_len", "expected below 0x1000000");
}

static void test_segment_overruns_partition(void **state)
{
    (void)state;
    default_app(&img);
    size_t h = seg_header(&img, 1);
    otk_image_verify_opts_t o = app_opts();
    o.max_size = (uint32_t)(h + 8 + 16); /* ends inside segment 1's data */
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "segment 1 data_len", "past the partition size");
}

static void test_first_app_segment_too_short(void **state)
{
    (void)state;
    static uint8_t small[64];
    otk_image_segment_src_t seg = {S2_DROM, small, sizeof small, true};
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.segments = &seg;
    b.segment_count = 1;
    otk_diag_t diag;
    assert_int_equal(otk_image_build(&b, img.bytes, sizeof img.bytes, &img.len, &diag), ESP_OK);
    otk_image_verify_opts_t o = app_opts();
    o.require_app_desc = false;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "segment 0 data_len: 0x40",
           "must hold esp_app_desc_t");
    /* As a bootloader the same image is fine. */
    o.kind = OTK_IMAGE_BOOTLOADER;
    expect(&img, &o, ESP_OK, NULL, NULL);
}

static void test_mapping_misaligned(void **state)
{
    (void)state;
    default_app(&img);
    /* Move the IROM segment's load address by 4: data offset no longer matches. */
    unsigned irom_index = 99;
    for (unsigned i = 0; i < img.bytes[1]; i++) {
        if (le32(img.bytes + seg_header(&img, i)) == S2_IROM) {
            irom_index = i;
        }
    }
    assert_true(irom_index < 16);
    size_t h = seg_header(&img, irom_index);
    put32(img.bytes + h, S2_IROM + 4);
    refresh(&img);
    otk_image_verify_opts_t o = app_opts();
    char frag[64];
    snprintf(frag, sizeof frag, "segment %u load_addr: 0x40080024", irom_index);
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, frag, "expected 0x24, found 0x20");
    /* A bootloader's segments are not mapped by the app's MMU rule. */
    o.kind = OTK_IMAGE_BOOTLOADER;
    o.check_bootloader_hash = true;
    expect(&img, &o, ESP_OK, NULL, NULL);

    /* The rule is on flash addresses: the untouched image at a 4 KiB-aligned offset. */
    default_app(&img);
    o = app_opts();
    o.flash_offset = 0x11000;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "load_addr", "MMU page");
}

static void test_checksum_mismatch(void **state)
{
    (void)state;
    default_app(&img);
    size_t h = seg_header(&img, 2);
    img.bytes[h + 8 + 5] ^= 0x10;
    otk_image_verify_opts_t o = app_opts();
    char frag[64];
    uint8_t stored = img.bytes[img.len - 33];
    snprintf(frag, sizeof frag, "found 0x%02x", stored);
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "checksum: expected", frag);
    otk_image_info_t info;
    otk_image_verify_buffer(img.bytes, img.len, &o, &info, NULL);
    assert_false(info.checksum_valid);
    assert_int_equal(info.checksum_computed, stored ^ 0x10);
    /* Reading went on: the hash was read too and is reported invalid. */
    assert_true(info.hash_read);
    assert_false(info.hash_valid);
}

static void test_hash_mismatch(void **state)
{
    (void)state;
    default_app(&img);
    img.bytes[img.len - 1] ^= 0x01;
    otk_image_verify_opts_t o = app_opts();
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "SHA-256: expected", "found");
    /* A bootloader's hash counts only when asked (secure boot v2). */
    o.kind = OTK_IMAGE_BOOTLOADER;
    otk_image_info_t info;
    assert_int_equal(otk_image_verify_buffer(img.bytes, img.len, &o, &info, NULL), ESP_OK);
    assert_false(info.hash_checked);
    assert_false(info.hash_valid);
    o.check_bootloader_hash = true;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "SHA-256", NULL);
}

static void test_length_exceeds_partition(void **state)
{
    (void)state;
    default_app(&img);
    otk_image_verify_opts_t o = app_opts();
    o.max_size = (uint32_t)img.len - 1; /* the hash does not fit */
    char frag[64];
    snprintf(frag, sizeof frag, "0x%zx bytes with the appended SHA-256", img.len);
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "image length", frag);
    o.max_size = (uint32_t)img.len - 33; /* the checksum byte does not fit either */
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "image length: checksum block",
           "past the partition size");
    o.max_size = (uint32_t)img.len;
    expect(&img, &o, ESP_OK, NULL, NULL);
}

static void test_wrong_chip(void **state)
{
    (void)state;
    default_app(&img);
    otk_image_verify_opts_t o = app_opts();
    o.chip_id = ESP_CHIP_ID_ESP32;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "header chip_id: expected 0x0000 (ESP32)",
           "found 0x0002 (ESP32-S2)");
    /* The first problem in ESP-IDF's order wins: chip id before a bad checksum. */
    img.bytes[img.len - 40] ^= 1;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "chip_id", NULL);
    /* The streaming verifier says so as soon as the header is in (an OTA can stop). */
    otk_image_stream_t s;
    otk_image_stream_init(&s, &o);
    assert_int_equal(otk_image_stream_feed(&s, img.bytes, 24, NULL), ESP_ERR_IMAGE_INVALID);
}

static void test_chip_revision(void **state)
{
    (void)state;
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.min_chip_rev_full = 300;
    b.max_chip_rev_full = 399;
    make_app(&img, &b);
    otk_image_verify_opts_t o = app_opts();
    o.check_chip_rev = true;
    o.chip_rev = 100;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "header min_chip_rev_full",
           "needs chip revision >= v3.0, chip is v1.0");
    o.chip_rev = 301;
    expect(&img, &o, ESP_OK, NULL, NULL);
    o.chip_rev = 400;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "header max_chip_rev_full",
           "needs chip revision <= v3.99, chip is v4.0");
    /* The upper limit binds apps only. */
    o.kind = OTK_IMAGE_BOOTLOADER;
    expect(&img, &o, ESP_OK, NULL, NULL);
    /* 0 and 0xFFFF mean "not set". */
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.max_chip_rev_full = 0;
    make_app(&img, &b);
    o.kind = OTK_IMAGE_APP;
    o.chip_rev = 9999;
    expect(&img, &o, ESP_OK, NULL, NULL);
    assert_int_equal(otk_image_check_chip_rev(&(esp_image_header_t){.max_chip_rev_full = 0xFFFF},
                                              9999, true, NULL),
                     ESP_OK);
}

static void test_app_desc_magic_missing(void **state)
{
    (void)state;
    default_app(&img);
    img.bytes[0x20] ^= 0xFF;
    refresh(&img);
    otk_image_verify_opts_t o = app_opts();
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "app desc magic_word: expected 0xabcd5432",
           "found 0xabcd54cd");
    /* Not required on a fixed-page chip when the caller says so. */
    o.require_app_desc = false;
    expect(&img, &o, ESP_OK, NULL, NULL);

    /* On a configurable-MMU chip (ESP32-C6) the page size lives there: always required. */
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32C6);
    make_app(&img, &b);
    img.bytes[0x21] ^= 0xFF;
    refresh(&img);
    o.chip_id = ESP_CHIP_ID_ESP32C6;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "app desc magic_word", NULL);
}

static void test_mmu_page_size(void **state)
{
    (void)state;
    otk_image_app_fields_t app = {"mmu", "1", NULL, NULL, NULL, 0, NULL, 0, 0, 14};
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32C6);
    b.app = &app;
    make_app(&img, &b);
    otk_image_verify_opts_t o = app_opts();
    o.chip_id = ESP_CHIP_ID_ESP32C6;
    otk_image_info_t info;
    assert_int_equal(otk_image_verify_buffer(img.bytes, img.len, &o, &info, NULL), ESP_OK);
    assert_int_equal(info.mmu_page_size, 0x4000);
    /* 2^12 is below every chip's smallest page. */
    img.bytes[0x20 + 180] = 12;
    refresh(&img);
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "app desc mmu_page_size", "ESP32-C6");
}

static void test_hash_required(void **state)
{
    (void)state;
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.hash_appended = false;
    make_app(&img, &b);
    otk_image_verify_opts_t o = app_opts();
    expect(&img, &o, ESP_OK, NULL, NULL);
    o.require_hash = true;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "header hash_appended", "expected 1");
}

static void test_truncated(void **state)
{
    (void)state;
    default_app(&img);
    otk_image_verify_opts_t o = app_opts();
    size_t full = img.len;
    static const size_t cuts[] = {0, 10, 24, 30, 40, 0x200};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        img.len = cuts[i];
        expect(&img, &o, ESP_ERR_IMAGE_INVALID, "image truncated", "only 0x");
    }
    img.len = full - 1;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "image truncated: the appended SHA-256", NULL);
    img.len = full - 40;
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "image truncated: the checksum block", NULL);
}

static void test_app_without_segments(void **state)
{
    (void)state;
    default_app(&img);
    img.bytes[1] = 0;
    refresh(&img);
    otk_image_verify_opts_t o = app_opts();
    expect(&img, &o, ESP_ERR_IMAGE_INVALID, "header segment_count: expected at least 1", NULL);
    o.kind = OTK_IMAGE_AUTO; /* an empty image can only be a bootloader */
    expect(&img, &o, ESP_OK, NULL, NULL);
}

static void test_stream_end_and_trailing_bytes(void **state)
{
    (void)state;
    default_app(&img);
    size_t len = img.len;
    memset(img.bytes + len, 0xA5, 4096); /* a signature sector, the rest of a partition */
    otk_image_verify_opts_t o = app_opts();
    otk_image_stream_t s;
    otk_image_stream_init(&s, &o);
    assert_int_equal(otk_image_stream_feed(&s, img.bytes, len - 1, NULL), ESP_OK);
    assert_false(otk_image_stream_done(&s));
    assert_int_equal(otk_image_stream_feed(&s, img.bytes + len - 1, 4097, NULL), ESP_OK);
    assert_true(otk_image_stream_done(&s));
    assert_int_equal(otk_image_stream_pos(&s), len);
    otk_image_info_t info;
    assert_int_equal(otk_image_stream_finish(&s, &info, NULL), ESP_OK);
    assert_int_equal(info.total_len, len);
    /* AUTO without the app desc magic: a bootloader, its hash not compared by default. */
    img.bytes[0x20] = 0;
    refresh(&img);
    o.kind = OTK_IMAGE_AUTO;
    assert_int_equal(otk_image_verify_buffer(img.bytes, img.len, &o, &info, NULL), ESP_OK);
    assert_int_equal(info.kind, OTK_IMAGE_BOOTLOADER);
    assert_false(info.has_app_desc);
}

static void test_bootloader_desc(void **state)
{
    (void)state;
    uint8_t desc[80 + 16] = {0};
    desc[0] = ESP_BOOTLOADER_DESC_MAGIC_BYTE;
    desc[3] = 2;
    put32(desc + 4, 7);
    memcpy(desc + 8, "v5.3", 4);
    memcpy(desc + 40, "Jan  1 2024 00:00:00", 20);
    uint8_t code[64];
    fill(code, sizeof code, 9);
    otk_image_segment_src_t segs[2] = {{0x3FCD5820, desc, sizeof desc, true},
                                        {0x403CE000, code, sizeof code, false}};
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32C3);
    b.segments = segs;
    b.segment_count = 2;
    otk_diag_t diag;
    assert_int_equal(otk_image_build(&b, img.bytes, sizeof img.bytes, &img.len, &diag), ESP_OK);
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.kind = OTK_IMAGE_AUTO;
    otk_image_info_t info;
    assert_int_equal(otk_image_verify_buffer(img.bytes, img.len, &o, &info, NULL), ESP_OK);
    assert_int_equal(info.kind, OTK_IMAGE_BOOTLOADER);
    assert_true(info.has_bootloader_desc);
    assert_int_equal(info.bootloader_desc.version, 7);
    assert_int_equal(info.bootloader_desc.secure_version, 2);
    assert_string_equal(info.bootloader_desc.idf_ver, "v5.3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_is_valid),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_too_many_segments),
        cmocka_unit_test(test_segment_len_not_multiple_of_4),
        cmocka_unit_test(test_segment_len_16mib),
        cmocka_unit_test(test_segment_overruns_partition),
        cmocka_unit_test(test_first_app_segment_too_short),
        cmocka_unit_test(test_mapping_misaligned),
        cmocka_unit_test(test_checksum_mismatch),
        cmocka_unit_test(test_hash_mismatch),
        cmocka_unit_test(test_length_exceeds_partition),
        cmocka_unit_test(test_wrong_chip),
        cmocka_unit_test(test_chip_revision),
        cmocka_unit_test(test_app_desc_magic_missing),
        cmocka_unit_test(test_mmu_page_size),
        cmocka_unit_test(test_hash_required),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_app_without_segments),
        cmocka_unit_test(test_stream_end_and_trailing_bytes),
        cmocka_unit_test(test_bootloader_desc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
