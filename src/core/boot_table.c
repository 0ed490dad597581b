/* The bootloader's partition table step (bootloader_utility_load_partition_table): verify
 * the table, print it as ESP-IDF does, and note where factory, test, the OTA slots and
 * otadata are. */
#include "boot_internal.h"

#include "otakit/log.h"

/* The "Usage" column of the bootloader's table listing. */
static const char *usage_of(const esp_partition_t *p)
{
    if (p->type == ESP_PARTITION_TYPE_APP) {
        if (p->subtype == ESP_PARTITION_SUBTYPE_APP_FACTORY) {
            return "factory app";
        }
        if (p->subtype == ESP_PARTITION_SUBTYPE_APP_TEST) {
            return "test app";
        }
        if (p->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MIN &&
            p->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MAX) {
            return "OTA app";
        }
        return "Unknown app";
    }
    if (p->type == ESP_PARTITION_TYPE_DATA) {
        switch (p->subtype) {
        case ESP_PARTITION_SUBTYPE_DATA_OTA:
            return "OTA data";
        case ESP_PARTITION_SUBTYPE_DATA_PHY:
            return "RF data";
        case ESP_PARTITION_SUBTYPE_DATA_NVS:
            return "WiFi data";
        case ESP_PARTITION_SUBTYPE_DATA_NVS_KEYS:
            return "NVS keys";
        case ESP_PARTITION_SUBTYPE_DATA_EFUSE_EM:
            return "efuse";
        default:
            return "Unknown data";
        }
    }
    return "unknown";
}

static void log_table(const otk_partition_table_t *table)
{
    OTK_LOGI(BOOT_TAG, "Partition Table:");
    OTK_LOGI(BOOT_TAG, "## Label            Usage          Type ST Offset   Length");
    for (size_t i = 0; i < table->count; i++) {
        const esp_partition_t *p = &table->parts[i];
        OTK_LOGI(BOOT_TAG, "%2u %-16s %-16s %02x %02x %08x %08x", (unsigned)i, p->label,
                 usage_of(p), (unsigned)p->type, (unsigned)p->subtype, (unsigned)p->address,
                 (unsigned)p->size);
    }
    OTK_LOGI(BOOT_TAG, "End of partition table");
}

esp_err_t boot_table_load(boot_ctx_t *ctx, uint32_t table_offset)
{
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err = otk_partition_table_load(ctx->flash, table_offset,
                                             OTK_PARTITION_RULES_BOOTLOADER, ctx->table, &why);
    if (err != ESP_OK) {
        if (boot_power_lost(ctx)) {
            err = ESP_ERR_FLASH_OP_FAIL;
        }
        OTK_LOGE(BOOT_TAG, "Failed to verify partition table: %s", why.msg);
        OTK_LOGE(BOOT_TAG, "load partition table error!");
        boot_fail(ctx, OTK_BOOT_STAGE_TABLE, err, "partition table at 0x%x: %s",
                  (unsigned)table_offset, why.msg);
        return err;
    }
    log_table(ctx->table);
    /* Duplicates resolve to the first entry, as on the app side (otadata_table.c); the
     * bootloader would keep the last. gen_esp32part tables have none. */
    ctx->otadata = otk_otadata_find_partition(ctx->table);
    ctx->factory = otk_partition_find_first(ctx->table, ESP_PARTITION_TYPE_APP,
                                            ESP_PARTITION_SUBTYPE_APP_FACTORY, NULL);
    ctx->test = otk_partition_find_first(ctx->table, ESP_PARTITION_TYPE_APP,
                                         ESP_PARTITION_SUBTYPE_APP_TEST, NULL);
    ctx->app_count = otk_otadata_boot_slot_count(ctx->table);
    return ESP_OK;
}

const esp_partition_t *boot_index_partition(const boot_ctx_t *ctx, int index)
{
    if (index == OTK_BOOT_INDEX_FACTORY) {
        return ctx->factory;
    }
    if (index == OTK_BOOT_INDEX_TEST) {
        return ctx->test;
    }
    if (index < 0) {
        return NULL;
    }
    return otk_otadata_slot_partition(ctx->table, (uint32_t)index);
}
