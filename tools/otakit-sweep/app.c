/* The app: what the firmware does after every boot, written so that it can start over
 * after a power cut at any point (littlefs's "reentrant" tests): it looks at what runs and
 * what flash says, and goes on from there.
 *
 *   1. Self-test: when the running app is PENDING_VERIFY it tests itself. A good build
 *      confirms (esp_ota_mark_app_valid_cancel_rollback); a bad one calls
 *      esp_ota_mark_app_invalid_rollback_and_reboot. The image says which (app_policy).
 *      A build that crashes resets at every boot before doing anything (the bootloader
 *      must roll it back).
 *   2. The job. Install: the next target version after the one that runs, unless it is the
 *      version of esp_ota_get_last_invalid_partition (ESP-IDF's native_ota example refuses
 *      a version that already failed); download in 4 KiB chunks into the next update
 *      partition, end, set_boot, restart. With a resume, the offset written so far is kept
 *      in the app's NVS after every chunk, and a restarted download resumes from it.
 *      Erase-last: esp_ota_erase_last_boot_app_partition until it says there is nothing
 *      left to erase. */
#include <string.h>

#include "run_internal.h"

#include "otakit/app_policy.h"
#include "otakit/ota.h"

/* A call failed: a power cut, or something the app does not expect (a failure). */
static app_step_t failed_call(run_t *r, const char *what, esp_err_t err)
{
    if (run_cut(r)) {
        run_note(r, "app: %s: power cut", what);
        return APP_CUT;
    }
    run_fail(r, "app: %s failed: %s", what, esp_err_to_name(err));
    return APP_FAILED;
}

static const image_spec_t *running_spec(const run_t *r)
{
    return &r->fx->sc->images[r->running_image];
}

static app_step_t self_test(run_t *r)
{
    const esp_partition_t *p = r->dev.running;
    if (running_spec(r)->selftest == SELFTEST_CRASH) {
        /* A build that crashes does so at every boot, trial or not: only the bootloader's
         * rollback gets the device out (else it loops until the sweep calls it stuck). */
        run_note(r, "app: %s crashes (watchdog reset)", running_spec(r)->version);
        return APP_REBOOT;
    }
    esp_ota_img_states_t state;
    if (!r->dev.config.rollback ||
        otk_ota_get_state_partition(&r->dev, p, &state) != ESP_OK ||
        state != ESP_OTA_IMG_PENDING_VERIFY) {
        return APP_CONTINUE;
    }
    otk_selftest_policy_t marker = OTK_SELFTEST_AUTO;
    esp_err_t err = otk_app_policy_read(p, &marker);
    if (err != ESP_OK) {
        return failed_call(r, "reading the self-test marker", err);
    }
    if (otk_app_policy_resolve(OTK_SELFTEST_AUTO, marker) == OTK_SELFTEST_PASS) {
        r->action = "confirm";
        err = otk_ota_mark_app_valid_cancel_rollback(&r->dev);
        if (err != ESP_OK) {
            return failed_call(r, "mark_app_valid_cancel_rollback", err);
        }
        run_note(r, "app: %s confirmed itself", running_spec(r)->version);
        check_confirmed(r);
        return APP_CONTINUE;
    }
    r->action = "mark invalid";
    err = otk_ota_mark_app_invalid_rollback_and_reboot(&r->dev);
    if (err != ESP_OK) {
        return failed_call(r, "mark_app_invalid_rollback_and_reboot", err);
    }
    run_note(r, "app: %s failed its self-test, marked itself invalid, restarting",
             running_spec(r)->version);
    return APP_REBOOT;
}

int app_target_after(const run_t *r, int image)
{
    for (size_t i = 0; i < r->target_count; i++) {
        if (r->targets[i] == image) {
            return i + 1 < r->target_count ? r->targets[i + 1] : -1;
        }
    }
    return r->target_count > 0 ? r->targets[0] : -1;
}

static bool known_bad(run_t *r, int image)
{
    const esp_partition_t *p = otk_ota_get_last_invalid_partition(&r->dev);
    esp_app_desc_t desc;
    return p != NULL && otk_ota_get_partition_description(&r->dev, p, &desc) == ESP_OK &&
           strcmp(desc.version, r->fx->sc->images[image].version) == 0;
}

static size_t begin_size(const run_t *r, const image_t *img)
{
    switch (r->begin_mode) {
    case BEGIN_SIZE_UNKNOWN:
        return OTA_SIZE_UNKNOWN;
    case BEGIN_SEQUENTIAL:
        return OTA_WITH_SEQUENTIAL_WRITES;
    case BEGIN_SIZE_KNOWN:
    default:
        return img->len;
    }
}

/* Open the update: resume the saved download of this image into this slot, or begin. */
static app_step_t open_update(run_t *r, int target, const esp_partition_t *p,
                              esp_ota_handle_t *h, uint32_t *offset)
{
    const image_t *img = &r->fx->images[target];
    app_nvs_t *nvs = &r->nvs;
    esp_err_t err;
    if (r->interrupt_after_chunks > 0 && nvs->progress_valid && nvs->progress_image == target &&
        nvs->progress_addr == p->address) {
        r->action = "resume";
        *offset = nvs->progress_offset;
        err = otk_ota_resume(&r->dev, p, OTA_WITH_SEQUENTIAL_WRITES, *offset, h);
        if (err != ESP_OK) {
            return failed_call(r, "resume", err);
        }
        run_note(r, "app: resume %s into %s at 0x%x", r->fx->sc->images[target].version,
                 p->label, (unsigned)*offset);
        return APP_CONTINUE;
    }
    r->action = "begin";
    *offset = 0;
    err = otk_ota_begin(&r->dev, p, begin_size(r, img), h);
    if (err != ESP_OK) {
        return failed_call(r, "begin", err);
    }
    run_note(r, "app: begin %s into %s", r->fx->sc->images[target].version, p->label);
    if (r->interrupt_after_chunks > 0) {
        nvs->progress_valid = true;
        nvs->progress_image = target;
        nvs->progress_addr = p->address;
        nvs->progress_offset = 0;
    }
    return APP_CONTINUE;
}

static app_step_t download(run_t *r, int target, esp_ota_handle_t h, uint32_t offset)
{
    const image_t *img = &r->fx->images[target];
    uint32_t chunks = 0;
    r->action = "write";
    while (offset < img->len) {
        size_t n = img->len - offset < SWEEP_CHUNK ? img->len - offset : SWEEP_CHUNK;
        esp_err_t err = otk_ota_write(&r->dev, h, img->bytes + offset, n);
        if (err != ESP_OK) {
            return failed_call(r, "write", err);
        }
        offset += (uint32_t)n;
        chunks++;
        if (r->interrupt_after_chunks == 0) {
            continue;
        }
        r->nvs.progress_offset = offset;
        if (!r->nvs.interrupted_once && chunks == r->interrupt_after_chunks) {
            r->nvs.interrupted_once = true;
            run_note(r, "app: the link drops after 0x%x bytes; the device resets",
                     (unsigned)offset);
            return APP_REBOOT;
        }
    }
    return APP_CONTINUE;
}

static app_step_t install(run_t *r)
{
    int target = app_target_after(r, r->running_image);
    if (target < 0) {
        return APP_DONE;
    }
    if (known_bad(r, target)) {
        run_note(r, "app: %s failed before (last invalid partition): not installing it",
                 r->fx->sc->images[target].version);
        return APP_DONE;
    }
    const esp_partition_t *p = otk_ota_get_next_update_partition(&r->dev, NULL);
    if (p == NULL) {
        run_fail(r, "app: no update partition");
        return APP_FAILED;
    }
    esp_ota_handle_t h = 0;
    uint32_t offset = 0;
    app_step_t s = open_update(r, target, p, &h, &offset);
    if (s == APP_CONTINUE) {
        s = download(r, target, h, offset);
    }
    if (s != APP_CONTINUE) {
        return s;
    }
    r->action = "end";
    esp_err_t err = otk_ota_end(&r->dev, h);
    if (err != ESP_OK) {
        return failed_call(r, "end", err);
    }
    r->in_window = true;
    r->action = "set_boot";
    check_candidate(r, target);
    err = otk_ota_set_boot_partition(&r->dev, p);
    if (err != ESP_OK) {
        return failed_call(r, "set_boot_partition", err);
    }
    r->nvs.progress_valid = false;
    run_note(r, "app: %s installed in %s, restarting", r->fx->sc->images[target].version,
             p->label);
    return APP_REBOOT;
}

static app_step_t erase_last(run_t *r)
{
    if (r->erased_last) {
        return APP_DONE;
    }
    r->action = "erase_last_boot_app_partition";
    r->in_window = true; /* the whole job is its window: two faults anywhere in it */
    esp_err_t err = otk_ota_erase_last_boot_app_partition(&r->dev);
    if (err == ESP_FAIL && !run_cut(r)) {
        run_note(r, "app: erase_last_boot_app_partition: nothing (left) to erase");
        r->erased_last = true;
        return APP_DONE;
    }
    if (err != ESP_OK) {
        return failed_call(r, "erase_last_boot_app_partition", err);
    }
    run_note(r, "app: erased the last boot app partition");
    r->erased_last = true;
    return APP_DONE;
}

app_step_t app_run(run_t *r)
{
    app_step_t s = self_test(r);
    if (s != APP_CONTINUE) {
        return s;
    }
    r->in_window = false; /* a confirm closes the window, an idle app too */
    s = r->job == JOB_ERASE_LAST ? erase_last(r) : install(r);
    r->action = "idle";
    return s;
}
