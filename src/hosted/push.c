/* push: a whole image through a client. Begin (which resumes when the device already has
 * part of this image), a window of pipelined writes, End; after a dropped link, a
 * timeout or a device reboot, connect again and Begin again: the device says where to
 * continue. Then Activate, wait for the reboot, and check what runs.
 *
 * The window is go-back-N: writes go out back to back up to the window; each answer
 * carries the device's next expected offset. A GAP answer to a write in flight (a write
 * before it was lost) or no answer within the retransmission timeout sends everything
 * again from the device's offset; answers to writes sent before that are ignored (a
 * duplicate the device already has is acknowledged again, never written twice).
 *
 * The image's SHA-256 is computed as its bytes are first sent, not before: the first Begin
 * leaves it to End, so hashing on the host overlaps the device's work instead of delaying
 * the first byte. A Begin after a dropped link names it (the rest hashed first), and so
 * resumes the session; should the device refuse the image after a resume (the bytes
 * before the resume point were not all this image's), the push starts over from byte 0
 * once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hosted_internal.h"
#include "otakit/crc32.h"

/* The most writes a push keeps in flight, whatever a device offers. */
#define PUSH_WINDOW_MAX 64u
/* Backoff between reconnects that bring no progress: doubles up to the last. */
#define PUSH_BACKOFF_FIRST_MS 50u
#define PUSH_BACKOFF_MAX_MS 1000u
/* The default chunk is halved after each link that dropped without progress, down to
 * this: a link that never carries a whole 16 KiB frame (a flaky radio, a bridge with a
 * small buffer) still moves an image, 1 KiB at a time. */
#define PUSH_CHUNK_FLOOR 1024u

typedef struct {
    uint32_t id;
    uint32_t offset;
    uint32_t len;
    uint64_t sent_us;
} inflight_t;

typedef struct {
    otk_hosted_client_t *c;
    const otk_hosted_push_opts_t *opts;
    otk_hosted_push_result_t *res;
    const uint8_t *image;
    uint32_t size;
    uint32_t chunk;
    uint32_t halvings; /* of the default chunk, after links that made no progress */
    uint32_t window;
    uint32_t acked; /* the device has [0, acked) */
    uint32_t sent;  /* the next offset to send */
    inflight_t fl[PUSH_WINDOW_MAX];
    uint32_t nfl;
    uint32_t silent; /* windows in a row without an answer */
    uint64_t t_begin_us;
    otk_sha256_ctx_t hash; /* over [0, hashed) */
    uint32_t hashed;
    bool sha_done;         /* sha holds the image's SHA-256 */
    uint8_t sha[OTK_SHA256_LEN];
    bool started_over;     /* End refused resumed bytes once already */
} pipe_t;

/* The running hash over the image up to `upto` (never backwards: resent bytes were
 * hashed when first sent). */
static void hash_upto(pipe_t *p, uint32_t upto)
{
    if (upto > p->hashed) {
        otk_sha256_update(&p->hash, p->image + p->hashed, upto - p->hashed);
        p->hashed = upto;
    }
}

/* The whole image's SHA-256 (the rest hashed now). */
static const uint8_t *image_sha(pipe_t *p)
{
    if (!p->sha_done) {
        hash_upto(p, p->size);
        otk_sha256_final(&p->hash, p->sha);
        p->sha_done = true;
        memcpy(p->res->sha256, p->sha, sizeof p->sha);
        p->res->hashed = true;
    }
    return p->sha;
}

static void progress(pipe_t *p, const char *event, const char *detail)
{
    if (p->opts->progress != NULL) {
        otk_hosted_progress_t pr = {event, p->acked, p->size, detail};
        p->opts->progress(p->opts->ctx, &pr);
    }
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Everything in flight is forgotten; sending starts again at the device's offset. */
static void rewind_to(pipe_t *p, uint32_t offset)
{
    p->nfl = 0;
    p->acked = offset;
    p->sent = offset;
}

static otk_hosted_err_t send_write(pipe_t *p, otk_diag_t *diag)
{
    uint32_t len = p->size - p->sent < p->chunk ? p->size - p->sent : p->chunk;
    if (!p->sha_done) {
        hash_upto(p, p->sent + len);
    }
    Otkctrl__Write w;
    otkctrl__write__init(&w);
    w.offset = p->sent;
    w.data.data = (uint8_t *)p->image + p->sent;
    w.data.len = len;
    w.crc32 = otk_crc32_update(0, w.data.data, len);
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_WRITE;
    q.write = &w;
    uint32_t id = 0;
    otk_hosted_err_t err = client_queue(p->c, &q, &id, diag);
    if (err != OTK_HOSTED_OK) {
        return err;
    }
    p->fl[p->nfl++] = (inflight_t){id, p->sent, len, otk_link_now_us()};
    p->sent += len;
    p->res->writes++;
    p->res->bytes_sent += len;
    return OTK_HOSTED_OK;
}

/* Take one answer; *fatal when the device refused something that retrying cannot fix. */
static otk_hosted_err_t take_answer(pipe_t *p, Otkctrl__Response *r, otk_diag_t *diag)
{
    int idx = -1;
    for (uint32_t i = 0; i < p->nfl; i++) {
        if (p->fl[i].id == r->id) {
            idx = (int)i;
        }
    }
    if (idx >= 0) {
        client_rtt_sample(p->c, (double)(otk_link_now_us() - p->fl[idx].sent_us) / 1000.0);
        memmove(&p->fl[idx], &p->fl[idx + 1], (p->nfl - (uint32_t)idx - 1) * sizeof p->fl[0]);
        p->nfl--;
    }
    uint32_t next = r->body_case == OTKCTRL__RESPONSE__BODY_WRITE && r->write != NULL
                        ? r->write->next_offset : p->acked;
    switch (r->result) {
    case OTKCTRL__RESULT__RESULT_OK:
        if (next > p->acked) {
            p->acked = next; /* the device's count only grows within a session */
        }
        return OTK_HOSTED_OK;
    case OTKCTRL__RESULT__RESULT_GAP:
    case OTKCTRL__RESULT__RESULT_CRC_MISMATCH:
        /* A write before this one was lost (or this one was damaged in a way the frame
         * check missed). Only an answer to a write still in flight counts: the answers to
         * the rest of an abandoned window say the same thing again. */
        if (idx >= 0) {
            p->res->rewinds++;
            rewind_to(p, next);
        }
        return OTK_HOSTED_OK;
    default:
        if (idx < 0 && r->result == OTKCTRL__RESULT__RESULT_BAD_STATE) {
            return OTK_HOSTED_OK; /* an old answer from before a reconnect */
        }
        return client_result(p->c, r, diag);
    }
}

/* Writes until the device has every byte. ERR_LINK / ERR_TIMEOUT: reconnect and resume;
 * anything else: the device refused. */
static otk_hosted_err_t stream(pipe_t *p, otk_diag_t *diag)
{
    p->silent = 0;
    while (p->acked < p->size) {
        if (p->sent < p->acked) {
            p->sent = p->acked;
        }
        /* The refill goes out in one write (client_queue, client_flush). */
        while (p->nfl < p->window && p->sent < p->size) {
            otk_hosted_err_t err = send_write(p, diag);
            if (err != OTK_HOSTED_OK) {
                return err;
            }
        }
        otk_hosted_err_t sent = client_flush(p->c, diag);
        if (sent != OTK_HOSTED_OK) {
            return sent;
        }
        uint64_t now = otk_link_now_us();
        uint64_t rto_us = (uint64_t)client_rto_ms(p->c, p->silent) * 1000u;
        uint64_t due = p->nfl > 0 ? p->fl[0].sent_us + rto_us : now;
        int left = due > now ? (int)((due - now + 999u) / 1000u) : 1;
        Otkctrl__Response *r = NULL;
        otk_hosted_err_t err = client_recv(p->c, left, &r, diag);
        if (err == OTK_HOSTED_ERR_TIMEOUT) {
            p->res->timeouts++;
            if (++p->silent > p->c->retries) {
                otk_diag_set(diag, "no answer to %u windows in a row", (unsigned)p->silent);
                return OTK_HOSTED_ERR_TIMEOUT;
            }
            rewind_to(p, p->acked);
            progress(p, "retry", "no answer: sending again from the device's offset");
            continue;
        }
        if (err != OTK_HOSTED_OK) {
            return err;
        }
        uint32_t before = p->acked;
        /* Take every answer already here before refilling the window, so the refill goes
         * out as a burst: one write per answer turns a pipeline into a ping-pong whose
         * every step waits for the scheduler. */
        do {
            err = take_answer(p, r, diag);
            otkctrl__response__free_unpacked(r, NULL);
            r = NULL;
        } while (err == OTK_HOSTED_OK && p->nfl > 0 &&
                 client_recv(p->c, 0, &r, diag) == OTK_HOSTED_OK);
        if (err != OTK_HOSTED_OK) {
            return err;
        }
        if (p->acked > before) {
            p->silent = 0;
            progress(p, "write", NULL);
        }
    }
    return OTK_HOSTED_OK;
}

void otk_hosted_push_opts_init(otk_hosted_push_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->retries = OTK_HOSTED_PUSH_RETRIES;
    opts->activate = true;
    opts->reboot_wait_ms = OTK_HOSTED_REBOOT_WAIT_MS;
}

/* Link trouble: connect again and Begin again. */
static bool link_trouble(otk_hosted_err_t err)
{
    return err == OTK_HOSTED_ERR_LINK || err == OTK_HOSTED_ERR_TIMEOUT;
}

static otk_hosted_err_t begin(pipe_t *p, bool *first, otk_diag_t *diag)
{
    otk_hosted_client_t *c = p->c;
    if (!otk_hosted_connected(c)) {
        progress(p, "connect", c->uri_text);
        otk_hosted_err_t err = otk_hosted_connect(c, diag);
        if (err != OTK_HOSTED_OK) {
            return err;
        }
        p->res->connects++;
    }
    uint32_t max_chunk = c->hello.max_chunk != 0 ? c->hello.max_chunk : OTK_HOSTED_DEFAULT_CHUNK;
    bool socket = c->uri.kind == OTK_LINK_UNIX || c->uri.kind == OTK_LINK_TCP;
    uint32_t usual = socket ? OTK_HOSTED_SOCKET_CHUNK : OTK_HOSTED_DEFAULT_CHUNK;
    for (uint32_t i = 0; i < p->halvings && usual / 2 >= PUSH_CHUNK_FLOOR; i++) {
        usual /= 2;
    }
    p->chunk = p->opts->chunk != 0 ? p->opts->chunk : usual;
    p->chunk = p->chunk < max_chunk ? p->chunk : max_chunk;
    p->window = p->opts->window != 0 ? p->opts->window : c->hello.window;
    p->window = p->window == 0 ? 1 : p->window > PUSH_WINDOW_MAX ? PUSH_WINDOW_MAX : p->window;
    otk_hosted_begin_t b;
    if (*first) {
        p->t_begin_us = otk_link_now_us(); /* the transfer's time starts at the first Begin */
    }
    /* The first Begin leaves the hash to End; any later one names it, to resume. */
    const uint8_t *sha = *first && !p->sha_done ? NULL : image_sha(p);
    otk_hosted_err_t err = otk_hosted_begin(c, p->size, sha, p->chunk, &b, diag);
    if (err != OTK_HOSTED_OK) {
        return err;
    }
    snprintf(p->res->slot, sizeof p->res->slot, "%s", b.slot);
    p->res->chunk = p->chunk;
    p->res->window = p->window;
    if (*first) {
        p->res->resumed_from = b.next_offset;
        *first = false;
    } else if (b.resumed) {
        p->res->resumes++;
        p->res->resumed_at = b.next_offset;
    }
    rewind_to(p, b.next_offset);
    char line[96];
    snprintf(line, sizeof line, "%s: %s at %u", b.slot, b.resumed ? "resumed" : "new session",
             (unsigned)b.next_offset);
    progress(p, "begin", line);
    return OTK_HOSTED_OK;
}

/* The device refused the image after this push resumed a session (by its hash at End, or
 * by the image's rules as the bytes arrived), and the push has not started over yet: the
 * bytes before the resume point may not have been this image's. */
static bool resumed_other_bytes(const pipe_t *p, otk_hosted_err_t err)
{
    return err == OTK_HOSTED_IMAGE_REJECTED && !p->started_over &&
           (p->res->resumed_from > 0 || p->res->resumes > 0);
}

/* Begin, stream, End until End passes, reconnecting after link trouble. */
static otk_hosted_err_t transfer(pipe_t *p, otk_diag_t *diag)
{
    bool first = true;
    uint32_t failures = 0;
    uint32_t best = 0;
    for (;;) {
        otk_hosted_err_t err = begin(p, &first, diag);
        if (err != OTK_HOSTED_OK && !link_trouble(err)) {
            return err; /* Begin refused: busy, the image, the device's state */
        }
        if (err == OTK_HOSTED_OK) {
            err = stream(p, diag);
        }
        if (err == OTK_HOSTED_OK) {
            err = otk_hosted_end(p->c, image_sha(p), &p->res->image, diag);
            if (err == OTK_HOSTED_OK) {
                return err;
            }
        }
        if (resumed_other_bytes(p, err)) {
            /* The session failed on the device: Begin again starts from byte 0. */
            p->started_over = true;
            progress(p, "restart", diag != NULL ? diag->msg : NULL);
            continue;
        }
        /* After Begin, BAD_STATE means the session moved under us (the device rebooted
         * and kept it suspended): Begin again says where it stands. */
        if (!link_trouble(err) && err != OTK_HOSTED_BAD_STATE) {
            return err;
        }
        if (p->acked > best) {
            best = p->acked; /* progress: the count of failures starts over */
            failures = 0;
        } else if (link_trouble(err)) {
            p->halvings++; /* not even one chunk got through: try smaller ones */
        }
        if (++failures > p->opts->retries) {
            return err;
        }
        otk_hosted_disconnect(p->c);
        progress(p, "reconnect", diag != NULL ? diag->msg : NULL);
        /* Straight back after a link that made progress; then doubling waits, for a
         * device that is rebooting or gone. */
        if (failures > 1) {
            uint32_t backoff = PUSH_BACKOFF_FIRST_MS << (failures < 7 ? failures - 2 : 5);
            sleep_ms(backoff < PUSH_BACKOFF_MAX_MS ? backoff : PUSH_BACKOFF_MAX_MS);
        }
    }
}

static bool same_app(const otk_hosted_app_t *a, const otk_hosted_app_t *b)
{
    return a->present && b->present && strcmp(a->project_name, b->project_name) == 0 &&
           strcmp(a->version, b->version) == 0 &&
           memcmp(a->elf_sha256, b->elf_sha256, sizeof a->elf_sha256) == 0;
}

/* Activate, wait for the reboot, and see what runs. */
static otk_hosted_err_t activate(pipe_t *p, otk_diag_t *diag)
{
    otk_hosted_client_t *c = p->c;
    otk_hosted_push_result_t *res = p->res;
    uint64_t before = c->hello.boot_id;
    otk_hosted_err_t err = otk_hosted_activate(c, 0, diag);
    if (link_trouble(err) && otk_hosted_connect(c, diag) == OTK_HOSTED_OK &&
        c->hello.boot_id == before) {
        /* The answer was lost, and the device has not rebooted: Activate went through
         * (it answers OK again) or never arrived (it does it now). */
        err = otk_hosted_activate(c, 0, diag);
    } else if (link_trouble(err) && otk_hosted_connected(c)) {
        err = OTK_HOSTED_OK; /* it has rebooted already: the status below tells into what */
    }
    if (err != OTK_HOSTED_OK) {
        return err;
    }
    res->activated = true;
    progress(p, "activate", res->slot);
    err = otk_hosted_wait_reboot(c, before, p->opts->reboot_wait_ms, diag);
    if (err != OTK_HOSTED_OK) {
        return err;
    }
    res->rebooted = true;
    progress(p, "reboot", NULL);
    otk_hosted_status_t *st = calloc(1, sizeof *st);
    if (st == NULL) {
        otk_diag_set(diag, "out of memory");
        return OTK_HOSTED_ERR_LOCAL;
    }
    err = otk_hosted_status(c, st, diag);
    if (err == OTK_HOSTED_OK) {
        snprintf(res->running_slot, sizeof res->running_slot, "%s", st->running_slot);
        res->running = st->running;
        for (size_t i = 0; i < st->slot_count; i++) {
            if (st->slots[i].running) {
                res->running_state = st->slots[i].state;
            }
        }
        res->runs_image = strcmp(st->running_slot, res->slot) == 0 &&
                          same_app(&st->running, &res->image);
        if (!res->runs_image) {
            otk_diag_set(diag, "after the reboot the device runs %s %s from %s (%s), not the "
                               "pushed image in %s",
                         st->running.project_name, st->running.version, st->running_slot,
                         otk_hosted_slot_state_name(res->running_state), res->slot);
            err = OTK_HOSTED_FAILED;
        }
    }
    free(st);
    return err;
}

otk_hosted_err_t otk_hosted_push(otk_hosted_client_t *c, const uint8_t *image, size_t size,
                                 const otk_hosted_push_opts_t *opts,
                                 otk_hosted_push_result_t *res, otk_diag_t *diag)
{
    otk_hosted_push_opts_t defaults;
    if (opts == NULL) {
        otk_hosted_push_opts_init(&defaults);
        opts = &defaults;
    }
    memset(res, 0, sizeof *res);
    res->size = (uint32_t)size;
    if (size == 0 || size > UINT32_MAX || image == NULL) {
        otk_diag_set(diag, "an image of %zu bytes cannot be pushed", size);
        return OTK_HOSTED_ERR_LOCAL;
    }
    pipe_t p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.opts = opts;
    p.res = res;
    p.image = image;
    p.size = (uint32_t)size;
    otk_sha256_init(&p.hash);
    otk_hosted_err_t err = transfer(&p, diag);
    if (p.t_begin_us != 0) {
        res->transfer_s = (double)(otk_link_now_us() - p.t_begin_us) / 1e6;
    }
    if (err != OTK_HOSTED_OK) {
        return err;
    }
    progress(&p, "end", res->slot);
    if (opts->activate) {
        err = activate(&p, diag);
    }
    if (err == OTK_HOSTED_OK) {
        progress(&p, "done", NULL);
    }
    return err;
}
