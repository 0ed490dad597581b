/* HTTPS OTA, written as an ESP-IDF application (the shape of ESP-IDF's simple_ota_example):
 * only ESP-IDF headers and the C library.
 *
 * On the first boot of a new image (rollback enabled: PENDING_VERIFY) the app confirms
 * itself and stops. Otherwise, when an update URL is configured, it registers for
 * ESP_HTTPS_OTA_EVENT, lets esp_https_ota() download the image into the next OTA slot
 * (verified, then selected for the next boot) and restarts into it.
 *
 * On a chip the URL comes from menuconfig and the server's CA certificate is embedded in
 * the firmware (EMBED_TXTFILES). This build reads both from the environment, which the
 * host main fills from its command line. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "esp_app_desc.h"
#include "esp_crt_bundle.h"
#include "esp_err.h"
#include "esp_event.h"
#include "esp_http_client.h"
#include "esp_https_ota.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"

/* Stand-ins for CONFIG_EXAMPLE_FIRMWARE_UPGRADE_URL and the embedded server_cert_pem. */
#define FIRMWARE_URL_ENV "EXAMPLE_FIRMWARE_UPGRADE_URL"
#define SERVER_CERT_ENV "EXAMPLE_SERVER_CERT_PEM"
/* CONFIG_EXAMPLE_OTA_RECV_TIMEOUT's default. */
#define OTA_RECV_TIMEOUT_MS 5000

static const char *TAG = "https_ota_example";

static void ota_event_handler(void *arg, esp_event_base_t event_base, int32_t event_id,
                              void *event_data)
{
    (void)arg;
    if (event_base != ESP_HTTPS_OTA_EVENT) {
        return;
    }
    switch (event_id) {
    case ESP_HTTPS_OTA_START:
        ESP_LOGI(TAG, "OTA started");
        break;
    case ESP_HTTPS_OTA_CONNECTED:
        ESP_LOGI(TAG, "Connected to server");
        break;
    case ESP_HTTPS_OTA_GET_IMG_DESC:
        ESP_LOGI(TAG, "Reading Image Description");
        break;
    case ESP_HTTPS_OTA_VERIFY_CHIP_ID:
        ESP_LOGI(TAG, "Verifying chip id of new image: %d", *(esp_chip_id_t *)event_data);
        break;
    case ESP_HTTPS_OTA_VERIFY_CHIP_REVISION:
        ESP_LOGI(TAG, "Verifying chip revision of new image: %d", *(uint16_t *)event_data);
        break;
    case ESP_HTTPS_OTA_DECRYPT_CB:
        ESP_LOGI(TAG, "Callback to decrypt function");
        break;
    case ESP_HTTPS_OTA_WRITE_FLASH:
        ESP_LOGD(TAG, "Writing to flash: %d written", *(int *)event_data);
        break;
    case ESP_HTTPS_OTA_UPDATE_BOOT_PARTITION:
        ESP_LOGI(TAG, "Boot partition updated. Next Partition: %d",
                 *(esp_partition_subtype_t *)event_data);
        break;
    case ESP_HTTPS_OTA_FINISH:
        ESP_LOGI(TAG, "OTA finish");
        break;
    case ESP_HTTPS_OTA_ABORT:
        ESP_LOGI(TAG, "OTA abort");
        break;
    default:
        break;
    }
}

static esp_err_t http_event_handler(esp_http_client_event_t *evt)
{
    switch (evt->event_id) {
    case HTTP_EVENT_ERROR:
        ESP_LOGD(TAG, "HTTP_EVENT_ERROR");
        break;
    case HTTP_EVENT_ON_CONNECTED:
        ESP_LOGD(TAG, "HTTP_EVENT_ON_CONNECTED");
        break;
    case HTTP_EVENT_ON_HEADER:
        ESP_LOGD(TAG, "HTTP_EVENT_ON_HEADER, key=%s, value=%s", evt->header_key,
                 evt->header_value);
        break;
    case HTTP_EVENT_DISCONNECTED:
        ESP_LOGW(TAG, "HTTP_EVENT_DISCONNECTED: the download continues where it broke off");
        break;
    default:
        break;
    }
    return ESP_OK;
}

static void confirm_new_image(void)
{
    /* A product runs its diagnostics here; this example trusts a clean start. */
    ESP_LOGI(TAG, "first boot of this image: diagnostics passed, confirming it");
    esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
    if (err == ESP_OK) {
        ESP_LOGI(TAG, "App is valid, rollback cancelled successfully");
    } else {
        ESP_LOGE(TAG, "Failed to cancel rollback: %s", esp_err_to_name(err));
    }
}

static void simple_ota(const char *url)
{
    ESP_LOGI(TAG, "Starting OTA example: %s", url);
    esp_http_client_config_t config = {
        .url = url,
        .cert_pem = getenv(SERVER_CERT_ENV),
        .event_handler = http_event_handler,
        .keep_alive_enable = true,
        .timeout_ms = OTA_RECV_TIMEOUT_MS,
    };
    if (config.cert_pem == NULL) {
        config.crt_bundle_attach = esp_crt_bundle_attach; /* the public CAs */
    }
    esp_https_ota_config_t ota_config = {
        .http_config = &config,
    };
    ESP_LOGI(TAG, "Attempting to download update from %s", config.url);
    esp_err_t ret = esp_https_ota(&ota_config);
    if (ret == ESP_OK) {
        ESP_LOGI(TAG, "OTA Succeed, Rebooting...");
        esp_restart();
    }
    ESP_LOGE(TAG, "Firmware upgrade failed: %s", esp_err_to_name(ret));
}

void app_main(void)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    const esp_app_desc_t *app = esp_app_get_description();
    ESP_LOGI(TAG, "running '%s' at 0x%08" PRIx32 ": %.32s version %.32s", running->label,
             running->address, app->project_name, app->version);

    esp_ota_img_states_t state;
    if (esp_ota_get_state_partition(running, &state) == ESP_OK &&
        state == ESP_OTA_IMG_PENDING_VERIFY) {
        confirm_new_image();
        return;
    }

    ESP_ERROR_CHECK(esp_event_loop_create_default());
    ESP_ERROR_CHECK(esp_event_handler_register(ESP_HTTPS_OTA_EVENT, ESP_EVENT_ANY_ID,
                                               &ota_event_handler, NULL));
    const char *url = getenv(FIRMWARE_URL_ENV);
    if (url == NULL || url[0] == '\0') {
        ESP_LOGI(TAG, "no update URL configured: nothing to do");
        return;
    }
    simple_ota(url);
}
