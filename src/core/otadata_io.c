/* otadata on flash: read both entries, rewrite one sector (erase 4 KiB, program 32 bytes).
 *
 * The order of a rewrite (docs/power-loss.md). ESP-IDF's CRC covers only the seq, so an
 * entry whose seq and CRC survive a torn program or a partial erase is a valid entry,
 * whatever its state field then holds: a torn NEW can read VALID (no trial), a partially
 * erased ABORTED can read UNDEFINED (the rejected app selected again, never rolled back).
 * ESP-IDF erases the sector and programs the 32 bytes in one go; otakit writes the same
 * bytes in an order where, whenever the power goes, the sector holds the old entry
 * exactly, no entry (a CRC that does not match its seq), or the new entry exactly:
 *   1. retire the old entry, if there is one: program its CRC field to 0 (no partial
 *      erase can then bring seq and CRC back together: the seq can only rise towards
 *      0xFFFFFFFF, "empty", the CRC only towards 0xFFFFFFFF, which is the CRC of seq 0
 *      alone). The one seq whose CRC is already 0 (0x9226F562) loses its lowest set bit
 *      instead;
 *   2. erase the sector;
 *   3. program everything but the CRC: cut short, the CRC reads 0xFFFFFFFF, which matches
 *      only seq 0, which is never written;
 *   4. program the CRC, alone: cut short, it still has 1 bits the right one has not, so
 *      it matches nothing.
 * The finished sector is byte for byte what ESP-IDF writes. The cost is one or two more
 * page programs per rewrite (about 0.8 ms of a 45 ms sector erase). */
#include <stddef.h>
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

#define ENTRY_SEQ_OFFSET offsetof(esp_ota_select_entry_t, ota_seq)
#define ENTRY_CRC_OFFSET offsetof(esp_ota_select_entry_t, crc)

static void put_le32(uint8_t out[4], uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(v >> (8 * i));
    }
}

static bool all_erased(const uint8_t *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (bytes[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* Step 1: make the sector's entry `e` (as just read), if it is one, fail its CRC check
 * for good. */
static esp_err_t retire_known(const esp_partition_t *part, int sector,
                              const esp_ota_select_entry_t *e)
{
    if (!otk_otadata_entry_present(e)) {
        return ESP_OK;
    }
    uint32_t addr = sector_addr(part, sector);
    uint8_t field[4];
    if (e->crc != 0) {
        put_le32(field, 0);
        return otk_flash_program(part->flash_chip, addr + ENTRY_CRC_OFFSET, field, sizeof field);
    }
    /* seq 0x9226F562: its CRC is 0 already. Its lowest set bit cleared gives a seq (not 0,
     * not the CRC-0 one) whose CRC is not 0. */
    put_le32(field, e->ota_seq & (e->ota_seq - 1u));
    return otk_flash_program(part->flash_chip, addr + ENTRY_SEQ_OFFSET, field, sizeof field);
}

/* Step 1 for a sector whose entry the caller has not read. */
static esp_err_t retire_entry(const esp_partition_t *part, int sector)
{
    esp_ota_select_entry_t e;
    esp_err_t err = otk_flash_read(part->flash_chip, sector_addr(part, sector), &e, sizeof e);
    return err != ESP_OK ? err : retire_known(part, sector, &e);
}

/* Steps 3 and 4 on an erased sector: everything but the CRC, then the CRC. A part that is
 * all 0xFF changes nothing and is not programmed. */
static esp_err_t program_entry(const esp_partition_t *part, int sector,
                               const esp_ota_select_entry_t *entry)
{
    uint8_t bytes[sizeof *entry];
    memcpy(bytes, entry, sizeof bytes);
    uint32_t addr = sector_addr(part, sector);
    esp_err_t err = ESP_OK;
    if (!all_erased(bytes, ENTRY_CRC_OFFSET)) {
        err = otk_flash_program(part->flash_chip, addr, bytes, ENTRY_CRC_OFFSET);
    }
    if (err == ESP_OK && !all_erased(bytes + ENTRY_CRC_OFFSET, sizeof bytes - ENTRY_CRC_OFFSET)) {
        err = otk_flash_program(part->flash_chip, addr + ENTRY_CRC_OFFSET,
                                bytes + ENTRY_CRC_OFFSET, sizeof bytes - ENTRY_CRC_OFFSET);
    }
    return err;
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

static esp_err_t check_sector(const esp_partition_t *part, int sector)
{
    esp_err_t err = check_part(part);
    if (err == ESP_OK && (sector < 0 || sector >= OTK_OTADATA_ENTRIES)) {
        err = ESP_ERR_INVALID_ARG;
    }
    return err;
}

esp_err_t otk_otadata_erase_sector(const esp_partition_t *part, int sector)
{
    esp_err_t err = check_sector(part, sector);
    if (err == ESP_OK) {
        err = retire_entry(part, sector);
    }
    if (err == ESP_OK) {
        err = otk_flash_erase(part->flash_chip, sector_addr(part, sector), OTK_OTADATA_SECTOR_SIZE);
    }
    return err;
}

/* Steps 1-4; `current` is the sector's entry as the caller read it, or NULL (read here). */
static esp_err_t rewrite(const esp_partition_t *part, int sector,
                         const esp_ota_select_entry_t *current,
                         const esp_ota_select_entry_t *entry)
{
    /* Copy first: entry may point into a buffer the caller filled from this very sector. */
    esp_ota_select_entry_t copy = *entry;
    esp_err_t err = check_sector(part, sector);
    if (err == ESP_OK) {
        err = current != NULL ? retire_known(part, sector, current) : retire_entry(part, sector);
    }
    if (err == ESP_OK) {
        err = otk_flash_erase(part->flash_chip, sector_addr(part, sector), OTK_OTADATA_SECTOR_SIZE);
    }
    if (err == ESP_OK) {
        err = program_entry(part, sector, &copy);
    }
    if (err != ESP_OK) {
        OTK_LOGE(TAG, "writing otadata sector %d (seq %u, state %s) failed: %s", sector,
                 (unsigned)copy.ota_seq, otk_otadata_state_name(copy.ota_state),
                 esp_err_to_name(err));
    }
    return err;
}

esp_err_t otk_otadata_write(const esp_partition_t *part, int sector,
                            const esp_ota_select_entry_t *entry)
{
    return rewrite(part, sector, NULL, entry);
}

esp_err_t otk_otadata_erase(const esp_partition_t *part)
{
    esp_err_t err = check_part(part);
    /* Both entries retired before either sector is erased: from the first program on,
     * neither can select anything again, however the erases end. */
    for (int s = 0; err == ESP_OK && s < OTK_OTADATA_ENTRIES; s++) {
        err = retire_entry(part, s);
    }
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
    if (err == ESP_ERR_INVALID_STATE) {
        /* The only way planning fails on good arguments: say which seq ran out. */
        int active = otk_otadata_active(entries);
        OTK_LOGE(TAG, "cannot select slot %u of %u: the next seq after the active 0x%08x "
                 "would reach 0xFFFFFFFF (the erased value): the seq space is used up",
                 (unsigned)slot, (unsigned)n_slots,
                 active != OTK_OTADATA_NONE ? (unsigned)entries[active].ota_seq : 0u);
        return err;
    }
    if (err != ESP_OK) {
        OTK_LOGE(TAG, "cannot select slot %u of %u: %s", (unsigned)slot, (unsigned)n_slots,
                 esp_err_to_name(err));
        return err;
    }
    err = rewrite(part, sector, &entries[sector], &entry);
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
    return rewrite(part, sector, &entries[sector], &entry);
}
