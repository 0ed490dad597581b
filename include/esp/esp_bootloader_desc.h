/* The second-stage bootloader's descriptor (esp_bootloader_format), 80 bytes at image
 * offset 0x20 of a bootloader image. */
#ifndef ESP_BOOTLOADER_DESC_H
#define ESP_BOOTLOADER_DESC_H

#include <stdint.h>

#include "esp_assert_size.h"

#define ESP_BOOTLOADER_DESC_MAGIC_BYTE 80

typedef struct {
    uint8_t magic_byte;
    uint8_t reserved[2];
    uint8_t secure_version;
    uint32_t version;
    char idf_ver[32];
    char date_time[24];
    uint8_t reserved2[16];
} esp_bootloader_desc_t;
ESP_STATIC_ASSERT_SIZE(esp_bootloader_desc_t, 80);

#endif
