/* ESP-IDF's esp_image_format.h (components/bootloader_support/include/esp_image_format.h):
 * the image layout types (from esp_app_format.h: esp_image_header_t,
 * esp_image_segment_header_t, esp_app_desc_t, ESP_IMAGE_HEADER_MAGIC, ...) and image
 * verification of a flash range, on the current simulated device (otakit/esp_host.h). */
#ifndef ESP_IMAGE_FORMAT_H
#define ESP_IMAGE_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_app_format.h"
#include "esp_err.h"
#include "esp_flash_partitions.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the SHA-256 digest appended to an image. */
#define ESP_IMAGE_DIGEST_LEN 32

/* What esp_image_verify learnt about an image. */
typedef struct {
    uint32_t start_addr;                                    /* flash address of byte 0 */
    esp_image_header_t image;                               /* the header */
    esp_image_segment_header_t segments[ESP_IMAGE_MAX_SEGMENTS];
    uint32_t segment_data[ESP_IMAGE_MAX_SEGMENTS];          /* flash address of each
                                                               segment's data */
    uint32_t image_len;                                     /* bytes, with the hash when
                                                               appended */
    uint8_t image_digest[ESP_IMAGE_DIGEST_LEN];             /* the appended SHA-256 */
    uint32_t secure_version;                                /* app descriptor's */
} esp_image_metadata_t;

typedef enum {
    ESP_IMAGE_VERIFY,        /* verify, logging why an image is refused */
    ESP_IMAGE_VERIFY_SILENT, /* verify quietly */
} esp_image_load_mode_t;

/* Verify the image at part (flash offset and size) on the current device's flash, with
 * the device's chip and revision: the bootloader's rules when part->offset is the chip's
 * bootloader offset, an app's otherwise. data may be NULL. ESP_OK,
 * ESP_ERR_IMAGE_INVALID, ESP_ERR_INVALID_ARG (NULL part, size 0 or over 16 MiB), a flash
 * error, or ESP_ERR_INVALID_STATE with no current device. */
esp_err_t esp_image_verify(esp_image_load_mode_t mode, const esp_partition_pos_t *part,
                           esp_image_metadata_t *data);

/* Header and segment layout of the image at part without judging checksum or hash:
 * ESP_OK when the header and every segment header could be read, else as
 * esp_image_verify. */
esp_err_t esp_image_get_metadata(const esp_partition_pos_t *part,
                                 esp_image_metadata_t *metadata);

/* Bytes of a header's spi_size code (ESP_IMAGE_FLASH_SIZE_1MB -> 0x100000), 0 if
 * unknown. */
int esp_image_get_flash_size(esp_image_flash_size_t app_flash_size);

#ifdef __cplusplus
}
#endif
#endif
