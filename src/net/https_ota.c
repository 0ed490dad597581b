/* esp_https_ota on an explicit device: begin (where the update starts: a checkpoint,
 * ESP-IDF's resumption, or byte 0), finish, abort and esp_https_ota() itself. perform is
 * in https_ota_perform.c, the getters and shared helpers in https_ota_util.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_internal.h"
#include "net/https_ota_internal.h"
#include "otakit/log.h"
#include "otakit/ota.h"

void otk_https_ota_config_init(otk_https_ota_config_t *config)
{
    memset(config, 0, sizeof *config);
    otk_source_opts_init(&config->source);
}

/* The checkpoint fits this update: same URL, same slot, a sane offset. */
static bool checkpoint_fits(const otk_https_ota_t *h, const otk_https_ota_checkpoint_t *cp)
{
    const char *why = NULL;
    if (strcmp(cp->url, h->url) != 0) {
        why = "it is for another URL";
    } else if (cp->staging_address != h->staging->address ||
               cp->staging_size != h->staging->size ||
               strncmp(cp->staging_label, h->staging->label, sizeof cp->staging_label) != 0) {
        why = "it is for another slot";
    } else if (cp->offset < OTK_HTTPS_OTA_HEADER_SIZE || cp->offset > h->staging->size) {
        why = "its offset is out of range";
    } else if (h->final != h->staging) {
        why = "it cannot continue a staged update";
    }
    if (why != NULL) {
        OTK_LOGW(HTTPS_OTA_TAG, "checkpoint at byte %u not used (%s): starting from 0",
                 (unsigned)cp->offset, why);
        return false;
    }
    return true;
}

/* Where this update starts: a checkpoint, ESP-IDF's resumption, or byte 0. */
static void plan_resume(otk_https_ota_t *h, const otk_source_identity_t **expect)
{
    const otk_https_ota_checkpoint_t *cp = h->cfg.resume_from;
    *expect = NULL;
    h->resume_offset = 0;
    if (cp != NULL && checkpoint_fits(h, cp)) {
        /* Kept only to be compared with the verifier the engine rebuilds on resume. */
        memcpy(&h->stream, &cp->stream, sizeof h->stream);
        h->resume_offset = cp->offset;
        h->bulk_erase = cp->bulk_erase; /* what was erased depends on it */
        h->from_checkpoint = true;
        *expect = &cp->identity;
        return;
    }
    /* ESP-IDF's resumption: nothing but the engine's verifier, rebuilt from flash, vouches
     * for the bytes before it. */
    if (h->cfg.ota_resumption && h->cfg.ota_image_bytes_written >= OTK_HTTPS_OTA_HEADER_SIZE &&
        h->cfg.ota_image_bytes_written <= h->staging->size) {
        h->resume_offset = h->cfg.ota_image_bytes_written;
    }
}

static esp_err_t alloc_handle(otk_device_t *dev, const otk_https_ota_config_t *config,
                              otk_https_ota_t **out)
{
    otk_https_ota_t *h = calloc(1, sizeof *h);
    size_t size = config->buffer_size != 0 ? config->buffer_size : OTK_HTTPS_OTA_BUFFER_SIZE;
    if (size < OTK_HTTPS_OTA_BUFFER_MIN) {
        size = OTK_HTTPS_OTA_BUFFER_MIN;
    }
    if (h != NULL) {
        h->buf = malloc(size);
        h->head = malloc(size);
        h->cp = malloc(sizeof *h->cp);
    }
    if (h == NULL || h->buf == NULL || h->head == NULL || h->cp == NULL) {
        if (h != NULL) {
            free(h->buf);
            free(h->head);
            free(h->cp);
            free(h);
        }
        otk_diag_set(config->diag, "esp_https_ota: out of memory");
        return ESP_ERR_NO_MEM;
    }
    h->buf_size = size;
    h->dev = dev;
    h->cfg = *config;
    h->image_length = -1;
    *out = h;
    return ESP_OK;
}

static void free_handle(otk_https_ota_t *h)
{
    otk_source_close(h->src);
    free(h->buf);
    free(h->head);
    free(h->cp);
    free(h);
}

esp_err_t otk_https_ota_begin(otk_device_t *dev, const otk_https_ota_config_t *config,
                              otk_https_ota_t **out)
{
    if (out != NULL) {
        *out = NULL;
    }
    if (dev == NULL || config == NULL || config->url == NULL || out == NULL) {
        if (config != NULL) {
            otk_diag_set(config->diag, "esp_https_ota_begin: invalid argument");
        }
        return ESP_ERR_INVALID_ARG;
    }
    otk_uri_t *uri = malloc(sizeof *uri); /* 4 KiB: not on the stack */
    if (uri == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = otk_uri_parse(config->url, strlen(config->url), uri, config->diag);
    otk_https_ota_t *h = NULL;
    if (err == ESP_OK) {
        err = alloc_handle(dev, config, &h);
    }
    if (err == ESP_OK) {
        strcpy(h->url, uri->normalized);
        h->cfg.url = h->url;
    }
    free(uri);
    if (err != ESP_OK) {
        return err;
    }
    h->staging = config->staging != NULL ? config->staging
                                         : otk_ota_get_next_update_partition(dev, NULL);
    if (h->staging == NULL) {
        err = https_ota_fail(h, ESP_ERR_NOT_FOUND, "no OTA app slot to write the update to");
        free_handle(h);
        return err;
    }
    h->final = config->final != NULL ? config->final : h->staging;
    h->bulk_erase = config->bulk_flash_erase;
    const otk_source_identity_t *expect = NULL;
    plan_resume(h, &expect);
    https_ota_event(h, OTK_HTTPS_OTA_START, NULL, 0);
    err = https_ota_open_source(h, h->resume_offset, expect);
    if (err != ESP_OK) {
        free_handle(h);
        return err;
    }
    https_ota_event(h, OTK_HTTPS_OTA_CONNECTED, NULL, 0);
    if (h->resume_offset > 0 && otk_source_offset(h->src) == h->resume_offset) {
        h->state = OTK_HTTPS_OTA_STATE_RESUME;
        h->written = h->resume_offset;
        h->resumed = true;
        h->report.resumed_from = h->resume_offset;
        OTK_LOGI(HTTPS_OTA_TAG, "resuming %s at byte %u", h->url, (unsigned)h->resume_offset);
    } else {
        if (h->resume_offset > 0) {
            OTK_LOGW(HTTPS_OTA_TAG, "%s cannot be continued at byte %u: starting from 0",
                     h->url, (unsigned)h->resume_offset);
            https_ota_forget_checkpoint(h);
        }
        h->resume_offset = 0;
        h->from_checkpoint = false;
        https_ota_stream_init(h, &h->stream);
        h->state = OTK_HTTPS_OTA_STATE_BEGIN;
    }
    h->last_checkpoint = h->written;
    h->last_checkpoint_ms = http_now_ms();
    h->report.staging = h->staging;
    *out = h;
    return ESP_OK;
}

/* Why end refused the image: from the engine's verifier as it was before end (verifier,
 * NULL when it had none), else from the slot verified again (a signature is checked after
 * the verifier's hash; a failure path only, so the extra read costs nothing that matters). */
static esp_err_t explain_end(otk_https_ota_t *h, esp_err_t err, otk_image_stream_t *verifier)
{
    otk_diag_t why;
    otk_diag_clear(&why);
    if (err != ESP_ERR_OTA_VALIDATE_FAILED) {
        return https_ota_fail(h, err, "esp_ota_end on %s: %s", h->staging->label,
                              esp_err_to_name(err));
    }
    https_ota_forget_checkpoint(h); /* a bad image is not worth resuming */
    if (verifier != NULL && otk_image_stream_finish(verifier, NULL, &why) != ESP_OK) {
        return https_ota_fail(h, err, "not a valid app image for this device: %s", why.msg);
    }
    if (h->final->type == ESP_PARTITION_TYPE_APP ||
        h->final->type == ESP_PARTITION_TYPE_BOOTLOADER) {
        otk_image_verify_opts_t opts;
        otk_image_verify_opts_init(&opts);
        opts.chip_id = h->dev->config.chip_id;
        opts.check_chip_rev = true;
        opts.chip_rev = h->dev->config.chip_rev;
        opts.kind = h->final->type == ESP_PARTITION_TYPE_BOOTLOADER ? OTK_IMAGE_BOOTLOADER
                                                                    : OTK_IMAGE_APP;
        opts.secure_boot = h->dev->config.secure_boot;
        if (otk_image_verify_flash(h->dev->flash, h->staging->address, h->staging->size, &opts,
                                   NULL, &why) != ESP_OK) {
            return https_ota_fail(h, err, "not a valid app image for this device: %s", why.msg);
        }
    }
    return https_ota_fail(h, err, "not a valid app image for this device (esp_ota_end on %s)",
                          h->staging->label);
}

static esp_err_t select_boot(otk_https_ota_t *h)
{
    bool ota_slot = h->final->type == ESP_PARTITION_TYPE_APP &&
                    h->final->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MIN &&
                    h->final->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MAX;
    if (!ota_slot) {
        return ESP_OK;
    }
    esp_partition_subtype_t subtype = h->final->subtype;
    https_ota_event(h, OTK_HTTPS_OTA_UPDATE_BOOT_PARTITION, &subtype, sizeof subtype);
    esp_err_t err = otk_ota_set_boot_partition(h->dev, h->staging);
    if (err != ESP_OK) {
        return https_ota_fail(h, err, "esp_ota_set_boot_partition(%s): %s", h->staging->label,
                              esp_err_to_name(err));
    }
    return ESP_OK;
}

esp_err_t otk_https_ota_finish(otk_https_ota_t *h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_OK;
    bool wrote = h->state == OTK_HTTPS_OTA_STATE_IN_PROGRESS ||
                 h->state == OTK_HTTPS_OTA_STATE_SUCCESS;
    if (wrote && h->ota != 0) {
        /* A copy of the engine's verifier, to explain a refusal (end frees the handle). */
        uint32_t taken = 0;
        bool have = otk_ota_get_verifier(h->dev, h->ota, &h->cp->stream, &taken) == ESP_OK;
        err = otk_ota_end(h->dev, h->ota);
        h->ota = 0; /* end frees the engine's handle whatever it returns */
        if (err != ESP_OK) {
            err = explain_end(h, err, have ? &h->cp->stream : NULL);
        }
    }
    if (err == ESP_OK && h->state == OTK_HTTPS_OTA_STATE_SUCCESS) {
        err = select_boot(h);
        if (err == ESP_OK) {
            https_ota_forget_checkpoint(h);
        }
    }
    if (err == ESP_OK) {
        https_ota_event(h, OTK_HTTPS_OTA_FINISH, NULL, 0);
    }
    free_handle(h);
    return err;
}

esp_err_t otk_https_ota_abort(otk_https_ota_t *h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_OK;
    if (h->state == OTK_HTTPS_OTA_STATE_INIT) {
        err = ESP_ERR_INVALID_STATE;
    } else if (h->ota != 0) {
        err = otk_ota_abort(h->dev, h->ota);
    }
    https_ota_event(h, OTK_HTTPS_OTA_ABORT, NULL, 0);
    free_handle(h);
    return err;
}

esp_err_t otk_https_ota(otk_device_t *dev, const otk_https_ota_config_t *config,
                        otk_https_ota_report_t *report)
{
    if (config == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (config->ota_resumption) {
        otk_diag_set(config->diag, "esp_https_ota: ota_resumption needs the begin/perform "
                     "API (the app keeps the bytes written)");
        return ESP_ERR_INVALID_ARG;
    }
    otk_https_ota_t *h = NULL;
    esp_err_t err = otk_https_ota_begin(dev, config, &h);
    if (err != ESP_OK) {
        return err;
    }
    do {
        err = otk_https_ota_perform(h);
    } while (err == ESP_ERR_HTTPS_OTA_IN_PROGRESS);
    otk_https_ota_get_report(h, report);
    if (err != ESP_OK) {
        otk_https_ota_abort(h);
        return err;
    }
    return otk_https_ota_finish(h);
}
