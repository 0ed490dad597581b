/* ESP-IDF's esp_app_desc.h: the running app's description. */
#ifndef ESP_APP_DESC_H
#define ESP_APP_DESC_H

#include "esp_app_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The esp_app_desc_t of the app that runs on the current device (NULL when none). */
const esp_app_desc_t *esp_app_get_description(void);

#ifdef __cplusplus
}
#endif
#endif
