/* otakit-device: the pieces its main and its console share. */
#ifndef OTAKIT_DEVICE_CLI_H
#define OTAKIT_DEVICE_CLI_H

#include <stdbool.h>

#include "otakit/device_run.h"

/* Exit codes: 0 the device ran and powered off; 1 it cannot boot at all (or its flash or
 * device file cannot be opened); 2 wrong arguments. */
#define DEVICE_EXIT_OK 0
#define DEVICE_EXIT_NO_BOOT 1
#define DEVICE_EXIT_USAGE 2

typedef struct {
    const char *flash_path;
    bool once;
    bool json;
    bool verbose;
    bool selftest_given;               /* --selftest was on the command line */
    otk_selftest_policy_t selftest;    /* --selftest, else the device file's option */
    const char *pull_url;              /* --pull URL: install an update (device_pull.c) */
    const char *listen;                /* --listen URI: serve the control path (listen.c) */
    const char *token;                 /* --token: TCP's shared secret (else OTAKIT_TOKEN) */
    const char *manifest;              /* --manifest URI: run its update list (service_poll.c) */
    const char *poll;                  /* --poll SECONDS: fetch it again at this interval */
} device_opts_t;

/* A power-on with the options' self-test policy, reported as text (the run's log) or as
 * one JSON line. Returns the boot's error. */
esp_err_t device_power_on(otk_device_run_t *run, const device_opts_t *o);
/* Report a power-on that already happened (err is its boot error): the JSON line, or why
 * nothing boots. Returns err. */
esp_err_t device_report_boot(otk_device_run_t *run, const device_opts_t *o, esp_err_t err);

/* "otakit-device: error: ..." on stderr. */
void device_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read commands from stdin until it closes, "quit", or SIGINT/SIGTERM. Returns the exit
 * code (DEVICE_EXIT_NO_BOOT when a reboot found nothing bootable). */
int device_console(otk_device_run_t *run, const device_opts_t *o);

/* --pull URL after power-on: install the image at o->pull_url into the next OTA slot as
 * the running app would (esp_https_ota), resuming from FLASH.ota-checkpoint; reported
 * as log lines or one JSON line. ESP_OK also when there is no --pull. */
esp_err_t device_pull(otk_device_run_t *run, const device_opts_t *o);

/* Serve the control path on o->listen until SIGINT/SIGTERM (listen.c). Returns the exit
 * code: DEVICE_EXIT_NO_BOOT when a reboot found nothing bootable or the transport cannot
 * be opened, DEVICE_EXIT_USAGE for a bad URI or TCP without a token. */
int device_listen(otk_device_run_t *run, const device_opts_t *o);

/* --manifest URI [--poll SECONDS] (service_poll.c): run the update list at o->manifest
 * (ESP-ADF's ota_service), rebooting when a node asks; with --poll, fetch it again every
 * SECONDS (If-None-Match) and apply it when it changed, until SIGINT/SIGTERM. Returns the
 * exit code: DEVICE_EXIT_NO_BOOT when the list failed (without --poll) or a reboot found
 * nothing bootable, DEVICE_EXIT_USAGE for a bad URI or interval. */
int device_service(otk_device_run_t *run, const device_opts_t *o);

#endif
