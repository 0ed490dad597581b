/* The partition layer: ESP-IDF's partition table (spec §2) and bounded I/O inside a
 * partition (spec §8).
 *
 * Three readers of the binary table exist in ESP-IDF and they disagree on edge cases, so the
 * parser takes the rules to follow (otk_partition_rules_t). The CSV compiler follows
 * gen_esp32part.py (ESP-IDF v6): same offsets, same checks in the same order, same bytes;
 * its messages carry gen_esp32part's wording plus the CSV line (or binary record) at fault.
 *
 * Everything here works on a fixed-capacity table and caller buffers: no allocation. The
 * only global is the "current table" behind the esp_partition_* functions (src/esp). */
#ifndef OTAKIT_PARTITION_H
#define OTAKIT_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_flash_partitions.h"
#include "esp_partition.h"
#include "otakit/crypto.h"
#include "otakit/diag.h"
#include "otakit/flash.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- layout ------------------------------------------------------------------------ */

#define OTK_PARTITION_RECORD_SIZE 32u     /* sizeof(esp_partition_info_t) */
#define OTK_PARTITION_LABEL_LEN 16u       /* label bytes in a record (no NUL when 16 long) */
#define OTK_PARTITION_SECTOR_SIZE 0x1000u /* the table owns one flash sector (erase unit) */
/* gen_esp32part's output: 0xC00 bytes, records + MD5 record + 0xFF padding; the last 1 KiB
 * of the sector is left for a signature. */
#define OTK_PARTITION_TABLE_BIN_SIZE ((size_t)ESP_PARTITION_TABLE_MAX_LEN)
/* Capacity of a table: 96 records fit in 0xC00 bytes, which is all the bootloader scans. */
#define OTK_PARTITION_TABLE_MAX ((size_t)ESP_PARTITION_TABLE_MAX_ENTRIES)
/* Offset of the MD5 digest inside the 0xEBEB record (after magic and 14 bytes of 0xFF). */
#define OTK_PARTITION_MD5_OFFSET 16u
/* Marks "not given" for the bootloader offsets of otk_partition_gen_opts_t. */
#define OTK_PARTITION_OFFSET_NONE UINT32_MAX
/* Worst-case bin2csv text: two header lines, then per partition a 16-byte label, the longest
 * keywords ("partition_table", "undefined"), two 10-char numbers, "encrypted:readonly",
 * five commas and a newline (84 bytes); 96 bytes a row leaves room. Plus the NUL. */
#define OTK_PARTITION_CSV_TEXT_MAX (128u + 96u * OTK_PARTITION_TABLE_MAX)
/* Longest data line of a CSV after $VAR expansion. gen_esp32part has no limit; a fixed
 * buffer needs one, and real lines are under 100 bytes. Comment lines may be any length. */
#define OTK_PARTITION_CSV_LINE_MAX 1024u

/* ---- the table --------------------------------------------------------------------- */

/* What the rules found about the MD5 record. */
typedef enum {
    OTK_PARTITION_MD5_NONE = 0, /* no 0xEBEB record where the rules looked */
    OTK_PARTITION_MD5_OK,       /* present and equal to the MD5 of the records before it */
    OTK_PARTITION_MD5_MISMATCH, /* present but wrong (only rules that ignore MD5 report it) */
} otk_partition_md5_t;

/* A partition table: the entries as esp_partition_t (what the esp_partition_* API hands out)
 * plus what the binary record holds that esp_partition_t does not keep, so a table
 * re-serializes to the same records and bin2csv can print every flag. */
typedef struct {
    size_t count;
    esp_partition_t parts[OTK_PARTITION_TABLE_MAX];
    uint32_t flags[OTK_PARTITION_TABLE_MAX];                            /* raw flags word */
    uint8_t raw_label[OTK_PARTITION_TABLE_MAX][OTK_PARTITION_LABEL_LEN]; /* raw label bytes */
    otk_partition_md5_t md5;
    uint32_t table_offset; /* where the table sits in flash (informational) */
} otk_partition_table_t;

/* Which reader's rules a binary table is held to. */
typedef enum {
    /* The app-side loader (esp_partition, partition.c) with CONFIG_PARTITION_TABLE_MD5=y:
     * takes records while the magic is 0x50AA (scanning the whole 4 KiB sector); the record
     * that ends the list must be the MD5 record: missing -> ESP_ERR_NOT_FOUND, wrong ->
     * ESP_ERR_INVALID_STATE. No bounds checks. */
    OTK_PARTITION_RULES_APP_MD5,
    /* The app-side loader without MD5 (the linux target): any other magic ends the list.
     * table->md5 still tells whether an MD5 record followed and matched. */
    OTK_PARTITION_RULES_APP,
    /* The bootloader's esp_partition_table_verify against a chip size: up to 96 records;
     * a partition past the chip -> ESP_ERR_INVALID_SIZE; at most one MD5 record, which must
     * match the records before it; a terminator (magic 0xFFFF, type and subtype 0xFF) after
     * at least one record ends the table; anything else -> ESP_ERR_INVALID_STATE. */
    OTK_PARTITION_RULES_BOOTLOADER,
    /* gen_esp32part.py's binary reader (bin2csv input): 32-byte records up to an all-0xFF
     * record; every 0xEBEB record must match the MD5 of the partition records before it;
     * any other magic, a label that is not UTF-8, a partial record or a missing end marker
     * is an error (ESP_ERR_INVALID_STATE / ESP_ERR_INVALID_SIZE). Unknown flag bits are
     * dropped, as the tool does. */
    OTK_PARTITION_RULES_GEN,
    /* The same with --disable-md5sum: a 0xEBEB record is just a bad magic. */
    OTK_PARTITION_RULES_GEN_NO_MD5,
} otk_partition_rules_t;

/* Parse a binary table (len bytes; bytes beyond len count as absent). flash_size is the chip
 * size for OTK_PARTITION_RULES_BOOTLOADER and ignored otherwise. Entries get flash_chip NULL,
 * erase_size 0x1000, encrypted false (no flash encryption on a host), readonly from flag
 * bit 1, the label as ESP-IDF copies it (at most 16 chars, up to the first NUL).
 * ESP_ERR_INVALID_SIZE also when more than OTK_PARTITION_TABLE_MAX records would load.
 * On error *table is left empty and diag says which record and why. table may be NULL
 * with OTK_PARTITION_RULES_BOOTLOADER: the bytes are only checked (esp_partition_table_verify,
 * without the entries on the stack). */
esp_err_t otk_partition_table_parse(const uint8_t *data, size_t len, otk_partition_rules_t rules,
                                    uint32_t flash_size, otk_partition_table_t *table,
                                    otk_diag_t *diag);

/* Read the table sector at table_offset (a multiple of 0x1000 inside the device) and parse
 * it with the given rules (chip size = device size). Entries get flash_chip = flash. */
esp_err_t otk_partition_table_load(otk_flash_t *flash, uint32_t table_offset,
                                   otk_partition_rules_t rules, otk_partition_table_t *table,
                                   otk_diag_t *diag);

/* Serialize as gen_esp32part writes it: the records (raw labels and raw flags), the MD5
 * record when md5 is set, 0xFF up to exactly OTK_PARTITION_TABLE_BIN_SIZE bytes.
 * ESP_ERR_INVALID_SIZE when records (+ MD5) would not stay below 0xC00 bytes: at most 94
 * partitions with MD5, 95 without. */
esp_err_t otk_partition_table_serialize(const otk_partition_table_t *table, bool md5,
                                        uint8_t out[OTK_PARTITION_TABLE_BIN_SIZE],
                                        otk_diag_t *diag);

/* Serialize and put it on flash at table_offset: erase the 4 KiB sector, program 0xC00. */
esp_err_t otk_partition_table_write(otk_flash_t *flash, uint32_t table_offset,
                                    const otk_partition_table_t *table, bool md5,
                                    otk_diag_t *diag);

/* Point every entry's flash_chip at a device (for tables parsed from bytes or compiled). */
void otk_partition_table_set_flash(otk_partition_table_t *table, otk_flash_t *flash);

/* An empty table (call before otk_partition_table_add). */
void otk_partition_table_init(otk_partition_table_t *table, uint32_t table_offset);

/* Append one entry (for building tables in code and tests). The label is copied up to 16
 * bytes; flags are the raw record flags. ESP_ERR_NO_MEM when the table is full. */
esp_err_t otk_partition_table_add(otk_partition_table_t *table, const char *label, uint8_t type,
                                  uint8_t subtype, uint32_t offset, uint32_t size,
                                  uint32_t flags);

/* ---- gen_esp32part.py -------------------------------------------------------------- */

typedef enum {
    OTK_PARTITION_SECURE_NONE = 0,
    OTK_PARTITION_SECURE_V1, /* app sizes must be multiples of 0x10000 (--secure v1) */
    OTK_PARTITION_SECURE_V2, /* app sizes multiples of 0x1000, as without secure boot */
} otk_partition_secure_t;

/* Looks up $NAME / ${NAME} for CSV expansion; NULL means "not set" (left as written). */
typedef const char *(*otk_partition_getvar_t)(void *ctx, const char *name, size_t name_len);

/* gen_esp32part's command-line options. */
typedef struct {
    uint32_t table_offset; /* --offset: where the table sits (0x8000) */
    uint32_t flash_size;   /* --flash-size in bytes; 0 = no check */
    bool md5;              /* append / expect the MD5 record (true; --disable-md5sum) */
    bool verify;           /* run the table checks (true; --no-verify) */
    otk_partition_secure_t secure;       /* --secure */
    uint32_t primary_bootloader_offset;  /* --primary-bootloader-offset, or OFFSET_NONE */
    uint32_t recovery_bootloader_offset; /* --recovery-bootloader-offset, or OFFSET_NONE */
    otk_partition_getvar_t getvar;       /* $VAR source; NULL: no variable is set */
    void *getvar_ctx;
} otk_partition_gen_opts_t;

/* The defaults of a bare `gen_esp32part.py IN OUT`. */
void otk_partition_gen_opts_default(otk_partition_gen_opts_t *opts);

/* Compile CSV text (UTF-8, optional BOM) exactly as gen_esp32part.py: keywords and numbers,
 * K/M suffixes, auto offsets, end-address sizes, bootloader / partition_table entries,
 * flags, then every check (alignment, names, overlaps, otadata, NVS, flash size, length).
 * table receives the entries (flash_chip NULL); bin, if not NULL, the 0xC00 bytes.
 * Errors, each message naming the CSV line: ESP_ERR_INVALID_ARG (a field gen_esp32part
 * cannot read, "Error at line N: ...", or a value that does not fit its record field),
 * ESP_ERR_INVALID_STATE (a check failed: "CSV Error at line N: ..." / "line N: ..."),
 * ESP_ERR_INVALID_SIZE (flash size, too many partitions, a data line longer than
 * OTK_PARTITION_CSV_LINE_MAX), ESP_ERR_NOT_SUPPORTED (UTF-16/32 text). Uses about 11 KiB of
 * stack. */
esp_err_t otk_partition_csv_compile(const char *csv, size_t len,
                                    const otk_partition_gen_opts_t *opts,
                                    otk_partition_table_t *table, uint8_t *bin,
                                    otk_diag_t *diag);

/* gen_esp32part's table checks (what it runs after reading a binary table): per partition
 * alignment, read-only rules and NVS size; unique names; nothing below the table sector but
 * the primary bootloader / table entries; no overlap; at most one otadata (and one
 * tee_ota), each 0x2000 bytes; then the flash size when opts->flash_size is set (the
 * checks themselves are skipped when opts->verify is false). Messages name the record. */
esp_err_t otk_partition_table_check(const otk_partition_table_t *table,
                                    const otk_partition_gen_opts_t *opts, otk_diag_t *diag);

/* The table as gen_esp32part's to_csv() prints it (two comment lines, then
 * name,type,subtype,0xOFFSET,SIZE,flags with sizes as nM / nK / 0x..). Writes a NUL too;
 * *out_len (may be NULL) gets the length without it. ESP_ERR_INVALID_SIZE if cap is short. */
esp_err_t otk_partition_table_to_csv(const otk_partition_table_t *table, char *buf, size_t cap,
                                     size_t *out_len);

/* bin2csv as gen_esp32part does it: read with its rules (opts->md5), check (opts->verify,
 * opts->flash_size), print. */
esp_err_t otk_partition_bin_to_csv(const uint8_t *bin, size_t len,
                                   const otk_partition_gen_opts_t *opts, char *buf, size_t cap,
                                   size_t *out_len, otk_diag_t *diag);

/* Keyword of a type ("app", "data", "bootloader", "partition_table") or NULL. */
const char *otk_partition_type_name(uint8_t type);
/* Keyword of a subtype for its type ("factory", "ota_3", "nvs", "primary", ...) or NULL. */
const char *otk_partition_subtype_name(uint8_t type, uint8_t subtype);
/* "none", "ok", "mismatch". */
const char *otk_partition_md5_name(otk_partition_md5_t md5);

/* ---- lookup ------------------------------------------------------------------------ */

/* The next entry at or after *cursor matching type, subtype (ESP_PARTITION_*_ANY = any) and
 * label (NULL = any), in table order; *cursor moves past it. NULL when none is left, and
 * always NULL for type ANY with a specific subtype (as esp_partition_find). */
const esp_partition_t *otk_partition_find_next(const otk_partition_table_t *table,
                                               esp_partition_type_t type,
                                               esp_partition_subtype_t subtype,
                                               const char *label, size_t *cursor);
const esp_partition_t *otk_partition_find_first(const otk_partition_table_t *table,
                                                esp_partition_type_t type,
                                                esp_partition_subtype_t subtype,
                                                const char *label);
/* esp_partition_verify: the table's own entry equal to `partition` (type, subtype, label
 * if non-empty, address, size, flash_chip, encrypted), or NULL. */
const esp_partition_t *otk_partition_table_verify(const otk_partition_table_t *table,
                                                  const esp_partition_t *partition);

/* ---- I/O inside a partition (part->flash_chip is the otk_flash_t) ------------------- */

/* Checks as ESP-IDF's linux partition layer, in its order: readonly -> ESP_ERR_NOT_ALLOWED
 * (write, erase); encrypted -> ESP_ERR_NOT_SUPPORTED (read, write); offset > size ->
 * ESP_ERR_INVALID_ARG; offset + len > size -> ESP_ERR_INVALID_SIZE; erase offset not a
 * multiple of erase_size -> ESP_ERR_INVALID_ARG, len not a multiple -> ESP_ERR_INVALID_SIZE.
 * NULL partition, or no flash_chip -> ESP_ERR_INVALID_ARG. Flash errors pass through (a
 * program that would set a bit fails with ESP_ERR_FLASH_OP_FAIL). */
esp_err_t otk_partition_read(const esp_partition_t *part, size_t offset, void *dst, size_t len);
esp_err_t otk_partition_write(const esp_partition_t *part, size_t offset, const void *src,
                              size_t len);
esp_err_t otk_partition_erase_range(const esp_partition_t *part, size_t offset, size_t len);

/* esp_partition_get_sha256: for an app partition, the image's appended SHA-256 after checking
 * it against the image (ESP_ERR_IMAGE_INVALID if the image does not verify), or the SHA-256
 * of the image bytes when none is appended; for any other partition, the SHA-256 of the
 * whole partition. */
esp_err_t otk_partition_get_sha256(const esp_partition_t *part, uint8_t sha256[32]);
/* Beyond ESP-IDF: feed part [offset, offset + len) as read from flash into ctx (a hash of
 * the bytes as they are now, however they were written). */
esp_err_t otk_partition_sha256_update(const esp_partition_t *part, uint32_t offset,
                                      uint32_t len, otk_sha256_ctx_t *ctx);

/* ---- the current table (src/esp: what esp_partition_* works on) ---------------------- */

/* Set the table the esp_partition_* functions use (NULL: none; they find nothing). The
 * table must outlive its use; esp_partition_t pointers handed out point into it. */
void otk_partition_set_current_table(const otk_partition_table_t *table);
const otk_partition_table_t *otk_partition_get_current_table(void);

#ifdef __cplusplus
}
#endif
#endif
