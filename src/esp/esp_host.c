/* The current device of the esp_* layer and the runner that plays a chip's reset loop
 * (otakit/esp_host.h). esp_restart() longjmps back into the runner's frame. */
#include "otakit/esp_host.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/esp_internal.h"
#include "esp_system.h"
#include "otakit/log.h"
#include "otakit/ota.h"
#include "otakit/partition.h"

static const char TAG[] = "esp_host";

/* A run in progress: where esp_restart() jumps to. Runs nest (an app may run another
 * device's app), so each frame keeps the one it replaced. */
typedef struct runner {
    otk_device_t *dev;
    bool restarted; /* the current boot follows an esp_restart() (esp_reset_reason) */
    jmp_buf env;
    struct runner *prev;
} runner_t;

/* The one global of the layer: the current device, and the run (if any) executing on this
 * thread. */
static struct {
    otk_device_t *dev;
    runner_t *runner;
} s_esp;

void otk_esp_set_current_device(otk_device_t *dev)
{
    s_esp.dev = dev;
    otk_partition_set_current_table(dev != NULL ? &dev->table : NULL);
}

otk_device_t *otk_esp_get_current_device(void)
{
    return s_esp.dev;
}

otk_device_t *otk_esp_device_for(const char *func)
{
    if (s_esp.dev == NULL) {
        OTK_LOGE(TAG, "%s: no current device (call otk_esp_set_current_device or run the app "
                 "with otk_esp_run_app)", func);
    }
    return s_esp.dev;
}

void otk_esp_host_restart(void)
{
    otk_device_t *dev = s_esp.dev;
    runner_t *r = s_esp.runner;
    if (dev == NULL || r == NULL || r->dev != dev) {
        /* Returning would break the contract every ESP-IDF app relies on (code after
         * esp_restart never runs), and there is no reset loop to go back to. */
        fprintf(stderr, "esp_restart: %s: nothing can reboot it, aborting "
                "(run the app with otk_esp_run_app)\n",
                dev == NULL ? "no current device" : "the current device is not run by "
                "otk_esp_run_app");
        fflush(stderr);
        abort();
    }
    dev->restart_requested = true;
    longjmp(r->env, 1);
}

int otk_esp_host_reset_reason(void)
{
    if (s_esp.dev == NULL) {
        return ESP_RST_UNKNOWN;
    }
    const runner_t *r = s_esp.runner;
    if (r != NULL && r->dev == s_esp.dev && r->restarted) {
        return ESP_RST_SW;
    }
    /* Not run by us or its first boot: whoever powered it on did. */
    return ESP_RST_POWERON;
}

void otk_esp_run_opts_init(otk_esp_run_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->max_boots = OTK_ESP_MAX_BOOTS_DEFAULT;
}

/* One call of app_main; true when it ended in esp_restart(). Kept apart so that nothing in
 * the frame holding the jmp_buf changes between setjmp and longjmp. */
static bool call_app(runner_t *r, void (*app_entry)(void))
{
    if (setjmp(r->env) != 0) {
        return true;
    }
    app_entry();
    return false;
}

static void copy_str(char *dst, size_t cap, const char *src, size_t src_max)
{
    size_t n = strnlen(src, src_max);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* What booted: label, version and otadata state of the running partition. */
static void describe_boot(otk_device_t *dev, otk_esp_boot_record_t *rec)
{
    rec->state = ESP_OTA_IMG_UNDEFINED;
    const esp_partition_t *running = dev->running;
    if (running == NULL) {
        return;
    }
    copy_str(rec->label, sizeof rec->label, running->label, sizeof running->label);
    const esp_app_desc_t *desc = otk_device_running_app(dev);
    if (desc != NULL) {
        copy_str(rec->version, sizeof rec->version, desc->version, sizeof desc->version);
    }
    esp_ota_img_states_t state;
    if (otk_ota_get_state_partition(dev, running, &state) == ESP_OK) {
        rec->state = state;
    }
}

static otk_esp_boot_record_t *new_record(otk_esp_run_result_t *res, otk_esp_boot_record_t *spare)
{
    res->boots++;
    otk_esp_boot_record_t *rec = spare;
    if (res->record_count < OTK_ESP_MAX_BOOT_RECORDS) {
        rec = &res->records[res->record_count++];
    }
    memset(rec, 0, sizeof *rec);
    rec->number = res->boots;
    return rec;
}

static esp_err_t stop(otk_esp_run_result_t *res, otk_esp_stop_t why, esp_err_t err)
{
    res->stop = why;
    res->err = err;
    return err;
}

esp_err_t otk_esp_run_app(otk_device_t *dev, void (*app_entry)(void),
                          const otk_esp_run_opts_t *opts, otk_esp_run_result_t *result)
{
    otk_esp_run_result_t local;
    otk_esp_run_result_t *res = result != NULL ? result : &local;
    memset(res, 0, sizeof *res);
    otk_esp_run_opts_t defaults;
    if (opts == NULL) {
        otk_esp_run_opts_init(&defaults);
        opts = &defaults;
    }
    if (dev == NULL || app_entry == NULL || opts->max_boots == 0) {
        OTK_LOGE(TAG, "run: %s", dev == NULL ? "no device" : app_entry == NULL ? "no app_main"
                                                                              : "max_boots is 0");
        return stop(res, OTK_ESP_STOP_ARGS, ESP_ERR_INVALID_ARG);
    }
    for (const runner_t *r = s_esp.runner; r != NULL; r = r->prev) {
        if (r->dev == dev) {
            OTK_LOGE(TAG, "run: the device is already running an app");
            return stop(res, OTK_ESP_STOP_ARGS, ESP_ERR_INVALID_STATE);
        }
    }

    otk_device_t *outer_dev = s_esp.dev;
    runner_t frame = {.dev = dev, .prev = s_esp.runner};
    otk_esp_boot_record_t spare; /* a boot past the record limit is described here */
    esp_err_t err = ESP_OK;
    otk_esp_stop_t why = OTK_ESP_STOP_RETURNED;
    for (;;) {
        if (res->boots == opts->max_boots) {
            OTK_LOGW(TAG, "run: still restarting after %u boots, stopping", res->boots);
            why = OTK_ESP_STOP_MAX_BOOTS;
            err = ESP_ERR_NOT_FINISHED;
            break;
        }
        otk_esp_boot_record_t *rec = new_record(res, &spare);
        /* Current before power-on: the table pointer is fixed, power-on refills it. */
        otk_esp_set_current_device(dev);
        rec->err = otk_device_power_on(dev);
        if (rec->err != ESP_OK) {
            rec->end = OTK_ESP_BOOT_FAILED;
            OTK_LOGE(TAG, "run: boot %u: power-on failed: %s", rec->number,
                     esp_err_to_name(rec->err));
            if (opts->on_boot != NULL) {
                opts->on_boot(opts->ctx, dev, rec);
            }
            why = OTK_ESP_STOP_NO_BOOT;
            err = rec->err;
            break;
        }
        describe_boot(dev, rec);
        rec->end = OTK_ESP_BOOT_RUNNING;
        if (opts->on_boot != NULL) {
            opts->on_boot(opts->ctx, dev, rec);
        }
        /* The hook or a nested run may have changed it; the app runs on dev. */
        otk_esp_set_current_device(dev);
        s_esp.runner = &frame;
        bool restarted = call_app(&frame, app_entry);
        s_esp.runner = frame.prev;
        /* The app may have made another device current; the next boot is dev's. */
        otk_esp_set_current_device(dev);
        if (!restarted) {
            rec->end = OTK_ESP_BOOT_RETURNED;
            break;
        }
        rec->end = OTK_ESP_BOOT_RESTARTED;
        res->restarts++;
        frame.restarted = true;
    }
    /* A nested run hands the current device back to the app that started it. */
    if (frame.prev != NULL) {
        otk_esp_set_current_device(outer_dev);
    }
    return stop(res, why, err);
}

const char *otk_esp_stop_name(otk_esp_stop_t why)
{
    switch (why) {
    case OTK_ESP_STOP_RETURNED:
        return "returned";
    case OTK_ESP_STOP_MAX_BOOTS:
        return "max_boots";
    case OTK_ESP_STOP_NO_BOOT:
        return "no_boot";
    case OTK_ESP_STOP_ARGS:
        return "args";
    }
    return "unknown";
}

const char *otk_esp_boot_end_name(otk_esp_boot_end_t end)
{
    switch (end) {
    case OTK_ESP_BOOT_RUNNING:
        return "running";
    case OTK_ESP_BOOT_RETURNED:
        return "returned";
    case OTK_ESP_BOOT_RESTARTED:
        return "restarted";
    case OTK_ESP_BOOT_FAILED:
        return "failed";
    }
    return "unknown";
}
