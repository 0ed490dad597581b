/* Driver for fuzz harnesses when libFuzzer is not available (gcc builds): runs every file
 * of the seed corpus, then a fixed number of seeded mutations of them (bit flips, byte
 * sets, truncations, splices), so the harness still meets hostile input in every build.
 * Usage: fuzz_x RUNS CORPUS_DIR */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/rand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Upper bound of one input: the harnesses parse tables and image headers, not megabytes. */
#define REPLAY_MAX_INPUT (1u << 20)
#define REPLAY_MAX_SEEDS 256

static uint8_t *seeds[REPLAY_MAX_SEEDS];
static size_t seed_len[REPLAY_MAX_SEEDS];

static size_t load_seeds(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < REPLAY_MAX_SEEDS) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            continue;
        }
        uint8_t *buf = malloc(REPLAY_MAX_INPUT);
        size_t len = fread(buf, 1, REPLAY_MAX_INPUT, f);
        fclose(f);
        seeds[n] = buf;
        seed_len[n] = len;
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s RUNS CORPUS_DIR\n", argv[0]);
        return 2;
    }
    long runs = strtol(argv[1], NULL, 0);
    size_t n = load_seeds(argv[2]);
    for (size_t i = 0; i < n; i++) {
        LLVMFuzzerTestOneInput(seeds[i], seed_len[i]);
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    otk_rand_t r;
    otk_rand_seed(&r, 1);
    for (long run = 0; run < runs; run++) {
        size_t len = 0;
        if (n > 0) {
            size_t s = (size_t)otk_rand_below(&r, n);
            len = seed_len[s];
            memcpy(buf, seeds[s], len);
        }
        unsigned edits = 1 + (unsigned)otk_rand_below(&r, 8);
        for (unsigned e = 0; e < edits; e++) {
            switch (otk_rand_below(&r, 5)) {
            case 0: /* flip a bit */
                if (len > 0) {
                    buf[otk_rand_below(&r, len)] ^= (uint8_t)(1u << otk_rand_below(&r, 8));
                }
                break;
            case 1: /* set a byte to an interesting value */
                if (len > 0) {
                    static const uint8_t v[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0xe9, 0xaa, 0x50};
                    buf[otk_rand_below(&r, len)] = v[otk_rand_below(&r, sizeof v)];
                }
                break;
            case 2: /* truncate */
                if (len > 0) {
                    len = (size_t)otk_rand_below(&r, len + 1);
                }
                break;
            case 3: /* grow with random bytes */
                if (len < REPLAY_MAX_INPUT - 64) {
                    size_t add = 1 + (size_t)otk_rand_below(&r, 64);
                    for (size_t k = 0; k < add; k++) {
                        buf[len++] = (uint8_t)otk_rand_next(&r);
                    }
                }
                break;
            default: /* overwrite a 32-bit word with a random value */
                if (len >= 4) {
                    uint32_t w = (uint32_t)otk_rand_next(&r);
                    memcpy(buf + otk_rand_below(&r, len - 3), &w, 4);
                }
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    free(buf);
    for (size_t i = 0; i < n; i++) {
        free(seeds[i]);
    }
    printf("replayed %zu seeds and %ld mutations\n", n, runs);
    return 0;
}
