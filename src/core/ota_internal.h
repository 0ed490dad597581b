/* Private to the OTA engine (ota_*.c): what its files share. */
#ifndef OTAKIT_OTA_INTERNAL_H
#define OTAKIT_OTA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/ota.h"

#define OTA_TAG "esp_ota_ops" /* ESP-IDF's log tag for this component */

/* Flash is read back and copied in pieces of the core's I/O chunk (a sector on a host):
 * small enough for the stack, large enough that the read calls stay few. */
#define OTA_IO_CHUNK OTK_CONFIG_IO_CHUNK

/* The check esp_ota_end applies, chosen by the final partition's type. */
typedef enum {
    OTA_CHECK_NONE,       /* data partitions: no check */
    OTA_CHECK_APP,        /* a full app image verification */
    OTA_CHECK_BOOTLOADER, /* a full bootloader image verification */
    OTA_CHECK_TABLE,      /* esp_partition_table_verify of the first 0xC00 bytes */
} ota_check_t;

/* ---- ota_util.c --------------------------------------------------------------------- */

/* A device to work on: not NULL, attached to a flash. Every entry point checks it first
 * (ESP_ERR_INVALID_ARG, NULL, false or 0 otherwise). */
bool ota_dev_ok(const otk_device_t *dev);
/* ESP-IDF's is_ota_partition: type app, subtype ota_0..ota_15. */
bool ota_is_ota_app(const esp_partition_t *p);
/* esp_partition_verify: the device table's own entry for p, or NULL. */
const esp_partition_t *ota_canonical(otk_device_t *dev, const esp_partition_t *p);
/* p as given, bound to the device's flash when the caller left flash_chip NULL (ESP-IDF
 * then uses the default chip). Returns p itself or tmp. */
const esp_partition_t *ota_bind(otk_device_t *dev, const esp_partition_t *p,
                                esp_partition_t *tmp);
/* read_otadata: the otadata partition (NULL when none or unreadable) and both entries. */
const esp_partition_t *ota_read_otadata(otk_device_t *dev, esp_ota_select_entry_t entries[2]);
/* The app's slot count N (esp_ota_get_app_partition_count). */
uint32_t ota_slot_count(otk_device_t *dev);
/* ESP-IDF's verify options for this device's chip (id and revision). */
void ota_verify_opts(const otk_device_t *dev, otk_image_kind_t kind,
                     otk_image_verify_opts_t *opts);
/* image_validate: a full app verification of p's flash. ESP_OK or the verifier's error
 * (callers map it to ESP_ERR_OTA_VALIDATE_FAILED). info may be NULL. quiet: no error log
 * (ESP_IMAGE_VERIFY_SILENT, for the functions that only ask whether an image is there). */
esp_err_t ota_verify_app(otk_device_t *dev, const esp_partition_t *p, otk_image_info_t *info,
                         bool quiet);
/* What end checks for a final partition of this type. */
ota_check_t ota_check_of(const esp_partition_t *final);

/* ---- ota_begin.c -------------------------------------------------------------------- */

/* The open update with this handle, or NULL (0 is never a handle). */
otk_ota_entry_t *ota_entry_find(otk_device_t *dev, esp_ota_handle_t handle);
/* Back to the pool. */
void ota_entry_free(otk_ota_entry_t *e);

/* ---- ota_stream.c ------------------------------------------------------------------- */

/* Start the entry's verification stream over for its final partition. */
void ota_stream_reset(otk_device_t *dev, otk_ota_entry_t *e);
/* Feed staging [stream_end, upto) from flash to the stream: the bytes a write just
 * programmed, what a resumption finds already written, the rest of an image at end. Reads
 * stop once the verifier has its verdict. A read error only makes the stream
 * non-authoritative (end then verifies from flash and meets the error itself). */
void ota_stream_catch_up(otk_ota_entry_t *e, uint32_t upto);
/* Bytes staging [offset, offset + len) were just programmed by this handle: read them
 * back and feed the stream when they continue it; otherwise the stream stops being
 * authoritative. */
void ota_stream_take(otk_ota_entry_t *e, uint32_t offset, uint32_t len);

/* The flash-contents ledger (see otk_device_t.ota_ops_mark). ota_ops_begin: at the start
 * of an engine call that trusts or changes flash; drops streams and the verified image if
 * something else changed flash since the engine last did. ota_ops_end: after the engine
 * changed flash itself. */
void ota_ops_begin(otk_device_t *dev);
void ota_ops_end(otk_device_t *dev);
/* The engine is about to change flash [address, address + len): forget what it knew of
 * those bytes, except the stream of `keep` (the handle doing the write; may be NULL). */
void ota_forget_range(otk_device_t *dev, uint32_t address, uint32_t len,
                      const otk_ota_entry_t *keep);

/* ---- ota_state.c -------------------------------------------------------------------- */

/* esp_ota_get_state_partition without the argument checks. */
esp_err_t ota_state_of(otk_device_t *dev, const esp_partition_t *p,
                       esp_ota_img_states_t *state);

#endif
