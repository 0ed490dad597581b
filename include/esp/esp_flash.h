/* ESP-IDF names the flash chip behind a partition `esp_flash_t`. On the host that chip is
 * an otakit emulated flash device, so the ESP name is an alias of the native type. */
#ifndef ESP_FLASH_H
#define ESP_FLASH_H

struct otk_flash;
typedef struct otk_flash esp_flash_t;

#endif
