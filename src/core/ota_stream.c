/* One-pass verification: the stream each handle feeds with the bytes it reads back right
 * after programming, and the ledger that says whether what the engine knows of flash
 * contents (those streams, the image end verified) still holds. */
#include <string.h>

#include "ota_internal.h"

#include "otakit/log.h"

void ota_stream_reset(otk_device_t *dev, otk_ota_entry_t *e)
{
    ota_check_t check = ota_check_of(e->final);
    memset(&e->stream, 0, sizeof e->stream);
    e->stream_end = 0;
    e->stream_ok = check == OTA_CHECK_APP || check == OTA_CHECK_BOOTLOADER;
    if (!e->stream_ok) {
        return;
    }
    /* ESP-IDF verifies the staging partition's bytes as an image of the final's kind. */
    otk_image_verify_opts_t opts;
    ota_verify_opts(dev, check == OTA_CHECK_APP ? OTK_IMAGE_APP : OTK_IMAGE_BOOTLOADER, &opts);
    opts.max_size = e->staging->size;
    opts.flash_offset = e->staging->address;
    otk_image_stream_init(&e->stream, &opts);
}

/* Feed the stream from flash without a copy where the flash can map its bytes (memory and
 * file backends; a chip's cache window). False when it cannot: then read in chunks. The
 * range lies inside the staging partition: it was just programmed there. */
static bool catch_up_mapped(otk_ota_entry_t *e, uint32_t upto)
{
    const uint8_t *view;
    esp_err_t err = otk_flash_map(e->staging->flash_chip, e->staging->address + e->stream_end,
                                  upto - e->stream_end, &view);
    if (err == ESP_ERR_NOT_SUPPORTED) {
        return false;
    }
    if (err != ESP_OK) {
        e->stream_ok = false;
        return true;
    }
    otk_image_stream_feed(&e->stream, view, upto - e->stream_end, NULL);
    e->stream_end = upto;
    return true;
}

void ota_stream_catch_up(otk_ota_entry_t *e, uint32_t upto)
{
    uint8_t chunk[OTA_IO_CHUNK];
    if (e->stream_ok && e->stream_end < upto && !otk_image_stream_done(&e->stream) &&
        e->stream.err == ESP_OK && catch_up_mapped(e, upto)) {
        return;
    }
    while (e->stream_ok && e->stream_end < upto && !otk_image_stream_done(&e->stream) &&
           e->stream.err == ESP_OK) {
        uint32_t n = upto - e->stream_end;
        n = n < sizeof chunk ? n : (uint32_t)sizeof chunk;
        if (otk_partition_read(e->staging, e->stream_end, chunk, n) != ESP_OK) {
            e->stream_ok = false;
            return;
        }
        otk_image_stream_feed(&e->stream, chunk, n, NULL);
        e->stream_end += n;
    }
    /* Past the verdict no byte matters: the position still moves on, so the next write
     * is seen to continue in order. */
    if (e->stream_ok && e->stream_end < upto) {
        e->stream_end = upto;
    }
}

void ota_stream_take(otk_ota_entry_t *e, uint32_t offset, uint32_t len)
{
    if (!e->stream_ok) {
        return;
    }
    if (offset != e->stream_end) {
        /* Out of order (write_with_offset): bytes before offset may change or be missing
         * now; end reads the staging partition instead. */
        OTK_LOGD(OTA_TAG, "handle %u: write at 0x%x, not at 0x%x: verifying at end instead",
                 (unsigned)e->handle, (unsigned)offset, (unsigned)e->stream_end);
        e->stream_ok = false;
        return;
    }
    ota_stream_catch_up(e, offset + len);
}

static void forget_all(otk_device_t *dev)
{
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        dev->ota[i].stream_ok = false;
    }
    dev->verified_valid = false;
}

void ota_ops_begin(otk_device_t *dev)
{
    if (dev->flash->physical_ops != dev->ota_ops_mark) {
        OTK_LOGD(OTA_TAG, "flash changed outside the OTA engine: verifying from flash again");
        forget_all(dev);
        dev->ota_ops_mark = dev->flash->physical_ops;
    }
}

void ota_ops_end(otk_device_t *dev)
{
    dev->ota_ops_mark = dev->flash->physical_ops;
}

static bool overlaps(uint32_t a, uint32_t a_len, uint32_t b, uint32_t b_len)
{
    return (uint64_t)a < (uint64_t)b + b_len && (uint64_t)b < (uint64_t)a + a_len;
}

void ota_forget_range(otk_device_t *dev, uint32_t address, uint32_t len,
                      const otk_ota_entry_t *keep)
{
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        otk_ota_entry_t *e = &dev->ota[i];
        if (e->handle != 0 && e != keep &&
            overlaps(address, len, e->staging->address, e->staging->size)) {
            e->stream_ok = false;
        }
    }
    /* The verified image lies in the app partition that starts at verified_address. */
    if (dev->verified_valid) {
        const esp_partition_t *p = NULL;
        for (size_t i = 0; i < dev->table.count && p == NULL; i++) {
            if (dev->table.parts[i].address == dev->verified_address &&
                dev->table.parts[i].type == ESP_PARTITION_TYPE_APP) {
                p = &dev->table.parts[i];
            }
        }
        if (p == NULL || overlaps(address, len, p->address, p->size)) {
            dev->verified_valid = false;
        }
    }
}

esp_err_t otk_ota_get_verifier(otk_device_t *dev, esp_ota_handle_t handle,
                               otk_image_stream_t *out, uint32_t *taken)
{
    if (!ota_dev_ok(dev) || out == NULL || taken == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_ota_entry_t *e = ota_entry_find(dev, handle);
    if (e == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    ota_ops_begin(dev); /* flash changed by someone else: the stream no longer holds */
    if (!e->stream_ok || e->stream_end != e->wrote_size) {
        return ESP_ERR_INVALID_STATE;
    }
    memcpy(out, &e->stream, sizeof *out);
    *taken = e->stream_end;
    return ESP_OK;
}

esp_err_t otk_ota_get_sha256(otk_device_t *dev, esp_ota_handle_t handle, uint32_t len,
                             uint8_t out[OTK_SHA256_LEN])
{
    if (!ota_dev_ok(dev) || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_ota_entry_t *e = ota_entry_find(dev, handle);
    if (e == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    ota_ops_begin(dev); /* flash changed by someone else: the stream no longer holds */
    otk_sha256_ctx_t ctx;
    uint32_t from = 0;
    if (!e->stream_ok || !otk_image_stream_sha_at_end(&e->stream, &ctx, &from) || from > len ||
        from > e->stream_end) {
        otk_sha256_init(&ctx);
        from = 0;
    }
    esp_err_t err = otk_partition_sha256_update(e->staging, from, len - from, &ctx);
    if (err == ESP_OK) {
        otk_sha256_final(&ctx, out);
    }
    return err;
}
