/* The descriptors at image offset 0x20: esp_app_desc_t (apps) and esp_bootloader_desc_t
 * (bootloaders). Decoded field by field so the layout never depends on the host. */
#include <string.h>

#include "image_internal.h"

/* Offsets inside esp_app_desc_t (ESP-IDF esp_app_desc.h; fixed by static asserts there). */
#define APP_DESC_MAGIC 0
#define APP_DESC_SECURE_VERSION 4
#define APP_DESC_RESERV1 8
#define APP_DESC_VERSION 16
#define APP_DESC_PROJECT_NAME 48
#define APP_DESC_TIME 80
#define APP_DESC_DATE 96
#define APP_DESC_IDF_VER 112
#define APP_DESC_ELF_SHA256 144
#define APP_DESC_MIN_EFUSE_BLK_REV 176
#define APP_DESC_MAX_EFUSE_BLK_REV 178
#define APP_DESC_MMU_PAGE_SIZE OTK_IMAGE_APP_DESC_MMU_PAGE_OFFSET
#define APP_DESC_SPI_FLASH_MODE 181
#define APP_DESC_RESERV3 182
#define APP_DESC_RESERV2 184

/* Offsets inside esp_bootloader_desc_t. */
#define BL_DESC_MAGIC 0
#define BL_DESC_RESERVED 1
#define BL_DESC_SECURE_VERSION 3
#define BL_DESC_VERSION 4
#define BL_DESC_IDF_VER 8
#define BL_DESC_DATE_TIME 40
#define BL_DESC_RESERVED2 64

/* The largest MMU page an app desc may name is the default 64 KiB. */
#define MMU_PAGE_LOG2_MAX OTK_IMAGE_MMU_PAGE_LOG2_FIXED

void otk_image_app_desc_decode(const uint8_t *b, esp_app_desc_t *d)
{
    memset(d, 0, sizeof *d);
    d->magic_word = otk_image_le32(b + APP_DESC_MAGIC);
    d->secure_version = otk_image_le32(b + APP_DESC_SECURE_VERSION);
    d->reserv1[0] = otk_image_le32(b + APP_DESC_RESERV1);
    d->reserv1[1] = otk_image_le32(b + APP_DESC_RESERV1 + 4);
    memcpy(d->version, b + APP_DESC_VERSION, sizeof d->version);
    memcpy(d->project_name, b + APP_DESC_PROJECT_NAME, sizeof d->project_name);
    memcpy(d->time, b + APP_DESC_TIME, sizeof d->time);
    memcpy(d->date, b + APP_DESC_DATE, sizeof d->date);
    memcpy(d->idf_ver, b + APP_DESC_IDF_VER, sizeof d->idf_ver);
    memcpy(d->app_elf_sha256, b + APP_DESC_ELF_SHA256, sizeof d->app_elf_sha256);
    d->min_efuse_blk_rev_full = otk_image_le16(b + APP_DESC_MIN_EFUSE_BLK_REV);
    d->max_efuse_blk_rev_full = otk_image_le16(b + APP_DESC_MAX_EFUSE_BLK_REV);
    d->mmu_page_size = b[APP_DESC_MMU_PAGE_SIZE];
    d->spi_flash_mode = b[APP_DESC_SPI_FLASH_MODE];
    memcpy(d->reserv3, b + APP_DESC_RESERV3, sizeof d->reserv3);
    for (size_t i = 0; i < sizeof d->reserv2 / sizeof d->reserv2[0]; i++) {
        d->reserv2[i] = otk_image_le32(b + APP_DESC_RESERV2 + 4 * i);
    }
}

void otk_image_bootloader_desc_decode(const uint8_t *b, esp_bootloader_desc_t *d)
{
    memset(d, 0, sizeof *d);
    d->magic_byte = b[BL_DESC_MAGIC];
    memcpy(d->reserved, b + BL_DESC_RESERVED, sizeof d->reserved);
    d->secure_version = b[BL_DESC_SECURE_VERSION];
    d->version = otk_image_le32(b + BL_DESC_VERSION);
    memcpy(d->idf_ver, b + BL_DESC_IDF_VER, sizeof d->idf_ver);
    memcpy(d->date_time, b + BL_DESC_DATE_TIME, sizeof d->date_time);
    memcpy(d->reserved2, b + BL_DESC_RESERVED2, sizeof d->reserved2);
}

/* Copy a string into a fixed field, cut so a NUL always fits (ESP-IDF's build cuts to the
 * field size minus one). The rest of the field stays zero. */
static void put_field(uint8_t *dst, size_t field, const char *s)
{
    if (s == NULL) {
        return;
    }
    size_t n = strlen(s);
    if (n > field - 1) {
        n = field - 1;
    }
    memcpy(dst, s, n);
}

void otk_image_app_desc_make(const otk_image_app_fields_t *f, const uint8_t *payload,
                             uint32_t payload_len, uint8_t out[sizeof(esp_app_desc_t)])
{
    memset(out, 0, sizeof(esp_app_desc_t));
    otk_image_put_le32(out + APP_DESC_MAGIC, ESP_APP_DESC_MAGIC_WORD);
    otk_image_put_le32(out + APP_DESC_SECURE_VERSION, f->secure_version);
    put_field(out + APP_DESC_VERSION, APP_DESC_PROJECT_NAME - APP_DESC_VERSION, f->version);
    put_field(out + APP_DESC_PROJECT_NAME, APP_DESC_TIME - APP_DESC_PROJECT_NAME,
              f->project_name);
    put_field(out + APP_DESC_TIME, APP_DESC_DATE - APP_DESC_TIME, f->time);
    put_field(out + APP_DESC_DATE, APP_DESC_IDF_VER - APP_DESC_DATE, f->date);
    put_field(out + APP_DESC_IDF_VER, APP_DESC_ELF_SHA256 - APP_DESC_IDF_VER, f->idf_ver);
    /* esptool patches the ELF's SHA-256 here; without an ELF the payload's digest is the
     * closest thing that identifies the build. */
    if (f->elf_sha256 != NULL) {
        memcpy(out + APP_DESC_ELF_SHA256, f->elf_sha256, OTK_SHA256_LEN);
    } else {
        otk_sha256(payload, payload == NULL ? 0 : payload_len, out + APP_DESC_ELF_SHA256);
    }
    otk_image_put_le16(out + APP_DESC_MIN_EFUSE_BLK_REV, f->min_efuse_blk_rev_full);
    otk_image_put_le16(out + APP_DESC_MAX_EFUSE_BLK_REV, f->max_efuse_blk_rev_full);
    out[APP_DESC_MMU_PAGE_SIZE] = f->mmu_page_size_log2;
}

uint32_t otk_image_mmu_page_size(const otk_image_chip_t *chip, uint8_t desc_log2)
{
    if (desc_log2 == 0 || chip == NULL || chip->mmu_page_log2_min >= MMU_PAGE_LOG2_MAX) {
        return OTK_IMAGE_MMU_PAGE_DEFAULT;
    }
    if (desc_log2 < chip->mmu_page_log2_min || desc_log2 > MMU_PAGE_LOG2_MAX) {
        return 0;
    }
    return 1u << desc_log2;
}
