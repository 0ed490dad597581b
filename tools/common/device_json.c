#include "device_json.h"

#include <string.h>

#include "otakit/image.h"
#include "otakit/ota.h"

static void string_or_null(json_out_t *j, const char *key, const char *value)
{
    if (value != NULL) {
        json_string(j, key, value);
    } else {
        json_null(j, key);
    }
}

void device_json_config(json_out_t *j, const char *key, const otk_device_store_t *store)
{
    const otk_device_config_t *c = &store->config;
    const otk_image_chip_t *chip = otk_image_chip_by_id(c->chip_id);
    json_object_begin(j, key);
    string_or_null(j, "chip", chip != NULL ? chip->name : NULL);
    json_uint(j, "chip_rev", c->chip_rev);
    json_bool(j, "rollback", c->rollback);
    json_bool(j, "anti_rollback", c->anti_rollback);
    json_uint(j, "secure_version_bits", c->secure_version_bits);
    json_uint(j, "table_offset", c->table_offset);
    json_bool(j, "table_md5", c->table_md5);
    json_string(j, "otadata_rule", c->otadata_rule == OTK_OTADATA_RULE_V5 ? "v5" : "v6");
    json_uint(j, "efuse_secure_version", store->efuse_secure_version);
    json_uint(j, "secure_version",
              otk_boot_efuse_secure_version(store->efuse_secure_version,
                                            c->secure_version_bits));
    json_string(j, "selftest", otk_selftest_policy_name(store->selftest));
    if (store->has_manifest_key) {
        json_hex(j, "manifest_key", store->manifest_key, sizeof store->manifest_key);
    } else {
        json_null(j, "manifest_key");
    }
    /* Secure Boot v2 eFuses: on/off and the three key digest blocks (null: blank). */
    json_bool(j, "secure_boot", c->secure_boot.enabled);
    json_array_begin(j, "key_digests");
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        const uint8_t *d = c->secure_boot.key_digest[i];
        if (otk_image_sig_digest_blank(d)) {
            json_null(j, NULL);
        } else {
            json_hex(j, NULL, d, OTK_SHA256_LEN);
        }
    }
    json_array_end(j);
    json_object_end(j);
}

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

void device_json_entry(json_out_t *j, const char *key, const otk_device_t *dev,
                       const esp_ota_select_entry_t *e)
{
    json_object_begin(j, key);
    json_uint(j, "seq", e->ota_seq);
    json_string(j, "state", otk_otadata_state_name(e->ota_state));
    json_bool(j, "crc_ok", otk_otadata_crc_ok(e));
    string_or_null(j, "slot", slot_label(dev, e->ota_seq));
    json_object_end(j);
}

static void json_writes(json_out_t *j, const otk_device_t *dev, const otk_boot_result_t *r)
{
    json_array_begin(j, "writes");
    for (size_t i = 0; i < r->write_count && i < OTK_BOOT_MAX_OTADATA_WRITES; i++) {
        const otk_boot_otadata_write_t *w = &r->writes[i];
        json_object_begin(j, NULL);
        json_string(j, "kind", otk_boot_write_kind_name(w->kind));
        json_int(j, "sector", w->sector);
        json_string(j, "err", esp_err_to_name(w->err));
        device_json_entry(j, "entry", dev, &w->entry);
        json_object_end(j);
    }
    json_array_end(j);
}

static void json_refused(json_out_t *j, const otk_boot_result_t *r)
{
    json_array_begin(j, "refused");
    for (size_t i = 0; i < r->refused_count && i < OTK_BOOT_MAX_CANDIDATES; i++) {
        const otk_boot_refusal_t *f = &r->refused[i];
        if (f->label[0] == '\0') {
            continue; /* absent from the table */
        }
        json_object_begin(j, NULL);
        json_string(j, "partition", f->label);
        json_uint(j, "address", f->address);
        json_string(j, "err", esp_err_to_name(f->err));
        json_string(j, "reason", f->reason);
        json_object_end(j);
    }
    json_array_end(j);
}

static void json_efuse(json_out_t *j, const otk_boot_result_t *r)
{
    json_array_begin(j, "efuse_changes");
    for (size_t i = 0; i < r->efuse_change_count && i < OTK_BOOT_MAX_EFUSE_CHANGES; i++) {
        const otk_boot_efuse_change_t *c = &r->efuse_changes[i];
        json_object_begin(j, NULL);
        json_uint(j, "version", c->version);
        json_uint(j, "field_before", c->field_before);
        json_uint(j, "field_after", c->field_after);
        json_string(j, "err", esp_err_to_name(c->err));
        json_object_end(j);
    }
    json_array_end(j);
}

void device_json_boot(json_out_t *j, const char *key, const otk_device_t *dev)
{
    const otk_boot_result_t *r = &dev->boot;
    json_object_begin(j, key);
    json_bool(j, "ok", r->err == ESP_OK);
    json_string(j, "err", esp_err_to_name(r->err));
    json_string(j, "stage", otk_boot_stage_name(r->stage));
    json_string(j, "reason", r->diag.msg);
    json_string(j, "selected", otk_boot_index_name(r->selected_index));
    json_string(j, "why", r->why);
    if (r->err == ESP_OK) {
        json_string(j, "partition", r->partition.label);
        json_uint(j, "address", r->partition.address);
    } else {
        json_null(j, "partition");
        json_null(j, "address");
    }
    json_bool(j, "initial_contents", r->initial_contents);
    if (r->has_otadata) {
        json_array_begin(j, "otadata_read");
        for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
            device_json_entry(j, NULL, dev, &r->otadata[i]);
        }
        json_array_end(j);
    } else {
        json_null(j, "otadata_read");
    }
    json_writes(j, dev, r);
    json_refused(j, r);
    json_efuse(j, r);
    json_object_end(j);
}

void device_json_app(json_out_t *j, const char *key, otk_device_t *dev)
{
    const esp_app_desc_t *app = otk_device_running_app(dev);
    if (dev->running == NULL || app == NULL) {
        json_null(j, key);
        return;
    }
    json_object_begin(j, key);
    json_string(j, "partition", dev->running->label);
    json_uint(j, "address", dev->running->address);
    json_string_n(j, "project_name", app->project_name, sizeof app->project_name);
    json_string_n(j, "version", app->version, sizeof app->version);
    json_uint(j, "secure_version", app->secure_version);
    esp_ota_img_states_t state;
    if (otk_device_run_state(dev, &state) == ESP_OK) {
        json_string(j, "state", otk_otadata_state_name(state));
    } else {
        json_null(j, "state");
    }
    json_object_end(j);
}

void device_json_selftest(json_out_t *j, const char *key, const otk_selftest_report_t *r)
{
    json_object_begin(j, key);
    json_string(j, "device", otk_selftest_policy_name(r->device));
    json_string(j, "image", otk_selftest_policy_name(r->image));
    json_string(j, "effective", otk_selftest_policy_name(r->effective));
    json_string(j, "outcome", otk_selftest_outcome_name(r->outcome));
    if (r->has_state) {
        json_string(j, "state_before", otk_otadata_state_name(r->state_before));
    } else {
        json_null(j, "state_before");
    }
    json_string(j, "err", esp_err_to_name(r->err));
    json_object_end(j);
}

void device_json_otadata(json_out_t *j, const char *key, otk_device_t *dev)
{
    const esp_partition_t *part = otk_otadata_find_partition(&dev->table);
    esp_ota_select_entry_t e[2];
    if (part == NULL || otk_otadata_read(part, e) != ESP_OK) {
        json_null(j, key);
        return;
    }
    json_array_begin(j, key);
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        device_json_entry(j, NULL, dev, &e[i]);
    }
    json_array_end(j);
}
