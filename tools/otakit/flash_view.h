/* What the flash and otadata commands share: opening a flash image file with its partition
 * table, and showing otadata and app slots (text and JSON). */
#ifndef OTAKIT_FLASH_VIEW_H
#define OTAKIT_FLASH_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "json_out.h"
#include "otakit/flash.h"
#include "otakit/otadata.h"
#include "otakit/partition.h"

typedef struct {
    const char *path;
    otk_flash_t *flash;
    uint32_t table_offset;
    otk_partition_table_t table;
} flash_file_t;

/* Open an existing flash image file and load its partition table at table_offset with the
 * app loader's rules (MD5 optional; its state is kept in table.md5). Prints the reason
 * and returns false on failure. */
bool flash_file_open(flash_file_t *ff, const char *path, uint32_t table_offset);
void flash_file_close(flash_file_t *ff);

/* The otadata partition, or NULL after printing why there is none. */
const esp_partition_t *flash_file_otadata(flash_file_t *ff);

/* otadata's two entries, the slot count, and the partition they select. */
void otadata_print_text(const flash_file_t *ff, const esp_partition_t *otadata,
                        const esp_ota_select_entry_t entries[2]);
void otadata_print_json(json_out_t *j, const char *key, const flash_file_t *ff,
                        const esp_partition_t *otadata, const esp_ota_select_entry_t entries[2]);

/* Parse --offset style table offsets: a multiple of 0x1000. */
bool parse_table_offset(const char *cmd, const char *text, uint32_t *out);

#endif
