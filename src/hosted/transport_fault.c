/* A link wrapper that breaks things on purpose, for tests: it drops the link after a
 * number of bytes, flips bits in frames sent and in bytes received, sends garbage between
 * frames, and duplicates or reorders frames. Every choice comes from the seed, so a run
 * that fails replays exactly. It relies on each write being one whole frame (the
 * otk_link_ops_t contract). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted_internal.h"

/* Garbage bursts: long enough to hold a fake magic or a header, short enough not to
 * dominate the traffic. */
#define GARBAGE_MAX 64u

typedef struct {
    otk_link_t *inner;
    otk_link_fault_t *f;
    uint64_t budget; /* bytes left before the link drops (UINT64_MAX: never) */
    bool dropped;
    uint8_t *held; /* a frame held back to go out after the next one */
    size_t held_len;
} fault_ctx_t;

/* True with probability p, from the injector's sequence. */
static bool chance(otk_link_fault_t *f, double p)
{
    if (p <= 0.0) {
        return false;
    }
    return (double)(otk_rand_next(&f->rng) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static void drop(fault_ctx_t *c)
{
    if (!c->dropped) {
        c->dropped = true;
        c->f->stats.drops++;
        otk_link_close(c->inner);
        c->inner = NULL;
    }
}

/* Send bytes through the budget: what is left of it goes, then the link drops. */
static int send_counted(fault_ctx_t *c, const void *p, size_t n, int timeout_ms)
{
    if (c->dropped) {
        return -1;
    }
    size_t now = n <= c->budget ? n : (size_t)c->budget;
    if (now > 0 && otk_link_write(c->inner, p, now, timeout_ms) != 0) {
        return -1;
    }
    if (c->budget != UINT64_MAX) {
        c->budget -= now;
    }
    if (now < n || c->budget == 0) {
        drop(c);
        return now < n ? -1 : 0;
    }
    return 0;
}

static int release_held(fault_ctx_t *c, int timeout_ms)
{
    if (c->held == NULL) {
        return 0;
    }
    int rc = send_counted(c, c->held, c->held_len, timeout_ms);
    free(c->held);
    c->held = NULL;
    return rc;
}

static int fault_write_one(otk_link_t *link, const void *buf, size_t len, int timeout_ms)
{
    fault_ctx_t *c = link->ctx;
    otk_link_fault_t *f = c->f;
    if (c->dropped) {
        return -1;
    }
    if (chance(f, f->spec.garbage)) {
        uint8_t junk[GARBAGE_MAX];
        size_t n = 1 + (size_t)otk_rand_below(&f->rng, GARBAGE_MAX);
        for (size_t i = 0; i < n; i++) {
            junk[i] = (uint8_t)otk_rand_next(&f->rng);
        }
        f->stats.garbage++;
        if (send_counted(c, junk, n, timeout_ms) != 0) {
            return -1;
        }
    }
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        return -1;
    }
    memcpy(copy, buf, len);
    if (len > 0 && chance(f, f->spec.flip)) {
        uint64_t bit = otk_rand_below(&f->rng, (uint64_t)len * 8u);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        f->stats.flips++;
    }
    if (c->held == NULL && chance(f, f->spec.reorder)) {
        c->held = copy; /* goes out after the next frame */
        c->held_len = len;
        f->stats.reorders++;
        return 0;
    }
    int rc = send_counted(c, copy, len, timeout_ms);
    if (rc == 0 && chance(f, f->spec.dup)) {
        f->stats.dups++;
        rc = send_counted(c, copy, len, timeout_ms);
    }
    free(copy);
    return rc == 0 ? release_held(c, timeout_ms) : rc;
}

/* The length of the frame at p (its header read as the decoder would), or all of len
 * when p does not start a whole frame. */
static size_t frame_len_at(const uint8_t *p, size_t len)
{
    if (len < OTK_FRAME_OVERHEAD || p[0] != OTK_FRAME_MAGIC0 || p[1] != OTK_FRAME_MAGIC1) {
        return len;
    }
    uint64_t n = (uint64_t)p[4] | (uint64_t)p[5] << 8 | (uint64_t)p[6] << 16 |
                 (uint64_t)p[7] << 24;
    return n <= len - OTK_FRAME_OVERHEAD ? (size_t)n + OTK_FRAME_OVERHEAD : len;
}

/* A host may send several frames in one write (a window's refill): each frame meets its
 * own faults, as if it had been written alone. */
static int fault_write(otk_link_t *link, const void *buf, size_t len, int timeout_ms)
{
    const uint8_t *p = buf;
    do {
        size_t n = frame_len_at(p, len);
        if (fault_write_one(link, p, n, timeout_ms) != 0) {
            return -1;
        }
        p += n;
        len -= n;
    } while (len > 0);
    return 0;
}

static ssize_t fault_read(otk_link_t *link, void *buf, size_t cap, int timeout_ms)
{
    fault_ctx_t *c = link->ctx;
    otk_link_fault_t *f = c->f;
    /* A held frame goes out once the host starts waiting: holding it longer would only
     * turn every reorder into a timeout. */
    if (timeout_ms > 0 && release_held(c, timeout_ms) != 0) {
        return -1;
    }
    if (c->dropped) {
        return -1;
    }
    ssize_t n = otk_link_read(c->inner, buf, cap, timeout_ms);
    if (n <= 0) {
        return n;
    }
    if ((uint64_t)n >= c->budget) {
        n = (ssize_t)c->budget; /* these arrived; then the link is gone */
        drop(c);
        if (n == 0) {
            return -1;
        }
    } else if (c->budget != UINT64_MAX) {
        c->budget -= (uint64_t)n;
    }
    if (chance(f, f->spec.rx_flip)) {
        uint64_t bit = otk_rand_below(&f->rng, (uint64_t)n * 8u);
        ((uint8_t *)buf)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        f->stats.rx_flips++;
    }
    return n;
}

static void fault_close(otk_link_t *link)
{
    fault_ctx_t *c = link->ctx;
    free(c->held);
    otk_link_close(c->inner);
    free(c);
    free(link);
}

static const otk_link_ops_t FAULT_OPS = {fault_read, fault_write, fault_close};

void otk_link_fault_init(otk_link_fault_t *fault, const otk_link_fault_spec_t *spec)
{
    memset(fault, 0, sizeof *fault);
    fault->spec = *spec;
    otk_rand_seed(&fault->rng, spec->seed);
}

otk_link_t *otk_link_fault_wrap(otk_link_t *inner, otk_link_fault_t *fault)
{
    otk_link_t *link = calloc(1, sizeof *link);
    fault_ctx_t *c = calloc(1, sizeof *c);
    if (link == NULL || c == NULL) {
        free(link);
        free(c);
        otk_link_close(inner);
        return NULL;
    }
    fault->stats.connections++;
    c->inner = inner;
    c->f = fault;
    c->budget = UINT64_MAX;
    if (fault->stats.connections == 1 && fault->spec.drop_at > 0) {
        c->budget = fault->spec.drop_at;
    } else if (fault->spec.drop > 0) {
        c->budget = 1 + otk_rand_below(&fault->rng, fault->spec.drop);
    }
    if (fault->spec.baud != 0) {
        otk_link_rate_init(&inner->rate, fault->spec.baud);
    }
    link->ops = &FAULT_OPS;
    link->kind = inner->kind;
    link->fd = -1;
    link->ctx = c;
    return link;
}

static bool parse_prob(const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d >= 0.0 && d <= 1.0)) {
        return false;
    }
    *out = d;
    return true;
}

static bool parse_count(const char *v, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 0);
    if (errno != 0 || end == v || *end != '\0' || n > max) {
        return false;
    }
    *out = n;
    return true;
}

/* One "key=value" of a fault spec. */
static bool parse_item(const char *key, const char *v, otk_link_fault_spec_t *s)
{
    uint64_t n = 0;
    if (strcmp(key, "seed") == 0) {
        return parse_count(v, UINT64_MAX, &s->seed);
    }
    if (strcmp(key, "baud") == 0) {
        if (!parse_count(v, 100000000u, &n)) {
            return false;
        }
        s->baud = (uint32_t)n;
        return true;
    }
    if (strcmp(key, "drop") == 0 || strcmp(key, "drop_at") == 0) {
        if (!parse_count(v, UINT32_MAX, &n)) {
            return false;
        }
        *(strcmp(key, "drop") == 0 ? &s->drop : &s->drop_at) = (uint32_t)n;
        return true;
    }
    static const struct {
        const char *key;
        size_t off;
    } probs[] = {{"flip", offsetof(otk_link_fault_spec_t, flip)},
                 {"rx_flip", offsetof(otk_link_fault_spec_t, rx_flip)},
                 {"garbage", offsetof(otk_link_fault_spec_t, garbage)},
                 {"dup", offsetof(otk_link_fault_spec_t, dup)},
                 {"reorder", offsetof(otk_link_fault_spec_t, reorder)}};
    for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) {
        if (strcmp(key, probs[i].key) == 0) {
            return parse_prob(v, (double *)((char *)s + probs[i].off));
        }
    }
    return false;
}

esp_err_t otk_link_fault_parse(const char *text, otk_link_fault_spec_t *spec, otk_diag_t *diag)
{
    memset(spec, 0, sizeof *spec);
    char buf[256];
    if (text == NULL || strlen(text) >= sizeof buf) {
        otk_diag_set(diag, "fault spec: missing or too long");
        return ESP_ERR_INVALID_ARG;
    }
    strcpy(buf, text);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            otk_diag_set(diag, "fault spec: '%s' is not key=value", item);
            return ESP_ERR_INVALID_ARG;
        }
        *eq = '\0';
        if (!parse_item(item, eq + 1, spec)) {
            otk_diag_set(diag, "fault spec: bad '%s=%s' (keys: seed, drop, drop_at, baud: "
                               "counts; flip, rx_flip, garbage, dup, reorder: 0..1)",
                         item, eq + 1);
            return ESP_ERR_INVALID_ARG;
        }
    }
    return ESP_OK;
}
