/* The builder: the real blink image rebuilt byte for byte from its segments, builder output
 * accepted by a re-implementation of esptool image_info's checks for every chip, and the
 * layout rules of esptool's elf2image one by one. Also the chip table. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/image.h"

#define OUT_CAP (1024u * 1024u)
static uint8_t out[OUT_CAP];

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed * 31 + i * 13 + (i >> 9));
    }
}

/* ---- rebuild of a real image ------------------------------------------------------- */

/* esptool's split pieces are address-contiguous RAM segments of the same memory types
 * (elf2image merges adjacent ELF sections of one memory type before laying out, so two
 * such segments can only come from a split). Padding segments have load address 0. */
static size_t real_segments(const otk_image_info_t *in, const uint8_t *image,
                            otk_image_segment_src_t *segs)
{
    size_t n = 0;
    for (uint8_t i = 0; i < in->segments_read; i++) {
        const otk_image_segment_info_t *s = &in->segments[i];
        if (s->load_addr == 0) {
            continue;
        }
        bool merged = false;
        for (size_t k = 0; k < n && !s->mapped; k++) {
            char a[160], b[160];
            otk_image_chip_memory_types(in->chip, segs[k].load_addr, a, sizeof a);
            otk_image_chip_memory_types(in->chip, s->load_addr, b, sizeof b);
            bool contiguous = segs[k].load_addr + segs[k].len == s->load_addr;
            bool in_file_after = segs[k].data + segs[k].len <= image + s->data_offset;
            if (contiguous && in_file_after && strcmp(a, b) == 0 &&
                !otk_image_chip_is_mapped(in->chip, segs[k].load_addr)) {
                /* The pieces are apart in the file: join them in a scratch copy. */
                uint8_t *joined = malloc(segs[k].len + s->data_len);
                assert_non_null(joined);
                memcpy(joined, segs[k].data, segs[k].len);
                memcpy(joined + segs[k].len, image + s->data_offset, s->data_len);
                segs[k].data = joined;
                segs[k].len += s->data_len;
                merged = true;
                break;
            }
        }
        if (!merged) {
            segs[n++] = (otk_image_segment_src_t){s->load_addr, image + s->data_offset,
                                                  s->data_len, false};
        }
    }
    return n;
}

static void test_rebuild_blink_byte_for_byte(void **state)
{
    (void)state;
    size_t len;
    uint8_t *image = ts_read_file(ts_corpus_path("esp_idf_blink_esp32s2.bin"), &len);
    otk_image_info_t in;
    assert_int_equal(otk_image_verify_buffer(image, len, NULL, &in, NULL), ESP_OK);
    assert_int_equal(in.segments_read, 6);

    otk_image_segment_src_t segs[16];
    size_t n = real_segments(&in, image, segs);
    /* Six segments in the file, five real ones: IRAM 0x40022000 was split around IROM. */
    assert_int_equal(n, 5);

    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, (uint16_t)in.header.chip_id);
    b.entry_addr = in.header.entry_addr;
    b.spi_mode = in.header.spi_mode;
    b.spi_speed = in.header.spi_speed;
    b.spi_size = in.header.spi_size;
    b.min_chip_rev = in.header.min_chip_rev;
    b.min_chip_rev_full = in.header.min_chip_rev_full;
    b.max_chip_rev_full = in.header.max_chip_rev_full;
    b.hash_appended = in.hash_appended;
    b.segments = segs;
    b.segment_count = n;
    size_t got = 0;
    otk_diag_t diag = {{0}};
    assert_int_equal(otk_image_build(&b, out, sizeof out, &got, &diag), ESP_OK);
    assert_int_equal(got, len);
    for (size_t i = 0; i < len; i++) {
        if (out[i] != image[i]) {
            fail_msg("rebuild differs at 0x%zx: 0x%02x, original 0x%02x", i, out[i], image[i]);
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (segs[k].data < image || segs[k].data >= image + len) {
            free((void *)segs[k].data);
        }
    }
    free(image);
}

/* The bootloaders have no flash-mapped segments, so no padding: their segments go back in
 * file order. (They were made by esptool versions from before elf2image merged adjacent
 * sections, so they are not merged here either.) */
static size_t rebuild_as_is(const char *file, uint8_t **image, size_t *len)
{
    *image = ts_read_file(ts_corpus_path(file), len);
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.kind = OTK_IMAGE_BOOTLOADER;
    otk_image_info_t in;
    assert_int_equal(otk_image_verify_buffer(*image, *len, &o, &in, NULL), ESP_OK);
    otk_image_segment_src_t segs[16];
    for (uint8_t i = 0; i < in.segments_read; i++) {
        segs[i] = (otk_image_segment_src_t){in.segments[i].load_addr,
                                            *image + in.segments[i].data_offset,
                                            in.segments[i].data_len, false};
    }
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, (uint16_t)in.header.chip_id);
    b.entry_addr = in.header.entry_addr;
    b.spi_mode = in.header.spi_mode;
    b.spi_speed = in.header.spi_speed;
    b.spi_size = in.header.spi_size;
    b.max_chip_rev_full = in.header.max_chip_rev_full;
    b.hash_appended = in.hash_appended;
    b.segments = segs;
    b.segment_count = in.segments_read;
    size_t got = 0;
    assert_int_equal(otk_image_build(&b, out, sizeof out, &got, NULL), ESP_OK);
    assert_int_equal(got, *len);
    size_t diffs = 0;
    for (size_t i = 0; i < *len; i++) {
        diffs += out[i] != (*image)[i];
    }
    return diffs;
}

static void test_rebuild_bootloaders(void **state)
{
    (void)state;
    uint8_t *image;
    size_t len;
    assert_int_equal(rebuild_as_is("bootloader_esp32c3.bin", &image, &len), 0);
    free(image);
    /* bootloader_esp32.bin predates esptool's fixed wp_pin 0xEE (it has 0x00 there): that
     * header byte is the one difference; it is outside the checksum and no hash is
     * appended. */
    assert_int_equal(rebuild_as_is("bootloader_esp32.bin", &image, &len), 1);
    assert_int_equal(image[8], 0x00);
    assert_int_equal(out[8], 0xEE);
    free(image);
}

/* ---- esptool image_info's acceptance, re-implemented ------------------------------- */

/* esptool MEMORY_MAP "DROM" ranges: image_info takes the app desc from the first segment
 * whose memory types include DROM. */
static const struct {
    uint16_t chip_id;
    uint32_t lo, hi;
} drom_ranges[] = {
    {ESP_CHIP_ID_ESP32, 0x3F400000, 0x3F800000},   {ESP_CHIP_ID_ESP32S2, 0x3F000000, 0x3FF80000},
    {ESP_CHIP_ID_ESP32C3, 0x3C000000, 0x3C800000}, {ESP_CHIP_ID_ESP32S3, 0x3C000000, 0x3D000000},
    {ESP_CHIP_ID_ESP32C2, 0x3C000000, 0x3C400000}, {ESP_CHIP_ID_ESP32C6, 0x42800000, 0x43000000},
    {ESP_CHIP_ID_ESP32H2, 0x42800000, 0x43000000}, {ESP_CHIP_ID_ESP32P4, 0x40000000, 0x4C000000},
    {ESP_CHIP_ID_ESP32C5, 0x42000000, 0x44000000},
};

typedef struct {
    const char *project;
    const char *version;
    uint32_t secure_version;
} esptool_view_t;

/* What esptool's LoadFirmwareImage + image_info would conclude: magic, append_digest 0/1,
 * the chip id, every segment readable, "Checksum: ... (valid)", "Validation hash: ...
 * (valid)", and the app information from the first DROM segment. */
static void esptool_accepts(const uint8_t *img, size_t len, uint16_t chip_id, bool hash,
                            esptool_view_t *view)
{
    assert_true(len >= 24);
    assert_int_equal(img[0], 0xE9);
    assert_true(img[23] == 0 || img[23] == 1);
    assert_int_equal(img[23], hash ? 1 : 0);
    assert_int_equal(img[12] | (img[13] << 8), chip_id);
    size_t pos = 24;
    uint8_t checksum = 0xEF;
    const uint8_t *app_desc = NULL;
    size_t app_desc_len = 0;
    uint32_t lo = 0, hi = 0;
    for (size_t i = 0; i < sizeof drom_ranges / sizeof drom_ranges[0]; i++) {
        if (drom_ranges[i].chip_id == chip_id) {
            lo = drom_ranges[i].lo;
            hi = drom_ranges[i].hi;
        }
    }
    assert_true(hi > lo);
    for (unsigned s = 0; s < img[1]; s++) {
        assert_true(pos + 8 <= len);
        uint32_t addr = le32(img + pos), n = le32(img + pos + 4);
        assert_true(pos + 8 + n <= len); /* "End of file reading segment" otherwise */
        for (uint32_t k = 0; k < n; k++) {
            checksum ^= img[pos + 8 + k];
        }
        if (app_desc == NULL && addr >= lo && addr < hi) {
            app_desc = img + pos + 8;
            app_desc_len = n;
        }
        pos += 8 + n;
    }
    pos += 15 - pos % 16; /* align_file_position(f, 16) */
    assert_true(pos < len);
    assert_int_equal(img[pos], checksum);
    pos++;
    if (hash) {
        uint8_t digest[32];
        assert_int_equal(len, pos + 32);
        otk_sha256(img, pos, digest);
        assert_memory_equal(digest, img + pos, 32);
    } else {
        assert_int_equal(len, pos);
    }
    assert_non_null(app_desc);
    assert_true(app_desc_len >= 256);
    assert_int_equal(le32(app_desc), 0xABCD5432);
    view->secure_version = le32(app_desc + 4);
    view->version = (const char *)app_desc + 16;
    view->project = (const char *)app_desc + 48;
}

static uint8_t payload[0x11000], ram_a[0x1200], ram_b[0x340], irom[0x9000];

static void build_for_chip(const otk_image_chip_t *chip, bool hash, bool secure_pad,
                           size_t *len)
{
    otk_image_app_fields_t app = {"esptool-check", "9.8.7", "v5.4", "Feb  2 2025", "12:34:56",
                                  42, NULL, 0, 0, 0};
    otk_image_segment_src_t segs[3] = {
        {chip->default_entry, ram_a, sizeof ram_a, false},
        {chip->default_entry + 0x4000, ram_b, sizeof ram_b, false},
        {chip->irom_start + 0x20000 + 0x20, irom, sizeof irom, false},
    };
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, chip->chip_id);
    b.app = &app;
    b.payload = payload;
    b.payload_len = sizeof payload - 3; /* not a multiple of 4: padded */
    b.segments = segs;
    b.segment_count = 3;
    b.hash_appended = hash;
    b.secure_pad_v2 = secure_pad;
    otk_diag_t diag = {{0}};
    if (otk_image_build(&b, out, sizeof out, len, &diag) != ESP_OK) {
        fail_msg("%s: %s", chip->name, diag.msg);
    }
}

static void test_esptool_accepts_builder_output(void **state)
{
    (void)state;
    fill(payload, sizeof payload, 1);
    fill(ram_a, sizeof ram_a, 2);
    fill(ram_b, sizeof ram_b, 3);
    fill(irom, sizeof irom, 4);
    for (size_t c = 0; c < otk_image_chip_count(); c++) {
        const otk_image_chip_t *chip = otk_image_chip_at(c);
        for (int variant = 0; variant < 3; variant++) {
            bool hash = variant != 1, pad = variant == 2;
            size_t len;
            build_for_chip(chip, hash, pad, &len);
            esptool_view_t view;
            esptool_accepts(out, len, chip->chip_id, hash, &view);
            assert_string_equal(view.project, "esptool-check");
            assert_string_equal(view.version, "9.8.7");
            assert_int_equal(view.secure_version, 42);
            if (pad) {
                assert_int_equal(len % 0x10000, 0); /* signature sector on a page */
            }
            /* And our own verifier, as the chip's device would run it. */
            otk_image_verify_opts_t o;
            otk_image_verify_opts_init(&o);
            o.chip_id = chip->chip_id;
            o.require_hash = hash;
            otk_image_info_t info;
            otk_diag_t diag = {{0}};
            if (otk_image_verify_buffer(out, len, &o, &info, &diag) != ESP_OK) {
                fail_msg("%s variant %d: %s", chip->name, variant, diag.msg);
            }
            assert_int_equal(info.total_len, len);
            for (uint8_t i = 0; i < info.segments_read; i++) {
                const otk_image_segment_info_t *s = &info.segments[i];
                if (s->mapped) {
                    assert_int_equal(s->data_offset % 0x10000, s->load_addr % 0x10000);
                }
            }
        }
    }
}

/* ---- layout rules ------------------------------------------------------------------ */

static otk_image_info_t layout(otk_image_build_opts_t *b, size_t *len)
{
    otk_diag_t diag = {{0}};
    if (otk_image_build(b, out, sizeof out, len, &diag) != ESP_OK) {
        fail_msg("build: %s", diag.msg);
    }
    otk_image_info_t in;
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.chip_id = b->chip_id;
    if (otk_image_verify_buffer(out, *len, &o, &in, &diag) != ESP_OK) {
        fail_msg("verify: %s", diag.msg);
    }
    return in;
}

static const otk_image_app_fields_t plain_app = {"layout", "1", NULL, NULL, NULL, 0, NULL,
                                                 0, 0, 0};

static void test_ram_segments_fill_the_gap(void **state)
{
    (void)state;
    otk_image_segment_src_t segs[3] = {
        {0x40080020, irom, 0x100, false}, /* ESP32-S2 IROM */
        {0x40022000, ram_a, 0x1200, false},
        {0x3FFB0000, ram_b, 0x340, false},
    };
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.app = &plain_app;
    b.segments = segs;
    b.segment_count = 3;
    size_t len;
    otk_image_info_t in = layout(&b, &len);
    /* DROM (app desc), then RAM in address order until the gap is too small to split,
     * then a zero segment, IROM on its congruent offset. */
    assert_int_equal(in.segments_read, 5);
    assert_int_equal(in.segments[0].load_addr, 0x3F000020);
    assert_int_equal(in.segments[1].load_addr, 0x3FFB0000);
    assert_int_equal(in.segments[2].load_addr, 0x40022000);
    assert_int_equal(in.segments[3].load_addr, 0);
    assert_int_equal(in.segments[4].load_addr, 0x40080020);
    assert_int_equal(in.segments[4].data_offset, 0x10020);
    for (uint32_t k = 0; k < in.segments[3].data_len; k++) {
        assert_int_equal(out[in.segments[3].data_offset + k], 0);
    }

    /* With a RAM segment larger than the gap, it is split: piece before, rest after. */
    static uint8_t big[0x18000];
    fill(big, sizeof big, 7);
    segs[1].data = big;
    segs[1].len = sizeof big;
    in = layout(&b, &len);
    assert_int_equal(in.segments_read, 5);
    assert_int_equal(in.segments[2].load_addr, 0x40022000);
    assert_int_equal(in.segments[3].load_addr, 0x40080020);
    assert_int_equal(in.segments[3].data_offset, 0x10020);
    assert_int_equal(in.segments[4].load_addr, 0x40022000 + in.segments[2].data_len);
    assert_int_equal(in.segments[2].data_len + in.segments[4].data_len, sizeof big);
    assert_memory_equal(out + in.segments[4].data_offset, big + in.segments[2].data_len,
                        in.segments[4].data_len);
}

static void test_zero_padding_without_ram(void **state)
{
    (void)state;
    otk_image_segment_src_t seg = {0x42000020, irom, 0x400, false}; /* ESP32-C3 IROM */
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32C3);
    b.app = &plain_app;
    b.segments = &seg;
    b.segment_count = 1;
    size_t len;
    otk_image_info_t in = layout(&b, &len);
    assert_int_equal(in.segments_read, 3);
    assert_int_equal(in.segments[1].load_addr, 0);
    assert_int_equal(in.segments[2].data_offset, 0x10020);
}

static void test_esptool_gap_goes_to_next_page(void **state)
{
    (void)state;
    /* IROM at page offset 0x8020 while the image is still early in its first page:
     * esptool pads towards the *next* page boundary, so the data lands at 0x18020. */
    otk_image_segment_src_t seg = {0x40088020, irom, 0x100, false};
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.app = &plain_app;
    b.segments = &seg;
    b.segment_count = 1;
    size_t len;
    otk_image_info_t in = layout(&b, &len);
    assert_int_equal(in.segments[in.segments_read - 1].data_offset, 0x18020);
}

static void test_esp32_mapped_tail(void **state)
{
    (void)state;
    /* DROM data from 0x20; a payload that ends the segment 0x10 past the 64 KiB mark. */
    uint32_t seg_len = 0x10000 - 0x20 + 0x10;
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32);
    b.app = &plain_app;
    b.payload = payload;
    b.payload_len = seg_len - 256;
    size_t len;
    otk_image_info_t in = layout(&b, &len);
    assert_int_equal(in.segments[0].data_offset + in.segments[0].data_len, 0x10024);
    /* Other chips do not have the workaround. */
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.app = &plain_app;
    b.payload = payload;
    b.payload_len = seg_len - 256;
    in = layout(&b, &len);
    assert_int_equal(in.segments[0].data_offset + in.segments[0].data_len, 0x10010);
}

static void test_first_flag_and_order(void **state)
{
    (void)state;
    otk_image_segment_src_t segs[3] = {
        {0x3FFB1000, ram_a, 0x100, false},
        {0x3FFB0000, ram_b, 0x100, false},
        {0x3FFB8000, ram_a, 0x50, true}, /* like .dram0.bootdesc: first of the RAM group */
    };
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.segments = segs;
    b.segment_count = 3;
    size_t len;
    otk_diag_t diag;
    assert_int_equal(otk_image_build(&b, out, sizeof out, &len, &diag), ESP_OK);
    assert_int_equal(le32(out + 24), 0x3FFB8000);
    assert_int_equal(le32(out + 24 + 8 + 0x50), 0x3FFB0000);
}

static void test_build_errors(void **state)
{
    (void)state;
    otk_image_build_opts_t b;
    otk_diag_t diag = {{0}};
    size_t len;
    /* Two mapped segments in one MMU page. */
    otk_image_segment_src_t same[2] = {{0x40080020, irom, 0x100, false},
                                       {0x40088000, irom, 0x100, false}};
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32S2);
    b.segments = same;
    b.segment_count = 2;
    assert_int_equal(otk_image_build(&b, out, sizeof out, &len, &diag), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, "same 0x10000-byte MMU page"));
    /* More than 16 segments once padding is added. */
    otk_image_segment_src_t many[16];
    for (int i = 0; i < 15; i++) {
        many[i] = (otk_image_segment_src_t){0x3FFB0000u + 0x1000u * (uint32_t)i, ram_b, 8,
                                            false};
    }
    many[15] = (otk_image_segment_src_t){0x40080120, irom, 0x100, false}; /* needs padding */
    b.segments = many;
    b.segment_count = 16;
    b.app = NULL;
    assert_int_equal(otk_image_build(&b, out, sizeof out, &len, &diag), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, "segments"));
    /* Unknown chip. */
    otk_image_build_opts_init(&b, 0x1234);
    assert_int_equal(otk_image_build(&b, out, sizeof out, &len, &diag), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, "chip_id 0x1234"));
    /* An MMU page the chip does not have. */
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32);
    b.mmu_page_size = 0x4000;
    assert_int_equal(otk_image_build(&b, out, sizeof out, &len, &diag), ESP_ERR_INVALID_ARG);
    /* Size query and a buffer too small. */
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32);
    b.app = &plain_app;
    b.payload = payload;
    b.payload_len = 1000;
    size_t need = 0;
    assert_int_equal(otk_image_build(&b, NULL, 0, &need, &diag), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_image_build(&b, out, need - 1, &len, &diag), ESP_ERR_INVALID_SIZE);
    assert_int_equal(len, need);
    assert_int_equal(otk_image_build(&b, out, need, &len, &diag), ESP_OK);
    assert_int_equal(len, need);
}

static void test_app_desc_fields(void **state)
{
    (void)state;
    otk_image_app_fields_t app = {"a-project-name-that-is-far-too-long-for-the-field",
                                  "0123456789012345678901234567890123456789",
                                  "v5.5-dev",
                                  "Mar 10 2025",
                                  "08:09:10",
                                  5,
                                  NULL,
                                  101,
                                  299,
                                  0};
    otk_image_build_opts_t b;
    otk_image_build_opts_init(&b, ESP_CHIP_ID_ESP32C3);
    b.app = &app;
    b.payload = payload;
    b.payload_len = 100;
    size_t len;
    otk_image_info_t in = layout(&b, &len);
    assert_true(in.has_app_desc);
    assert_string_equal(in.app_desc.project_name, "a-project-name-that-is-far-too-");
    assert_string_equal(in.app_desc.version, "0123456789012345678901234567890");
    assert_string_equal(in.app_desc.idf_ver, "v5.5-dev");
    assert_string_equal(in.app_desc.date, "Mar 10 2025");
    assert_string_equal(in.app_desc.time, "08:09:10");
    assert_int_equal(in.app_desc.secure_version, 5);
    assert_int_equal(in.app_desc.min_efuse_blk_rev_full, 101);
    assert_int_equal(in.app_desc.max_efuse_blk_rev_full, 299);
    uint8_t digest[32];
    otk_sha256(payload, 100, digest);
    assert_memory_equal(in.app_desc.app_elf_sha256, digest, 32);
    assert_memory_equal(out + 0x20 + 256, payload, 100); /* the payload follows the desc */
    assert_int_equal(in.header.entry_addr,
                     otk_image_chip_by_id(ESP_CHIP_ID_ESP32C3)->default_entry);
    assert_int_equal(in.header.max_chip_rev_full, 0xFFFF);
    assert_int_equal(in.header.wp_pin, 0xEE);
}

/* ---- the chip table ---------------------------------------------------------------- */

static void test_chip_table(void **state)
{
    (void)state;
    assert_true(otk_image_chip_count() >= 9);
    const otk_image_chip_t *s2 = otk_image_chip_by_name("esp32s2");
    assert_non_null(s2);
    assert_ptr_equal(otk_image_chip_by_name("ESP32-S2"), s2);
    assert_ptr_equal(otk_image_chip_by_name("esp32-s2"), s2);
    assert_ptr_equal(otk_image_chip_by_id(ESP_CHIP_ID_ESP32S2), s2);
    assert_null(otk_image_chip_by_name("esp8266"));
    assert_null(otk_image_chip_by_name(NULL));
    assert_null(otk_image_chip_by_id(0x1234));
    assert_string_equal(otk_image_chip_id_name(ESP_CHIP_ID_ESP32C61), "ESP32-C61");
    assert_string_equal(otk_image_chip_id_name(0xFFFF), "linux");
    assert_null(otk_image_chip_id_name(0x1234));
    /* esptool's windows: IROM [0x40080000, 0x40B80000), DROM [0x3F000000, 0x3F3F0000). */
    assert_true(otk_image_chip_is_mapped(s2, 0x40080000));
    assert_false(otk_image_chip_is_mapped(s2, 0x40B80000));
    assert_true(otk_image_chip_is_mapped(s2, 0x3F3EFFFC));
    assert_false(otk_image_chip_is_mapped(s2, 0x3F3F0000));
    assert_false(otk_image_chip_is_mapped(NULL, 0x40080000));
    char types[160];
    otk_image_chip_memory_types(s2, 0x3FFBDE90, types, sizeof types);
    assert_string_equal(types, "BYTE_ACCESSIBLE, MEM_INTERNAL, DRAM");
    otk_image_chip_memory_types(s2, 0x3FFBDE90, types, 10);
    assert_string_equal(types, "BYTE_ACCE");
    assert_string_equal(otk_image_flash_freq_name(s2, 0xF), "80m");
    assert_null(otk_image_flash_freq_name(s2, 0x5));
    assert_string_equal(otk_image_flash_freq_name(otk_image_chip_by_name("esp32c2"), 0xF),
                        "60m");
    assert_string_equal(otk_image_flash_size_name(2), "4MB");
    assert_null(otk_image_flash_size_name(8));
    assert_string_equal(otk_image_spi_mode_name(ESP_IMAGE_SPI_MODE_DIO), "DIO");
    assert_null(otk_image_spi_mode_name(ESP_IMAGE_SPI_MODE_FAST_READ));
    uint8_t v;
    assert_true(otk_image_parse_spi_mode("qout", &v) && v == 1);
    assert_true(otk_image_parse_flash_size("16MB", &v) && v == 4);
    assert_true(otk_image_parse_flash_freq(s2, "40m", &v) && v == 0);
    assert_false(otk_image_parse_flash_freq(s2, "60m", &v));
    assert_false(otk_image_parse_flash_size("3MB", &v));
    /* Every chip's windows and default entry are consistent. */
    for (size_t i = 0; i < otk_image_chip_count(); i++) {
        const otk_image_chip_t *c = otk_image_chip_at(i);
        assert_true(c->irom_start < c->irom_end && c->drom_start < c->drom_end);
        assert_false(otk_image_chip_is_mapped(c, c->default_entry));
        assert_ptr_equal(otk_image_chip_by_id(c->chip_id), c);
        assert_ptr_equal(otk_image_chip_by_name(c->display_name), c);
    }
    assert_null(otk_image_chip_at(otk_image_chip_count()));
}

/* Header encode/decode are inverse and match the packed struct layout on this host. */
static void test_header_codec(void **state)
{
    (void)state;
    size_t len;
    uint8_t *image = ts_read_file(ts_corpus_path("esp_idf_blink_esp32s2.bin"), &len);
    esp_image_header_t h;
    uint8_t again[24];
    otk_image_header_decode(image, &h);
    otk_image_header_encode(&h, again);
    assert_memory_equal(again, image, 24);
    assert_memory_equal(&h, image, 24); /* little-endian host, GCC bit-field order */
    assert_int_equal(h.spi_speed, 0xF);
    assert_int_equal(h.spi_size, 1);
    free(image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebuild_blink_byte_for_byte),
        cmocka_unit_test(test_rebuild_bootloaders),
        cmocka_unit_test(test_esptool_accepts_builder_output),
        cmocka_unit_test(test_ram_segments_fill_the_gap),
        cmocka_unit_test(test_zero_padding_without_ram),
        cmocka_unit_test(test_esptool_gap_goes_to_next_page),
        cmocka_unit_test(test_esp32_mapped_tail),
        cmocka_unit_test(test_first_flag_and_order),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_app_desc_fields),
        cmocka_unit_test(test_chip_table),
        cmocka_unit_test(test_header_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
