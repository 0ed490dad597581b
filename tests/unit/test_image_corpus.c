/* The real ESP-IDF images of ../shared/corpus: verdicts exactly as the corpus README says,
 * the same verdict for every chunking of the streaming verifier, verification from flash,
 * and every single-byte change inside the checksummed / hashed range rejected. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/flash.h"
#include "otakit/image.h"
#include "otakit/rand.h"

typedef struct {
    const char *file;
    size_t size;
    uint16_t chip_id;
    otk_image_kind_t kind;
    uint8_t segments;
    uint32_t entry;
    uint8_t checksum;
    const char *sha256; /* NULL: no hash appended */
    const char *project;
    const char *version;
} corpus_image_t;

/* The corpus README's table. */
static const corpus_image_t corpus[] = {
    {"esp_idf_blink_esp32s2.bin", 182368, ESP_CHIP_ID_ESP32S2, OTK_IMAGE_APP, 6, 0x40022f84,
     0x18, "10f48f4a71a48cc4c917d70d13bf717b1bc7f3187b3d564b00192f7e381531b7", "blink",
     "qa-test-v5.0-20220830-4-g4532e6"},
    {"hello-world-signed.bin", 196608, ESP_CHIP_ID_ESP32, OTK_IMAGE_APP, 7, 0x40080c54, 0x30,
     "06a1d6eb2c280ca64b44b8c487d2d856dc8e5acf6e08060c61efbf086ad795d2", "hello-world", NULL},
    {"bootloader_esp32c3.bin", 17744, ESP_CHIP_ID_ESP32C3, OTK_IMAGE_BOOTLOADER, 4, 0x403c0000,
     0x77, "4faeab1bd3fd6a7d4adfa0fd38f41bfc67a8c3c0a9d6d882b65580da2e5e6347", NULL, NULL},
    {"bootloader_esp32.bin", 7888, ESP_CHIP_ID_ESP32, OTK_IMAGE_BOOTLOADER, 4, 0x4009816c, 0x83,
     NULL, NULL, NULL},
};
#define N_CORPUS (sizeof corpus / sizeof corpus[0])

static uint8_t *load(const corpus_image_t *c, size_t *len)
{
    uint8_t *data = ts_read_file(ts_corpus_path(c->file), len);
    assert_int_equal(*len, c->size);
    return data;
}

/* Opts as a device would use for this image: its kind and chip, the file as partition,
 * hashes always compared (the bootloaders' too, as with secure boot v2). */
static otk_image_verify_opts_t opts_for(const corpus_image_t *c, size_t len)
{
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.kind = c->kind;
    o.chip_id = c->chip_id;
    o.max_size = (uint32_t)len;
    o.check_bootloader_hash = true;
    return o;
}

static void check_verdict(const corpus_image_t *c, const otk_image_info_t *in)
{
    assert_int_equal(in->verdict, ESP_OK);
    assert_true(in->complete);
    assert_int_equal(in->kind, c->kind);
    assert_int_equal((uint16_t)in->header.chip_id, c->chip_id);
    assert_int_equal(in->header.segment_count, c->segments);
    assert_int_equal(in->segments_read, c->segments);
    assert_int_equal(in->header.entry_addr, c->entry);
    assert_int_equal(in->checksum_stored, c->checksum);
    assert_int_equal(in->checksum_computed, c->checksum);
    assert_true(in->checksum_valid);
    if (c->sha256 != NULL) {
        char hex[65];
        assert_true(in->hash_appended);
        assert_true(in->hash_valid);
        assert_true(in->hash_checked);
        ts_hex(in->hash_stored, 32, hex);
        assert_string_equal(hex, c->sha256);
        assert_int_equal(in->total_len, in->image_len + 32);
    } else {
        assert_false(in->hash_appended);
        assert_int_equal(in->total_len, in->image_len);
    }
    if (c->project != NULL) {
        assert_true(in->has_app_desc);
        assert_int_equal(in->app_desc.magic_word, ESP_APP_DESC_MAGIC_WORD);
        assert_string_equal(in->app_desc.project_name, c->project);
        assert_int_equal(in->app_desc.secure_version, 0);
    }
    if (c->version != NULL) {
        assert_string_equal(in->app_desc.version, c->version);
    }
}

static void test_corpus_verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CORPUS; i++) {
        size_t len;
        uint8_t *data = load(&corpus[i], &len);
        otk_image_verify_opts_t o = opts_for(&corpus[i], len);
        otk_image_info_t info;
        otk_diag_t diag = {{0}};
        assert_int_equal(otk_image_verify_buffer(data, len, &o, &info, &diag), ESP_OK);
        check_verdict(&corpus[i], &info);
        /* AUTO finds the same kind from segment 0 alone. */
        o.kind = OTK_IMAGE_AUTO;
        o.chip_id = OTK_IMAGE_CHIP_ANY;
        assert_int_equal(otk_image_verify_buffer(data, len, &o, &info, &diag), ESP_OK);
        check_verdict(&corpus[i], &info);
        free(data);
    }
}

/* The spec's real-image check (§6.4): the blink image's layout, byte for byte. */
static void test_blink_layout_facts(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = load(&corpus[0], &len);
    otk_image_info_t info;
    assert_int_equal(otk_image_verify_buffer(data, len, NULL, &info, NULL), ESP_OK);
    assert_int_equal(info.header.wp_pin, 0xEE);
    assert_int_equal(info.data_end, 0x2C834);
    assert_int_equal(info.image_len, 0x2C840);
    assert_int_equal(info.total_len, 0x2C860);
    for (uint32_t k = 0x2C834; k < 0x2C83F; k++) {
        assert_int_equal(data[k], 0); /* 11 zero bytes, then the checksum */
    }
    assert_int_equal(data[0x2C83F], 0x18);
    /* The IROM segment: data at 0x10020 for load address 0x40080020. */
    assert_int_equal(info.segments[3].load_addr, 0x40080020);
    assert_int_equal(info.segments[3].data_offset, 0x10020);
    assert_true(info.segments[3].mapped);
    assert_true(info.segments[0].mapped);
    assert_false(info.segments[1].mapped);
    assert_int_equal(info.mmu_page_size, 0x10000);
    free(data);
}

static void same_info(const otk_image_info_t *a, const otk_image_info_t *b)
{
    assert_int_equal(a->verdict, b->verdict);
    assert_int_equal(a->complete, b->complete);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->segments_read, b->segments_read);
    assert_memory_equal(a->segments, b->segments, sizeof a->segments);
    assert_int_equal(a->image_len, b->image_len);
    assert_int_equal(a->checksum_stored, b->checksum_stored);
    assert_int_equal(a->checksum_computed, b->checksum_computed);
    assert_memory_equal(a->hash_computed, b->hash_computed, 32);
    assert_memory_equal(a->hash_stored, b->hash_stored, 32);
    assert_int_equal(a->hash_valid, b->hash_valid);
    assert_int_equal(a->has_app_desc, b->has_app_desc);
    assert_memory_equal(&a->app_desc, &b->app_desc, sizeof a->app_desc);
    assert_int_equal(a->has_bootloader_desc, b->has_bootloader_desc);
}

/* Feed in chunks from a seeded generator: 0 = one byte at a time. */
static esp_err_t stream_chunked(const uint8_t *data, size_t len,
                                const otk_image_verify_opts_t *o, uint64_t seed,
                                otk_image_info_t *info, otk_diag_t *diag)
{
    otk_image_stream_t s;
    otk_rand_t r;
    otk_rand_seed(&r, seed);
    otk_image_stream_init(&s, o);
    size_t pos = 0;
    while (pos < len) {
        size_t n = seed == 0 ? 1 : 1 + (size_t)otk_rand_below(&r, 5000);
        if (n > len - pos) {
            n = len - pos;
        }
        otk_image_stream_feed(&s, data + pos, n, NULL);
        pos += n;
    }
    return otk_image_stream_finish(&s, info, diag);
}

static void check_chunkings(const uint8_t *data, size_t len, const otk_image_verify_opts_t *o)
{
    otk_image_info_t whole, part;
    otk_diag_t dw = {{0}}, dp = {{0}};
    esp_err_t ew = otk_image_verify_buffer(data, len, o, &whole, &dw);
    for (uint64_t seed = 0; seed < 6; seed++) {
        memset(&dp, 0, sizeof dp);
        assert_int_equal(stream_chunked(data, len, o, seed, &part, &dp), ew);
        assert_string_equal(dp.msg, dw.msg);
        same_info(&whole, &part);
    }
}

static void test_chunking_gives_same_verdict(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CORPUS; i++) {
        size_t len;
        uint8_t *data = load(&corpus[i], &len);
        otk_image_verify_opts_t o = opts_for(&corpus[i], len);
        check_chunkings(data, len, &o);
        /* Broken variants too: a flipped data byte, a flipped header byte, a cut. */
        data[len / 2] ^= 0x5A;
        check_chunkings(data, len, &o);
        data[len / 2] ^= 0x5A;
        data[3] ^= 0x01;
        check_chunkings(data, len, &o);
        data[3] ^= 0x01;
        check_chunkings(data, len / 3, &o);
        free(data);
    }
}

/* Feed data[0, upto) in chunks from a seeded generator (0: in one piece). */
static void feed_prefix(otk_image_stream_t *s, const otk_image_verify_opts_t *o,
                        const uint8_t *data, size_t upto, uint64_t seed)
{
    otk_rand_t r;
    otk_rand_seed(&r, seed);
    otk_image_stream_init(s, o);
    for (size_t pos = 0; pos < upto;) {
        size_t n = seed == 0 ? upto : 1 + (size_t)otk_rand_below(&r, 5000);
        n = n < upto - pos ? n : upto - pos;
        otk_image_stream_feed(s, data + pos, n, NULL);
        pos += n;
    }
}

/* What a resumed download relies on: two verifiers that took the same prefix are the same
 * however it was chunked (the checksum's lanes depend on where chunks began: a resume
 * rebuilt from flash in one piece once compared unequal with its checkpoint), and any
 * difference in the bytes, their count or the rules makes them differ. */
static void test_stream_same(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CORPUS; i++) {
        size_t len;
        uint8_t *data = load(&corpus[i], &len);
        otk_image_verify_opts_t o = opts_for(&corpus[i], len);
        static otk_image_stream_t a, b;
        const size_t cuts[] = {1, 23, 24, 4096, len / 2 + 3, len - 33, len - 1, len};
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            size_t cut = cuts[k];
            feed_prefix(&a, &o, data, cut, 0);
            for (uint64_t seed = 1; seed < 4; seed++) {
                feed_prefix(&b, &o, data, cut, seed);
                assert_true(otk_image_stream_same(&a, &b));
                assert_true(otk_image_stream_same(&b, &a));
            }
            if (cut > 1) {
                feed_prefix(&b, &o, data, cut - 1, 2); /* one byte fewer */
                /* (past the image's end, a signature sector say, bytes are not taken) */
                assert_true(otk_image_stream_same(&a, &b) == otk_image_stream_done(&b));
                size_t at = (cut - 1) / 2;
                data[at] ^= 0x10; /* one bit of the prefix */
                feed_prefix(&b, &o, data, cut, 3);
                data[at] ^= 0x10;
                assert_false(otk_image_stream_same(&a, &b));
            }
            otk_image_verify_opts_t other = o;
            other.max_size = o.max_size + 4096; /* another slot's rules */
            feed_prefix(&b, &other, data, cut, 0);
            assert_false(otk_image_stream_same(&a, &b));
        }
        free(data);
    }
}

/* The verdict on a checkpointed verifier resumed at a flipped byte must be a rejection.
 * Checkpoints every CHECKPOINT bytes halve the sweep's work: the verifier is plain data,
 * so resuming a copy is the same as feeding the unchanged prefix again. */
#define CHECKPOINT 4096
/* Positions also verified from scratch with otk_image_verify_buffer, which must agree. */
#define FROM_SCRATCH_EVERY 97

/* Under ASan/UBSan the full sweeps would take minutes: there every byte of the header,
 * segment headers, pad block and hash is flipped, and every 13th byte elsewhere. The
 * second app image (hello-world, 196 KB) is sampled every 7th data byte in all builds to
 * keep the suite short; the blink image and the bootloaders are swept in full. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
#define SANITIZED_SAMPLE_EVERY 13
#define HELLO_SAMPLE_EVERY 7

static bool is_structure_byte(const otk_image_info_t *in, size_t p)
{
    if (p < OTK_IMAGE_HEADER_LEN || p >= in->data_end) {
        return true;
    }
    for (uint8_t i = 0; i < in->segments_read; i++) {
        if (p >= in->segments[i].header_offset && p < in->segments[i].data_offset) {
            return true;
        }
    }
    return false;
}

/* Flip each byte of the hashed range and the hash (without a hash: each checksummed byte)
 * and require a rejection with a reason; data bytes only every sample_every-th. Returns
 * how many positions were tried. */
static size_t sweep(uint8_t *data, size_t len, const otk_image_verify_opts_t *o,
                    const otk_image_info_t *in, size_t sample_every)
{
    size_t n_cp = len / CHECKPOINT + 1;
    otk_image_stream_t *cp = malloc(n_cp * sizeof *cp);
    assert_non_null(cp);
    otk_image_stream_t s;
    otk_image_stream_init(&s, o);
    for (size_t k = 0; k < n_cp; k++) {
        cp[k] = s;
        size_t off = k * CHECKPOINT;
        if (off < len) {
            otk_image_stream_feed(&s, data + off, len - off < CHECKPOINT ? len - off : CHECKPOINT,
                                  NULL);
        }
    }
    size_t end = in->hash_appended ? in->total_len : in->image_len;
    size_t tried = 0;
    for (size_t p = 0; p < end; p++) {
        bool checksummed = !is_structure_byte(in, p) || p == in->image_len - 1;
        if (!in->hash_appended && !checksummed) {
            continue; /* without a hash, headers and padding are not protected */
        }
        if (!is_structure_byte(in, p) && p % sample_every != sample_every / 2) {
            continue;
        }
        data[p] ^= 0xFF;
        size_t k = p / CHECKPOINT;
        otk_image_stream_t c = cp[k];
        otk_diag_t diag = {{0}};
        otk_image_stream_feed(&c, data + k * CHECKPOINT, len - k * CHECKPOINT, NULL);
        esp_err_t err = otk_image_stream_finish(&c, NULL, &diag);
        if (err == ESP_OK || diag.msg[0] == '\0') {
            fail_msg("byte 0x%zx flipped: accepted (err 0x%x)", p, (unsigned)err);
        }
        assert_int_equal(err, ESP_ERR_IMAGE_INVALID);
        if (p % FROM_SCRATCH_EVERY == 0) {
            otk_diag_t again = {{0}};
            assert_int_equal(otk_image_verify_buffer(data, len, o, NULL, &again), err);
            assert_string_equal(again.msg, diag.msg);
        }
        data[p] ^= 0xFF;
        tried++;
    }
    free(cp);
    return tried;
}

static void test_every_byte_flip_rejected_blink(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = load(&corpus[0], &len);
    otk_image_verify_opts_t o = opts_for(&corpus[0], len);
    otk_image_info_t info;
    assert_int_equal(otk_image_verify_buffer(data, len, &o, &info, NULL), ESP_OK);
    size_t tried = sweep(data, len, &o, &info, SANITIZED ? SANITIZED_SAMPLE_EVERY : 1);
    if (!SANITIZED) {
        assert_int_equal(tried, 182368); /* every byte of the file is hashed or the hash */
    }
    printf("blink: %zu single-byte flips rejected%s\n", tried,
           SANITIZED ? " (sanitizer build: structure bytes + 1/13 sample)" : "");
    free(data);
}

static void test_every_byte_flip_rejected_others(void **state)
{
    (void)state;
    for (size_t i = 1; i < N_CORPUS; i++) {
        size_t len;
        uint8_t *data = load(&corpus[i], &len);
        otk_image_verify_opts_t o = opts_for(&corpus[i], len);
        otk_image_info_t info;
        assert_int_equal(otk_image_verify_buffer(data, len, &o, &info, NULL), ESP_OK);
        size_t every = SANITIZED ? SANITIZED_SAMPLE_EVERY : i == 1 ? HELLO_SAMPLE_EVERY : 1;
        size_t tried = sweep(data, len, &o, &info, every);
        printf("%s: %zu single-byte flips rejected (data bytes: every %zu)\n", corpus[i].file,
               tried, every);
        free(data);
    }
}

/* A flash backend over a buffer that fails reads at or after fail_at. */
typedef struct {
    uint8_t *bytes;
    uint32_t fail_at;
} failing_mem_t;

static esp_err_t failing_read(void *ctx, uint32_t addr, void *dst, size_t len)
{
    failing_mem_t *m = ctx;
    if (addr + len > m->fail_at) {
        return ESP_ERR_FLASH_OP_FAIL;
    }
    memcpy(dst, m->bytes + addr, len);
    return ESP_OK;
}

static esp_err_t failing_write(void *ctx, uint32_t addr, const void *src, size_t len)
{
    failing_mem_t *m = ctx;
    memcpy(m->bytes + addr, src, len);
    return ESP_OK;
}

static const otk_flash_backend_t failing_backend = {failing_read, failing_write, NULL, NULL,
                                                    NULL, NULL};

#define TEST_FLASH_SIZE (1u << 20)
#define TEST_PART_OFFSET 0x10000u
#define TEST_PART_SIZE 0x40000u

static void test_verify_flash(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = load(&corpus[0], &len);
    failing_mem_t m = {calloc(TEST_FLASH_SIZE, 1), TEST_FLASH_SIZE};
    memset(m.bytes, 0xFF, TEST_FLASH_SIZE);
    memcpy(m.bytes + TEST_PART_OFFSET, data, len);
    otk_flash_t flash;
    assert_int_equal(otk_flash_init(&flash, &failing_backend, &m, TEST_FLASH_SIZE, NULL), ESP_OK);

    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    otk_image_info_t from_flash, from_buf;
    otk_diag_t diag = {{0}};
    assert_int_equal(otk_image_verify_flash(&flash, TEST_PART_OFFSET, TEST_PART_SIZE, &o,
                                            &from_flash, &diag),
                     ESP_OK);
    o.max_size = TEST_PART_SIZE;
    assert_int_equal(otk_image_verify_buffer(data, len, &o, &from_buf, NULL), ESP_OK);
    same_info(&from_flash, &from_buf);
    check_verdict(&corpus[0], &from_flash);
    /* It reads what the image needs (rounded to its 4 KiB chunks), not the partition. */
    assert_true(flash.stats.read_bytes <= ((len + 4095) & ~(size_t)4095));

    /* At an offset that is not 64 KiB-aligned the mapped segments are misaligned in flash:
     * the mapping check is on flash addresses, as on a device. */
    memset(m.bytes, 0xFF, TEST_FLASH_SIZE);
    memcpy(m.bytes + TEST_PART_OFFSET + 0x1000, data, len);
    assert_int_equal(otk_image_verify_flash(&flash, TEST_PART_OFFSET + 0x1000, TEST_PART_SIZE,
                                            &o, NULL, &diag),
                     ESP_ERR_IMAGE_INVALID);
    assert_non_null(strstr(diag.msg, "load_addr"));
    assert_non_null(strstr(diag.msg, "image at 0x11000"));

    /* Flash read errors come back as they are, with the address in the reason. */
    memcpy(m.bytes + TEST_PART_OFFSET, data, len);
    m.fail_at = TEST_PART_OFFSET + 0x9000;
    assert_int_equal(otk_image_verify_flash(&flash, TEST_PART_OFFSET, TEST_PART_SIZE, &o,
                                            &from_flash, &diag),
                     ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(from_flash.verdict, ESP_ERR_FLASH_OP_FAIL);
    assert_non_null(strstr(diag.msg, "flash read"));
    assert_non_null(strstr(diag.msg, "ESP_ERR_FLASH_OP_FAIL"));

    /* A partition too small for the image; a partition size ESP-IDF refuses. */
    m.fail_at = TEST_FLASH_SIZE;
    assert_int_equal(otk_image_verify_flash(&flash, TEST_PART_OFFSET, 0x20000, &o, NULL, &diag),
                     ESP_ERR_IMAGE_INVALID);
    assert_non_null(strstr(diag.msg, "partition size"));
    assert_int_equal(otk_image_verify_flash(&flash, 0, 0x1000001, &o, NULL, &diag),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_image_verify_flash(&flash, 0, 0, &o, NULL, &diag), ESP_ERR_INVALID_ARG);
    /* Erased flash: bad magic. */
    assert_int_equal(otk_image_verify_flash(&flash, 0x80000, 0x10000, &o, NULL, &diag),
                     ESP_ERR_IMAGE_INVALID);
    assert_non_null(strstr(diag.msg, "magic"));
    free(m.bytes);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_verdicts),
        cmocka_unit_test(test_blink_layout_facts),
        cmocka_unit_test(test_chunking_gives_same_verdict),
        cmocka_unit_test(test_stream_same),
        cmocka_unit_test(test_verify_flash),
        cmocka_unit_test(test_every_byte_flip_rejected_blink),
        cmocka_unit_test(test_every_byte_flip_rejected_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
