/* The control path end to end in one process: the device's server in a thread on a real
 * transport (Unix socket, TCP, a pty at 921600 baud), the host's client and push in the
 * test. The link dropped at every point of a transfer, bit errors, garbage, duplicated and
 * reordered frames: every push completes with the device holding exactly the image. A
 * second host is told busy; TCP refuses a missing or wrong token; a wrong image is
 * refused with the flash untouched. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hosted_fixture.h"
#include "otakit/hosted.h"
#include "otakit/log.h"
#include "test_support.h"

typedef struct {
    otk_device_run_t run;
    otk_hosted_serve_opts_t so;
    volatile sig_atomic_t stop;
    volatile int ready;
    char where[OTK_LINK_URI_MAX];
    char uri[OTK_LINK_URI_MAX];
    esp_err_t err;
    pthread_t thread;
    const char *flash;
} device_t;

static device_t dev; /* ~50 KiB */

static void on_listening(void *ctx, const char *where)
{
    device_t *d = ctx;
    snprintf(d->where, sizeof d->where, "%s", where);
    __atomic_store_n(&d->ready, 1, __ATOMIC_SEQ_CST);
}

static void *serve_main(void *arg)
{
    device_t *d = arg;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    d->err = otk_hosted_serve(&d->run, &d->so, &diag);
    if (d->err != ESP_OK) {
        fprintf(stderr, "serve: %s\n", diag.msg);
        __atomic_store_n(&d->ready, -1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* A device serving uri ("unix", "tcp", "pty?baud=921600": the address is made here). */
static const char *start_device(const char *kind, const char *token)
{
    memset(&dev, 0, sizeof dev);
    dev.flash = hf_make_device("");
    hf_open(&dev.run, dev.flash, NULL);
    if (strcmp(kind, "unix") == 0) {
        snprintf(dev.uri, sizeof dev.uri, "unix:%s/d.sock", hf_dir());
    } else if (strcmp(kind, "tcp") == 0) {
        snprintf(dev.uri, sizeof dev.uri, "tcp://127.0.0.1:0");
    } else {
        snprintf(dev.uri, sizeof dev.uri, "%s", kind);
    }
    otk_hosted_serve_opts_init(&dev.so);
    dev.so.uri = dev.uri;
    dev.so.handler.token = token;
    dev.so.on_listening = on_listening;
    dev.so.ctx = &dev;
    dev.so.stop = &dev.stop;
    assert_int_equal(pthread_create(&dev.thread, NULL, serve_main, &dev), 0);
    while (__atomic_load_n(&dev.ready, __ATOMIC_SEQ_CST) == 0) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(dev.ready, 1);
    return dev.where;
}

static void stop_device(void)
{
    dev.stop = 1;
    pthread_join(dev.thread, NULL);
    assert_int_equal(dev.err, ESP_OK);
    otk_device_run_close(&dev.run);
    ts_cleanup_dir(hf_dir());
}

static otk_hosted_client_t *client(const char *where, const char *token,
                                   const otk_link_fault_spec_t *fault)
{
    otk_hosted_client_opts_t co;
    otk_hosted_client_opts_init(&co);
    co.token = token;
    co.fault = fault;
    co.timeout_ms = 1000;
    otk_hosted_client_t *c = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_client_new(where, &co, &c, &diag), OTK_HOSTED_OK);
    return c;
}

/* The chunk push() uses: 0, the default, unless a test sets it. */
static uint32_t push_chunk;

/* Push img; with activate, it must then run. Returns the result (static). */
static otk_hosted_push_result_t *push(otk_hosted_client_t *c, const uint8_t *img, size_t len,
                                      bool activate, otk_hosted_err_t want)
{
    static otk_hosted_push_result_t r;
    otk_hosted_push_opts_t po;
    otk_hosted_push_opts_init(&po);
    po.activate = activate;
    po.chunk = push_chunk;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    otk_hosted_err_t err = otk_hosted_push(c, img, len, &po, &r, &diag);
    if (err != want) {
        fail_msg("push: %s (%s), wanted %s", otk_hosted_err_name(err), diag.msg,
                 otk_hosted_err_name(want));
    }
    if (err == OTK_HOSTED_OK && activate) {
        assert_true(r.runs_image);
        assert_string_equal(r.running_slot, r.slot);
    }
    return &r;
}

/* The device holds img verified in the session's slot (status over the link); then the
 * session is dropped for the next round, and the link closed (one host at a time). */
static void assert_holds_then_abort(otk_hosted_client_t *c, const uint8_t *img, size_t len)
{
    static otk_hosted_status_t st;
    otk_diag_t diag;
    assert_int_equal(otk_hosted_status(c, &st, &diag), OTK_HOSTED_OK);
    assert_int_equal(st.session.state, OTK_SESSION_VERIFIED);
    assert_int_equal(st.session.image_size, len);
    uint8_t sha[32];
    otk_sha256(img, len, sha);
    assert_memory_equal(st.session.sha256, sha, 32);
    assert_int_equal(otk_hosted_abort(c, &diag), OTK_HOSTED_OK);
    otk_hosted_disconnect(c);
}

static void test_push_unix(void **state)
{
    (void)state;
    const char *where = start_device("unix", NULL);
    size_t len;
    const uint8_t *img = hf_image("v2", 200000, &len);
    otk_hosted_client_t *c = client(where, NULL, NULL);
    otk_hosted_push_result_t *r = push(c, img, len, true, OTK_HOSTED_OK);
    assert_string_equal(r->slot, "ota_0");
    assert_string_equal(r->image.version, "v2");
    assert_string_equal(r->running.version, "v2");
    assert_int_equal(r->running_state, OTK_HOSTED_SLOT_VALID);
    assert_int_equal(r->bytes_sent, len); /* a clean link: every byte once */
    assert_int_equal(r->timeouts + r->rewinds, 0);
    assert_string_equal(dev.run.dev.running->label, "ota_0");
    otk_hosted_client_free(c);
    stop_device();
}

static void test_push_tcp_token(void **state)
{
    (void)state;
    const char *where = start_device("tcp", "s3cret");
    assert_non_null(strstr(where, "tcp://127.0.0.1:"));
    size_t len;
    const uint8_t *img = hf_image("v2", 30000, &len);
    unsetenv("OTAKIT_TOKEN");
    otk_hosted_client_t *c = client(where, NULL, NULL);
    push(c, img, len, false, OTK_HOSTED_UNAUTHENTICATED);
    otk_hosted_client_free(c);
    c = client(where, "wrong", NULL);
    push(c, img, len, false, OTK_HOSTED_UNAUTHENTICATED);
    otk_hosted_client_free(c);
    c = client(where, "s3cret", NULL);
    push(c, img, len, true, OTK_HOSTED_OK);
    static otk_hosted_status_t st;
    otk_diag_t diag;
    assert_int_equal(otk_hosted_status(c, &st, &diag), OTK_HOSTED_OK);
    assert_int_equal(st.link.auth_failures, 1);
    otk_hosted_client_free(c);
    stop_device();
}

static void test_push_pty_uart(void **state)
{
    (void)state;
    const char *where = start_device("pty?baud=921600", NULL);
    assert_non_null(strstr(where, "serial:/dev/"));
    assert_non_null(strstr(where, "?baud=921600"));
    size_t len;
    const uint8_t *img = hf_image("v2", 60000, &len);
    otk_hosted_client_t *c = client(where, NULL, NULL);
    otk_hosted_push_result_t *r = push(c, img, len, true, OTK_HOSTED_OK);
    /* The UART model: no faster than 92,160 bytes/s. */
    assert_true(r->transfer_s >= (double)len / 92160.0 * 0.9);
    otk_hosted_client_free(c);
    stop_device();
}

/* The link drops after exactly N bytes, for N all through a transfer (the Hello, the
 * Begin, the writes, the End): every push completes, holding the image. */
static void test_drop_sweep(void **state)
{
    (void)state;
    const char *where = start_device("unix", NULL);
    size_t len;
    static uint8_t img[0x10000];
    const uint8_t *src = hf_image("v2", 30000, &len);
    memcpy(img, src, len);
    otk_hosted_client_t *plain = client(where, NULL, NULL);
    unsigned points = 0;
    for (uint32_t at = 1; at < len + 2000; at += at < 400 ? 23 : 701) {
        otk_link_fault_spec_t f;
        memset(&f, 0, sizeof f);
        f.drop_at = at;
        otk_hosted_client_t *c = client(where, NULL, &f);
        otk_hosted_push_result_t *r = push(c, img, len, false, OTK_HOSTED_OK);
        if (at < len) { /* the transfer alone is longer: the drop happened */
            assert_int_equal(otk_hosted_fault_stats(c)->drops, 1);
            assert_true(r->connects >= 1);
        }
        otk_hosted_client_free(c);
        assert_holds_then_abort(plain, img, len);
        points++;
    }
    assert_true(points > 50);
    otk_hosted_client_free(plain);
    stop_device();
}

/* Bit errors both ways, garbage, duplicated and reordered frames, drops: seeded. */
static void test_fault_mix(void **state)
{
    (void)state;
    const char *where = start_device("unix", NULL);
    otk_hosted_client_t *plain = client(where, NULL, NULL);
    for (uint64_t seed = 1; seed <= 6; seed++) {
        size_t len;
        static uint8_t img[0x40000];
        char version[8];
        snprintf(version, sizeof version, "v%u", (unsigned)seed);
        const uint8_t *src = hf_image(version, 100000, &len);
        memcpy(img, src, len);
        otk_link_fault_spec_t f;
        memset(&f, 0, sizeof f);
        f.seed = seed;
        f.flip = 0.03;
        f.rx_flip = 0.05;
        f.garbage = 0.05;
        f.dup = 0.05;
        f.reorder = 0.05;
        f.drop = seed % 2 == 0 ? 40000 : 0;
        otk_hosted_client_t *c = client(where, NULL, &f);
        bool last = seed == 6;
        push_chunk = 4096; /* faults strike per frame: 25 frames, not 7, meet them */
        push(c, img, len, last, OTK_HOSTED_OK);
        push_chunk = 0;
        const otk_link_fault_stats_t *fs = otk_hosted_fault_stats(c);
        assert_true(fs->flips + fs->garbage + fs->dups + fs->reorders > 0);
        otk_hosted_client_free(c);
        if (!last) {
            assert_holds_then_abort(plain, img, len);
        }
    }
    /* What the device's end saw: damaged frames dropped and counted, never written. */
    static otk_hosted_status_t st;
    otk_diag_t diag;
    otk_hosted_disconnect(plain);
    assert_int_equal(otk_hosted_status(plain, &st, &diag), OTK_HOSTED_OK);
    assert_true(st.link.frames_dropped > 0);
    assert_true(st.link.bytes_discarded > 0);
    assert_string_equal(st.running.version, "v6");
    otk_hosted_client_free(plain);
    stop_device();
}

static void test_busy(void **state)
{
    (void)state;
    const char *where = start_device("unix", NULL);
    size_t len;
    const uint8_t *img = hf_image("v2", 30000, &len);
    otk_hosted_client_t *a = client(where, NULL, NULL);
    otk_diag_t diag;
    assert_int_equal(otk_hosted_connect(a, &diag), OTK_HOSTED_OK); /* a holds the device */
    otk_hosted_client_t *b = client(where, NULL, NULL);
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_connect(b, &diag), OTK_HOSTED_BUSY);
    assert_non_null(strstr(diag.msg, "another host"));
    push(b, img, len, false, OTK_HOSTED_BUSY);
    otk_hosted_disconnect(a);
    push(b, img, len, true, OTK_HOSTED_OK);
    otk_hosted_disconnect(b);
    static otk_hosted_status_t st;
    assert_int_equal(otk_hosted_status(a, &st, &diag), OTK_HOSTED_OK);
    assert_true(st.link.busy_refusals >= 2);
    otk_hosted_client_free(a);
    otk_hosted_client_free(b);
    stop_device();
}

/* While the push's link is down, another host continues its session (whose hash was left
 * to End) by naming the same hash, and writes one chunk that is not the image's. The push
 * comes back, resumes after that chunk, the device refuses the mix, and the push starts
 * over from byte 0 once, on its own. */
typedef struct {
    const char *where;
    const uint8_t *img;
    size_t len;
    bool done;
    unsigned restarts; /* "restart" events seen */
} intruder_t;

static void intrude(void *ctx, const otk_hosted_progress_t *ev)
{
    intruder_t *in = ctx;
    in->restarts += strcmp(ev->event, "restart") == 0;
    if (in->done || strcmp(ev->event, "reconnect") != 0) {
        return;
    }
    in->done = true;
    otk_hosted_client_t *other = client(in->where, NULL, NULL);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    uint8_t sha[32];
    otk_sha256(in->img, in->len, sha);
    otk_hosted_begin_t b;
    assert_int_equal(otk_hosted_begin(other, (uint32_t)in->len, sha, 4096, &b, &diag),
                     OTK_HOSTED_OK);
    assert_true(b.resumed);
    uint8_t chunk[4096];
    uint32_t n = (uint32_t)in->len - b.next_offset < sizeof chunk
                     ? (uint32_t)in->len - b.next_offset : (uint32_t)sizeof chunk;
    memcpy(chunk, in->img + b.next_offset, n);
    chunk[0] ^= 0x01;
    assert_int_equal(otk_hosted_write(other, b.next_offset, chunk, n, NULL, &diag),
                     OTK_HOSTED_OK);
    otk_hosted_client_free(other);
}

static void test_push_starts_over_after_foreign_bytes(void **state)
{
    (void)state;
    const char *where = start_device("unix", NULL);
    size_t len;
    const uint8_t *img = hf_image("v2", 100000, &len);
    intruder_t in = {where, img, len, false, 0};
    otk_link_fault_spec_t f;
    memset(&f, 0, sizeof f);
    f.seed = 3;
    f.drop = 60000; /* every link drops after 1..60000 bytes */
    otk_hosted_client_t *c = client(where, NULL, &f);
    otk_hosted_push_opts_t po;
    otk_hosted_push_opts_init(&po);
    po.chunk = 4096;
    po.retries = 20;
    po.progress = intrude;
    po.ctx = &in;
    otk_hosted_push_result_t r;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_push(c, img, len, &po, &r, &diag), OTK_HOSTED_OK);
    assert_true(in.done);
    assert_int_equal(in.restarts, 1); /* refused once, then from byte 0 */
    assert_true(r.bytes_sent > len);
    assert_true(r.runs_image);
    assert_string_equal(r.running.version, "v2");
    uint8_t sha[32];
    otk_sha256(img, len, sha);
    assert_memory_equal(r.sha256, sha, sizeof sha);
    otk_hosted_client_free(c);
    stop_device();
}

static void test_wrong_image(void **state)
{
    (void)state;
    const char *where = start_device("unix", NULL);
    size_t len, n0, n1;
    const uint8_t *img = hf_image_for(ESP_CHIP_ID_ESP32S3, "v2", 0, 30000, &len);
    uint8_t *before = hf_flash_bytes(dev.flash, &n0);
    otk_hosted_client_t *c = client(where, NULL, NULL);
    otk_hosted_push_opts_t po;
    otk_hosted_push_opts_init(&po);
    otk_hosted_push_result_t r;
    otk_diag_t diag;
    assert_int_equal(otk_hosted_push(c, img, len, &po, &r, &diag), OTK_HOSTED_IMAGE_REJECTED);
    assert_non_null(strstr(diag.msg, "ESP32-S3"));
    assert_false(r.activated);
    assert_int_equal(otk_hosted_last_esp_err(c), ESP_ERR_INVALID_VERSION);
    uint8_t *after = hf_flash_bytes(dev.flash, &n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    otk_hosted_client_free(c);
    stop_device();
}

int main(void)
{
    otk_log_set_level(OTK_LOG_NONE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_unix),
        cmocka_unit_test(test_push_tcp_token),
        cmocka_unit_test(test_push_pty_uart),
        cmocka_unit_test(test_drop_sweep),
        cmocka_unit_test(test_fault_mix),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_wrong_image),
        cmocka_unit_test(test_push_starts_over_after_foreign_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
