/* The invariants.
 *
 * After every boot:
 *   - the device boots (a power-on with power that finds nothing to run is a brick);
 *   - what runs verifies in full when checked independently of the boot layer, and it is
 *     the image the boot layer verified;
 *   - it is one of the images allowed now: the last confirmed one, or one that set_boot
 *     was asked to select since; never a third image, never the one a confirm replaced;
 *   - the last confirmed image is still in its slot, byte for byte (the way back);
 *   - with anti-rollback, the eFuse never passes the confirmed image's secure_version
 *     (otherwise a failed trial of the new image could not fall back).
 * During the run: the app never programs or erases its own slot; the boot layer writes
 * nothing but otadata.
 * At the end: the scenario's goal (new image confirmed, or bad image rejected and the old
 * one back, or the old slot erased), and the app's view of the next boot is what runs. */
#include <string.h>

#include "run_internal.h"

#include "otakit/image.h"
#include "otakit/ota.h"
#include "otakit/otadata.h"

static const char *name_of(const run_t *r, int image)
{
    return image >= 0 ? r->fx->sc->images[image].version : "(none)";
}

static bool allowed(const run_t *r, int image)
{
    return image == r->confirmed || (r->candidates & (1u << image)) != 0;
}

void check_candidate(run_t *r, int image)
{
    r->candidates |= 1u << image;
}

void check_confirmed(run_t *r)
{
    r->confirmed = r->running_image;
    r->confirmed_addr = r->dev.running->address;
    r->confirmed_size = r->dev.running->size;
    r->candidates = 0;
}

/* The confirmed image is the device's way back: its slot must still hold it, byte for
 * byte, whatever runs now (nothing the app does may overwrite it before a newer confirm). */
static void check_confirmed_intact(run_t *r)
{
    if (r->confirmed < 0 || r->confirmed_size == 0 ||
        r->confirmed_addr == r->dev.running->address) {
        return; /* it runs: check_boot has just verified it */
    }
    otk_image_verify_opts_t opts;
    fixture_verify_opts(r->fx, &opts);
    otk_image_info_t info;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_image_verify_flash(r->flash, r->confirmed_addr, r->confirmed_size,
                                           &opts, &info, &diag);
    if (err != ESP_OK ||
        memcmp(info.hash_computed, r->fx->images[r->confirmed].hash, sizeof info.hash_computed)) {
        run_fail(r, "the confirmed %s is lost: its slot at 0x%x no longer holds it (%s)",
                 name_of(r, r->confirmed), (unsigned)r->confirmed_addr,
                 err != ESP_OK ? diag.msg : "another image");
    }
}

static void check_efuse(run_t *r)
{
    const otk_device_t *d = &r->dev;
    if (!d->config.anti_rollback || r->confirmed < 0) {
        return;
    }
    uint32_t fused = otk_boot_efuse_secure_version(d->efuse_secure_version,
                                                   d->config.secure_version_bits);
    uint32_t floor = r->fx->sc->images[r->confirmed].secure_version;
    if (fused > floor) {
        run_fail(r, "eFuse secure version %u locks out the confirmed %s (secure_version %u)",
                 (unsigned)fused, name_of(r, r->confirmed), (unsigned)floor);
    }
}

/* The device confirmed the running image on flash even if the app never saw the call
 * return (the cut came after its last operation): it counts as confirmed from now on. */
static void adopt_flash_confirm(run_t *r)
{
    esp_ota_img_states_t state;
    if (r->running_image != r->confirmed && r->dev.config.rollback &&
        otk_ota_get_state_partition(&r->dev, r->dev.running, &state) == ESP_OK &&
        state == ESP_OTA_IMG_VALID) {
        run_note(r, "check: %s is VALID on flash: confirmed", name_of(r, r->running_image));
        check_confirmed(r);
    }
}

void check_boot(run_t *r)
{
    const otk_device_t *d = &r->dev;
    const esp_partition_t *p = d->running;
    if (p == NULL) {
        run_fail(r, "brick: the device booted nothing");
        return;
    }
    if (d->boot.refused_count > 0) {
        r->out->fallbacks++;
    }
    otk_image_verify_opts_t opts;
    fixture_verify_opts(r->fx, &opts);
    otk_image_info_t info;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_image_verify_flash(r->flash, p->address, p->size, &opts, &info, &diag);
    if (err != ESP_OK) {
        run_fail(r, "an unverified image runs: %s at 0x%x: %s", p->label, (unsigned)p->address,
                 diag.msg);
        return;
    }
    if (memcmp(info.hash_computed, d->boot.image.hash_computed, sizeof info.hash_computed)) {
        run_fail(r, "%s changed between the boot layer's verification and now", p->label);
        return;
    }
    int image = fixture_image_of_hash(r->fx, info.hash_computed);
    if (image < 0) {
        run_fail(r, "a third image runs: %s at 0x%x holds version '%s', an image this "
                 "scenario never installed", p->label, (unsigned)p->address,
                 info.app_desc.version);
        return;
    }
    r->running_image = image;
    run_note(r, "boot: %s runs from %s (%s)%s", name_of(r, image), p->label, d->boot.why,
             d->boot.refused_count > 0 ? ", after a fallback" : "");
    if (r->confirmed < 0) {
        check_confirmed(r); /* the device's first boot: what the factory flashed */
    }
    if (!allowed(r, image)) {
        run_fail(r, "%s runs from %s, but only the confirmed %s or an image set_boot chose "
                 "since may run", name_of(r, image), p->label, name_of(r, r->confirmed));
        return;
    }
    adopt_flash_confirm(r);
    check_confirmed_intact(r);
    check_efuse(r);
}

static bool ranges_meet(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

void check_op(run_t *r, otk_flash_op_t op, uint32_t addr, uint32_t len)
{
    if (r->phase == PHASE_APP && ranges_meet(addr, len, r->run_addr, r->run_size)) {
        run_fail(r, "the app's %s at 0x%x (%s) touched its own running slot at 0x%x",
                 otk_flash_op_name(op), (unsigned)addr, r->action, (unsigned)r->run_addr);
    }
    if (r->phase == PHASE_BOOT &&
        !ranges_meet(addr, len, r->fx->otadata_addr, OTK_OTADATA_SIZE)) {
        run_fail(r, "the boot layer's %s at 0x%x is outside otadata", otk_flash_op_name(op),
                 (unsigned)addr);
    }
}

/* The running app is an OTA slot (not the factory app): it has an otadata state. */
static bool ota_slot(const run_t *r)
{
    const esp_partition_t *p = r->dev.running;
    return p->type == ESP_PARTITION_TYPE_APP && p->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_MIN &&
           p->subtype <= ESP_PARTITION_SUBTYPE_APP_OTA_MAX;
}

static bool slot_erased(run_t *r, uint32_t addr, uint32_t size)
{
    uint8_t buf[OTK_FLASH_SECTOR_SIZE]; /* slots are whole sectors */
    for (uint32_t done = 0; done < size; done += sizeof buf) {
        if (otk_flash_read(r->flash, addr + done, buf, sizeof buf) != ESP_OK) {
            return false;
        }
        for (size_t i = 0; i < sizeof buf; i++) {
            if (buf[i] != 0xFF) {
                return false;
            }
        }
    }
    return true;
}

/* Erase-last: the slot the pristine inactive entry named, and that entry, are gone. */
static void check_erased_last(run_t *r)
{
    esp_ota_select_entry_t e[2];
    const esp_partition_t *otadata = otk_otadata_find_partition(&r->dev.table);
    if (otadata == NULL || otk_otadata_read(otadata, e) != ESP_OK) {
        run_fail(r, "end: otadata unreadable");
        return;
    }
    int active = otk_otadata_active(e);
    if (active == OTK_OTADATA_NONE || otk_otadata_entry_present(&e[1 - active])) {
        run_fail(r, "end: the last boot's otadata entry is still there (seq 0x%x)",
                 active == OTK_OTADATA_NONE ? 0u : (unsigned)e[1 - active].ota_seq);
        return;
    }
    for (uint32_t slot = 0; slot < otk_otadata_app_slot_count(&r->dev.table); slot++) {
        const esp_partition_t *p = otk_otadata_slot_partition(&r->dev.table, slot);
        if (p != NULL && p != r->dev.running && !slot_erased(r, p->address, p->size)) {
            run_fail(r, "end: %s (the last boot's slot) is not erased", p->label);
            return;
        }
    }
}

/* The app stopped before `next`: it must be a rejected image (a bad build, or a good one
 * whose trial a power cut ended: the bootloader cannot tell a cut from a crash), recorded
 * as the last invalid app, with the confirmed image back. */
static void check_rejected(run_t *r, int next)
{
    const image_spec_t *spec = &r->fx->sc->images[next];
    const esp_partition_t *bad = otk_ota_get_last_invalid_partition(&r->dev);
    esp_app_desc_t desc;
    if (r->running_image != r->confirmed) {
        run_fail(r, "end: %s runs, expected the confirmed %s after the rollback",
                 name_of(r, r->running_image), name_of(r, r->confirmed));
    } else if (spec->selftest == SELFTEST_PASS && !r->trial_cut) {
        run_fail(r, "end: %s runs, expected %s (no power cut during its trial)",
                 name_of(r, r->running_image), spec->version);
    } else if (bad == NULL || otk_ota_get_partition_description(&r->dev, bad, &desc) != ESP_OK ||
               strcmp(desc.version, spec->version) != 0) {
        run_fail(r, "end: %s is not recorded as the last invalid app", spec->version);
    } else if (spec->selftest == SELFTEST_PASS) {
        r->out->trial_rollbacks++;
    }
}

static void check_installed(run_t *r)
{
    int next = app_target_after(r, r->running_image);
    if (next >= 0) {
        check_rejected(r, next);
        return;
    }
    const image_spec_t *spec = &r->fx->sc->images[r->running_image];
    esp_ota_img_states_t state = ESP_OTA_IMG_UNDEFINED;
    if (r->running_image != r->confirmed) {
        run_fail(r, "end: %s runs but was never confirmed", spec->version);
    } else if (ota_slot(r) &&
               (otk_ota_get_state_partition(&r->dev, r->dev.running, &state) != ESP_OK ||
                state != ESP_OTA_IMG_VALID)) {
        run_fail(r, "end: %s runs but its otadata state is %s, not VALID", spec->version,
                 otk_otadata_state_name(state));
    } else if (r->dev.config.anti_rollback &&
               otk_boot_efuse_secure_version(r->dev.efuse_secure_version,
                                             r->dev.config.secure_version_bits) !=
                   spec->secure_version) {
        run_fail(r, "end: the eFuse did not follow %s's secure_version %u", spec->version,
                 (unsigned)spec->secure_version);
    }
}

void check_end(run_t *r)
{
    if (r->job == JOB_ERASE_LAST) {
        check_erased_last(r);
    } else {
        check_installed(r);
    }
    const esp_partition_t *next = otk_ota_get_boot_partition(&r->dev);
    if (!r->out->failed && next != r->dev.running) {
        run_fail(r, "end: otadata selects %s for the next boot, but %s runs",
                 next != NULL ? next->label : "nothing", r->dev.running->label);
    }
}
