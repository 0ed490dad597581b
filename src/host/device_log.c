/* The simulated device's log, in ESP-IDF's bootloader style, told from the boot result
 * (otakit/boot.h) after the fact: what was read, written, refused and loaded. Printing
 * from the result rather than from inside the boot layer keeps the core quiet and lets
 * the same boot be shown as text or JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "otakit/device_run.h"
#include "otakit/ota.h"

#define TAG_BOOT "boot"
#define TAG_APP "app"
/* The flash's clock counts microseconds; ESP logs show milliseconds. */
#define US_PER_MS 1000u

void otk_device_log_line(FILE *out, const otk_device_t *dev, char level, const char *tag,
                         const char *fmt, ...)
{
    if (out == NULL) {
        return;
    }
    uint64_t ms = dev->flash != NULL ? dev->flash->elapsed_us / US_PER_MS : 0;
    fprintf(out, "%c (%llu) %s: ", level, (unsigned long long)ms, tag);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

/* The label of the partition an entry's seq selects, or NULL. */
static const char *slot_label(const otk_device_t *dev, uint32_t seq)
{
    uint32_t n = otk_otadata_boot_slot_count(&dev->table);
    if (n == 0 || seq == OTK_OTADATA_SEQ_EMPTY) {
        return NULL;
    }
    const esp_partition_t *p = otk_otadata_slot_partition(&dev->table,
                                                          otk_otadata_slot_of_seq(seq, n));
    return p != NULL ? p->label : NULL;
}

static bool entry_blank(const esp_ota_select_entry_t *e)
{
    return e->ota_seq == OTK_OTADATA_SEQ_EMPTY && e->crc == 0xFFFFFFFFu &&
           e->ota_state == ESP_OTA_IMG_UNDEFINED;
}

static void log_entry(FILE *out, const otk_device_t *dev, char level, const char *tag, int i,
                      const esp_ota_select_entry_t *e)
{
    if (entry_blank(e)) {
        otk_device_log_line(out, dev, level, tag, "otadata: entry %d empty", i);
        return;
    }
    const char *slot = slot_label(dev, e->ota_seq);
    otk_device_log_line(out, dev, level, tag, "otadata: entry %d seq %u %s%s -> %s", i,
                        (unsigned)e->ota_seq, otk_otadata_state_name(e->ota_state),
                        otk_otadata_crc_ok(e) ? "" : " (bad CRC: ignored)",
                        slot != NULL ? slot : "?");
}

static void log_config(FILE *out, const otk_device_t *dev)
{
    const otk_device_config_t *c = &dev->config;
    const char *chip = otk_image_chip_id_name(c->chip_id);
    char anti[64] = "off";
    if (c->anti_rollback) {
        snprintf(anti, sizeof anti, "on (eFuse secure version %u of %u bits)",
                 (unsigned)otk_boot_efuse_secure_version(dev->efuse_secure_version,
                                                         c->secure_version_bits),
                 (unsigned)c->secure_version_bits);
    }
    unsigned keys = 0;
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        keys += otk_image_sig_digest_blank(c->secure_boot.key_digest[i]) ? 0u : 1u;
    }
    char secure[48] = "";
    if (c->secure_boot.enabled) {
        snprintf(secure, sizeof secure, ", secure boot v2 on (%u trusted key%s)", keys,
                 keys == 1 ? "" : "s");
    }
    otk_device_log_line(out, dev, 'I', TAG_BOOT,
                        "otakit simulated device: %s rev v%u.%u, rollback %s, anti-rollback %s%s",
                        chip != NULL ? chip : "?", (unsigned)(c->chip_rev / 100),
                        (unsigned)(c->chip_rev % 100), c->rollback ? "on" : "off", anti,
                        secure);
}

static void log_write(FILE *out, const otk_device_t *dev, const otk_boot_otadata_write_t *w)
{
    if (w->err != ESP_OK) {
        otk_device_log_line(out, dev, 'E', TAG_BOOT, "otadata: writing entry %d failed: %s",
                            w->sector, esp_err_to_name(w->err));
        return;
    }
    const char *slot = slot_label(dev, w->entry.ota_seq);
    switch (w->kind) {
    case OTK_BOOT_WRITE_ABORTED:
        otk_device_log_line(out, dev, 'W', TAG_BOOT,
                            "otadata: entry %d seq %u PENDING_VERIFY -> ABORTED: %s never "
                            "confirmed itself, rollback",
                            w->sector, (unsigned)w->entry.ota_seq, slot != NULL ? slot : "?");
        break;
    case OTK_BOOT_WRITE_PENDING_VERIFY:
        otk_device_log_line(out, dev, 'I', TAG_BOOT,
                            "otadata: entry %d seq %u NEW -> PENDING_VERIFY: first boot of %s, "
                            "it must confirm itself",
                            w->sector, (unsigned)w->entry.ota_seq, slot != NULL ? slot : "?");
        break;
    case OTK_BOOT_WRITE_INITIAL:
        otk_device_log_line(out, dev, 'I', TAG_BOOT,
                            "otadata: entry %d written seq %u VALID (initial contents)",
                            w->sector, (unsigned)w->entry.ota_seq);
        break;
    }
}

static void log_efuse(FILE *out, const otk_device_t *dev, const otk_boot_efuse_change_t *c)
{
    uint8_t bits = dev->config.secure_version_bits;
    if (c->err != ESP_OK) {
        otk_device_log_line(out, dev, 'E', TAG_BOOT,
                            "eFuse: cannot raise the secure version to %u: the field has %u "
                            "bits (%s)",
                            (unsigned)c->version, (unsigned)bits, esp_err_to_name(c->err));
        return;
    }
    otk_device_log_line(out, dev, 'I', TAG_BOOT,
                        "eFuse: secure version %u -> %u (field 0x%08x -> 0x%08x)",
                        (unsigned)otk_boot_efuse_secure_version(c->field_before, bits),
                        (unsigned)otk_boot_efuse_secure_version(c->field_after, bits),
                        (unsigned)c->field_before, (unsigned)c->field_after);
}

void otk_device_log_boot(FILE *out, const otk_device_t *dev)
{
    if (out == NULL) {
        return;
    }
    const otk_boot_result_t *r = &dev->boot;
    log_config(out, dev);
    if (r->has_otadata) {
        for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
            log_entry(out, dev, 'I', TAG_BOOT, i, &r->otadata[i]);
        }
    }
    for (size_t i = 0; i < r->write_count && i < OTK_BOOT_MAX_OTADATA_WRITES; i++) {
        if (r->writes[i].kind != OTK_BOOT_WRITE_INITIAL) {
            log_write(out, dev, &r->writes[i]);
        }
    }
    if (r->selected_index != OTK_BOOT_INDEX_INVALID) {
        otk_device_log_line(out, dev, 'I', TAG_BOOT, "selected %s: %s",
                            otk_boot_index_name(r->selected_index), r->why);
    }
    for (size_t i = 0; i < r->refused_count && i < OTK_BOOT_MAX_CANDIDATES; i++) {
        const otk_boot_refusal_t *f = &r->refused[i];
        if (f->label[0] == '\0') {
            continue; /* a slot the table does not have: nothing was refused */
        }
        otk_device_log_line(out, dev, 'W', TAG_BOOT, "%s refused: %s", f->label, f->reason);
    }
    for (size_t i = 0; i < r->efuse_change_count && i < OTK_BOOT_MAX_EFUSE_CHANGES; i++) {
        log_efuse(out, dev, &r->efuse_changes[i]);
    }
    if (r->err != ESP_OK) {
        otk_device_log_line(out, dev, 'E', TAG_BOOT, "cannot boot (%s): %s (%s)",
                            otk_boot_stage_name(r->stage), r->diag.msg,
                            esp_err_to_name(r->err));
        return;
    }
    if (r->index != r->selected_index) {
        otk_device_log_line(out, dev, 'W', TAG_BOOT, "fell back from %s to %s",
                            otk_boot_index_name(r->selected_index), r->partition.label);
    }
    for (size_t i = 0; i < r->write_count && i < OTK_BOOT_MAX_OTADATA_WRITES; i++) {
        if (r->writes[i].kind == OTK_BOOT_WRITE_INITIAL) {
            log_write(out, dev, &r->writes[i]);
        }
    }
    otk_device_log_line(out, dev, 'I', TAG_BOOT, "Loaded app from partition at offset 0x%x",
                        (unsigned)r->partition.address);
}

esp_err_t otk_device_run_state(otk_device_t *dev, esp_ota_img_states_t *state)
{
    if (dev->running == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    return otk_ota_get_state_partition(dev, dev->running, state);
}

void otk_device_log_app(FILE *out, otk_device_t *dev)
{
    if (out == NULL || dev->running == NULL) {
        return;
    }
    const esp_app_desc_t *app = otk_device_running_app(dev);
    esp_ota_img_states_t state;
    esp_err_t err = otk_device_run_state(dev, &state);
    char what[48];
    if (err == ESP_OK) {
        snprintf(what, sizeof what, "%s", otk_otadata_state_name(state));
    } else if (err == ESP_ERR_NOT_SUPPORTED) {
        snprintf(what, sizeof what, "not an OTA slot");
    } else {
        snprintf(what, sizeof what, "no otadata entry");
    }
    otk_device_log_line(out, dev, 'I', TAG_APP, "%.32s %.32s running from %s (%s)",
                        app != NULL ? app->project_name : "?", app != NULL ? app->version : "?",
                        dev->running->label, what);
}

void otk_device_log_otadata(FILE *out, otk_device_t *dev)
{
    if (out == NULL) {
        return;
    }
    const esp_partition_t *part = otk_otadata_find_partition(&dev->table);
    esp_ota_select_entry_t e[2];
    if (part == NULL) {
        otk_device_log_line(out, dev, 'I', TAG_APP, "otadata: none in the partition table");
        return;
    }
    esp_err_t err = otk_otadata_read(part, e);
    if (err != ESP_OK) {
        otk_device_log_line(out, dev, 'E', TAG_APP, "otadata: cannot read: %s",
                            esp_err_to_name(err));
        return;
    }
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        log_entry(out, dev, 'I', TAG_APP, i, &e[i]);
    }
}

const char *otk_selftest_outcome_name(otk_selftest_outcome_t outcome)
{
    switch (outcome) {
    case OTK_SELFTEST_NOT_RUN:
        return "not_run";
    case OTK_SELFTEST_CONFIRMED:
        return "confirmed";
    case OTK_SELFTEST_UNCONFIRMED:
        return "unconfirmed";
    case OTK_SELFTEST_NOT_PENDING:
        return "not_pending";
    case OTK_SELFTEST_ERROR:
        return "error";
    }
    return "?";
}
