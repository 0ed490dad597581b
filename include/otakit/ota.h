/* The OTA engine: every esp_ota_* function of ESP-IDF v6.1 (spec §5.1), on an explicit
 * device. The esp_ota_* names (esp_ota_ops.h) are thin wrappers over these with the
 * current device.
 *
 * Preconditions and error codes are ESP-IDF's, in ESP-IDF's order, except where
 * docs/decisions-ota.md says otherwise (ESP-IDF quirks fixed on purpose: a failed begin
 * leaves no handle; write of size 0 on an unknown handle and write_with_offset on a
 * sequential-writes handle are errors; set_boot refuses the test subtype and partitions
 * not in the table; ...). Beyond ESP-IDF:
 *   - one pass: bytes are verified as they are read back right after programming, so end
 *     does not read the slot again, and set_boot does not verify again when nothing was
 *     programmed or erased there since end;
 *   - erases use 64 KiB block erases wherever a whole aligned block is erased;
 *   - a write is checked against the partition and the declared image size before any
 *     byte is erased or programmed, and esp_ota_write fails early
 *     (ESP_ERR_OTA_VALIDATE_FAILED) once the bytes written prove the image invalid.
 * A NULL device is ESP_ERR_INVALID_ARG (NULL, false or 0 for the other return types). */
#ifndef OTAKIT_OTA_H
#define OTAKIT_OTA_H

#include "esp_ota_ops.h"
#include "otakit/device.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t otk_ota_begin(otk_device_t *dev, const esp_partition_t *partition, size_t image_size,
                        esp_ota_handle_t *out_handle);
esp_err_t otk_ota_resume(otk_device_t *dev, const esp_partition_t *partition, size_t erase_size,
                         size_t image_offset, esp_ota_handle_t *out_handle);
esp_err_t otk_ota_set_final_partition(otk_device_t *dev, esp_ota_handle_t handle,
                                      const esp_partition_t *final, bool finalize_with_copy);
esp_err_t otk_ota_write(otk_device_t *dev, esp_ota_handle_t handle, const void *data,
                        size_t size);
esp_err_t otk_ota_write_with_offset(otk_device_t *dev, esp_ota_handle_t handle,
                                    const void *data, size_t size, uint32_t offset);
esp_err_t otk_ota_end(otk_device_t *dev, esp_ota_handle_t handle);
esp_err_t otk_ota_abort(otk_device_t *dev, esp_ota_handle_t handle);
esp_err_t otk_ota_set_boot_partition(otk_device_t *dev, const esp_partition_t *partition);
esp_err_t otk_ota_set_boot_partition_skip_validate(otk_device_t *dev,
                                                   const esp_partition_t *partition);
const esp_partition_t *otk_ota_get_boot_partition(otk_device_t *dev);
const esp_partition_t *otk_ota_get_running_partition(otk_device_t *dev);
const esp_partition_t *otk_ota_get_next_update_partition(otk_device_t *dev,
                                                         const esp_partition_t *start_from);
esp_err_t otk_ota_get_partition_description(otk_device_t *dev, const esp_partition_t *partition,
                                            esp_app_desc_t *app_desc);
esp_err_t otk_ota_get_bootloader_description(otk_device_t *dev,
                                             const esp_partition_t *bootloader_partition,
                                             esp_bootloader_desc_t *desc);
uint8_t otk_ota_get_app_partition_count(otk_device_t *dev);
esp_err_t otk_ota_mark_app_valid_cancel_rollback(otk_device_t *dev);
esp_err_t otk_ota_mark_app_invalid_rollback(otk_device_t *dev);
/* As ESP-IDF, then dev->restart_requested on success (the host side reboots). */
esp_err_t otk_ota_mark_app_invalid_rollback_and_reboot(otk_device_t *dev);
const esp_partition_t *otk_ota_get_last_invalid_partition(otk_device_t *dev);
esp_err_t otk_ota_get_state_partition(otk_device_t *dev, const esp_partition_t *partition,
                                      esp_ota_img_states_t *ota_state);
esp_err_t otk_ota_erase_last_boot_app_partition(otk_device_t *dev);
bool otk_ota_check_rollback_is_possible(otk_device_t *dev);
esp_err_t otk_ota_invalidate_inactive_ota_data_slot(otk_device_t *dev);
esp_err_t otk_ota_check_image_validity(otk_device_t *dev, esp_partition_type_t part_type,
                                       const esp_image_header_t *img_hdr,
                                       const esp_app_desc_t *app_desc);

/* Beyond ESP-IDF: the handle's one-pass verifier (a copy in *out), which has taken exactly
 * the bytes staging [0, *taken) as read back from flash, so a caller can checkpoint the
 * verification of what is on flash, or compare it with one it saved, without hashing the
 * bytes a second time. ESP_ERR_INVALID_STATE when the handle has none that holds: out of
 * order writes, a data partition, or flash changed outside the engine since. A verifier
 * that found the image invalid is still returned (out->err, out->diag say why). */
esp_err_t otk_ota_get_verifier(otk_device_t *dev, esp_ota_handle_t handle,
                               otk_image_stream_t *out, uint32_t *taken);
/* Beyond ESP-IDF: the SHA-256 of staging [0, len) of an open update, as a file of len bytes
 * would hash (a host's or a manifest's hash of the image it sent). Without a second pass
 * where the handle's verifier has hashed the image: its SHA-256 state at the image's end
 * is continued over the bytes after it (appended hash, padding, a signature sector), read
 * back; otherwise the whole range is read back and hashed. */
esp_err_t otk_ota_get_sha256(otk_device_t *dev, esp_ota_handle_t handle, uint32_t len,
                             uint8_t out[OTK_SHA256_LEN]);

#ifdef __cplusplus
}
#endif
#endif
