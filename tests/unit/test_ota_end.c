/* esp_ota_end (verification by the final's type, the handle always freed), the one-pass
 * claims measured with flash statistics, and esp_ota_set_final_partition with
 * finalize_with_copy. */
#include <stdlib.h>
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

static void write_all(esp_ota_handle_t h, const uint8_t *data, size_t len, size_t chunk)
{
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        assert_int_equal(otk_ota_write(&dev, h, data + off, n), ESP_OK);
    }
}

static void test_end_errors(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    assert_int_equal(otk_ota_end(&dev, 1), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_ota_end(&dev, 0), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_ota_end(NULL, 1), ESP_ERR_INVALID_ARG);
    /* Nothing written: INVALID_ARG, and the handle is gone. */
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_ERR_NOT_FOUND);
    assert_int_equal(of_open_handles(&dev), 0);

    /* Truncated: the image needs more bytes than were written. */
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    write_all(h, image, len - 1, 0x400);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(of_open_handles(&dev), 0);

    /* A damaged byte in the payload: the checksum and SHA-256 no longer match. The last
     * write, which completes the image, already says so. */
    uint8_t *bad = test_malloc(len);
    memcpy(bad, image, len);
    bad[0x200] ^= 0x01;
    h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    write_all(h, bad, len - 0x40, 0x400);
    assert_int_equal(otk_ota_write(&dev, h, bad + len - 0x40, 0x40), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(of_open_handles(&dev), 0);
    test_free(bad);
    /* set_boot refuses what end refused. */
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_0")),
                     ESP_ERR_OTA_VALIDATE_FAILED);
    otk_flash_destroy(f);
}

/* An image for another chip does not install: the device is an ESP32, the image an
 * ESP32-C3. */
static void test_image_for_another_chip(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    otk_device_config_t cfg;
    of_config(&cfg);
    of_start(&dev, f, &cfg, 0);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    cfg.chip_id = ESP_CHIP_ID_ESP32S3;
    dev.config = cfg; /* the same device, told it is an S3 (no reboot needed here) */
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    /* The header arrives with the first write: refused there already. */
    assert_int_equal(otk_ota_write(&dev, h, image, len), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    /* Put there by hand: set_boot refuses it. */
    of_put(f, "ota_1", "v1", 0);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_1")),
                     ESP_ERR_OTA_VALIDATE_FAILED);
    /* As a C3 again, both install. */
    dev.config.chip_id = OF_CHIP;
    assert_int_equal(of_update(&dev, of_part(&dev, "ota_0"), image, len, len, 0x300), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_1")), ESP_OK);
    otk_flash_destroy(f);
}

/* One pass: each image byte is read exactly once, right after it is programmed; end reads
 * nothing; set_boot right after end reads only the two otadata entries. */
static void test_one_pass_statistics(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    otk_flash_stats_reset(f);
    write_all(h, image, len, 0x1F3); /* odd chunks: pages and sectors cut anywhere */
    assert_int_equal(f->stats.read_bytes, len);
    assert_int_equal(f->stats.program_bytes, len);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_int_equal(f->stats.read_bytes, 0);
    assert_int_equal(f->stats.read_calls, 0);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    assert_int_equal(f->stats.read_bytes, 2 * sizeof(esp_ota_select_entry_t));
    /* A second set_boot: still known (only otadata changed since). */
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    assert_int_equal(f->stats.read_bytes, 2 * sizeof(esp_ota_select_entry_t));

    /* Something outside the engine programs flash: set_boot verifies again. */
    const uint8_t b = 0x00;
    assert_int_equal(otk_flash_program(f, of_part(&dev, "spare")->address, &b, 1), ESP_OK);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    assert_true(f->stats.read_bytes >= len);

    /* A new begin on the slot forgets the verification too. */
    h = of_begin(&dev, "ota_0", 0x1000);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_ERR_OTA_VALIDATE_FAILED);
    otk_flash_destroy(f);
}

/* otk_ota_get_sha256: the SHA-256 of a file of the given length as the slot holds it,
 * reading back only what the one-pass verifier did not hash (the bytes after the image),
 * and all of it once the engine no longer vouches for the slot. */
static void test_get_sha256(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    enum { TAIL = 700 }; /* bytes after the image: padding, a signature sector, ... */
    uint8_t *file = malloc(len + TAIL);
    memcpy(file, image, len);
    memset(file + len, 0xA5, TAIL);
    uint8_t want[32], got[32];
    otk_sha256(file, len + TAIL, want);
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    write_all(h, file, len + TAIL, 0x1F3);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_get_sha256(&dev, h, (uint32_t)(len + TAIL), got), ESP_OK);
    assert_memory_equal(got, want, sizeof want);
    /* Read: the appended hash and the tail only (the image is hashed up to its end). */
    assert_int_equal(f->stats.read_bytes, OTK_SHA256_LEN + TAIL);
    /* A shorter length: the file that long. */
    otk_sha256(file, len - 5, want);
    assert_int_equal(otk_ota_get_sha256(&dev, h, (uint32_t)(len - 5), got), ESP_OK);
    assert_memory_equal(got, want, sizeof want);
    /* Flash changed outside the engine: everything is read back, and the change counts. */
    const uint8_t zero = 0x00;
    assert_int_equal(otk_flash_program(f, of_part(&dev, "ota_0")->address + len + 1, &zero, 1),
                     ESP_OK);
    file[len + 1] = 0x00;
    otk_sha256(file, len + TAIL, want);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_get_sha256(&dev, h, (uint32_t)(len + TAIL), got), ESP_OK);
    assert_memory_equal(got, want, sizeof want);
    assert_int_equal(f->stats.read_bytes, len + TAIL);
    assert_int_equal(otk_ota_get_sha256(&dev, h, 0x7FFFFFFFu, got), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_get_sha256(&dev, h + 100, 16, got), ESP_ERR_NOT_FOUND);
    free(file);
    otk_flash_destroy(f);
}

/* Another handle's writes in between do not cost the one pass. */
static void test_one_pass_survives_interleaving(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len_a = 0, len_b = 0;
    static uint8_t a[OF_IMAGE_MAX], b[OF_IMAGE_MAX];
    len_a = of_build(a, sizeof a, "A", 0, OF_PAYLOAD_LEN);
    len_b = of_build(b, sizeof b, "B", 0, OF_PAYLOAD_LEN + 512);
    esp_ota_handle_t ha = of_begin(&dev, "ota_0", OTA_WITH_SEQUENTIAL_WRITES);
    esp_ota_handle_t hb = of_begin(&dev, "ota_1", OTA_SIZE_UNKNOWN);
    for (size_t off = 0; off < len_a || off < len_b; off += 0x100) {
        if (off < len_a) {
            size_t n = len_a - off < 0x100 ? len_a - off : 0x100;
            assert_int_equal(otk_ota_write(&dev, ha, a + off, n), ESP_OK);
        }
        if (off < len_b) {
            size_t n = len_b - off < 0x100 ? len_b - off : 0x100;
            assert_int_equal(otk_ota_write(&dev, hb, b + off, n), ESP_OK);
        }
    }
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_end(&dev, hb), ESP_OK);
    assert_int_equal(otk_ota_end(&dev, ha), ESP_OK);
    assert_int_equal(f->stats.read_bytes, 0);
    otk_flash_destroy(f);
}

/* A resumption reads what was there once, at resume; end still reads nothing. */
static void test_resume_reads_prefix_once(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    esp_ota_handle_t h = of_begin(&dev, "ota_0", OTA_SIZE_UNKNOWN);
    write_all(h, image, 0x500, 0x100);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_resume(&dev, of_part(&dev, "ota_0"), 0, 0x500, &h), ESP_OK);
    assert_int_equal(f->stats.read_bytes, 0x500);
    write_all(h, image + 0x500, len - 0x500, 0x333);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_int_equal(f->stats.read_bytes, 0);
    otk_flash_destroy(f);
}

/* An app staged in a data partition and copied to its final slot. */
static void test_final_copy_of_an_app(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    of_put(f, "ota_0", "old", 0); /* before of_image: they share its buffer */
    size_t len = 0;
    const uint8_t *image = of_image("v2", 0, &len);
    const esp_partition_t *ota0 = of_part(&dev, "ota_0");
    esp_ota_handle_t h = of_begin(&dev, "spare", OTA_SIZE_UNKNOWN);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, ota0, true), ESP_OK);
    /* The final's type decides the first-chunk check: an app wants 0xE9. */
    const uint8_t zero = 0;
    assert_int_equal(otk_ota_write(&dev, h, &zero, 1), ESP_ERR_OTA_VALIDATE_FAILED);
    write_all(h, image, len, 0x400);
    otk_flash_stats_reset(f);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    /* The whole 64 KiB slot: one block erase, then only the pages that hold bytes. */
    assert_int_equal(f->stats.erase_blocks, 1);
    assert_int_equal(f->stats.erase_sectors, 0);
    assert_int_equal(f->stats.read_bytes, ota0->size);
    assert_int_equal(f->stats.program_pages, (len + 0xFF) / 0x100);
    uint8_t *back = test_malloc(len);
    assert_int_equal(otk_flash_read(f, ota0->address, back, len), ESP_OK);
    assert_memory_equal(back, image, len);
    test_free(back);
    assert_true(of_erased(&dev, ota0, (uint32_t)((len + 0xFF) & ~0xFFu), 0x1000));
    assert_int_equal(otk_ota_set_boot_partition(&dev, ota0), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v2");
    otk_flash_destroy(f);
}

/* A data partition staged in an OTA slot and copied: every byte of the final. */
static void test_final_copy_of_data(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *spare = of_part(&dev, "spare");
    static uint8_t data[0x10000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 131u + 7u);
    }
    esp_ota_handle_t h = of_begin(&dev, "ota_1", OTA_SIZE_UNKNOWN);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, spare, true), ESP_OK);
    write_all(h, data, sizeof data, 0x1000);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    static uint8_t back[0x10000];
    assert_int_equal(otk_flash_read(f, spare->address, back, sizeof back), ESP_OK);
    assert_memory_equal(back, data, sizeof data);

    /* Without the copy flag end copies nothing. */
    assert_int_equal(otk_flash_erase(f, spare->address, spare->size), ESP_OK);
    h = of_begin(&dev, "ota_1", OTA_SIZE_UNKNOWN);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, spare, false), ESP_OK);
    write_all(h, data, 0x100, 0x100);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_true(of_erased(&dev, spare, 0, spare->size));

    /* Staging smaller than the final: INVALID_SIZE, the handle freed. */
    h = of_begin(&dev, "tiny", 0);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, spare, true), ESP_OK);
    write_all(h, data, 0x100, 0x100);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_INVALID_SIZE);
    assert_int_equal(of_open_handles(&dev), 0);
    otk_flash_destroy(f);
}

static void test_set_final_errors(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    const esp_partition_t *spare = of_part(&dev, "spare");
    esp_ota_handle_t h = of_begin(&dev, "ota_1", OTA_SIZE_UNKNOWN);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, NULL, true), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_set_final_partition(NULL, h, spare, true), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_set_final_partition(&dev, h + 1, spare, true), ESP_ERR_NOT_FOUND);
    esp_partition_t bogus = *spare;
    bogus.size = 0x1000;
    assert_int_equal(otk_ota_set_final_partition(&dev, h, &bogus, true), ESP_ERR_NOT_FOUND);
    /* Decisions: not the running app, not another update's partition. */
    assert_int_equal(otk_ota_set_final_partition(&dev, h, dev.running, true),
                     ESP_ERR_OTA_PARTITION_CONFLICT);
    esp_ota_handle_t h2 = of_begin(&dev, "tiny", 0);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, of_part(&dev, "tiny"), true),
                     ESP_ERR_OTA_ALREADY_IN_PROGRESS);
    assert_int_equal(otk_ota_abort(&dev, h2), ESP_OK);
    /* Back to the staging partition: no copy any more. */
    assert_int_equal(otk_ota_set_final_partition(&dev, h, spare, true), ESP_OK);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, of_part(&dev, "ota_1"), true), ESP_OK);
    assert_false(dev.ota[0].finalize_with_copy);
    assert_ptr_equal(dev.ota[0].final, of_part(&dev, "ota_1"));
    /* Once data was written: INVALID_STATE. */
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    assert_int_equal(otk_ota_write(&dev, h, image, 16), ESP_OK);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, spare, true), ESP_ERR_INVALID_STATE);
    assert_ptr_equal(dev.ota[0].final, of_part(&dev, "ota_1"));
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
    /* A resumption may still choose its final. */
    assert_int_equal(otk_ota_resume(&dev, of_part(&dev, "ota_1"), 0, 16, &h), ESP_OK);
    assert_int_equal(otk_ota_set_final_partition(&dev, h, spare, true), ESP_OK);
    otk_flash_destroy(f);
}

/* A partition-table final: esp_partition_table_verify of the staged 0xC00 bytes. */
static void test_partition_table_end(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    uint8_t bin[OTK_PARTITION_TABLE_BIN_SIZE];
    assert_int_equal(otk_partition_table_serialize(&dev.table, true, bin, NULL), ESP_OK);
    esp_ota_handle_t h = of_begin(&dev, "pt_ota", 0);
    write_all(h, bin, sizeof bin, 0x400);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    /* A wrong MD5 record. */
    bin[sizeof(esp_partition_info_t) * dev.table.count + OTK_PARTITION_MD5_OFFSET] ^= 1;
    h = of_begin(&dev, "pt_ota", 0);
    write_all(h, bin, sizeof bin, 0x400);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    /* A flash that cannot map its bytes: the table is read into a buffer instead. */
    otk_flash_backend_t no_map = *f->backend;
    no_map.map = NULL;
    const otk_flash_backend_t *mapped = f->backend;
    f->backend = &no_map;
    h = of_begin(&dev, "pt_ota", 0);
    write_all(h, bin, sizeof bin, 0x400);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    bin[sizeof(esp_partition_info_t) * dev.table.count + OTK_PARTITION_MD5_OFFSET] ^= 1;
    h = of_begin(&dev, "pt_ota", 0);
    write_all(h, bin, sizeof bin, 0x400);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    f->backend = mapped;
    otk_flash_destroy(f);
}

/* A bootloader final is verified as a bootloader image (no app rules). */
static void test_bootloader_end(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    uint8_t junk[0x100];
    memset(junk, 0x77, sizeof junk);
    junk[0] = 0xE9;
    junk[1] = 0x20; /* 32 segments: more than 16 */
    esp_ota_handle_t h = of_begin(&dev, "bl_ota", 0);
    assert_int_equal(otk_ota_write(&dev, h, junk, sizeof junk), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(otk_ota_end(&dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_errors),
        cmocka_unit_test(test_image_for_another_chip),
        cmocka_unit_test(test_one_pass_statistics),
        cmocka_unit_test(test_one_pass_survives_interleaving),
        cmocka_unit_test(test_resume_reads_prefix_once),
        cmocka_unit_test(test_final_copy_of_an_app),
        cmocka_unit_test(test_final_copy_of_data),
        cmocka_unit_test(test_set_final_errors),
        cmocka_unit_test(test_partition_table_end),
        cmocka_unit_test(test_get_sha256),
        cmocka_unit_test(test_bootloader_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
