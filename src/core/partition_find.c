/* Looking partitions up in a table, with esp_partition_find's matching rules. */
#include <string.h>

#include "partition_internal.h"

static bool matches(const esp_partition_t *p, esp_partition_type_t type,
                    esp_partition_subtype_t subtype, const char *label)
{
    return (type == ESP_PARTITION_TYPE_ANY || p->type == type) &&
           (subtype == ESP_PARTITION_SUBTYPE_ANY || p->subtype == subtype) &&
           (label == NULL || strcmp(label, p->label) == 0);
}

const esp_partition_t *otk_partition_find_next(const otk_partition_table_t *table,
                                               esp_partition_type_t type,
                                               esp_partition_subtype_t subtype,
                                               const char *label, size_t *cursor)
{
    /* A subtype only means something within a type: ESP-IDF treats this as a usage error
     * and finds nothing. */
    if (table == NULL || cursor == NULL ||
        (type == ESP_PARTITION_TYPE_ANY && subtype != ESP_PARTITION_SUBTYPE_ANY)) {
        return NULL;
    }
    for (size_t i = *cursor; i < table->count; i++) {
        if (matches(&table->parts[i], type, subtype, label)) {
            *cursor = i + 1;
            return &table->parts[i];
        }
    }
    *cursor = table->count;
    return NULL;
}

const esp_partition_t *otk_partition_find_first(const otk_partition_table_t *table,
                                                esp_partition_type_t type,
                                                esp_partition_subtype_t subtype,
                                                const char *label)
{
    size_t cursor = 0;
    return otk_partition_find_next(table, type, subtype, label, &cursor);
}

const esp_partition_t *otk_partition_table_verify(const otk_partition_table_t *table,
                                                  const esp_partition_t *partition)
{
    if (table == NULL || partition == NULL) {
        return NULL;
    }
    const char *label = partition->label[0] != '\0' ? partition->label : NULL;
    size_t cursor = 0;
    const esp_partition_t *p;
    /* Not memcmp: padding may differ; these are the fields ESP-IDF compares. */
    while ((p = otk_partition_find_next(table, partition->type, partition->subtype, label,
                                        &cursor)) != NULL) {
        if (p->flash_chip == partition->flash_chip && p->address == partition->address &&
            p->size == partition->size && p->encrypted == partition->encrypted) {
            return p;
        }
    }
    return NULL;
}
