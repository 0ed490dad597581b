/* esp_https_ota_perform: the first call checks the image's head and opens the engine's
 * update (or continues one), every later call moves one buffer from the source to flash.
 * The source may start over from byte 0 (the server's resource changed); so does the
 * update then, with a new esp_ota_begin, never mixing bytes of two versions. */
#include <stdio.h>
#include <string.h>

#include "net/http_internal.h"
#include "net/https_ota_internal.h"
#include "otakit/log.h"
#include "otakit/ota.h"

/* ---- the head of a new image, before anything is erased ------------------------------- */

static esp_err_t check_chip(otk_https_ota_t *h, const esp_image_header_t *hdr, bool is_app)
{
    esp_chip_id_t chip = hdr->chip_id;
    https_ota_event(h, OTK_HTTPS_OTA_VERIFY_CHIP_ID, &chip, sizeof chip);
    uint16_t want = h->dev->config.chip_id;
    if ((uint16_t)hdr->chip_id != want) {
        const char *found = otk_image_chip_id_name((uint16_t)hdr->chip_id);
        const char *mine = otk_image_chip_id_name(want);
        return https_ota_fail(h, ESP_ERR_INVALID_VERSION,
                              "image is for chip id 0x%04x (%s), this device is 0x%04x (%s)",
                              (unsigned)hdr->chip_id, found != NULL ? found : "unknown",
                              (unsigned)want, mine != NULL ? mine : "unknown");
    }
    uint16_t rev = hdr->min_chip_rev_full;
    https_ota_event(h, OTK_HTTPS_OTA_VERIFY_CHIP_REVISION, &rev, sizeof rev);
    otk_diag_t why;
    otk_diag_clear(&why);
    if (otk_image_check_chip_rev(hdr, h->dev->config.chip_rev, is_app, &why) != ESP_OK) {
        return https_ota_fail(h, ESP_ERR_INVALID_VERSION, "image does not run on chip "
                              "revision v%u.%u: %s", (unsigned)(h->dev->config.chip_rev / 100u),
                              (unsigned)(h->dev->config.chip_rev % 100u), why.msg);
    }
    return ESP_OK;
}

/* Magic, chip, revision, app descriptor, size against the slot, flash mode, and the
 * verifier over these bytes: all of it from the bytes in head, nothing on flash yet. */
static esp_err_t check_head(otk_https_ota_t *h)
{
    bool is_app = h->final->type == ESP_PARTITION_TYPE_APP;
    if (h->head_len < OTK_HTTPS_OTA_DESC_END) {
        https_ota_forget_checkpoint(h);
        return https_ota_fail(h, ESP_ERR_OTA_VALIDATE_FAILED, "%s: %zu bytes: too short to be "
                              "an app image", h->url, h->head_len);
    }
    if (h->head[0] != ESP_IMAGE_HEADER_MAGIC) {
        return https_ota_fail(h, ESP_ERR_OTA_VALIDATE_FAILED, "%s is not an ESP app image: "
                              "byte 0 is 0x%02x, expected 0x%02x", h->url, h->head[0],
                              ESP_IMAGE_HEADER_MAGIC);
    }
    esp_image_header_t hdr;
    otk_image_header_decode(h->head, &hdr);
    esp_err_t err = check_chip(h, &hdr, is_app);
    if (err != ESP_OK) {
        return err;
    }
    esp_app_desc_t desc;
    otk_image_app_desc_decode(h->head + OTK_IMAGE_DESC_OFFSET, &desc);
    if (is_app && desc.magic_word != ESP_APP_DESC_MAGIC_WORD) {
        return https_ota_fail(h, ESP_ERR_OTA_VALIDATE_FAILED, "%s has no app descriptor at "
                              "byte 0x%x (magic 0x%08x, expected 0x%08x)", h->url,
                              (unsigned)OTK_IMAGE_DESC_OFFSET, (unsigned)desc.magic_word,
                              (unsigned)ESP_APP_DESC_MAGIC_WORD);
    }
    if (h->image_length > (int64_t)h->staging->size) {
        return https_ota_fail(h, ESP_ERR_INVALID_SIZE, "the image is %lld bytes: it does not "
                              "fit %s (0x%x bytes)", (long long)h->image_length,
                              h->staging->label, (unsigned)h->staging->size);
    }
    err = otk_ota_check_image_validity(h->dev, h->final->type, &hdr, is_app ? &desc : NULL);
    if (err != ESP_OK) {
        return https_ota_fail(h, err, "esp_ota_check_image_validity: %s", esp_err_to_name(err));
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    if (otk_image_stream_feed(&h->stream, h->head, h->head_len, &why) != ESP_OK) {
        return https_ota_fail(h, ESP_ERR_OTA_VALIDATE_FAILED,
                              "not a valid app image for this device: %s", why.msg);
    }
    return ESP_OK;
}

/* ---- checkpoints ---------------------------------------------------------------------- */

static void maybe_checkpoint(otk_https_ota_t *h)
{
    uint32_t every = h->cfg.checkpoint_every != 0 ? h->cfg.checkpoint_every
                                                  : OTK_HTTPS_OTA_CHECKPOINT_EVERY;
    if (h->cfg.on_checkpoint == NULL || h->written - h->last_checkpoint < every) {
        return;
    }
    uint64_t now = http_now_ms();
    if (h->cfg.checkpoint_every == 0 &&
        now - h->last_checkpoint_ms < OTK_HTTPS_OTA_CHECKPOINT_MIN_MS) {
        return;
    }
    otk_https_ota_checkpoint_t *cp = h->cp;
    memset(cp, 0, sizeof *cp);
    /* The engine's verifier of what it read back: the checkpoint vouches for flash, and
     * no byte is hashed twice. None (a data partition, writes out of order): no checkpoint. */
    uint32_t taken = 0;
    if (otk_ota_get_verifier(h->dev, h->ota, &cp->stream, &taken) != ESP_OK ||
        taken != h->written || cp->stream.err != ESP_OK) {
        return;
    }
    /* A checkpoint must never claim bytes that a power cut could still take away. */
    if (otk_flash_sync(h->dev->flash) != ESP_OK) {
        return;
    }
    strcpy(cp->url, h->url);
    cp->identity = *otk_source_identity(h->src);
    snprintf(cp->staging_label, sizeof cp->staging_label, "%.16s", h->staging->label);
    cp->staging_address = h->staging->address;
    cp->staging_size = h->staging->size;
    cp->bulk_erase = h->bulk_erase;
    cp->offset = h->written;
    h->last_checkpoint = h->written;
    h->last_checkpoint_ms = now;
    h->cfg.on_checkpoint(h->cfg.checkpoint_ctx, cp);
}

/* ---- starting over -------------------------------------------------------------------- */

/* The update begins again at image byte 0: the engine's handle is dropped (what it wrote
 * is not selected and will be erased by the next begin), the verifier starts fresh. */
static esp_err_t start_over(otk_https_ota_t *h, const char *why)
{
    if (++h->report.restarts > OTK_HTTPS_OTA_MAX_RESTARTS) {
        return https_ota_fail(h, ESP_ERR_INVALID_RESPONSE, "%s: gave up after starting over "
                              "%u times (last: %s)", h->url, OTK_HTTPS_OTA_MAX_RESTARTS, why);
    }
    OTK_LOGW(HTTPS_OTA_TAG, "%s: %s: starting the update over from byte 0", h->url, why);
    if (h->ota != 0) {
        otk_ota_abort(h->dev, h->ota);
        h->ota = 0;
    }
    https_ota_forget_checkpoint(h);
    https_ota_stream_init(h, &h->stream);
    h->from_checkpoint = false;
    h->resumed = false;
    h->report.resumed_from = 0;
    h->written = 0;
    h->last_checkpoint = 0;
    h->last_checkpoint_ms = http_now_ms();
    h->state = OTK_HTTPS_OTA_STATE_BEGIN;
    return ESP_ERR_HTTPS_OTA_IN_PROGRESS;
}

/* Start over with a new request from byte 0 (the source is positioned elsewhere). */
static esp_err_t reopen_from_zero(otk_https_ota_t *h, const char *why)
{
    esp_err_t err = start_over(h, why);
    if (err != ESP_ERR_HTTPS_OTA_IN_PROGRESS) {
        return err;
    }
    h->head_len = 0;
    err = https_ota_open_source(h, 0, NULL);
    return err != ESP_OK ? err : ESP_ERR_HTTPS_OTA_IN_PROGRESS;
}

/* ---- the states ----------------------------------------------------------------------- */

static esp_err_t write_bytes(otk_https_ota_t *h, const uint8_t *data, size_t len)
{
    esp_err_t err = otk_ota_write(h->dev, h->ota, data, len);
    if (err != ESP_OK) {
        uint32_t taken = 0;
        if (err == ESP_ERR_OTA_VALIDATE_FAILED) {
            https_ota_forget_checkpoint(h);
            /* The engine's verifier says why (cp is scratch between checkpoints). */
            if (otk_ota_get_verifier(h->dev, h->ota, &h->cp->stream, &taken) == ESP_OK &&
                h->cp->stream.err != ESP_OK) {
                return https_ota_fail(h, err, "not a valid app image for this device: %s",
                                      h->cp->stream.diag.msg);
            }
        }
        return https_ota_fail(h, err, "esp_ota_write to %s at byte %u: %s", h->staging->label,
                              (unsigned)h->written, esp_err_to_name(err));
    }
    h->written += (uint32_t)len;
    int total = (int)h->written;
    https_ota_event(h, OTK_HTTPS_OTA_WRITE_FLASH, &total, sizeof total);
    maybe_checkpoint(h);
    return ESP_ERR_HTTPS_OTA_IN_PROGRESS;
}

static size_t erase_size(const otk_https_ota_t *h)
{
    if (!h->bulk_erase) {
        return OTA_WITH_SEQUENTIAL_WRITES;
    }
    return h->image_length > 0 ? (size_t)h->image_length : OTA_SIZE_UNKNOWN;
}

static esp_err_t open_engine(otk_https_ota_t *h)
{
    esp_err_t err = otk_ota_begin(h->dev, h->staging, erase_size(h), &h->ota);
    if (err != ESP_OK) {
        h->ota = 0;
        return https_ota_fail(h, err, "esp_ota_begin on %s: %s", h->staging->label,
                              esp_err_to_name(err));
    }
    err = otk_ota_set_final_partition(h->dev, h->ota, h->final, h->cfg.finalize_with_copy);
    if (err != ESP_OK) {
        return https_ota_fail(h, err, "esp_ota_set_final_partition(%s): %s", h->final->label,
                              esp_err_to_name(err));
    }
    return ESP_OK;
}

static esp_err_t perform_begin(otk_https_ota_t *h)
{
    esp_err_t err = https_ota_fill_head(h);
    if (err != ESP_OK) {
        return err;
    }
    bool image = h->final->type == ESP_PARTITION_TYPE_APP ||
                 h->final->type == ESP_PARTITION_TYPE_BOOTLOADER;
    if (image) {
        err = check_head(h);
        if (err != ESP_OK) {
            return err;
        }
    }
    err = open_engine(h);
    if (err != ESP_OK) {
        return err;
    }
    h->state = OTK_HTTPS_OTA_STATE_IN_PROGRESS;
    size_t len = h->head_len;
    h->head_len = 0;
    if (len == 0) {
        return ESP_ERR_HTTPS_OTA_IN_PROGRESS;
    }
    return write_bytes(h, h->head, len);
}

static esp_err_t perform_resume(otk_https_ota_t *h)
{
    esp_err_t err = otk_ota_resume(h->dev, h->staging, erase_size(h), h->resume_offset,
                                   &h->ota);
    if (err != ESP_OK) {
        h->ota = 0;
        char why[96];
        snprintf(why, sizeof why, "esp_ota_resume on %s refused (%s)", h->staging->label,
                 esp_err_to_name(err));
        return reopen_from_zero(h, why);
    }
    err = otk_ota_set_final_partition(h->dev, h->ota, h->final, h->cfg.finalize_with_copy);
    if (err != ESP_OK) {
        return https_ota_fail(h, err, "esp_ota_set_final_partition(%s): %s", h->final->label,
                              esp_err_to_name(err));
    }
    if (h->from_checkpoint) {
        /* The engine rebuilt its verifier from what flash holds before the resume point;
         * it must have taken exactly the bytes the checkpoint's verifier took, or the slot
         * was changed since (or the checkpoint is for other rules): start over. */
        uint32_t taken = 0;
        if (otk_ota_get_verifier(h->dev, h->ota, &h->cp->stream, &taken) != ESP_OK ||
            taken != h->resume_offset || !otk_image_stream_same(&h->cp->stream, &h->stream)) {
            return reopen_from_zero(h, "the part written before the interruption does not "
                                       "match the checkpoint");
        }
    }
    h->state = OTK_HTTPS_OTA_STATE_IN_PROGRESS;
    return ESP_ERR_HTTPS_OTA_IN_PROGRESS;
}

static esp_err_t perform_data(otk_https_ota_t *h)
{
    size_t got = 0;
    uint64_t at = 0;
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err = otk_source_read(h->src, h->buf, h->buf_size, &got, &at, &why);
    if (err != ESP_OK) {
        return https_ota_fail(h, err, "%s", why.msg);
    }
    h->image_length = otk_source_identity(h->src)->length; /* a restart brings a new one */
    if (got > 0 && at != h->written) { /* the server's resource is not the one begun */
        err = start_over(h, "the server sent the resource from byte 0");
        memcpy(h->head, h->buf, got);
        h->head_len = got;
        return err;
    }
    if (got == 0) {
        if (h->image_length >= 0 && (int64_t)h->written != h->image_length) {
            return https_ota_fail(h, ESP_FAIL, "%s ended at byte %u of %lld", h->url,
                                  (unsigned)h->written, (long long)h->image_length);
        }
        h->state = OTK_HTTPS_OTA_STATE_SUCCESS;
        return ESP_OK;
    }
    return write_bytes(h, h->buf, got);
}

esp_err_t otk_https_ota_perform(otk_https_ota_t *h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    switch (h->state) {
    case OTK_HTTPS_OTA_STATE_BEGIN:
        return perform_begin(h);
    case OTK_HTTPS_OTA_STATE_RESUME:
        return perform_resume(h);
    case OTK_HTTPS_OTA_STATE_IN_PROGRESS:
        return perform_data(h);
    case OTK_HTTPS_OTA_STATE_SUCCESS:
        return ESP_OK;
    default:
        return ESP_ERR_INVALID_STATE;
    }
}
