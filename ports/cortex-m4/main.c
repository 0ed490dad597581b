/* The example firmware: boots a device from its flash with the portable core and installs
 * an update, so the link pulls in every layer (flash, partition, image, otadata, boot,
 * ota, device) the way a product would use them:
 *
 *   1. first power-on of a blank chip: the factory contents (table + app 1.0 in ota_0);
 *   2. power on: the boot layer picks ota_0 and writes the initial otadata;
 *   3. an update to 2.0 arrives in small packets: esp_ota_begin / write / end into ota_1,
 *      then set_boot_partition;
 *   4. reset: the boot layer marks ota_1 PENDING_VERIFY and starts it; the new app passes
 *      its self-test and confirms itself (mark_app_valid_cancel_rollback).
 *
 * Everything lives in static storage: no heap, and the stack only holds small frames. */
#include <string.h>

#include "board.h"
#include "example_app.h"
#include "flash_driver_example.h"
#include "otakit/device.h"
#include "otakit/ota.h"

/* Bytes per otk_ota_write: what one radio or UART packet might carry. */
#define PACKET_LEN 128u

/* The NOR array; the linker script puts .nor where the board's flash is mapped. */
__attribute__((section(".nor"), aligned(4))) static uint8_t nor_array[EXAMPLE_FLASH_SIZE];

static example_nor_t nor = {nor_array, EXAMPLE_FLASH_SIZE};
static otk_flash_t flash;
static otk_device_t device;
static uint8_t update[EXAMPLE_IMAGE_MAX];

static int fail(const char *what)
{
    board_console(what);
    return 1;
}

static bool running_version_is(const char *version)
{
    const esp_app_desc_t *app = otk_device_running_app(&device);
    return app != NULL && strncmp(app->version, version, sizeof app->version) == 0;
}

/* A chip that comes up erased gets the factory contents (step 1). */
static bool blank(void)
{
    uint8_t first[2];
    return otk_flash_read(&flash, EXAMPLE_TABLE_OFFSET, first, sizeof first) == ESP_OK &&
           first[0] == 0xFF && first[1] == 0xFF;
}

static esp_err_t install_update(const char *version)
{
    size_t len = example_make_image(version, update);
    const esp_partition_t *slot = otk_ota_get_next_update_partition(&device, NULL);
    if (len == 0 || slot == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    esp_ota_handle_t handle;
    esp_err_t err = otk_ota_begin(&device, slot, len, &handle);
    for (size_t done = 0; err == ESP_OK && done < len; done += PACKET_LEN) {
        size_t n = len - done < PACKET_LEN ? len - done : PACKET_LEN;
        err = otk_ota_write(&device, handle, update + done, n);
    }
    if (err != ESP_OK) {
        otk_ota_abort(&device, handle);
        return err;
    }
    err = otk_ota_end(&device, handle);
    return err == ESP_OK ? otk_ota_set_boot_partition(&device, slot) : err;
}

int main(void)
{
    /* The array starts erased, as a new chip does (RAM comes up as zeros here). */
    memset(nor_array, 0xFF, sizeof nor_array);
    if (otk_flash_init(&flash, &example_nor_backend, &nor, EXAMPLE_FLASH_SIZE, NULL) != ESP_OK) {
        return fail("flash init failed");
    }
    if (blank() && example_provision(&flash, "1.0") != ESP_OK) {
        return fail("provisioning failed");
    }
    otk_device_config_t config;
    otk_device_config_init(&config);
    config.table_offset = EXAMPLE_TABLE_OFFSET;
    if (otk_device_init(&device, &flash, &config, 0) != ESP_OK ||
        otk_device_power_on(&device) != ESP_OK || !running_version_is("1.0")) {
        return fail("first boot did not start 1.0");
    }
    board_console("booted 1.0 from ota_0");
    if (install_update("2.0") != ESP_OK) {
        return fail("update to 2.0 failed");
    }
    board_console("installed 2.0 in ota_1");
    if (otk_device_power_on(&device) != ESP_OK || !running_version_is("2.0")) {
        return fail("reset did not start 2.0");
    }
    esp_ota_img_states_t state;
    if (otk_ota_get_state_partition(&device, device.running, &state) != ESP_OK ||
        state != ESP_OTA_IMG_PENDING_VERIFY) {
        return fail("2.0 is not on trial (PENDING_VERIFY)");
    }
    if (otk_ota_mark_app_valid_cancel_rollback(&device) != ESP_OK) {
        return fail("2.0 could not confirm itself");
    }
    board_console("2.0 runs and is confirmed: update done");
    return 0;
}
