/* ESP-IDF's OTA API (components/app_update/include/esp_ota_ops.h, the v6.1 set), same
 * names, types and error codes, over the current simulated device (otakit/esp_host.h).
 * The native API with an explicit device is otakit/ota.h. */
#ifndef ESP_OTA_OPS_H
#define ESP_OTA_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_app_desc.h"
#include "esp_app_format.h"
#include "esp_bootloader_desc.h"
#include "esp_err.h"
#include "esp_flash_partitions.h"
#include "esp_partition.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sentinels for esp_ota_begin's image_size. They are the 32-bit values 0xFFFFFFFF and
 * 0xFFFFFFFE, not SIZE_MAX: on a 64-bit host image_size is compared with these values
 * as a whole size_t, so SIZE_MAX or 0x1FFFFFFFF is a (too large) size, not a sentinel. */
#define OTA_SIZE_UNKNOWN 0xffffffff
#define OTA_WITH_SEQUENTIAL_WRITES 0xfffffffe

typedef uint32_t esp_ota_handle_t;

esp_err_t esp_ota_begin(const esp_partition_t *partition, size_t image_size,
                        esp_ota_handle_t *out_handle);
esp_err_t esp_ota_resume(const esp_partition_t *partition, const size_t erase_size,
                         const size_t image_offset, esp_ota_handle_t *out_handle);
esp_err_t esp_ota_set_final_partition(esp_ota_handle_t handle, const esp_partition_t *final,
                                      bool finalize_with_copy);
esp_err_t esp_ota_write(esp_ota_handle_t handle, const void *data, size_t size);
esp_err_t esp_ota_write_with_offset(esp_ota_handle_t handle, const void *data, size_t size,
                                    uint32_t offset);
esp_err_t esp_ota_end(esp_ota_handle_t handle);
esp_err_t esp_ota_abort(esp_ota_handle_t handle);
esp_err_t esp_ota_set_boot_partition(const esp_partition_t *partition);
esp_err_t esp_ota_set_boot_partition_skip_validate(const esp_partition_t *partition);
const esp_partition_t *esp_ota_get_boot_partition(void);
const esp_partition_t *esp_ota_get_running_partition(void);
const esp_partition_t *esp_ota_get_next_update_partition(const esp_partition_t *start_from);
esp_err_t esp_ota_get_partition_description(const esp_partition_t *partition,
                                            esp_app_desc_t *app_desc);
esp_err_t esp_ota_get_bootloader_description(const esp_partition_t *bootloader_partition,
                                             esp_bootloader_desc_t *desc);
uint8_t esp_ota_get_app_partition_count(void);
esp_err_t esp_ota_mark_app_valid_cancel_rollback(void);
esp_err_t esp_ota_mark_app_invalid_rollback(void);
esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void);
const esp_partition_t *esp_ota_get_last_invalid_partition(void);
esp_err_t esp_ota_get_state_partition(const esp_partition_t *partition,
                                      esp_ota_img_states_t *ota_state);
esp_err_t esp_ota_erase_last_boot_app_partition(void);
bool esp_ota_check_rollback_is_possible(void);
esp_err_t esp_ota_invalidate_inactive_ota_data_slot(void);
esp_err_t esp_ota_check_image_validity(esp_partition_type_t part_type,
                                       const esp_image_header_t *img_hdr,
                                       const esp_app_desc_t *app_desc);

#ifdef __cplusplus
}
#endif
#endif
