/* Replay ids: "scenario:seed:faults". Each fault is the absolute operation number of the
 * run (counted from the first operation after the pristine device, across reboots) and a
 * kind letter: b (not done), a (done), t (torn program / partial erase), f<n> (field tear
 * n of an otadata operation). "update:1:57t" cuts the update scenario at its 57th
 * operation with a tear drawn from seed 1; "rollback:9:12a,31f3" cuts twice. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

char sweep_kind_letter(sweep_kind_t kind)
{
    static const char letters[] = {'b', 'a', 't', 'f'};
    return (unsigned)kind < sizeof letters ? letters[kind] : '?';
}

const char *sweep_kind_name(sweep_kind_t kind, otk_flash_op_t op)
{
    switch (kind) {
    case SWEEP_CUT_BEFORE:
        return "not done";
    case SWEEP_CUT_AFTER:
        return "done";
    case SWEEP_TORN:
        return op == OTK_FLASH_OP_PROGRAM_PAGE ? "torn program" : "partial erase";
    case SWEEP_FIELD:
        return "field tear";
    }
    return "?";
}

void sweep_format_id(char *out, size_t cap, const scenario_t *sc, uint64_t seed,
                     const sweep_fault_t *faults, size_t count)
{
    int n = snprintf(out, cap, "%s:%" PRIu64 ":", sc->name, seed);
    size_t used = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < count && used < cap; i++) {
        n = snprintf(out + used, cap - used, "%s%" PRIu64 "%c", i > 0 ? "," : "",
                     faults[i].op, sweep_kind_letter(faults[i].kind));
        used += n > 0 ? (size_t)n : 0;
        if (faults[i].kind == SWEEP_FIELD && used < cap) {
            n = snprintf(out + used, cap - used, "%u", (unsigned)faults[i].variant);
            used += n > 0 ? (size_t)n : 0;
        }
    }
}

static bool parse_u64(const char *s, char **end, uint64_t *v)
{
    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    unsigned long long x = strtoull(s, end, 10);
    *v = x;
    return errno == 0;
}

static bool parse_fault(const char **p, sweep_fault_t *f)
{
    char *end;
    uint64_t op;
    if (!parse_u64(*p, &end, &op) || op == 0) {
        return false;
    }
    f->op = op;
    f->variant = 0;
    switch (*end) {
    case 'b':
        f->kind = SWEEP_CUT_BEFORE;
        break;
    case 'a':
        f->kind = SWEEP_CUT_AFTER;
        break;
    case 't':
        f->kind = SWEEP_TORN;
        break;
    case 'f': {
        f->kind = SWEEP_FIELD;
        uint64_t v;
        if (!parse_u64(end + 1, &end, &v) || v > UINT8_MAX) {
            return false;
        }
        f->variant = (uint8_t)v;
        *p = end;
        return true;
    }
    default:
        return false;
    }
    *p = end + 1;
    return true;
}

bool sweep_parse_id(const char *id, const scenario_t **sc, uint64_t *seed,
                    sweep_fault_t *faults, size_t *count)
{
    const char *colon = strchr(id, ':');
    char name[64];
    size_t nlen = colon != NULL ? (size_t)(colon - id) : 0;
    if (colon == NULL || nlen == 0 || nlen >= sizeof name) {
        fprintf(stderr, "otakit-sweep: replay id '%s': expected scenario:seed:faults\n", id);
        return false;
    }
    memcpy(name, id, nlen);
    name[nlen] = '\0';
    *sc = scenario_find(name);
    if (*sc == NULL) {
        fprintf(stderr, "otakit-sweep: replay id '%s': no scenario '%s' (see --list)\n", id,
                name);
        return false;
    }
    char *end;
    if (!parse_u64(colon + 1, &end, seed) || *end != ':') {
        fprintf(stderr, "otakit-sweep: replay id '%s': bad seed\n", id);
        return false;
    }
    const char *p = end + 1;
    *count = 0;
    while (*p != '\0') {
        if (*count == SWEEP_MAX_FAULTS || !parse_fault(&p, &faults[*count]) ||
            (*count > 0 && faults[*count].op <= faults[*count - 1].op)) {
            fprintf(stderr, "otakit-sweep: replay id '%s': bad fault list at '%s' (up to %d "
                    "faults in increasing order, each <op><b|a|t|f<n>>)\n", id, p,
                    SWEEP_MAX_FAULTS);
            return false;
        }
        (*count)++;
        if (*p == ',') {
            p++;
        } else if (*p != '\0') {
            fprintf(stderr, "otakit-sweep: replay id '%s': unexpected '%s'\n", id, p);
            return false;
        }
    }
    return true;
}
