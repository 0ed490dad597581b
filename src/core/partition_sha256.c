/* esp_partition_get_sha256 (bootloader_common_get_sha256_of_partition): an app partition is
 * identified by its image, anything else by all of its bytes. */
#include <string.h>

#include "otakit/crypto.h"
#include "otakit/image.h"
#include "otakit/log.h"
#include "partition_internal.h"

static const char *TAG = "partition";

/* Flash is hashed in sector-sized reads: a bounded stack buffer, few calls. */
#define HASH_CHUNK OTK_FLASH_SECTOR_SIZE

esp_err_t otk_partition_sha256_update(const esp_partition_t *part, uint32_t offset,
                                      uint32_t len, otk_sha256_ctx_t *ctx)
{
    if (part == NULL || part->flash_chip == NULL || ctx == NULL || offset > part->size ||
        len > part->size - offset) {
        return ESP_ERR_INVALID_ARG;
    }
    uint8_t chunk[HASH_CHUNK];
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < HASH_CHUNK ? len - done : HASH_CHUNK;
        esp_err_t err = otk_flash_read(part->flash_chip, part->address + offset + done, chunk, n);
        if (err != ESP_OK) {
            return err;
        }
        otk_sha256_update(ctx, chunk, n);
        done += n;
    }
    return ESP_OK;
}

esp_err_t otk_partition_get_sha256(const esp_partition_t *part, uint8_t sha256[32])
{
    if (part == NULL || part->flash_chip == NULL || sha256 == NULL || part->size == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t len = part->size;
    if (part->type == ESP_PARTITION_TYPE_APP) {
        otk_image_verify_opts_t opts;
        otk_image_verify_opts_init(&opts);
        otk_image_info_t info;
        otk_diag_t why;
        otk_diag_clear(&why);
        /* ESP-IDF verifies the image (silently) and calls any failure an invalid image. */
        if (otk_image_verify_flash(part->flash_chip, part->address, part->size, &opts, &info,
                                   &why) != ESP_OK) {
            OTK_LOGD(TAG, "sha256 of '%s': %s", part->label, why.msg);
            return ESP_ERR_IMAGE_INVALID;
        }
        if (info.hash_appended) {
            memcpy(sha256, info.hash_stored, OTK_SHA256_LEN);
            return ESP_OK;
        }
        len = info.image_len; /* no digest appended: hash the image bytes themselves */
    }
    otk_sha256_ctx_t ctx;
    otk_sha256_init(&ctx);
    esp_err_t err = otk_partition_sha256_update(part, 0, len, &ctx);
    if (err == ESP_OK) {
        otk_sha256_final(&ctx, sha256);
    }
    return err;
}
