/* Building a table: entries filled the way ESP-IDF's app-side loader fills them. */
#include <string.h>

#include "partition_internal.h"

void pt_table_clear(otk_partition_table_t *t, uint32_t table_offset)
{
    memset(t, 0, sizeof *t);
    t->md5 = OTK_PARTITION_MD5_NONE;
    t->table_offset = table_offset;
}

esp_err_t pt_table_append(otk_partition_table_t *t, uint8_t type, uint8_t subtype,
                          uint32_t offset, uint32_t size,
                          const uint8_t raw_label[OTK_PARTITION_LABEL_LEN], uint32_t flags)
{
    if (t->count >= OTK_PARTITION_TABLE_MAX) {
        return ESP_ERR_NO_MEM;
    }
    size_t i = t->count++;
    esp_partition_t *p = &t->parts[i];
    memset(p, 0, sizeof *p);
    p->flash_chip = NULL;
    p->type = (esp_partition_type_t)type;
    p->subtype = (esp_partition_subtype_t)subtype;
    p->address = offset;
    p->size = size;
    p->erase_size = OTK_FLASH_SECTOR_SIZE;
    /* The loader copies at most 16 chars up to the first NUL (strncpy into a zeroed 17). */
    memcpy(p->label, raw_label, pt_label_len(raw_label));
    /* Flash encryption never runs on a host, and without it ESP-IDF treats no partition as
     * encrypted whatever the flag says (partition.c). The raw flag stays in t->flags. */
    p->encrypted = false;
    p->readonly = (flags & PART_FLAG_READONLY) != 0;
    t->flags[i] = flags;
    memcpy(t->raw_label[i], raw_label, OTK_PARTITION_LABEL_LEN);
    return ESP_OK;
}

void otk_partition_table_init(otk_partition_table_t *table, uint32_t table_offset)
{
    pt_table_clear(table, table_offset);
}

esp_err_t otk_partition_table_add(otk_partition_table_t *table, const char *label, uint8_t type,
                                  uint8_t subtype, uint32_t offset, uint32_t size,
                                  uint32_t flags)
{
    if (table == NULL || label == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    uint8_t raw[OTK_PARTITION_LABEL_LEN] = {0};
    memcpy(raw, label, pt_label_len(label));
    return pt_table_append(table, type, subtype, offset, size, raw, flags);
}

void otk_partition_table_set_flash(otk_partition_table_t *table, otk_flash_t *flash)
{
    for (size_t i = 0; i < table->count; i++) {
        table->parts[i].flash_chip = flash;
    }
}
