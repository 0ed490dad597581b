/* What the esp_https_ota steps share (errors, events, the verifier, the source, the head
 * of the image), and the getters of a handle. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/https_ota_internal.h"
#include "otakit/log.h"
#include "otakit/ota.h"

esp_err_t https_ota_fail(otk_https_ota_t *h, esp_err_t err, const char *fmt, ...)
{
    otk_diag_t local;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(local.msg, sizeof local.msg, fmt, ap);
    va_end(ap);
    OTK_LOGE(HTTPS_OTA_TAG, "%s", local.msg);
    if (h->cfg.diag != NULL) {
        *h->cfg.diag = local;
    }
    return err;
}

void https_ota_event(otk_https_ota_t *h, otk_https_ota_event_t event, const void *data,
                     size_t len)
{
    if (h->cfg.on_event != NULL) {
        h->cfg.on_event(h->cfg.event_ctx, event, data, len);
    }
}

void https_ota_forget_checkpoint(otk_https_ota_t *h)
{
    if (h->cfg.on_checkpoint != NULL) {
        h->cfg.on_checkpoint(h->cfg.checkpoint_ctx, NULL);
    }
}

void https_ota_stream_init(otk_https_ota_t *h, otk_image_stream_t *stream)
{
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    opts.kind = h->final->type == ESP_PARTITION_TYPE_BOOTLOADER ? OTK_IMAGE_BOOTLOADER
                                                                : OTK_IMAGE_APP;
    opts.chip_id = h->dev->config.chip_id;
    opts.check_chip_rev = true;
    opts.chip_rev = h->dev->config.chip_rev;
    opts.max_size = h->staging->size;
    opts.flash_offset = h->staging->address;
    otk_image_stream_init(stream, &opts);
}

esp_err_t https_ota_open_source(otk_https_ota_t *h, uint64_t offset,
                                const otk_source_identity_t *expect)
{
    if (h->src != NULL) {
        otk_source_stats_t s;
        otk_source_stats(h->src, &s);
        h->stats_done.requests += s.requests;
        h->stats_done.reconnects += s.reconnects;
        h->stats_done.restarts += s.restarts;
        otk_source_close(h->src);
        h->src = NULL;
    }
    otk_source_opts_t opts = h->cfg.source;
    if (h->cfg.partial_http_download) {
        opts.range_size = h->cfg.max_http_request_size != 0 ? h->cfg.max_http_request_size
                                                            : OTK_HTTPS_OTA_PARTIAL_DEFAULT;
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err = otk_source_open(h->url, &opts, offset, expect, &h->src, &why);
    if (err != ESP_OK) {
        return https_ota_fail(h, err, "%s", why.msg);
    }
    h->image_length = otk_source_identity(h->src)->length;
    h->ended = false;
    return ESP_OK;
}

esp_err_t https_ota_fill_head(otk_https_ota_t *h)
{
    while (h->head_len < OTK_HTTPS_OTA_HEADER_SIZE && !h->ended) {
        size_t got = 0;
        uint64_t at = 0;
        otk_diag_t why;
        otk_diag_clear(&why);
        esp_err_t err = otk_source_read(h->src, h->head + h->head_len,
                                        h->buf_size - h->head_len, &got, &at, &why);
        if (err != ESP_OK) {
            return https_ota_fail(h, err, "%s", why.msg);
        }
        if (at != h->head_len) { /* the source started over: so do we */
            h->head_len = 0;
        }
        h->image_length = otk_source_identity(h->src)->length; /* may be a new version's */
        h->head_len += got;
        h->ended = got == 0;
    }
    return ESP_OK;
}

esp_err_t otk_https_ota_get_img_desc(otk_https_ota_t *h, esp_app_desc_t *desc)
{
    if (h == NULL || desc == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (h->state != OTK_HTTPS_OTA_STATE_BEGIN && h->state != OTK_HTTPS_OTA_STATE_RESUME) {
        return ESP_ERR_INVALID_STATE;
    }
    https_ota_event(h, OTK_HTTPS_OTA_GET_IMG_DESC, NULL, 0);
    if (h->state == OTK_HTTPS_OTA_STATE_RESUME) {
        /* The descriptor is already on flash: no need to read the stream for it. */
        return otk_ota_get_partition_description(h->dev, h->staging, desc) == ESP_OK
                   ? ESP_OK
                   : https_ota_fail(h, ESP_FAIL, "%s: no app descriptor in the part written",
                                    h->staging->label);
    }
    esp_err_t err = https_ota_fill_head(h);
    if (err != ESP_OK) {
        return ESP_FAIL;
    }
    if (h->head_len < OTK_HTTPS_OTA_DESC_END) {
        return https_ota_fail(h, ESP_FAIL, "%s: only %zu bytes: too short for an app image",
                              h->url, h->head_len);
    }
    otk_image_app_desc_decode(h->head + OTK_IMAGE_DESC_OFFSET, desc);
    if (desc->magic_word != ESP_APP_DESC_MAGIC_WORD) {
        return https_ota_fail(h, ESP_FAIL, "%s: no app descriptor (magic 0x%08x, expected "
                              "0x%08x)", h->url, (unsigned)desc->magic_word,
                              (unsigned)ESP_APP_DESC_MAGIC_WORD);
    }
    return ESP_OK;
}

int otk_https_ota_get_image_len_read(const otk_https_ota_t *h)
{
    if (h == NULL || (h->state == OTK_HTTPS_OTA_STATE_BEGIN && h->written == 0)) {
        return -1;
    }
    return (int)h->written;
}

int otk_https_ota_get_image_size(const otk_https_ota_t *h)
{
    return h != NULL && h->image_length >= 0 && h->image_length <= INT32_MAX
               ? (int)h->image_length
               : -1;
}

bool otk_https_ota_is_complete_data_received(const otk_https_ota_t *h)
{
    if (h == NULL) {
        return false;
    }
    if (h->image_length >= 0) {
        return (int64_t)h->written == h->image_length;
    }
    return h->state == OTK_HTTPS_OTA_STATE_SUCCESS;
}

otk_https_ota_state_t otk_https_ota_get_state(const otk_https_ota_t *h)
{
    return h != NULL ? h->state : OTK_HTTPS_OTA_STATE_INIT;
}

void otk_https_ota_get_report(const otk_https_ota_t *h, otk_https_ota_report_t *report)
{
    if (h == NULL || report == NULL) {
        return;
    }
    *report = h->report;
    report->source = h->stats_done;
    if (h->src != NULL) {
        otk_source_stats_t s;
        otk_source_stats(h->src, &s);
        report->source.requests += s.requests;
        report->source.reconnects += s.reconnects;
        report->source.restarts += s.restarts;
        report->source.http_status = s.http_status;
    }
}
