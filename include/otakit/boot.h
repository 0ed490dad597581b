/* The boot layer: ESP-IDF's second-stage bootloader choosing the app that runs (spec §4).
 *
 * One call does what bootloader_start.c does between "load the partition table" and "jump
 * to the app": verify the table, read otadata, sweep PENDING_VERIFY entries to ABORTED
 * (rollback), select an index (otadata seq, factory, ota_0, or the test app), mark a NEW
 * selection PENDING_VERIFY, apply anti-rollback, then walk the fallback order verifying
 * each candidate's image in full until one passes, and write the initial otadata entry
 * when otadata was blank. It reports the partition that runs, the index selected before
 * any fallback and why, every candidate it refused and why, every otadata write and every
 * eFuse change it made.
 *
 * Where the real bootloader resets (bad table, otadata too small, nothing bootable) this
 * returns an error instead; calling it again is the reset.
 *
 * No allocation and no global state. The working set (a partition table and one image
 * verification, otk_boot_work_t) is the caller's with otk_boot_run_with, so the layer's own
 * stack stays small (under 2 KiB on a Cortex-M4, docs/porting.md); otk_boot_run keeps it on
 * its stack instead (about 8 KiB on a 64-bit host). The result (about 7.9 KiB with the
 * diagnostic text) is the caller's too. Each candidate image is read once; with
 * anti-rollback the 256-byte app description of a slot is read once more beforehand (the
 * check comes before the load, as in ESP-IDF). */
#ifndef OTAKIT_BOOT_H
#define OTAKIT_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_flash_partitions.h"
#include "esp_partition.h"
#include "otakit/diag.h"
#include "otakit/flash.h"
#include "otakit/image.h"
#include "otakit/otadata.h"
#include "otakit/partition.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Boot indices, as bootloader_utility.c numbers them: OTA slot k is k >= 0. */
#define OTK_BOOT_INDEX_FACTORY (-1)  /* FACTORY_INDEX */
#define OTK_BOOT_INDEX_TEST (-2)     /* TEST_APP_INDEX */
#define OTK_BOOT_INDEX_INVALID (-99) /* INVALID_INDEX: the bootloader resets */

/* The fallback walk visits each of the 16 slots, the factory and the test app at most once,
 * so this many refusals can be recorded. */
#define OTK_BOOT_MAX_CANDIDATES (OTK_OTADATA_MAX_SLOTS + 2u)
/* Two selections can run (the factory-reset pin re-selects), each with a two-entry sweep
 * and one NEW -> PENDING_VERIFY write, plus the initial-contents write: 7; 8 is a margin. */
#define OTK_BOOT_MAX_OTADATA_WRITES 8u
/* Raises: once per selection (two at most) and once for the initial-contents write. */
#define OTK_BOOT_MAX_EFUSE_CHANGES 4u
/* Data partitions erased by the factory-reset pin that are listed one by one; more are
 * still erased and counted in erase_total. */
#define OTK_BOOT_MAX_ERASES 16u
/* The eFuse field is handed over as a uint32 bit pattern. */
#define OTK_BOOT_EFUSE_MAX_BITS 32u
/* A partition label with its NUL (esp_partition_t.label). */
#define OTK_BOOT_LABEL_LEN 17u

typedef struct {
    /* CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE: the PENDING_VERIFY -> ABORTED sweep and the
     * NEW -> PENDING_VERIFY mark. Default true. */
    bool rollback;
    /* CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK: apps whose secure_version is below the eFuse
     * value do not boot, and booting a VALID app raises the eFuse. Needs rollback (a
     * Kconfig dependency). Default false. */
    bool anti_rollback;
    /* What image verification is held to: the chip's esp_chip_id_t (OTK_IMAGE_CHIP_ANY
     * accepts any, the default) and its revision (major * 100 + minor) when checked. */
    uint32_t chip_id;
    bool check_chip_rev;
    uint16_t chip_rev;
    /* The secure-version eFuse field (in/out: written when the boot burns bits; the caller
     * persists it). A thermometer code: the version is the number of set bits among the
     * low secure_version_bits (CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD, 1..32).
     * Used only with anti_rollback. Default 0 with 16 bits. */
    uint32_t secure_version_efuse;
    uint8_t secure_version_bits;
    /* Secure Boot v2 (CONFIG_SECURE_BOOT_V2_ENABLED with its eFuses): every candidate
     * must carry a signature block by one of the trusted keys that verifies over it
     * (image.h), or it does not boot and the walk falls back. Default off. */
    otk_image_secure_boot_t secure_boot;
    /* The GPIO overrides of §4.1 step 7, as "the pin was held at this boot".
     * factory_reset (CONFIG_BOOTLOADER_FACTORY_RESET): erase the data partitions named in
     * factory_reset_data (labels separated by commas or spaces,
     * CONFIG_BOOTLOADER_DATA_FACTORY_RESET; NULL = none) and, with
     * factory_reset_erase_otadata (CONFIG_BOOTLOADER_OTA_DATA_ERASE), the otadata, then
     * select again. test_app (CONFIG_BOOTLOADER_APP_TEST): boot the test app or nothing. */
    bool factory_reset;
    bool factory_reset_erase_otadata;
    const char *factory_reset_data;
    bool test_app;
} otk_boot_config_t;

/* Where a failed boot stopped. */
typedef enum {
    OTK_BOOT_STAGE_NONE = 0, /* no failure */
    OTK_BOOT_STAGE_ARGS,     /* NULL argument or inconsistent config: ESP_ERR_INVALID_ARG */
    OTK_BOOT_STAGE_TABLE,    /* the partition table failed the bootloader's verification:
                                the table layer's error */
    OTK_BOOT_STAGE_OTADATA,  /* otadata smaller than 0x2000 (ESP_ERR_INVALID_SIZE), not
                                readable (the flash error), or power lost while selecting
                                (ESP_ERR_FLASH_OP_FAIL) */
    OTK_BOOT_STAGE_SELECT,   /* the test-app pin was held but there is no test partition:
                                ESP_ERR_NOT_FOUND; or power lost during the factory-reset
                                erase: ESP_ERR_FLASH_OP_FAIL */
    OTK_BOOT_STAGE_LOAD,     /* no candidate passed: ESP_ERR_NOT_FOUND ("No bootable app
                                partitions"), or the flash lost power: its error */
} otk_boot_stage_t;

/* The otadata writes the bootloader makes. */
typedef enum {
    OTK_BOOT_WRITE_ABORTED,        /* rollback sweep: PENDING_VERIFY found at boot */
    OTK_BOOT_WRITE_PENDING_VERIFY, /* the selected entry was NEW */
    OTK_BOOT_WRITE_INITIAL,        /* blank otadata and an OTA slot booted: sector 0 gets
                                      {seq = slot + 1, label 0xFF, VALID, crc} */
} otk_boot_write_kind_t;

typedef struct {
    otk_boot_write_kind_t kind;
    int sector;                   /* 0 or 1 */
    esp_ota_select_entry_t entry; /* the 32 bytes written */
    esp_err_t err;                /* ESP_OK, or the flash error (the bootloader goes on) */
} otk_boot_otadata_write_t;

/* A candidate of the fallback walk that did not boot. */
typedef struct {
    int index;                      /* slot k, or OTK_BOOT_INDEX_FACTORY / _TEST */
    char label[OTK_BOOT_LABEL_LEN]; /* partition label; "" when absent */
    uint32_t address;               /* 0 when absent */
    esp_err_t err;   /* ESP_ERR_IMAGE_INVALID / ESP_ERR_INVALID_ARG (image), a flash error,
                        ESP_ERR_OTA_SMALL_SEC_VER (anti-rollback), ESP_ERR_NOT_FOUND (absent,
                        or no app description for the anti-rollback check) */
    char reason[OTK_DIAG_MAX];      /* the verifier's diag text, "secure_version 1 < eFuse 2",
                                       "absent", ... */
} otk_boot_refusal_t;

/* One attempt to raise the secure-version eFuse. */
typedef struct {
    uint32_t version;      /* the app's secure_version asked for */
    uint32_t field_before; /* bit patterns */
    uint32_t field_after;
    esp_err_t err;         /* ESP_ERR_INVALID_ARG when version > the field's width; the boot
                              goes on (ESP-IDF ignores it too) */
} otk_boot_efuse_change_t;

/* A data partition erased by the factory-reset pin. */
typedef struct {
    char label[OTK_BOOT_LABEL_LEN];
    uint32_t address;
    uint32_t size;
    esp_err_t err;
} otk_boot_erase_t;

typedef struct {
    esp_err_t err;          /* ESP_OK: `partition` runs */
    otk_boot_stage_t stage; /* where it failed (OTK_BOOT_STAGE_NONE on success) */
    otk_diag_t diag;        /* why it failed, one line */

    /* The app that runs (valid when err == ESP_OK). */
    int index;
    esp_partition_t partition;
    otk_image_info_t image; /* what the verifier saw: header, segments, app description */

    /* The selection before fallback: index and why ("otadata seq 2 selects ota_1",
     * "initial otadata: factory"). OTK_BOOT_INDEX_INVALID when selection failed. */
    int selected_index;
    char why[OTK_DIAG_MAX];
    bool initial_contents;            /* otadata was blank (both entries empty / bad CRC) */
    bool has_otadata;                 /* otadata[] holds what was read */
    esp_ota_select_entry_t otadata[2];/* the entries as read (before any write) */

    size_t refused_count;
    otk_boot_refusal_t refused[OTK_BOOT_MAX_CANDIDATES];
    size_t write_count;
    otk_boot_otadata_write_t writes[OTK_BOOT_MAX_OTADATA_WRITES];
    size_t efuse_change_count;
    otk_boot_efuse_change_t efuse_changes[OTK_BOOT_MAX_EFUSE_CHANGES];
    size_t erase_total; /* partitions the factory-reset pin erased (or tried to) */
    otk_boot_erase_t erases[OTK_BOOT_MAX_ERASES];
} otk_boot_result_t;

/* The boot's working memory, in caller storage (static on a microcontroller, part of
 * otk_device_t on a simulated device): the table as the bootloader verifies it, and the
 * image verification of the candidate being tried. Both are scratch: nothing in the result
 * points into them, so they may be reused once the boot returns. */
typedef struct {
    otk_partition_table_t *table;
    otk_image_stream_t *stream;
} otk_boot_work_t;

/* Rollback on, anti-rollback off, any chip, no revision check, eFuse 0 of 16 bits, no pins
 * held. */
void otk_boot_config_init(otk_boot_config_t *config);

/* Boot the device: the table at table_offset (bootloader rules, chip size = device size).
 * Returns result->err: ESP_OK, or per result->stage (see otk_boot_stage_t). Writes otadata
 * and config->secure_version_efuse as ESP-IDF's bootloader would; never touches an app
 * partition. The result is filled in either case. */
esp_err_t otk_boot_run(otk_flash_t *flash, uint32_t table_offset, otk_boot_config_t *config,
                       otk_boot_result_t *result);
/* The same with the working set in *work (both pointers set; else ESP_ERR_INVALID_ARG at
 * stage ARGS). */
esp_err_t otk_boot_run_with(otk_flash_t *flash, uint32_t table_offset,
                            otk_boot_config_t *config, otk_boot_result_t *result,
                            const otk_boot_work_t *work);

/* "ota_0" .. "ota_15", "factory", "test", or "invalid". */
const char *otk_boot_index_name(int index);
/* "none", "args", "table", "otadata", "select", "load". */
const char *otk_boot_stage_name(otk_boot_stage_t stage);
/* "aborted", "pending_verify", "initial". */
const char *otk_boot_write_kind_name(otk_boot_write_kind_t kind);

/* ---- the secure-version eFuse field (thermometer code, spec §4.4) ---------------- */

/* CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD's default for a chip: 32 on ESP32, 4 on
 * ESP32-C2, 9 on ESP32-C5, 16 otherwise. */
uint8_t otk_boot_efuse_default_bits(uint16_t chip_id);
/* The version the field holds: set bits among its low `bits` bits (0 if bits is 0). */
uint32_t otk_boot_efuse_secure_version(uint32_t field, uint8_t bits);
/* esp_efuse_check_secure_version: an app may run when its version >= the field's. */
bool otk_boot_efuse_check(uint32_t field, uint8_t bits, uint32_t app_secure_version);
/* esp_efuse_update_secure_version: burn more bits (lowest clear ones first; bits only go
 * 0 -> 1) until the field holds `version`. A version at or below the current one changes
 * nothing. ESP_ERR_INVALID_ARG, field unchanged, if version > bits or bits is not 1..32. */
esp_err_t otk_boot_efuse_raise(uint32_t *field, uint8_t bits, uint32_t version);

#ifdef __cplusplus
}
#endif
#endif
