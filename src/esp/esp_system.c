/* esp_system.h and esp_app_desc.h over the current device: restart through the host runner,
 * the running app's description. */
#include "esp_app_desc.h"
#include "esp_system.h"

#include "esp/esp_internal.h"
#include "otakit/esp_host.h"

void esp_restart(void)
{
    otk_esp_host_restart();
}

esp_reset_reason_t esp_reset_reason(void)
{
    return (esp_reset_reason_t)otk_esp_host_reset_reason();
}

const esp_app_desc_t *esp_app_get_description(void)
{
    otk_device_t *dev = otk_esp_device_for(__func__);
    return dev != NULL ? otk_device_running_app(dev) : NULL;
}
