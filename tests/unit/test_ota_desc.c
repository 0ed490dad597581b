/* esp_ota_get_partition_description, esp_ota_get_bootloader_description and
 * esp_ota_check_image_validity. */
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

static void test_partition_description(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    of_put(f, "ota_0", "1.2.3", 7);
    esp_app_desc_t d;
    const esp_partition_t *o0 = of_part(&dev, "ota_0");
    assert_int_equal(otk_ota_get_partition_description(&dev, NULL, &d), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_get_partition_description(&dev, o0, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_get_partition_description(NULL, o0, &d), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_get_partition_description(&dev, of_part(&dev, "spare"), &d),
                     ESP_ERR_NOT_SUPPORTED);
    assert_int_equal(otk_ota_get_partition_description(&dev, of_part(&dev, "ota_1"), &d),
                     ESP_ERR_NOT_FOUND);
    memset(&d, 0, sizeof d);
    assert_int_equal(otk_ota_get_partition_description(&dev, o0, &d), ESP_OK);
    assert_int_equal(d.magic_word, ESP_APP_DESC_MAGIC_WORD);
    assert_int_equal(d.secure_version, 7);
    assert_string_equal(d.version, "1.2.3");
    assert_string_equal(d.project_name, "otatest");
    /* Bytes as on flash: the 256 bytes at image offset 0x20. */
    uint8_t raw[256];
    assert_int_equal(otk_flash_read(f, o0->address + 0x20, raw, sizeof raw), ESP_OK);
    assert_memory_equal(raw + 16, d.version, 32);
    /* A hand-made app partition too small for the description: the read's error. */
    esp_partition_t small = *o0;
    small.size = 0x40;
    small.flash_chip = NULL; /* the device's flash */
    assert_int_equal(otk_ota_get_partition_description(&dev, &small, &d), ESP_ERR_INVALID_SIZE);
    otk_flash_destroy(f);
}

static void put_bootloader_desc(otk_flash_t *f, uint32_t address, uint8_t magic)
{
    uint8_t raw[80];
    memset(raw, 0, sizeof raw);
    raw[0] = magic;
    raw[3] = 2;    /* secure_version */
    raw[4] = 0x34; /* version 0x1234 */
    raw[5] = 0x12;
    memcpy(raw + 8, "v6.1", 4);
    assert_int_equal(otk_flash_program(f, address + 0x20, raw, sizeof raw), ESP_OK);
}

static void test_bootloader_description(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    esp_bootloader_desc_t d;
    assert_int_equal(otk_ota_get_bootloader_description(&dev, NULL, NULL), ESP_ERR_INVALID_ARG);
    /* The ESP32-C3's bootloader sits at 0x0; nothing there yet. */
    assert_int_equal(otk_ota_get_bootloader_description(&dev, NULL, &d), ESP_ERR_NOT_FOUND);
    put_bootloader_desc(f, 0x0, ESP_BOOTLOADER_DESC_MAGIC_BYTE);
    memset(&d, 0, sizeof d);
    assert_int_equal(otk_ota_get_bootloader_description(&dev, NULL, &d), ESP_OK);
    assert_int_equal(d.magic_byte, 80);
    assert_int_equal(d.secure_version, 2);
    assert_int_equal(d.version, 0x1234);
    assert_string_equal(d.idf_ver, "v6.1");
    /* A given partition (the bootloader staging slot). */
    const esp_partition_t *bl = of_part(&dev, "bl_ota");
    put_bootloader_desc(f, bl->address, 0x51);
    assert_int_equal(otk_ota_get_bootloader_description(&dev, bl, &d), ESP_ERR_NOT_FOUND);
    otk_flash_destroy(f);
}

static void test_check_image_validity(void **state)
{
    (void)state;
    otk_flash_t *f = of_start_factory(&dev);
    size_t len = 0;
    const uint8_t *image = of_image("v1", 0, &len);
    esp_image_header_t hdr;
    otk_image_header_decode(image, &hdr);
    esp_app_desc_t desc;
    otk_image_app_desc_decode(image + 0x20, &desc);

    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, NULL, NULL),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_DATA, &hdr, NULL),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &hdr, &desc),
                     ESP_OK);
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_BOOTLOADER, &hdr, NULL),
                     ESP_OK);

    /* Another chip. */
    esp_image_header_t other = hdr;
    other.chip_id = ESP_CHIP_ID_ESP32S3;
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &other, NULL),
                     ESP_ERR_INVALID_VERSION);
    /* Revision: the device is v0.4. Minimum above it fails for both kinds. */
    other = hdr;
    other.min_chip_rev_full = 5;
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &other, NULL),
                     ESP_ERR_INVALID_VERSION);
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_BOOTLOADER, &other,
                                                  NULL),
                     ESP_ERR_INVALID_VERSION);
    /* Maximum below it: apps only. */
    other = hdr;
    other.max_chip_rev_full = 3;
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &other, NULL),
                     ESP_ERR_INVALID_VERSION);
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_BOOTLOADER, &other,
                                                  NULL),
                     ESP_OK);

    /* Flash mode: the running app's (0 = unknown) against the new one's. */
    esp_app_desc_t *running = &dev.boot.image.app_desc;
    running->spi_flash_mode = 3; /* DIO */
    desc.spi_flash_mode = 1;     /* QIO */
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &hdr, &desc),
                     ESP_ERR_OTA_SPI_MODE_MISMATCH);
    desc.spi_flash_mode = 3;
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &hdr, &desc),
                     ESP_OK);
    desc.spi_flash_mode = 0; /* an image from before v6.1 */
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &hdr, &desc),
                     ESP_OK);
    running->spi_flash_mode = 0;
    desc.spi_flash_mode = 1;
    assert_int_equal(otk_ota_check_image_validity(&dev, ESP_PARTITION_TYPE_APP, &hdr, &desc),
                     ESP_OK);
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_description),
        cmocka_unit_test(test_bootloader_description),
        cmocka_unit_test(test_check_image_validity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
