/* esp_ota_end: the check the final partition's type calls for, then the copy to the final
 * partition when asked. The handle is freed whatever the outcome, as in ESP-IDF. */
#include <string.h>

#include "ota_internal.h"

#include "otakit/log.h"

/* A page of erased flash: programming it changes nothing, so a copy skips it. */
static bool all_erased(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* The image in staging, as an image of the final's kind. From the stream when every byte
 * so far went through it in order (reading only what the writes left out: normally
 * nothing); from flash otherwise. */
static esp_err_t verify_image(otk_device_t *dev, otk_ota_entry_t *e, otk_image_info_t *info)
{
    const esp_partition_t *s = e->staging;
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err;
    if (s->size == 0 || s->size > OTK_IMAGE_MAX_PARTITION_SIZE) {
        otk_diag_set(&why, "partition size 0x%x, expected 1 .. 0x%x bytes", (unsigned)s->size,
                     OTK_IMAGE_MAX_PARTITION_SIZE);
        err = ESP_ERR_INVALID_ARG;
    } else {
        ota_stream_catch_up(e, s->size);
        if (e->stream_ok) {
            err = otk_image_stream_finish(&e->stream, info, &why);
#if OTK_CONFIG_SECURE_BOOT
            /* The stream hashed up to the signature sector; the sector is read here. */
            if (err == ESP_OK && info->sig.digest_done) {
                err = otk_image_sig_check_flash(dev->flash, s->address, &e->stream.opts, info,
                                                &why);
            }
#endif
        } else {
            bool app = ota_check_of(e->final) == OTA_CHECK_APP;
            otk_image_verify_opts_t opts;
            ota_verify_opts(dev, app ? OTK_IMAGE_APP : OTK_IMAGE_BOOTLOADER, &opts);
            /* The boot layer's verifier storage is free outside a boot: off the stack. */
            err = otk_image_verify_flash_with(dev->flash, s->address, s->size, &opts, info,
                                              &why, &dev->boot_stream);
        }
    }
    if (err != ESP_OK) {
        OTK_LOGE(OTA_TAG, "end: image in '%s' at 0x%x does not verify: %s", s->label,
                 (unsigned)s->address, why.msg);
    }
    return err;
}

#if OTK_CONFIG_TABLE_READ_BUFFER
/* A flash that cannot map its bytes: the table is read into a buffer, in a frame of its
 * own so that only this path pays for it. */
static __attribute__((noinline)) esp_err_t read_and_check_table(otk_device_t *dev,
                                                                const otk_ota_entry_t *e,
                                                                otk_diag_t *why)
{
    uint8_t bin[OTK_PARTITION_TABLE_BIN_SIZE];
    esp_err_t err = otk_partition_read(e->staging, 0, bin, sizeof bin);
    if (err != ESP_OK) {
        return err;
    }
    err = otk_partition_table_parse(bin, sizeof bin, OTK_PARTITION_RULES_BOOTLOADER,
                                    otk_flash_size(dev->flash), NULL, why);
    return err != ESP_OK ? ESP_ERR_OTA_VALIDATE_FAILED : ESP_OK;
}
#endif

/* esp_partition_table_verify on the first 0xC00 bytes of staging: through the flash's
 * mapping where it has one, as ESP-IDF (no copy), and checked without building a table
 * (the entries would be 6 KiB of stack). */
static esp_err_t verify_table(otk_device_t *dev, const otk_ota_entry_t *e)
{
    if (e->staging->size < OTK_PARTITION_TABLE_BIN_SIZE) {
        return ESP_ERR_INVALID_SIZE; /* what reading past the partition gives */
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    const uint8_t *bin = NULL;
    esp_err_t err = otk_flash_map(e->staging->flash_chip, e->staging->address,
                                  OTK_PARTITION_TABLE_BIN_SIZE, &bin);
    if (err == ESP_OK) {
        err = otk_partition_table_parse(bin, OTK_PARTITION_TABLE_BIN_SIZE,
                                        OTK_PARTITION_RULES_BOOTLOADER,
                                        otk_flash_size(dev->flash), NULL, &why);
        err = err != ESP_OK ? ESP_ERR_OTA_VALIDATE_FAILED : ESP_OK;
#if OTK_CONFIG_TABLE_READ_BUFFER
    } else if (err == ESP_ERR_NOT_SUPPORTED) {
        err = read_and_check_table(dev, e, &why);
#endif
    }
    /* A read or map error is returned as it is, as ESP-IDF returns the mmap error. */
    if (err == ESP_ERR_OTA_VALIDATE_FAILED) {
        OTK_LOGE(OTA_TAG, "end: partition table in '%s' does not verify: %s",
                 e->staging->label, why.msg);
    }
    return err;
}

/* esp_partition_copy(final, 0, staging, 0, final->size): erase the destination (whole
 * aligned 64 KiB blocks by block erase), then copy in sectors. Pages that read erased are
 * not programmed: on NOR that changes no byte and saves the program time. */
static esp_err_t copy_to_final(otk_device_t *dev, const otk_ota_entry_t *e)
{
    const esp_partition_t *src = e->staging;
    const esp_partition_t *dst = e->final;
    if (src->size < dst->size) {
        OTK_LOGE(OTA_TAG, "end: staging '%s' (0x%x bytes) is smaller than final '%s' (0x%x)",
                 src->label, (unsigned)src->size, dst->label, (unsigned)dst->size);
        return ESP_ERR_INVALID_SIZE;
    }
    uint64_t unit = dst->erase_size != 0 ? dst->erase_size : OTK_FLASH_SECTOR_SIZE;
    uint64_t erase_len = ((uint64_t)dst->size + unit - 1) / unit * unit;
    ota_forget_range(dev, dst->address, dst->size, NULL);
    esp_err_t err = otk_partition_erase_range(dst, 0, (size_t)erase_len);
    uint8_t chunk[OTA_IO_CHUNK];
    for (uint32_t off = 0; err == ESP_OK && off < dst->size; off += OTA_IO_CHUNK) {
        uint32_t n = dst->size - off < OTA_IO_CHUNK ? dst->size - off : OTA_IO_CHUNK;
        err = otk_partition_read(src, off, chunk, n);
        for (uint32_t page = 0; err == ESP_OK && page < n; page += OTK_FLASH_PAGE_SIZE) {
            uint32_t len = n - page < OTK_FLASH_PAGE_SIZE ? n - page : OTK_FLASH_PAGE_SIZE;
            if (!all_erased(chunk + page, len)) {
                err = otk_partition_write(dst, off + page, chunk + page, len);
            }
        }
    }
    if (err != ESP_OK) {
        OTK_LOGE(OTA_TAG, "end: copying '%s' to '%s' failed: %s", src->label, dst->label,
                 esp_err_to_name(err));
    }
    return err;
}

/* Remember a verified app so set_boot need not verify it again. */
static void remember_verified(otk_device_t *dev, const esp_partition_t *p,
                              const otk_image_info_t *info)
{
    dev->verified_valid = info->has_app_desc;
    dev->verified_address = p->address;
    dev->verified_at_ops = dev->flash->physical_ops;
    dev->verified_desc = info->app_desc;
}

static esp_err_t end_entry(otk_device_t *dev, otk_ota_entry_t *e)
{
    if (e->wrote_size == 0) {
        OTK_LOGE(OTA_TAG, "end: handle %u wrote nothing", (unsigned)e->handle);
        return ESP_ERR_INVALID_ARG;
    }
    otk_image_info_t info;
    memset(&info, 0, sizeof info);
    esp_err_t err = ESP_OK;
    ota_check_t check = ota_check_of(e->final);
    if (check == OTA_CHECK_APP || check == OTA_CHECK_BOOTLOADER) {
        if (verify_image(dev, e, &info) != ESP_OK) {
            return ESP_ERR_OTA_VALIDATE_FAILED;
        }
    } else if (check == OTA_CHECK_TABLE) {
        err = verify_table(dev, e);
    }
    if (err == ESP_OK && e->finalize_with_copy) {
        err = copy_to_final(dev, e);
    } else if (err == ESP_OK && check == OTA_CHECK_APP) {
        remember_verified(dev, e->staging, &info);
    }
    return err;
}

esp_err_t otk_ota_end(otk_device_t *dev, esp_ota_handle_t handle)
{
    if (!ota_dev_ok(dev)) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_ota_entry_t *e = ota_entry_find(dev, handle);
    if (e == NULL) {
        OTK_LOGE(OTA_TAG, "end: handle %u not found", (unsigned)handle);
        return ESP_ERR_NOT_FOUND;
    }
    ota_ops_begin(dev);
    esp_err_t err = end_entry(dev, e);
    ota_ops_end(dev);
    if (err == ESP_OK) {
        OTK_LOGI(OTA_TAG, "end: handle %u: '%s' verified (0x%x bytes written)",
                 (unsigned)handle, e->final->label, (unsigned)e->wrote_size);
    }
    ota_entry_free(e);
    return err;
}
