/* The running app's self-test policy: does the app confirm itself after it boots?
 *
 * On a real device the app decides at its first boot (PENDING_VERIFY) whether to call
 * esp_ota_mark_app_valid_cancel_rollback. A simulated device has no app code to run, so the
 * decision is a policy: a device option (otakit/device_store.h) that can override what the
 * image says, and a marker the image itself carries so that a deliberately bad build can
 * be made with `otakit image make --selftest fail` and seen to roll back.
 *
 * The marker (docs/device.md): a 16-byte record at the start of the app's payload, i.e.
 * right after esp_app_desc_t in segment 0 (image offset 0x120). It is ordinary payload to
 * every ESP tool, so the image stays a normal valid ESP image (checksum and SHA-256 cover
 * it like any other byte).
 *
 *   offset  size  value
 *   0       12    "OTK-SELFTEST" (ASCII, no NUL)
 *   12      1     record format, 1
 *   13      1     'P' (0x50): the app passes its self-test; 'F' (0x46): it never does
 *   14      2     0x00 0x00 (reserved)
 *
 * Pure: no OS calls; the partition variant reads through the flash layer. */
#ifndef OTAKIT_APP_POLICY_H
#define OTAKIT_APP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_partition.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTK_APP_POLICY_RECORD_LEN 16u
#define OTK_APP_POLICY_MAGIC "OTK-SELFTEST"
#define OTK_APP_POLICY_MAGIC_LEN 12u
#define OTK_APP_POLICY_FORMAT 1u
#define OTK_APP_POLICY_BYTE_PASS 0x50u /* 'P' */
#define OTK_APP_POLICY_BYTE_FAIL 0x46u /* 'F' */
/* Image offset of the record: header (24) + segment 0 header (8) + esp_app_desc_t (256). */
#define OTK_APP_POLICY_IMAGE_OFFSET 0x120u

typedef enum {
    OTK_SELFTEST_AUTO = 0, /* device option: follow the image (no marker: the app passes);
                              image: no marker */
    OTK_SELFTEST_PASS,     /* the app confirms itself (mark valid) at its first boot */
    OTK_SELFTEST_FAIL,     /* the app never confirms: the next power-on rolls it back */
} otk_selftest_policy_t;

/* "auto", "pass", "fail" ("?" out of range). */
const char *otk_selftest_policy_name(otk_selftest_policy_t policy);
/* The inverse (exact match). false when the name is none of them. */
bool otk_selftest_policy_from_name(const char *name, otk_selftest_policy_t *out);

/* The 16 record bytes for PASS or FAIL (the builder prepends them to the payload).
 * ESP_ERR_INVALID_ARG for AUTO (no marker means "auto": simply add none). */
esp_err_t otk_app_policy_make_record(otk_selftest_policy_t policy,
                                     uint8_t out[OTK_APP_POLICY_RECORD_LEN]);

/* Decode a record: PASS or FAIL when the bytes are a marker of a known format, AUTO
 * otherwise (ordinary payload). */
otk_selftest_policy_t otk_app_policy_parse_record(const uint8_t *bytes, size_t len);

/* The marker of an app image in memory (len bytes from image offset 0): checks the image
 * magic, that segment 0 is long enough to hold the app descriptor and the record, and
 * the descriptor's magic word, then parses the record. AUTO when there is none. */
otk_selftest_policy_t otk_app_policy_of_image(const uint8_t *image, size_t len);

/* The same for the image at the start of an app partition, read with otk_flash_read from
 * part->flash_chip. ESP_OK with *policy AUTO when there is no marker (or no app image);
 * flash errors are returned as they came. */
esp_err_t otk_app_policy_read(const esp_partition_t *part, otk_selftest_policy_t *policy);

/* What the app does: a device override of PASS or FAIL wins; AUTO follows the image's
 * marker; no marker either way means the app is good (PASS). */
otk_selftest_policy_t otk_app_policy_resolve(otk_selftest_policy_t device_override,
                                             otk_selftest_policy_t image_marker);

#ifdef __cplusplus
}
#endif
#endif
