/* Bounded I/O inside one partition, with the checks (and their order) of ESP-IDF's linux
 * partition layer, over the partition's flash device. */
#include "otakit/log.h"
#include "partition_internal.h"

static const char *TAG = "partition";

/* The device behind a partition; NULL means the partition was never bound to one. */
static otk_flash_t *device_of(const esp_partition_t *part)
{
    return part != NULL ? part->flash_chip : NULL;
}

/* The partition lies inside its device. A table read with the app-side rules (which,
 * like ESP-IDF's partition.c, check nothing) may hold one that runs past the chip or
 * wraps past 4 GiB, where address + offset would come back around to the bootloader at
 * flash address 0: refused before any address is formed. */
static esp_err_t check_inside(const esp_partition_t *part, const char *op)
{
    uint32_t chip = otk_flash_size(part->flash_chip);
    if (part->address > chip || part->size > chip - part->address) {
        OTK_LOGE(TAG, "%s '%s': the partition at 0x%x (0x%x bytes) does not lie inside the "
                 "0x%x-byte flash", op, part->label, (unsigned)part->address,
                 (unsigned)part->size, (unsigned)chip);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* offset > size -> INVALID_ARG; offset + len > size -> INVALID_SIZE (no overflow). */
static esp_err_t check_range(const esp_partition_t *part, size_t offset, size_t len,
                             const char *op)
{
    if (check_inside(part, op) != ESP_OK) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (offset > part->size) {
        OTK_LOGE(TAG, "%s '%s': offset 0x%zx is past the 0x%x-byte partition", op, part->label,
                 offset, (unsigned)part->size);
        return ESP_ERR_INVALID_ARG;
    }
    if (len > part->size - offset) {
        OTK_LOGE(TAG, "%s '%s': 0x%zx bytes at 0x%zx run past the 0x%x-byte partition", op,
                 part->label, len, offset, (unsigned)part->size);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

esp_err_t otk_partition_read(const esp_partition_t *part, size_t offset, void *dst, size_t len)
{
    if (device_of(part) == NULL || (dst == NULL && len > 0)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (part->encrypted) {
        return ESP_ERR_NOT_SUPPORTED; /* no flash encryption on a host */
    }
    esp_err_t err = check_range(part, offset, len, "read");
    if (err != ESP_OK || len == 0) {
        return err;
    }
    return otk_flash_read(part->flash_chip, part->address + (uint32_t)offset, dst, len);
}

esp_err_t otk_partition_write(const esp_partition_t *part, size_t offset, const void *src,
                              size_t len)
{
    if (device_of(part) == NULL || (src == NULL && len > 0)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (part->readonly) {
        OTK_LOGE(TAG, "write '%s': partition is read-only", part->label);
        return ESP_ERR_NOT_ALLOWED;
    }
    if (part->encrypted) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    esp_err_t err = check_range(part, offset, len, "write");
    if (err != ESP_OK || len == 0) {
        return err;
    }
    return otk_flash_program(part->flash_chip, part->address + (uint32_t)offset, src, len);
}

esp_err_t otk_partition_erase_range(const esp_partition_t *part, size_t offset, size_t len)
{
    if (device_of(part) == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (part->readonly) {
        OTK_LOGE(TAG, "erase '%s': partition is read-only", part->label);
        return ESP_ERR_NOT_ALLOWED;
    }
    if (check_inside(part, "erase") != ESP_OK) {
        return ESP_ERR_INVALID_SIZE;
    }
    /* A hand-built esp_partition_t may leave erase_size 0; the sector is what it means. */
    size_t unit = part->erase_size != 0 ? part->erase_size : OTK_FLASH_SECTOR_SIZE;
    if (offset > part->size || offset % unit != 0) {
        OTK_LOGE(TAG, "erase '%s': offset 0x%zx is past the partition or not a multiple of "
                 "0x%zx", part->label, offset, unit);
        return ESP_ERR_INVALID_ARG;
    }
    if (len > part->size - offset || len % unit != 0) {
        OTK_LOGE(TAG, "erase '%s': 0x%zx bytes at 0x%zx run past the partition or are not a "
                 "multiple of 0x%zx", part->label, len, offset, unit);
        return ESP_ERR_INVALID_SIZE;
    }
    if (len == 0) {
        return ESP_OK;
    }
    return otk_flash_erase(part->flash_chip, part->address + (uint32_t)offset, len);
}
