/* The simulated device's runtime: open a flash image file with its device file, power on
 * (boot layer, running app, self-test policy), the app's own decisions, save, power off
 * (otakit/device_run.h). */
#include <stdio.h>
#include <string.h>

#include "otakit/device_run.h"
#include "otakit/ota.h"

#define TAG_APP "app"

esp_err_t otk_device_run_open(otk_device_run_t *run, const char *flash_path, FILE *log,
                              otk_diag_t *diag)
{
    memset(run, 0, sizeof *run);
    run->flash_path = flash_path;
    run->log = log;
    esp_err_t err = otk_flash_file_open(flash_path, &run->flash);
    if (err == ESP_ERR_NOT_FOUND) {
        otk_diag_set(diag, "%s: no such flash image (make one with `otakit flash create`)",
                     flash_path);
        return err;
    }
    if (err != ESP_OK) {
        otk_diag_set(diag, "%s: cannot open as a flash image (%s)%s", flash_path,
                     esp_err_to_name(err),
                     err == ESP_ERR_INVALID_SIZE ? ": its size must be a non-zero multiple of "
                                                   "4 KiB"
                                                 : "");
        return err;
    }
    err = otk_device_store_load(flash_path, &run->store, &run->store_existed, diag);
    if (err == ESP_OK) {
        err = otk_device_init(&run->dev, run->flash, &run->store.config,
                              run->store.efuse_secure_version);
        if (err != ESP_OK) {
            otk_diag_set(diag, "%s%s: the device configuration is refused (%s)", flash_path,
                         OTK_DEVICE_STORE_SUFFIX, esp_err_to_name(err));
        }
    }
    if (err != ESP_OK) {
        otk_flash_destroy(run->flash);
        run->flash = NULL;
    }
    return err;
}

esp_err_t otk_device_run_open_copy(otk_device_run_t *copy, const otk_device_run_t *src,
                                   FILE *log, otk_diag_t *diag)
{
    memset(copy, 0, sizeof *copy);
    copy->flash_path = src->flash_path;
    copy->log = log;
    copy->store = src->store;
    copy->store.efuse_secure_version = src->dev.efuse_secure_version;
    copy->store_existed = src->store_existed;
    copy->dry_run = true;
    esp_err_t err = otk_flash_mem_clone(src->flash, &copy->flash);
    if (err != ESP_OK) {
        otk_diag_set(diag, "%s: cannot copy the flash into memory (%s)", src->flash_path,
                     esp_err_to_name(err));
        return err;
    }
    err = otk_device_init(&copy->dev, copy->flash, &copy->store.config,
                          copy->store.efuse_secure_version);
    if (err != ESP_OK) {
        otk_diag_set(diag, "%s: the device configuration is refused (%s)", src->flash_path,
                     esp_err_to_name(err));
        otk_flash_destroy(copy->flash);
        copy->flash = NULL;
    }
    return err;
}

esp_err_t otk_device_run_save(otk_device_run_t *run, otk_diag_t *diag)
{
    run->store.efuse_secure_version = run->dev.efuse_secure_version;
    if (run->dry_run) {
        return ESP_OK;
    }
    esp_err_t err = otk_device_store_save(run->flash_path, &run->store, diag);
    esp_err_t sync = otk_flash_sync(run->flash);
    if (err == ESP_OK && sync != ESP_OK) {
        otk_diag_set(diag, "%s: cannot sync the flash image (%s)", run->flash_path,
                     esp_err_to_name(sync));
        err = sync;
    }
    return err;
}

/* Save after a step; a failure is logged (the step itself happened on flash). */
static void save_logged(otk_device_run_t *run)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_save(run, &diag) != ESP_OK) {
        otk_device_log_line(run->log, &run->dev, 'E', "device", "%s", diag.msg);
    }
}

esp_err_t otk_device_run_boot(otk_device_run_t *run)
{
    memset(&run->selftest, 0, sizeof run->selftest);
    run->selftest.outcome = OTK_SELFTEST_NOT_RUN;
    esp_err_t err = otk_device_power_on(&run->dev);
    run->power_ons++;
    otk_device_log_boot(run->log, &run->dev);
    if (err == ESP_OK) {
        otk_device_log_app(run->log, &run->dev);
    }
    save_logged(run);
    return err;
}

/* Why the app passes or fails, for the log. */
static void policy_why(const otk_selftest_report_t *r, char *out, size_t cap)
{
    if (r->device == OTK_SELFTEST_PASS || r->device == OTK_SELFTEST_FAIL) {
        snprintf(out, cap, "device option selftest = %s", otk_selftest_policy_name(r->device));
    } else if (r->image != OTK_SELFTEST_AUTO) {
        snprintf(out, cap, "image marker: %s", otk_selftest_policy_name(r->image));
    } else {
        snprintf(out, cap, "no marker in the image: a good app");
    }
}

static void log_not_pending(otk_device_run_t *run, const otk_selftest_report_t *r,
                            const char *why)
{
    const char *label = run->dev.running->label;
    char state[64];
    if (!r->has_state) {
        snprintf(state, sizeof state, "has no otadata state (factory, or no entry)");
    } else {
        snprintf(state, sizeof state, "is %s%s", otk_otadata_state_name(r->state_before),
                 r->state_before == ESP_OTA_IMG_UNDEFINED ? " (rollback off)" : "");
    }
    if (r->effective == OTK_SELFTEST_FAIL) {
        otk_device_log_line(run->log, &run->dev, 'W', TAG_APP,
                            "nothing to confirm: %s %s; its self-test fails (%s), but only "
                            "a PENDING_VERIFY app is rolled back",
                            label, state, why);
    } else {
        otk_device_log_line(run->log, &run->dev, 'I', TAG_APP, "nothing to confirm: %s %s",
                            label, state);
    }
}

esp_err_t otk_device_run_selftest(otk_device_run_t *run, otk_selftest_policy_t device_option)
{
    otk_device_t *dev = &run->dev;
    otk_selftest_report_t r;
    memset(&r, 0, sizeof r);
    r.device = device_option;
    r.outcome = OTK_SELFTEST_NOT_RUN;
    if (dev->running == NULL) {
        r.err = ESP_ERR_INVALID_STATE;
        run->selftest = r;
        return r.err;
    }
    /* A marker that cannot be read (flash error) counts as none: the app is good. */
    if (otk_app_policy_read(dev->running, &r.image) != ESP_OK) {
        r.image = OTK_SELFTEST_AUTO;
    }
    r.effective = otk_app_policy_resolve(device_option, r.image);
    r.has_state = otk_device_run_state(dev, &r.state_before) == ESP_OK;
    char why[96];
    policy_why(&r, why, sizeof why);

    if (!r.has_state || r.state_before != ESP_OTA_IMG_PENDING_VERIFY) {
        r.outcome = OTK_SELFTEST_NOT_PENDING;
        log_not_pending(run, &r, why);
    } else if (r.effective == OTK_SELFTEST_PASS) {
        uint32_t efuse_before = dev->efuse_secure_version;
        r.err = otk_ota_mark_app_valid_cancel_rollback(dev);
        r.outcome = r.err == ESP_OK ? OTK_SELFTEST_CONFIRMED : OTK_SELFTEST_ERROR;
        if (r.err == ESP_OK) {
            otk_device_log_line(run->log, dev, 'I', TAG_APP,
                                "self-test passed (%s): esp_ota_mark_app_valid_cancel_rollback"
                                "(): %s is VALID, rollback cancelled",
                                why, dev->running->label);
        } else {
            otk_device_log_line(run->log, dev, 'E', TAG_APP,
                                "self-test passed but esp_ota_mark_app_valid_cancel_rollback() "
                                "failed: %s", esp_err_to_name(r.err));
        }
        if (dev->efuse_secure_version != efuse_before) {
            uint8_t bits = dev->config.secure_version_bits;
            otk_device_log_line(run->log, dev, 'I', TAG_APP,
                                "eFuse: secure version %u -> %u (field 0x%08x -> 0x%08x)",
                                (unsigned)otk_boot_efuse_secure_version(efuse_before, bits),
                                (unsigned)otk_boot_efuse_secure_version(
                                    dev->efuse_secure_version, bits),
                                (unsigned)efuse_before, (unsigned)dev->efuse_secure_version);
        }
    } else {
        r.outcome = OTK_SELFTEST_UNCONFIRMED;
        otk_device_log_line(run->log, dev, 'W', TAG_APP,
                            "self-test failed (%s): %s never confirms itself; it stays "
                            "PENDING_VERIFY and the next power-on rolls it back",
                            why, dev->running->label);
    }
    run->selftest = r;
    save_logged(run);
    return r.err;
}

esp_err_t otk_device_run_power_on(otk_device_run_t *run, otk_selftest_policy_t device_option)
{
    esp_err_t err = otk_device_run_boot(run);
    if (err == ESP_OK) {
        otk_device_run_selftest(run, device_option);
    }
    return err;
}

/* Why an esp_ota_mark_* call failed, in the running app's terms. */
static const char *mark_failure(esp_err_t err)
{
    switch (err) {
    case ESP_ERR_NOT_FOUND:
        return "the partition table has no otadata partition";
    case ESP_FAIL:
        return "no active otadata entry: the running firmware is the factory app";
    case ESP_ERR_OTA_ROLLBACK_FAILED:
        return "no other bootable app to roll back to";
    case ESP_ERR_INVALID_STATE:
        return "the device is not running an app";
    default:
        return "flash error";
    }
}

esp_err_t otk_device_run_confirm(otk_device_run_t *run)
{
    otk_device_t *dev = &run->dev;
    if (dev->running == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    esp_err_t err = otk_ota_mark_app_valid_cancel_rollback(dev);
    if (err == ESP_OK) {
        otk_device_log_line(run->log, dev, 'I', TAG_APP,
                            "esp_ota_mark_app_valid_cancel_rollback(): %s is VALID",
                            dev->running->label);
    } else {
        otk_device_log_line(run->log, dev, 'E', TAG_APP,
                            "esp_ota_mark_app_valid_cancel_rollback() failed: %s (%s)",
                            mark_failure(err), esp_err_to_name(err));
    }
    save_logged(run);
    return err;
}

esp_err_t otk_device_run_rollback(otk_device_run_t *run, otk_selftest_policy_t device_option)
{
    otk_device_t *dev = &run->dev;
    if (dev->running == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    esp_err_t err = otk_ota_mark_app_invalid_rollback_and_reboot(dev);
    if (err != ESP_OK) {
        otk_device_log_line(run->log, dev, 'E', TAG_APP,
                            "esp_ota_mark_app_invalid_rollback_and_reboot() failed: %s (%s)",
                            mark_failure(err), esp_err_to_name(err));
        save_logged(run);
        return err;
    }
    otk_device_log_line(run->log, dev, 'W', TAG_APP,
                        "esp_ota_mark_app_invalid_rollback_and_reboot(): %s is INVALID, "
                        "rebooting", dev->running->label);
    save_logged(run);
    return otk_device_run_power_on(run, device_option);
}

void otk_device_run_close(otk_device_run_t *run)
{
    if (run->flash != NULL) {
        otk_flash_destroy(run->flash);
        run->flash = NULL;
    }
}
