/* What a simulated device keeps outside its flash, persisted beside the flash image.
 *
 * A real ESP keeps its configuration in the firmware build (Kconfig) and its anti-rollback
 * state in eFuses; neither is on the flash. The simulated device keeps both in a small
 * text file next to the flash image, "FLASH.device" (dev.bin -> dev.bin.device), so a
 * device keeps its identity across power cycles and across programs (otakit-device,
 * `otakit ota`, `otakit device`). The file also holds the device's self-test option
 * (otakit/app_policy.h).
 *
 * Format: one "key = value" per line; '#' starts a comment; blank lines are ignored; every
 * key is optional (a missing one keeps its default) and may appear once. Keys:
 *
 *   chip                  esp32, esp32s2, esp32c3, ... (otakit image make --chip names)
 *   chip_rev              major * 100 + minor, 0..65535
 *   rollback              on | off   CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
 *   anti_rollback         on | off   CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK (needs rollback)
 *   secure_version_bits   1..32      CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD
 *                                    (default: the chip's, also when only chip is given)
 *   table_offset          0x8000     CONFIG_PARTITION_TABLE_OFFSET (multiple of 0x1000)
 *   table_md5             on | off   CONFIG_PARTITION_TABLE_MD5
 *   otadata_rule          v6 | v5    how set_boot rewrites an already selected slot
 *   selftest              auto | pass | fail   the device's self-test override
 *   efuse_secure_version  0x...      the secure-version eFuse field, as a bit pattern
 *   manifest_key          none | 128 hex digits: the P-256 public key (x || y) that update
 *                                    manifests must be signed with (docs/manifest.md);
 *                                    none (the default): manifests are not authenticated
 *   secure_boot           on | off   Secure Boot v2 (the SECURE_BOOT_EN eFuse): only images
 *                                    signed by a trusted key boot and install (security.md)
 *   key_digest0..2        none | 64 hex digits: the eFuse key digest blocks, SHA-256 of a
 *                                    signing key's public material (otakit image key-digest);
 *                                    secure_boot = on needs at least one
 *
 * Unknown keys, repeated keys and bad values are errors that name the line. A missing file
 * means a new device: the defaults (otk_device_config_init, eFuse blank, selftest auto);
 * the file is created on the first save.
 *
 * The parser and formatter are pure (text in memory); only load/save touch files. */
#ifndef OTAKIT_DEVICE_STORE_H
#define OTAKIT_DEVICE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "otakit/app_policy.h"
#include "otakit/device.h"
#include "otakit/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The suffix added to the flash image's path. */
#define OTK_DEVICE_STORE_SUFFIX ".device"
/* A line longer than this is not something we wrote or a person would write. */
#define OTK_DEVICE_STORE_LINE_MAX 256u
/* The formatted file is about 1.5 KiB (ten keys with their comments); a file over 64 KiB
 * is not a device file, and refusing it bounds what load reads. */
#define OTK_DEVICE_STORE_TEXT_MAX 4096u
#define OTK_DEVICE_STORE_FILE_MAX 65536u
/* Longest path load/save handle (Linux PATH_MAX). */
#define OTK_DEVICE_STORE_PATH_MAX 4096u

/* A manifest key: P-256 x || y, as the crypto port takes it. */
#define OTK_DEVICE_STORE_KEY_LEN 64u

typedef struct {
    otk_device_config_t config;
    uint32_t efuse_secure_version; /* the eFuse field's bit pattern (boot.h) */
    otk_selftest_policy_t selftest;
    bool has_manifest_key;         /* the update service takes only manifests it signed */
    uint8_t manifest_key[OTK_DEVICE_STORE_KEY_LEN];
} otk_device_store_t;

/* A new device: otk_device_config_init, eFuse 0, selftest auto. */
void otk_device_store_init(otk_device_store_t *store);

/* Apply the lines of text[0..len) over *store (normally fresh from otk_device_store_init).
 * ESP_ERR_INVALID_ARG on the first bad line, with diag "line N: ..." (what is wrong and
 * what was expected); *store is then partly updated. */
esp_err_t otk_device_store_parse(const char *text, size_t len, otk_device_store_t *store,
                                 otk_diag_t *diag);

/* The file's text (NUL-terminated) into buf. ESP_ERR_INVALID_SIZE when cap is too small
 * (OTK_DEVICE_STORE_TEXT_MAX always suffices). *out_len (may be NULL) gets the length. */
esp_err_t otk_device_store_format(const otk_device_store_t *store, char *buf, size_t cap,
                                  size_t *out_len);

/* "dev.bin" -> "dev.bin.device". false when it does not fit cap. */
bool otk_device_store_path(const char *flash_path, char *out, size_t cap);

/* Load the file beside flash_path over fresh defaults. A missing file is a new device:
 * ESP_OK with the defaults and *existed (may be NULL) false. Errors: ESP_ERR_INVALID_ARG
 * (a bad line: diag "PATH:N: ..."), ESP_ERR_INVALID_SIZE (too large), ESP_FAIL (cannot
 * read it), all with diag. */
esp_err_t otk_device_store_load(const char *flash_path, otk_device_store_t *store,
                                bool *existed, otk_diag_t *diag);

/* Write the file beside flash_path (a temporary file renamed over it, so a crash leaves
 * the old file or the new one, never half of one). ESP_FAIL with diag on error. */
esp_err_t otk_device_store_save(const char *flash_path, const otk_device_store_t *store,
                                otk_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif
