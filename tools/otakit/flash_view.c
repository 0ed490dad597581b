#include "flash_view.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

bool parse_table_offset(const char *cmd, const char *text, uint32_t *out)
{
    if (!cli_parse_u32(text, out) || *out % OTK_FLASH_SECTOR_SIZE != 0) {
        cli_usage_error(cmd, "--offset %s: expected a multiple of 0x1000, like 0x8000", text);
        return false;
    }
    return true;
}

bool flash_file_open(flash_file_t *ff, const char *path, uint32_t table_offset)
{
    memset(ff, 0, sizeof *ff);
    ff->path = path;
    ff->table_offset = table_offset;
    esp_err_t err = otk_flash_file_open(path, &ff->flash);
    if (err != ESP_OK) {
        cli_error("%s: cannot open as a flash image (%s)%s", path, esp_err_to_name(err),
                  err == ESP_ERR_INVALID_SIZE ? ": its size must be a non-zero multiple of 4 KiB"
                                              : "");
        return false;
    }
    otk_diag_t diag;
    otk_diag_clear(&diag);
    err = otk_partition_table_load(ff->flash, table_offset, OTK_PARTITION_RULES_APP, &ff->table,
                                   &diag);
    if (err == ESP_OK && ff->table.count == 0) {
        err = ESP_ERR_NOT_FOUND;
        otk_diag_set(&diag, "no partition records (magic 0x50AA) at 0x%x", (unsigned)table_offset);
    }
    if (err != ESP_OK) {
        cli_error("%s: no valid partition table at 0x%x: %s (%s)", path, (unsigned)table_offset,
                  diag.msg, esp_err_to_name(err));
        flash_file_close(ff);
        return false;
    }
    return true;
}

void flash_file_close(flash_file_t *ff)
{
    otk_flash_destroy(ff->flash);
    ff->flash = NULL;
}

const esp_partition_t *flash_file_otadata(flash_file_t *ff)
{
    const esp_partition_t *p = otk_otadata_find_partition(&ff->table);
    if (p == NULL) {
        cli_error("%s: the partition table has no otadata partition (type data, subtype ota)",
                  ff->path);
    }
    return p;
}

static const char *slot_label(const flash_file_t *ff, uint32_t seq, uint32_t n)
{
    if (n == 0 || seq == OTK_OTADATA_SEQ_EMPTY) {
        return NULL;
    }
    const esp_partition_t *p = otk_otadata_slot_partition(&ff->table, otk_otadata_slot_of_seq(seq, n));
    return p != NULL ? p->label : "(missing slot)";
}

void otadata_print_text(const flash_file_t *ff, const esp_partition_t *otadata,
                        const esp_ota_select_entry_t entries[2])
{
    uint32_t n = otk_otadata_app_slot_count(&ff->table);
    printf("otadata '%s' at 0x%x, %u OTA slot%s\n", otadata->label, (unsigned)otadata->address,
           (unsigned)n, n == 1 ? "" : "s");
    int active = otk_otadata_active(entries);
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        const esp_ota_select_entry_t *e = &entries[i];
        printf("  entry %d (0x%x): ", i, (unsigned)(otadata->address + (uint32_t)i * OTK_OTADATA_SECTOR_SIZE));
        if (e->ota_seq == OTK_OTADATA_SEQ_EMPTY && e->crc == 0xFFFFFFFFu &&
            e->ota_state == ESP_OTA_IMG_UNDEFINED) {
            printf("empty\n");
            continue;
        }
        const char *slot = slot_label(ff, e->ota_seq, n);
        printf("seq %u, state %s, crc 0x%08x %s", (unsigned)e->ota_seq,
               otk_otadata_state_name(e->ota_state), (unsigned)e->crc,
               otk_otadata_crc_ok(e) ? "ok" : "BAD");
        if (slot != NULL) {
            printf(" -> %s", slot);
        }
        printf("%s\n", i == active ? "  [active]" : "");
    }
    const esp_partition_t *boot = otk_otadata_boot_partition(&ff->table, entries);
    if (active == OTK_OTADATA_NONE) {
        printf("  no active entry: boots the default app: %s\n", boot ? boot->label : "(none)");
    } else {
        printf("  selects: %s\n", boot ? boot->label : "(slot missing from the table)");
    }
}

void otadata_print_json(json_out_t *j, const char *key, const flash_file_t *ff,
                        const esp_partition_t *otadata, const esp_ota_select_entry_t entries[2])
{
    uint32_t n = otk_otadata_app_slot_count(&ff->table);
    int active = otk_otadata_active(entries);
    json_object_begin(j, key);
    json_string(j, "label", otadata->label);
    json_uint(j, "offset", otadata->address);
    json_uint(j, "slots", n);
    json_array_begin(j, "entries");
    for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
        const esp_ota_select_entry_t *e = &entries[i];
        json_object_begin(j, NULL);
        json_uint(j, "index", (uint64_t)i);
        json_uint(j, "seq", e->ota_seq);
        json_uint(j, "state_value", e->ota_state);
        json_string(j, "state", otk_otadata_state_name(e->ota_state));
        json_uint(j, "crc", e->crc);
        json_bool(j, "crc_ok", otk_otadata_crc_ok(e));
        json_bool(j, "valid", otk_otadata_entry_valid(e));
        const char *slot = slot_label(ff, e->ota_seq, n);
        if (slot != NULL) {
            json_string(j, "slot", slot);
        } else {
            json_null(j, "slot");
        }
        json_object_end(j);
    }
    json_array_end(j);
    if (active == OTK_OTADATA_NONE) {
        json_null(j, "active");
    } else {
        json_int(j, "active", active);
    }
    const esp_partition_t *boot = otk_otadata_boot_partition(&ff->table, entries);
    if (boot != NULL) {
        json_string(j, "boot", boot->label);
    } else {
        json_null(j, "boot");
    }
    json_object_end(j);
}
