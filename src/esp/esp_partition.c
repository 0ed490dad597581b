/* ESP-IDF's esp_partition_* over the current table: thin wrappers over otakit/partition.h.
 * The current table pointer is the ESP-compatible "current device" (the one global the
 * design allows); iterators are heap objects, as in ESP-IDF. */
#include <stdlib.h>
#include <string.h>

#include "esp_partition.h"
#include "otakit/partition.h"

struct esp_partition_iterator_opaque_ {
    const otk_partition_table_t *table;
    esp_partition_type_t type;
    esp_partition_subtype_t subtype;
    const char *label;    /* the caller's string, as ESP-IDF keeps it (may be NULL) */
    size_t cursor;        /* next entry to look at */
    const esp_partition_t *info;
};

static const otk_partition_table_t *s_current;

void otk_partition_set_current_table(const otk_partition_table_t *table)
{
    s_current = table;
}

const otk_partition_table_t *otk_partition_get_current_table(void)
{
    return s_current;
}

esp_partition_iterator_t esp_partition_next(esp_partition_iterator_t it)
{
    if (it == NULL) {
        return NULL;
    }
    it->info = otk_partition_find_next(it->table, it->type, it->subtype, it->label, &it->cursor);
    if (it->info == NULL) {
        esp_partition_iterator_release(it); /* ESP-IDF frees an exhausted iterator */
        return NULL;
    }
    return it;
}

esp_partition_iterator_t esp_partition_find(esp_partition_type_t type,
                                            esp_partition_subtype_t subtype, const char *label)
{
    if (s_current == NULL ||
        (type == ESP_PARTITION_TYPE_ANY && subtype != ESP_PARTITION_SUBTYPE_ANY)) {
        return NULL;
    }
    esp_partition_iterator_t it = calloc(1, sizeof *it);
    if (it == NULL) {
        return NULL;
    }
    it->table = s_current;
    it->type = type;
    it->subtype = subtype;
    it->label = label;
    return esp_partition_next(it);
}

const esp_partition_t *esp_partition_find_first(esp_partition_type_t type,
                                                esp_partition_subtype_t subtype,
                                                const char *label)
{
    return otk_partition_find_first(s_current, type, subtype, label);
}

const esp_partition_t *esp_partition_get(esp_partition_iterator_t iterator)
{
    return iterator != NULL ? iterator->info : NULL;
}

void esp_partition_iterator_release(esp_partition_iterator_t iterator)
{
    free(iterator);
}

const esp_partition_t *esp_partition_verify(const esp_partition_t *partition)
{
    return otk_partition_table_verify(s_current, partition);
}

esp_err_t esp_partition_read(const esp_partition_t *partition, size_t src_offset, void *dst,
                             size_t size)
{
    return otk_partition_read(partition, src_offset, dst, size);
}

esp_err_t esp_partition_write(const esp_partition_t *partition, size_t dst_offset,
                              const void *src, size_t size)
{
    return otk_partition_write(partition, dst_offset, src, size);
}

esp_err_t esp_partition_erase_range(const esp_partition_t *partition, size_t offset,
                                    size_t size)
{
    return otk_partition_erase_range(partition, offset, size);
}

esp_err_t esp_partition_get_sha256(const esp_partition_t *partition, uint8_t *sha_256)
{
    return otk_partition_get_sha256(partition, sha_256);
}

bool esp_partition_check_identity(const esp_partition_t *partition_1,
                                  const esp_partition_t *partition_2)
{
    uint8_t a[32], b[32];
    return esp_partition_get_sha256(partition_1, a) == ESP_OK &&
           esp_partition_get_sha256(partition_2, b) == ESP_OK && memcmp(a, b, sizeof a) == 0;
}
