/* Native OTA, written as an ESP-IDF application: only ESP-IDF headers and the C library.
 *
 * On its first boot after an update (rollback enabled: the image is PENDING_VERIFY) the app
 * runs a self-test and either confirms the image or marks it invalid and reboots into the
 * previous one. Otherwise, if an update source is configured, it downloads the new image in
 * chunks into the next OTA slot, refusing a version that already runs or that failed
 * before, selects it for the next boot and restarts.
 *
 * On a chip the source is an HTTP URL from menuconfig and the self-test reads a GPIO; this
 * build reads the same settings from the environment (the host main fills it from its
 * command line), and "downloads" from a file. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_app_desc.h"
#include "esp_err.h"
#include "esp_image_format.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_system.h"

/* Stand-ins for CONFIG_EXAMPLE_FIRMWARE_UPG_URL and the diagnostic GPIO. */
#define UPDATE_SOURCE_ENV "EXAMPLE_FIRMWARE_UPG_URL"
#define DIAGNOSTIC_ENV "EXAMPLE_DIAGNOSTIC"

/* Download chunk: what an HTTP client read typically hands over. */
#define CHUNK_SIZE 1024
/* Bytes of an image needed to read its app description: header, segment 0's header,
 * esp_app_desc_t (which begins segment 0). */
#define DESC_END \
    (sizeof(esp_image_header_t) + sizeof(esp_image_segment_header_t) + sizeof(esp_app_desc_t))

static const char *TAG = "native_ota";

/* The update was not applied on purpose (same version): not an error. */
#define UPDATE_REFUSED ESP_ERR_INVALID_VERSION

/* ---- self-test ---------------------------------------------------------------------- */

/* What a product checks here varies (sensors, connectivity). This one checks that the
 * image it runs from reads back intact and describes itself, then asks the board's
 * diagnostic input, which a test rig can hold at "fail". */
static bool self_test(void)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    uint8_t sha256[32];
    esp_err_t err = esp_partition_get_sha256(running, sha256);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "self-test: image of '%s' does not verify: %s", running->label,
                 esp_err_to_name(err));
        return false;
    }
    ESP_LOGI(TAG, "self-test: image SHA-256 %02x%02x%02x%02x... verified", sha256[0],
             sha256[1], sha256[2], sha256[3]);

    esp_app_desc_t desc;
    const esp_app_desc_t *self = esp_app_get_description();
    err = esp_ota_get_partition_description(running, &desc);
    if (err != ESP_OK || self == NULL || strncmp(desc.version, self->version,
                                                 sizeof desc.version) != 0) {
        ESP_LOGE(TAG, "self-test: app description does not match the running image (%s)",
                 esp_err_to_name(err));
        return false;
    }

    const char *pin = getenv(DIAGNOSTIC_ENV);
    bool pass = pin == NULL || strcmp(pin, "fail") != 0;
    ESP_LOGI(TAG, "self-test: diagnostic input reads '%s'", pass ? "pass" : "fail");
    return pass;
}

/* First boot of a new image: keep it or go back. Returns only when the image was kept or
 * the rollback could not be done. */
static void confirm_or_roll_back(void)
{
    ESP_LOGI(TAG, "first boot of this image (PENDING_VERIFY): running the self-test");
    if (self_test()) {
        esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
        if (err == ESP_OK) {
            ESP_LOGI(TAG, "self-test passed: image confirmed, rollback cancelled");
        } else {
            ESP_LOGE(TAG, "confirming the image failed: %s", esp_err_to_name(err));
        }
        return;
    }
    ESP_LOGE(TAG, "self-test failed: marking the image invalid and rolling back");
    esp_err_t err = esp_ota_mark_app_invalid_rollback_and_reboot();
    /* Only a failure comes back here (e.g. no previous image to return to). */
    ESP_LOGE(TAG, "rollback not possible: %s; keeping this image", esp_err_to_name(err));
}

/* ---- the download ------------------------------------------------------------------- */

/* Open the image source: a file path, or a file:// URL. */
static FILE *open_source(const char *url)
{
    static const char file_scheme[] = "file://";
    if (strncmp(url, file_scheme, sizeof file_scheme - 1) == 0) {
        url += sizeof file_scheme - 1;
    } else if (strstr(url, "://") != NULL) {
        ESP_LOGE(TAG, "'%s': this build reads the image from a file (path or file://)", url);
        return NULL;
    }
    FILE *f = fopen(url, "rb");
    if (f == NULL) {
        ESP_LOGE(TAG, "cannot open the update source '%s'", url);
    }
    return f;
}

static bool same_version(const esp_app_desc_t *a, const esp_app_desc_t *b)
{
    return strncmp(a->version, b->version, sizeof a->version) == 0;
}

/* Look at the start of the new image before anything is erased: is it an app, and is it
 * worth installing? */
static esp_err_t check_new_image(const uint8_t *head, size_t len,
                                 const esp_partition_t *running)
{
    esp_app_desc_t incoming;
    if (len < DESC_END) {
        ESP_LOGE(TAG, "the image is only %zu bytes: too short to be an app", len);
        return ESP_ERR_INVALID_SIZE;
    }
    memcpy(&incoming, head + sizeof(esp_image_header_t) + sizeof(esp_image_segment_header_t),
           sizeof incoming);
    if (head[0] != ESP_IMAGE_HEADER_MAGIC || incoming.magic_word != ESP_APP_DESC_MAGIC_WORD) {
        ESP_LOGE(TAG, "not an app image (magic 0x%02x, app desc magic 0x%08" PRIx32 ")",
                 head[0], incoming.magic_word);
        return ESP_ERR_OTA_VALIDATE_FAILED;
    }
    ESP_LOGI(TAG, "new firmware: '%.32s' version %.32s", incoming.project_name,
             incoming.version);

    esp_app_desc_t current;
    if (esp_ota_get_partition_description(running, &current) == ESP_OK) {
        ESP_LOGI(TAG, "running firmware version: %.32s", current.version);
    }
    const esp_partition_t *last_invalid = esp_ota_get_last_invalid_partition();
    esp_app_desc_t failed;
    if (last_invalid != NULL &&
        esp_ota_get_partition_description(last_invalid, &failed) == ESP_OK) {
        ESP_LOGI(TAG, "last invalid firmware: version %.32s in partition '%s'",
                 failed.version, last_invalid->label);
        if (same_version(&incoming, &failed)) {
            ESP_LOGW(TAG, "refusing version %.32s: it failed its self-test before and was "
                     "rolled back (last invalid partition '%s')",
                     incoming.version, last_invalid->label);
            return UPDATE_REFUSED;
        }
    }
    if (same_version(&incoming, &current)) {
        ESP_LOGW(TAG, "refusing version %.32s: it is the same version as the running one",
                 incoming.version);
        return UPDATE_REFUSED;
    }
    return ESP_OK;
}

/* Stream the rest of the source into the open OTA handle, starting with `have` bytes. */
static esp_err_t write_image(esp_ota_handle_t handle, FILE *src, uint8_t *buf, size_t have)
{
    size_t total = 0;
    while (have > 0) {
        esp_err_t err = esp_ota_write(handle, buf, have);
        if (err != ESP_OK) {
            ESP_LOGE(TAG, "esp_ota_write at byte %zu: %s", total, esp_err_to_name(err));
            return err;
        }
        total += have;
        have = fread(buf, 1, CHUNK_SIZE, src);
    }
    if (ferror(src)) {
        ESP_LOGE(TAG, "reading the update source failed after %zu bytes", total);
        return ESP_FAIL;
    }
    ESP_LOGI(TAG, "image written: %zu bytes", total);
    return ESP_OK;
}

static esp_err_t download_into(const esp_partition_t *update, FILE *src,
                               const esp_partition_t *running)
{
    uint8_t buf[CHUNK_SIZE];
    size_t have = fread(buf, 1, sizeof buf, src);
    esp_err_t err = check_new_image(buf, have, running);
    if (err != ESP_OK) {
        return err;
    }
    esp_ota_handle_t handle = 0;
    err = esp_ota_begin(update, OTA_WITH_SEQUENTIAL_WRITES, &handle);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "esp_ota_begin failed: %s", esp_err_to_name(err));
        return err;
    }
    err = write_image(handle, src, buf, have);
    if (err != ESP_OK) {
        esp_ota_abort(handle);
        return err;
    }
    err = esp_ota_end(handle);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "esp_ota_end: %s%s", esp_err_to_name(err),
                 err == ESP_ERR_OTA_VALIDATE_FAILED ? " (the image is corrupted)" : "");
        return err;
    }
    err = esp_ota_set_boot_partition(update);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "esp_ota_set_boot_partition failed: %s", esp_err_to_name(err));
    }
    return err;
}

static esp_err_t ota_update(const char *url)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    const esp_partition_t *configured = esp_ota_get_boot_partition();
    if (configured != running) {
        ESP_LOGW(TAG, "configured boot partition '%s' is not the running one '%s' (a boot "
                 "image failed to load?)", configured ? configured->label : "(none)",
                 running->label);
    }
    const esp_partition_t *update = esp_ota_get_next_update_partition(NULL);
    if (update == NULL) {
        ESP_LOGE(TAG, "no OTA partition to write the update to");
        return ESP_ERR_NOT_FOUND;
    }
    ESP_LOGI(TAG, "downloading %s into partition '%s' (subtype 0x%02x) at 0x%08" PRIx32, url,
             update->label, (unsigned)update->subtype, update->address);
    FILE *src = open_source(url);
    if (src == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    esp_err_t err = download_into(update, src, running);
    fclose(src);
    return err;
}

/* ---- entry point -------------------------------------------------------------------- */

void app_main(void)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    const esp_app_desc_t *app = esp_app_get_description();
    if (running == NULL || app == NULL) {
        ESP_LOGE(TAG, "no running partition: nothing booted");
        return;
    }
    ESP_LOGI(TAG, "running '%s' at 0x%08" PRIx32 ": %.32s version %.32s (%s)", running->label,
             running->address, app->project_name, app->version,
             esp_reset_reason() == ESP_RST_SW ? "after esp_restart" : "after power-on");

    esp_ota_img_states_t state;
    if (esp_ota_get_state_partition(running, &state) == ESP_OK &&
        state == ESP_OTA_IMG_PENDING_VERIFY) {
        confirm_or_roll_back();
        return;
    }

    const char *url = getenv(UPDATE_SOURCE_ENV);
    if (url == NULL || url[0] == '\0') {
        ESP_LOGI(TAG, "no update source configured: nothing to do");
        return;
    }
    esp_err_t err = ota_update(url);
    if (err == UPDATE_REFUSED) {
        ESP_LOGI(TAG, "no update applied");
        return;
    }
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "OTA update failed: %s", esp_err_to_name(err));
        return;
    }
    ESP_LOGI(TAG, "update installed: restarting");
    esp_restart();
}
