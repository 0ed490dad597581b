/* esp_image_format.h on the current device: the image layer's verifier (otakit/image.h)
 * held to the device's chip, its findings copied into ESP-IDF's metadata struct. */
#include "esp_image_format.h"

#include <string.h>

#include "esp/esp_internal.h"
#include "otakit/image.h"
#include "otakit/log.h"

static const char TAG[] = "esp_image";

static void to_metadata(const otk_image_info_t *info, uint32_t start, esp_image_metadata_t *md)
{
    memset(md, 0, sizeof *md);
    md->start_addr = start;
    if (!info->header_read) {
        return;
    }
    md->image = info->header;
    for (unsigned i = 0; i < info->segments_read && i < ESP_IMAGE_MAX_SEGMENTS; i++) {
        md->segments[i].load_addr = info->segments[i].load_addr;
        md->segments[i].data_len = info->segments[i].data_len;
        md->segment_data[i] = start + info->segments[i].data_offset;
    }
    md->image_len = info->total_len;
    if (info->hash_read) {
        memcpy(md->image_digest, info->hash_stored, sizeof md->image_digest);
    }
    if (info->has_app_desc) {
        md->secure_version = info->app_desc.secure_version;
    }
}

/* Verify on the current device; info filled as far as the image was read. */
static esp_err_t verify(const char *func, const esp_partition_pos_t *part,
                        otk_image_info_t *info, otk_diag_t *diag)
{
    otk_device_t *dev = otk_esp_device_for(func);
    if (dev == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    if (part == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_boot_config_t bc;
    otk_device_boot_config(dev, &bc);
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    const otk_image_chip_t *chip = otk_image_chip_by_id(dev->config.chip_id);
    /* ESP-IDF tells a bootloader from an app only by where the image sits. */
    opts.kind = chip != NULL && part->offset == chip->bootloader_offset ? OTK_IMAGE_BOOTLOADER
                                                                        : OTK_IMAGE_APP;
    opts.chip_id = bc.chip_id;
    opts.check_chip_rev = bc.check_chip_rev;
    opts.chip_rev = bc.chip_rev;
    opts.secure_boot = bc.secure_boot; /* with secure boot, esp_image_verify checks it */
    memset(info, 0, sizeof *info);
    otk_diag_clear(diag);
    return otk_image_verify_flash(dev->flash, part->offset, part->size, &opts, info, diag);
}

esp_err_t esp_image_verify(esp_image_load_mode_t mode, const esp_partition_pos_t *part,
                           esp_image_metadata_t *data)
{
    otk_image_info_t info;
    otk_diag_t diag;
    esp_err_t err = verify(__func__, part, &info, &diag);
    if (err != ESP_OK && part != NULL && mode != ESP_IMAGE_VERIFY_SILENT) {
        OTK_LOGE(TAG, "image at 0x%x: %s (%s)", (unsigned)part->offset, esp_err_to_name(err),
                 diag.msg[0] ? diag.msg : "no details");
    }
    if (data != NULL && part != NULL) {
        to_metadata(&info, part->offset, data);
    }
    return err;
}

esp_err_t esp_image_get_metadata(const esp_partition_pos_t *part,
                                 esp_image_metadata_t *metadata)
{
    if (metadata == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_image_info_t info;
    otk_diag_t diag;
    esp_err_t err = verify(__func__, part, &info, &diag);
    if (part != NULL) {
        to_metadata(&info, part->offset, metadata);
    }
    /* A bad checksum or hash still leaves a readable layout, which is all this asks for. */
    if (err == ESP_ERR_IMAGE_INVALID && info.header_read &&
        info.segments_read == info.header.segment_count) {
        return ESP_OK;
    }
    return err;
}

int esp_image_get_flash_size(esp_image_flash_size_t app_flash_size)
{
    if ((unsigned)app_flash_size >= ESP_IMAGE_FLASH_SIZE_MAX) {
        return 0;
    }
    return 0x100000 << (unsigned)app_flash_size;
}
