/* Field tears of otadata operations.
 *
 * The emulator's torn program clears a random subset of the bits a page program would
 * clear (each bit a coin toss), its partial erase sets a random subset. For the 32-byte
 * otadata entry that almost never produces the dangerous outcomes: a seq and CRC that
 * check out with a state that is neither the old nor the new one needs dozens of coin
 * tosses to land the same way. A real chip is not a fair coin (bytes and words of a page
 * are often programmed, or left, together), so the sweep enumerates those outcomes
 * instead of hoping to sample them:
 *
 *   - every mix of the entry's fields (seq, label, state, crc) that the operation changes,
 *     each either done or not done;
 *   - the state field left at every named state (NEW, PENDING_VERIFY, VALID, INVALID,
 *     ABORTED, UNDEFINED) and one unnamed value that a partial program or erase can reach
 *     from the old value on the way to the new one, with the other changed fields all
 *     done, and all not done.
 *
 * A value v is reachable when it agrees with the old and the new value wherever they
 * agree (programs only clear bits, erases only set them, a tear stops anywhere between).
 * The fault is armed as "cut after" in the emulator; when it fires, the operation's result
 * is replaced by the tear through the backend, behind the emulator's back. */
#include <stdio.h>
#include <string.h>

#include "run_internal.h"

#include "otakit/otadata.h"

typedef struct {
    uint8_t off, len;
    const char *name;
} field_t;

static const field_t FIELDS[] = {{0, 4, "seq"}, {4, 20, "label"}, {24, 4, "state"},
                                 {28, 4, "crc"}};
#define FIELD_COUNT (sizeof FIELDS / sizeof FIELDS[0])
#define FIELD_STATE 2u

static const uint32_t NAMED_STATES[] = {
    ESP_OTA_IMG_NEW,     ESP_OTA_IMG_PENDING_VERIFY, ESP_OTA_IMG_VALID,
    ESP_OTA_IMG_INVALID, ESP_OTA_IMG_ABORTED,        ESP_OTA_IMG_UNDEFINED,
};
#define NAMED_COUNT (sizeof NAMED_STATES / sizeof NAMED_STATES[0])

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static bool reachable(uint32_t v, uint32_t from, uint32_t to)
{
    return ((v ^ from) & ~(from ^ to)) == 0;
}

static bool named(uint32_t v)
{
    for (size_t i = 0; i < NAMED_COUNT; i++) {
        if (NAMED_STATES[i] == v) {
            return true;
        }
    }
    return false;
}

/* A reachable state value that is no named state: the changed bits' highest one, or
 * lowest one, on top of the common bits. 0 with *ok false when there is none. */
static uint32_t unnamed_state(uint32_t from, uint32_t to, bool *ok)
{
    uint32_t common = from & to;
    uint32_t free_bits = from ^ to;
    *ok = false;
    for (int bit = 31; bit >= 0; bit--) {
        uint32_t v = common | (free_bits & (1u << bit));
        if ((free_bits & (1u << bit)) != 0 && !named(v) && v != from && v != to) {
            *ok = true;
            return v;
        }
    }
    return 0;
}

/* The state values a tear can leave, other than the old and the new one. */
static size_t state_values(uint32_t from, uint32_t to, uint32_t out[NAMED_COUNT + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < NAMED_COUNT; i++) {
        uint32_t v = NAMED_STATES[i];
        if (v != from && v != to && reachable(v, from, to)) {
            out[n++] = v;
        }
    }
    bool ok;
    uint32_t v = unnamed_state(from, to, &ok);
    if (ok) {
        out[n++] = v;
    }
    return n;
}

static void describe(char *desc, size_t cap, unsigned mask, unsigned changed, bool with_state,
                     uint32_t state)
{
    if (desc == NULL) {
        return;
    }
    size_t used = 0;
    desc[0] = '\0';
    for (unsigned f = 0; f < FIELD_COUNT; f++) {
        if ((changed & (1u << f)) == 0 || (with_state && f == FIELD_STATE)) {
            continue;
        }
        int n = snprintf(desc + used, cap - used, "%s%s %s", used > 0 ? ", " : "",
                         FIELDS[f].name, (mask & (1u << f)) != 0 ? "done" : "not done");
        if (n < 0 || (size_t)n >= cap - used) {
            return;
        }
        used += (size_t)n;
    }
    if (with_state) {
        snprintf(desc + used, cap - used, "%sstate torn to %s (0x%08x)", used > 0 ? ", " : "",
                 otk_otadata_state_name(state), (unsigned)state);
    }
}

static void compose(const uint8_t b[SWEEP_ENTRY_LEN], const uint8_t d[SWEEP_ENTRY_LEN],
                    unsigned mask, uint8_t out[SWEEP_ENTRY_LEN])
{
    memcpy(out, b, SWEEP_ENTRY_LEN);
    for (unsigned f = 0; f < FIELD_COUNT; f++) {
        if ((mask & (1u << f)) != 0) {
            memcpy(out + FIELDS[f].off, d + FIELDS[f].off, FIELDS[f].len);
        }
    }
}

size_t tear_variants(const uint8_t b[SWEEP_ENTRY_LEN], const uint8_t d[SWEEP_ENTRY_LEN],
                     size_t want, uint8_t out[SWEEP_ENTRY_LEN], char *desc, size_t cap)
{
    unsigned changed = 0;
    unsigned count_changed = 0;
    for (unsigned f = 0; f < FIELD_COUNT; f++) {
        if (memcmp(b + FIELDS[f].off, d + FIELDS[f].off, FIELDS[f].len) != 0) {
            changed |= 1u << f;
            count_changed++;
        }
    }
    size_t n = 0;
    /* Every proper, non-empty subset of the changed fields done: walk all masks, keep
     * those inside `changed`. */
    for (unsigned mask = 1; mask < (1u << FIELD_COUNT); mask++) {
        if ((mask & ~changed) != 0 || mask == changed) {
            continue;
        }
        if (n++ == want) {
            compose(b, d, mask, out);
            describe(desc, cap, mask, changed, false, 0);
        }
    }
    if ((changed & (1u << FIELD_STATE)) == 0) {
        return n;
    }
    uint32_t from = le32(b + FIELDS[FIELD_STATE].off);
    uint32_t to = le32(d + FIELDS[FIELD_STATE].off);
    uint32_t values[NAMED_COUNT + 1];
    size_t nv = state_values(from, to, values);
    /* Other changed fields all done, then (when there are any) all not done. */
    unsigned others = changed & ~(1u << FIELD_STATE);
    unsigned masks[2] = {others, 0};
    size_t nmasks = count_changed > 1 ? 2 : 1;
    for (size_t m = 0; m < nmasks; m++) {
        for (size_t i = 0; i < nv; i++) {
            if (n++ == want) {
                compose(b, d, masks[m], out);
                put_le32(out + FIELDS[FIELD_STATE].off, values[i]);
                describe(desc, cap, masks[m], changed, true, values[i]);
            }
        }
    }
    return n;
}

/* ---- in a run ------------------------------------------------------------------------- */

static uint32_t entry_addr(const run_t *r, int sector)
{
    return r->fx->otadata_addr + (uint32_t)sector * OTK_OTADATA_SECTOR_SIZE;
}

static void backend_read(run_t *r, uint32_t addr, uint8_t *dst, size_t len)
{
    if (r->flash->backend->read(r->flash->backend_ctx, addr, dst, len) != ESP_OK) {
        run_fail(r, "sweep: the flash backend cannot read 0x%x", (unsigned)addr);
    }
}

void tear_init(run_t *r)
{
    for (int s = 0; s < OTK_OTADATA_ENTRIES; s++) {
        backend_read(r, entry_addr(r, s), r->shadow[s], SWEEP_ENTRY_LEN);
    }
}

bool tear_pending(const run_t *r)
{
    for (int s = 0; s < OTK_OTADATA_ENTRIES; s++) {
        esp_ota_select_entry_t e;
        memcpy(&e, r->shadow[s], sizeof e);
        if (otk_otadata_entry_present(&e) && e.ota_state == ESP_OTA_IMG_PENDING_VERIFY) {
            return true;
        }
    }
    return false;
}

size_t tear_on_op(run_t *r, otk_flash_op_t op, uint32_t addr, uint32_t len, bool fire)
{
    size_t variants = 0;
    for (int s = 0; s < OTK_OTADATA_ENTRIES; s++) {
        uint32_t e = entry_addr(r, s);
        if (!(addr < e + SWEEP_ENTRY_LEN && e < addr + len)) {
            continue;
        }
        uint8_t done[SWEEP_ENTRY_LEN];
        backend_read(r, e, done, sizeof done);
        uint8_t torn[SWEEP_ENTRY_LEN];
        char desc[160];
        variants = tear_variants(r->shadow[s], done, SIZE_MAX, torn, NULL, 0);
        if (fire) {
            size_t v = r->armed_fault.variant;
            if (v < variants) {
                tear_variants(r->shadow[s], done, v, torn, desc, sizeof desc);
                if (r->flash->backend->write(r->flash->backend_ctx, e, torn, sizeof torn) !=
                    ESP_OK) {
                    run_fail(r, "sweep: the flash backend cannot write 0x%x", (unsigned)e);
                }
                memcpy(done, torn, sizeof done);
                run_note(r, "tear: %s %s", otk_flash_op_name(op), desc);
            } else {
                run_note(r, "tear: the operation has %zu field tears, not %zu: left done",
                         variants, v + 1);
            }
        }
        memcpy(r->shadow[s], done, sizeof done);
        flashlog_entry(r, s, done);
    }
    return variants;
}
