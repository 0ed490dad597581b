/* Field tears for the power-loss tests (the model of tools/otakit-sweep/tear.c, kept
 * small): an operation on an otadata entry is replaced by a mix of the entry before it
 * (b) and after it (d):
 *   - every proper, non-empty subset of the changed fields (seq, label, state, crc) done;
 *   - the state field at every named state, and one unnamed value, that a partial program
 *     or erase can reach from b on the way to d (bits where b and d agree stay), with the
 *     other changed fields all done, and all not done.
 * A tracer on the flash keeps the entry as of the last operation and swaps in tear
 * `variant` when operation `fire_at` (armed as a cut-after fault) happens. */
#ifndef TEST_POWER_TEAR_H
#define TEST_POWER_TEAR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "otakit/flash.h"
#include "otakit/otadata.h"

#define PT_ENTRY 32u
#define PT_FIELDS 4u
#define PT_STATE 2u /* index of the state field */

static const uint8_t PT_OFF[PT_FIELDS] = {0, 4, 24, 28};
static const uint8_t PT_LEN[PT_FIELDS] = {4, 20, 4, 4};
static const uint32_t PT_NAMED[] = {ESP_OTA_IMG_NEW,     ESP_OTA_IMG_PENDING_VERIFY,
                                    ESP_OTA_IMG_VALID,   ESP_OTA_IMG_INVALID,
                                    ESP_OTA_IMG_ABORTED, ESP_OTA_IMG_UNDEFINED};
#define PT_NAMED_COUNT (sizeof PT_NAMED / sizeof PT_NAMED[0])

static inline uint32_t pt_le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The state values a tear can leave between from and to, other than both. */
static inline size_t pt_states(uint32_t from, uint32_t to, uint32_t out[PT_NAMED_COUNT + 1])
{
    size_t n = 0;
    uint32_t fixed = ~(from ^ to);
    for (size_t i = 0; i < PT_NAMED_COUNT; i++) {
        uint32_t v = PT_NAMED[i];
        if (v != from && v != to && ((v ^ from) & fixed) == 0) {
            out[n++] = v;
        }
    }
    for (int bit = 31; bit >= 0; bit--) {
        uint32_t v = (from & to) | ((from ^ to) & (1u << bit));
        bool named = false;
        for (size_t i = 0; i < PT_NAMED_COUNT; i++) {
            named = named || PT_NAMED[i] == v;
        }
        if (((from ^ to) & (1u << bit)) != 0 && !named && v != from && v != to) {
            out[n++] = v;
            break;
        }
    }
    return n;
}

/* How many tears turn b into d; fills out with tear `want` when it exists. */
static inline size_t pt_tears(const uint8_t *b, const uint8_t *d, size_t want, uint8_t *out)
{
    unsigned changed = 0;
    for (unsigned f = 0; f < PT_FIELDS; f++) {
        changed |= (unsigned)(memcmp(b + PT_OFF[f], d + PT_OFF[f], PT_LEN[f]) != 0) << f;
    }
    size_t n = 0;
    unsigned masks[(1u << PT_FIELDS) + 2];
    size_t nmasks = 0;
    for (unsigned m = 1; m < (1u << PT_FIELDS); m++) {
        if ((m & ~changed) == 0 && m != changed) {
            masks[nmasks++] = m;
        }
    }
    uint32_t states[PT_NAMED_COUNT + 1];
    size_t nstates = 0;
    unsigned others = changed & ~(1u << PT_STATE);
    if ((changed & (1u << PT_STATE)) != 0) {
        nstates = pt_states(pt_le32(b + PT_OFF[PT_STATE]), pt_le32(d + PT_OFF[PT_STATE]),
                            states);
    }
    size_t state_masks = others != 0 ? 2 : 1;
    size_t total = nmasks + nstates * state_masks;
    if (want >= total) {
        return total;
    }
    unsigned mask;
    bool set_state = want >= nmasks;
    if (!set_state) {
        mask = masks[want];
    } else {
        n = want - nmasks;
        mask = n / nstates == 0 ? others : 0;
    }
    memcpy(out, b, PT_ENTRY);
    for (unsigned f = 0; f < PT_FIELDS; f++) {
        if ((mask & (1u << f)) != 0) {
            memcpy(out + PT_OFF[f], d + PT_OFF[f], PT_LEN[f]);
        }
    }
    if (set_state) {
        uint32_t v = states[n % nstates];
        for (int i = 0; i < 4; i++) {
            out[PT_OFF[PT_STATE] + i] = (uint8_t)(v >> (8 * i));
        }
    }
    return total;
}

typedef struct {
    otk_flash_t *flash;
    uint32_t entries[2];   /* addresses of the two entries */
    uint8_t last[2][PT_ENTRY];
    uint64_t fire_at;      /* physical op to tear (armed as CUT_AFTER); 0: none */
    size_t variant;
    size_t fired_variants; /* how many tears the fired operation had */
    bool otadata_op[512];  /* [op]: the operation touched an entry (op < 512) */
} pt_tracer_t;

static inline void pt_trace(void *ctx, otk_flash_op_t op, uint32_t addr, uint32_t len,
                            esp_err_t result)
{
    (void)result;
    pt_tracer_t *t = ctx;
    if (op == OTK_FLASH_OP_READ) {
        return;
    }
    uint64_t n = t->flash->physical_ops;
    for (int s = 0; s < 2; s++) {
        uint32_t e = t->entries[s];
        if (!(addr < e + PT_ENTRY && e < addr + len)) {
            continue;
        }
        if (n < sizeof t->otadata_op) {
            t->otadata_op[n] = true;
        }
        uint8_t d[PT_ENTRY];
        t->flash->backend->read(t->flash->backend_ctx, e, d, sizeof d);
        if (n == t->fire_at) {
            uint8_t torn[PT_ENTRY];
            t->fired_variants = pt_tears(t->last[s], d, t->variant, torn);
            if (t->variant < t->fired_variants) {
                t->flash->backend->write(t->flash->backend_ctx, e, torn, sizeof torn);
                memcpy(d, torn, sizeof d);
            }
        }
        memcpy(t->last[s], d, sizeof d);
    }
}

/* Start tracing (the entries as they are now). */
static inline void pt_attach(pt_tracer_t *t, otk_flash_t *flash, uint32_t otadata_addr)
{
    memset(t, 0, sizeof *t);
    t->flash = flash;
    for (int s = 0; s < 2; s++) {
        t->entries[s] = otadata_addr + (uint32_t)s * OTK_OTADATA_SECTOR_SIZE;
        flash->backend->read(flash->backend_ctx, t->entries[s], t->last[s], PT_ENTRY);
    }
    otk_flash_set_trace(flash, pt_trace, t);
}

#endif
