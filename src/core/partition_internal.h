/* Private to src/core/partition_*.c: keyword tables, the working form of gen_esp32part's
 * table (signed 64-bit fields, as Python keeps unbounded ints until it packs them), the
 * shared checks, and the CSV lexer. */
#ifndef OTAKIT_PARTITION_INTERNAL_H
#define OTAKIT_PARTITION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/partition.h"

/* ---- constants of gen_esp32part.py --------------------------------------------------- */

#define PT_MAGIC_BYTE0 0xAAu /* ESP_PARTITION_MAGIC 0x50AA, little-endian */
#define PT_MAGIC_BYTE1 0x50u
#define PT_MD5_MAGIC_BYTE 0xEBu  /* ESP_PARTITION_MAGIC_MD5 0xEBEB */
#define PT_END_MAGIC 0xFFFFu     /* the bootloader's terminator record */
#define PT_APP_ALIGN 0x10000u    /* app offsets: one MMU page */
#define PT_DATA_ALIGN 0x1000u    /* every other type: one flash sector */
#define PT_APP_SIZE_ALIGN 0x1000u           /* app sizes, no secure boot or v2 */
#define PT_APP_SIZE_ALIGN_SECURE_V1 0x10000u /* v1 signature sits at the end of a 64 KiB block */
#define PT_OTADATA_SIZE 0x2000u  /* two otadata sectors; gen_esp32part demands exactly this */
#define PT_NVS_RW_MIN_SIZE 0x3000u /* a writable NVS needs three pages */
#define PT_SUBTYPE_DATA_UNDEFINED 0x06u /* what an empty data subtype means */
/* Sector the app-side loader maps: it scans all 128 records of it. */
#define PT_APP_SCAN_RECORDS (OTK_PARTITION_SECTOR_SIZE / OTK_PARTITION_RECORD_SIZE)
/* No real value comes near this; anything beyond cannot end up in a 32-bit field, even as
 * an end address, so the parser stops there instead of tracking Python's bignums. */
#define PT_INT_LIMIT ((int64_t)1 << 40)

/* ---- keywords (gen_esp32part's TYPES and SUBTYPES, in its dict order) ---------------- */

typedef struct {
    const char *name;
    uint8_t value;
} pt_keyword_t;

/* The type keywords; returns their number. */
size_t pt_type_keywords(const pt_keyword_t **out);
/* The subtype keywords of a type; 0 (and *out NULL) for types without keywords. */
size_t pt_subtype_keywords(int64_t type, const pt_keyword_t **out);

/* ---- the working table -------------------------------------------------------------- */

/* One partition as gen_esp32part holds it before packing. */
typedef struct {
    int64_t type, subtype, offset, size;
    uint32_t flags;                        /* PART_FLAG_ENCRYPTED / PART_FLAG_READONLY */
    uint8_t label[OTK_PARTITION_LABEL_LEN]; /* first 16 bytes of the name, NUL-padded */
    size_t name_len;                       /* whole name, may exceed 16 */
    unsigned loc;                          /* CSV line number or binary record index */
} pt_work_t;

/* Full-name equality when two names share length and first 16 bytes (CSV names may be
 * longer than a label); NULL when labels are the whole names. */
typedef bool (*pt_name_eq_t)(void *ctx, size_t a, size_t b);

typedef struct {
    pt_work_t *e;
    size_t n;
    const char *noun; /* "line" or "record", for messages */
    pt_name_eq_t name_eq;
    void *name_eq_ctx;
} pt_work_list_t;

bool pt_is_primary(int64_t type, int64_t subtype);
/* Offset alignment of a type: apps 0x10000, everything else 0x1000. */
int64_t pt_offset_align(int64_t type);
bool pt_names_equal(const pt_work_list_t *list, size_t a, size_t b);

/* gen_esp32part's PartitionTable.verify(). ESP_ERR_INVALID_STATE with the message. */
esp_err_t pt_check(const pt_work_list_t *list, const otk_partition_gen_opts_t *opts,
                   otk_diag_t *diag);
/* verify_size_fits(). ESP_ERR_INVALID_SIZE with the message. */
esp_err_t pt_check_flash_size(const pt_work_list_t *list, uint32_t flash_size,
                              otk_diag_t *diag);

/* Python's '0x%x' % v (a negative value prints as 0x-1f). */
void pt_pyhex(int64_t v, char out[24]);
/* The name for messages: the label bytes, "..." when the name is longer. */
void pt_display_name(const pt_work_t *w, char out[24]);

/* ---- the public table ---------------------------------------------------------------- */

/* Empty the table (count 0, md5 NONE). */
void pt_table_clear(otk_partition_table_t *t, uint32_t table_offset);
/* Append an entry from record fields: esp_partition_t as ESP-IDF's loader fills it (label
 * up to the first NUL, readonly from the flags, never encrypted, 4 KiB erase size).
 * ESP_ERR_NO_MEM when full. */
esp_err_t pt_table_append(otk_partition_table_t *t, uint8_t type, uint8_t subtype,
                          uint32_t offset, uint32_t size,
                          const uint8_t raw_label[OTK_PARTITION_LABEL_LEN], uint32_t flags);

/* ---- bytes ------------------------------------------------------------------------- */

static inline uint32_t pt_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void pt_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Length of a label: up to its first NUL, at most 16 (strnlen is POSIX, not C11). */
static inline size_t pt_label_len(const void *label)
{
    const uint8_t *l = label;
    size_t n = 0;
    while (n < OTK_PARTITION_LABEL_LEN && l[n] != 0) {
        n++;
    }
    return n;
}

/* Strict UTF-8 as Python decodes it (no overlongs, surrogates or > U+10FFFF). On failure
 * *bad_at (may be NULL) is the offset of the first bad byte. */
bool pt_utf8_valid(const uint8_t *s, size_t n, size_t *bad_at);

/* ---- the CSV lexer (Python's str methods and int()) ---------------------------------- */

/* Python's str.splitlines(): the line starting at pos, its length without the terminator,
 * and the position of the next line. Returns false at the end of the text. */
bool pt_next_line(const char *s, size_t len, size_t *pos, const char **line,
                  size_t *line_len);
/* Python's str.strip() (all Unicode whitespace) on a span. */
void pt_strip(const char **s, size_t *len);
/* os.path.expandvars on one line into out. ESP_ERR_INVALID_SIZE if it would not fit. */
esp_err_t pt_expand_vars(const char *s, size_t len, otk_partition_getvar_t getvar, void *ctx,
                         char *out, size_t cap, size_t *out_len);

typedef enum {
    PT_INT_OK = 0,
    PT_INT_INVALID, /* Python would raise ValueError */
    PT_INT_RANGE,   /* valid, but beyond PT_INT_LIMIT */
} pt_int_result_t;

/* Python's int(s, 0): optional sign, 0x/0o/0b prefixes, underscores between digits,
 * surrounding whitespace; ASCII digits only. */
pt_int_result_t pt_parse_pyint(const char *s, size_t len, int64_t *value);

/* gen_esp32part's parse_int(v, keywords): K/M suffixes (applied recursively), int(v, 0),
 * then a case-insensitive keyword. On failure writes gen_esp32part's message to err. */
pt_int_result_t pt_parse_field(const char *s, size_t len, const pt_keyword_t *kw, size_t nkw,
                               int64_t *value, char *err, size_t err_cap);

/* ---- CSV lines (partition_csv_line.c) ---------------------------------------------------- */

/* One expanded, stripped data line -> *w. offset_set tells whether the offset was given
 * (or fixed by the options). On failure err gets gen_esp32part's message (no line). */
esp_err_t pt_csv_parse_line(const otk_partition_gen_opts_t *o, const char *s, size_t n,
                            pt_work_t *w, bool *offset_set, char *err, size_t cap);
/* The name field of a line, stripped. */
void pt_csv_name_field(const char *s, size_t n, const char **name, size_t *name_len);

#endif
