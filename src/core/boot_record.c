/* Filling the boot result: refusals, otadata writes, the failure, and names for logs. */
#include <stdarg.h>
#include <string.h>

#include "boot_internal.h"

#include "otakit/log.h"

void boot_record_refusal(boot_ctx_t *ctx, int index, esp_err_t err, const char *reason)
{
    otk_boot_result_t *r = ctx->result;
    if (r->refused_count >= OTK_BOOT_MAX_CANDIDATES) {
        return; /* cannot happen: the walk visits each candidate once */
    }
    otk_boot_refusal_t *f = &r->refused[r->refused_count++];
    memset(f, 0, sizeof *f);
    f->index = index;
    f->err = err;
    const esp_partition_t *p = boot_index_partition(ctx, index);
    if (p != NULL) {
        otk_text_copy(f->label, sizeof f->label, p->label);
        f->address = p->address;
    }
    otk_text_copy(f->reason, sizeof f->reason, reason);
}

esp_err_t boot_write_otadata(boot_ctx_t *ctx, otk_boot_write_kind_t kind, int sector,
                             const esp_ota_select_entry_t *entry)
{
    esp_ota_select_entry_t copy = *entry;
    esp_err_t err = otk_otadata_write(ctx->otadata, sector, &copy);
    if (err != ESP_OK) {
        /* write_otadata logs and carries on: the boot does not depend on the write. */
        OTK_LOGE(BOOT_TAG, "Error in write_otadata operation. err = 0x%x", (unsigned)err);
    }
    otk_boot_result_t *r = ctx->result;
    if (r->write_count < OTK_BOOT_MAX_OTADATA_WRITES) {
        otk_boot_otadata_write_t *w = &r->writes[r->write_count++];
        w->kind = kind;
        w->sector = sector;
        w->entry = copy;
        w->err = err;
    }
    return err;
}

void boot_fail_code(boot_ctx_t *ctx, otk_boot_stage_t stage, esp_err_t err)
{
    otk_boot_result_t *r = ctx->result;
    r->err = err;
    r->stage = stage;
    otk_diag_clear(&r->diag);
}

#if OTK_CONFIG_DIAG_TEXT
void boot_fail(boot_ctx_t *ctx, otk_boot_stage_t stage, esp_err_t err, const char *fmt, ...)
{
    boot_fail_code(ctx, stage, err);
    va_list ap;
    va_start(ap, fmt);
    otk_diag_vformat(ctx->result->diag.msg, sizeof ctx->result->diag.msg, fmt, ap);
    va_end(ap);
}
#endif

bool boot_power_lost(const boot_ctx_t *ctx)
{
    return !otk_flash_is_powered(ctx->flash);
}

const char *otk_boot_index_name(int index)
{
    static const char *const slot_names[OTK_OTADATA_MAX_SLOTS] = {
        "ota_0", "ota_1", "ota_2",  "ota_3",  "ota_4",  "ota_5",  "ota_6",  "ota_7",
        "ota_8", "ota_9", "ota_10", "ota_11", "ota_12", "ota_13", "ota_14", "ota_15",
    };
    if (index >= 0 && (unsigned)index < OTK_OTADATA_MAX_SLOTS) {
        return slot_names[index];
    }
    if (index == OTK_BOOT_INDEX_FACTORY) {
        return "factory";
    }
    if (index == OTK_BOOT_INDEX_TEST) {
        return "test";
    }
    return "invalid";
}

const char *otk_boot_stage_name(otk_boot_stage_t stage)
{
    switch (stage) {
    case OTK_BOOT_STAGE_NONE:
        return "none";
    case OTK_BOOT_STAGE_ARGS:
        return "args";
    case OTK_BOOT_STAGE_TABLE:
        return "table";
    case OTK_BOOT_STAGE_OTADATA:
        return "otadata";
    case OTK_BOOT_STAGE_SELECT:
        return "select";
    case OTK_BOOT_STAGE_LOAD:
        return "load";
    }
    return "?";
}

const char *otk_boot_write_kind_name(otk_boot_write_kind_t kind)
{
    switch (kind) {
    case OTK_BOOT_WRITE_ABORTED:
        return "aborted";
    case OTK_BOOT_WRITE_PENDING_VERIFY:
        return "pending_verify";
    case OTK_BOOT_WRITE_INITIAL:
        return "initial";
    }
    return "?";
}
