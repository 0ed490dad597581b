/* esp_https_ota on an explicit device: an app image streamed from a source (file://,
 * http://, https://) into the next OTA slot with the OTA engine (otakit/ota.h). The
 * esp_https_ota_* names (esp_https_ota.h) are a thin layer over these with the current
 * device, as esp_ota_* are over otk_ota_*.
 *
 * Same flow, states, events and error codes as ESP-IDF (spec §7): begin opens the source
 * and touches no flash; perform is called in a loop (ESP_ERR_HTTPS_OTA_IN_PROGRESS after
 * each write, ESP_OK when all data is in); finish verifies (esp_ota_end) and selects the
 * slot; abort gives up. Differences (docs/decisions-https.md):
 *   - the image's first bytes are checked before anything is erased or written, also with
 *     bulk_flash_erase: magic, chip id, chip revision, app descriptor, and a declared size
 *     that fits the slot; every later byte goes through a streaming verifier as it arrives,
 *     so a corrupt image stops the download at the first bad byte;
 *   - a response that breaks off costs one request (the source continues with Range), and
 *     a server that sends another version, or all of it when a range was asked for, makes
 *     the update start again from byte 0 in the same call sequence, never splicing;
 *   - checkpoints (beyond ESP-IDF): every checkpoint_every bytes the flash is synced and a
 *     checkpoint (offset, URL, the resource's identity, the verifier's state) is handed to
 *     on_checkpoint; passing one back as resume_from continues after a power cut without
 *     downloading or erasing again what is on flash, and the resumed image is verified end
 *     to end (the engine re-reads the part on flash; the checkpointed verifier covers the
 *     downloaded bytes).
 *
 * One update per handle; handles are independent. Not thread-safe per handle. */
#ifndef OTAKIT_HTTPS_OTA_H
#define OTAKIT_HTTPS_OTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_app_desc.h"
#include "esp_err.h"
#include "esp_partition.h"
#include "otakit/device.h"
#include "otakit/diag.h"
#include "otakit/image.h"
#include "otakit/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ESP-IDF reads this much of the image before writing it (IMAGE_HEADER_SIZE): the image
 * header, segment 0's header and the app descriptor fit with room to spare. */
#define OTK_HTTPS_OTA_HEADER_SIZE 1024u
/* The least of an app image that says what it is: image header, segment header, app
 * descriptor (ESP-IDF needs the same to check it). */
#define OTK_HTTPS_OTA_DESC_END (24u + 8u + 256u)
/* Default bytes per read and write on the host: a flash block's worth of sectors keeps
 * perform calls few without holding much memory. */
#define OTK_HTTPS_OTA_BUFFER_SIZE 16384u
/* ESP-IDF's work buffer is never below this. */
#define OTK_HTTPS_OTA_BUFFER_MIN 1024u
/* ESP-IDF's default request size for partial downloads. */
#define OTK_HTTPS_OTA_PARTIAL_DEFAULT 65536u
/* Default checkpoint spacing: at least this many bytes and this much time apart. A power
 * cut then costs at most the larger of 64 KiB and half a second of download again, and the
 * flash sync and file write of a checkpoint stay a small part of the time on any link (on
 * a fast one, every 64 KiB was a fifth of the update). checkpoint_every set: bytes only. */
#define OTK_HTTPS_OTA_CHECKPOINT_EVERY 65536u
#define OTK_HTTPS_OTA_CHECKPOINT_MIN_MS 500u
/* Times one update may start over from byte 0 (the server's resource changed, or the
 * part already written did not verify) before it gives up. */
#define OTK_HTTPS_OTA_MAX_RESTARTS 3u

/* ESP-IDF's esp_https_ota_event_t, same values. */
typedef enum {
    OTK_HTTPS_OTA_START = 0,
    OTK_HTTPS_OTA_CONNECTED,
    OTK_HTTPS_OTA_GET_IMG_DESC,
    OTK_HTTPS_OTA_VERIFY_CHIP_ID,       /* data: esp_chip_id_t of the image */
    OTK_HTTPS_OTA_VERIFY_CHIP_REVISION, /* data: uint16_t, the image's min revision */
    OTK_HTTPS_OTA_DECRYPT_CB,           /* never (no decryption on the host) */
    OTK_HTTPS_OTA_WRITE_FLASH,          /* data: int, bytes written so far */
    OTK_HTTPS_OTA_UPDATE_BOOT_PARTITION,/* data: esp_partition_subtype_t */
    OTK_HTTPS_OTA_FINISH,
    OTK_HTTPS_OTA_ABORT,
} otk_https_ota_event_t;

/* ESP-IDF's internal states, same values. */
typedef enum {
    OTK_HTTPS_OTA_STATE_INIT = 0,
    OTK_HTTPS_OTA_STATE_BEGIN,
    OTK_HTTPS_OTA_STATE_IN_PROGRESS,
    OTK_HTTPS_OTA_STATE_SUCCESS,
    OTK_HTTPS_OTA_STATE_RESUME,
} otk_https_ota_state_t;

/* Where an interrupted update stands: enough to continue it after a power cut. Plain data
 * (the verifier is copyable by design); otk_https_ota_checkpoint_encode/decode turn it into
 * bytes for a file. */
typedef struct {
    char url[OTK_URI_MAX + 1];         /* normalized */
    otk_source_identity_t identity;    /* the resource the bytes came from */
    char staging_label[17];
    uint32_t staging_address;
    uint32_t staging_size;
    bool bulk_erase;                   /* begun with the image size (else sequential) */
    uint32_t offset;                   /* image bytes written and synced to flash */
    otk_image_stream_t stream;         /* the verifier after the downloaded bytes
                                          [0, offset) */
} otk_https_ota_checkpoint_t;

/* cp NULL: there is nothing to resume any more (done, or the image is bad): forget it. */
typedef void (*otk_https_ota_checkpoint_cb_t)(void *ctx, const otk_https_ota_checkpoint_t *cp);
/* data/len as in the event list above (NULL/0 where none). */
typedef void (*otk_https_ota_event_cb_t)(void *ctx, otk_https_ota_event_t event,
                                         const void *data, size_t len);

typedef struct {
    const char *url;               /* required */
    otk_source_opts_t source;      /* TLS, allow_http, timeouts, redirects, headers */
    bool bulk_flash_erase;         /* begin with the image size (or OTA_SIZE_UNKNOWN) */
    bool partial_http_download;    /* requests of max_http_request_size bytes */
    uint32_t max_http_request_size;/* 0: OTK_HTTPS_OTA_PARTIAL_DEFAULT */
    /* ESP-IDF's resumption: the app kept ota_image_bytes_written; honoured from
     * OTK_HTTPS_OTA_HEADER_SIZE bytes on, else the update starts from 0. */
    bool ota_resumption;
    uint32_t ota_image_bytes_written;
    /* Beyond ESP-IDF: continue from a checkpoint (wins over ota_resumption). Ignored, with
     * a log line, when it is for another URL or slot; the update then starts from 0. */
    const otk_https_ota_checkpoint_t *resume_from;
    otk_https_ota_checkpoint_cb_t on_checkpoint; /* NULL: no checkpoints */
    void *checkpoint_ctx;
    uint32_t checkpoint_every;     /* 0: OTK_HTTPS_OTA_CHECKPOINT_EVERY bytes and
                                      OTK_HTTPS_OTA_CHECKPOINT_MIN_MS apart */
    const esp_partition_t *staging;/* NULL: otk_ota_get_next_update_partition(NULL) */
    const esp_partition_t *final;  /* NULL: staging */
    bool finalize_with_copy;
    size_t buffer_size;            /* 0: OTK_HTTPS_OTA_BUFFER_SIZE; at least
                                      OTK_HTTPS_OTA_BUFFER_MIN */
    otk_https_ota_event_cb_t on_event; /* NULL: none */
    void *event_ctx;
    /* Where the reason of the last failure goes (may be NULL). Written by every call that
     * fails, also after the handle is gone (finish). */
    otk_diag_t *diag;
} otk_https_ota_config_t;

/* Everything zero, source options at otk_source_opts_init's defaults. */
void otk_https_ota_config_init(otk_https_ota_config_t *config);

typedef struct otk_https_ota otk_https_ota_t;

/* Open the source (no flash is touched). Errors: ESP_ERR_INVALID_ARG (NULL device, config
 * or URL), ESP_ERR_NOT_FOUND (no OTA slot to write), the source's errors (otk_source_open), ESP_ERR_NO_MEM. On
 * failure *out is NULL. The config is copied, but what its pointers point at (CA, headers,
 * partitions, resume_from, diag) must stay valid until finish or abort: the source may be
 * opened again when the download starts over. */
esp_err_t otk_https_ota_begin(otk_device_t *dev, const otk_https_ota_config_t *config,
                              otk_https_ota_t **out);
/* ESP_ERR_HTTPS_OTA_IN_PROGRESS: call again; ESP_OK: all data written; else the error
 * (source errors; ESP_ERR_OTA_VALIDATE_FAILED not an app image or corrupt;
 * ESP_ERR_INVALID_VERSION wrong chip or revision; ESP_ERR_INVALID_SIZE larger than the
 * slot; the engine's errors). After an error call abort (or finish). */
esp_err_t otk_https_ota_perform(otk_https_ota_t *h);
/* Verify (esp_ota_end) and, when everything arrived and the final partition is an OTA
 * slot, select it (esp_ota_set_boot_partition). Frees the handle whatever it returns. */
esp_err_t otk_https_ota_finish(otk_https_ota_t *h);
/* Give up: the engine's handle is aborted (nothing erased), the handle freed. */
esp_err_t otk_https_ota_abort(otk_https_ota_t *h);
/* The new image's app descriptor, read from the stream before perform (or from the slot
 * when resuming). ESP_FAIL when the image does not start with one. */
esp_err_t otk_https_ota_get_img_desc(otk_https_ota_t *h, esp_app_desc_t *desc);
/* Image bytes written so far (also those written before a resumption); -1 before perform. */
int otk_https_ota_get_image_len_read(const otk_https_ota_t *h);
/* The image's total size; -1 when unknown (chunked). */
int otk_https_ota_get_image_size(const otk_https_ota_t *h);
bool otk_https_ota_is_complete_data_received(const otk_https_ota_t *h);
otk_https_ota_state_t otk_https_ota_get_state(const otk_https_ota_t *h);

/* What one update did, for programs and tests. */
typedef struct {
    const esp_partition_t *staging;
    uint32_t resumed_from;  /* image offset the update continued from (0: from the start) */
    unsigned restarts;      /* times it started over from 0 */
    otk_source_stats_t source; /* requests, reconnects (summed over restarts) */
} otk_https_ota_report_t;
void otk_https_ota_get_report(const otk_https_ota_t *h, otk_https_ota_report_t *report);

/* begin + perform loop + finish (abort on an error). Rejects ota_resumption (as ESP-IDF);
 * a resume_from checkpoint is honoured. report may be NULL. */
esp_err_t otk_https_ota(otk_device_t *dev, const otk_https_ota_config_t *config,
                        otk_https_ota_report_t *report);

/* ---- the esp_https_ota layer's Kconfig on the host ---------------------------------- */

/* CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP for esp_https_ota_* (esp_https_ota.h): plain http:// and
 * a config without server verification are accepted. Off by default, as in ESP-IDF. A
 * process-wide setting, as a Kconfig option is firmware-wide. */
void otk_esp_https_ota_set_allow_http(bool allow);
bool otk_esp_https_ota_get_allow_http(void);

/* ---- checkpoints as bytes (https_ota_checkpoint.c) ---------------------------------- */

/* Upper bound of an encoded checkpoint. */
#define OTK_HTTPS_OTA_CHECKPOINT_MAX (sizeof(otk_https_ota_checkpoint_t) + 256u)

/* Little-endian fields, the verifier's bytes, a CRC-32. Returns the length written, 0 when
 * cap is too small. */
size_t otk_https_ota_checkpoint_encode(const otk_https_ota_checkpoint_t *cp, uint8_t *out,
                                       size_t cap);
/* ESP_ERR_INVALID_ARG (with diag) for anything that is not a checkpoint this build wrote:
 * bad magic, version, size, CRC, a verifier of another layout or crypto backend, fields
 * out of range. */
esp_err_t otk_https_ota_checkpoint_decode(const uint8_t *data, size_t len,
                                          otk_https_ota_checkpoint_t *cp, otk_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif
