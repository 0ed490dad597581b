/* The simulated device's runtime on the host: a device whose flash is an image file and
 * whose configuration and eFuses live in the device file beside it (device_store.h).
 * Shared by otakit-device, `otakit ota`, `otakit device` and the tests.
 *
 * A power-on is what a real board does when it gets power:
 *   1. the boot layer runs on the flash (ESP-IDF's second-stage bootloader rules: it may
 *      sweep PENDING_VERIFY to ABORTED, mark a NEW app PENDING_VERIFY, burn eFuse bits);
 *   2. the chosen app "runs": its descriptor says its name and version;
 *   3. the app's self-test policy decides whether it confirms itself: PASS marks it valid
 *      (esp_ota_mark_app_valid_cancel_rollback) when it is PENDING_VERIFY; FAIL never
 *      confirms (and does not mark itself invalid either: a real app that hangs or
 *      crashes never gets that far), so the next power-on rolls it back;
 *   4. the device file is saved (the eFuse may have changed) and the flash synced.
 * Every step is written to the log stream in ESP-IDF's bootloader style
 * ("I (12) boot: ...", "I (12) app: ..."); the time is the flash's virtual clock in ms.
 *
 * Not thread-safe; one otk_device_run_t per device. */
#ifndef OTAKIT_DEVICE_RUN_H
#define OTAKIT_DEVICE_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "otakit/app_policy.h"
#include "otakit/device.h"
#include "otakit/device_store.h"
#include "otakit/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the running app's self-test did at a power-on. */
typedef enum {
    OTK_SELFTEST_NOT_RUN = 0,   /* the device did not boot, or no self-test ran yet */
    OTK_SELFTEST_CONFIRMED,     /* PENDING_VERIFY, the app passed: now VALID */
    OTK_SELFTEST_UNCONFIRMED,   /* PENDING_VERIFY, the app fails: left PENDING_VERIFY */
    OTK_SELFTEST_NOT_PENDING,   /* not PENDING_VERIFY (VALID, factory, rollback off, no
                                   otadata entry): nothing to decide */
    OTK_SELFTEST_ERROR,         /* confirming failed (err says why) */
} otk_selftest_outcome_t;

typedef struct {
    otk_selftest_policy_t device;    /* the device option in force (auto, pass, fail) */
    otk_selftest_policy_t image;     /* the running image's marker (auto = none) */
    otk_selftest_policy_t effective; /* what the app did: pass or fail */
    bool has_state;                  /* state_before holds the running slot's otadata state */
    esp_ota_img_states_t state_before;
    otk_selftest_outcome_t outcome;
    esp_err_t err;
} otk_selftest_report_t;

typedef struct {
    const char *flash_path;        /* the caller's string */
    otk_flash_t *flash;            /* the image file, memory-mapped; owned */
    otk_device_store_t store;      /* configuration, eFuse and self-test option */
    bool store_existed;            /* the device file was there when opened */
    otk_device_t dev;
    FILE *log;                     /* where the boot and app log goes; NULL: nowhere */
    otk_selftest_report_t selftest;/* of the last power-on */
    uint32_t power_ons;            /* in this process */
    bool dry_run;                  /* a copy (otk_device_run_open_copy): nothing is saved */
} otk_device_run_t;

/* Open the device whose flash is flash_path: the flash file (it must exist; see
 * `otakit flash create`) and the device file beside it (defaults when missing). Nothing
 * is powered yet. Errors, with diag: ESP_ERR_NOT_FOUND (no flash file),
 * ESP_ERR_INVALID_SIZE (not a flash image size), the device file's errors. */
esp_err_t otk_device_run_open(otk_device_run_t *run, const char *flash_path, FILE *log,
                              otk_diag_t *diag);

/* A dry-run twin of an open device: same configuration and eFuses, its flash a memory
 * copy of src's as it is now. Whatever it does (power on, confirm, ...) changes neither
 * the flash file nor the device file: for "what would happen" questions. */
esp_err_t otk_device_run_open_copy(otk_device_run_t *copy, const otk_device_run_t *src,
                                   FILE *log, otk_diag_t *diag);

/* Steps 1 and 4 only: the boot layer, its log, save. Returns the boot's error (dev.boot
 * says why). For commands where a decision other than the self-test follows. */
esp_err_t otk_device_run_boot(otk_device_run_t *run);

/* Step 3 on the app that runs now, with this device option (pass the store's selftest
 * for the configured behaviour). Logged; saves. Returns the report's err. */
esp_err_t otk_device_run_selftest(otk_device_run_t *run, otk_selftest_policy_t device_option);

/* A whole power-on (steps 1-4). Returns the boot's error; the self-test's result is in
 * run->selftest. */
esp_err_t otk_device_run_power_on(otk_device_run_t *run, otk_selftest_policy_t device_option);

/* The running app's decisions, as its code would call them (logged, saved):
 * confirm = esp_ota_mark_app_valid_cancel_rollback; rollback =
 * esp_ota_mark_app_invalid_rollback, then the reboot it asks for (a whole power-on with
 * device_option). Return the esp_ota error, or the reboot's boot error. */
esp_err_t otk_device_run_confirm(otk_device_run_t *run);
esp_err_t otk_device_run_rollback(otk_device_run_t *run, otk_selftest_policy_t device_option);

/* Persist the device file (with the device's current eFuse) and sync the flash. A dry
 * run only updates run->store. */
esp_err_t otk_device_run_save(otk_device_run_t *run, otk_diag_t *diag);

/* Power off: sync and release the flash. Does not save (callers saved after each step). */
void otk_device_run_close(otk_device_run_t *run);

/* ---- the log (device_log.c) ---------------------------------------------------------- */

/* The boot as the bootloader would tell it: configuration, otadata as read, the writes it
 * made, refusals, eFuse changes, the selection and the partition loaded, or why nothing
 * boots. */
void otk_device_log_boot(FILE *out, const otk_device_t *dev);
/* "I (t) app: NAME VERSION running from LABEL (STATE)". */
void otk_device_log_app(FILE *out, otk_device_t *dev);
/* Both otadata entries as they are on flash now, with the slot each selects. */
void otk_device_log_otadata(FILE *out, otk_device_t *dev);
/* One ESP-style line: level 'I', 'W' or 'E', a tag, the device's virtual time. */
void otk_device_log_line(FILE *out, const otk_device_t *dev, char level, const char *tag,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The running partition's otadata state; ESP_ERR_NOT_SUPPORTED for factory/test, and
 * ESP_ERR_NOT_FOUND when no entry maps to it (as esp_ota_get_state_partition). */
esp_err_t otk_device_run_state(otk_device_t *dev, esp_ota_img_states_t *state);

/* "confirmed", "unconfirmed", "not_pending", "error", "not_run". */
const char *otk_selftest_outcome_name(otk_selftest_outcome_t outcome);

#ifdef __cplusplus
}
#endif
#endif
