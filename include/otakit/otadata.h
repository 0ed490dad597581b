/* The otadata layer: ESP-IDF's two-sector boot selection record (spec §3).
 *
 * The otadata partition (exactly 0x2000 bytes) holds entry 0 at offset 0 and entry 1 at
 * offset 0x1000; each is a 32-byte esp_ota_select_entry_t at the start of its own sector,
 * and each sector is always rewritten whole: erase 4 KiB, then program 32 bytes. The CRC
 * covers only ota_seq, so state changes keep the CRC. The writes below put the same bytes
 * there in a power-safe order (docs/power-loss.md): the old entry's CRC cleared, the
 * erase, the entry without its CRC, the CRC; a cut leaves the old entry, none, or the new.
 *
 * The pure functions (crc, predicates, selection, seq arithmetic, planning a write) touch no
 * flash, so the bootloader, the OTA engine and the tools share one set of rules. */
#ifndef OTAKIT_OTADATA_H
#define OTAKIT_OTADATA_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_flash_partitions.h"
#include "esp_partition.h"
#include "otakit/diag.h"
#include "otakit/partition.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTK_OTADATA_SECTOR_SIZE 0x1000u /* one entry per erase sector, so each survives the
                                           other's erase */
#define OTK_OTADATA_SIZE (2u * OTK_OTADATA_SECTOR_SIZE) /* gen_esp32part enforces exactly this */
#define OTK_OTADATA_ENTRIES 2
#define OTK_OTADATA_SEQ_EMPTY 0xFFFFFFFFu /* erased seq: no entry */
#define OTK_OTADATA_NONE (-1)             /* "no entry" result of the selection functions */
/* At most 16 OTA slots (ota_0..ota_15): the subtype's low nibble. */
#define OTK_OTADATA_MAX_SLOTS 16u

/* CRC of an entry: esp_rom_crc32_le(0xFFFFFFFF, &seq, 4), i.e. zlib crc32(0xFFFFFFFF, ...). */
uint32_t otk_otadata_crc(uint32_t ota_seq);
bool otk_otadata_crc_ok(const esp_ota_select_entry_t *entry);

/* ESP-IDF's ota_select_invalid: empty seq, or state INVALID or ABORTED (CRC not looked at). */
bool otk_otadata_entry_invalid(const esp_ota_select_entry_t *entry);
/* ESP-IDF's ota_select_valid: not invalid and the CRC matches. */
bool otk_otadata_entry_valid(const esp_ota_select_entry_t *entry);
/* True when the entry has a seq and a good CRC, whatever its state (what otatool.py, the
 * state lookup and erase_last_boot_app_partition count as "an entry"). */
bool otk_otadata_entry_present(const esp_ota_select_entry_t *entry);
/* Both entries empty or with a bad CRC: the bootloader's "initial contents" condition. */
bool otk_otadata_is_initial(const esp_ota_select_entry_t entries[2]);

/* ESP-IDF's select_otadata: among the flagged entries, the one with the larger seq (or the
 * smaller when pick_max is false); entry 0 wins ties. OTK_OTADATA_NONE if none flagged. */
int otk_otadata_select(const esp_ota_select_entry_t entries[2], const bool flagged[2],
                       bool pick_max);
/* The active entry: the valid entry with the largest seq, or OTK_OTADATA_NONE. */
int otk_otadata_active(const esp_ota_select_entry_t entries[2]);

/* Slot that a seq boots: (seq - 1) mod n, in unsigned 32-bit arithmetic. n must be > 0. */
uint32_t otk_otadata_slot_of_seq(uint32_t ota_seq, uint32_t n_slots);
/* The seq for a new entry selecting `slot` after the active seq: base + i*n where
 * base = (slot + 1) mod n and i is the smallest with base + i*n >= active_seq (ESP-IDF's
 * rule), and >= 1: seq 0 would map to the wrong slot unless n divides 2^32. 64-bit so the
 * caller sees when the seq space (up to 0xFFFFFFFE) is exhausted. */
uint64_t otk_otadata_next_seq(uint32_t active_seq, uint32_t slot, uint32_t n_slots);

/* Fill an entry: seq, state, CRC; seq_label copied from label (20 bytes) or 0xFF if NULL. */
void otk_otadata_make_entry(esp_ota_select_entry_t *entry, uint32_t ota_seq, uint32_t state,
                            const uint8_t *label);

/* Which rewrite rule to follow when the target slot is the active one (§3.5). */
typedef enum {
    OTK_OTADATA_RULE_V6, /* v6.0+: rewrite the active sector with the same seq, new state */
    OTK_OTADATA_RULE_V5, /* v5.x: always write the other sector (seq may equal the active's) */
} otk_otadata_rule_t;

/* Plan esp_rewrite_ota_data: the sector to write and the entry to put there so that the
 * next boot selects `slot`. ESP_ERR_INVALID_ARG if slot >= n_slots or n_slots is 0 or
 * more than 16; ESP_ERR_INVALID_STATE if the seq space is exhausted (the next seq would
 * pass 0xFFFFFFFE, which ESP-IDF does not guard against). Touches no flash. */
esp_err_t otk_otadata_plan_select(const esp_ota_select_entry_t entries[2], uint32_t slot,
                                  uint32_t n_slots, uint32_t state, otk_otadata_rule_t rule,
                                  int *sector, esp_ota_select_entry_t *new_entry);

/* --- on flash; `part` is the otadata partition (type data, subtype ota). --- */

/* Read both entries. ESP_ERR_INVALID_SIZE if the partition is smaller than 0x2000. */
esp_err_t otk_otadata_read(const esp_partition_t *part, esp_ota_select_entry_t entries[2]);
/* Erase sector `sector` (0 or 1) and program the 32-byte entry at its start (retiring the
 * old entry first, CRC last: see above). */
esp_err_t otk_otadata_write(const esp_partition_t *part, int sector,
                            const esp_ota_select_entry_t *entry);
/* Erase one sector (the entry becomes empty; retired first, see above). */
esp_err_t otk_otadata_erase_sector(const esp_partition_t *part, int sector);
/* Erase both sectors: back to the factory/default boot. */
esp_err_t otk_otadata_erase(const esp_partition_t *part);
/* Read, plan and write a selection of `slot` (esp_rewrite_ota_data). On success
 * *written_sector (may be NULL) tells which sector changed. */
esp_err_t otk_otadata_select_slot(const esp_partition_t *part, uint32_t slot, uint32_t n_slots,
                                  uint32_t state, otk_otadata_rule_t rule, int *written_sector);
/* Rewrite sector `sector` keeping its seq and label, with a new state. */
esp_err_t otk_otadata_set_state(const esp_partition_t *part, int sector, uint32_t state);

/* --- otadata in its partition table --- */


/* The data/ota partition of a table, or NULL. */
const esp_partition_t *otk_otadata_find_partition(const otk_partition_table_t *table);
/* The app's slot count N (esp_ota_get_app_partition_count): ota_0, ota_1, ... counted
 * consecutively, stopping at the first subtype missing. */
uint32_t otk_otadata_app_slot_count(const otk_partition_table_t *table);
/* The bootloader's N: every app partition with an OTA subtype (0x10..0x1F), in any order.
 * Differs from the app's count only for non-contiguous layouts (spec §3.4). */
uint32_t otk_otadata_boot_slot_count(const otk_partition_table_t *table);
/* The app partition of OTA slot k (subtype 0x10 + k), or NULL. */
const esp_partition_t *otk_otadata_slot_partition(const otk_partition_table_t *table,
                                                  uint32_t slot);
/* Where a device boots when otadata selects nothing: factory, else the lowest-numbered OTA
 * slot present, else test, else NULL. */
const esp_partition_t *otk_otadata_default_partition(const otk_partition_table_t *table);
/* The partition the otadata entries select, by the rules of esp_ota_get_boot_partition
 * (spec §5.1): both entries invalid or no slots -> the default partition; else the active
 * entry's slot (NULL if that slot is absent); no active entry -> the default partition.
 * This is the app's view: the bootloader also verifies images and may fall back. */
const esp_partition_t *otk_otadata_boot_partition(const otk_partition_table_t *table,
                                                  const esp_ota_select_entry_t entries[2]);

/* "NEW", "PENDING_VERIFY", "VALID", "INVALID", "ABORTED", "UNDEFINED", else "UNKNOWN". */
const char *otk_otadata_state_name(uint32_t state);

#ifdef __cplusplus
}
#endif
#endif
