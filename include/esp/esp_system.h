/* ESP-IDF's esp_system.h (components/esp_system/include/esp_system.h), the part an OTA app
 * uses, over the current simulated device (otakit/esp_host.h). */
#ifndef ESP_SYSTEM_H
#define ESP_SYSTEM_H

#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why the chip last reset (ESP-IDF's values). The host runner tells power-on from a
 * software restart; the rest are never reported. */
typedef enum {
    ESP_RST_UNKNOWN,
    ESP_RST_POWERON,
    ESP_RST_EXT,
    ESP_RST_SW,
    ESP_RST_PANIC,
    ESP_RST_INT_WDT,
    ESP_RST_TASK_WDT,
    ESP_RST_WDT,
    ESP_RST_DEEPSLEEP,
    ESP_RST_BROWNOUT,
    ESP_RST_SDIO,
    ESP_RST_USB,
    ESP_RST_JTAG,
    ESP_RST_EFUSE,
    ESP_RST_PWR_GLITCH,
    ESP_RST_CPU_LOCKUP,
} esp_reset_reason_t;

/* The application's entry point, called by the startup code after boot. ESP-IDF declares
 * it only in its startup code; declaring it here lets app sources that define it compile
 * unchanged under -Wmissing-prototypes. */
void app_main(void);

/* Reboot the current device: under otk_esp_run_app the device powers on again (the
 * bootloader chooses the app) and app_main starts over. Never returns; without a runner it
 * prints why and aborts. */
void esp_restart(void) __attribute__((noreturn));

/* ESP_RST_POWERON on the first boot of a run, ESP_RST_SW after esp_restart();
 * ESP_RST_UNKNOWN with no current device. */
esp_reset_reason_t esp_reset_reason(void);

#ifdef __cplusplus
}
#endif
#endif
