/* esp_ota_write and esp_ota_write_with_offset: bounds first, then the lazy erase, then the
 * program, then the bytes read back into the verifier (one pass). */
#include "ota_internal.h"

#include "otakit/log.h"

/* Bytes 0..1 of a partition table: the first record's magic 0x50AA, little-endian. */
#define OTA_TABLE_MAGIC_LO 0xAAu
#define OTA_TABLE_MAGIC_HI 0x50u

/* Everything about a write that can be known before touching flash. */
static esp_err_t check_bounds(const otk_ota_entry_t *e, uint32_t offset, size_t size)
{
    const esp_partition_t *p = e->staging;
    if (offset > p->size) {
        OTK_LOGE(OTA_TAG, "write to '%s': offset 0x%x is past the partition (0x%x bytes)",
                 p->label, (unsigned)offset, (unsigned)p->size);
        return ESP_ERR_INVALID_ARG;
    }
    if (size > p->size - offset) {
        OTK_LOGE(OTA_TAG, "write to '%s': 0x%zx bytes at 0x%x run past the partition (0x%x bytes)",
                 p->label, size, (unsigned)offset, (unsigned)p->size);
        return ESP_ERR_INVALID_SIZE;
    }
    if ((uint64_t)offset + size > e->size_limit) {
        OTK_LOGE(OTA_TAG, "write to '%s': 0x%zx bytes at 0x%x run past the declared image size "
                 "(0x%x bytes erased by begin)", p->label, size, (unsigned)offset,
                 (unsigned)e->size_limit);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* The first bytes must look like what the final partition holds. */
static esp_err_t check_first_chunk(const otk_ota_entry_t *e, const uint8_t *data, size_t size)
{
    if (e->wrote_size != 0) {
        return ESP_OK;
    }
    switch (ota_check_of(e->final)) {
    case OTA_CHECK_APP:
    case OTA_CHECK_BOOTLOADER:
        if (data[0] != ESP_IMAGE_HEADER_MAGIC) {
            OTK_LOGE(OTA_TAG, "OTA image has invalid magic byte (expected 0x%02x, saw 0x%02x)",
                     ESP_IMAGE_HEADER_MAGIC, data[0]);
            return ESP_ERR_OTA_VALIDATE_FAILED;
        }
        return ESP_OK;
    case OTA_CHECK_TABLE:
        if (size >= 2 && (data[0] != OTA_TABLE_MAGIC_LO || data[1] != OTA_TABLE_MAGIC_HI)) {
            OTK_LOGE(OTA_TAG, "partition table has invalid magic (expected aa 50, saw %02x %02x)",
                     data[0], data[1]);
            return ESP_ERR_OTA_VALIDATE_FAILED;
        }
        return ESP_OK;
    default:
        return ESP_OK;
    }
}

/* OTA_WITH_SEQUENTIAL_WRITES: erase ahead of a write that enters unerased space. ESP-IDF
 * erases the 4 KiB sectors the write enters; we erase whole 64 KiB blocks where a whole
 * aligned block lies in the partition (a block erase costs 150 ms where sixteen sector
 * erases cost 720 ms on a W25Q128JV), sectors elsewhere. A 4 KiB write enters at most one
 * new block, so no call erases more than one block: no watchdog trouble. The space erased
 * ahead lies inside the slot being overwritten, which holds nothing of value. */
static esp_err_t lazy_erase(otk_device_t *dev, otk_ota_entry_t *e, size_t size)
{
    const esp_partition_t *p = e->staging;
    uint64_t sector = p->erase_size != 0 ? p->erase_size : OTK_FLASH_SECTOR_SIZE;
    uint64_t need = (uint64_t)e->wrote_size + size;
    uint64_t from = e->erased_end;
    if (need <= from) {
        return ESP_OK;
    }
    uint64_t to = from;
    while (to < need) {
        bool whole_block = (p->address + to) % OTK_FLASH_BLOCK_SIZE == 0 &&
                           to + OTK_FLASH_BLOCK_SIZE <= p->size;
        to += whole_block ? OTK_FLASH_BLOCK_SIZE : sector;
    }
    if (to > p->size) { /* only when the partition size is not a whole sector */
        OTK_LOGE(OTA_TAG, "write to '%s': erasing up to 0x%llx runs past the partition "
                 "(0x%x bytes)", p->label, (unsigned long long)to, (unsigned)p->size);
        return ESP_ERR_INVALID_SIZE;
    }
    ota_forget_range(dev, p->address + (uint32_t)from, (uint32_t)(to - from), e);
    esp_err_t err = otk_partition_erase_range(p, (size_t)from, (size_t)(to - from));
    if (err == ESP_OK) {
        e->erased_end = (uint32_t)to;
    }
    return err;
}

static esp_err_t program(otk_device_t *dev, otk_ota_entry_t *e, uint32_t offset,
                         const void *data, size_t size)
{
    ota_forget_range(dev, e->staging->address + offset, (uint32_t)size, e);
    esp_err_t err = otk_partition_write(e->staging, offset, data, size);
    if (err != ESP_OK) {
        OTK_LOGE(OTA_TAG, "write to '%s': 0x%zx bytes at 0x%x failed: %s", e->staging->label,
                 size, (unsigned)offset, esp_err_to_name(err));
        return err;
    }
    ota_stream_take(e, offset, (uint32_t)size);
    return ESP_OK;
}

/* The image is already known to be invalid and this write cannot change the bytes that
 * made it so: refuse it before programming (beyond ESP-IDF, which finds out at end). */
static bool known_invalid(const otk_ota_entry_t *e, uint32_t offset)
{
    return e->stream_ok && e->stream.err != ESP_OK && offset >= e->stream_end;
}

static esp_err_t report_invalid(const otk_ota_entry_t *e)
{
    OTK_LOGE(OTA_TAG, "'%s': the image is invalid: %s", e->staging->label,
             e->stream.diag.msg);
    return ESP_ERR_OTA_VALIDATE_FAILED;
}

esp_err_t otk_ota_write(otk_device_t *dev, esp_ota_handle_t handle, const void *data,
                        size_t size)
{
    if (!ota_dev_ok(dev) || data == NULL) {
        OTK_LOGE(OTA_TAG, "write data is invalid");
        return ESP_ERR_INVALID_ARG;
    }
    /* Decision: the handle is checked before the size-0 shortcut (ESP-IDF returns ESP_OK
     * for size 0 whatever the handle). */
    otk_ota_entry_t *e = ota_entry_find(dev, handle);
    if (e == NULL) {
        OTK_LOGE(OTA_TAG, "not found the handle %u", (unsigned)handle);
        return ESP_ERR_INVALID_ARG;
    }
    if (size == 0) {
        return ESP_OK;
    }
    esp_err_t err = check_bounds(e, e->wrote_size, size);
    if (err != ESP_OK) {
        return err;
    }
    ota_ops_begin(dev);
    if (known_invalid(e, e->wrote_size)) {
        return report_invalid(e);
    }
    /* Decision: the magic is checked before the lazy erase (ESP-IDF erases first). */
    err = check_first_chunk(e, data, size);
    if (err == ESP_OK && e->need_erase) {
        err = lazy_erase(dev, e, size);
    }
    if (err == ESP_OK) {
        err = program(dev, e, e->wrote_size, data, size);
    }
    ota_ops_end(dev);
    if (err != ESP_OK) {
        return err;
    }
    e->wrote_size += (uint32_t)size;
    if (known_invalid(e, e->wrote_size)) {
        return report_invalid(e);
    }
    return ESP_OK;
}

esp_err_t otk_ota_write_with_offset(otk_device_t *dev, esp_ota_handle_t handle,
                                    const void *data, size_t size, uint32_t offset)
{
    if (!ota_dev_ok(dev) || data == NULL) {
        OTK_LOGE(OTA_TAG, "write data is invalid");
        return ESP_ERR_INVALID_ARG;
    }
    otk_ota_entry_t *e = ota_entry_find(dev, handle);
    if (e == NULL) {
        OTK_LOGE(OTA_TAG, "OTA handle %u not found", (unsigned)handle);
        return ESP_ERR_INVALID_ARG;
    }
    if (e->need_erase) {
        /* Decision: ESP-IDF asserts here (nothing erases what this would program). */
        OTK_LOGE(OTA_TAG, "write_with_offset on handle %u begun with "
                 "OTA_WITH_SEQUENTIAL_WRITES: the partition is erased lazily by esp_ota_write "
                 "only", (unsigned)handle);
        return ESP_ERR_INVALID_STATE;
    }
    esp_err_t err = check_bounds(e, offset, size);
    if (err != ESP_OK || size == 0) {
        return err;
    }
    /* No early refusal here: writes at any offset may still complete a valid image. */
    ota_ops_begin(dev);
    err = program(dev, e, offset, data, size);
    ota_ops_end(dev);
    if (err != ESP_OK) {
        return err;
    }
    e->with_offset = true;
    e->wrote_size += (uint32_t)size;
    return ESP_OK;
}
