/* The first chunk of an update, checked before anything is erased: is it an app image
 * this device can boot? ESP-Hosted's NG slave checks the chip id and its MCU slave calls
 * esp_ota_check_image_validity on the first chunk; we do both, plus the descriptor and
 * anti-rollback, and say what is wrong in words. */
#include <stdio.h>
#include <string.h>

#include "hosted_internal.h"
#include "otakit/boot.h"
#include "otakit/ota.h"

static Otkctrl__Result refuse(esp_err_t code, esp_err_t *esp_err)
{
    *esp_err = code;
    return OTKCTRL__RESULT__RESULT_IMAGE_REJECTED;
}

Otkctrl__Result check_first_chunk(otk_hosted_handler_t *h, const uint8_t *data, size_t len,
                                  esp_err_t *esp_err, otk_diag_t *diag)
{
    otk_device_t *dev = &h->run->dev;
    *esp_err = ESP_OK;
    if (len < OTK_HOSTED_MIN_CHUNK) {
        otk_diag_set(diag, "the image is %zu bytes: too short for an app", len);
        return refuse(ESP_ERR_OTA_VALIDATE_FAILED, esp_err);
    }
    esp_image_header_t hdr;
    otk_image_header_decode(data, &hdr);
    if (hdr.magic != ESP_IMAGE_HEADER_MAGIC) {
        otk_diag_set(diag, "not an ESP app image: byte 0 is 0x%02x, an image starts with 0x%02x "
                           "(otadata, a partition table or an ELF file are not app images)",
                     hdr.magic, ESP_IMAGE_HEADER_MAGIC);
        return refuse(ESP_ERR_OTA_VALIDATE_FAILED, esp_err);
    }
    if (hdr.segment_count == 0 || hdr.segment_count > OTK_IMAGE_MAX_SEGMENTS) {
        otk_diag_set(diag, "the image header says %u segments (1..%u)", hdr.segment_count,
                     OTK_IMAGE_MAX_SEGMENTS);
        return refuse(ESP_ERR_OTA_VALIDATE_FAILED, esp_err);
    }
    if ((uint16_t)hdr.chip_id != dev->config.chip_id) {
        otk_diag_set(diag, "the image is for %s (chip id %u), this device is %s (chip id %u)",
                     otk_image_chip_id_name((uint16_t)hdr.chip_id), (unsigned)hdr.chip_id,
                     otk_image_chip_id_name(dev->config.chip_id),
                     (unsigned)dev->config.chip_id);
        return refuse(ESP_ERR_INVALID_VERSION, esp_err);
    }
    esp_app_desc_t desc;
    otk_image_app_desc_decode(data + OTK_IMAGE_DESC_OFFSET, &desc);
    if (desc.magic_word != ESP_APP_DESC_MAGIC_WORD) {
        otk_diag_set(diag, "no app descriptor at offset 0x%x (magic 0x%08x, expected 0x%08x): "
                           "not an app image (a bootloader?)",
                     OTK_IMAGE_DESC_OFFSET, (unsigned)desc.magic_word,
                     (unsigned)ESP_APP_DESC_MAGIC_WORD);
        return refuse(ESP_ERR_OTA_VALIDATE_FAILED, esp_err);
    }
    esp_err_t err = otk_ota_check_image_validity(dev, ESP_PARTITION_TYPE_APP, &hdr, &desc);
    if (err == ESP_ERR_INVALID_VERSION) {
        otk_diag_t why;
        otk_diag_clear(&why);
        otk_image_check_chip_rev(&hdr, dev->config.chip_rev, true, &why);
        otk_diag_set(diag, "the image does not run on chip revision v%u.%u: %s",
                     dev->config.chip_rev / 100u, dev->config.chip_rev % 100u, why.msg);
        return refuse(err, esp_err);
    }
    if (err != ESP_OK) {
        otk_diag_set(diag, "esp_ota_check_image_validity: %s%s", esp_err_to_name(err),
                     err == ESP_ERR_OTA_SPI_MODE_MISMATCH
                         ? " (its flash mode differs from the running app's)" : "");
        return refuse(err, esp_err);
    }
    if (dev->config.anti_rollback) {
        uint32_t fused = otk_boot_efuse_secure_version(dev->efuse_secure_version,
                                                       dev->config.secure_version_bits);
        if (desc.secure_version < fused) {
            otk_diag_set(diag, "anti-rollback: secure_version %u is below the eFuse's %u (the "
                               "bootloader would refuse it)",
                         (unsigned)desc.secure_version, (unsigned)fused);
            return refuse(ESP_ERR_OTA_SMALL_SEC_VER, esp_err);
        }
    }
    otk_diag_set(diag, "%.32s %.32s for %s, secure_version %u", desc.project_name, desc.version,
                 otk_image_chip_id_name((uint16_t)hdr.chip_id), (unsigned)desc.secure_version);
    return OTKCTRL__RESULT__RESULT_OK;
}
