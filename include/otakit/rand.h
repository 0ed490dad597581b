/* A small seeded PRNG (splitmix64) for replayable fault injection and test data.
 * Not for anything secret. */
#ifndef OTAKIT_RAND_H
#define OTAKIT_RAND_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} otk_rand_t;

static inline void otk_rand_seed(otk_rand_t *r, uint64_t seed)
{
    r->state = seed;
}

static inline uint64_t otk_rand_next(otk_rand_t *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) for bound > 0 (bias is negligible for the small bounds used). */
static inline uint64_t otk_rand_below(otk_rand_t *r, uint64_t bound)
{
    return otk_rand_next(r) % bound;
}

#endif
