/* The exploration: a list of work items (one single-fault point, one first fault of a
 * pair with all its second faults, one random chain), dealt round-robin to worker
 * processes. Workers share nothing with each other; each has a shared-memory page where
 * it counts and lists its failures, and names the run it is in, so a worker that crashes
 * still tells which run did it. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, nanosleep */
#include "explore.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "otakit/rand.h"

/* Failure lines a worker keeps (id and reason, about 300 bytes each): 16 MiB of address
 * space holds over 50,000 of them; only the pages written are ever backed. */
#define FAIL_TEXT_MAX (16u * 1024u * 1024u)
/* Worker processes at most (the machine has 2 cores; more only for bigger hosts). */
#define MAX_JOBS 64u
/* A random chain has two to five faults: single faults are swept exhaustively already. */
#define CHAIN_MIN_FAULTS 2u
/* How often the parent redraws the progress line. */
#define PROGRESS_NS 250000000L
/* Chain seeds start here so they never equal the seeds of the single sweep's tears. */
#define CHAIN_SEED_BASE 1000000u

typedef enum { WORK_SINGLE, WORK_PAIR, WORK_CHAIN } work_type_t;

typedef struct {
    uint8_t type;
    uint8_t scenario;
    uint8_t category;
    sweep_fault_t fault;
    uint64_t seed;
} work_t;

typedef struct {
    explore_stats_t stats;
    volatile uint64_t runs_done;
    volatile int finished;
    char current[SWEEP_ID_MAX];
    size_t fail_used;
    uint64_t fail_dropped;
    char fail_text[FAIL_TEXT_MAX];
} shm_t;

typedef struct {
    work_t *items;
    size_t count, cap;
} work_list_t;

static bool push(work_list_t *l, work_t w)
{
    if (l->count == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 1024;
        work_t *items = realloc(l->items, cap * sizeof *items);
        if (items == NULL) {
            return false;
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = w;
    return true;
}

static bool build_work(fixture_t *const *fx, size_t count, const explore_cfg_t *cfg,
                       work_list_t *l)
{
    for (size_t s = 0; s < count; s++) {
        const fixture_t *f = fx[s];
        work_t w = {.scenario = (uint8_t)s};
        bool ok = true;
        for (uint64_t op = 1; op <= f->ops && ok; op++) {
            w.type = WORK_SINGLE;
            w.category = CAT_SINGLE;
            w.fault = (sweep_fault_t){op, SWEEP_CUT_BEFORE, 0};
            w.seed = 1;
            ok = push(l, w);
            w.fault.kind = SWEEP_CUT_AFTER;
            ok = ok && push(l, w);
            for (unsigned seed = 1; seed <= cfg->torn_seeds && ok; seed++) {
                w.fault.kind = SWEEP_TORN;
                w.seed = seed;
                ok = push(l, w);
            }
            for (unsigned v = 0; cfg->fields && v < f->field_variants[op] && ok; v++) {
                w.category = CAT_FIELD;
                w.fault = (sweep_fault_t){op, SWEEP_FIELD, (uint8_t)v};
                w.seed = 1;
                ok = push(l, w);
            }
        }
        unsigned stride = cfg->pair_stride != 0 ? cfg->pair_stride : 1;
        unsigned seen = 0;
        for (uint64_t op = 1; cfg->pairs && op <= f->ops && ok; op++) {
            if (!f->in_window[op] || seen++ % stride != 0) {
                continue;
            }
            static const sweep_kind_t kinds[] = {SWEEP_CUT_BEFORE, SWEEP_CUT_AFTER, SWEEP_TORN};
            w.type = WORK_PAIR;
            w.category = CAT_PAIR;
            w.seed = 1;
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && ok; k++) {
                w.fault = (sweep_fault_t){op, kinds[k], 0};
                ok = push(l, w);
            }
            for (unsigned v = 0; cfg->pair_fields && v < f->field_variants[op] && ok; v++) {
                w.fault = (sweep_fault_t){op, SWEEP_FIELD, (uint8_t)v};
                ok = push(l, w);
            }
        }
        for (unsigned c = 0; c < cfg->chains && ok; c++) {
            w.type = WORK_CHAIN;
            w.category = CAT_CHAIN;
            w.seed = cfg->seed * CHAIN_SEED_BASE + CHAIN_SEED_BASE + c;
            ok = push(l, w);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* ---- a worker ------------------------------------------------------------------------ */

static void record(shm_t *m, const work_t *w, const outcome_t *o, const fixture_t *fx,
                   uint64_t seed)
{
    m->stats.runs[w->scenario][w->category]++;
    m->stats.fallbacks += o->fallbacks;
    m->stats.trial_rollbacks += o->trial_rollbacks;
    m->runs_done++;
    if (w->category == CAT_CHAIN) {
        m->stats.chain_fired[o->fired]++;
    }
    if (!o->failed) {
        return;
    }
    m->stats.fails[w->scenario][w->category]++;
    char id[SWEEP_ID_MAX];
    sweep_format_id(id, sizeof id, fx->sc, seed, o->faults, o->fired);
    size_t room = FAIL_TEXT_MAX - m->fail_used;
    int n = snprintf(m->fail_text + m->fail_used, room, "FAIL %s  %s\n", id, o->why);
    if (n < 0 || (size_t)n >= room) {
        m->fail_dropped++;
        m->fail_text[m->fail_used] = '\0';
        return;
    }
    m->fail_used += (size_t)n;
}

static void run_faults(shm_t *m, const fixture_t *fx, const sweep_fault_t *f, size_t n,
                       uint64_t seed, outcome_t *o)
{
    run_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.fx = fx;
    spec.seed = seed;
    spec.count = n;
    memcpy(spec.faults, f, n * sizeof *f);
    sweep_format_id(m->current, sizeof m->current, fx->sc, seed, f, n);
    run_one(&spec, o);
}

static void do_pair(shm_t *m, const work_t *w, const fixture_t *fx)
{
    outcome_t first;
    run_faults(m, fx, &w->fault, 1, w->seed, &first);
    if (first.failed) {
        return; /* the single sweep reports it */
    }
    static const sweep_kind_t kinds[] = {SWEEP_CUT_BEFORE, SWEEP_CUT_AFTER, SWEEP_TORN};
    for (uint64_t op = w->fault.op + 1; op <= first.ops; op++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            sweep_fault_t f[2] = {w->fault, {op, kinds[k], 0}};
            outcome_t o;
            run_faults(m, fx, f, 2, w->seed, &o);
            record(m, w, &o, fx, w->seed);
        }
    }
}

static void do_chain(shm_t *m, const work_t *w, const fixture_t *fx)
{
    otk_rand_t pick;
    otk_rand_seed(&pick, w->seed);
    run_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.fx = fx;
    spec.seed = w->seed;
    spec.chain.enabled = true;
    spec.chain.max_faults =
        CHAIN_MIN_FAULTS + otk_rand_below(&pick, SWEEP_MAX_FAULTS - CHAIN_MIN_FAULTS + 1);
    spec.chain.span = fx->ops;
    spec.chain.state = otk_rand_next(&pick);
    snprintf(m->current, sizeof m->current, "%s chain seed %" PRIu64, fx->sc->name, w->seed);
    outcome_t o;
    run_one(&spec, &o);
    record(m, w, &o, fx, w->seed);
}

static void worker(shm_t *m, const work_list_t *l, fixture_t *const *fx, size_t index,
                   size_t jobs)
{
    for (size_t i = index; i < l->count; i += jobs) {
        const work_t *w = &l->items[i];
        const fixture_t *f = fx[w->scenario];
        outcome_t o;
        switch (w->type) {
        case WORK_SINGLE:
            run_faults(m, f, &w->fault, 1, w->seed, &o);
            record(m, w, &o, f, w->seed);
            break;
        case WORK_PAIR:
            do_pair(m, w, f);
            break;
        case WORK_CHAIN:
        default:
            do_chain(m, w, f);
            break;
        }
    }
    m->finished = 1;
}

/* ---- the parent ------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(shm_t *const *shm, size_t jobs, double t0)
{
    uint64_t runs = 0;
    for (size_t j = 0; j < jobs; j++) {
        runs += shm[j]->runs_done;
    }
    double dt = now_s() - t0;
    fprintf(stderr, "\rsweep: %" PRIu64 " runs, %.0f runs/s ", runs,
            dt > 0 ? (double)runs / dt : 0.0);
}

static bool wait_workers(pid_t *pids, shm_t *const *shm, size_t jobs, bool show, double t0)
{
    bool ok = true;
    size_t left = jobs;
    while (left > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0) {
            if (show) {
                progress(shm, jobs, t0);
            }
            struct timespec pause = {0, PROGRESS_NS};
            nanosleep(&pause, NULL);
            continue;
        }
        if (pid < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (size_t j = 0; j < jobs; j++) {
            if (pids[j] != pid) {
                continue;
            }
            left--;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !shm[j]->finished) {
                fprintf(stderr, "otakit-sweep: worker %zu died (%s %d) in the run %s\n", j,
                        WIFSIGNALED(status) ? "signal" : "exit",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                        shm[j]->current);
                ok = false;
            }
        }
    }
    if (show) {
        fputc('\r', stderr);
        fprintf(stderr, "%60s\r", "");
    }
    return ok;
}

static void print_table(fixture_t *const *fx, size_t count, const explore_stats_t *st)
{
    printf("%-19s %5s %5s %5s %8s %7s %8s %7s %8s\n", "scenario", "ops", "prog", "erase",
           "single", "field", "pair", "chain", "failures");
    for (size_t s = 0; s < count; s++) {
        const fixture_t *f = fx[s];
        unsigned prog = 0, erase = 0;
        for (uint64_t op = 1; op <= f->ops; op++) {
            if (f->op_kind[op] == OTK_FLASH_OP_PROGRAM_PAGE) {
                prog++;
            } else {
                erase++;
            }
        }
        uint64_t fails = 0;
        for (int c = 0; c < CAT_COUNT; c++) {
            fails += st->fails[s][c];
        }
        printf("%-19s %5" PRIu64 " %5u %5u %8" PRIu64 " %7" PRIu64 " %8" PRIu64 " %7" PRIu64
               " %8" PRIu64 "\n",
               f->sc->name, f->ops, prog, erase, st->runs[s][CAT_SINGLE], st->runs[s][CAT_FIELD],
               st->runs[s][CAT_PAIR], st->runs[s][CAT_CHAIN], fails);
    }
    printf("chains by faults that fired:");
    for (int k = 0; k <= SWEEP_MAX_FAULTS; k++) {
        printf(" %d:%" PRIu64, k, st->chain_fired[k]);
    }
    printf("\nboots that fell back to another slot: %" PRIu64 "; good updates rolled back by a "
           "cut during their trial: %" PRIu64 "\n", st->fallbacks, st->trial_rollbacks);
}

static void merge(explore_stats_t *into, const explore_stats_t *from)
{
    for (int s = 0; s < EXPLORE_MAX_SCENARIOS; s++) {
        for (int c = 0; c < CAT_COUNT; c++) {
            into->runs[s][c] += from->runs[s][c];
            into->fails[s][c] += from->fails[s][c];
        }
    }
    into->fallbacks += from->fallbacks;
    into->trial_rollbacks += from->trial_rollbacks;
    for (int k = 0; k <= SWEEP_MAX_FAULTS; k++) {
        into->chain_fired[k] += from->chain_fired[k];
    }
}

long explore_run(fixture_t *const *fx, size_t count, const explore_cfg_t *cfg)
{
    work_list_t l = {0};
    if (count > EXPLORE_MAX_SCENARIOS || !build_work(fx, count, cfg, &l)) {
        fprintf(stderr, "otakit-sweep: cannot build the work list\n");
        free(l.items);
        return -1;
    }
    size_t jobs = cfg->jobs == 0 ? 1 : cfg->jobs > MAX_JOBS ? MAX_JOBS : cfg->jobs;
    shm_t *shm[MAX_JOBS];
    pid_t pids[MAX_JOBS];
    for (size_t j = 0; j < jobs; j++) {
        shm[j] = mmap(NULL, sizeof(shm_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
        pids[j] = -1;
        if (shm[j] == MAP_FAILED) {
            fprintf(stderr, "otakit-sweep: mmap: %s\n", strerror(errno));
            return -1;
        }
    }
    fflush(stdout);
    fflush(stderr);
    double t0 = now_s();
    for (size_t j = 0; j < jobs; j++) {
        pids[j] = fork();
        if (pids[j] == 0) {
            worker(shm[j], &l, fx, j, jobs);
            _exit(0); /* the parent owns and frees everything */
        }
        if (pids[j] < 0) {
            fprintf(stderr, "otakit-sweep: fork: %s\n", strerror(errno));
            return -1;
        }
    }
    bool ok = wait_workers(pids, shm, jobs, cfg->progress, t0);
    double dt = now_s() - t0;
    explore_stats_t total;
    memset(&total, 0, sizeof total);
    uint64_t dropped = 0;
    for (size_t j = 0; j < jobs; j++) {
        merge(&total, &shm[j]->stats);
        fputs(shm[j]->fail_text, stdout);
        dropped += shm[j]->fail_dropped;
    }
    if (dropped > 0) {
        printf("(%" PRIu64 " more failures not listed: out of room)\n", dropped);
    }
    print_table(fx, count, &total);
    uint64_t runs = 0, fails = 0;
    for (size_t s = 0; s < count; s++) {
        for (int c = 0; c < CAT_COUNT; c++) {
            runs += total.runs[s][c];
            fails += total.fails[s][c];
        }
    }
    printf("sweep: %" PRIu64 " interrupted runs, %" PRIu64 " failures, %.0f runs/s\n", runs,
           fails, dt > 0 ? (double)runs / dt : 0.0);
    for (size_t j = 0; j < jobs; j++) {
        munmap(shm[j], sizeof(shm_t));
    }
    free(l.items);
    return ok ? (long)fails : -1;
}
