/* ESP-IDF's app image format (components/bootloader_support/include/esp_app_format.h and
 * components/esp_app_format/include/esp_app_desc.h). Layouts are byte-exact, little-endian. */
#ifndef ESP_APP_FORMAT_H
#define ESP_APP_FORMAT_H

#include <stdint.h>

#include "esp_assert_size.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ESP_CHIP_ID_ESP32 = 0x0000,
    ESP_CHIP_ID_ESP32S2 = 0x0002,
    ESP_CHIP_ID_ESP32C3 = 0x0005,
    ESP_CHIP_ID_ESP32S3 = 0x0009,
    ESP_CHIP_ID_ESP32C2 = 0x000C,
    ESP_CHIP_ID_ESP32C6 = 0x000D,
    ESP_CHIP_ID_ESP32H2 = 0x0010,
    ESP_CHIP_ID_ESP32P4 = 0x0012,
    ESP_CHIP_ID_ESP32C61 = 0x0014,
    ESP_CHIP_ID_ESP32C5 = 0x0017,
    ESP_CHIP_ID_ESP32H21 = 0x0019,
    ESP_CHIP_ID_ESP32H4 = 0x001C,
    ESP_CHIP_ID_ESP32S31 = 0x0020,
    ESP_CHIP_ID_INVALID = 0xFFFF,
} __attribute__((packed)) esp_chip_id_t;
ESP_STATIC_ASSERT_SIZE(esp_chip_id_t, 2);

typedef enum {
    ESP_IMAGE_SPI_MODE_QIO,
    ESP_IMAGE_SPI_MODE_QOUT,
    ESP_IMAGE_SPI_MODE_DIO,
    ESP_IMAGE_SPI_MODE_DOUT,
    ESP_IMAGE_SPI_MODE_FAST_READ,
    ESP_IMAGE_SPI_MODE_SLOW_READ,
} esp_image_spi_mode_t;

typedef enum {
    ESP_IMAGE_SPI_SPEED_DIV_2 = 0x0,
    ESP_IMAGE_SPI_SPEED_DIV_3 = 0x1,
    ESP_IMAGE_SPI_SPEED_DIV_4 = 0x2,
    ESP_IMAGE_SPI_SPEED_DIV_1 = 0xF,
} esp_image_spi_freq_t;

typedef enum {
    ESP_IMAGE_FLASH_SIZE_1MB = 0,
    ESP_IMAGE_FLASH_SIZE_2MB,
    ESP_IMAGE_FLASH_SIZE_4MB,
    ESP_IMAGE_FLASH_SIZE_8MB,
    ESP_IMAGE_FLASH_SIZE_16MB,
    ESP_IMAGE_FLASH_SIZE_32MB,
    ESP_IMAGE_FLASH_SIZE_64MB,
    ESP_IMAGE_FLASH_SIZE_128MB,
    ESP_IMAGE_FLASH_SIZE_MAX,
} esp_image_flash_size_t;

#define ESP_IMAGE_HEADER_MAGIC 0xE9
#define ESP_IMAGE_MAX_SEGMENTS 16
#define ESP_IMAGE_CHECKSUM_SEED 0xEF
#define ESP_IMAGE_HASH_LEN 32
#define ESP_IMAGE_WP_PIN_DISABLED 0xEE

/* The 24-byte image header at offset 0 of an app or bootloader image. */
typedef struct {
    uint8_t magic;
    uint8_t segment_count;
    uint8_t spi_mode;
    uint8_t spi_speed : 4; /* low nibble of byte 3 */
    uint8_t spi_size : 4;  /* high nibble of byte 3 */
    uint32_t entry_addr;
    uint8_t wp_pin;
    uint8_t spi_pin_drv[3];
    esp_chip_id_t chip_id;
    uint8_t min_chip_rev;       /* legacy, not used */
    uint16_t min_chip_rev_full; /* major * 100 + minor */
    uint16_t max_chip_rev_full; /* 0 or 0xFFFF: not set */
    uint8_t reserved[4];
    uint8_t hash_appended;
} __attribute__((packed)) esp_image_header_t;
ESP_STATIC_ASSERT_SIZE(esp_image_header_t, 24);

/* Header of each segment, followed by data_len bytes of data. */
typedef struct {
    uint32_t load_addr;
    uint32_t data_len;
} esp_image_segment_header_t;
ESP_STATIC_ASSERT_SIZE(esp_image_segment_header_t, 8);

#define ESP_APP_DESC_MAGIC_WORD 0xABCD5432

/* The application descriptor: the first 256 bytes of segment 0 (image offset 0x20). */
typedef struct {
    uint32_t magic_word;
    uint32_t secure_version;
    uint32_t reserv1[2];
    char version[32];
    char project_name[32];
    char time[16];
    char date[16];
    char idf_ver[32];
    uint8_t app_elf_sha256[32];
    uint16_t min_efuse_blk_rev_full;
    uint16_t max_efuse_blk_rev_full;
    uint8_t mmu_page_size;  /* log2 of the MMU page; 0 = chip default */
    uint8_t spi_flash_mode; /* v6.1: QIO 1, QOUT 2, DIO 3, DOUT 4, OPI 5; 0 = unknown */
    uint8_t reserv3[2];
    uint32_t reserv2[18];
} esp_app_desc_t;
ESP_STATIC_ASSERT_SIZE(esp_app_desc_t, 256);

/* Image offset of the app descriptor: after the image header and segment 0's header. */
#define ESP_APP_DESC_OFFSET (sizeof(esp_image_header_t) + sizeof(esp_image_segment_header_t))

#ifdef __cplusplus
}
#endif
#endif
