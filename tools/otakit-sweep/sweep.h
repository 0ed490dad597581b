/* otakit-sweep: the power-loss proof. Every scenario is a scripted device (an app running
 * on the simulated device, rebooting through the boot layer); the sweep cuts the power at
 * every flash operation of it, with every fault kind, lets the device carry on as its app
 * would after a reboot, and checks the invariants after every boot and at the end.
 *
 * Layout of the program:
 *   fixture.c   images, layouts, the pristine device of each scenario
 *   scenario.c  the scenario table
 *   app.c       what the app does after each boot (self-test, update, resume, erase)
 *   run.c       one run: a pristine clone, faults armed one after the other, boots
 *   check.c     the invariants
 *   tear.c      field-level tears of otadata operations (beyond the emulator's random tear)
 *   flashlog.c  the flash log of a replay
 *   plan.c      replay ids and fault kind names
 *   explore.c   the exploration (singles, field tears, pairs, random chains) spread over
 *               worker processes, and the summary
 *   main.c      command line, modes, replay
 * docs/power-loss.md tells the model, the invariants, what was found and what is left. */
#ifndef OTAKIT_SWEEP_H
#define OTAKIT_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "otakit/device.h"
#include "otakit/flash.h"

/* Chains of up to five faults (the issue; MCUboot's random multi-fault test uses 5). */
#define SWEEP_MAX_FAULTS 5
/* Images a scenario knows: what may run, what must never run. */
#define SWEEP_MAX_IMAGES 6
/* Versions install in this order at most (three-slot scenarios install two). */
#define SWEEP_MAX_TARGETS 3
/* The app writes what it downloads in 4 KiB chunks, as ESP-IDF's examples do. */
#define SWEEP_CHUNK 0x1000u
/* A failure reason: one line. */
#define SWEEP_WHY_MAX 240
/* A replay id: scenario, seed and up to five faults. */
#define SWEEP_ID_MAX 160
/* Boots a fault-free run may take (start, the new app's first boot, a rollback, the
 * final stability boot) plus room for retries; each fault may cost a few more boots
 * (a cut, the retried update's reboot, its first boot). Beyond that the device is stuck. */
#define SWEEP_BASE_BOOTS 8u
#define SWEEP_BOOTS_PER_FAULT 4u
/* The otadata entry bytes a tear can change: seq, label, state, crc (32 bytes). */
#define SWEEP_ENTRY_LEN 32u

/* ---- faults --------------------------------------------------------------------------- */

typedef enum {
    SWEEP_CUT_BEFORE, /* 'b': the operation is not done */
    SWEEP_CUT_AFTER,  /* 'a': the operation is done */
    SWEEP_TORN,       /* 't': the emulator's tear: a torn page program (random subset of its
                         bits cleared) or a partial erase (random subset of bits set) */
    SWEEP_FIELD,      /* 'f': an otadata operation torn field by field (tear.c): any mix of
                         its fields done and not done, or its state field left at any named
                         state a partial program/erase can reach */
} sweep_kind_t;

typedef struct {
    uint64_t op;      /* absolute physical operation of the run, from 1 */
    sweep_kind_t kind;
    uint8_t variant;  /* SWEEP_FIELD: which tear (tear.c) */
} sweep_fault_t;

/* ---- images and scenarios ------------------------------------------------------------- */

typedef enum {
    SELFTEST_PASS,        /* the app confirms itself */
    SELFTEST_CRASH,       /* the app never confirms: it resets (watchdog) before */
    SELFTEST_MARK_INVALID /* the app fails its test and calls mark_invalid_and_reboot */
} selftest_t;

typedef struct {
    const char *version;      /* esp_app_desc_t.version: how the app tells images apart */
    uint32_t secure_version;
    selftest_t selftest;      /* carried by the image (app_policy marker) */
} image_spec_t;

typedef struct {
    uint8_t *bytes;
    size_t len;
    uint8_t hash[32]; /* SHA-256 of the image (the verifier's hash_computed) */
} image_t;

typedef enum {
    JOB_INSTALL,    /* install the targets in order (retrying after any cut) */
    JOB_ERASE_LAST, /* esp_ota_erase_last_boot_app_partition */
} job_t;

/* How the app opens an update (the erase pattern differs). */
typedef enum {
    BEGIN_SIZE_UNKNOWN, /* OTA_SIZE_UNKNOWN: the whole slot erased by begin (block erase) */
    BEGIN_SIZE_KNOWN,   /* the image size: sector erases by begin */
    BEGIN_SEQUENTIAL,   /* OTA_WITH_SEQUENTIAL_WRITES: sector by sector in write */
} begin_mode_t;

typedef struct scenario {
    const char *name;
    const char *title;
    const char *csv;         /* layout (gen_esp32part CSV) */
    uint32_t flash_size;
    bool anti_rollback;
    image_spec_t images[SWEEP_MAX_IMAGES];
    size_t image_count;
    /* History before the sweep starts (run fault-free): `flash` images are written by a
     * flashing tool (image index per label, -1 none), then the device boots and installs
     * `setup` (image indices, in order). */
    const char *flashed_label;
    int flashed_image;
    int setup[SWEEP_MAX_TARGETS];
    size_t setup_count;
    /* The scenario itself. */
    job_t job;
    int targets[SWEEP_MAX_TARGETS];
    size_t target_count;
    begin_mode_t begin_mode;
    /* Resume: the first download stops after this many chunks (a link drop and a reset);
     * the app then resumes from its saved offset (esp_ota_resume). 0: no resume. */
    uint32_t interrupt_after_chunks;
} scenario_t;

size_t scenario_count(void);
const scenario_t *scenario_at(size_t i);
const scenario_t *scenario_find(const char *name);

/* ---- the pristine device of a scenario (fixture.c) ------------------------------------ */

/* The app's own persistent data (ESP-IDF apps keep it in NVS). Modelled outside the flash
 * emulator and atomic: NVS is a power-safe store of its own; what matters here is when the
 * app writes it (after the step it records has returned). */
typedef struct {
    bool progress_valid;     /* a download in progress */
    int progress_image;
    uint32_t progress_addr;  /* the partition it goes to */
    uint32_t progress_offset;/* bytes written and returned OK */
    bool interrupted_once;   /* the resume scenario's scripted reset happened */
} app_nvs_t;

typedef struct {
    const scenario_t *sc;
    image_t images[SWEEP_MAX_IMAGES];
    otk_flash_t *flash;         /* pristine: cloned for each run */
    otk_device_config_t config;
    uint32_t efuse;
    app_nvs_t nvs;
    int running_image;          /* what runs (confirmed) when the scenario starts */
    uint32_t running_addr;      /* its slot and the slot's size (0: first boot to come) */
    uint32_t running_size;
    uint32_t otadata_addr;      /* the otadata partition (entry 0; entry 1 at +4 KiB) */
    /* What a fault-free run does (the probe): its operations, which of them lie in a
     * window from an `end` to the confirm (or the rollback) that follows, and how many
     * field tears each otadata operation has. */
    uint64_t ops;
    uint8_t *in_window;         /* indexed by operation, 1..ops */
    uint8_t *field_variants;    /* indexed by operation, 1..ops */
    uint8_t *op_kind;           /* indexed by operation, 1..ops: otk_flash_op_t */
} fixture_t;

/* Build the scenario's images and pristine device, then probe it. false (with a message
 * on stderr) when the setup itself fails: a bug in the sweep or the library. */
bool fixture_make(fixture_t *fx, const scenario_t *sc);
void fixture_free(fixture_t *fx);
/* The image whose SHA-256 this is, or -1. */
int fixture_image_of_hash(const fixture_t *fx, const uint8_t hash[32]);
/* Chip and revision options the device verifies images with. */
void fixture_verify_opts(const fixture_t *fx, otk_image_verify_opts_t *opts);

/* ---- one run (run.c) ------------------------------------------------------------------ */

typedef struct {
    bool failed;
    char why[SWEEP_WHY_MAX];
    uint64_t ops;            /* physical operations of the whole run */
    uint32_t boots;
    uint32_t fallbacks;      /* boots where the selected slot did not boot */
    uint32_t trial_rollbacks;/* a good update rolled back: a cut during its trial */
    size_t fired;            /* faults that fired */
    sweep_fault_t faults[SWEEP_MAX_FAULTS];
} outcome_t;

/* Random chains: after each cut the next fault is drawn here (seeded) instead of taken
 * from the list. */
typedef struct {
    bool enabled;
    size_t max_faults;       /* how many faults the chain may have, 1..SWEEP_MAX_FAULTS */
    uint64_t span;           /* next fault at 1..span operations after the previous */
    uint64_t state;          /* otk_rand_t state */
} chain_t;

typedef struct {
    const fixture_t *fx;
    uint64_t seed;           /* tears are drawn from it (fault k: seed mixed with k) */
    size_t count;
    sweep_fault_t faults[SWEEP_MAX_FAULTS];
    chain_t chain;
    FILE *log;               /* the flash log (replay), or NULL */
    bool record_probe;       /* fault-free probe: fill the fixture's per-op tables */
    fixture_t *probe;        /* where to record them (same fixture, writable) */
} run_spec_t;

void run_one(const run_spec_t *spec, outcome_t *out);

/* ---- replay ids and names (plan.c) ---------------------------------------------------- */

char sweep_kind_letter(sweep_kind_t kind);
/* "not done", "done", "torn program" / "partial erase", "field tear 3". */
const char *sweep_kind_name(sweep_kind_t kind, otk_flash_op_t op);
/* scenario:seed:faults, e.g. "update:1:57t" or "rollback:9:12a,31f3". */
void sweep_format_id(char *out, size_t cap, const scenario_t *sc, uint64_t seed,
                     const sweep_fault_t *faults, size_t count);
/* The inverse. false with a message on stderr when the id does not parse. */
bool sweep_parse_id(const char *id, const scenario_t **sc, uint64_t *seed,
                    sweep_fault_t *faults, size_t *count);

#endif
