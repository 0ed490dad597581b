/* ESP-IDF's esp_https_ota.h (components/esp_https_ota), same names, values and
 * semantics (spec §7), over the current simulated device (otakit/esp_host.h). The engine
 * is otakit/https_ota.h (otk_https_ota_* on an explicit device); these are a thin layer
 * over it. Differences are listed in docs/decisions-https.md; the main ones:
 *   - the image's head (magic, chip id and revision, app descriptor, size against the slot)
 *     is checked before anything is erased, also with bulk_flash_erase;
 *   - a dropped connection is continued with a Range request inside perform;
 *   - events are delivered at once (otakit's esp_event.h), not on an event task;
 *   - CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP is a run-time switch on the host
 *     (otk_esp_https_ota_set_allow_http), off by default as in ESP-IDF;
 *   - decrypt_cb (pre-encrypted images) is not supported: ESP_ERR_NOT_SUPPORTED. */
#ifndef ESP_HTTPS_OTA_H
#define ESP_HTTPS_OTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_app_desc.h"
#include "esp_err.h"
#include "esp_event.h"
#include "esp_http_client.h"
#include "esp_partition.h"

#ifdef __cplusplus
extern "C" {
#endif

ESP_EVENT_DECLARE_BASE(ESP_HTTPS_OTA_EVENT);

/* Event data: VERIFY_CHIP_ID esp_chip_id_t; VERIFY_CHIP_REVISION uint16_t (the image's
 * minimum revision); WRITE_FLASH int (bytes written); UPDATE_BOOT_PARTITION
 * esp_partition_subtype_t; the others none. */
typedef enum {
    ESP_HTTPS_OTA_START,
    ESP_HTTPS_OTA_CONNECTED,
    ESP_HTTPS_OTA_GET_IMG_DESC,
    ESP_HTTPS_OTA_VERIFY_CHIP_ID,
    ESP_HTTPS_OTA_VERIFY_CHIP_REVISION,
    ESP_HTTPS_OTA_DECRYPT_CB,
    ESP_HTTPS_OTA_WRITE_FLASH,
    ESP_HTTPS_OTA_UPDATE_BOOT_PARTITION,
    ESP_HTTPS_OTA_FINISH,
    ESP_HTTPS_OTA_ABORT,
} esp_https_ota_event_t;

typedef void *esp_https_ota_handle_t;
typedef esp_err_t (*http_client_init_cb_t)(esp_http_client_handle_t);

typedef struct {
    const char *data_in;
    size_t data_in_len;
    char *data_out;
    size_t data_out_len;
} decrypt_cb_arg_t;
typedef esp_err_t (*decrypt_cb_t)(decrypt_cb_arg_t *args, void *user_ctx);

typedef struct {
    const esp_http_client_config_t *http_config; /* required */
    http_client_init_cb_t http_client_init_cb;   /* called before the first request */
    bool bulk_flash_erase;     /* erase for the whole image at the first perform */
    bool partial_http_download;/* ranged requests of max_http_request_size bytes */
    int max_http_request_size; /* 0: 64 KiB */
    uint32_t buffer_caps;      /* ignored on the host */
    bool ota_resumption;       /* continue at ota_image_bytes_written (>= 1024) */
    size_t ota_image_bytes_written;
    decrypt_cb_t decrypt_cb;   /* must be NULL on the host */
    void *decrypt_user_ctx;
    uint16_t enc_img_header_size;
    struct {
        const esp_partition_t *staging; /* NULL: esp_ota_get_next_update_partition(NULL) */
        const esp_partition_t *final;   /* NULL: staging */
        bool finalize_with_copy;
    } partition;
} esp_https_ota_config_t;

#ifndef ESP_ERR_HTTPS_OTA_BASE
#define ESP_ERR_HTTPS_OTA_BASE (0x9000)
#define ESP_ERR_HTTPS_OTA_IN_PROGRESS (ESP_ERR_HTTPS_OTA_BASE + 1)
#endif

/* begin + perform until done + finish (abort on error). ESP_ERR_INVALID_ARG for a NULL
 * config or http_config, or with ota_resumption set. */
esp_err_t esp_https_ota(const esp_https_ota_config_t *ota_config);
/* Opens the connection; touches no flash. *handle is NULL on failure. ESP_ERR_INVALID_ARG:
 * missing config or URL, no server verification (cert_pem, use_global_ca_store or
 * crt_bundle_attach) or an http:// URL while http is not allowed. ESP_FAIL: the
 * connection or the HTTP status (404, 500, a refused certificate...). */
esp_err_t esp_https_ota_begin(const esp_https_ota_config_t *ota_config,
                              esp_https_ota_handle_t *handle);
/* ESP_ERR_HTTPS_OTA_IN_PROGRESS after each write; ESP_OK when all data is written. */
esp_err_t esp_https_ota_perform(esp_https_ota_handle_t https_ota_handle);
bool esp_https_ota_is_complete_data_received(esp_https_ota_handle_t https_ota_handle);
/* Verifies, selects the new slot when complete; frees the handle. */
esp_err_t esp_https_ota_finish(esp_https_ota_handle_t https_ota_handle);
esp_err_t esp_https_ota_abort(esp_https_ota_handle_t https_ota_handle);
esp_err_t esp_https_ota_get_img_desc(esp_https_ota_handle_t https_ota_handle,
                                     esp_app_desc_t *new_app_info);
int esp_https_ota_get_image_len_read(esp_https_ota_handle_t https_ota_handle);
int esp_https_ota_get_image_size(esp_https_ota_handle_t https_ota_handle);

#ifdef __cplusplus
}
#endif
#endif
