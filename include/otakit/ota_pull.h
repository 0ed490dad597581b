/* Pull an update from a URL into a simulated device whose flash is a file, the way its
 * running app would with esp_https_ota, and survive a power cut: the update's checkpoint
 * (otakit/https_ota.h) is kept in a file beside the flash image, "FLASH.ota-checkpoint",
 * and the next pull of the same URL continues from it without downloading or erasing again
 * what is on flash. Shared by `otakit ota FLASH URL` and `otakit-device --pull URL`.
 *
 * The checkpoint file is replaced atomically (written beside it, synced, renamed), after
 * the flash was synced, so after a crash it never claims bytes the flash does not hold. It
 * is removed when the update is installed or proves invalid; a failed download (a network
 * error, a timeout, a power cut) keeps it. */
#ifndef OTAKIT_OTA_PULL_H
#define OTAKIT_OTA_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/device.h"
#include "otakit/diag.h"
#include "otakit/https_ota.h"
#include "otakit/source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTK_OTA_CHECKPOINT_SUFFIX ".ota-checkpoint"

typedef void (*otk_ota_pull_progress_t)(void *ctx, uint32_t done, int64_t total);

typedef struct {
    const char *url;
    /* The flash image's path: the checkpoint lives beside it. NULL: no checkpoint. */
    const char *flash_path;
    otk_source_opts_t source;      /* CA, allow_http, timeouts, retries */
    bool bulk_flash_erase;
    uint32_t checkpoint_every;     /* 0: the default spacing (https_ota.h) */
    otk_ota_pull_progress_t progress; /* NULL: none; called after each write */
    void *progress_ctx;
} otk_ota_pull_opts_t;

typedef struct {
    esp_err_t err;
    /* What failed: "begin" (connection, HTTP status), "download" (perform), "finish"
     * (verification, selecting the slot). */
    const char *step;
    otk_diag_t diag;               /* why, with the URL or the slot */
    const esp_partition_t *partition; /* the slot written (NULL if none was chosen) */
    uint32_t image_len;            /* bytes of the image on flash */
    otk_https_ota_report_t report; /* resumed_from, restarts, requests, reconnects */
    bool checkpoint_found;         /* a checkpoint file was there */
    bool checkpoint_refused;       /* ... but unreadable or for something else */
} otk_ota_pull_result_t;

/* Source defaults, no checkpoint file, sequential erase. */
void otk_ota_pull_opts_init(otk_ota_pull_opts_t *opts);

/* Download and install into the next OTA slot of a powered-on device, then select it
 * (esp_https_ota_finish). Returns res->err. When a resumed update's end-to-end check fails
 * because the part on flash does not match (the slot was changed meanwhile) it starts
 * once more from 0. */
esp_err_t otk_ota_pull(otk_device_t *dev, const otk_ota_pull_opts_t *opts,
                       otk_ota_pull_result_t *res);

/* "dev.bin" -> "dev.bin.ota-checkpoint"; false when it does not fit cap. */
bool otk_ota_checkpoint_path(const char *flash_path, char *out, size_t cap);
/* ESP_OK with *exists; a missing file is ESP_OK with *exists false. An unreadable or
 * invalid file: ESP_ERR_INVALID_ARG / ESP_FAIL with diag. */
esp_err_t otk_ota_checkpoint_load(const char *path, otk_https_ota_checkpoint_t *cp,
                                  bool *exists, otk_diag_t *diag);
esp_err_t otk_ota_checkpoint_save(const char *path, const otk_https_ota_checkpoint_t *cp,
                                  otk_diag_t *diag);
/* Remove it (a missing file is fine). */
void otk_ota_checkpoint_remove(const char *path);

#ifdef __cplusplus
}
#endif
#endif
