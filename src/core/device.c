/* The simulated device: configuration, power-on (boot layer, then the app's table load)
 * and what the running app is. */
#include <string.h>

#include "otakit/device.h"
#include "otakit/log.h"

static const char *TAG = "device";

/* A chip revision every current ESP32 module reports (v3.0). */
#define DEVICE_DEFAULT_CHIP_REV 300u

void otk_device_config_init(otk_device_config_t *config)
{
    if (config == NULL) {
        return;
    }
    memset(config, 0, sizeof *config);
    config->rollback = true;
    config->anti_rollback = false;
    config->chip_id = ESP_CHIP_ID_ESP32;
    config->chip_rev = DEVICE_DEFAULT_CHIP_REV;
    config->secure_version_bits = otk_boot_efuse_default_bits(ESP_CHIP_ID_ESP32);
    config->table_offset = ESP_PARTITION_TABLE_OFFSET_DEFAULT;
    config->table_md5 = true;
    config->otadata_rule = OTK_OTADATA_RULE_V6;
}

/* Configurations ESP-IDF's Kconfig cannot produce. */
static esp_err_t check_config(const otk_device_config_t *c, const otk_flash_t *flash)
{
    if (c->anti_rollback && !c->rollback) {
        OTK_LOGE(TAG, "anti-rollback needs rollback (Kconfig dependency)");
        return ESP_ERR_INVALID_ARG;
    }
    if (c->anti_rollback &&
        (c->secure_version_bits == 0 || c->secure_version_bits > OTK_BOOT_EFUSE_MAX_BITS)) {
        OTK_LOGE(TAG, "secure-version eFuse field of %u bits, expected 1 .. %u",
                 (unsigned)c->secure_version_bits, (unsigned)OTK_BOOT_EFUSE_MAX_BITS);
        return ESP_ERR_INVALID_ARG;
    }
    if (c->table_offset % OTK_PARTITION_SECTOR_SIZE != 0 ||
        c->table_offset >= otk_flash_size(flash)) {
        OTK_LOGE(TAG, "partition table offset 0x%x: not a sector inside the 0x%x-byte flash",
                 (unsigned)c->table_offset, (unsigned)otk_flash_size(flash));
        return ESP_ERR_INVALID_ARG;
    }
    if (c->otadata_rule != OTK_OTADATA_RULE_V6 && c->otadata_rule != OTK_OTADATA_RULE_V5) {
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

esp_err_t otk_device_init(otk_device_t *dev, otk_flash_t *flash,
                          const otk_device_config_t *config, uint32_t efuse_secure_version)
{
    if (dev == NULL || flash == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_device_config_t defaults;
    if (config == NULL) {
        otk_device_config_init(&defaults);
        config = &defaults;
    }
    esp_err_t err = check_config(config, flash);
    if (err != ESP_OK) {
        return err;
    }
    memset(dev, 0, sizeof *dev);
    dev->flash = flash;
    dev->config = *config;
    dev->efuse_secure_version = efuse_secure_version;
    return ESP_OK;
}

void otk_device_boot_config(const otk_device_t *dev, otk_boot_config_t *boot_config)
{
    otk_boot_config_init(boot_config);
    if (dev == NULL) {
        return;
    }
    boot_config->rollback = dev->config.rollback;
    boot_config->anti_rollback = dev->config.anti_rollback;
    boot_config->chip_id = dev->config.chip_id;
    boot_config->check_chip_rev = true;
    boot_config->chip_rev = dev->config.chip_rev;
    boot_config->secure_version_efuse = dev->efuse_secure_version;
    boot_config->secure_version_bits = dev->config.secure_version_bits;
    boot_config->secure_boot = dev->config.secure_boot;
}

/* RAM does not survive a reset: open updates, what the engine knew of flash, a pending
 * restart. Handle numbers keep counting, so a handle from before the reset can never name
 * an update begun after it. */
static void clear_ram(otk_device_t *dev)
{
    memset(dev->ota, 0, sizeof dev->ota);
    dev->verified_valid = false;
    dev->restart_requested = false;
    dev->running = NULL;
    memset(&dev->table, 0, sizeof dev->table);
}

/* The table entry of the partition the bootloader started. */
static const esp_partition_t *find_running(const otk_device_t *dev)
{
    const esp_partition_t *booted = &dev->boot.partition;
    for (size_t i = 0; i < dev->table.count; i++) {
        const esp_partition_t *p = &dev->table.parts[i];
        if (p->type == booted->type && p->subtype == booted->subtype &&
            p->address == booted->address && p->size == booted->size) {
            return p;
        }
    }
    return NULL;
}

esp_err_t otk_device_power_on(otk_device_t *dev)
{
    if (dev == NULL || dev->flash == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_flash_power_on(dev->flash);
    clear_ram(dev);
    dev->powered = true;
    dev->boot_count++;

    otk_boot_config_t bc;
    otk_device_boot_config(dev, &bc);
    /* The boot's working set lives in the device, so power-on needs little stack: the table
     * is the one the app loads right after (loaded again below, with the app's rules). */
    const otk_boot_work_t work = {&dev->table, &dev->boot_stream};
    esp_err_t err = otk_boot_run_with(dev->flash, dev->config.table_offset, &bc, &dev->boot,
                                      &work);
    /* Scratch no more: a device that did not boot has no table. */
    memset(&dev->table, 0, sizeof dev->table);
    /* The boot may have burned eFuse bits, even when it then found nothing to run. */
    dev->efuse_secure_version = bc.secure_version_efuse;
    dev->ota_ops_mark = dev->flash->physical_ops;
    if (err != ESP_OK) {
        OTK_LOGE(TAG, "boot %u failed (%s): %s", (unsigned)dev->boot_count,
                 otk_boot_stage_name(dev->boot.stage), dev->boot.diag.msg);
        return err;
    }
    otk_diag_t diag;
    otk_diag_clear(&diag);
    otk_partition_rules_t rules =
        dev->config.table_md5 ? OTK_PARTITION_RULES_APP_MD5 : OTK_PARTITION_RULES_APP;
    err = otk_partition_table_load(dev->flash, dev->config.table_offset, rules, &dev->table,
                                   &diag);
    if (err != ESP_OK) {
        OTK_LOGE(TAG, "the app cannot load the partition table: %s", diag.msg);
        return err;
    }
    dev->running = find_running(dev);
    if (dev->running == NULL) {
        OTK_LOGE(TAG, "the booted partition at 0x%x is not in the app's partition table",
                 (unsigned)dev->boot.partition.address);
        return ESP_ERR_NOT_FOUND;
    }
    const esp_app_desc_t *app = otk_device_running_app(dev);
    OTK_LOGI(TAG, "boot %u: running '%s' at 0x%x (%.32s %.32s)", (unsigned)dev->boot_count,
             dev->running->label, (unsigned)dev->running->address,
             app != NULL ? app->project_name : "?", app != NULL ? app->version : "?");
    return ESP_OK;
}

const esp_app_desc_t *otk_device_running_app(const otk_device_t *dev)
{
    if (dev == NULL || dev->running == NULL || !dev->boot.image.has_app_desc) {
        return NULL;
    }
    return &dev->boot.image.app_desc;
}
