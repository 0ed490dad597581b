/* Private helpers shared by the image_*.c files. */
#ifndef OTAKIT_IMAGE_INTERNAL_H
#define OTAKIT_IMAGE_INTERNAL_H

#include <stdint.h>

#include "otakit/image.h"

/* Seed of the XOR checksum (ESP_IMAGE_CHECKSUM_SEED, esptool ESP_CHECKSUM_MAGIC). */
#define OTK_IMAGE_CHECKSUM_SEED 0xEFu
/* log2 of the 64 KiB MMU page: chips whose smallest page is this have a fixed page. */
#define OTK_IMAGE_MMU_PAGE_LOG2_FIXED 16u
/* Offset of mmu_page_size inside esp_app_desc_t (for diag messages). */
#define OTK_IMAGE_APP_DESC_MMU_PAGE_OFFSET 180u

static inline uint32_t otk_image_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint16_t otk_image_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline void otk_image_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void otk_image_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Where the checksum block ends for segments ending at data_end: the checksum is the last
 * byte of the 16-byte block that holds data_end (esptool align_file_position + 1 byte). */
static inline uint32_t otk_image_checksum_block_end(uint32_t data_end)
{
    return (data_end + OTK_IMAGE_CHECKSUM_ALIGN) & ~(OTK_IMAGE_CHECKSUM_ALIGN - 1u);
}

/* The MMU page an app uses: the chip's fixed 64 KiB, or the app desc's log2 page on chips
 * where it is configurable. Returns 0 when the app desc asks for a page the chip lacks. */
uint32_t otk_image_mmu_page_size(const otk_image_chip_t *chip, uint8_t desc_log2);

#endif
