/* The table on a flash device: read its sector, or write a new one. */
#include <string.h>

#include "partition_internal.h"

static esp_err_t check_offset(const otk_flash_t *flash, uint32_t table_offset, otk_diag_t *diag)
{
    if (table_offset % OTK_PARTITION_SECTOR_SIZE != 0) {
        otk_diag_set(diag, "table offset 0x%x is not a multiple of 0x%x", (unsigned)table_offset,
                     OTK_PARTITION_SECTOR_SIZE);
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t size = otk_flash_size(flash);
    if (table_offset > size || size - table_offset < OTK_PARTITION_SECTOR_SIZE) {
        otk_diag_set(diag, "table sector 0x%x-0x%x is beyond the 0x%x-byte flash",
                     (unsigned)table_offset, (unsigned)(table_offset + OTK_PARTITION_SECTOR_SIZE),
                     (unsigned)size);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* A flash without a mapping: the sector is read into a buffer on the stack (unless the
 * build leaves that out, OTK_CONFIG_TABLE_READ_BUFFER). */
static esp_err_t load_copy(otk_flash_t *flash, uint32_t table_offset,
                           otk_partition_rules_t rules, otk_partition_table_t *table,
                           otk_diag_t *diag)
{
#if !OTK_CONFIG_TABLE_READ_BUFFER
    (void)flash;
    (void)rules;
    (void)table;
    otk_diag_set(diag, "the table at 0x%x: this flash cannot be mapped and this build reads "
                 "the table only through a mapping", (unsigned)table_offset);
    return ESP_ERR_NOT_SUPPORTED;
#else
    uint8_t sector[OTK_PARTITION_SECTOR_SIZE];
    esp_err_t err = otk_flash_read(flash, table_offset, sector, sizeof sector);
    if (err != ESP_OK) {
        otk_diag_set(diag, "reading the table at 0x%x: %s", (unsigned)table_offset,
                     esp_err_to_name(err));
        return err;
    }
    err = otk_partition_table_parse(sector, sizeof sector, rules, otk_flash_size(flash), table,
                                    diag);
    table->table_offset = table_offset;
    if (err == ESP_OK) {
        otk_partition_table_set_flash(table, flash);
    }
    return err;
#endif
}

esp_err_t otk_partition_table_load(otk_flash_t *flash, uint32_t table_offset,
                                   otk_partition_rules_t rules, otk_partition_table_t *table,
                                   otk_diag_t *diag)
{
    if (flash == NULL || table == NULL) {
        otk_diag_set(diag, "no flash or no table");
        return ESP_ERR_INVALID_ARG;
    }
    pt_table_clear(table, table_offset);
    esp_err_t err = check_offset(flash, table_offset, diag);
    if (err != ESP_OK) {
        return err;
    }
    /* ESP-IDF maps the whole sector; the app-side loader may read all of it. Mapped where
     * the flash can (no copy, and no 4 KiB on the stack: the boot path's budget is 2 KiB
     * on a microcontroller); read into a buffer otherwise. Same checks and statistics. */
    const uint8_t *sector = NULL;
    err = otk_flash_map(flash, table_offset, OTK_PARTITION_SECTOR_SIZE, &sector);
    if (err == ESP_ERR_NOT_SUPPORTED) {
        return load_copy(flash, table_offset, rules, table, diag);
    }
    if (err != ESP_OK) {
        otk_diag_set(diag, "reading the table at 0x%x: %s", (unsigned)table_offset,
                     esp_err_to_name(err));
        return err;
    }
    err = otk_partition_table_parse(sector, OTK_PARTITION_SECTOR_SIZE, rules,
                                    otk_flash_size(flash), table, diag);
    table->table_offset = table_offset;
    if (err == ESP_OK) {
        otk_partition_table_set_flash(table, flash);
    }
    return err;
}

esp_err_t otk_partition_table_write(otk_flash_t *flash, uint32_t table_offset,
                                    const otk_partition_table_t *table, bool md5,
                                    otk_diag_t *diag)
{
    if (flash == NULL || table == NULL) {
        otk_diag_set(diag, "no flash or no table");
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = check_offset(flash, table_offset, diag);
    if (err != ESP_OK) {
        return err;
    }
    uint8_t bin[OTK_PARTITION_TABLE_BIN_SIZE];
    err = otk_partition_table_serialize(table, md5, bin, diag);
    if (err != ESP_OK) {
        return err;
    }
    err = otk_flash_erase(flash, table_offset, OTK_PARTITION_SECTOR_SIZE);
    if (err == ESP_OK) {
        err = otk_flash_program(flash, table_offset, bin, sizeof bin);
    }
    if (err != ESP_OK) {
        otk_diag_set(diag, "writing the table at 0x%x: %s", (unsigned)table_offset,
                     esp_err_to_name(err));
    }
    return err;
}
