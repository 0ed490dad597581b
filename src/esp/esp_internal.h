/* Shared by the esp_* wrappers (src/esp): the current device with a log line when there is
 * none, and the runner's restart. Not a public header. */
#ifndef OTAKIT_ESP_INTERNAL_H
#define OTAKIT_ESP_INTERNAL_H

#include "otakit/device.h"

/* The current device, or NULL after logging "<func>: no current device" (an ESP-IDF app
 * run without otk_esp_set_current_device / otk_esp_run_app). */
otk_device_t *otk_esp_device_for(const char *func);

/* Reset the current device: jump back into the otk_esp_run_app that runs it. Without one
 * (or for another device) print why to stderr and abort(), as there is nothing to reboot
 * into. */
__attribute__((noreturn)) void otk_esp_host_restart(void);

/* esp_reset_reason for the current device (an esp_reset_reason_t). */
int otk_esp_host_reset_reason(void);

#endif
