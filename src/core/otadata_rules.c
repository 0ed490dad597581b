/* otadata: the pure rules of spec §3 (CRC, validity, selection, seq arithmetic, planning).
 * No flash access here, so the bootloader, the OTA engine and the tools share them. */
#include <string.h>

#include "otakit/crc32.h"
#include "otakit/otadata.h"

uint32_t otk_otadata_crc(uint32_t ota_seq)
{
    /* The seq's little-endian bytes, independent of host byte order. */
    const uint8_t bytes[4] = {(uint8_t)ota_seq, (uint8_t)(ota_seq >> 8),
                              (uint8_t)(ota_seq >> 16), (uint8_t)(ota_seq >> 24)};
    return otk_crc32_update(0xFFFFFFFFu, bytes, sizeof bytes);
}

bool otk_otadata_crc_ok(const esp_ota_select_entry_t *entry)
{
    return entry->crc == otk_otadata_crc(entry->ota_seq);
}

bool otk_otadata_entry_invalid(const esp_ota_select_entry_t *entry)
{
    return entry->ota_seq == OTK_OTADATA_SEQ_EMPTY || entry->ota_state == ESP_OTA_IMG_INVALID ||
           entry->ota_state == ESP_OTA_IMG_ABORTED;
}

bool otk_otadata_entry_valid(const esp_ota_select_entry_t *entry)
{
    return !otk_otadata_entry_invalid(entry) && otk_otadata_crc_ok(entry);
}

bool otk_otadata_entry_present(const esp_ota_select_entry_t *entry)
{
    return entry->ota_seq != OTK_OTADATA_SEQ_EMPTY && otk_otadata_crc_ok(entry);
}

bool otk_otadata_is_initial(const esp_ota_select_entry_t entries[2])
{
    return !otk_otadata_entry_present(&entries[0]) && !otk_otadata_entry_present(&entries[1]);
}

int otk_otadata_select(const esp_ota_select_entry_t entries[2], const bool flagged[2],
                       bool pick_max)
{
    if (flagged[0] && flagged[1]) {
        uint32_t s0 = entries[0].ota_seq, s1 = entries[1].ota_seq;
        if (s0 == s1) {
            return 0;
        }
        return ((s1 > s0) == pick_max) ? 1 : 0;
    }
    if (flagged[0]) {
        return 0;
    }
    if (flagged[1]) {
        return 1;
    }
    return OTK_OTADATA_NONE;
}

int otk_otadata_active(const esp_ota_select_entry_t entries[2])
{
    const bool valid[2] = {otk_otadata_entry_valid(&entries[0]),
                           otk_otadata_entry_valid(&entries[1])};
    return otk_otadata_select(entries, valid, true);
}

uint32_t otk_otadata_slot_of_seq(uint32_t ota_seq, uint32_t n_slots)
{
    return (uint32_t)(ota_seq - 1u) % n_slots;
}

uint64_t otk_otadata_next_seq(uint32_t active_seq, uint32_t slot, uint32_t n_slots)
{
    /* Worked out in 64 bits: near the top of the seq space the 32-bit formula would wrap
     * to a small seq (booting an old slot) or to 0xFFFFFFFF (an "empty" entry). And never
     * seq 0: it passes the CRC check but maps to slot (0 - 1) mod n, which is `slot` only
     * when n divides 2^32; ESP-IDF's formula answers 0 for the last slot when the active
     * seq is 0. */
    uint64_t floor = active_seq > 0 ? active_seq : 1u;
    uint64_t base = (slot + 1u) % n_slots;
    if (base >= floor) {
        return base;
    }
    return base + ((floor - base + n_slots - 1u) / n_slots) * n_slots;
}

void otk_otadata_make_entry(esp_ota_select_entry_t *entry, uint32_t ota_seq, uint32_t state,
                            const uint8_t *label)
{
    entry->ota_seq = ota_seq;
    if (label != NULL) {
        memmove(entry->seq_label, label, sizeof entry->seq_label);
    } else {
        memset(entry->seq_label, 0xFF, sizeof entry->seq_label);
    }
    entry->ota_state = state;
    entry->crc = otk_otadata_crc(ota_seq);
}

esp_err_t otk_otadata_plan_select(const esp_ota_select_entry_t entries[2], uint32_t slot,
                                  uint32_t n_slots, uint32_t state, otk_otadata_rule_t rule,
                                  int *sector, esp_ota_select_entry_t *new_entry)
{
    if (n_slots == 0 || n_slots > OTK_OTADATA_MAX_SLOTS || slot >= n_slots) {
        return ESP_ERR_INVALID_ARG;
    }
    int active = otk_otadata_active(entries);
    if (active == OTK_OTADATA_NONE) {
        /* Nothing to follow: sector 0 starts the sequence at slot + 1. */
        *sector = 0;
        otk_otadata_make_entry(new_entry, slot + 1u, state, entries[0].seq_label);
        return ESP_OK;
    }
    uint32_t active_seq = entries[active].ota_seq;
    if (rule == OTK_OTADATA_RULE_V6 && otk_otadata_slot_of_seq(active_seq, n_slots) == slot) {
        /* Already selected: only the state changes, in place. */
        *sector = active;
        otk_otadata_make_entry(new_entry, active_seq, state, entries[active].seq_label);
        return ESP_OK;
    }
    uint64_t next = otk_otadata_next_seq(active_seq, slot, n_slots);
    if (next >= OTK_OTADATA_SEQ_EMPTY) {
        return ESP_ERR_INVALID_STATE;
    }
    *sector = 1 - active;
    otk_otadata_make_entry(new_entry, (uint32_t)next, state, entries[*sector].seq_label);
    return ESP_OK;
}

const char *otk_otadata_state_name(uint32_t state)
{
    switch (state) {
    case ESP_OTA_IMG_NEW:
        return "NEW";
    case ESP_OTA_IMG_PENDING_VERIFY:
        return "PENDING_VERIFY";
    case ESP_OTA_IMG_VALID:
        return "VALID";
    case ESP_OTA_IMG_INVALID:
        return "INVALID";
    case ESP_OTA_IMG_ABORTED:
        return "ABORTED";
    case ESP_OTA_IMG_UNDEFINED:
        return "UNDEFINED";
    default:
        return "UNKNOWN";
    }
}
