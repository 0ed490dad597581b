/* One run: a clone of the pristine device, faults armed one after the other at absolute
 * operation numbers, and the device going on after each cut the way a device does: power
 * comes back, the boot layer runs, the app starts over from what flash says. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

#include "otakit/ota.h"

/* Tears of fault k are drawn from the run's seed mixed with k, so every fault of a chain
 * tears differently and an id replays them all. */
#define SEED_MIX 0x9E3779B97F4A7C15ull

void run_fail(run_t *r, const char *fmt, ...)
{
    if (r->out->failed) {
        return; /* the first broken invariant is the one to report */
    }
    r->out->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->out->why, sizeof r->out->why, fmt, ap);
    va_end(ap);
    if (r->log != NULL) {
        fprintf(r->log, "!! FAILED: %s\n", r->out->why);
    }
}

void run_note(run_t *r, const char *fmt, ...)
{
    if (r->log == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("   ", r->log);
    vfprintf(r->log, fmt, ap);
    fputc('\n', r->log);
    va_end(ap);
}

bool run_cut(const run_t *r)
{
    return !otk_flash_is_powered(r->flash);
}

/* ---- faults ------------------------------------------------------------------------------ */

static otk_flash_fault_kind_t emulator_kind(sweep_kind_t kind)
{
    switch (kind) {
    case SWEEP_CUT_BEFORE:
        return OTK_FLASH_FAULT_CUT_BEFORE;
    case SWEEP_TORN:
        return OTK_FLASH_FAULT_TORN;
    case SWEEP_CUT_AFTER:
    case SWEEP_FIELD: /* the operation completes, then tear.c takes part of it back */
    default:
        return OTK_FLASH_FAULT_CUT_AFTER;
    }
}

/* The next fault of the run: from the list, or drawn for a random chain. */
static bool next_fault(run_t *r, sweep_fault_t *f)
{
    const run_spec_t *s = r->spec;
    if (s == NULL) {
        return false;
    }
    if (!s->chain.enabled) {
        if (r->next_fault >= s->count) {
            return false;
        }
        *f = s->faults[r->next_fault++];
        return true;
    }
    if (r->out->fired >= s->chain.max_faults) {
        return false;
    }
    static const sweep_kind_t kinds[] = {SWEEP_CUT_BEFORE, SWEEP_CUT_AFTER, SWEEP_TORN};
    f->op = r->flash->physical_ops + 1 + otk_rand_below(&r->chain_rand, s->chain.span);
    f->kind = kinds[otk_rand_below(&r->chain_rand, sizeof kinds / sizeof kinds[0])];
    f->variant = 0;
    return true;
}

static void arm_next(run_t *r)
{
    r->armed = false;
    sweep_fault_t f;
    while (next_fault(r, &f)) {
        if (f.op <= r->flash->physical_ops) {
            continue; /* an id whose faults are not in increasing order: skip the stale one */
        }
        uint64_t k = r->out->fired + 1;
        otk_flash_arm_fault(r->flash, f.op - r->flash->physical_ops, emulator_kind(f.kind),
                            r->spec->seed ^ (k * SEED_MIX));
        r->armed = true;
        r->armed_fault = f;
        return;
    }
}

static void fault_fired(run_t *r)
{
    outcome_t *o = r->out;
    if (r->armed && o->fired < SWEEP_MAX_FAULTS) {
        o->faults[o->fired++] = r->armed_fault;
    }
    arm_next(r);
}

/* ---- the flash trace --------------------------------------------------------------------- */

static void on_op(void *ctx, otk_flash_op_t op, uint32_t addr, uint32_t len, esp_err_t result)
{
    run_t *r = ctx;
    if (op == OTK_FLASH_OP_READ) {
        return;
    }
    uint64_t n = r->flash->physical_ops;
    bool fires = r->armed && r->armed_fault.op == n && result != ESP_OK && run_cut(r);
    flashlog_op(r, op, addr, len, result);
    bool trial = tear_pending(r);
    size_t variants = tear_on_op(r, op, addr, len, fires && r->armed_fault.kind == SWEEP_FIELD);
    if (fires && (trial || tear_pending(r))) {
        r->trial_cut = true;
    }
    if (r->spec != NULL && r->spec->record_probe && n <= SWEEP_MAX_OPS) {
        fixture_t *p = r->spec->probe;
        p->op_kind[n] = (uint8_t)op;
        p->in_window[n] = r->in_window;
        p->field_variants[n] = (uint8_t)(variants > UINT8_MAX ? UINT8_MAX : variants);
    }
    check_op(r, op, addr, len);
}

/* ---- the run ----------------------------------------------------------------------------- */

esp_err_t run_init(run_t *r, const fixture_t *fx, otk_flash_t *flash, outcome_t *out)
{
    memset(out, 0, sizeof *out);
    memset(r, 0, sizeof *r);
    r->fx = fx;
    r->out = out;
    r->flash = flash;
    r->nvs = fx->nvs;
    r->confirmed = fx->running_image;
    r->confirmed_addr = fx->running_addr;
    r->confirmed_size = fx->running_size;
    r->running_image = -1;
    r->phase = PHASE_IDLE;
    r->action = "idle";
    const scenario_t *sc = fx->sc;
    r->job = sc->job;
    r->targets = sc->targets;
    r->target_count = sc->target_count;
    r->begin_mode = sc->begin_mode;
    r->interrupt_after_chunks = sc->interrupt_after_chunks;
    esp_err_t err = otk_device_init(&r->dev, flash, &fx->config, fx->efuse);
    if (err != ESP_OK) {
        run_fail(r, "device init: %s", esp_err_to_name(err));
        return err;
    }
    tear_init(r);
    otk_flash_set_trace(flash, on_op, r);
    return ESP_OK;
}

typedef enum { BOOT_OK, BOOT_CUT, BOOT_FAILED } boot_t;

static boot_t boot(run_t *r)
{
    r->phase = PHASE_BOOT;
    r->action = "boot";
    r->out->boots++;
    if (r->log != NULL) {
        fprintf(r->log, "-- power on (boot %u) --\n", (unsigned)r->out->boots);
    }
    esp_err_t err = otk_device_power_on(&r->dev);
    if (run_cut(r)) {
        run_note(r, "boot: power cut while booting (%s)", r->dev.boot.diag.msg);
        return BOOT_CUT;
    }
    if (err != ESP_OK) {
        run_fail(r, "brick: power-on failed with power on: %s (%s stage: %s)",
                 esp_err_to_name(err), otk_boot_stage_name(r->dev.boot.stage),
                 r->dev.boot.diag.msg);
        return BOOT_FAILED;
    }
    check_boot(r);
    if (r->out->failed) {
        return BOOT_FAILED;
    }
    r->phase = PHASE_APP;
    r->run_addr = r->dev.running->address;
    r->run_size = r->dev.running->size;
    return BOOT_OK;
}

/* MCUboot's last check: once done, the device comes up the same way again and its app
 * finds nothing to do, without writing anything. */
static void stable(run_t *r)
{
    if (r->out->failed) {
        return;
    }
    int before = r->running_image;
    uint64_t ops = r->flash->physical_ops;
    run_note(r, "-- done; one more power-on must change nothing --");
    if (boot(r) != BOOT_OK) {
        return;
    }
    if (r->running_image != before) {
        run_fail(r, "not stable: the boot after the end runs %s, before it ran %s",
                 r->fx->sc->images[r->running_image].version,
                 r->fx->sc->images[before].version);
        return;
    }
    if (app_run(r) != APP_DONE || r->flash->physical_ops != ops) {
        run_fail(r, "not stable: the boot after the end wrote flash or found work to do");
    }
}

void run_script(run_t *r)
{
    outcome_t *o = r->out;
    arm_next(r);
    for (;;) {
        uint32_t limit = SWEEP_BASE_BOOTS + SWEEP_BOOTS_PER_FAULT * (uint32_t)o->fired;
        if (o->boots >= limit) {
            run_fail(r, "stuck: %u boots and the app is not done (%s runs: a boot loop)",
                     (unsigned)o->boots,
                     r->running_image >= 0 ? r->fx->sc->images[r->running_image].version
                                           : "nothing");
            break;
        }
        boot_t b = boot(r);
        if (b == BOOT_CUT) {
            fault_fired(r);
            continue;
        }
        if (b == BOOT_FAILED) {
            break;
        }
        app_step_t s = app_run(r);
        if (s == APP_CUT) {
            fault_fired(r);
            continue;
        }
        if (s == APP_REBOOT) {
            continue;
        }
        if (s == APP_DONE) {
            o->ops = r->flash->physical_ops;
            otk_flash_disarm_fault(r->flash);
            r->armed = false;
            check_end(r);
            stable(r);
        }
        break;
    }
    if (o->ops == 0) {
        o->ops = r->flash->physical_ops;
    }
    r->phase = PHASE_IDLE;
}

void run_one(const run_spec_t *spec, outcome_t *out)
{
    run_t *r = malloc(sizeof *r);
    otk_flash_t *clone = NULL;
    if (r == NULL || otk_flash_mem_clone(spec->fx->flash, &clone) != ESP_OK) {
        memset(out, 0, sizeof *out);
        out->failed = true;
        snprintf(out->why, sizeof out->why, "out of memory");
        free(r);
        return;
    }
    if (run_init(r, spec->fx, clone, out) == ESP_OK) {
        r->spec = spec;
        r->log = spec->log;
        otk_rand_seed(&r->chain_rand, spec->chain.state);
        run_script(r);
    }
    otk_flash_destroy(clone);
    free(r);
}
