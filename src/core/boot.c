/* otk_boot_run: the bootloader's main line (bootloader_start.c): table, selection, pins,
 * load. Each step lives in its own boot_*.c. */
#include <string.h>

#include "boot_internal.h"

#include "otakit/log.h"

/* Most chips have a 16-bit secure-version field (otk_boot_efuse_default_bits). */
#define BOOT_DEFAULT_EFUSE_BITS 16u

void otk_boot_config_init(otk_boot_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->rollback = true;
    config->anti_rollback = false;
    config->chip_id = OTK_IMAGE_CHIP_ANY;
    config->secure_version_bits = BOOT_DEFAULT_EFUSE_BITS;
}

static bool config_ok(boot_ctx_t *ctx)
{
    const otk_boot_config_t *c = ctx->config;
    if (c->anti_rollback && !c->rollback) {
        boot_fail(ctx, OTK_BOOT_STAGE_ARGS, ESP_ERR_INVALID_ARG,
                  "anti-rollback needs rollback (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK depends "
                  "on CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE)");
        return false;
    }
    if (c->anti_rollback &&
        (c->secure_version_bits == 0 || c->secure_version_bits > OTK_BOOT_EFUSE_MAX_BITS)) {
        boot_fail(ctx, OTK_BOOT_STAGE_ARGS, ESP_ERR_INVALID_ARG,
                  "secure-version eFuse field of %u bits, expected 1 .. %u",
                  (unsigned)c->secure_version_bits, (unsigned)OTK_BOOT_EFUSE_MAX_BITS);
        return false;
    }
    return true;
}

esp_err_t otk_boot_run(otk_flash_t *flash, uint32_t table_offset, otk_boot_config_t *config,
                       otk_boot_result_t *result)
{
    otk_partition_table_t table;
    otk_image_stream_t stream;
    const otk_boot_work_t work = {&table, &stream};
    return otk_boot_run_with(flash, table_offset, config, result, &work);
}

esp_err_t otk_boot_run_with(otk_flash_t *flash, uint32_t table_offset,
                            otk_boot_config_t *config, otk_boot_result_t *result,
                            const otk_boot_work_t *work)
{
    if (result == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(result, 0, sizeof *result);
    result->index = OTK_BOOT_INDEX_INVALID;
    result->selected_index = OTK_BOOT_INDEX_INVALID;

    boot_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.flash = flash;
    ctx.config = config;
    ctx.result = result;
    if (flash == NULL || config == NULL || work == NULL || work->table == NULL ||
        work->stream == NULL) {
        boot_fail(&ctx, OTK_BOOT_STAGE_ARGS, ESP_ERR_INVALID_ARG,
                  "no flash, no config or no working storage");
        return result->err;
    }
    ctx.table = work->table;
    ctx.stream = work->stream;
    if (!config_ok(&ctx)) {
        return result->err;
    }
    OTK_LOGI(BOOT_TAG, "otakit 2nd stage bootloader (table at 0x%x, rollback %s, anti-rollback %s)",
             (unsigned)table_offset, config->rollback ? "on" : "off",
             config->anti_rollback ? "on" : "off");
    if (boot_table_load(&ctx, table_offset) != ESP_OK) {
        return result->err;
    }
    int index = boot_apply_pins(&ctx, boot_select(&ctx));
    if (index == OTK_BOOT_INDEX_INVALID) {
        return result->err;
    }
    result->selected_index = index;
    result->initial_contents = ctx.initial_contents;
    return boot_load(&ctx, index);
}
