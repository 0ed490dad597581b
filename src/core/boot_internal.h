/* Private to the boot layer: the working context shared by boot*.c. */
#ifndef OTAKIT_BOOT_INTERNAL_H
#define OTAKIT_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "otakit/boot.h"
#include "otakit/partition.h"

#define BOOT_TAG "boot"
#define BOOT_IMAGE_TAG "esp_image"
#define BOOT_EFUSE_TAG "efuse"

/* Slot k of the per-candidate caches is k; the factory and the test app follow the 16
 * slots. */
#define BOOT_CACHE_FACTORY OTK_OTADATA_MAX_SLOTS
#define BOOT_CACHE_TEST (OTK_OTADATA_MAX_SLOTS + 1u)

/* The app description of a candidate, read once for the anti-rollback check. */
typedef struct {
    bool read;
    esp_err_t err; /* ESP_OK, ESP_ERR_NOT_FOUND (no magic), or the flash error */
    uint32_t secure_version;
} boot_desc_t;

typedef struct {
    otk_flash_t *flash;
    otk_boot_config_t *config;
    otk_boot_result_t *result;
    /* Caller storage (otk_boot_work_t): big, so never on this layer's stack. */
    otk_partition_table_t *table;
    otk_image_stream_t *stream;
    /* What the bootloader's load_partition_table records (bootloader_state_t). */
    const esp_partition_t *otadata;
    const esp_partition_t *factory;
    const esp_partition_t *test;
    uint32_t app_count; /* the bootloader's N */
    bool initial_contents; /* ota_has_initial_contents */
    boot_desc_t desc[OTK_BOOT_MAX_CANDIDATES];
} boot_ctx_t;

/* boot_table.c: load and verify the table, log it, record the partitions above. */
esp_err_t boot_table_load(boot_ctx_t *ctx, uint32_t table_offset);
/* The partition of a boot index, or NULL when the table has none. */
const esp_partition_t *boot_index_partition(const boot_ctx_t *ctx, int index);

/* boot_select.c: §4.1 steps 2-6. The boot index, or OTK_BOOT_INDEX_INVALID with the
 * result's failure filled in. */
int boot_select(boot_ctx_t *ctx);
/* boot_gpio.c: §4.1 step 7, applied to the index boot_select returned. */
int boot_apply_pins(boot_ctx_t *ctx, int index);
/* boot_load.c: §4.2, the fallback walk from `start`; fills the result. */
esp_err_t boot_load(boot_ctx_t *ctx, int start);

/* boot_antirollback.c: the candidate's app secure_version, read once
 * (bootloader_common_get_partition_description). */
esp_err_t boot_app_secure_version(boot_ctx_t *ctx, int index, uint32_t *secure_version);
/* check_anti_rollback: true when anti-rollback is off, or the app's description is there
 * and its version passes the eFuse. Otherwise false with the reason in why (may be NULL)
 * and *err (may be NULL). */
bool boot_anti_rollback_ok(boot_ctx_t *ctx, int index, esp_err_t *err, otk_diag_t *why);
/* update_anti_rollback: raise the eFuse to `version`, logged and recorded. */
void boot_anti_rollback_raise(boot_ctx_t *ctx, uint32_t version);

/* boot_record.c: the result's lists and failure. */
void boot_record_refusal(boot_ctx_t *ctx, int index, esp_err_t err, const char *reason);
/* Erase + program one otadata sector and record it. Returns the write's error. */
esp_err_t boot_write_otadata(boot_ctx_t *ctx, otk_boot_write_kind_t kind, int sector,
                             const esp_ota_select_entry_t *entry);
/* The failure's stage and code, with an empty message. */
void boot_fail_code(boot_ctx_t *ctx, otk_boot_stage_t stage, esp_err_t err);
#if OTK_CONFIG_DIAG_TEXT
void boot_fail(boot_ctx_t *ctx, otk_boot_stage_t stage, esp_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#else
/* Without diagnostic text (otakit/config.h) the message and its format compile out. */
#define boot_fail(ctx, stage, err, ...)                                                     \
    (OTK_UNEVALUATED(__VA_ARGS__), boot_fail_code(ctx, stage, err))
#endif
/* A failed flash operation with the device powered off is a power cut: nothing after it
 * can succeed, so the boot stops there instead of refusing every later candidate. */
bool boot_power_lost(const boot_ctx_t *ctx);

#endif
