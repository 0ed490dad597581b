/* One run's working state, shared by run.c, app.c, check.c, tear.c and flashlog.c. */
#ifndef OTAKIT_SWEEP_RUN_INTERNAL_H
#define OTAKIT_SWEEP_RUN_INTERNAL_H

#include "sweep.h"

#include "otakit/rand.h"

/* Operations a fault-free run may have: the probe's tables are this long. The largest
 * scenario needs a few hundred; a run past this is a runaway. */
#define SWEEP_MAX_OPS 4096u

/* Where the device is: the flash log names it, the guards depend on it. */
typedef enum {
    PHASE_BOOT, /* the boot layer runs: it may write otadata, nothing else */
    PHASE_APP,  /* the app runs: it must never touch its own slot */
    PHASE_IDLE, /* between runs (setup, final checks) */
} phase_t;

typedef enum {
    APP_DONE,     /* the app has nothing left to do */
    APP_REBOOT,   /* the app restarts the device (esp_restart, a crash, a reset) */
    APP_CUT,      /* the power went during the app's work */
    APP_FAILED,   /* an invariant broke (run->out->failed) */
    APP_CONTINUE, /* internal: go on with the next part of the app */
} app_step_t;

typedef struct run {
    const fixture_t *fx;
    const run_spec_t *spec;   /* NULL for the setup history */
    outcome_t *out;
    otk_flash_t *flash;
    otk_device_t dev;
    app_nvs_t nvs;
    /* What the app is scripted to do. */
    job_t job;
    const int *targets;
    size_t target_count;
    begin_mode_t begin_mode;
    uint32_t interrupt_after_chunks;
    bool erased_last;         /* JOB_ERASE_LAST: the call returned OK (app's NVS flag) */
    /* The observer: what may run. */
    int confirmed;            /* image confirmed last (-1 before the first boot) */
    uint32_t confirmed_addr;  /* its slot, and the slot's size (0: not known yet) */
    uint32_t confirmed_size;
    uint32_t candidates;      /* images set_boot was called for since (bit per image) */
    int running_image;        /* image of the current boot */
    /* Faults. */
    size_t next_fault;        /* index into spec->faults of the next one to arm */
    bool armed;
    sweep_fault_t armed_fault;
    otk_rand_t chain_rand;
    /* Guards and logs. */
    phase_t phase;
    const char *action;       /* what the app is doing, for the log */
    uint32_t run_addr, run_size; /* the running slot */
    bool in_window;           /* between an update's end and its confirm (or rollback) */
    bool trial_cut;           /* a fault fired while an app was on trial (PENDING_VERIFY) */
    uint8_t shadow[2][SWEEP_ENTRY_LEN]; /* otadata entries as of the last operation */
    FILE *log;
} run_t;

/* run.c */
void run_fail(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void run_note(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set up a run on a flash (a clone, or the pristine flash for the setup history). */
esp_err_t run_init(run_t *r, const fixture_t *fx, otk_flash_t *flash, outcome_t *out);
/* Boot, let the app work, repeat until it is done, a check fails, or it gets stuck. */
void run_script(run_t *r);
bool run_cut(const run_t *r);

/* app.c: what the app does after a boot. */
app_step_t app_run(run_t *r);
/* The target the app installs after `image` (the first one when it runs none of them),
 * or -1 after the last. */
int app_target_after(const run_t *r, int image);

/* check.c */
void check_boot(run_t *r);
void check_end(run_t *r);
/* A flash operation happened (guards: the running slot, the boot layer's reach). */
void check_op(run_t *r, otk_flash_op_t op, uint32_t addr, uint32_t len);
/* The observer: set_boot was called for image i; a confirm of the running image returned. */
void check_candidate(run_t *r, int image);
void check_confirmed(run_t *r);

/* tear.c */
/* The variants of an otadata entry changed from b to d by one operation; fills out and
 * desc (may be NULL) for variant `want` when it exists. Returns how many there are. */
size_t tear_variants(const uint8_t b[SWEEP_ENTRY_LEN], const uint8_t d[SWEEP_ENTRY_LEN],
                     size_t want, uint8_t out[SWEEP_ENTRY_LEN], char *desc, size_t cap);
void tear_init(run_t *r);
/* An otadata entry (good CRC) is PENDING_VERIFY: an app is on trial. */
bool tear_pending(const run_t *r);
/* After a program/erase: keep the shadow, apply a field tear when this is the one armed,
 * return the number of field variants the operation has (0 when it is not otadata). */
size_t tear_on_op(run_t *r, otk_flash_op_t op, uint32_t addr, uint32_t len, bool fire);

/* flashlog.c */
void flashlog_op(run_t *r, otk_flash_op_t op, uint32_t addr, uint32_t len, esp_err_t result);
void flashlog_entry(run_t *r, int sector, const uint8_t entry[SWEEP_ENTRY_LEN]);

#endif
