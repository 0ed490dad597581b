/* otadata seen through the partition table: which partitions the slots are, how many there
 * are (the app's and the bootloader's counts), and which partition an otadata selects. */
#include "otakit/otadata.h"

const esp_partition_t *otk_otadata_find_partition(const otk_partition_table_t *table)
{
    return otk_partition_find_first(table, ESP_PARTITION_TYPE_DATA,
                                    ESP_PARTITION_SUBTYPE_DATA_OTA, NULL);
}

const esp_partition_t *otk_otadata_slot_partition(const otk_partition_table_t *table,
                                                  uint32_t slot)
{
    if (slot >= OTK_OTADATA_MAX_SLOTS) {
        return NULL;
    }
    return otk_partition_find_first(table, ESP_PARTITION_TYPE_APP,
                                    ESP_PARTITION_SUBTYPE_OTA(slot), NULL);
}

uint32_t otk_otadata_app_slot_count(const otk_partition_table_t *table)
{
    uint32_t n = 0;
    while (n < OTK_OTADATA_MAX_SLOTS && otk_otadata_slot_partition(table, n) != NULL) {
        n++;
    }
    return n;
}

uint32_t otk_otadata_boot_slot_count(const otk_partition_table_t *table)
{
    uint32_t n = 0;
    for (uint32_t slot = 0; slot < OTK_OTADATA_MAX_SLOTS; slot++) {
        n += otk_otadata_slot_partition(table, slot) != NULL;
    }
    return n;
}

const esp_partition_t *otk_otadata_default_partition(const otk_partition_table_t *table)
{
    const esp_partition_t *p = otk_partition_find_first(table, ESP_PARTITION_TYPE_APP,
                                                        ESP_PARTITION_SUBTYPE_APP_FACTORY, NULL);
    for (uint32_t slot = 0; p == NULL && slot < OTK_OTADATA_MAX_SLOTS; slot++) {
        p = otk_otadata_slot_partition(table, slot);
    }
    if (p == NULL) {
        p = otk_partition_find_first(table, ESP_PARTITION_TYPE_APP,
                                     ESP_PARTITION_SUBTYPE_APP_TEST, NULL);
    }
    return p;
}

const esp_partition_t *otk_otadata_boot_partition(const otk_partition_table_t *table,
                                                  const esp_ota_select_entry_t entries[2])
{
    uint32_t n = otk_otadata_app_slot_count(table);
    bool both_invalid = otk_otadata_entry_invalid(&entries[0]) &&
                        otk_otadata_entry_invalid(&entries[1]);
    if (both_invalid || n == 0) {
        return otk_otadata_default_partition(table);
    }
    int active = otk_otadata_active(entries);
    if (active == OTK_OTADATA_NONE) {
        return otk_otadata_default_partition(table);
    }
    return otk_otadata_slot_partition(table, otk_otadata_slot_of_seq(entries[active].ota_seq, n));
}
