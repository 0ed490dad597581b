/* What the OTA functions share: partition identity, otadata reads, image verification
 * options. */
#include "ota_internal.h"

#include "otakit/log.h"

bool ota_dev_ok(const otk_device_t *dev)
{
    return dev != NULL && dev->flash != NULL;
}

bool ota_is_ota_app(const esp_partition_t *p)
{
    return p != NULL && p->type == ESP_PARTITION_TYPE_APP &&
           p->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MIN &&
           p->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MAX;
}

const esp_partition_t *ota_canonical(otk_device_t *dev, const esp_partition_t *p)
{
    if (p == NULL) {
        return NULL;
    }
    /* A partition built by hand without a chip means the device's flash (ESP-IDF: the
     * default chip). */
    esp_partition_t tmp;
    return otk_partition_table_verify(&dev->table, ota_bind(dev, p, &tmp));
}

const esp_partition_t *ota_bind(otk_device_t *dev, const esp_partition_t *p,
                                esp_partition_t *tmp)
{
    if (p == NULL || p->flash_chip != NULL) {
        return p;
    }
    *tmp = *p;
    tmp->flash_chip = dev->flash;
    return tmp;
}

const esp_partition_t *ota_read_otadata(otk_device_t *dev, esp_ota_select_entry_t entries[2])
{
    const esp_partition_t *part = otk_otadata_find_partition(&dev->table);
    if (part == NULL) {
        OTK_LOGE(OTA_TAG, "not found otadata");
        return NULL;
    }
    if (otk_otadata_read(part, entries) != ESP_OK) {
        OTK_LOGE(OTA_TAG, "reading otadata '%s' at 0x%x failed", part->label,
                 (unsigned)part->address);
        return NULL;
    }
    return part;
}

uint32_t ota_slot_count(otk_device_t *dev)
{
    return otk_otadata_app_slot_count(&dev->table);
}

void ota_verify_opts(const otk_device_t *dev, otk_image_kind_t kind,
                     otk_image_verify_opts_t *opts)
{
    /* The same rules the boot layer applies (otk_device_boot_config), so an image that
     * installs also boots. */
    otk_image_verify_opts_init(opts);
    opts->kind = kind;
    opts->chip_id = dev->config.chip_id;
    opts->check_chip_rev = true;
    opts->chip_rev = dev->config.chip_rev;
    opts->secure_boot = dev->config.secure_boot;
}

esp_err_t ota_verify_app(otk_device_t *dev, const esp_partition_t *p, otk_image_info_t *info,
                         bool quiet)
{
    otk_image_verify_opts_t opts;
    ota_verify_opts(dev, OTK_IMAGE_APP, &opts);
    otk_diag_t why;
    otk_diag_clear(&why);
    /* The boot layer's verifier storage is free whenever the boot is not running: the
     * verification's state stays off the stack. */
    esp_err_t err = otk_image_verify_flash_with(dev->flash, p->address, p->size, &opts, info,
                                                &why, &dev->boot_stream);
    if (err != ESP_OK && !quiet) {
        OTK_LOGE(OTA_TAG, "image in '%s' at 0x%x does not verify: %s", p->label,
                 (unsigned)p->address, why.msg);
    }
    return err;
}

ota_check_t ota_check_of(const esp_partition_t *final)
{
    switch (final->type) {
    case ESP_PARTITION_TYPE_APP:
        return OTA_CHECK_APP;
    case ESP_PARTITION_TYPE_BOOTLOADER:
        return OTA_CHECK_BOOTLOADER;
    case ESP_PARTITION_TYPE_PARTITION_TABLE:
        return OTA_CHECK_TABLE;
    default:
        return OTA_CHECK_NONE;
    }
}
