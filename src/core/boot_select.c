/* Boot selection (spec §4.1, bootloader_utility_get_selected_boot_partition): read otadata,
 * sweep unconfirmed apps to ABORTED, pick an index from the entries (with or without
 * anti-rollback), and mark a NEW selection PENDING_VERIFY. Nothing here reads an image
 * except the app descriptions anti-rollback needs. */
#include <stdarg.h>
#include <string.h>

#include "boot_internal.h"

#include "otakit/log.h"

#if OTK_CONFIG_DIAG_TEXT
static void set_why(boot_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(boot_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    otk_diag_vformat(ctx->result->why, sizeof ctx->result->why, fmt, ap);
    va_end(ap);
}
#else
/* Without diagnostic text (otakit/config.h) the reason and its format compile out. */
#define set_why(ctx, ...)                                                                   \
    (OTK_UNEVALUATED(__VA_ARGS__), otk_diag_empty((ctx)->result->why, sizeof(ctx)->result->why))
#endif

/* Append s to the string in buf (cap bytes), cutting it to fit. */
static void append(char *buf, size_t cap, const char *s)
{
    size_t used = strlen(buf); /* buf is always NUL-terminated */
    size_t n = strlen(s);
    if (n > cap - 1 - used) {
        n = cap - 1 - used;
    }
    memcpy(buf + used, s, n);
    buf[used + n] = '\0';
}

/* A write that failed because power went: the selection cannot go on. */
static bool stop_on_power_loss(boot_ctx_t *ctx)
{
    if (!boot_power_lost(ctx)) {
        return false;
    }
    boot_fail(ctx, OTK_BOOT_STAGE_OTADATA, ESP_ERR_FLASH_OP_FAIL,
              "power lost while writing otadata '%s' at 0x%x", ctx->otadata->label,
              (unsigned)ctx->otadata->address);
    return true;
}

/* Rollback: an entry still PENDING_VERIFY at boot means its app started once and never
 * confirmed itself, so it must not start again. Done before selection, on both entries,
 * whatever their seq or CRC (ESP-IDF looks at the state field only). */
static bool sweep_pending(boot_ctx_t *ctx, esp_ota_select_entry_t e[2])
{
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        if (e[i].ota_state != ESP_OTA_IMG_PENDING_VERIFY) {
            continue;
        }
        OTK_LOGW(BOOT_TAG,
                 "otadata[%d] (seq %u) is still PENDING_VERIFY: its app never confirmed, "
                 "marked ABORTED (rollback)",
                 i, (unsigned)e[i].ota_seq);
        e[i].ota_state = ESP_OTA_IMG_ABORTED;
        if (boot_write_otadata(ctx, OTK_BOOT_WRITE_ABORTED, i, &e[i]) != ESP_OK &&
            stop_on_power_loss(ctx)) {
            return false;
        }
    }
    return true;
}

/* The selected entry was just installed: this boot is its trial run. */
static bool mark_pending(boot_ctx_t *ctx, esp_ota_select_entry_t e[2], int active)
{
    if (!ctx->config->rollback || e[active].ota_state != ESP_OTA_IMG_NEW) {
        return true;
    }
    OTK_LOGI(BOOT_TAG, "otadata[%d] is selected as new and marked PENDING_VERIFY state",
             active);
    e[active].ota_state = ESP_OTA_IMG_PENDING_VERIFY;
    return boot_write_otadata(ctx, OTK_BOOT_WRITE_PENDING_VERIFY, active, &e[active]) ==
               ESP_OK ||
           !stop_on_power_loss(ctx);
}

/* No entry selects anything: the otadata is ignored and the factory app (or the walk)
 * runs. Logged as the bootloader does. */
static int no_selection(boot_ctx_t *ctx, const char *what)
{
    if (ctx->factory != NULL) {
        OTK_LOGE(BOOT_TAG, "ota data partition invalid, falling back to factory");
        set_why(ctx, "%s: factory", what);
    } else {
        OTK_LOGE(BOOT_TAG, "ota data partition invalid and no factory, will try all partitions");
        set_why(ctx, "%s, no factory: trying every slot", what);
    }
    return OTK_BOOT_INDEX_FACTORY;
}

static int select_plain(boot_ctx_t *ctx, esp_ota_select_entry_t e[2])
{
    uint32_t n = ctx->app_count;
    bool initial = otk_otadata_is_initial(e);
    if ((otk_otadata_entry_invalid(&e[0]) && otk_otadata_entry_invalid(&e[1])) || n == 0) {
        const char *what = n == 0 ? "no OTA app slots"
                           : initial ? "initial otadata"
                                     : "no usable otadata entry (empty, INVALID or ABORTED)";
        if (ctx->factory != NULL) {
            OTK_LOGI(BOOT_TAG, "Defaulting to factory image");
            set_why(ctx, "%s: factory", what);
            return OTK_BOOT_INDEX_FACTORY;
        }
        OTK_LOGI(BOOT_TAG, "No factory image, trying OTA 0");
        /* Only blank (or garbage) otadata gets written once ota_0 has booted; entries
         * that exist but were rejected are left for the app to see. */
        ctx->initial_contents = initial;
        set_why(ctx, "%s, no factory: ota_0", what);
        return 0;
    }
    int active = otk_otadata_active(e);
    if (active == OTK_OTADATA_NONE) {
        return no_selection(ctx, "no otadata entry with a good CRC");
    }
    uint32_t slot = otk_otadata_slot_of_seq(e[active].ota_seq, n);
    OTK_LOGD(BOOT_TAG, "Active otadata[%d]", active);
    OTK_LOGD(BOOT_TAG, "Mapping seq %u -> OTA slot %u", (unsigned)(e[active].ota_seq - 1u),
             (unsigned)slot);
    set_why(ctx, "otadata seq %u selects %s (otadata[%d], %s)", (unsigned)e[active].ota_seq,
            otk_boot_index_name((int)slot), active, otk_otadata_state_name(e[active].ota_state));
    if (!mark_pending(ctx, e, active)) {
        return OTK_BOOT_INDEX_INVALID;
    }
    return (int)slot;
}

static int select_anti_rollback(boot_ctx_t *ctx, esp_ota_select_entry_t e[2])
{
    const otk_boot_config_t *c = ctx->config;
    uint32_t n = ctx->app_count;
    OTK_LOGI(BOOT_TAG, "Enabled a check secure version of app for anti rollback");
    OTK_LOGI(BOOT_TAG, "Secure version (from eFuse) = %u",
             (unsigned)otk_boot_efuse_secure_version(c->secure_version_efuse,
                                                     c->secure_version_bits));
    if (otk_otadata_is_initial(e)) {
        /* No factory check here: with anti-rollback ESP-IDF expects OTA slots only, and
         * the walk from FACTORY_INDEX reaches them (then writes the initial entry). */
        OTK_LOGI(BOOT_TAG, "otadata[0..1] in initial state");
        ctx->initial_contents = true;
        set_why(ctx, ctx->factory != NULL ? "initial otadata: factory"
                                          : "initial otadata, no factory: trying every slot");
        return OTK_BOOT_INDEX_FACTORY;
    }
    bool flagged[OTK_OTADATA_ENTRIES] = {false, false};
    char refused[OTK_DIAG_MAX] = "";
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        if (!otk_otadata_entry_valid(&e[i]) || n == 0) {
            continue;
        }
        int slot = (int)otk_otadata_slot_of_seq(e[i].ota_seq, n);
        otk_diag_t why;
        if (boot_anti_rollback_ok(ctx, slot, NULL, &why)) {
            flagged[i] = true;
            continue;
        }
        if (boot_power_lost(ctx)) {
            boot_fail(ctx, OTK_BOOT_STAGE_OTADATA, ESP_ERR_FLASH_OP_FAIL,
                      "power lost reading the app description of %s",
                      otk_boot_index_name(slot));
            return OTK_BOOT_INDEX_INVALID;
        }
        OTK_LOGW(BOOT_TAG, "OTA slot %d (otadata[%d], seq %u) will not be selected: %s", slot, i,
                 (unsigned)e[i].ota_seq, why.msg);
        char head[48];
        otk_diag_format(head, sizeof head, "; seq %u (%s) refused: ",
                        (unsigned)e[i].ota_seq, otk_boot_index_name(slot));
        append(refused, sizeof refused, head);
        append(refused, sizeof refused, why.msg);
    }
    int active = otk_otadata_select(e, flagged, true);
    if (active == OTK_OTADATA_NONE) {
        char what[2 * OTK_DIAG_MAX]; /* room for the notes; the reason is cut to fit */
        otk_diag_format(what, sizeof what,
                        "no otadata entry is valid and passes anti-rollback%s", refused);
        return no_selection(ctx, what);
    }
    uint32_t slot = otk_otadata_slot_of_seq(e[active].ota_seq, n);
    OTK_LOGD(BOOT_TAG, "Mapping seq %u -> OTA slot %u", (unsigned)(e[active].ota_seq - 1u),
             (unsigned)slot);
    set_why(ctx, "otadata seq %u selects %s (otadata[%d], %s)%s", (unsigned)e[active].ota_seq,
            otk_boot_index_name((int)slot), active, otk_otadata_state_name(e[active].ota_state),
            refused);
    if (!mark_pending(ctx, e, active)) {
        return OTK_BOOT_INDEX_INVALID;
    }
    /* A confirmed app is trusted: from now on nothing older may boot. */
    uint32_t version;
    if (e[active].ota_state == ESP_OTA_IMG_VALID &&
        boot_app_secure_version(ctx, (int)slot, &version) == ESP_OK) {
        boot_anti_rollback_raise(ctx, version);
    }
    return (int)slot;
}

int boot_select(boot_ctx_t *ctx)
{
    ctx->initial_contents = false;
    if (ctx->otadata == NULL) {
        OTK_LOGI(BOOT_TAG, "No OTA data partition, booting the factory app");
        set_why(ctx, ctx->factory != NULL ? "no otadata partition: factory"
                                          : "no otadata partition, no factory: trying every slot");
        return OTK_BOOT_INDEX_FACTORY;
    }
    if (ctx->otadata->size < OTK_OTADATA_SIZE) {
        OTK_LOGE(BOOT_TAG, "ota_info partition size %u is too small (minimum %u bytes)",
                 (unsigned)ctx->otadata->size, (unsigned)OTK_OTADATA_SIZE);
        boot_fail(ctx, OTK_BOOT_STAGE_OTADATA, ESP_ERR_INVALID_SIZE,
                  "otadata '%s' at 0x%x is 0x%x bytes, the bootloader needs 0x%x",
                  ctx->otadata->label, (unsigned)ctx->otadata->address,
                  (unsigned)ctx->otadata->size, (unsigned)OTK_OTADATA_SIZE);
        return OTK_BOOT_INDEX_INVALID;
    }
    esp_ota_select_entry_t e[OTK_OTADATA_ENTRIES];
    esp_err_t err = otk_otadata_read(ctx->otadata, e);
    if (err != ESP_OK) {
        boot_fail(ctx, OTK_BOOT_STAGE_OTADATA, err, "reading otadata '%s' at 0x%x: %s",
                  ctx->otadata->label, (unsigned)ctx->otadata->address, esp_err_to_name(err));
        return OTK_BOOT_INDEX_INVALID;
    }
    if (!ctx->result->has_otadata) {
        memcpy(ctx->result->otadata, e, sizeof e);
        ctx->result->has_otadata = true;
    }
    OTK_LOGD(BOOT_TAG, "OTA sequence values A 0x%08x B 0x%08x", (unsigned)e[0].ota_seq,
             (unsigned)e[1].ota_seq);
    if (ctx->config->rollback && !sweep_pending(ctx, e)) {
        return OTK_BOOT_INDEX_INVALID;
    }
    return ctx->config->anti_rollback ? select_anti_rollback(ctx, e) : select_plain(ctx, e);
}
