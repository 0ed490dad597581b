/* Which app boots next and which runs: esp_ota_set_boot_partition (and its skip_validate
 * form), esp_ota_get_boot_partition, esp_ota_get_running_partition,
 * esp_ota_get_next_update_partition, esp_ota_get_app_partition_count. */
#include "ota_internal.h"

#include "otakit/log.h"

/* Anti-rollback: an app older than the eFuse may never boot, so set_boot erases it
 * (ESP-IDF) and refuses. desc is its app description when already known, else NULL. */
static esp_err_t check_secure_version(otk_device_t *dev, const esp_partition_t *p,
                                      const esp_app_desc_t *desc)
{
    esp_app_desc_t read;
    if (desc == NULL) {
        esp_err_t err = otk_ota_get_partition_description(dev, p, &read);
        if (err != ESP_OK) {
            return err;
        }
        desc = &read;
    }
    const otk_device_config_t *c = &dev->config;
    if (otk_boot_efuse_check(dev->efuse_secure_version, c->secure_version_bits,
                             desc->secure_version)) {
        return ESP_OK;
    }
    OTK_LOGE(OTA_TAG, "'%s': secure_version %u is below the eFuse's %u", p->label,
             (unsigned)desc->secure_version,
             (unsigned)otk_boot_efuse_secure_version(dev->efuse_secure_version,
                                                     c->secure_version_bits));
    if (p == dev->running) {
        /* Decision: never erase the app that runs (only an eFuse changed behind the
         * device's back can get here). */
        return ESP_ERR_OTA_SMALL_SEC_VER;
    }
    ota_forget_range(dev, p->address, p->size, NULL);
    esp_err_t err = otk_partition_erase_range(p, 0, p->size);
    if (err != ESP_OK) {
        return err;
    }
    return ESP_ERR_OTA_SMALL_SEC_VER;
}

/* esp_rewrite_ota_data: select p's slot, state NEW with rollback, UNDEFINED without. */
static esp_err_t select_slot(otk_device_t *dev, const esp_partition_t *p)
{
    const esp_partition_t *otadata = otk_otadata_find_partition(&dev->table);
    if (otadata == NULL) {
        OTK_LOGE(OTA_TAG, "not found otadata");
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t n = ota_slot_count(dev);
    uint32_t slot = (uint32_t)p->subtype & PART_SUBTYPE_OTA_MASK;
    if (slot >= n) {
        OTK_LOGE(OTA_TAG, "'%s' is slot %u but ota_0.. counts only %u slots", p->label,
                 (unsigned)slot, (unsigned)n);
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t state = dev->config.rollback ? ESP_OTA_IMG_NEW : ESP_OTA_IMG_UNDEFINED;
    int sector = -1;
    esp_err_t err = otk_otadata_select_slot(otadata, slot, n, state, dev->config.otadata_rule,
                                            &sector);
    if (err == ESP_OK) {
        OTK_LOGI(OTA_TAG, "set_boot: '%s' selected (otadata sector %d, state %s)", p->label,
                 sector, otk_otadata_state_name(state));
    }
    return err;
}

static esp_err_t set_boot(otk_device_t *dev, const esp_partition_t *partition, bool validate)
{
    if (!ota_dev_ok(dev) || partition == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    /* Decision: only partitions of the table (ESP-IDF takes any pointer; an erase on
     * anti-rollback must not hit a made-up range). */
    const esp_partition_t *p = ota_canonical(dev, partition);
    if (p == NULL) {
        OTK_LOGE(OTA_TAG, "set_boot: partition '%.16s' at 0x%x is not in the partition table",
                 partition->label, (unsigned)partition->address);
        return ESP_ERR_NOT_FOUND;
    }
    ota_ops_begin(dev);
    const esp_app_desc_t *desc = NULL;
    otk_image_info_t info;
    if (validate && dev->verified_valid && dev->verified_address == p->address) {
        /* One pass: esp_ota_end verified these very bytes and nothing changed them. */
        OTK_LOGD(OTA_TAG, "set_boot: '%s' verified by esp_ota_end, not read again", p->label);
        desc = &dev->verified_desc;
    } else if (validate) {
        if (ota_verify_app(dev, p, &info, false) != ESP_OK) {
            return ESP_ERR_OTA_VALIDATE_FAILED;
        }
        desc = info.has_app_desc ? &info.app_desc : NULL;
    }
    esp_err_t err;
    if (p->type != ESP_PARTITION_TYPE_APP) {
        OTK_LOGE(OTA_TAG, "set_boot: '%s' is not an app partition", p->label);
        err = ESP_ERR_INVALID_ARG;
    } else if (p->subtype == ESP_PARTITION_SUBTYPE_APP_FACTORY) {
        const esp_partition_t *otadata = otk_otadata_find_partition(&dev->table);
        err = otadata != NULL ? otk_otadata_erase(otadata) : ESP_ERR_NOT_FOUND;
    } else if (!ota_is_ota_app(p)) {
        /* Decision: ESP-IDF would take test (0x20) as slot 0 and select ota_0. */
        OTK_LOGE(OTA_TAG, "set_boot: '%s' (subtype 0x%02x) is neither factory nor an OTA slot",
                 p->label, (unsigned)p->subtype);
        err = ESP_ERR_INVALID_ARG;
    } else {
        err = dev->config.anti_rollback ? check_secure_version(dev, p, desc) : ESP_OK;
        if (err == ESP_OK) {
            err = select_slot(dev, p);
        }
    }
    ota_ops_end(dev);
    return err;
}

esp_err_t otk_ota_set_boot_partition(otk_device_t *dev, const esp_partition_t *partition)
{
    return set_boot(dev, partition, true);
}

esp_err_t otk_ota_set_boot_partition_skip_validate(otk_device_t *dev,
                                                   const esp_partition_t *partition)
{
    return set_boot(dev, partition, false);
}

const esp_partition_t *otk_ota_get_boot_partition(otk_device_t *dev)
{
    if (!ota_dev_ok(dev)) {
        return NULL;
    }
    if (otk_otadata_find_partition(&dev->table) == NULL) {
        /* Decision: the app the bootloader starts without otadata (ESP-IDF: NULL). */
        return otk_otadata_default_partition(&dev->table);
    }
    esp_ota_select_entry_t entries[2];
    if (ota_read_otadata(dev, entries) == NULL) {
        return NULL;
    }
    return otk_otadata_boot_partition(&dev->table, entries);
}

const esp_partition_t *otk_ota_get_running_partition(otk_device_t *dev)
{
    return ota_dev_ok(dev) ? dev->running : NULL;
}

const esp_partition_t *otk_ota_get_next_update_partition(otk_device_t *dev,
                                                         const esp_partition_t *start_from)
{
    if (!ota_dev_ok(dev)) {
        return NULL;
    }
    const esp_partition_t *from = dev->running;
    if (start_from != NULL) {
        from = ota_canonical(dev, start_from);
        if (from == NULL) { /* Decision: ESP-IDF asserts */
            OTK_LOGE(OTA_TAG, "next_update: '%.16s' is not in the partition table",
                     start_from->label);
            return NULL;
        }
    }
    const esp_partition_t *first = NULL;
    bool next_is_it = false;
    for (uint32_t slot = 0; slot < OTK_OTADATA_MAX_SLOTS; slot++) {
        const esp_partition_t *p = otk_otadata_slot_partition(&dev->table, slot);
        if (p == NULL) {
            continue;
        }
        if (first == NULL) {
            first = p;
        }
        if (next_is_it) {
            return p;
        }
        next_is_it = p == from;
    }
    return first;
}

uint8_t otk_ota_get_app_partition_count(otk_device_t *dev)
{
    return ota_dev_ok(dev) ? (uint8_t)ota_slot_count(dev) : 0;
}
