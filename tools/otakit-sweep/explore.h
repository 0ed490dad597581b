/* The exploration: which runs a sweep makes, spread over worker processes, and the
 * summary. */
#ifndef OTAKIT_SWEEP_EXPLORE_H
#define OTAKIT_SWEEP_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sweep.h"

/* At most this many scenarios take part in one sweep (the table has 8). */
#define EXPLORE_MAX_SCENARIOS 16

typedef enum {
    CAT_SINGLE, /* one fault at every operation, every kind (torn with several seeds) */
    CAT_FIELD,  /* one field tear at every otadata operation, every variant */
    CAT_PAIR,   /* two faults: the first in a window from end to confirm, the second at
                   every later operation of that run */
    CAT_CHAIN,  /* random chains of two to five faults */
    CAT_COUNT,
} category_t;

typedef struct {
    unsigned torn_seeds;   /* seeds per torn single point (each tears differently) */
    bool fields;           /* field tears of otadata operations */
    bool pairs;            /* two faults from the windows */
    unsigned pair_stride;  /* first faults: every op of the window (1), every other (2)... */
    bool pair_fields;      /* first faults also every field tear of the window's otadata ops */
    unsigned chains;       /* random chains per scenario */
    unsigned jobs;         /* worker processes */
    uint64_t seed;         /* base seed of chains */
    bool progress;         /* a progress line on stderr (a TTY) */
} explore_cfg_t;

typedef struct {
    uint64_t runs[EXPLORE_MAX_SCENARIOS][CAT_COUNT];
    uint64_t fails[EXPLORE_MAX_SCENARIOS][CAT_COUNT];
    uint64_t fallbacks;                       /* boots that fell back to another slot */
    uint64_t trial_rollbacks;                 /* good updates lost to a cut in their trial */
    uint64_t chain_fired[SWEEP_MAX_FAULTS + 1]; /* chains by the number of faults that fired */
} explore_stats_t;

/* Run the sweep over the fixtures (one per scenario, made and probed). Prints every
 * failure with its replay id, then the table and the summary line. Returns the number of
 * failures (or -1 when the workers could not run). */
long explore_run(fixture_t *const *fixtures, size_t count, const explore_cfg_t *cfg);

#endif
