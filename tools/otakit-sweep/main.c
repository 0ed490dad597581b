/* otakit-sweep: cut the power at every flash operation of every update path (sweep.h).
 *
 *   otakit-sweep --ci            the bounded sweep `make test` runs
 *   otakit-sweep --full          everything (`make sweep`)
 *   otakit-sweep --replay ID     one run again, alone, with its flash log
 *   otakit-sweep --list          the scenarios and their operation counts
 * Options: --scenario NAME (only that one), --jobs N (worker processes, default 2),
 * --seed S (chains). Exit 0 when nothing failed, 1 on failures, 2 on usage errors. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "explore.h"
#include "run_internal.h"

#include "otakit/log.h"

/* The machine this runs on in CI has two cores. */
#define DEFAULT_JOBS 2u

/* Sanitizer builds run the same code about ten times slower; the CI sweep keeps its
 * shape there with fewer seeds and chains, so `make test` stays within its time. */
#if defined(__SANITIZE_ADDRESS__)
#define SWEEP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWEEP_SANITIZED 1
#endif
#endif
#ifndef SWEEP_SANITIZED
#define SWEEP_SANITIZED 0
#endif

typedef enum { MODE_CI, MODE_FULL, MODE_REPLAY, MODE_LIST } sweep_mode_t;

/* What each mode explores.
 *   --full: every point with eight tear seeds, every field tear, every pair from the
 *           windows (first faults: every kind and every field tear), 2,500 chains per
 *           scenario (20,000 in all).
 *   --ci:   every point with two tear seeds, every field tear, every pair from the
 *           windows (first faults of the three kinds), 1,250 chains per scenario.
 *   --ci in a sanitizer build: one tear seed, pairs from every other window operation,
 *           250 chains per scenario: still over 20,000 runs, in about a fifth of the
 *           time (`make test` runs it under ASan+UBSan too). */
static void mode_config(sweep_mode_t mode, explore_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->jobs = DEFAULT_JOBS;
    cfg->seed = 1;
    cfg->fields = true;
    cfg->pairs = true;
    cfg->pair_stride = 1;
    if (mode == MODE_FULL) {
        cfg->torn_seeds = 8;
        cfg->pair_fields = true;
        cfg->chains = 2500;
    } else if (SWEEP_SANITIZED) {
        cfg->torn_seeds = 1;
        cfg->pair_stride = 2;
        cfg->chains = 250;
    } else {
        cfg->torn_seeds = 2;
        cfg->chains = 1250;
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: otakit-sweep [--ci | --full | --replay ID | --list] [--scenario NAME]\n"
            "                    [--jobs N] [--seed S]\n"
            "Cut the power at every flash operation of every update scenario (every fault\n"
            "kind: not done, done, torn program / partial erase, otadata field tears), two\n"
            "faults from end to confirm, random chains of up to five; check that the device\n"
            "always boots a verified, allowed image. A failure prints a replay id:\n"
            "  otakit-sweep --replay ID   runs it alone with its flash log.\n");
}

/* The library logs its errors on stderr; power cuts make plenty of them. A replay shows
 * them (warnings and up) in the flash log; a sweep stays quiet. */
static void log_to_stdout(void *ctx, otk_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    printf("   | %s\n", line);
}

static int replay(const char *id)
{
    const scenario_t *sc;
    run_spec_t spec;
    memset(&spec, 0, sizeof spec);
    if (!sweep_parse_id(id, &sc, &spec.seed, spec.faults, &spec.count)) {
        return CLI_EXIT_USAGE;
    }
    fixture_t fx;
    if (!fixture_make(&fx, sc)) {
        fixture_free(&fx);
        return CLI_EXIT_FAIL;
    }
    printf("replay %s: %s\n", id, sc->title);
    printf("scenario: %" PRIu64 " operations without faults; faults:", fx.ops);
    for (size_t i = 0; i < spec.count; i++) {
        const sweep_fault_t *f = &spec.faults[i];
        otk_flash_op_t op = f->op <= fx.ops ? (otk_flash_op_t)fx.op_kind[f->op]
                                            : OTK_FLASH_OP_PROGRAM_PAGE;
        printf(" #%" PRIu64 " %s", f->op, sweep_kind_name(f->kind, op));
        if (f->kind == SWEEP_FIELD) {
            printf(" %u", (unsigned)f->variant);
        }
    }
    printf("\n");
    spec.fx = &fx;
    spec.log = stdout;
    otk_log_set_sink(log_to_stdout, NULL);
    otk_log_set_level(OTK_LOG_WARN);
    outcome_t out;
    run_one(&spec, &out);
    otk_log_set_level(OTK_LOG_NONE);
    otk_log_set_sink(NULL, NULL);
    printf("replay %s: %s after %" PRIu64 " operations, %u boots, %zu faults fired%s%s\n", id,
           out.failed ? "FAILED" : "ok", out.ops, (unsigned)out.boots, out.fired,
           out.failed ? ": " : "", out.failed ? out.why : "");
    fixture_free(&fx);
    return out.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static bool parse_args(int argc, char **argv, sweep_mode_t *mode, const char **id,
                       const char **only, explore_cfg_t *over, bool *jobs_set, bool *seed_set)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t n;
        if (strcmp(a, "--ci") == 0) {
            *mode = MODE_CI;
        } else if (strcmp(a, "--full") == 0) {
            *mode = MODE_FULL;
        } else if (strcmp(a, "--list") == 0) {
            *mode = MODE_LIST;
        } else if (strcmp(a, "--replay") == 0 && v != NULL) {
            *mode = MODE_REPLAY;
            *id = v;
            i++;
        } else if (strcmp(a, "--scenario") == 0 && v != NULL) {
            *only = v;
            i++;
        } else if (strcmp(a, "--jobs") == 0 && v != NULL && cli_parse_u32(v, &n) && n > 0) {
            over->jobs = n;
            *jobs_set = true;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v != NULL && cli_parse_u32(v, &n)) {
            over->seed = n;
            *seed_set = true;
            i++;
        } else {
            fprintf(stderr, "otakit-sweep: unexpected argument '%s'\n", a);
            usage(stderr);
            return false;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    otk_log_set_level(OTK_LOG_NONE);
    sweep_mode_t mode = MODE_CI;
    const char *id = NULL, *only = NULL;
    explore_cfg_t over;
    memset(&over, 0, sizeof over);
    bool jobs_set = false, seed_set = false;
    if (!parse_args(argc, argv, &mode, &id, &only, &over, &jobs_set, &seed_set)) {
        return CLI_EXIT_USAGE;
    }
    if (mode == MODE_REPLAY) {
        return replay(id);
    }
    if (only != NULL && scenario_find(only) == NULL) {
        fprintf(stderr, "otakit-sweep: no scenario '%s' (see --list)\n", only);
        return CLI_EXIT_USAGE;
    }
    fixture_t fixtures[EXPLORE_MAX_SCENARIOS];
    fixture_t *list[EXPLORE_MAX_SCENARIOS];
    size_t count = 0;
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < scenario_count() && count < EXPLORE_MAX_SCENARIOS; i++) {
        const scenario_t *sc = scenario_at(i);
        if (only != NULL && strcmp(only, sc->name) != 0) {
            continue;
        }
        list[count] = &fixtures[count];
        bool ok = fixture_make(list[count], sc);
        count++;
        if (!ok) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (mode == MODE_LIST) {
            printf("%-19s %4" PRIu64 " ops  %s\n", sc->name, list[count - 1]->ops, sc->title);
        }
    }
    if (rc == CLI_EXIT_OK && mode != MODE_LIST) {
        explore_cfg_t cfg;
        mode_config(mode, &cfg);
        if (jobs_set) {
            cfg.jobs = over.jobs;
        }
        if (seed_set) {
            cfg.seed = over.seed;
        }
        cfg.progress = isatty(STDERR_FILENO);
        printf("otakit-sweep --%s%s: %zu scenarios, %u jobs\n", mode == MODE_FULL ? "full" : "ci",
               SWEEP_SANITIZED ? " (sanitizer build: reduced)" : "", count, cfg.jobs);
        fflush(stdout);
        long fails = explore_run(list, count, &cfg);
        rc = fails == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < count; i++) {
        fixture_free(list[i]);
    }
    return rc;
}
