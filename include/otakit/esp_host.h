/* The host side of the ESP-IDF compatible layer: which simulated device the esp_* functions
 * work on, and a runner that executes an ESP-IDF app on it.
 *
 * ESP-IDF's API has no device argument: on a chip there is only one. Here the esp_*
 * functions (esp_ota_ops.h, esp_partition.h, esp_system.h, esp_app_desc.h) act on the
 * "current device", the one global the design allows. Setting it also points
 * esp_partition_* at the device's partition table. Not thread-safe: one thread drives the
 * esp_* layer at a time (as one core runs app_main on a chip).
 *
 * The runner plays the chip's reset loop: power on (the bootloader picks the app), call
 * app_main, and when the app calls esp_restart() (or
 * esp_ota_mark_app_invalid_rollback_and_reboot succeeds) power on again and call app_main
 * again. esp_restart() does not return, as on a chip: it jumps back into the runner
 * (longjmp), abandoning the app's stack. Like a chip's RAM, whatever the app allocated and
 * did not free before restarting is gone (a leak on the host), so apps should release
 * what they hold before they restart. Outside a runner esp_restart() prints why and
 * aborts. */
#ifndef OTAKIT_ESP_HOST_H
#define OTAKIT_ESP_HOST_H

#include <stddef.h>

#include "esp_err.h"
#include "esp_flash_partitions.h"
#include "otakit/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Boots a run keeps a record of; later boots are still counted in `boots`. Enough for any
 * OTA scenario a test or an example plays (each update takes two or three boots). */
#define OTK_ESP_MAX_BOOT_RECORDS 32u
/* Default power-on limit of a run: stops an app that restarts forever. */
#define OTK_ESP_MAX_BOOTS_DEFAULT 16u

/* ---- the current device ------------------------------------------------------------ */

/* Make dev the device the esp_* functions act on (NULL: none; they then fail with
 * ESP_ERR_INVALID_STATE or return NULL, and log why). Also sets the current partition table
 * (otk_partition_set_current_table) to &dev->table, which power-on fills. dev must outlive
 * its use as the current device. */
void otk_esp_set_current_device(otk_device_t *dev);
otk_device_t *otk_esp_get_current_device(void);

/* ---- the runner -------------------------------------------------------------------- */

/* How one boot of a run ended. */
typedef enum {
    OTK_ESP_BOOT_RUNNING = 0, /* app_main has not finished (seen from the boot hook) */
    OTK_ESP_BOOT_RETURNED,    /* app_main returned */
    OTK_ESP_BOOT_RESTARTED,   /* the app called esp_restart() */
    OTK_ESP_BOOT_FAILED,      /* power-on failed: app_main was not called */
} otk_esp_boot_end_t;

/* One power-on of a run. */
typedef struct {
    unsigned number;          /* 1 for the first power-on of the run */
    esp_err_t err;            /* otk_device_power_on's result */
    char label[17];           /* the running partition, "" when none */
    char version[33];         /* its esp_app_desc_t.version (NUL-terminated), "" when none */
    /* The running slot's otadata state right after boot (PENDING_VERIFY on the first boot
     * of an update with rollback); ESP_OTA_IMG_UNDEFINED for a factory / test app or when
     * there is no otadata entry for it. */
    esp_ota_img_states_t state;
    otk_esp_boot_end_t end;
} otk_esp_boot_record_t;

/* Why a run stopped. */
typedef enum {
    OTK_ESP_STOP_RETURNED = 0, /* app_main returned normally: run result ESP_OK */
    OTK_ESP_STOP_MAX_BOOTS,    /* the app restarted on the last allowed boot:
                                  ESP_ERR_NOT_FINISHED */
    OTK_ESP_STOP_NO_BOOT,      /* a power-on failed (nothing bootable, flash error): its
                                  error */
    OTK_ESP_STOP_ARGS,         /* bad arguments: ESP_ERR_INVALID_ARG / _INVALID_STATE */
} otk_esp_stop_t;

typedef struct {
    otk_esp_stop_t stop;
    esp_err_t err;      /* what otk_esp_run_app returned */
    unsigned boots;     /* power-ons attempted, including a failed one */
    unsigned restarts;  /* esp_restart() calls */
    size_t record_count;
    otk_esp_boot_record_t records[OTK_ESP_MAX_BOOT_RECORDS];
} otk_esp_run_result_t;

/* Called after each power-on, before app_main (record->end is RUNNING), and after a failed
 * power-on (record->end is FAILED). For progress output; it may use the esp_* API. */
typedef void (*otk_esp_boot_hook_t)(void *ctx, otk_device_t *dev,
                                    const otk_esp_boot_record_t *record);

typedef struct {
    unsigned max_boots;          /* power-ons allowed, >= 1 */
    otk_esp_boot_hook_t on_boot; /* NULL: none */
    void *ctx;
} otk_esp_run_opts_t;

/* max_boots = OTK_ESP_MAX_BOOTS_DEFAULT, no hook. */
void otk_esp_run_opts_init(otk_esp_run_opts_t *opts);

/* Run app_main on dev until it returns or max_boots power-ons happened: dev becomes the
 * current device (and stays current afterwards), each boot powers it on
 * (otk_device_power_on) and calls app_main; esp_restart() ends a boot. opts NULL: defaults;
 * result may be NULL. Returns ESP_OK when app_main returned, ESP_ERR_NOT_FINISHED when it
 * was still restarting at the limit, a power-on's error when the device did not boot,
 * ESP_ERR_INVALID_ARG for NULL dev / app_main or max_boots 0, ESP_ERR_INVALID_STATE when a
 * run on dev is already in progress (an app may run another device's app, not its own).
 * Must be called and esp_restart() reached on the same thread. */
esp_err_t otk_esp_run_app(otk_device_t *dev, void (*app_entry)(void),
                          const otk_esp_run_opts_t *opts, otk_esp_run_result_t *result);

/* "returned", "max_boots", "no_boot", "args". */
const char *otk_esp_stop_name(otk_esp_stop_t stop);
/* "running", "returned", "restarted", "failed". */
const char *otk_esp_boot_end_name(otk_esp_boot_end_t end);

#ifdef __cplusplus
}
#endif
#endif
