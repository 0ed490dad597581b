/* Whole-image verifiers: a memory buffer and a flash range. Both only feed the streaming
 * verifier (image_stream.c), so an image gets one verdict however it arrives; then, when
 * the options ask for a signature, the sector after the image (image_sig.c). */
#include <string.h>

#include "image_internal.h"

/* Flash is read in pieces of the core's I/O chunk (a sector on a host): small enough for
 * the stack, large enough that the read calls are few. */
#define VERIFY_READ_CHUNK OTK_CONFIG_IO_CHUNK

esp_err_t otk_image_verify_buffer(const void *data, size_t len,
                                  const otk_image_verify_opts_t *opts, otk_image_info_t *info,
                                  otk_diag_t *diag)
{
    otk_image_stream_t s;
    if (data == NULL && len > 0) {
        otk_diag_set(diag, "image buffer: NULL with length %zu", len);
        return ESP_ERR_INVALID_ARG;
    }
    otk_image_stream_init(&s, opts);
    /* Every byte goes in even after a problem, so info describes all of the image. */
    otk_image_stream_feed(&s, data, len, NULL);
    esp_err_t err = otk_image_stream_finish(&s, NULL, diag);
#if OTK_CONFIG_SECURE_BOOT
    if (err == ESP_OK && s.info.sig.digest_done) {
        err = otk_image_sig_check_buffer(data, len, &s.opts, &s.info, diag);
    }
#endif
    if (info != NULL) {
        *info = s.info;
    }
    return err;
}

esp_err_t otk_image_verify_flash(otk_flash_t *flash, uint32_t offset, uint32_t max_size,
                                 const otk_image_verify_opts_t *opts, otk_image_info_t *info,
                                 otk_diag_t *diag)
{
    otk_image_stream_t s;
    return otk_image_verify_flash_with(flash, offset, max_size, opts, info, diag, &s);
}

esp_err_t otk_image_verify_flash_with(otk_flash_t *flash, uint32_t offset, uint32_t max_size,
                                      const otk_image_verify_opts_t *opts,
                                      otk_image_info_t *info, otk_diag_t *diag,
                                      otk_image_stream_t *stream)
{
    if (flash == NULL || stream == NULL) {
        otk_diag_set(diag, "image verify: no flash device or no verifier storage");
        return ESP_ERR_INVALID_ARG;
    }
    if (max_size == 0 || max_size > OTK_IMAGE_MAX_PARTITION_SIZE) {
        otk_diag_set(diag,
                     "image at 0x%x: partition size 0x%x, expected 1 .. 0x%x (16 MiB) bytes",
                     (unsigned)offset, (unsigned)max_size, OTK_IMAGE_MAX_PARTITION_SIZE);
        return ESP_ERR_INVALID_ARG;
    }
    otk_image_verify_opts_t o;
    if (opts != NULL) {
        o = *opts;
    } else {
        otk_image_verify_opts_init(&o);
    }
    o.max_size = max_size;
    o.flash_offset = offset;

    otk_image_stream_t *s = stream;
    otk_image_stream_init(s, &o);
    uint8_t chunk[VERIFY_READ_CHUNK];
    uint32_t flash_size = otk_flash_size(flash);
    uint32_t pos = 0;
    /* Stop at the end of the image or at its first problem: nothing after either changes
     * the verdict, and a boot should not read more flash than it must. */
    while (!otk_image_stream_done(s) && pos < max_size && offset <= flash_size &&
           pos < flash_size - offset) {
        uint32_t n = max_size - pos;
        if (n > VERIFY_READ_CHUNK) {
            n = VERIFY_READ_CHUNK;
        }
        if (n > flash_size - offset - pos) {
            n = flash_size - offset - pos;
        }
        esp_err_t err = otk_flash_read(flash, offset + pos, chunk, n);
        if (err != ESP_OK) {
            otk_diag_set(diag, "image at 0x%x: flash read of 0x%x bytes at 0x%x failed: %s",
                         (unsigned)offset, (unsigned)n, (unsigned)(offset + pos),
                         esp_err_to_name(err));
            otk_image_stream_finish(s, info, NULL);
            if (info != NULL) {
                info->verdict = err;
            }
            return err;
        }
        if (otk_image_stream_feed(s, chunk, n, NULL) != ESP_OK) {
            break;
        }
        pos += n;
    }
    otk_diag_t why;
    esp_err_t err = otk_image_stream_finish(s, NULL, &why);
#if OTK_CONFIG_SECURE_BOOT
    if (err == ESP_OK && s->info.sig.digest_done) {
        err = otk_image_sig_check_flash(flash, offset, &s->opts, &s->info, &why);
    }
#endif
    if (info != NULL) {
        *info = s->info;
    }
    if (err != ESP_OK) {
        otk_diag_set(diag, "image at 0x%x: %s", (unsigned)offset, why.msg);
    }
    return err;
}
