/* The bootloader's GPIO overrides (spec §4.1 step 7, selected_boot_partition in
 * bootloader_start.c). A host has no pins: the config says whether each was held. */
#include <string.h>

#include "boot_internal.h"

#include "otakit/log.h"

/* Labels in CONFIG_BOOTLOADER_DATA_FACTORY_RESET are separated by commas or spaces. */
#define LABEL_SEPARATORS ", "

/* True when `label` is one whole item of the list. An empty label never matches. */
static bool label_listed(const char *list, const char *label)
{
    size_t len = strlen(label);
    if (list == NULL || len == 0) {
        return false;
    }
    const char *p = list;
    while (*p != '\0') {
        p += strspn(p, LABEL_SEPARATORS);
        size_t item = strcspn(p, LABEL_SEPARATORS);
        if (item == len && strncmp(p, label, len) == 0) {
            return true;
        }
        p += item;
    }
    return false;
}

/* Put in front of the re-selection's reason. */
#define FACTORY_RESET_WHY "factory-reset pin held, selected again: "

static void prefix_why(otk_boot_result_t *r, const char *prefix)
{
    size_t plen = strlen(prefix);
    size_t wlen = strlen(r->why); /* always NUL-terminated: written by otk_diag_format */
    if (plen >= sizeof r->why) {
        return;
    }
    if (plen + wlen >= sizeof r->why) {
        wlen = sizeof r->why - 1 - plen; /* the reason's tail gives way */
    }
    memmove(r->why + plen, r->why, wlen);
    memcpy(r->why, prefix, plen);
    r->why[plen + wlen] = '\0';
}

static void record_erase(boot_ctx_t *ctx, const esp_partition_t *p, esp_err_t err)
{
    otk_boot_result_t *r = ctx->result;
    if (r->erase_total < OTK_BOOT_MAX_ERASES) {
        otk_boot_erase_t *e = &r->erases[r->erase_total];
        otk_text_copy(e->label, sizeof e->label, p->label);
        e->address = p->address;
        e->size = p->size;
        e->err = err;
    }
    r->erase_total++;
}

/* bootloader_common_erase_part_type_data: every data partition listed (and otadata when
 * asked) is erased; each data partition gets a log line. */
static void erase_data_partitions(boot_ctx_t *ctx)
{
    const otk_boot_config_t *c = ctx->config;
    bool all_ok = true;
    for (size_t i = 0; i < ctx->table->count; i++) {
        const esp_partition_t *p = &ctx->table->parts[i];
        if (p->type != ESP_PARTITION_TYPE_DATA) {
            continue;
        }
        bool erase = (c->factory_reset_erase_otadata &&
                      p->subtype == ESP_PARTITION_SUBTYPE_DATA_OTA) ||
                     label_listed(c->factory_reset_data, p->label);
        const char *marker = "";
        if (erase) {
            esp_err_t err = otk_flash_erase(ctx->flash, p->address, p->size);
            record_erase(ctx, p, err);
            marker = err == ESP_OK ? "erased" : "err";
            all_ok = all_ok && err == ESP_OK;
        }
        OTK_LOGI(BOOT_TAG, "part %u, 0x%08x %s", (unsigned)i, (unsigned)p->address, marker);
    }
    if (!all_ok) {
        OTK_LOGE(BOOT_TAG, "Not all partitions were erased");
    }
}

int boot_apply_pins(boot_ctx_t *ctx, int index)
{
    const otk_boot_config_t *c = ctx->config;
    if (index == OTK_BOOT_INDEX_INVALID) {
        return index;
    }
    if (c->factory_reset) {
        OTK_LOGI(BOOT_TAG, "Detect a condition of the factory reset");
        OTK_LOGI(BOOT_TAG, "Data partitions to erase: %s",
                 c->factory_reset_data != NULL ? c->factory_reset_data : "");
        erase_data_partitions(ctx);
        if (boot_power_lost(ctx)) {
            boot_fail(ctx, OTK_BOOT_STAGE_SELECT, ESP_ERR_FLASH_OP_FAIL,
                      "power lost during the factory-reset erase");
            return OTK_BOOT_INDEX_INVALID;
        }
        /* Selected again from what is left; the test pin is not looked at after a reset. */
        int again = boot_select(ctx);
        prefix_why(ctx->result, FACTORY_RESET_WHY);
        return again;
    }
    if (c->test_app) {
        OTK_LOGI(BOOT_TAG, "Detect a boot condition of the test firmware");
        if (ctx->test == NULL) {
            OTK_LOGE(BOOT_TAG, "Test firmware is not found in partition table");
            boot_fail(ctx, OTK_BOOT_STAGE_SELECT, ESP_ERR_NOT_FOUND,
                      "test-app pin held but the table has no test partition");
            return OTK_BOOT_INDEX_INVALID;
        }
        otk_diag_format(ctx->result->why, sizeof ctx->result->why, "test-app pin held: test");
        return OTK_BOOT_INDEX_TEST;
    }
    return index;
}
