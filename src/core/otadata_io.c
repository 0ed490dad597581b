/* otadata on flash: read both entries, rewrite one sector (erase 4 KiB, program 32 bytes). */
#include <string.h>

#include "otakit/flash.h"
#include "otakit/log.h"
#include "otakit/otadata.h"

static const char *TAG = "otadata";

static esp_err_t check_part(const esp_partition_t *part)
{
    if (part == NULL || part->flash_chip == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (part->size < OTK_OTADATA_SIZE) {
        OTK_LOGE(TAG, "otadata partition '%s' at 0x%x is 0x%x bytes, needs 0x%x", part->label,
                 (unsigned)part->address, (unsigned)part->size, OTK_OTADATA_SIZE);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

static uint32_t sector_addr(const esp_partition_t *part, int sector)
{
    return part->address + (uint32_t)sector * OTK_OTADATA_SECTOR_SIZE;
}

esp_err_t otk_otadata_read(const esp_partition_t *part, esp_ota_select_entry_t entries[2])
{
    esp_err_t err = check_part(part);
    for (int s = 0; err == ESP_OK && s < OTK_OTADATA_ENTRIES; s++) {
        err = otk_flash_read(part->flash_chip, sector_addr(part, s), &entries[s],
                             sizeof entries[s]);
    }
    if (err != ESP_OK) {
        OTK_LOGE(TAG, "reading otadata failed: %s", esp_err_to_name(err));
    }
    return err;
}

esp_err_t otk_otadata_erase_sector(const esp_partition_t *part, int sector)
{
    esp_err_t err = check_part(part);
    if (err != ESP_OK) {
        return err;
    }
    if (sector < 0 || sector >= OTK_OTADATA_ENTRIES) {
        return ESP_ERR_INVALID_ARG;
    }
    return otk_flash_erase(part->flash_chip, sector_addr(part, sector), OTK_OTADATA_SECTOR_SIZE);
}

esp_err_t otk_otadata_write(const esp_partition_t *part, int sector,
                            const esp_ota_select_entry_t *entry)
{
    /* Copy first: entry may point into a buffer the caller filled from this very sector. */
    esp_ota_select_entry_t copy = *entry;
    esp_err_t err = otk_otadata_erase_sector(part, sector);
    if (err == ESP_OK) {
        err = otk_flash_program(part->flash_chip, sector_addr(part, sector), &copy, sizeof copy);
    }
    if (err != ESP_OK) {
        OTK_LOGE(TAG, "writing otadata sector %d (seq %u, state %s) failed: %s", sector,
                 (unsigned)copy.ota_seq, otk_otadata_state_name(copy.ota_state),
                 esp_err_to_name(err));
    }
    return err;
}

esp_err_t otk_otadata_erase(const esp_partition_t *part)
{
    esp_err_t err = check_part(part);
    if (err == ESP_OK) {
        err = otk_flash_erase(part->flash_chip, part->address, OTK_OTADATA_SIZE);
    }
    return err;
}

esp_err_t otk_otadata_select_slot(const esp_partition_t *part, uint32_t slot, uint32_t n_slots,
                                  uint32_t state, otk_otadata_rule_t rule, int *written_sector)
{
    esp_ota_select_entry_t entries[2];
    esp_err_t err = otk_otadata_read(part, entries);
    if (err != ESP_OK) {
        return err;
    }
    int sector;
    esp_ota_select_entry_t entry;
    err = otk_otadata_plan_select(entries, slot, n_slots, state, rule, &sector, &entry);
    if (err != ESP_OK) {
        OTK_LOGE(TAG, "cannot select slot %u of %u: %s", (unsigned)slot, (unsigned)n_slots,
                 esp_err_to_name(err));
        return err;
    }
    err = otk_otadata_write(part, sector, &entry);
    if (err == ESP_OK && written_sector != NULL) {
        *written_sector = sector;
    }
    return err;
}

esp_err_t otk_otadata_set_state(const esp_partition_t *part, int sector, uint32_t state)
{
    if (sector < 0 || sector >= OTK_OTADATA_ENTRIES) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_ota_select_entry_t entries[2];
    esp_err_t err = otk_otadata_read(part, entries);
    if (err != ESP_OK) {
        return err;
    }
    esp_ota_select_entry_t entry = entries[sector];
    entry.ota_state = state;
    return otk_otadata_write(part, sector, &entry);
}
