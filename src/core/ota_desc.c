/* What an image says about itself: esp_ota_get_partition_description,
 * esp_ota_get_bootloader_description, esp_ota_check_image_validity. */
#include <string.h>

#include "ota_internal.h"

#include "otakit/log.h"

esp_err_t otk_ota_get_partition_description(otk_device_t *dev, const esp_partition_t *partition,
                                            esp_app_desc_t *app_desc)
{
    if (!ota_dev_ok(dev) || partition == NULL || app_desc == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (partition->type != ESP_PARTITION_TYPE_APP) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    esp_partition_t tmp;
    uint8_t raw[sizeof(esp_app_desc_t)];
    esp_err_t err =
        otk_partition_read(ota_bind(dev, partition, &tmp), OTK_IMAGE_DESC_OFFSET, raw, sizeof raw);
    if (err != ESP_OK) {
        return err;
    }
    otk_image_app_desc_decode(raw, app_desc);
    if (app_desc->magic_word != ESP_APP_DESC_MAGIC_WORD) {
        OTK_LOGD(OTA_TAG, "'%.16s': no app description (magic 0x%08x)", partition->label,
                 (unsigned)app_desc->magic_word);
        return ESP_ERR_NOT_FOUND;
    }
    return ESP_OK;
}

esp_err_t otk_ota_get_bootloader_description(otk_device_t *dev,
                                             const esp_partition_t *bootloader_partition,
                                             esp_bootloader_desc_t *desc)
{
    if (!ota_dev_ok(dev) || desc == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_partition_t tmp;
    const esp_partition_t *p = bootloader_partition;
    if (p == NULL) {
        /* The primary bootloader: from the chip's bootloader offset up to the table. */
        const otk_image_chip_t *chip = otk_image_chip_by_id(dev->config.chip_id);
        uint32_t offset = chip != NULL ? chip->bootloader_offset : 0;
        memset(&tmp, 0, sizeof tmp);
        tmp.flash_chip = dev->flash;
        tmp.type = ESP_PARTITION_TYPE_BOOTLOADER;
        tmp.subtype = ESP_PARTITION_SUBTYPE_BOOTLOADER_PRIMARY;
        tmp.address = offset;
        tmp.size = dev->config.table_offset > offset ? dev->config.table_offset - offset : 0;
        tmp.erase_size = OTK_FLASH_SECTOR_SIZE;
        strcpy(tmp.label, "bootloader");
        p = &tmp;
    } else {
        p = ota_bind(dev, p, &tmp);
    }
    uint8_t raw[sizeof(esp_bootloader_desc_t)];
    esp_err_t err = otk_partition_read(p, OTK_IMAGE_DESC_OFFSET, raw, sizeof raw);
    if (err != ESP_OK) {
        return err;
    }
    otk_image_bootloader_desc_decode(raw, desc);
    if (desc->magic_byte != ESP_BOOTLOADER_DESC_MAGIC_BYTE) {
        return ESP_ERR_NOT_FOUND;
    }
    return ESP_OK;
}

esp_err_t otk_ota_check_image_validity(otk_device_t *dev, esp_partition_type_t part_type,
                                       const esp_image_header_t *img_hdr,
                                       const esp_app_desc_t *app_desc)
{
    if (!ota_dev_ok(dev) || img_hdr == NULL ||
        (part_type != ESP_PARTITION_TYPE_APP && part_type != ESP_PARTITION_TYPE_BOOTLOADER)) {
        return ESP_ERR_INVALID_ARG;
    }
    bool is_app = part_type == ESP_PARTITION_TYPE_APP;
    if ((uint16_t)img_hdr->chip_id != dev->config.chip_id) {
        OTK_LOGE(OTA_TAG, "image is for chip id 0x%04x, this device is 0x%04x",
                 (unsigned)img_hdr->chip_id, (unsigned)dev->config.chip_id);
        return ESP_ERR_INVALID_VERSION;
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    if (otk_image_check_chip_rev(img_hdr, dev->config.chip_rev, is_app, &why) != ESP_OK) {
        OTK_LOGE(OTA_TAG, "image does not fit chip revision %u: %s",
                 (unsigned)dev->config.chip_rev, why.msg);
        return ESP_ERR_INVALID_VERSION;
    }
    const esp_app_desc_t *running = otk_device_running_app(dev);
    if (!is_app || app_desc == NULL || running == NULL) {
        return ESP_OK;
    }
    /* 0 marks an image from before v6.1, which did not record its flash mode. */
    uint8_t mode = app_desc->spi_flash_mode;
    uint8_t running_mode = running->spi_flash_mode;
    if (mode != 0 && running_mode != 0 && mode != running_mode) {
        OTK_LOGE(OTA_TAG, "image flash mode %u differs from the running app's %u",
                 (unsigned)mode, (unsigned)running_mode);
        return ESP_ERR_OTA_SPI_MODE_MISMATCH;
    }
    return ESP_OK;
}
