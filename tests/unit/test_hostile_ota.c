/* Hostile sizes and offsets given to the OTA engine: image sizes one past the slot and
 * above 4 GiB (size_t on a 64-bit host: truncated to 32 bits they would look small),
 * writes of more than 4 GiB from a 16-byte buffer, offsets at, past and wrapping past the
 * end of the slot. Each is refused before a byte is erased or programmed, with the
 * partition and numbers in the log, and the whole flash hashes the same afterwards. */
#include <stdint.h>
#include <string.h>

#include "hostile.h"
#include "ota_fixture.h"
#include "test_support.h"

#define SLOT 0x10000u /* ota_0 of OF_CSV_FACTORY_2OTA */
/* 4 GiB: where a 32-bit truncation of a size_t starts to lie. */
#define FOUR_GIB ((uint64_t)1 << 32)

static otk_device_t dev;
static otk_flash_t *flash;
static uint8_t before[32];

static int setup(void **state)
{
    (void)state;
    flash = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(flash, "factory", "factory", 0);
    of_start(&dev, flash, NULL, 0);
    hs_log_capture();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    otk_flash_destroy(flash);
    return 0;
}

static void refused_begin(const char *name, size_t size, esp_err_t want, const char *what)
{
    hs_flash_sha(flash, before);
    hs_log_clear();
    esp_ota_handle_t h = 0;
    esp_err_t err = otk_ota_begin(&dev, of_part(&dev, "ota_0"), size, &h);
    hs_expect(name, err, want, hs_last_log(), what);
    assert_int_equal(h, 0);
    assert_int_equal(of_open_handles(&dev), 0);
    hs_unchanged(name, flash, before);
}

static void test_begin_sizes(void **state)
{
    (void)state;
    refused_begin("slot + 1", SLOT + 1, ESP_ERR_INVALID_SIZE,
                  "image_size 0x10001 (erased as 0x11000) does not fit 'ota_0' (0x10000 bytes)");
    if (sizeof(size_t) > 4) {
        /* 4 GiB + 16 would be 16 after a cast to uint32_t. */
        refused_begin("4 GiB + 16", (size_t)(FOUR_GIB + 16), ESP_ERR_INVALID_SIZE,
                      "image_size 0x100000010");
        refused_begin("SIZE_MAX", SIZE_MAX, ESP_ERR_INVALID_SIZE, "does not fit 'ota_0'");
        refused_begin("4 GiB + unknown", (size_t)(FOUR_GIB + OTA_SIZE_UNKNOWN),
                      ESP_ERR_INVALID_SIZE, "image_size 0x1ffffffff");
    }
    /* Exactly the slot is fine. */
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), SLOT, &h), ESP_OK);
    assert_int_equal(otk_ota_abort(&dev, h), ESP_OK);
}

static void test_write_sizes_and_offsets(void **state)
{
    (void)state;
    size_t len = 0;
    const uint8_t *img = of_image("v2", 0, &len);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), OTA_SIZE_UNKNOWN, &h), ESP_OK);
    hs_flash_sha(flash, before);
    static const uint8_t small[16] = {0xE9};
    static const struct {
        const char *name;
        uint64_t size;
        uint64_t offset; /* UINT64_MAX: plain otk_ota_write */
        esp_err_t want;
        const char *what;
    } bad[] = {
        {"write slot + 1", SLOT + 1, UINT64_MAX, ESP_ERR_INVALID_SIZE,
         "0x10001 bytes at 0x0 run past"},
        {"write 4 GiB + 16", FOUR_GIB + 16, UINT64_MAX, ESP_ERR_INVALID_SIZE,
         "0x100000010 bytes at 0x0"},
        {"write SIZE_MAX", UINT64_MAX - 1, UINT64_MAX, ESP_ERR_INVALID_SIZE, "run past"},
        {"offset at the end, 1 byte", 1, SLOT, ESP_ERR_INVALID_SIZE, "run past"},
        {"offset past the end", 1, SLOT + 1, ESP_ERR_INVALID_ARG,
         "offset 0x10001 is past the partition"},
        {"offset 0xFFFFFFFF", 16, 0xFFFFFFFFu, ESP_ERR_INVALID_ARG, "offset 0xffffffff is past"},
        {"offset + size wraps 32 bits", 0x2000, 0xFFFFF000u, ESP_ERR_INVALID_ARG,
         "offset 0xfffff000"},
        {"offset + size wraps at the end", 16, SLOT - 8, ESP_ERR_INVALID_SIZE,
         "0x10 bytes at 0xfff8 run past"},
        {"offset + 4 GiB", FOUR_GIB + 16, 0x100, ESP_ERR_INVALID_SIZE,
         "0x100000010 bytes at 0x100"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i].size > SIZE_MAX) {
            continue; /* a 32-bit host cannot even say it */
        }
        hs_log_clear();
        esp_err_t err =
            bad[i].offset == UINT64_MAX
                ? otk_ota_write(&dev, h, small, (size_t)bad[i].size)
                : otk_ota_write_with_offset(&dev, h, small, (size_t)bad[i].size,
                                            (uint32_t)bad[i].offset);
        hs_expect(bad[i].name, err, bad[i].want, hs_last_log(), bad[i].what);
        hs_unchanged(bad[i].name, flash, before);
    }
    assert_int_equal(dev.ota[0].wrote_size, 0);
    /* The handle still works: the real image goes in and verifies. */
    assert_int_equal(otk_ota_write(&dev, h, img, len), ESP_OK);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    /* A write on an ended handle: refused, nothing written. */
    hs_flash_sha(flash, before);
    assert_int_equal(otk_ota_write(&dev, h, small, sizeof small), ESP_ERR_INVALID_ARG);
    hs_unchanged("write after end", flash, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_begin_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_sizes_and_offsets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
