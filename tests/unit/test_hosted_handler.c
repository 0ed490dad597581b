/* The device side of the control path, request by request (otk_hosted_handle), on a
 * simulated device whose flash is a file: the session state machine and its out-of-order
 * answers, begin erasing nothing, idempotent writes (duplicate, gap, overlap, conflict),
 * the first-chunk checks leaving flash byte-identical, a corrupt image never activated,
 * resume after a dropped link and after a power cut (the session file), Hello and Auth,
 * confirm / rollback / reboot, and the Status reply. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted_internal.h"
#include "hosted_fixture.h"
#include "otakit/crc32.h"
#include "otakit/hosted.h"
#include "otakit/ota.h"
#include "test_support.h"

#define CHUNK 4096u
/* The result codes, shorter. */
#define R_OK OTKCTRL__RESULT__RESULT_OK
#define R_BAD_STATE OTKCTRL__RESULT__RESULT_BAD_STATE
#define OTADATA_AT 0xd000u
#define OTADATA_LEN 0x2000u

static otk_device_run_t run; /* ~50 KiB */
static otk_hosted_handler_t h;
static otk_hosted_peer_t peer;
static uint64_t now = 1000;
/* Time that passes before each request (the session saves need 0.5 s as well as 64 KiB). */
static uint64_t call_ms = 50;
static const char *flash;
static bool closed; /* the last reply asked for the link to close */
static const uint8_t *src_; /* an image in the fixture's buffer, before it is copied */

static void start(const char *extra)
{
    flash = hf_make_device(extra);
    hf_open(&run, flash, NULL);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_handler_init(&h, &run, NULL, &diag), ESP_OK);
    otk_hosted_peer_init(&peer, false);
}

static void stop(void)
{
    otk_hosted_handler_shutdown(&h);
    otk_device_run_close(&run);
    ts_cleanup_dir(hf_dir());
}

/* A power cut: nothing is saved, the program is gone; then power comes back. */
static void power_cycle(void)
{
    otk_device_run_close(&run);
    hf_open(&run, flash, NULL);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_handler_init(&h, &run, NULL, &diag), ESP_OK);
    otk_hosted_peer_init(&peer, false);
}

static Otkctrl__Response *call(Otkctrl__Request *q)
{
    static uint8_t in[OTK_FRAME_MAX_PAYLOAD], out[OTK_FRAME_MAX_PAYLOAD];
    q->id = 77;
    now += call_ms;
    size_t n = otkctrl__request__pack(q, in);
    size_t m = otk_hosted_handle(&h, &peer, in, n, now, out, sizeof out, &closed);
    assert_true(m > 0);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, m, out);
    assert_non_null(r);
    assert_int_equal(r->id, 77);
    return r;
}

static void done(Otkctrl__Response *r)
{
    otkctrl__response__free_unpacked(r, NULL);
}

/* The result of a call; the response is freed. */
static int result_of(Otkctrl__Response *r)
{
    int res = r->result;
    done(r);
    return res;
}

static Otkctrl__Response *begin_with(uint32_t size, const uint8_t *sha, uint32_t chunk)
{
    Otkctrl__Begin b = OTKCTRL__BEGIN__INIT;
    b.image_size = size;
    b.sha256.data = (uint8_t *)sha;
    b.sha256.len = sha != NULL ? 32 : 0; /* NULL: the hash comes with End */
    b.chunk_size = chunk;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_BEGIN;
    q.begin = &b;
    return call(&q);
}

static Otkctrl__Response *begin(const uint8_t *img, size_t len)
{
    uint8_t sha[32];
    otk_sha256(img, len, sha);
    return begin_with((uint32_t)len, sha, CHUNK);
}

static Otkctrl__Response *write_raw(uint32_t off, const uint8_t *data, size_t len, uint32_t crc)
{
    Otkctrl__Write w = OTKCTRL__WRITE__INIT;
    w.offset = off;
    w.data.data = (uint8_t *)data;
    w.data.len = len;
    w.crc32 = crc;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_WRITE;
    q.write = &w;
    return call(&q);
}

static Otkctrl__Response *write_at(uint32_t off, const uint8_t *data, size_t len)
{
    return write_raw(off, data, len, otk_crc32_update(0, data, len));
}

/* A request without fields (End, Abort, Status, Confirm) or with a delay of 0. */
static Otkctrl__Response *simple(Otkctrl__Request__BodyCase which)
{
    Otkctrl__End end = OTKCTRL__END__INIT;
    Otkctrl__Activate act = OTKCTRL__ACTIVATE__INIT;
    Otkctrl__Abort ab = OTKCTRL__ABORT__INIT;
    Otkctrl__Status st = OTKCTRL__STATUS__INIT;
    Otkctrl__Confirm co = OTKCTRL__CONFIRM__INIT;
    Otkctrl__Rollback rb = OTKCTRL__ROLLBACK__INIT;
    Otkctrl__Reboot re = OTKCTRL__REBOOT__INIT;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = which;
    switch (which) {
    case OTKCTRL__REQUEST__BODY_END: q.end = &end; break;
    case OTKCTRL__REQUEST__BODY_ACTIVATE: q.activate = &act; break;
    case OTKCTRL__REQUEST__BODY_ABORT: q.abort = &ab; break;
    case OTKCTRL__REQUEST__BODY_STATUS: q.status = &st; break;
    case OTKCTRL__REQUEST__BODY_CONFIRM: q.confirm = &co; break;
    case OTKCTRL__REQUEST__BODY_ROLLBACK: q.rollback = &rb; break;
    case OTKCTRL__REQUEST__BODY_REBOOT: q.reboot = &re; break;
    default: fail();
    }
    return call(&q);
}

/* Write [from, to) of img in CHUNK pieces, each answered OK. */
static void write_range(const uint8_t *img, uint32_t from, uint32_t to)
{
    for (uint32_t off = from; off < to; off += CHUNK) {
        uint32_t n = to - off < CHUNK ? to - off : CHUNK;
        Otkctrl__Response *r = write_at(off, img + off, n);
        if (r->result != R_OK) {
            fail_msg("write at %u: %d %s", (unsigned)off, r->result, r->message);
        }
        assert_int_equal(r->write->next_offset, off + n);
        done(r);
    }
}

/* Activate, then let time pass until the device has rebooted. */
static void activate_and_reboot(void)
{
    Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_ACTIVATE);
    if (r->result != R_OK) {
        fail_msg("activate: %s", r->message);
    }
    done(r);
    assert_false(otk_hosted_handler_tick(&h, now + OTK_HOSTED_REBOOT_DELAY_MS - 1));
    now += OTK_HOSTED_REBOOT_DELAY_MS;
    assert_true(otk_hosted_handler_tick(&h, now));
    assert_false(h.dead);
    otk_hosted_peer_init(&peer, false); /* the reboot dropped the link */
}

static const char *running_version(void)
{
    const esp_app_desc_t *d = otk_device_running_app(&run.dev);
    return d != NULL ? d->version : "";
}

static void test_hello(void **state)
{
    (void)state;
    start("");
    Otkctrl__Hello hello = OTKCTRL__HELLO__INIT;
    hello.protocol = 1;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_HELLO;
    q.hello = &hello;
    Otkctrl__Response *r = call(&q);
    assert_int_equal(r->result, R_OK);
    assert_int_equal(r->body_case, OTKCTRL__RESPONSE__BODY_HELLO);
    assert_int_equal(r->hello->protocol, OTK_HOSTED_PROTOCOL);
    assert_int_equal(r->hello->max_chunk, OTK_HOSTED_MAX_CHUNK);
    assert_int_equal(r->hello->window, OTK_HOSTED_WINDOW);
    assert_int_equal(r->hello->nonce.len, OTK_HOSTED_NONCE_LEN);
    assert_false(r->hello->auth_required);
    assert_int_equal(r->hello->boot_id, h.boot_id);
    assert_non_null(strstr(r->hello->device, "ESP32-C3"));
    done(r);
    stop();
}

static void test_out_of_order(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 20000, &len);
    Otkctrl__Response *r = write_at(0, img, CHUNK);
    assert_int_equal(r->result, R_BAD_STATE);
    assert_non_null(strstr(r->message, "Begin first"));
    done(r);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_BAD_STATE);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ACTIVATE)),
                     R_BAD_STATE);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ABORT)), R_OK);
    assert_int_equal(result_of(begin(img, len)), R_OK);
    r = simple(OTKCTRL__REQUEST__BODY_END);
    assert_int_equal(r->result, R_BAD_STATE);
    assert_non_null(strstr(r->message, "0 of"));
    done(r);
    write_range(img, 0, CHUNK);
    r = simple(OTKCTRL__REQUEST__BODY_ACTIVATE);
    assert_int_equal(r->result, R_BAD_STATE);
    assert_non_null(strstr(r->message, "End must pass first"));
    done(r);
    /* A second link that did not Begin may not write into this session. */
    otk_hosted_peer_t other;
    otk_hosted_peer_init(&other, false);
    otk_hosted_peer_t saved = peer;
    peer = other;
    r = write_at(CHUNK, img + CHUNK, CHUNK);
    assert_int_equal(r->result, R_BAD_STATE);
    assert_non_null(strstr(r->message, "on this link"));
    done(r);
    peer = saved;
    stop();
}

static void test_full_update(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 50000, &len);
    size_t before_len, after_len;
    uint8_t *before = hf_flash_bytes(flash, &before_len);
    Otkctrl__Response *r = begin(img, len);
    assert_int_equal(r->result, R_OK);
    assert_string_equal(r->begin->slot, "ota_0");
    assert_int_equal(r->begin->next_offset, 0);
    assert_false(r->begin->resumed);
    done(r);
    /* Begin answered without touching flash: no erase up front. */
    uint8_t *after = hf_flash_bytes(flash, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(after);
    write_range(img, 0, (uint32_t)len);
    after = hf_flash_bytes(flash, &after_len);
    assert_memory_equal(before + OTADATA_AT, after + OTADATA_AT, OTADATA_LEN);
    free(after);
    r = simple(OTKCTRL__REQUEST__BODY_END);
    assert_int_equal(r->result, R_OK);
    assert_string_equal(r->end->app->version, "v2");
    assert_string_equal(r->end->slot, "ota_0");
    done(r);
    /* End again: the same answer (a host whose answer was lost asks again). */
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_OK);
    char session[600];
    snprintf(session, sizeof session, "%s.session", flash);
    assert_true(hf_exists(session));
    activate_and_reboot();
    assert_false(hf_exists(session));
    assert_string_equal(run.dev.running->label, "ota_0");
    assert_string_equal(running_version(), "v2");
    free(before);
    stop();
}

static void test_idempotent_writes(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 30000, &len);
    assert_int_equal(result_of(begin(img, len)), R_OK);
    write_range(img, 0, CHUNK);
    Otkctrl__Response *r = write_at(0, img, CHUNK); /* again, the same bytes */
    assert_int_equal(r->result, R_OK);
    assert_true(r->write->duplicate);
    assert_int_equal(r->write->next_offset, CHUNK);
    done(r);
    r = write_at(2 * CHUNK, img + 2 * CHUNK, CHUNK); /* a gap: chunk 1 is missing */
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_GAP);
    assert_int_equal(r->write->next_offset, CHUNK);
    done(r);
    uint8_t changed[CHUNK];
    memcpy(changed, img, CHUNK);
    changed[100] ^= 1;
    r = write_at(0, changed, CHUNK); /* other bytes over written ones */
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_CONFLICT);
    assert_non_null(strstr(r->message, "at 100 differs"));
    done(r);
    r = write_raw(CHUNK, img + CHUNK, CHUNK, 0x12345678u); /* damaged in transit */
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_CRC_MISMATCH);
    assert_int_equal(r->write->next_offset, CHUNK);
    done(r);
    r = write_at(CHUNK / 2, img + CHUNK / 2, CHUNK); /* overlaps: the new half is written */
    assert_int_equal(r->result, R_OK);
    assert_false(r->write->duplicate);
    assert_int_equal(r->write->next_offset, CHUNK + CHUNK / 2);
    done(r);
    r = write_at((uint32_t)len - 10, img, 20); /* past the image's end */
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_OVERRUN);
    done(r);
    static uint8_t big[OTK_HOSTED_MAX_CHUNK + 1];
    r = write_at(CHUNK + CHUNK / 2, big, sizeof big);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_OVERRUN);
    done(r);
    write_range(img, CHUNK + CHUNK / 2, (uint32_t)len);
    r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    assert_int_equal(r->status->session->state, OTKCTRL__SESSION_STATE__SESSION_RECEIVING);
    assert_int_equal(r->status->session->duplicates, 1);
    assert_int_equal(r->status->session->gaps, 1);
    assert_int_equal(r->status->session->received, len);
    done(r);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_OK);
    stop();
}

/* A refused first chunk: IMAGE_REJECTED, and the whole flash file is byte-identical. */
static void expect_refused(const uint8_t *img, size_t len, const char *why)
{
    size_t n0, n1;
    uint8_t *before = hf_flash_bytes(flash, &n0);
    assert_int_equal(result_of(begin(img, len)), R_OK);
    Otkctrl__Response *r = write_at(0, img, CHUNK);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED);
    if (strstr(r->message, why) == NULL) {
        fail_msg("'%s' not in '%s'", why, r->message);
    }
    done(r);
    uint8_t *after = hf_flash_bytes(flash, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    assert_int_equal(r->status->session->state, OTKCTRL__SESSION_STATE__SESSION_FAILED);
    done(r);
    assert_int_equal(result_of(write_at(0, img, CHUNK)), R_BAD_STATE);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ACTIVATE)),
                     R_BAD_STATE);
}

static void test_first_chunk_refusals(void **state)
{
    (void)state;
    start("");
    size_t len;
    static uint8_t img[0x10000];
    src_ = hf_image_for(ESP_CHIP_ID_ESP32, "v2", 0, 20000, &len);
    memcpy(img, src_, len);
    expect_refused(img, len, "the image is for ESP32 (chip id 0), this device is ESP32-C3");
    memset(img, 0xFF, sizeof img); /* erased flash, otadata: not an image */
    expect_refused(img, 20000, "byte 0 is 0xff");
    src_ = hf_image("v2", 20000, &len);
    memcpy(img, src_, len);
    img[OTK_IMAGE_DESC_OFFSET] ^= 0x55; /* the app descriptor's magic */
    expect_refused(img, len, "no app descriptor");
    /* Too large for the slot: refused at Begin already. */
    uint8_t sha[32] = {0};
    Otkctrl__Response *r = begin_with(0x100001, sha, CHUNK);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED);
    assert_non_null(strstr(r->message, "does not fit ota_0"));
    done(r);
    /* A first write too short to check. */
    src_ = hf_image("v2", 20000, &len);
    memcpy(img, src_, len);
    assert_int_equal(result_of(begin(img, len)), R_OK);
    r = write_at(0, img, 100);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    assert_non_null(strstr(r->message, "at least 288"));
    done(r);
    assert_int_equal(result_of(begin_with((uint32_t)len, sha, 100)),
                     OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    stop();
}

static void test_anti_rollback_first_chunk(void **state)
{
    (void)state;
    start("anti_rollback = on\n");
    size_t len;
    /* v2 with secure_version 2 installs, confirms itself, and its boot raises the eFuse. */
    const uint8_t *img = hf_image_for(ESP_CHIP_ID_ESP32C3, "v2", 2, 20000, &len);
    assert_int_equal(result_of(begin(img, len)), R_OK);
    write_range(img, 0, (uint32_t)len);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_OK);
    activate_and_reboot();
    assert_string_equal(running_version(), "v2");
    img = hf_image("v1", 20000, &len); /* secure_version 0: refused before any erase */
    expect_refused(img, len, "secure_version 0 is below the eFuse's 2");
    stop();
}

/* A corrupt byte deep in the image: refused (at a write or at End), never activated,
 * otadata untouched. */
static void test_corrupt_image(void **state)
{
    (void)state;
    start("");
    size_t len, n0, n1;
    static uint8_t img[0x20000];
    src_ = hf_image("v2", 60000, &len);
    memcpy(img, src_, len);
    img[30000] ^= 0x08;
    uint8_t *before = hf_flash_bytes(flash, &n0);
    assert_int_equal(result_of(begin(img, len)), R_OK);
    int res = OTKCTRL__RESULT__RESULT_OK;
    for (uint32_t off = 0; off < len && res == OTKCTRL__RESULT__RESULT_OK; off += CHUNK) {
        uint32_t n = (uint32_t)len - off < CHUNK ? (uint32_t)len - off : CHUNK;
        res = result_of(write_at(off, img + off, n));
    }
    if (res == R_OK) {
        Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_END);
        res = r->result;
        assert_non_null(strstr(r->message, "does not verify"));
        done(r);
    }
    assert_int_equal(res, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ACTIVATE)),
                     R_BAD_STATE);
    uint8_t *after = hf_flash_bytes(flash, &n1);
    assert_memory_equal(before + OTADATA_AT, after + OTADATA_AT, OTADATA_LEN);
    free(before);
    free(after);
    stop();
}

static void test_sha_mismatch(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 20000, &len);
    uint8_t wrong[32];
    memset(wrong, 0x42, sizeof wrong);
    assert_int_equal(result_of(begin_with((uint32_t)len, wrong, CHUNK)), R_OK);
    write_range(img, 0, (uint32_t)len);
    Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_END);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED);
    assert_non_null(strstr(r->message, "SHA-256"));
    done(r);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ACTIVATE)),
                     R_BAD_STATE);
    stop();
}

/* End's SHA-256 covers every byte of the declared size, also those after the image's
 * end (padding, a signature sector) that the image's own hash does not: the device
 * continues the engine's hash state at the image's end over them. */
static void test_sha_covers_bytes_after_the_image(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 20000, &len);
    enum { TAIL = 5000 };
    uint8_t *file = malloc(len + TAIL);
    memcpy(file, img, len);
    memset(file + len, 0x5A, TAIL);
    /* The whole file as sent: accepted. */
    assert_int_equal(result_of(begin(file, len + TAIL)), R_OK);
    write_range(file, 0, (uint32_t)(len + TAIL));
    Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_END);
    assert_int_equal(r->result, R_OK);
    assert_string_equal(r->end->app->version, "v2");
    done(r);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ABORT)), R_OK);
    /* Begin names a file whose last tail byte differs from what is sent: refused, though
     * the image itself verifies. */
    uint8_t sha[32];
    file[len + TAIL - 1] ^= 1;
    otk_sha256(file, len + TAIL, sha);
    file[len + TAIL - 1] ^= 1;
    assert_int_equal(result_of(begin_with((uint32_t)(len + TAIL), sha, CHUNK)), R_OK);
    write_range(file, 0, (uint32_t)(len + TAIL));
    r = simple(OTKCTRL__REQUEST__BODY_END);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED);
    assert_non_null(strstr(r->message, "SHA-256"));
    done(r);
    free(file);
    stop();
}

static Otkctrl__Response *end_with(const uint8_t *sha)
{
    Otkctrl__End e = OTKCTRL__END__INIT;
    e.sha256.data = (uint8_t *)sha;
    e.sha256.len = sha != NULL ? 32 : 0;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_END;
    q.end = &e;
    return call(&q);
}

/* Begin without a SHA-256: End must bring it, and End checks every byte against it. */
static void test_sha_with_end(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 30000, &len);
    uint8_t sha[32], wrong[32];
    otk_sha256(img, len, sha);
    memcpy(wrong, sha, sizeof wrong);
    wrong[31] ^= 1;
    assert_int_equal(result_of(begin_with((uint32_t)len, NULL, CHUNK)), R_OK);
    write_range(img, 0, (uint32_t)len);
    Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_END); /* no hash anywhere */
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    assert_non_null(strstr(r->message, "End must"));
    done(r);
    r = end_with(wrong);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED);
    assert_non_null(strstr(r->message, "not the host's image"));
    done(r);
    /* The session failed: Begin again starts over, and End with the right hash passes. */
    r = begin_with((uint32_t)len, NULL, CHUNK);
    assert_int_equal(r->result, R_OK);
    assert_int_equal(r->begin->next_offset, 0);
    done(r);
    write_range(img, 0, (uint32_t)len);
    r = end_with(sha);
    assert_int_equal(r->result, R_OK);
    assert_string_equal(r->end->app->version, "v2");
    done(r);
    r = end_with(wrong);
    assert_int_equal(r->result, R_OK); /* already verified: End repeats its answer */
    done(r);
    activate_and_reboot();
    assert_string_equal(running_version(), "v2");
    /* Begin names the hash: End may repeat it, not contradict it, nor send a bad one. */
    const uint8_t *img3 = hf_image("v3", 30000, &len);
    otk_sha256(img3, len, sha);
    assert_int_equal(result_of(begin_with((uint32_t)len, sha, CHUNK)), R_OK);
    write_range(img3, 0, (uint32_t)len);
    r = end_with(wrong);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    assert_non_null(strstr(r->message, "End names image"));
    done(r);
    Otkctrl__End short_end = OTKCTRL__END__INIT;
    short_end.sha256.data = sha;
    short_end.sha256.len = 5;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_END;
    q.end = &short_end;
    r = call(&q);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    done(r);
    assert_int_equal(result_of(end_with(sha)), R_OK); /* the session was not harmed */
    stop();
}

/* A Begin naming the hash continues a session whose hash was left to End, after a link
 * drop and after a power cut (the session file says "none"); bytes of another image in
 * it are found at End. */
static void test_named_begin_resumes_anonymous_session(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *src = hf_image("v3", 100000, &len);
    uint8_t *img = malloc(len);
    memcpy(img, src, len);
    uint8_t sha[32];
    otk_sha256(img, len, sha);
    assert_int_equal(result_of(begin_with((uint32_t)len, NULL, CHUNK)), R_OK);
    write_range(img, 0, 3 * CHUNK);
    otk_hosted_handler_link_down(&h, &peer);
    otk_hosted_peer_init(&peer, false);
    Otkctrl__Response *r = begin_with((uint32_t)len, sha, CHUNK);
    assert_int_equal(r->result, R_OK);
    assert_true(r->begin->resumed);
    assert_int_equal(r->begin->next_offset, 3 * CHUNK);
    done(r);
    write_range(img, 3 * CHUNK, 17 * CHUNK);
    otk_hosted_handler_link_down(&h, &peer); /* saves the session, with the named hash */
    power_cycle();
    r = begin_with((uint32_t)len, sha, CHUNK);
    assert_true(r->begin->resumed);
    assert_int_equal(r->begin->next_offset, 17 * CHUNK);
    done(r);
    write_range(img, 17 * CHUNK, (uint32_t)len);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_OK);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ABORT)), R_OK);

    /* An anonymous session cut by a power cut: its file says "none"; a named Begin for
     * an image of the same size whose bytes before the resume point differ (so the
     * resumed slot holds a mix, still a valid image by its own rules) resumes it, and End
     * refuses the mix by the named hash. */
    uint8_t *other = malloc(len);
    memcpy(other, img, len);
    other[5 * CHUNK] ^= 0x01;
    uint8_t other_sha[32];
    otk_sha256(other, len, other_sha);
    assert_int_equal(result_of(begin_with((uint32_t)len, NULL, CHUNK)), R_OK);
    write_range(img, 0, 17 * CHUNK);
    char path[600];
    snprintf(path, sizeof path, "%s.session", flash);
    size_t flen = 0;
    uint8_t *bytes = hf_flash_bytes(path, &flen);
    char text[2048] = {0};
    memcpy(text, bytes, flen < sizeof text - 1 ? flen : sizeof text - 1);
    free(bytes);
    assert_non_null(strstr(text, "sha256 = none"));
    power_cycle();
    r = begin_with((uint32_t)len, other_sha, CHUNK);
    assert_true(r->begin->resumed);
    assert_int_equal(r->begin->next_offset, 16 * CHUNK);
    done(r);
    write_range(other, 16 * CHUNK, (uint32_t)len);
    r = simple(OTKCTRL__REQUEST__BODY_END);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED);
    assert_non_null(strstr(r->message, "not the host's image"));
    done(r);
    /* The host starts over with the same named Begin: from byte 0. */
    r = begin_with((uint32_t)len, other_sha, CHUNK);
    assert_false(r->begin->resumed);
    assert_int_equal(r->begin->next_offset, 0);
    done(r);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ABORT)), R_OK);
    free(other);
    free(img);
    stop();
}

static void test_resume_after_link_drop(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 40000, &len);
    assert_int_equal(result_of(begin(img, len)), R_OK);
    write_range(img, 0, 3 * CHUNK);
    otk_hosted_handler_link_down(&h, &peer);
    otk_hosted_peer_init(&peer, false); /* the host's new link */
    assert_int_equal(result_of(write_at(3 * CHUNK, img + 3 * CHUNK, CHUNK)),
                     R_BAD_STATE);
    Otkctrl__Response *r = begin(img, len);
    assert_int_equal(r->result, R_OK);
    assert_true(r->begin->resumed);
    assert_int_equal(r->begin->next_offset, 3 * CHUNK); /* exactly: the handle stayed open */
    done(r);
    write_range(img, 3 * CHUNK, (uint32_t)len);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_OK);
    activate_and_reboot();
    assert_string_equal(running_version(), "v2");
    stop();
}

/* Power cut mid-transfer: the session file (saved every 64 KiB) survives; the session
 * resumes from the start of the sector holding its last saved byte, and the image that
 * results verifies and boots. */
static void test_resume_after_power_cut(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v3", 200000, &len);
    enum { ODD = 3000 }; /* a chunk that does not divide a sector */
    uint8_t sha[32];
    otk_sha256(img, len, sha);
    assert_int_equal(result_of(begin_with((uint32_t)len, sha, ODD)), R_OK);
    uint32_t off = 0;
    for (; off < 100000; off += ODD) {
        assert_int_equal(result_of(write_at(off, img + off, ODD)), R_OK);
    }
    power_cycle(); /* no link_down, no shutdown: what was saved is what there is */
    Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    assert_int_equal(r->status->session->state, OTKCTRL__SESSION_STATE__SESSION_SUSPENDED);
    assert_int_equal(r->status->session->received, 66000); /* 22 chunks: the first save */
    assert_int_equal(r->status->session->next_offset, 65536);
    done(r);
    r = begin_with((uint32_t)len, sha, ODD);
    assert_int_equal(r->result, R_OK);
    assert_true(r->begin->resumed);
    assert_int_equal(r->begin->next_offset, 65536);
    done(r);
    for (off = 65536; off < len; off += ODD) {
        uint32_t n = (uint32_t)len - off < ODD ? (uint32_t)len - off : ODD;
        assert_int_equal(result_of(write_at(off, img + off, n)), R_OK);
    }
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_OK);
    activate_and_reboot();
    assert_string_equal(running_version(), "v3");
    stop();
}

/* The session file is saved once 64 KiB and half a second have passed since the last
 * save: a fast link does not pay a file write every 64 KiB. */
static void test_session_saves_are_spaced(void **state)
{
    (void)state;
    start("");
    size_t len;
    const uint8_t *img = hf_image("v2", 200000, &len);
    char path[600];
    snprintf(path, sizeof path, "%s.session", flash);
    call_ms = 1; /* a fast link: 1 ms a request */
    assert_int_equal(result_of(begin(img, len)), R_OK);
    write_range(img, 0, 40 * CHUNK); /* 160 KiB in 40 ms */
    assert_false(hf_exists(path));
    now += OTK_HOSTED_SAVE_MIN_MS;
    write_range(img, 40 * CHUNK, 41 * CHUNK);
    assert_true(hf_exists(path));
    write_range(img, 41 * CHUNK, 45 * CHUNK);
    power_cycle();
    Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    assert_int_equal(r->status->session->received, 41 * CHUNK); /* the one save */
    done(r);
    call_ms = 50;
    stop();
}

/* A saved session that no longer fits the device is dropped at start; an unreadable file
 * too. */
static void test_stale_session_file(void **state)
{
    (void)state;
    start("");
    char path[600];
    snprintf(path, sizeof path, "%s.session", flash);
    FILE *f = fopen(path, "w");
    fprintf(f, "format = 1\nslot = factory\nimage_size = 5000\nchunk_size = 4096\nsha256 = "
               "%064d\nwritten = 4096\n", 0);
    fclose(f);
    power_cycle();
    assert_false(hf_exists(path));
    assert_int_equal(h.session.state, OTK_SESSION_NONE);
    f = fopen(path, "w");
    fprintf(f, "format = 1\nslot = ota_0\nwritten = lots\n");
    fclose(f);
    power_cycle();
    assert_false(hf_exists(path));
    stop();
}

static void test_replace_and_abort(void **state)
{
    (void)state;
    start("");
    size_t len2, len3;
    static uint8_t v2[0x10000];
    src_ = hf_image("v2", 20000, &len2);
    memcpy(v2, src_, len2);
    const uint8_t *v3 = hf_image("v3", 20000, &len3);
    assert_int_equal(result_of(begin(v2, len2)), R_OK);
    write_range(v2, 0, CHUNK);
    Otkctrl__Response *r = begin(v3, len3);
    assert_int_equal(r->result, R_OK);
    assert_true(r->begin->replaced);
    assert_int_equal(r->begin->next_offset, 0);
    done(r);
    write_range(v3, 0, 2 * CHUNK);
    otk_hosted_handler_link_down(&h, &peer);
    char path[600];
    snprintf(path, sizeof path, "%s.session", flash);
    assert_true(hf_exists(path));
    r = simple(OTKCTRL__REQUEST__BODY_ABORT);
    assert_int_equal(r->result, R_OK);
    assert_non_null(strstr(r->message, "dropped"));
    done(r);
    assert_false(hf_exists(path));
    r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    assert_int_equal(r->status->session->state, OTKCTRL__SESSION_STATE__SESSION_NONE);
    done(r);
    stop();
}

static void test_auth(void **state)
{
    (void)state;
    /* RFC 4231 test case 2: the HMAC is the standard one a Python host computes. */
    uint8_t mac[32];
    hosted_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    char hex[65];
    ts_hex(mac, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    start("");
    h.opts.token = "s3cret";
    otk_hosted_peer_init(&peer, true);
    size_t len;
    const uint8_t *img = hf_image("v2", 20000, &len);
    assert_int_equal(result_of(begin(img, len)), OTKCTRL__RESULT__RESULT_UNAUTHENTICATED);
    Otkctrl__Auth auth = OTKCTRL__AUTH__INIT;
    auth.mac.data = mac;
    auth.mac.len = sizeof mac;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_AUTH;
    q.auth = &auth;
    assert_int_equal(result_of(call(&q)), R_BAD_STATE); /* no Hello yet */
    Otkctrl__Hello hello = OTKCTRL__HELLO__INIT;
    Otkctrl__Request qh = OTKCTRL__REQUEST__INIT;
    qh.body_case = OTKCTRL__REQUEST__BODY_HELLO;
    qh.hello = &hello;
    Otkctrl__Response *r = call(&qh);
    assert_true(r->hello->auth_required);
    hosted_hmac_sha256("wrong", 5, r->hello->nonce.data, r->hello->nonce.len, mac);
    done(r);
    r = call(&q);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_UNAUTHENTICATED);
    assert_true(closed);
    done(r);
    assert_int_equal(h.link.auth_failures, 1);
    r = call(&qh);
    hosted_hmac_sha256("s3cret", 6, r->hello->nonce.data, r->hello->nonce.len, mac);
    done(r);
    assert_int_equal(result_of(call(&q)), R_OK);
    assert_false(closed);
    assert_int_equal(result_of(call(&q)), R_BAD_STATE); /* nonce used */
    assert_int_equal(result_of(begin(img, len)), R_OK);
    stop();
}

/* The app's own decisions: an update whose self-test never passes waits PENDING_VERIFY
 * (a Begin is refused until then), Confirm keeps it, Rollback reboots into the previous
 * app, Reboot reboots. */
static void test_confirm_rollback_reboot(void **state)
{
    (void)state;
    start("selftest = fail\n");
    size_t len;
    static uint8_t v2[0x10000];
    src_ = hf_image("v2", 20000, &len);
    memcpy(v2, src_, len);
    assert_int_equal(result_of(begin(v2, len)), R_OK);
    write_range(v2, 0, (uint32_t)len);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_END)), R_OK);
    activate_and_reboot();
    assert_string_equal(running_version(), "v2");
    Otkctrl__Response *r = begin(v2, len);
    assert_int_equal(r->result, R_BAD_STATE);
    assert_int_equal(r->esp_err, ESP_ERR_OTA_ROLLBACK_INVALID_STATE);
    done(r);
    r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    assert_string_equal(r->status->running_slot, "ota_0");
    assert_int_equal(r->status->slots[1]->state, OTKCTRL__SLOT_STATE__SLOT_STATE_PENDING_VERIFY);
    done(r);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_CONFIRM)), R_OK);
    r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    assert_int_equal(r->status->slots[1]->state, OTKCTRL__SLOT_STATE__SLOT_STATE_VALID);
    done(r);
    uint32_t ons = run.power_ons;
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ROLLBACK)), R_OK);
    /* Asked again while the reboot is pending: the same answer. */
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_ROLLBACK)), R_OK);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_CONFIRM)),
                     R_BAD_STATE);
    now += OTK_HOSTED_REBOOT_DELAY_MS;
    assert_true(otk_hosted_handler_tick(&h, now));
    assert_int_equal(run.power_ons, ons + 1);
    assert_string_equal(run.dev.running->label, "factory");
    r = simple(OTKCTRL__REQUEST__BODY_CONFIRM); /* the factory app has nothing to confirm */
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_FAILED);
    assert_non_null(strstr(r->message, "factory"));
    done(r);
    assert_int_equal(result_of(simple(OTKCTRL__REQUEST__BODY_REBOOT)), R_OK);
    uint64_t boot = h.boot_id;
    now += OTK_HOSTED_REBOOT_DELAY_MS;
    assert_true(otk_hosted_handler_tick(&h, now));
    assert_int_equal(run.power_ons, ons + 2);
    assert_true(h.boot_id != boot);
    stop();
}

static void test_status(void **state)
{
    (void)state;
    start("");
    Otkctrl__Response *r = simple(OTKCTRL__REQUEST__BODY_STATUS);
    Otkctrl__StatusReply *s = r->status;
    assert_string_equal(s->chip, "esp32c3");
    assert_string_equal(s->running_slot, "factory");
    assert_string_equal(s->running->version, "factory");
    assert_int_equal(s->n_slots, 3);
    assert_string_equal(s->slots[0]->label, "factory");
    assert_true(s->slots[0]->running);
    assert_true(s->slots[0]->boots_next);
    assert_string_equal(s->slots[1]->label, "ota_0");
    assert_null(s->slots[1]->app);
    assert_int_equal(s->power_ons, run.power_ons);
    assert_int_equal(s->session->state, OTKCTRL__SESSION_STATE__SESSION_NONE);
    done(r);
    stop();
}

static void test_bad_messages(void **state)
{
    (void)state;
    start("");
    static uint8_t out[OTK_FRAME_MAX_PAYLOAD];
    static const uint8_t junk[] = {0xFF, 0xFF, 0xFF, 0x01, 0x02};
    size_t m = otk_hosted_handle(&h, &peer, junk, sizeof junk, now, out, sizeof out, &closed);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, m, out);
    assert_int_equal(r->id, 0);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    done(r);
    assert_int_equal(h.link.bad_messages, 1);
    /* A request from a later protocol (field 99): understood as "unknown", not an error. */
    static const uint8_t later[] = {0x08, 0x05, 0x9A, 0x06, 0x00};
    m = otk_hosted_handle(&h, &peer, later, sizeof later, now, out, sizeof out, &closed);
    r = otkctrl__response__unpack(NULL, m, out);
    assert_int_equal(r->id, 5);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_UNSUPPORTED);
    done(r);
    /* The busy refusal carries the request's id. */
    static const uint8_t hello[] = {0x08, 0x09, 0x12, 0x00};
    m = otk_hosted_refuse_busy(&h, hello, sizeof hello, out, sizeof out);
    r = otkctrl__response__unpack(NULL, m, out);
    assert_int_equal(r->id, 9);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BUSY);
    done(r);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_sha_covers_bytes_after_the_image),
        cmocka_unit_test(test_sha_with_end),
        cmocka_unit_test(test_named_begin_resumes_anonymous_session),
        cmocka_unit_test(test_session_saves_are_spaced),
        cmocka_unit_test(test_full_update),
        cmocka_unit_test(test_idempotent_writes),
        cmocka_unit_test(test_first_chunk_refusals),
        cmocka_unit_test(test_anti_rollback_first_chunk),
        cmocka_unit_test(test_corrupt_image),
        cmocka_unit_test(test_sha_mismatch),
        cmocka_unit_test(test_resume_after_link_drop),
        cmocka_unit_test(test_resume_after_power_cut),
        cmocka_unit_test(test_stale_session_file),
        cmocka_unit_test(test_replace_and_abort),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_confirm_rollback_reboot),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_bad_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
