/* The running app's otadata state and rollback: esp_ota_mark_app_valid_cancel_rollback,
 * esp_ota_mark_app_invalid_rollback[_and_reboot], esp_ota_get_state_partition,
 * esp_ota_get_last_invalid_partition, esp_ota_check_rollback_is_possible,
 * esp_ota_erase_last_boot_app_partition, esp_ota_invalidate_inactive_ota_data_slot. */
#include "ota_internal.h"

#include "otakit/log.h"

esp_err_t ota_state_of(otk_device_t *dev, const esp_partition_t *p,
                       esp_ota_img_states_t *state)
{
    uint32_t n = ota_slot_count(dev);
    esp_ota_select_entry_t entries[2];
    if (n == 0 || ota_read_otadata(dev, entries) == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t slot = (uint32_t)p->subtype & PART_SUBTYPE_OTA_MASK;
    /* Entry 0 first: when both map to the slot, entry 0 answers (ESP-IDF). */
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        if (otk_otadata_slot_of_seq(entries[i].ota_seq, n) == slot &&
            otk_otadata_crc_ok(&entries[i])) {
            *state = (esp_ota_img_states_t)entries[i].ota_state;
            return ESP_OK;
        }
    }
    return ESP_ERR_NOT_FOUND;
}

esp_err_t otk_ota_get_state_partition(otk_device_t *dev, const esp_partition_t *partition,
                                      esp_ota_img_states_t *ota_state)
{
    if (!ota_dev_ok(dev) || partition == NULL || ota_state == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!ota_is_ota_app(partition)) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    return ota_state_of(dev, partition, ota_state);
}

/* The app in p verifies and, with anti-rollback, may boot under the eFuse. */
static bool bootable(otk_device_t *dev, const esp_partition_t *p)
{
    otk_image_info_t info;
    if (p == NULL || ota_verify_app(dev, p, &info, true) != ESP_OK) {
        return false;
    }
    return !dev->config.anti_rollback ||
           (info.has_app_desc &&
            otk_boot_efuse_check(dev->efuse_secure_version, dev->config.secure_version_bits,
                                 info.app_desc.secure_version));
}

bool otk_ota_check_rollback_is_possible(otk_device_t *dev)
{
    esp_ota_select_entry_t entries[2];
    if (!ota_dev_ok(dev) || ota_read_otadata(dev, entries) == NULL) {
        return false;
    }
    uint32_t n = ota_slot_count(dev);
    if (n == 0) {
        return false;
    }
    bool valid[2] = {otk_otadata_entry_valid(&entries[0]), otk_otadata_entry_valid(&entries[1])};
    int active = otk_otadata_select(entries, valid, true);
    if (active == OTK_OTADATA_NONE) {
        return false;
    }
    int last = 1 - active;
    /* Without anti-rollback the bootloader falls back to the factory app; with it, the
     * factory app is not considered (ESP-IDF). */
    if (!dev->config.anti_rollback && !valid[last]) {
        const esp_partition_t *factory = otk_partition_find_first(
            &dev->table, ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_FACTORY, NULL);
        if (factory != NULL && bootable(dev, factory)) {
            return true;
        }
    }
    if (valid[last]) {
        uint32_t slot = otk_otadata_slot_of_seq(entries[last].ota_seq, n);
        return bootable(dev, otk_otadata_slot_partition(&dev->table, slot));
    }
    return false;
}

/* esp_ota_current_ota_is_workable: mark the active otadata entry VALID or INVALID. */
static esp_err_t mark_active(otk_device_t *dev, bool valid)
{
    if (!ota_dev_ok(dev)) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_ota_select_entry_t entries[2];
    const esp_partition_t *otadata = ota_read_otadata(dev, entries);
    if (otadata == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    int active = otk_otadata_active(entries);
    if (active == OTK_OTADATA_NONE || ota_slot_count(dev) == 0) {
        OTK_LOGE(OTA_TAG, "Running firmware is factory");
        return ESP_FAIL;
    }
    if (valid && entries[active].ota_state == ESP_OTA_IMG_VALID) {
        return ESP_OK;
    }
    if (!valid && !otk_ota_check_rollback_is_possible(dev)) {
        OTK_LOGE(OTA_TAG, "Rollback is not possible, do not have any suitable apps in slots");
        return ESP_ERR_OTA_ROLLBACK_FAILED;
    }
    uint32_t state = valid ? ESP_OTA_IMG_VALID : ESP_OTA_IMG_INVALID;
    ota_ops_begin(dev);
    esp_err_t err = otk_otadata_set_state(otadata, active, state);
    ota_ops_end(dev);
    if (err != ESP_OK) {
        return err;
    }
    OTK_LOGI(OTA_TAG, "otadata sector %d (seq %u) marked %s", active,
             (unsigned)entries[active].ota_seq, otk_otadata_state_name(state));
    const esp_app_desc_t *app = otk_device_running_app(dev);
    if (valid && dev->config.anti_rollback && app != NULL) {
        /* A confirmed app may never be rolled back below: burn its version. */
        return otk_boot_efuse_raise(&dev->efuse_secure_version,
                                    dev->config.secure_version_bits, app->secure_version);
    }
    return ESP_OK;
}

esp_err_t otk_ota_mark_app_valid_cancel_rollback(otk_device_t *dev)
{
    return mark_active(dev, true);
}

esp_err_t otk_ota_mark_app_invalid_rollback(otk_device_t *dev)
{
    return mark_active(dev, false);
}

esp_err_t otk_ota_mark_app_invalid_rollback_and_reboot(otk_device_t *dev)
{
    esp_err_t err = mark_active(dev, false);
    if (err == ESP_OK) {
        dev->restart_requested = true;
    }
    return err;
}

const esp_partition_t *otk_ota_get_last_invalid_partition(otk_device_t *dev)
{
    esp_ota_select_entry_t entries[2];
    if (!ota_dev_ok(dev) || ota_read_otadata(dev, entries) == NULL) {
        return NULL;
    }
    uint32_t n = ota_slot_count(dev);
    bool flagged[2];
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        flagged[i] = otk_otadata_entry_present(&entries[i]) &&
                     (entries[i].ota_state == ESP_OTA_IMG_INVALID ||
                      entries[i].ota_state == ESP_OTA_IMG_ABORTED);
    }
    /* Both rejected: the older one (smaller seq), as ESP-IDF picks. */
    int pick = otk_otadata_select(entries, flagged, false);
    if (pick == OTK_OTADATA_NONE || n == 0) {
        return NULL;
    }
    const esp_partition_t *p =
        otk_otadata_slot_partition(&dev->table, otk_otadata_slot_of_seq(entries[pick].ota_seq, n));
    if (p == NULL || ota_verify_app(dev, p, NULL, true) != ESP_OK) {
        return NULL;
    }
    return p;
}

/* The otadata entry that is not active, when it names a slot other than the running one:
 * erase_app also erases that slot's app. */
static esp_err_t drop_last_boot(otk_device_t *dev, bool erase_app)
{
    if (!ota_dev_ok(dev)) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_ota_select_entry_t entries[2];
    const esp_partition_t *otadata = ota_read_otadata(dev, entries);
    if (otadata == NULL) {
        return ESP_FAIL;
    }
    int active = otk_otadata_active(entries);
    uint32_t n = ota_slot_count(dev);
    if (active == OTK_OTADATA_NONE || n == 0) {
        return ESP_FAIL;
    }
    int inactive = 1 - active;
    if (!otk_otadata_entry_present(&entries[inactive])) {
        return ESP_FAIL;
    }
    const esp_partition_t *p = otk_otadata_slot_partition(
        &dev->table, otk_otadata_slot_of_seq(entries[inactive].ota_seq, n));
    if (p == NULL || dev->running == NULL || p == dev->running) {
        return ESP_FAIL;
    }
    ota_ops_begin(dev);
    esp_err_t err = ESP_OK;
    if (erase_app) {
        ota_forget_range(dev, p->address, p->size, NULL);
        err = otk_partition_erase_range(p, 0, p->size);
    }
    if (err == ESP_OK) {
        err = otk_otadata_erase_sector(otadata, inactive);
    }
    ota_ops_end(dev);
    if (err == ESP_OK) {
        OTK_LOGI(OTA_TAG, "otadata sector %d (seq %u, '%s') erased%s", inactive,
                 (unsigned)entries[inactive].ota_seq, p->label,
                 erase_app ? " with its app" : "");
    }
    return err;
}

esp_err_t otk_ota_erase_last_boot_app_partition(otk_device_t *dev)
{
    return drop_last_boot(dev, true);
}

esp_err_t otk_ota_invalidate_inactive_ota_data_slot(otk_device_t *dev)
{
    return drop_last_boot(dev, false);
}
