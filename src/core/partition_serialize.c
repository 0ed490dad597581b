/* Writing a binary table the way gen_esp32part.py does: records, the MD5 record, 0xFF. */
#include <string.h>

#include "otakit/crypto.h"
#include "partition_internal.h"

#define RECORD OTK_PARTITION_RECORD_SIZE
/* Bytes 2..15 of the MD5 record: the tool writes 0xFF there; only the magic and the digest
 * are read back. */
#define MD5_RECORD_FILL 0xFF
/* Everything after the last record up to 0xC00 is 0xFF, i.e. erased flash: the first
 * all-0xFF record is the terminator the readers look for. */
#define PAD 0xFF

static void put_record(uint8_t *r, const otk_partition_table_t *t, size_t i)
{
    const esp_partition_t *p = &t->parts[i];
    r[0] = PT_MAGIC_BYTE0;
    r[1] = PT_MAGIC_BYTE1;
    r[2] = (uint8_t)p->type;
    r[3] = (uint8_t)p->subtype;
    pt_put_le32(r + 4, p->address);
    pt_put_le32(r + 8, p->size);
    memcpy(r + 12, t->raw_label[i], OTK_PARTITION_LABEL_LEN);
    pt_put_le32(r + 28, t->flags[i]);
}

esp_err_t otk_partition_table_serialize(const otk_partition_table_t *table, bool md5,
                                        uint8_t out[OTK_PARTITION_TABLE_BIN_SIZE],
                                        otk_diag_t *diag)
{
    if (table == NULL || out == NULL) {
        otk_diag_set(diag, "no table or no output buffer");
        return ESP_ERR_INVALID_ARG;
    }
    size_t used = (table->count + (md5 ? 1 : 0)) * RECORD;
    /* The tool demands strictly less than 0xC00: the terminator must fit. */
    if (used >= OTK_PARTITION_TABLE_BIN_SIZE) {
        otk_diag_set(diag, "Binary partition table length (%zu) longer than max: %zu partitions "
                     "(at most %zu with the MD5 record, %zu without)", used, table->count,
                     OTK_PARTITION_TABLE_BIN_SIZE / RECORD - 2,
                     OTK_PARTITION_TABLE_BIN_SIZE / RECORD - 1);
        return ESP_ERR_INVALID_SIZE;
    }
    memset(out, PAD, OTK_PARTITION_TABLE_BIN_SIZE);
    for (size_t i = 0; i < table->count; i++) {
        put_record(out + i * RECORD, table, i);
    }
    if (md5) {
        uint8_t *r = out + table->count * RECORD;
        memset(r, MD5_RECORD_FILL, RECORD);
        r[0] = PT_MD5_MAGIC_BYTE;
        r[1] = PT_MD5_MAGIC_BYTE;
        otk_md5(out, table->count * RECORD, r + OTK_PARTITION_MD5_OFFSET);
    }
    return ESP_OK;
}
