/* The flash log of a replay: every program and erase with its number, what the device was
 * doing, and the otadata entries as each operation left them. */
#include <inttypes.h>
#include <string.h>

#include "run_internal.h"

#include "otakit/otadata.h"

static const char *phase_name(phase_t phase)
{
    switch (phase) {
    case PHASE_BOOT:
        return "boot";
    case PHASE_APP:
        return "app";
    case PHASE_IDLE:
    default:
        return "-";
    }
}

void flashlog_op(run_t *r, otk_flash_op_t op, uint32_t addr, uint32_t len, esp_err_t result)
{
    if (r->log == NULL) {
        return;
    }
    bool fault = r->armed && r->armed_fault.op == r->flash->physical_ops && result != ESP_OK;
    fprintf(r->log, "#%-5" PRIu64 " %-12s 0x%08x +0x%-5x %-4s %-14s%s", r->flash->physical_ops,
            otk_flash_op_name(op), (unsigned)addr, (unsigned)len, phase_name(r->phase),
            r->action, result == ESP_OK ? "" : " FAILED");
    if (fault) {
        fprintf(r->log, "  <== power cut: %s", sweep_kind_name(r->armed_fault.kind, op));
        if (r->armed_fault.kind == SWEEP_FIELD) {
            fprintf(r->log, " %u", (unsigned)r->armed_fault.variant);
        }
    }
    fputc('\n', r->log);
}

void flashlog_entry(run_t *r, int sector, const uint8_t entry[SWEEP_ENTRY_LEN])
{
    if (r->log == NULL) {
        return;
    }
    esp_ota_select_entry_t e;
    memcpy(&e, entry, sizeof e);
    fprintf(r->log, "       otadata[%d] now: seq 0x%08x state %s (0x%08x) crc 0x%08x %s\n",
            sector, (unsigned)e.ota_seq, otk_otadata_state_name(e.ota_state),
            (unsigned)e.ota_state, (unsigned)e.crc,
            e.ota_seq == OTK_OTADATA_SEQ_EMPTY ? "(empty)"
            : otk_otadata_crc_ok(&e)            ? "(crc ok)"
                                                : "(crc bad)");
}
