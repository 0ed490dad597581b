/* `otakit ota FLASH URL`: the download path of cmd_ota.c (cmd_ota_url.c). */
#ifndef OTAKIT_CMD_OTA_URL_H
#define OTAKIT_CMD_OTA_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/device_run.h"

typedef struct {
    const char *ca_file;  /* --ca FILE; NULL: the system CA store */
    bool allow_http;      /* --allow-http */
    uint32_t timeout_ms;  /* --timeout SECONDS (connect and stall); 0: the defaults */
} ota_url_opts_t;

/* Parse --timeout's SECONDS (0.1 .. 3600, decimals allowed). */
bool ota_url_parse_timeout(const char *text, uint32_t *ms);

/* Install the image at url into the next OTA slot of the powered-on device in run, as
 * its app would with esp_https_ota, continuing from FLASH.ota-checkpoint when an earlier
 * pull was interrupted. On failure *step names the esp_https_ota_* call and reason[cap]
 * says why. *size gets the image's length. tty: a progress bar on stderr; notes (resumed,
 * reconnects) go to stderr unless quiet. */
esp_err_t ota_url_update(otk_device_run_t *run, const char *url, const ota_url_opts_t *uo,
                         bool tty, bool quiet, const char **step, char *reason, size_t cap,
                         uint32_t *size);

#endif
