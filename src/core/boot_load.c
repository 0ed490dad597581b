/* Loading with fallback (spec §4.2, bootloader_utility_load_boot_image): from the selected
 * index down to slot 0, then the factory app, then up from the selected index to the last
 * slot, then the test app; the first candidate that passes anti-rollback and a full image
 * verification runs. The walk never writes otadata, except the initial entry when otadata
 * was blank. */
#include <string.h>

#include "boot_internal.h"

#include "otakit/log.h"

/* Load addresses below this are not loaded anywhere (0 marks a padding segment, 4 is
 * reserved), so ESP-IDF's segment line names no memory for them. */
#define BOOT_NOT_LOADED_LIMIT 0x10000000u

typedef enum {
    TRY_BOOTED,
    TRY_REFUSED,
    TRY_POWER_LOST,
} try_outcome_t;

static void verify_opts(const boot_ctx_t *ctx, otk_image_verify_opts_t *o)
{
    otk_image_verify_opts_init(o);
    o->kind = OTK_IMAGE_APP;
    o->chip_id = ctx->config->chip_id;
    o->check_chip_rev = ctx->config->check_chip_rev;
    o->chip_rev = ctx->config->chip_rev;
    o->secure_boot = ctx->config->secure_boot;
}

/* esp_image's "segment N: paddr=... vaddr=... size=...h (...) map|load" lines. */
static void log_segments(const esp_partition_t *p, const otk_image_info_t *info)
{
    for (unsigned i = 0; i < info->segments_read && i < OTK_IMAGE_MAX_SEGMENTS; i++) {
        const otk_image_segment_info_t *s = &info->segments[i];
        const char *how = s->mapped                            ? "map"
                          : s->load_addr < BOOT_NOT_LOADED_LIMIT ? ""
                                                                 : "load";
        OTK_LOGI(BOOT_IMAGE_TAG, "segment %u: paddr=%08x vaddr=%08x size=%05xh (%6u) %s", i,
                 (unsigned)(p->address + s->data_offset), (unsigned)s->load_addr,
                 (unsigned)s->data_len, (unsigned)s->data_len, how);
    }
}

/* log_invalid_app_partition */
static void log_not_bootable(int index)
{
    if (index == OTK_BOOT_INDEX_FACTORY) {
        OTK_LOGE(BOOT_TAG, "Factory app partition is not bootable");
    } else if (index == OTK_BOOT_INDEX_TEST) {
        OTK_LOGE(BOOT_TAG, "Factory test app partition is not bootable");
    } else {
        OTK_LOGE(BOOT_TAG, "OTA app partition slot %d is not bootable", index);
    }
}

static try_outcome_t refuse(boot_ctx_t *ctx, int index, esp_err_t err, const char *reason)
{
    if (boot_power_lost(ctx)) {
        boot_fail(ctx, OTK_BOOT_STAGE_LOAD, ESP_ERR_FLASH_OP_FAIL,
                  "power lost while loading %s: %s", otk_boot_index_name(index), reason);
        return TRY_POWER_LOST;
    }
    boot_record_refusal(ctx, index, err, reason);
    log_not_bootable(index);
    return TRY_REFUSED;
}

/* One candidate: absent partitions are skipped (recorded only when it is the selected
 * one, so the result says why the selection did not run). */
static try_outcome_t try_candidate(boot_ctx_t *ctx, int index, bool selected)
{
    const esp_partition_t *p = boot_index_partition(ctx, index);
    if (p == NULL) {
        if (selected) {
            boot_record_refusal(ctx, index, ESP_ERR_NOT_FOUND, "absent");
        }
        return TRY_REFUSED;
    }
    OTK_LOGD(BOOT_TAG, "Trying partition index %d offs 0x%x size 0x%x", index,
             (unsigned)p->address, (unsigned)p->size);
    esp_err_t err = ESP_OK;
    otk_diag_t why;
    otk_diag_clear(&why);
    if (!boot_anti_rollback_ok(ctx, index, &err, &why)) {
        OTK_LOGW(BOOT_TAG, "%s at 0x%x: %s", p->label, (unsigned)p->address, why.msg);
        return refuse(ctx, index, err, why.msg);
    }
    otk_image_verify_opts_t opts;
    verify_opts(ctx, &opts);
    otk_image_info_t *info = &ctx->result->image;
    memset(info, 0, sizeof *info);
    err = otk_image_verify_flash_with(ctx->flash, p->address, p->size, &opts, info, &why,
                                      ctx->stream);
    log_segments(p, info);
    if (err != ESP_OK) {
        OTK_LOGE(BOOT_IMAGE_TAG, "%s", why.msg);
        return refuse(ctx, index, err, why.msg);
    }
    OTK_LOGI(BOOT_TAG, "Loaded app from partition at offset 0x%x", (unsigned)p->address);
    return TRY_BOOTED;
}

/* set_actual_ota_seq: blank otadata and an OTA slot booted, so write the entry that makes
 * that slot the selection: the device then behaves as if it had been set all along. */
static try_outcome_t write_initial(boot_ctx_t *ctx, int index)
{
    if (index < 0 || !ctx->initial_contents) {
        return TRY_BOOTED;
    }
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, (uint32_t)index + 1u, ESP_OTA_IMG_VALID, NULL);
    OTK_LOGI(BOOT_TAG, "Set actual ota_seq=%u in otadata[0]", (unsigned)e.ota_seq);
    if (ctx->config->anti_rollback && ctx->result->image.has_app_desc) {
        boot_anti_rollback_raise(ctx, ctx->result->image.app_desc.secure_version);
    }
    if (boot_write_otadata(ctx, OTK_BOOT_WRITE_INITIAL, 0, &e) != ESP_OK &&
        boot_power_lost(ctx)) {
        boot_fail(ctx, OTK_BOOT_STAGE_LOAD, ESP_ERR_FLASH_OP_FAIL,
                  "power lost writing the initial otadata entry for %s",
                  otk_boot_index_name(index));
        return TRY_POWER_LOST;
    }
    return TRY_BOOTED;
}

static esp_err_t booted(boot_ctx_t *ctx, int index)
{
    otk_boot_result_t *r = ctx->result;
    if (write_initial(ctx, index) != TRY_BOOTED) {
        return r->err;
    }
    r->index = index;
    r->partition = *boot_index_partition(ctx, index);
    r->err = ESP_OK;
    r->stage = OTK_BOOT_STAGE_NONE;
    return ESP_OK;
}

static esp_err_t nothing_bootable(boot_ctx_t *ctx, const char *what)
{
    otk_boot_result_t *r = ctx->result;
    memset(&r->image, 0, sizeof r->image);
    boot_fail(ctx, OTK_BOOT_STAGE_LOAD, ESP_ERR_NOT_FOUND, "%s (%u candidates refused)", what,
              (unsigned)r->refused_count);
    return r->err;
}

esp_err_t boot_load(boot_ctx_t *ctx, int start)
{
    try_outcome_t t;
    if (start == OTK_BOOT_INDEX_TEST) {
        t = try_candidate(ctx, OTK_BOOT_INDEX_TEST, true);
        if (t == TRY_BOOTED) {
            return booted(ctx, OTK_BOOT_INDEX_TEST);
        }
        if (t == TRY_POWER_LOST) {
            return ctx->result->err;
        }
        OTK_LOGE(BOOT_TAG, "No bootable test partition in the partition table");
        return nothing_bootable(ctx, "the test app is not bootable");
    }
    /* Down from the selection to ota_0, then factory: older apps first. */
    for (int i = start; i >= OTK_BOOT_INDEX_FACTORY; i--) {
        t = try_candidate(ctx, i, i == start);
        if (t == TRY_BOOTED) {
            return booted(ctx, i);
        }
        if (t == TRY_POWER_LOST) {
            return ctx->result->err;
        }
    }
    /* Then the slots above the selection. */
    for (int i = start + 1; i < (int)ctx->app_count; i++) {
        t = try_candidate(ctx, i, false);
        if (t == TRY_BOOTED) {
            return booted(ctx, i);
        }
        if (t == TRY_POWER_LOST) {
            return ctx->result->err;
        }
    }
    t = try_candidate(ctx, OTK_BOOT_INDEX_TEST, false);
    if (t == TRY_BOOTED) {
        OTK_LOGW(BOOT_TAG, "Falling back to test app as only bootable partition");
        return booted(ctx, OTK_BOOT_INDEX_TEST);
    }
    if (t == TRY_POWER_LOST) {
        return ctx->result->err;
    }
    OTK_LOGE(BOOT_TAG, "No bootable app partitions in the partition table");
    return nothing_bootable(ctx, "no bootable app partitions in the partition table");
}
