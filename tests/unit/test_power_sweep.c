/* A small power-loss sweep inside the unit tests (the full one is build/otakit-sweep).
 *
 * A two-slot device runs v1 (ota_0, confirmed). Its app installs the new version (begin
 * OTA_SIZE_UNKNOWN, 4 KiB writes, end, set_boot), restarts; the new app confirms itself,
 * or, for a crashing build, resets at every boot until the bootloader rolls it back. The
 * power is cut at every flash operation of that, every way: not done, done, torn (several
 * seeds), and every field tear of an otadata operation (test_power_tear.h). After the cut
 * the device goes on as its app would: boot, confirm a pending app that passes, install
 * the new version again unless it is the last invalid app.
 *
 * After every boot: the device boots; v1 or the new version runs; the new version runs
 * unconfirmed only on trial (PENDING_VERIFY), never as if confirmed. At the end: the new
 * version confirmed, or v1 back with the new version recorded invalid (a crashing build,
 * or a good one whose trial the cut ended: the bootloader cannot tell a cut from a
 * crash). The replays behind it: update:1:38f4, rollback:1:43f9 (test_power_otadata.c). */
#include <stdio.h>
#include <string.h>

#include "ota_fixture.h"
#include "otakit/log.h"
#include "test_power_tear.h"
#include "test_support.h"

/* Boots a run may take: a cut, a retried install, a trial, a rollback; a loop beyond. */
#define MAX_BOOTS 12u
/* Torn faults per operation: each seed tears different bits. */
#define TORN_SEEDS 4u
/* One 4 KiB write of the image per call, as ESP-IDF's examples write. */
#define CHUNK 0x1000u

typedef enum { STEP_DONE, STEP_REBOOT, STEP_CUT } step_t;

typedef struct {
    const char *target; /* the new version */
    bool crashes;       /* the new build resets before it ever confirms */
    uint8_t image[OF_IMAGE_MAX];
    size_t len;
    otk_flash_t *pristine;
    uint32_t otadata;
    uint64_t trial_from; /* first operation of the new app's trial (fault-free run) */
} sweep_t;

typedef struct {
    otk_device_t dev;
    bool confirmed;     /* the new version's confirm returned */
    uint64_t set_boot_end;
} run_t;

static otk_device_t g_dev; /* of_start's device for the pristine setup */

static bool cut(const run_t *r)
{
    return !otk_flash_is_powered(r->dev.flash);
}

static const char *running(const run_t *r)
{
    return of_running_version(&r->dev);
}

static step_t app(const sweep_t *s, run_t *r)
{
    otk_device_t *dev = &r->dev;
    if (strcmp(running(r), s->target) == 0) {
        if (s->crashes) {
            return STEP_REBOOT;
        }
        esp_ota_img_states_t st;
        if (otk_ota_get_state_partition(dev, dev->running, &st) == ESP_OK &&
            st == ESP_OTA_IMG_PENDING_VERIFY) {
            if (otk_ota_mark_app_valid_cancel_rollback(dev) != ESP_OK) {
                assert_true(cut(r));
                return STEP_CUT;
            }
            r->confirmed = true;
        }
        return STEP_DONE;
    }
    const esp_partition_t *bad = otk_ota_get_last_invalid_partition(dev);
    esp_app_desc_t desc;
    if (bad != NULL && otk_ota_get_partition_description(dev, bad, &desc) == ESP_OK &&
        strcmp(desc.version, s->target) == 0) {
        return STEP_DONE; /* it failed before: not again */
    }
    const esp_partition_t *p = otk_ota_get_next_update_partition(dev, NULL);
    if (of_update(dev, p, s->image, s->len, OTA_SIZE_UNKNOWN, CHUNK) != ESP_OK ||
        otk_ota_set_boot_partition(dev, p) != ESP_OK) {
        assert_true(cut(r));
        return STEP_CUT;
    }
    r->set_boot_end = dev->flash->physical_ops;
    return STEP_REBOOT;
}

static void check_boot(const sweep_t *s, run_t *r, const char *id)
{
    const char *v = running(r);
    if (strcmp(v, "v1") != 0 && strcmp(v, s->target) != 0) {
        fail_msg("%s: a third image runs: '%s'", id, v);
    }
    esp_ota_img_states_t st = ESP_OTA_IMG_UNDEFINED;
    (void)otk_ota_get_state_partition(&r->dev, r->dev.running, &st);
    if (strcmp(v, s->target) == 0 && !r->confirmed && st != ESP_OTA_IMG_PENDING_VERIFY &&
        st != ESP_OTA_IMG_VALID) {
        fail_msg("%s: %s runs unconfirmed with state %s: no trial, no rollback", id, v,
                 otk_otadata_state_name(st));
    }
    if (strcmp(v, s->target) == 0 && st == ESP_OTA_IMG_VALID) {
        r->confirmed = true; /* the confirm's last operation landed before the cut */
    }
}

static void check_end(const sweep_t *s, run_t *r, const char *id, uint64_t first_fault)
{
    if (strcmp(running(r), s->target) == 0) {
        if (s->crashes || !r->confirmed) {
            fail_msg("%s: %s runs at the end, unconfirmed", id, s->target);
        }
        return;
    }
    const esp_partition_t *bad = otk_ota_get_last_invalid_partition(&r->dev);
    esp_app_desc_t desc;
    if (bad == NULL || otk_ota_get_partition_description(&r->dev, bad, &desc) != ESP_OK ||
        strcmp(desc.version, s->target) != 0) {
        fail_msg("%s: v1 runs at the end but %s is not recorded invalid", id, s->target);
    }
    if (!s->crashes && first_fault < s->trial_from) {
        fail_msg("%s: a good %s was rolled back by a cut before its trial", id, s->target);
    }
}

/* One run: fault `kind` (or field tear `variant` when kind is NONE) at operation `op`
 * (0: no fault). Returns the operations of the run. */
static uint64_t run_one(sweep_t *s, uint64_t op, otk_flash_fault_kind_t kind, uint64_t seed,
                        size_t variant, bool *no_such_variant)
{
    otk_flash_t *f = NULL;
    assert_int_equal(otk_flash_mem_clone(s->pristine, &f), ESP_OK);
    static pt_tracer_t t;
    pt_attach(&t, f, s->otadata);
    if (op > 0 && kind == OTK_FLASH_FAULT_NONE) {
        t.fire_at = op;
        t.variant = variant;
        otk_flash_arm_fault(f, op, OTK_FLASH_FAULT_CUT_AFTER, seed);
    } else if (op > 0) {
        otk_flash_arm_fault(f, op, kind, seed);
    }
    char id[96];
    snprintf(id, sizeof id, "%s op %llu %s seed %llu variant %zu", s->target,
             (unsigned long long)op, otk_flash_fault_kind_name(kind),
             (unsigned long long)seed, variant);
    static run_t r;
    memset(&r, 0, sizeof r);
    otk_device_config_t cfg;
    of_config(&cfg);
    assert_int_equal(otk_device_init(&r.dev, f, &cfg, 0), ESP_OK);
    step_t step = STEP_REBOOT;
    unsigned boots = 0;
    while (step != STEP_DONE) {
        if (++boots > MAX_BOOTS) {
            fail_msg("%s: stuck after %u boots, '%s' runs", id, MAX_BOOTS, running(&r));
        }
        esp_err_t err = otk_device_power_on(&r.dev);
        if (cut(&r)) {
            continue;
        }
        if (err != ESP_OK) {
            fail_msg("%s: brick: %s (%s)", id, esp_err_to_name(err), r.dev.boot.diag.msg);
        }
        check_boot(s, &r, id);
        step = app(s, &r);
    }
    *no_such_variant = kind == OTK_FLASH_FAULT_NONE && op > 0 && variant >= t.fired_variants;
    if (!*no_such_variant && op > 0) {
        check_end(s, &r, id, op);
    }
    if (op == 0) {
        /* Without a fault: the good build confirmed, the crashing one rolled back. */
        assert_string_equal(running(&r), s->crashes ? "v1" : s->target);
        s->trial_from = r.set_boot_end + 1;
    }
    uint64_t ops = f->physical_ops;
    otk_flash_destroy(f);
    return ops;
}

static void sweep(const char *target, bool crashes)
{
    otk_log_set_level(OTK_LOG_NONE); /* every cut logs errors by design */
    static sweep_t s;
    memset(&s, 0, sizeof s);
    s.target = target;
    s.crashes = crashes;
    s.len = of_build(s.image, sizeof s.image, target, 0, OF_PAYLOAD_LEN);
    s.pristine = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    of_put(s.pristine, "ota_0", "v1", 0);
    of_start(&g_dev, s.pristine, NULL, 0); /* first boot: the initial otadata entry */
    s.otadata = of_part(&g_dev, "otadata")->address;
    bool unused;
    uint64_t ops = run_one(&s, 0, OTK_FLASH_FAULT_NONE, 0, 0, &unused);
    assert_true(ops > 10);
    for (uint64_t op = 1; op <= ops; op++) {
        run_one(&s, op, OTK_FLASH_FAULT_CUT_BEFORE, 1, 0, &unused);
        run_one(&s, op, OTK_FLASH_FAULT_CUT_AFTER, 1, 0, &unused);
        for (uint64_t seed = 1; seed <= TORN_SEEDS; seed++) {
            run_one(&s, op, OTK_FLASH_FAULT_TORN, seed, 0, &unused);
        }
        bool done = false;
        for (size_t v = 0; !done; v++) {
            run_one(&s, op, OTK_FLASH_FAULT_NONE, 1, v, &done);
        }
    }
    otk_flash_destroy(s.pristine);
}

static void test_update_confirmed(void **state)
{
    (void)state;
    sweep("v2", false);
}

static void test_crashing_update_rolled_back(void **state)
{
    (void)state;
    sweep("v2-crash", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_confirmed),
        cmocka_unit_test(test_crashing_update_rolled_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
