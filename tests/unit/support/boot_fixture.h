/* A device for boot tests: a 512 KiB memory flash with a partition table at 0x8000, small
 * ESP32-C3 app images in its app partitions, and helpers to set, read and damage them. */
#ifndef BOOT_FIXTURE_H
#define BOOT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/boot.h"
#include "otakit/flash.h"
#include "otakit/otadata.h"
#include "otakit/partition.h"

#define BF_TABLE_OFFSET 0x8000u
#define BF_FLASH_SIZE 0x80000u
/* The chip the images are built for. */
#define BF_CHIP ESP_CHIP_ID_ESP32C3

/* Layouts (gen_esp32part CSV). Every app partition is 64 KiB. */
extern const char BF_CSV_FACTORY_2OTA[]; /* nvs, otadata, phy, factory, ota_0, ota_1 */
extern const char BF_CSV_2OTA[];         /* nvs, otadata, phy, ota_0, ota_1 */
extern const char BF_CSV_3OTA[];         /* otadata, ota_0, ota_1, ota_2 */
/* otadata, factory, ota_0..ota_3, test */
extern const char BF_CSV_FACTORY_4OTA_TEST[];
extern const char BF_CSV_FACTORY_ONLY[]; /* nvs, factory (no otadata) */

/* A new flash holding the table compiled from csv; every app partition gets an image whose
 * version string is its label and whose secure_version is 0. */
otk_flash_t *bf_create(const char *csv);
/* The same with a table built in code (for layouts gen_esp32part refuses). */
otk_flash_t *bf_create_table(const otk_partition_table_t *table);
void bf_destroy(otk_flash_t *flash);

/* The partition with that label in the flash's table (fails the test if none). The
 * pointer stays valid until the next bf_part call on another flash. */
const esp_partition_t *bf_part(otk_flash_t *flash, const char *label);

/* Erase the partition's first 64 KiB and write an image: version string = version,
 * secure_version as given. Returns the image length. */
size_t bf_put_app(otk_flash_t *flash, const char *label, const char *version,
                  uint32_t secure_version);
/* Damage the image in a partition by clearing one bit of its payload (the checksum and
 * SHA-256 no longer match). */
void bf_corrupt(otk_flash_t *flash, const char *label);
/* Erase the whole partition. */
void bf_erase(otk_flash_t *flash, const char *label);

/* An otadata entry {seq, 0xFF label, state, crc(seq)}. */
esp_ota_select_entry_t bf_entry(uint32_t seq, uint32_t state);
/* Write entry `sector` of the otadata partition (erase + 32 bytes). */
void bf_set_otadata(otk_flash_t *flash, int sector, uint32_t seq, uint32_t state);
void bf_set_otadata_raw(otk_flash_t *flash, int sector, const esp_ota_select_entry_t *e);
void bf_read_otadata(otk_flash_t *flash, esp_ota_select_entry_t e[2]);
/* Copy of the whole otadata partition (0x2000 bytes). */
void bf_snapshot_otadata(otk_flash_t *flash, uint8_t out[0x2000]);
/* Assert one otadata sector's 32 bytes equal the entry and the rest of it is erased. */
void bf_assert_sector(otk_flash_t *flash, int sector, const esp_ota_select_entry_t *want);
/* Assert one otadata sector is fully erased. */
void bf_assert_sector_erased(otk_flash_t *flash, int sector);

/* Run the bootloader with cfg (NULL: defaults). The result is static storage, overwritten
 * by the next call. */
otk_boot_result_t *bf_boot(otk_flash_t *flash, otk_boot_config_t *cfg);
/* Index of the refusal for a boot index in the result, or -1. */
int bf_refusal_of(const otk_boot_result_t *r, int index);

/* Log capture: every line at INFO and above goes into a buffer until bf_log_stop. */
void bf_log_start(void);
void bf_log_stop(void);
/* True when a captured line contains text. */
bool bf_log_has(const char *text);
/* The captured text, lines separated by '\n'. */
const char *bf_log_text(void);

#endif
