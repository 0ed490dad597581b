/* esp_ota_write and esp_ota_write_with_offset: argument checks, the first-chunk magic,
 * bounds checked before anything is programmed, the lazy erase of
 * OTA_WITH_SEQUENTIAL_WRITES exactly as §5.1 describes, and the early refusal of an image
 * already known to be invalid. */
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

static void test_argument_errors(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    assert_int_equal(otk_ota_write(&dev, h, NULL, 16), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write(&dev, h, NULL, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write(NULL, h, image, 16), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write(&dev, h + 1, image, 16), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write(&dev, 0, image, 16), ESP_ERR_INVALID_ARG);
    /* Decision: size 0 on an unknown handle is an error (ESP-IDF: ESP_OK). */
    assert_int_equal(otk_ota_write(&dev, h + 1, image, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write(&dev, h, image, 0), ESP_OK);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, NULL, 16, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write_with_offset(&dev, h + 1, image, 16, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, image, 0, 0), ESP_OK);
    assert_int_equal(dev.ota[0].wrote_size, 0);
    otk_flash_destroy(f);
}

/* The first chunk of an app must start with 0xE9: refused with nothing erased or
 * programmed (decision: ESP-IDF's lazy erase runs before the check). */
static void test_first_chunk_magic(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    of_put(f, "ota_0", "old", 0);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    uint8_t before[32], after[32];
    of_hash(f, p, before);
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_WITH_SEQUENTIAL_WRITES);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    uint8_t bad[64];
    memcpy(bad, image, sizeof bad);
    bad[0] = 0xE8;
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_write(&dev, h, bad, sizeof bad), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_int_equal(f->stats.program_pages, 0);
    of_hash(f, p, after);
    assert_memory_equal(before, after, 32);
    /* The handle stays; a good first chunk then goes in. */
    assert_int_equal(otk_ota_write(&dev, h, image, len), ESP_OK);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);

    /* A data partition takes any first byte. */
    h = of_begin(&dev, "spare", 0);
    assert_int_equal(otk_ota_write(&dev, h, bad, sizeof bad), ESP_OK);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    otk_flash_destroy(f);
}

static void test_first_chunk_after_resume_at_zero(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_resume(&dev, of_part(&dev, "ota_0"), 0, 0, &h), ESP_OK);
    uint8_t zero[16] = {0};
    assert_int_equal(otk_ota_write(&dev, h, zero, sizeof zero), ESP_ERR_OTA_VALIDATE_FAILED);
    otk_flash_destroy(f);
}

/* A write past the declared size or the partition is refused before anything is
 * programmed. */
static void test_bounds_before_programming(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    /* Declared 0x800 bytes: begin erased one sector, writes may use it all. */
    esp_ota_handle_t h = of_begin(&dev, "ota_0", 0x800);
    assert_int_equal(otk_ota_write(&dev, h, image, 0x800), ESP_OK);
    assert_int_equal(otk_ota_write(&dev, h, image + 0x800, 0x800), ESP_OK);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_write(&dev, h, image + 0x1000, 1), ESP_ERR_INVALID_SIZE);
    assert_int_equal(f->stats.program_pages, 0);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_int_equal(f->stats.rejected, 0); /* not even offered to the flash */
    assert_true(of_erased(&dev, p, 0x1000, 0x1000));
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);

    /* Past the partition, with a whole-partition begin (a data partition: these bytes
     * are no image). */
    static uint8_t big[0x10000];
    memset(big, 0xA5, sizeof big);
    p = of_part(&dev, "spare");
    h = of_begin(&dev, "spare", OTA_SIZE_UNKNOWN);
    assert_int_equal(otk_ota_write(&dev, h, big, 0xF000), ESP_OK);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_write(&dev, h, big, 0x1001), ESP_ERR_INVALID_SIZE);
    assert_int_equal(f->stats.program_pages, 0);
    assert_true(of_erased(&dev, p, 0xF000, 0x1000));
    /* Exactly to the end is fine. */
    assert_int_equal(otk_ota_write(&dev, h, big, 0x1000), ESP_OK);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);

    /* write_with_offset: offset past the partition, and running past it. */
    h = of_begin(&dev, "spare", 0x2000);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, big, 1, 0x10001), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, big, 2, 0xFFFF), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, big, 0x10, 0x1FF8),
                     ESP_ERR_INVALID_SIZE);
    assert_int_equal(f->stats.program_pages, 0);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, big, 0x10, 0x1FF0), ESP_OK);
    otk_flash_destroy(f);
}

/* One sequential write: the erase it causes, checked by stats and bytes. */
static void seq_write(esp_ota_handle_t h, const uint8_t *data, size_t n, uint64_t sectors,
                      uint64_t blocks)
{
    otk_flash_stats_reset(dev.flash);
    assert_int_equal(otk_ota_write(&dev, h, data, n), ESP_OK);
    assert_int_equal(dev.flash->stats.erase_sectors, sectors);
    assert_int_equal(dev.flash->stats.erase_blocks, blocks);
}

/* Every byte of the partition programmed to 0: an erase shows as 0xFF. */
static void make_stale(otk_flash_t *f, const esp_partition_t *p)
{
    uint8_t *zero = test_calloc(1, p->size);
    assert_int_equal(otk_flash_erase(f, p->address, p->size), ESP_OK);
    assert_int_equal(otk_flash_program(f, p->address, zero, p->size), ESP_OK);
    test_free(zero);
}

/* Lazy erase: a write that enters unerased space erases ahead of it by whole 64 KiB blocks
 * where a whole aligned block lies in the partition (one block erase instead of sixteen
 * sector erases, and never more than one block per 4 KiB write), by 4 KiB sectors where
 * not; nothing when the write stays in space already erased. */
static void test_sequential_lazy_erase(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *p = of_part(&dev, "ota_0"); /* 64 KiB at 0x20000: one block */
    make_stale(f, p);
    uint8_t *fill = test_malloc(0x10000);
    memset(fill, 0x3C, 0x10000);
    fill[0] = 0xE9;
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_WITH_SEQUENTIAL_WRITES);
    assert_false(of_erased(&dev, p, 0, 1)); /* nothing erased by begin */

    seq_write(h, fill, 100, 0, 1); /* [0,100): enters block 0: one block erase */
    assert_true(of_erased(&dev, p, 100, 0x10000 - 100));
    seq_write(h, fill + 1, 0xF00, 0, 0); /* inside erased space: nothing */
    seq_write(h, fill + 1, 0x7FFF, 0, 0);
    seq_write(h, fill + 1, 0x10000 - 0x8F63, 0, 0); /* up to the partition's end */
    uint8_t back[0x40];
    assert_int_equal(otk_flash_read(f, p->address + 0xFFC0, back, sizeof back), ESP_OK);
    assert_memory_equal(back, fill + 1, sizeof back);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);

    /* A partition smaller than a block: ESP-IDF's sector boundaries. From wrote_size when
     * it starts a sector, else from the next sector the write enters. */
    const esp_partition_t *t = of_part(&dev, "tiny"); /* 16 KiB */
    make_stale(f, t);
    h = of_begin(&dev, "tiny", OTA_WITH_SEQUENTIAL_WRITES);
    seq_write(h, fill, 100, 1, 0); /* [0,100): starts sector 0 */
    assert_true(of_erased(&dev, t, 100, 0x1000 - 100));
    assert_false(of_erased(&dev, t, 0x1000, 1));
    seq_write(h, fill + 1, 0xF00, 0, 0); /* [100,0xF64): inside sector 0 */
    seq_write(h, fill + 1, 0x9C, 0, 0);  /* [0xF64,0x1000): ends on the boundary */
    seq_write(h, fill + 1, 1, 1, 0);     /* [0x1000,0x1001): starts sector 1 */
    assert_true(of_erased(&dev, t, 0x1001, 0xFFF));
    assert_false(of_erased(&dev, t, 0x2000, 1));
    seq_write(h, fill + 1, 0x1FFF, 1, 0); /* [0x1001,0x3000): enters sector 2 only */
    assert_false(of_erased(&dev, t, 0x3000, 1));
    seq_write(h, fill + 1, 0x1000, 1, 0); /* [0x3000,0x4000): sector 3 */
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);

    /* write_with_offset cannot be used: nothing would erase what it programs. */
    h = of_begin(&dev, "ota_0", OTA_WITH_SEQUENTIAL_WRITES);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, fill, 16, 0), ESP_ERR_INVALID_STATE);
    assert_int_equal(f->stats.program_pages + f->stats.erase_calls, 0);
    test_free(fill);
    otk_flash_destroy(f);
}

/* A 1 MiB streamed update: 16 block erases, one per block the writes enter. */
static void test_sequential_block_erase_count(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_1M, OF_FLASH_SIZE_1M);
    of_put(f, "factory", "1.0.0", 0);
    of_start(&dev, f, NULL, 0);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    size_t len;
    const uint8_t *img = of_image("2.0.0", 0, &len);
    uint8_t *fill = test_malloc(0x100000);
    memset(fill, 0x5A, 0x100000);
    memcpy(fill, img, len); /* a valid image first, then filler the verifier ignores */
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_WITH_SEQUENTIAL_WRITES);
    otk_flash_stats_reset(f);
    for (size_t off = 0; off < 0x100000; off += 0x1000) {
        uint64_t blocks = f->stats.erase_blocks;
        assert_int_equal(otk_ota_write(&dev, h, fill + off, 0x1000), ESP_OK);
        assert_true(f->stats.erase_blocks - blocks <= 1); /* no call erases more than a block */
    }
    assert_int_equal(f->stats.erase_blocks, 16);
    assert_int_equal(f->stats.erase_sectors, 0);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    test_free(fill);
    otk_flash_destroy(f);
}

/* Resumed sequential writes continue the lazy erase from the resume offset. */
static void test_sequential_resume_erase(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *p = of_part(&dev, "spare");
    make_stale(f, p);
    uint8_t fill[0x800];
    memset(fill, 0x11, sizeof fill);
    esp_ota_handle_t h = 0;
    /* Mid-sector: the current sector is taken as already erased and written to 0x1800. */
    assert_int_equal(otk_flash_erase(f, p->address + 0x1000, 0x1000), ESP_OK);
    assert_int_equal(otk_ota_resume(&dev, p, OTA_WITH_SEQUENTIAL_WRITES, 0x1800, &h), ESP_OK);
    seq_write(h, fill, 0x800, 0, 0);     /* [0x1800,0x2000) */
    seq_write(h, fill, 0x10, 1, 0);      /* [0x2000,0x2010): sector 2 */
    assert_int_equal(dev.ota[0].wrote_size, 0x2010);
    otk_flash_destroy(f);
}

/* A partition-table final wants AA 50 first (when the chunk has two bytes); a bootloader
 * final wants 0xE9 like an app. */
static void test_partition_table_and_bootloader_magic(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const uint8_t bad[2] = {0x50, 0xAA};
    const uint8_t good[2] = {0xAA, 0x50};
    const uint8_t one[1] = {0x00};
    esp_ota_handle_t h = of_begin(&dev, "pt_ota", 0);
    assert_int_equal(otk_ota_write(&dev, h, bad, 2), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(otk_ota_write(&dev, h, one, 1), ESP_OK); /* too short to check */
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    h = of_begin(&dev, "pt_ota", 0);
    assert_int_equal(otk_ota_write(&dev, h, good, 2), ESP_OK);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);

    /* The final's type decides: spare staging for a table final. */
    h = of_begin(&dev, "spare", 0);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, of_part(&dev, "pt_ota"), true), ESP_OK);
    assert_int_equal(otk_ota_write(&dev, h, bad, 2), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);

    h = of_begin(&dev, "bl_ota", 0);
    assert_int_equal(otk_ota_write(&dev, h, good, 2), ESP_ERR_OTA_VALIDATE_FAILED);
    otk_flash_destroy(f);
}

/* Beyond ESP-IDF: once the bytes read back show the image cannot be valid, further writes
 * are refused before programming. */
static void test_early_refusal_of_invalid_image(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    uint8_t *bad = test_malloc(len);
    memcpy(bad, image, len);
    bad[24 + 4] = 0x03; /* segment 0 data_len not a multiple of 4: unreadable from there */
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    assert_int_equal(otk_ota_write(&dev, h, bad, 64), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(dev.ota[0].wrote_size, 64); /* those bytes were programmed */
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_write(&dev, h, bad + 64, 64), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(f->stats.program_pages, 0);
    assert_int_equal(dev.ota[0].wrote_size, 64);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(of_open_handles(&dev), 0);
    test_free(bad);
    otk_flash_destroy(f);
}

/* write_with_offset in any order: the image is verified from flash at end. */
static void test_write_with_offset_any_order(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    esp_ota_handle_t h = of_begin(&dev, "ota_0", len);
    size_t half = len / 2;
    /* Second half first (no magic check for write_with_offset), then the first half. */
    assert_int_equal(otk_ota_write_with_offset(&dev, h, image + half, len - half, (uint32_t)half),
                     ESP_OK);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, image, half, 0), ESP_OK);
    assert_int_equal(dev.ota[0].wrote_size, len);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_true(f->stats.read_bytes >= len); /* read once, at end */
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v1");
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);

    /* In order with write_with_offset from 0: still one pass. */
    h = of_begin(&dev, "ota_1", len);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, image, half, 0), ESP_OK);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, image + half, len - half, (uint32_t)half),
                     ESP_OK);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_int_equal(f->stats.read_bytes, 0);
    otk_flash_destroy(f);
}

static void test_write_to_readonly_partition(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    /* A readonly flag set by the app's table (gen_esp32part refuses it only for otadata). */
    esp_ota_handle_t h = of_begin(&dev, "tiny", OTA_WITH_SEQUENTIAL_WRITES);
    otk_partition_table_t *t = &dev.table;
    for (size_t i = 0; i < t->count; i++) {
        if (strcmp(t->parts[i].label, "tiny") == 0) {
            t->parts[i].readonly = true;
        }
    }
    uint8_t b[4] = {1, 2, 3, 4};
    assert_int_equal(otk_ota_write(&dev, h, b, 4), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(otk_ota_write_with_offset(&dev, h, b, 4, 0), ESP_ERR_INVALID_STATE);
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_first_chunk_magic),
        cmocka_unit_test(test_first_chunk_after_resume_at_zero),
        cmocka_unit_test(test_bounds_before_programming),
        cmocka_unit_test(test_sequential_lazy_erase),
        cmocka_unit_test(test_sequential_block_erase_count),
        cmocka_unit_test(test_sequential_resume_erase),
        cmocka_unit_test(test_partition_table_and_bootloader_magic),
        cmocka_unit_test(test_early_refusal_of_invalid_image),
        cmocka_unit_test(test_write_with_offset_any_order),
        cmocka_unit_test(test_write_to_readonly_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
