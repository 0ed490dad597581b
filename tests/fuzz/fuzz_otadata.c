/* Fuzz the otadata rules: any two 32-byte entries and a slot count. Properties:
 *  - the active entry, if any, is valid and has the largest seq among valid entries;
 *  - the selection a plan writes is the one that then boots: after applying
 *    otk_otadata_plan_select for slot t, the active entry maps to slot t with the new
 *    state, and the entry not written is unchanged. */
#include <stdlib.h>
#include <string.h>

#include "otakit/otadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    esp_ota_select_entry_t e[2];
    if (size < sizeof e + 3) {
        return 0;
    }
    memcpy(e, data, sizeof e);
    uint32_t n = 1u + data[sizeof e] % OTK_OTADATA_MAX_SLOTS;
    uint32_t slot = data[sizeof e + 1] % n;
    static const uint32_t states[] = {ESP_OTA_IMG_NEW, ESP_OTA_IMG_VALID, ESP_OTA_IMG_UNDEFINED};
    uint32_t state = states[data[sizeof e + 2] % 3];
    otk_otadata_rule_t rule = (data[sizeof e + 2] & 0x80) ? OTK_OTADATA_RULE_V5
                                                          : OTK_OTADATA_RULE_V6;

    int active = otk_otadata_active(e);
    if (active != OTK_OTADATA_NONE) {
        if (!otk_otadata_entry_valid(&e[active])) {
            abort();
        }
        int other = 1 - active;
        if (otk_otadata_entry_valid(&e[other]) && e[other].ota_seq > e[active].ota_seq) {
            abort();
        }
    }

    int sector = -1;
    esp_ota_select_entry_t w;
    esp_err_t err = otk_otadata_plan_select(e, slot, n, state, rule, &sector, &w);
    if (err == ESP_ERR_INVALID_STATE) {
        return 0; /* seq space exhausted: refused, nothing to apply */
    }
    if (err != ESP_OK || sector < 0 || sector > 1) {
        abort();
    }
    esp_ota_select_entry_t after[2] = {e[0], e[1]};
    after[sector] = w;
    if (memcmp(&after[1 - sector], &e[1 - sector], sizeof w) != 0) {
        abort();
    }
    int now = otk_otadata_active(after);
    /* v5 may write a seq equal to the active one into the other sector; entry 0 then wins
     * the tie, which may not be the written one: only the v6 rule promises the target. */
    if (rule == OTK_OTADATA_RULE_V6) {
        if (now == OTK_OTADATA_NONE ||
            otk_otadata_slot_of_seq(after[now].ota_seq, n) != slot ||
            after[now].ota_state != state) {
            abort();
        }
    }
    return 0;
}
