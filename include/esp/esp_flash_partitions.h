/* On-flash records of the partition table and of otadata
 * (components/bootloader_support/include/esp_flash_partitions.h). All little-endian. */
#ifndef ESP_FLASH_PARTITIONS_H
#define ESP_FLASH_PARTITIONS_H

#include <stdint.h>

#include "esp_assert_size.h"

#define ESP_PARTITION_MAGIC 0x50AA
#define ESP_PARTITION_MAGIC_MD5 0xEBEB

#define PART_TYPE_APP 0x00
#define PART_SUBTYPE_FACTORY 0x00
#define PART_SUBTYPE_OTA_FLAG 0x10
#define PART_SUBTYPE_OTA_MASK 0x0f
#define PART_SUBTYPE_TEST 0x20
#define PART_TYPE_DATA 0x01
#define PART_SUBTYPE_DATA_OTA 0x00
#define PART_TYPE_BOOTLOADER 0x02
#define PART_TYPE_PARTITION_TABLE 0x03
#define PART_TYPE_END 0xff
#define PART_SUBTYPE_END 0xff

#define PART_FLAG_ENCRYPTED (1u << 0)
#define PART_FLAG_READONLY (1u << 1)

/* The table occupies at most 0xC00 bytes of its 4 KiB sector: 96 records of 32 bytes. */
#define ESP_PARTITION_TABLE_MAX_LEN 0xC00
#define ESP_PARTITION_TABLE_MAX_ENTRIES (ESP_PARTITION_TABLE_MAX_LEN / sizeof(esp_partition_info_t))
#define ESP_PARTITION_TABLE_OFFSET_DEFAULT 0x8000

typedef struct {
    uint32_t offset;
    uint32_t size;
} esp_partition_pos_t;

/* One 32-byte record of the binary partition table. */
typedef struct {
    uint16_t magic;
    uint8_t type;
    uint8_t subtype;
    esp_partition_pos_t pos;
    uint8_t label[16];
    uint32_t flags;
} esp_partition_info_t;
ESP_STATIC_ASSERT_SIZE(esp_partition_info_t, 32);

typedef enum {
    ESP_OTA_IMG_NEW = 0x0U,
    ESP_OTA_IMG_PENDING_VERIFY = 0x1U,
    ESP_OTA_IMG_VALID = 0x2U,
    ESP_OTA_IMG_INVALID = 0x3U,
    ESP_OTA_IMG_ABORTED = 0x4U,
    ESP_OTA_IMG_UNDEFINED = 0xFFFFFFFFU,
} esp_ota_img_states_t;

/* One otadata entry; the otadata partition holds one at offset 0 and one at 0x1000. */
typedef struct {
    uint32_t ota_seq;
    uint8_t seq_label[20];
    uint32_t ota_state;
    uint32_t crc; /* CRC-32 over ota_seq only, see otakit/otadata.h */
} esp_ota_select_entry_t;
ESP_STATIC_ASSERT_SIZE(esp_ota_select_entry_t, 32);

#endif
