/* ESP-IDF's esp_ota_* (esp_ota_ops.h): each is otk_ota_* (otakit/ota.h) on the current
 * device. With no current device they log why and fail the way the function can fail:
 * ESP_ERR_INVALID_STATE, NULL, 0 or false. */
#include "esp_ota_ops.h"

#include "esp/esp_internal.h"
#include "esp_system.h"
#include "otakit/ota.h"

esp_err_t esp_ota_begin(const esp_partition_t *partition, size_t image_size,
                        esp_ota_handle_t *out_handle)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_begin(dev, partition, image_size, out_handle) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_resume(const esp_partition_t *partition, const size_t erase_size,
                         const size_t image_offset, esp_ota_handle_t *out_handle)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_resume(dev, partition, erase_size, image_offset, out_handle)
               : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_set_final_partition(esp_ota_handle_t handle, const esp_partition_t *final,
                                      bool finalize_with_copy)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_set_final_partition(dev, handle, final, finalize_with_copy)
               : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_write(esp_ota_handle_t handle, const void *data, size_t size)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_write(dev, handle, data, size) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_write_with_offset(esp_ota_handle_t handle, const void *data, size_t size,
                                    uint32_t offset)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_write_with_offset(dev, handle, data, size, offset)
               : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_end(esp_ota_handle_t handle)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_end(dev, handle) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_abort(esp_ota_handle_t handle)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_abort(dev, handle) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_set_boot_partition(const esp_partition_t *partition)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_set_boot_partition(dev, partition) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_set_boot_partition_skip_validate(const esp_partition_t *partition)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_set_boot_partition_skip_validate(dev, partition)
               : ESP_ERR_INVALID_STATE;
}

const esp_partition_t *esp_ota_get_boot_partition(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_boot_partition(dev) : NULL;
}

const esp_partition_t *esp_ota_get_running_partition(void)
{
    /* ESP-IDF aborts when no partition holds the running code; NULL lets a host test see
     * it instead. */
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_running_partition(dev) : NULL;
}

const esp_partition_t *esp_ota_get_next_update_partition(const esp_partition_t *start_from)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_next_update_partition(dev, start_from) : NULL;
}

esp_err_t esp_ota_get_partition_description(const esp_partition_t *partition,
                                            esp_app_desc_t *app_desc)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_partition_description(dev, partition, app_desc)
               : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_get_bootloader_description(const esp_partition_t *bootloader_partition,
                                             esp_bootloader_desc_t *desc)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_bootloader_description(dev, bootloader_partition, desc)
               : ESP_ERR_INVALID_STATE;
}

uint8_t esp_ota_get_app_partition_count(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_app_partition_count(dev) : 0;
}

esp_err_t esp_ota_mark_app_valid_cancel_rollback(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_mark_app_valid_cancel_rollback(dev) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_mark_app_invalid_rollback(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_mark_app_invalid_rollback(dev) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    if (dev == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    esp_err_t err = otk_ota_mark_app_invalid_rollback_and_reboot(dev);
    if (err == ESP_OK) {
        esp_restart(); /* as ESP-IDF: only a failure returns */
    }
    return err;
}

const esp_partition_t *esp_ota_get_last_invalid_partition(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_last_invalid_partition(dev) : NULL;
}

esp_err_t esp_ota_get_state_partition(const esp_partition_t *partition,
                                      esp_ota_img_states_t *ota_state)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_get_state_partition(dev, partition, ota_state) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_erase_last_boot_app_partition(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_erase_last_boot_app_partition(dev) : ESP_ERR_INVALID_STATE;
}

bool esp_ota_check_rollback_is_possible(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_check_rollback_is_possible(dev) : false;
}

esp_err_t esp_ota_invalidate_inactive_ota_data_slot(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_invalidate_inactive_ota_data_slot(dev) : ESP_ERR_INVALID_STATE;
}

esp_err_t esp_ota_check_image_validity(esp_partition_type_t part_type,
                                       const esp_image_header_t *img_hdr,
                                       const esp_app_desc_t *app_desc)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev ? otk_ota_check_image_validity(dev, part_type, img_hdr, app_desc)
               : ESP_ERR_INVALID_STATE;
}
