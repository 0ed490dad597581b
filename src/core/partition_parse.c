/* Reading a binary table by the rules of one of ESP-IDF's three readers: the app-side
 * loader (partition.c), the bootloader (esp_partition_table_verify) and gen_esp32part.py.
 * They agree on valid tables and differ on broken ones, which is exactly where a host
 * simulation must not guess. */
#include <stdio.h>
#include <string.h>

#include "otakit/crypto.h"
#include "partition_internal.h"

#define RECORD OTK_PARTITION_RECORD_SIZE
#define HEX_MD5_LEN (2 * OTK_MD5_LEN + 1)

typedef struct {
    uint16_t magic;
    uint8_t type, subtype;
    uint32_t offset, size;
    const uint8_t *label;
    uint32_t flags;
} record_t;

static record_t record_at(const uint8_t *r)
{
    record_t rec = {
        .magic = (uint16_t)(r[0] | r[1] << 8),
        .type = r[2],
        .subtype = r[3],
        .offset = pt_le32(r + 4),
        .size = pt_le32(r + 8),
        .label = r + 12,
        .flags = pt_le32(r + 28),
    };
    return rec;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0xF];
    }
    out[2 * n] = '\0';
}

static esp_err_t add(otk_partition_table_t *t, const record_t *rec, uint32_t flags, size_t index,
                     otk_diag_t *diag)
{
    if (t == NULL) {
        return ESP_OK; /* checking only: the records are not kept */
    }
    if (pt_table_append(t, rec->type, rec->subtype, rec->offset, rec->size, rec->label, flags) !=
        ESP_OK) {
        otk_diag_set(diag, "record %zu: more than %zu partitions do not fit a table", index,
                     (size_t)OTK_PARTITION_TABLE_MAX);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* Compare the digest in an MD5 record with the digest of `covered`. */
static bool md5_matches(const uint8_t *md5_record, const uint8_t digest[OTK_MD5_LEN])
{
    return memcmp(md5_record + OTK_PARTITION_MD5_OFFSET, digest, OTK_MD5_LEN) == 0;
}

static void md5_mismatch(otk_diag_t *diag, size_t index, const uint8_t *md5_record,
                         const uint8_t digest[OTK_MD5_LEN])
{
    char found[HEX_MD5_LEN], want[HEX_MD5_LEN];
    hex(md5_record + OTK_PARTITION_MD5_OFFSET, OTK_MD5_LEN, found);
    hex(digest, OTK_MD5_LEN, want);
    otk_diag_set(diag, "record %zu: MD5 record holds %s but the %zu records before it hash to %s",
                 index, found, index, want);
}

/* partition.c load_partitions(): take 0x50AA records from the mapped sector. */
static esp_err_t parse_app(const uint8_t *data, size_t len, bool require_md5,
                           otk_partition_table_t *t, otk_diag_t *diag)
{
    size_t avail = (len < OTK_PARTITION_SECTOR_SIZE ? len : OTK_PARTITION_SECTOR_SIZE) / RECORD;
    otk_md5_ctx_t ctx;
    otk_md5_init(&ctx);
    size_t i;
    const uint8_t *md5_record = NULL;
    for (i = 0; i < avail; i++) {
        record_t rec = record_at(data + i * RECORD);
        if (rec.magic == ESP_PARTITION_MAGIC_MD5) {
            md5_record = data + i * RECORD;
            break;
        }
        if (rec.magic != ESP_PARTITION_MAGIC) {
            break; /* the end of the list, whatever the record holds */
        }
        otk_md5_update(&ctx, data + i * RECORD, RECORD);
        esp_err_t err = add(t, &rec, rec.flags, i, diag);
        if (err != ESP_OK) {
            return err;
        }
    }
    uint8_t digest[OTK_MD5_LEN];
    otk_md5_final(&ctx, digest);
    if (md5_record != NULL) {
        t->md5 = md5_matches(md5_record, digest) ? OTK_PARTITION_MD5_OK : OTK_PARTITION_MD5_MISMATCH;
    }
    if (!require_md5) {
        return ESP_OK;
    }
    if (md5_record == NULL) {
        if (i < avail) {
            otk_diag_set(diag, "record %zu: no MD5 record after the partitions (magic 0x%04x)", i,
                         (unsigned)record_at(data + i * RECORD).magic);
        } else {
            otk_diag_set(diag, "record %zu: no MD5 record after the partitions (end of data)", i);
        }
        return ESP_ERR_NOT_FOUND;
    }
    if (t->md5 != OTK_PARTITION_MD5_OK) {
        md5_mismatch(diag, i, md5_record, digest);
        return ESP_ERR_INVALID_STATE;
    }
    return ESP_OK;
}

/* esp_partition_table_verify(): the bootloader's rules. */
static esp_err_t parse_bootloader(const uint8_t *data, size_t len, uint32_t chip_size,
                                  otk_partition_table_t *t, otk_diag_t *diag)
{
    bool md5_found = false;
    for (size_t i = 0; i < OTK_PARTITION_TABLE_MAX; i++) {
        if (len / RECORD <= i) {
            otk_diag_set(diag, "record %zu: data ends before a terminating record", i);
            return ESP_ERR_INVALID_STATE;
        }
        const uint8_t *r = data + i * RECORD;
        record_t rec = record_at(r);
        if (rec.magic == ESP_PARTITION_MAGIC) {
            if (rec.offset > chip_size || rec.size > chip_size - rec.offset) {
                otk_diag_set(diag,
                             "record %zu: partition '%.16s' offset 0x%x size 0x%x exceeds flash "
                             "chip size 0x%x",
                             i, (const char *)rec.label, (unsigned)rec.offset, (unsigned)rec.size,
                             (unsigned)chip_size);
                return ESP_ERR_INVALID_SIZE;
            }
            esp_err_t err = add(t, &rec, rec.flags, i, diag);
            if (err != ESP_OK) {
                return err;
            }
        } else if (rec.magic == ESP_PARTITION_MAGIC_MD5) {
            if (md5_found) {
                otk_diag_set(diag, "record %zu: a second MD5 record (only one is allowed)", i);
                return ESP_ERR_INVALID_STATE;
            }
            uint8_t digest[OTK_MD5_LEN];
            otk_md5(data, i * RECORD, digest);
            if (!md5_matches(r, digest)) {
                md5_mismatch(diag, i, r, digest);
                return ESP_ERR_INVALID_STATE;
            }
            md5_found = true;
        } else if (rec.magic == PT_END_MAGIC && rec.type == PART_TYPE_END &&
                   rec.subtype == PART_SUBTYPE_END && i > 0) {
            if (t != NULL) {
                t->md5 = md5_found ? OTK_PARTITION_MD5_OK : OTK_PARTITION_MD5_NONE;
            }
            return ESP_OK;
        } else {
            otk_diag_set(diag, "record %zu: invalid magic number 0x%04x%s", i,
                         (unsigned)rec.magic, i == 0 ? " (empty table)" : "");
            return ESP_ERR_INVALID_STATE;
        }
    }
    otk_diag_set(diag, "no terminating record within the first %zu records",
                 (size_t)OTK_PARTITION_TABLE_MAX);
    return ESP_ERR_INVALID_STATE;
}

/* gen_esp32part's reader: a host tool's (OTK_CONFIG_TOOLS, otakit/config.h). */
#if OTK_CONFIG_TOOLS
static bool all_ff(const uint8_t *r)
{
    for (size_t k = 0; k < RECORD; k++) {
        if (r[k] != 0xFF) {
            return false;
        }
    }
    return true;
}

static bool is_md5_record(const uint8_t *r)
{
    return r[0] == PT_MD5_MAGIC_BYTE && r[1] == PT_MD5_MAGIC_BYTE;
}

/* The tool's running MD5 covers the partition records read so far (not MD5 records). */
static void gen_md5_before(const uint8_t *data, size_t end, uint8_t digest[OTK_MD5_LEN])
{
    otk_md5_ctx_t ctx;
    otk_md5_init(&ctx);
    for (size_t o = 0; o < end; o += RECORD) {
        if (!is_md5_record(data + o)) {
            otk_md5_update(&ctx, data + o, RECORD);
        }
    }
    otk_md5_final(&ctx, digest);
}

/* PartitionTable.from_binary() of gen_esp32part.py. */
static esp_err_t parse_gen(const uint8_t *data, size_t len, bool md5sum,
                           otk_partition_table_t *t, otk_diag_t *diag)
{
    bool md5_seen = false;
    for (size_t o = 0; o < len; o += RECORD) {
        size_t i = o / RECORD;
        if (len - o < RECORD) {
            otk_diag_set(diag, "record %zu: Partition table length must be a multiple of 32 "
                         "bytes (%zu bytes left)", i, len - o);
            return ESP_ERR_INVALID_SIZE;
        }
        const uint8_t *r = data + o;
        if (all_ff(r)) {
            t->md5 = md5_seen ? OTK_PARTITION_MD5_OK : OTK_PARTITION_MD5_NONE;
            return ESP_OK;
        }
        if (md5sum && is_md5_record(r)) {
            uint8_t digest[OTK_MD5_LEN];
            gen_md5_before(data, o, digest);
            if (!md5_matches(r, digest)) {
                char computed[HEX_MD5_LEN], parsed[HEX_MD5_LEN];
                hex(digest, OTK_MD5_LEN, computed);
                hex(r + OTK_PARTITION_MD5_OFFSET, OTK_MD5_LEN, parsed);
                otk_diag_set(diag, "record %zu: MD5 checksums don't match! (computed: 0x%s, "
                             "parsed: 0x%s)", i, computed, parsed);
                return ESP_ERR_INVALID_STATE;
            }
            md5_seen = true;
            continue;
        }
        if (r[0] != PT_MAGIC_BYTE0 || r[1] != PT_MAGIC_BYTE1) {
            otk_diag_set(diag, "record %zu: Invalid magic bytes (%02x %02x) for partition "
                         "definition", i, r[0], r[1]);
            return ESP_ERR_INVALID_STATE;
        }
        record_t rec = record_at(r);
        size_t label_len = pt_label_len(rec.label);
        size_t bad;
        if (!pt_utf8_valid(rec.label, label_len, &bad)) {
            otk_diag_set(diag, "record %zu: label is not valid UTF-8 (byte %zu)", i, bad);
            return ESP_ERR_INVALID_STATE;
        }
        /* The tool keeps only the flags it knows; others vanish on the way to CSV. */
        uint32_t known = PART_FLAG_ENCRYPTED | PART_FLAG_READONLY;
        esp_err_t err = add(t, &rec, rec.flags & known, i, diag);
        if (err != ESP_OK) {
            return err;
        }
    }
    otk_diag_set(diag, "Partition table is missing an end-of-table marker (%zu records read)",
                 len / RECORD);
    return ESP_ERR_INVALID_STATE;
}
#endif

esp_err_t otk_partition_table_parse(const uint8_t *data, size_t len, otk_partition_rules_t rules,
                                    uint32_t flash_size, otk_partition_table_t *table,
                                    otk_diag_t *diag)
{
    if ((table == NULL && rules != OTK_PARTITION_RULES_BOOTLOADER) ||
        (data == NULL && len > 0)) {
        otk_diag_set(diag, "no table or no data");
        return ESP_ERR_INVALID_ARG;
    }
    /* Bytes carry no offset; otk_partition_table_load fills it in. */
    const uint32_t table_offset = 0;
    if (table != NULL) {
        pt_table_clear(table, table_offset);
    }
    esp_err_t err;
    switch (rules) {
    case OTK_PARTITION_RULES_APP_MD5:
        err = parse_app(data, len, true, table, diag);
        break;
    case OTK_PARTITION_RULES_APP:
        err = parse_app(data, len, false, table, diag);
        break;
    case OTK_PARTITION_RULES_BOOTLOADER:
        err = parse_bootloader(data, len, flash_size, table, diag);
        break;
#if OTK_CONFIG_TOOLS
    case OTK_PARTITION_RULES_GEN:
        err = parse_gen(data, len, true, table, diag);
        break;
    case OTK_PARTITION_RULES_GEN_NO_MD5:
        err = parse_gen(data, len, false, table, diag);
        break;
#else
    case OTK_PARTITION_RULES_GEN:
    case OTK_PARTITION_RULES_GEN_NO_MD5:
        /* gen_esp32part's reader is a host tool's (otakit/config.h). */
        otk_diag_set(diag, "gen_esp32part rules are not in this build");
        err = ESP_ERR_NOT_SUPPORTED;
        break;
#endif
    default:
        otk_diag_set(diag, "unknown rules %d", (int)rules);
        err = ESP_ERR_INVALID_ARG;
        break;
    }
    if (err != ESP_OK && table != NULL) {
        pt_table_clear(table, table_offset);
    }
    return err;
}
