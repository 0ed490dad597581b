/* A 1 MiB update on partitions_two_ota.csv, measured with the flash statistics and the
 * modelled device time: block erases for the whole aligned slot, every image byte read
 * exactly once (right after it is programmed), end and set_boot reading no image byte.
 * The numbers are printed; the assertions are the claims. */
#include <stdio.h>
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

#define SLOT_SIZE 0x100000u
#define CHUNK 0x1000u /* what an HTTP client hands over at a time, typically */
/* Leaves room in the slot for the image's header, descriptor, padding and hash. */
#define PAYLOAD_LEN (SLOT_SIZE - 0x1000u)

typedef struct {
    otk_flash_stats_t stats;
    uint64_t us;
} phase_t;

static void phase_start(otk_flash_t *f)
{
    otk_flash_stats_reset(f);
}

static phase_t phase_end(const otk_flash_t *f)
{
    phase_t p = {f->stats, f->elapsed_us};
    return p;
}

static void print_phase(const char *name, const phase_t *p)
{
    printf("  %-22s erase %3llu blocks %3llu sectors, program %5llu pages, read %8llu bytes "
           "in %4llu calls, %8.1f ms\n",
           name, (unsigned long long)p->stats.erase_blocks,
           (unsigned long long)p->stats.erase_sectors,
           (unsigned long long)p->stats.program_pages, (unsigned long long)p->stats.read_bytes,
           (unsigned long long)p->stats.read_calls, (double)p->us / 1000.0);
}

static uint8_t *build_big(size_t *len)
{
    uint8_t *image = test_malloc(SLOT_SIZE);
    *len = of_build(image, SLOT_SIZE, "big", 0, PAYLOAD_LEN);
    assert_true(*len <= SLOT_SIZE && *len > SLOT_SIZE - 0x1000);
    return image;
}

static void update(size_t image_size, const char *title)
{
    otk_flash_t *f = of_flash(OF_CSV_1M, OF_FLASH_SIZE_1M);
    of_put(f, "factory", "factory", 0);
    of_start(&dev, f, NULL, 0);
    size_t len = 0;
    uint8_t *image = build_big(&len);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    assert_int_equal(p->size, SLOT_SIZE);
    assert_int_equal(p->address % OTK_FLASH_BLOCK_SIZE, 0);

    phase_start(f);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, p, image_size, &h), ESP_OK);
    phase_t begin = phase_end(f);

    phase_start(f);
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        assert_int_equal(otk_ota_write(&dev, h, image + off, n), ESP_OK);
    }
    phase_t write = phase_end(f);

    phase_start(f);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    phase_t end = phase_end(f);

    phase_start(f);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    phase_t boot = phase_end(f);

    /* What ESP-IDF does on top: a full verification read at end and again at set_boot. */
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    phase_start(f);
    assert_int_equal(otk_image_verify_flash(f, p->address, p->size, &opts, NULL, NULL), ESP_OK);
    phase_t verify = phase_end(f);

    printf("%s (image 0x%zx bytes, 1 MiB slot):\n", title, len);
    print_phase("begin", &begin);
    print_phase("write (4 KiB chunks)", &write);
    print_phase("end", &end);
    print_phase("set_boot", &boot);
    uint64_t total = begin.us + write.us + end.us + boot.us;
    printf("  total modelled device time %.1f ms; ESP-IDF's two extra verification reads "
           "would add %.1f ms (%llu bytes each)\n",
           (double)total / 1000.0, 2.0 * (double)verify.us / 1000.0,
           (unsigned long long)verify.stats.read_bytes);

    /* The claims. */
    assert_int_equal(write.stats.read_bytes, len);  /* each byte read back once */
    assert_int_equal(write.stats.program_bytes, len);
    assert_int_equal(end.stats.read_bytes, 0);      /* end reads no slot byte */
    assert_int_equal(end.stats.program_pages + end.stats.erase_calls, 0);
    assert_int_equal(boot.stats.read_bytes, 2 * sizeof(esp_ota_select_entry_t)); /* otadata */
    assert_int_equal(boot.stats.erase_sectors, 1);  /* one otadata sector rewritten: */
    assert_int_equal(boot.stats.program_pages, 2);  /* the entry, then its CRC */
    if (image_size != OTA_WITH_SEQUENTIAL_WRITES) {
        assert_int_equal(begin.stats.erase_blocks, 16);
        assert_int_equal(begin.stats.erase_sectors, 0);
        assert_int_equal(write.stats.erase_calls, 0);
    } else {
        /* The lazy erase by whole blocks: one block as the writes enter each 64 KiB
         * block of the slot (ESP-IDF would erase 256 sectors, one per 4 KiB write). */
        assert_int_equal(begin.stats.erase_calls, 0);
        assert_int_equal(write.stats.erase_blocks, (len + 0xFFFF) / 0x10000);
        assert_int_equal(write.stats.erase_sectors, 0);
    }
    test_free(image);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "big");
    otk_flash_destroy(f);
}

static void test_known_size(void **state)
{
    (void)state;
    update(SLOT_SIZE, "known size (0x100000)");
}

static void test_image_length_as_size(void **state)
{
    (void)state;
    /* The exact image length rounds up to the whole slot: still 16 block erases. */
    size_t len = 0;
    uint8_t *image = build_big(&len);
    test_free(image);
    update(len, "image length as size");
}

static void test_size_unknown(void **state)
{
    (void)state;
    update(OTA_SIZE_UNKNOWN, "OTA_SIZE_UNKNOWN");
}

static void test_sequential(void **state)
{
    (void)state;
    update(OTA_WITH_SEQUENTIAL_WRITES, "OTA_WITH_SEQUENTIAL_WRITES");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_size),
        cmocka_unit_test(test_image_length_as_size),
        cmocka_unit_test(test_size_unknown),
        cmocka_unit_test(test_sequential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
