/* Anti-rollback in the bootloader: the app's secure_version against the eFuse (spec §4.4).
 * As in ESP-IDF the check reads only the app description (bootloader_common_get_partition_
 * description), not the whole image: it runs before the image is loaded and verified. */
#include <stdio.h>

#include "boot_internal.h"

#include "otakit/log.h"

static size_t cache_slot(int index)
{
    if (index == OTK_BOOT_INDEX_FACTORY) {
        return BOOT_CACHE_FACTORY;
    }
    if (index == OTK_BOOT_INDEX_TEST) {
        return BOOT_CACHE_TEST;
    }
    return (size_t)index;
}

static esp_err_t read_desc(boot_ctx_t *ctx, const esp_partition_t *part, uint32_t *version)
{
    if (part->size < OTK_IMAGE_DESC_OFFSET + sizeof(esp_app_desc_t)) {
        return ESP_ERR_NOT_FOUND;
    }
    uint8_t raw[sizeof(esp_app_desc_t)];
    esp_err_t err = otk_flash_read(ctx->flash, part->address + OTK_IMAGE_DESC_OFFSET, raw,
                                   sizeof raw);
    if (err != ESP_OK) {
        return err;
    }
    esp_app_desc_t desc;
    otk_image_app_desc_decode(raw, &desc);
    if (desc.magic_word != ESP_APP_DESC_MAGIC_WORD) {
        return ESP_ERR_NOT_FOUND;
    }
    *version = desc.secure_version;
    return ESP_OK;
}

esp_err_t boot_app_secure_version(boot_ctx_t *ctx, int index, uint32_t *secure_version)
{
    const esp_partition_t *part = boot_index_partition(ctx, index);
    if (part == NULL) { /* also every index without a cache slot */
        return ESP_ERR_NOT_FOUND;
    }
    boot_desc_t *d = &ctx->desc[cache_slot(index)];
    if (!d->read) {
        d->err = read_desc(ctx, part, &d->secure_version);
        d->read = true;
    }
    if (d->err == ESP_OK) {
        *secure_version = d->secure_version;
    }
    return d->err;
}

bool boot_anti_rollback_ok(boot_ctx_t *ctx, int index, esp_err_t *err, otk_diag_t *why)
{
    if (!ctx->config->anti_rollback) {
        return true;
    }
    uint32_t version = 0;
    esp_err_t e = boot_app_secure_version(ctx, index, &version);
    if (e != ESP_OK) {
        otk_diag_set(why, "no app description for the anti-rollback check (%s)",
                     esp_err_to_name(e));
        if (err != NULL) {
            *err = e;
        }
        return false;
    }
    uint32_t fused = otk_boot_efuse_secure_version(ctx->config->secure_version_efuse,
                                                   ctx->config->secure_version_bits);
    if (version < fused) {
        otk_diag_set(why, "secure_version %u < eFuse %u", (unsigned)version, (unsigned)fused);
        if (err != NULL) {
            *err = ESP_ERR_OTA_SMALL_SEC_VER;
        }
        return false;
    }
    return true;
}

void boot_anti_rollback_raise(boot_ctx_t *ctx, uint32_t version)
{
    otk_boot_config_t *c = ctx->config;
    uint32_t before = c->secure_version_efuse;
    uint32_t had = otk_boot_efuse_secure_version(before, c->secure_version_bits);
    esp_err_t err = otk_boot_efuse_raise(&c->secure_version_efuse, c->secure_version_bits,
                                         version);
    if (err != ESP_OK) {
        /* esp_efuse_update_secure_version's message; the bootloader ignores the error. */
        OTK_LOGE(BOOT_EFUSE_TAG, "Max secure version is %u. Given %u version can not be written.",
                 (unsigned)c->secure_version_bits, (unsigned)version);
    } else if (c->secure_version_efuse == before) {
        return; /* already at or above: nothing burned, nothing to report */
    } else {
        OTK_LOGI(BOOT_EFUSE_TAG, "Secure version raised from %u to %u (field 0x%08x -> 0x%08x)",
                 (unsigned)had, (unsigned)version, (unsigned)before,
                 (unsigned)c->secure_version_efuse);
    }
    otk_boot_result_t *r = ctx->result;
    if (r->efuse_change_count < OTK_BOOT_MAX_EFUSE_CHANGES) {
        otk_boot_efuse_change_t *ch = &r->efuse_changes[r->efuse_change_count++];
        ch->version = version;
        ch->field_before = before;
        ch->field_after = c->secure_version_efuse;
        ch->err = err;
    }
}
