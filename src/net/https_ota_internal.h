/* Private to esp_https_ota on the host (src/net/https_ota*.c): the handle. */
#ifndef OTAKIT_HTTPS_OTA_INTERNAL_H
#define OTAKIT_HTTPS_OTA_INTERNAL_H

#include "otakit/https_ota.h"

#define HTTPS_OTA_TAG "esp_https_ota" /* ESP-IDF's log tag */

struct otk_https_ota {
    otk_device_t *dev;
    otk_https_ota_config_t cfg;     /* the caller's, with url pointing at `url` */
    char url[OTK_URI_MAX + 1];      /* normalized */
    otk_source_t *src;
    otk_https_ota_state_t state;
    const esp_partition_t *staging;
    const esp_partition_t *final;
    bool bulk_erase;
    esp_ota_handle_t ota;           /* 0: no engine handle */
    uint8_t *buf;                   /* work buffer, buf_size bytes */
    size_t buf_size;
    /* Bytes from image offset 0 on, read but not written yet (before esp_ota_begin). */
    uint8_t *head;                  /* buf_size bytes (at least the header size) */
    size_t head_len;
    bool ended;                     /* the source has no more bytes */
    uint32_t written;               /* image bytes on flash (ESP-IDF's binary_file_len) */
    int64_t image_length;           /* -1: unknown */
    uint32_t resume_offset;         /* RESUME: where the engine continues */
    bool resumed;                   /* this update continues an earlier one */
    /* Before esp_ota_begin: the verifier of the head (what is refused before anything is
     * erased). When resuming a checkpoint: the engine's verifier the checkpoint saved, which
     * the engine's verifier rebuilt from flash must equal (from_checkpoint). After that the
     * engine's one-pass verifier is the only one: every byte is hashed once, as read back. */
    otk_image_stream_t stream;
    bool from_checkpoint;
    uint32_t last_checkpoint;       /* `written` at the last checkpoint */
    uint64_t last_checkpoint_ms;    /* and when (the begin of the update before the first) */
    otk_https_ota_checkpoint_t *cp; /* scratch for building checkpoints */
    otk_https_ota_report_t report;
    otk_source_stats_t stats_done;  /* of sources closed by restarts */
};

/* Set the caller's diag (cfg.diag) and log the same line. Returns err. */
esp_err_t https_ota_fail(otk_https_ota_t *h, esp_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void https_ota_event(otk_https_ota_t *h, otk_https_ota_event_t event, const void *data,
                     size_t len);
/* (Re)open the source at offset (0: from the start, no expectation). */
esp_err_t https_ota_open_source(otk_https_ota_t *h, uint64_t offset,
                                const otk_source_identity_t *expect);
/* A fresh verifier for the final partition's kind. */
void https_ota_stream_init(otk_https_ota_t *h, otk_image_stream_t *stream);
/* Read into head until it holds the header (or the source ends). */
esp_err_t https_ota_fill_head(otk_https_ota_t *h);
/* Tell on_checkpoint there is nothing to resume (cp NULL). */
void https_ota_forget_checkpoint(otk_https_ota_t *h);

#endif
