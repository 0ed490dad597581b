#define _DEFAULT_SOURCE
/* Row 4: the control path's push (docs/protocol.md), `otakit push`'s library call, to a
 * device serving a transport from a thread of this program, its flash a file in /dev/shm.
 * Each push sends the image verified, not activated, and is timed in wall time from the
 * call to its return (the host's SHA-256 of the image, Begin, the writes, End). Against
 * references taken in the same run:
 *   - a pty limited to 921600 baud: the raw rate of the same link, a plain writer (the
 *     host's link, 4 KiB writes through the same rate limit) and a plain reader on the
 *     device's end (target >= 0.9);
 *   - a Unix socket: the lower of the raw rate of the same link (a plain writer and reader
 *     over the same kind of socket) and the local update rate (row 1's measure: the image
 *     installed through the engine in 4 KiB chunks, begin -> set_boot, on the same flash),
 *     since on a fast link the device's hashing and flash are the bottleneck (target
 *     >= 0.8);
 *   - both links: ESP-Hosted's stop-and-wait (4000-byte chunks, one request in flight,
 *     our client in that mode) on the same link: target >= 2x on the Unix socket, the
 *     ratio reported on the pty;
 *   - the Unix socket again with the device's flash in real time (each flash operation
 *     blocks the device for its modelled time, as a chip would): window vs stop-and-wait,
 *     what ESP-Hosted's round trip after each chunk's flash write really costs. The pty
 *     runs have the device's flash in real time too.
 * Unix-socket figures are medians of REPS alternating runs; the others run once each
 * (their time is the UART's or the flash's, steady). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "otakit/hosted.h"
#include "otakit/log.h"
#include "otakit/ota.h"

#define IMAGE_LEN (4u * 1024u * 1024u)
#define UART_IMAGE_LEN (256u * 1024u)
#define FLASH_SIZE (16u * 1024u * 1024u)
#define REPS 5
#define UART_BAUD 921600u
#define RAW_CHUNK 4096u
#define IDF_CHUNK 4000u /* ESP-Hosted's OTA write size */
#define LINK_TIMEOUT_MS 10000

static const char CSV[] = "nvs,data,nvs,,0x4000,\n"
                          "otadata,data,ota,,0x2000,\n"
                          "factory,app,factory,,1M,\n"
                          "ota_0,app,ota_0,,0x480000,\n"
                          "ota_1,app,ota_1,,0x480000,\n";

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_push: %s: %s\n", what, why);
    exit(1);
}

/* ---- the device, serving from a thread ------------------------------------------------ */

typedef struct {
    otk_device_run_t run;
    otk_hosted_serve_opts_t so;
    volatile sig_atomic_t stop;
    volatile int ready;
    char where[OTK_LINK_URI_MAX];
    pthread_t thread;
} server_t;

static server_t sv;

static void on_listening(void *ctx, const char *where)
{
    (void)ctx;
    snprintf(sv.where, sizeof sv.where, "%s", where);
    __atomic_store_n(&sv.ready, 1, __ATOMIC_SEQ_CST);
}

static void *serve(void *arg)
{
    (void)arg;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_hosted_serve(&sv.run, &sv.so, &diag) != ESP_OK) {
        die("serve", diag.msg);
    }
    return NULL;
}

static void open_device(const char *flash_path)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_open(&sv.run, flash_path, NULL, &diag) != ESP_OK) {
        die("open", diag.msg);
    }
    sv.run.store.config.rollback = false; /* updates one after the other, no confirming */
    sv.run.dev.config.rollback = false;
    if (otk_device_run_power_on(&sv.run, OTK_SELFTEST_AUTO) != ESP_OK) {
        die("power on", "no boot");
    }
}

/* The device's flash in real time: each physical operation blocks the device for its
 * modelled duration (W25Q128JV typical: 0.4 ms a page, 150 ms a 64 KiB block erase, reads
 * at 10 MB/s), as a chip would. Sleeps are taken once a millisecond of debt has built up. */
typedef struct {
    otk_flash_t *flash;
    double busy_until;
} realtime_t;

static realtime_t rt;

static void realtime_op(void *ctx, otk_flash_op_t op, uint32_t addr, uint32_t len,
                        esp_err_t result)
{
    (void)addr;
    (void)result;
    realtime_t *r = ctx;
    const otk_flash_timing_t *t = &r->flash->timing;
    double us = op == OTK_FLASH_OP_PROGRAM_PAGE   ? t->page_program_us
                : op == OTK_FLASH_OP_ERASE_BLOCK  ? t->block_erase_us
                : op == OTK_FLASH_OP_ERASE_SECTOR ? t->sector_erase_us
                                                  : (double)len * 1e6 / t->read_bytes_per_sec;
    double now = bench_now();
    r->busy_until = (r->busy_until > now ? r->busy_until : now) + us / 1e6;
    double debt = r->busy_until - now;
    if (debt >= 1e-3) {
        struct timespec ts = {(time_t)debt, (long)((debt - (double)(time_t)debt) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void start(const char *flash_path, const char *uri, bool realtime)
{
    open_device(flash_path);
    if (realtime) {
        rt.flash = sv.run.flash;
        rt.busy_until = 0;
        otk_flash_set_trace(sv.run.flash, realtime_op, &rt);
    }
    otk_hosted_serve_opts_init(&sv.so);
    sv.so.uri = uri;
    sv.so.on_listening = on_listening;
    sv.so.stop = &sv.stop;
    sv.stop = 0;
    sv.ready = 0;
    pthread_create(&sv.thread, NULL, serve, NULL);
    while (__atomic_load_n(&sv.ready, __ATOMIC_SEQ_CST) == 0) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

/* CPU seconds the device's server thread has used so far. */
static double device_cpu(void)
{
    clockid_t id;
    struct timespec ts;
    if (pthread_getcpuclockid(sv.thread, &id) != 0 || clock_gettime(id, &ts) != 0) {
        die("device cpu", "pthread_getcpuclockid");
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stop(void)
{
    sv.stop = 1;
    pthread_join(sv.thread, NULL);
    otk_device_run_close(&sv.run);
}

/* One push (verified, not activated), then the session dropped: wall seconds of the
 * push call. */
/* The CPU seconds of the last push_once, the host's (this thread) and the device's, and of
 * the last local_once. */
static double last_host_cpu, last_device_cpu, last_local_cpu;

static double push_once(const uint8_t *img, size_t len, uint32_t chunk, uint32_t window)
{
    otk_hosted_client_t *c = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_hosted_client_new(sv.where, NULL, &c, &diag) != OTK_HOSTED_OK) {
        die("client", diag.msg);
    }
    otk_hosted_push_opts_t po;
    otk_hosted_push_opts_init(&po);
    po.chunk = chunk;
    po.window = window;
    po.activate = false;
    otk_hosted_push_result_t r;
    double h0 = bench_thread_cpu(), d0 = device_cpu();
    double t0 = bench_now();
    if (otk_hosted_push(c, img, len, &po, &r, &diag) != OTK_HOSTED_OK) {
        die("push", diag.msg);
    }
    double t = bench_now() - t0;
    last_host_cpu = bench_thread_cpu() - h0;
    last_device_cpu = device_cpu() - d0;
    otk_hosted_abort(c, &diag);
    otk_hosted_client_free(c);
    return t;
}

/* Row 1's measure on this device (the server stopped: the engine is not thread-safe):
 * begin with the image size, 4 KiB writes, end, set_boot. Wall seconds. */
static double local_once(const char *flash_path, const uint8_t *img, size_t len)
{
    open_device(flash_path);
    otk_device_t *dev = &sv.run.dev;
    const esp_partition_t *p = otk_ota_get_next_update_partition(dev, NULL);
    double c0 = bench_thread_cpu();
    double t0 = bench_now();
    esp_ota_handle_t h;
    if (otk_ota_begin(dev, p, len, &h) != ESP_OK) {
        die("local", "begin");
    }
    for (size_t off = 0; off < len; off += RAW_CHUNK) {
        size_t n = len - off < RAW_CHUNK ? len - off : RAW_CHUNK;
        if (otk_ota_write(dev, h, img + off, n) != ESP_OK) {
            die("local", "write");
        }
    }
    if (otk_ota_end(dev, h) != ESP_OK || otk_ota_set_boot_partition(dev, p) != ESP_OK) {
        die("local", "end");
    }
    double t = bench_now() - t0;
    last_local_cpu = bench_thread_cpu() - c0;
    otk_device_run_close(&sv.run);
    return t;
}

/* ---- the raw link: a plain writer and a plain reader ---------------------------------- */

typedef struct {
    otk_listener_t *listener;
    size_t want;
    double done_at; /* when the last byte arrived */
} reader_t;

static void *raw_reader(void *arg)
{
    reader_t *r = arg;
    int fd = otk_listener_fd(r->listener);
    if (otk_listener_accepts(r->listener)) {
        struct pollfd pl = {fd, POLLIN, 0};
        if (poll(&pl, 1, LINK_TIMEOUT_MS) != 1) {
            die("raw link", "no connection");
        }
        fd = otk_listener_accept(r->listener, NULL, 0);
        if (fd < 0) {
            die("raw link", "accept");
        }
    }
    static uint8_t buf[65536];
    size_t got = 0;
    while (got < r->want) {
        struct pollfd pl = {fd, POLLIN, 0};
        if (poll(&pl, 1, LINK_TIMEOUT_MS) != 1) {
            die("raw link", "the writer stalled");
        }
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            die("raw link", "read");
        }
        got += (size_t)n;
    }
    r->done_at = bench_now();
    if (otk_listener_accepts(r->listener)) {
        close(fd);
    }
    return NULL;
}

/* len bytes written in RAW_CHUNK pieces through the host's link to a plain reader on the
 * device's end of the same transport: seconds from the first write to the last byte read. */
static double raw_once(const char *uri_text, const uint8_t *img, size_t len)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    otk_link_uri_t uri;
    reader_t r = {NULL, len, 0};
    if (otk_link_uri_parse(uri_text, &uri, &diag) != ESP_OK ||
        otk_listener_open(&uri, &r.listener, &diag) != ESP_OK) {
        die(uri_text, diag.msg);
    }
    otk_link_uri_t host;
    otk_link_t *link = NULL;
    if (otk_link_uri_parse(otk_listener_where(r.listener), &host, &diag) != ESP_OK ||
        otk_link_open(&host, &link, &diag) != ESP_OK) {
        die(otk_listener_where(r.listener), diag.msg);
    }
    pthread_t th;
    pthread_create(&th, NULL, raw_reader, &r);
    double t0 = bench_now();
    for (size_t off = 0; off < len; off += RAW_CHUNK) {
        size_t n = len - off < RAW_CHUNK ? len - off : RAW_CHUNK;
        if (otk_link_write(link, img + off, n, LINK_TIMEOUT_MS) != 0) {
            die("raw link", "write");
        }
    }
    pthread_join(th, NULL);
    otk_link_close(link);
    otk_listener_close(r.listener);
    return r.done_at - t0;
}

int main(void)
{
    otk_log_set_level(OTK_LOG_NONE);
    char path[] = "/dev/shm/otakit-bench-push-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp /dev/shm");
        return 1;
    }
    close(fd);
    otk_flash_destroy(bench_flash(CSV, FLASH_SIZE, path));
    size_t len, ulen;
    uint8_t *img = bench_image("2.0.0", IMAGE_LEN - 0x100, &len);
    uint8_t *uimg = bench_image("3.0.0", UART_IMAGE_LEN - 0x100, &ulen);
    size_t rlen = ulen;
    const uint8_t *rimg = uimg;
    char sock[128], raw_sock[128];
    snprintf(sock, sizeof sock, "unix:%s.sock", path);
    snprintf(raw_sock, sizeof raw_sock, "unix:%s.raw", path);
    char note[320];

    /* OTAKIT_BENCH_PROFILE=N: only our windowed push on the Unix socket, N times, no rows
     * (for perf record). */
    const char *profile = getenv("OTAKIT_BENCH_PROFILE");
    if (profile != NULL) {
        start(path, sock, false);
        for (long i = strtol(profile, NULL, 10); i > 0; i--) {
            push_once(img, len, 0, OTK_HOSTED_WINDOW);
        }
        stop();
        unlink(path);
        return 0;
    }

    /* Unix socket. */
    double piped[REPS], single[REPS], raw[REPS], local[REPS];
    double host_cpu[REPS], dev_cpu[REPS], local_cpu[REPS];
    for (int i = 0; i < REPS; i++) {
        start(path, sock, false);
        piped[i] = push_once(img, len, 0, OTK_HOSTED_WINDOW); /* the socket default */
        host_cpu[i] = last_host_cpu;
        dev_cpu[i] = last_device_cpu;
        single[i] = push_once(img, len, IDF_CHUNK, 1);
        stop();
        raw[i] = raw_once(raw_sock, img, len);
        local[i] = local_once(path, img, len);
        local_cpu[i] = last_local_cpu;
    }
    double mb = (double)len / 1e6;
    double t_push = bench_median(piped, REPS), t_single = bench_median(single, REPS);
    double t_raw = bench_median(raw, REPS), t_local = bench_median(local, REPS);
    double t_ref = t_raw > t_local ? t_raw : t_local; /* the lower rate */
    snprintf(note, sizeof note, "%zu-byte image, %u-byte chunks (a socket's default), window %u; "
             "raw socket %.0f MB/s, "
             "local update %.0f MB/s (the lower is the reference); median of %d, wall time",
             len, OTK_HOSTED_SOCKET_CHUNK, OTK_HOSTED_WINDOW, mb / t_raw, mb / t_local, REPS);
    bench_row("push over a Unix socket vs min(raw socket, local update)", "MB/s", mb / t_push,
              mb / t_ref, t_ref / t_push, 0.8, note);
    snprintf(note, sizeof note, "%zu-byte image; window %u x %u B vs ESP-Hosted's "
             "stop-and-wait (4000 B, one request in flight), same socket, same client; "
             "median of %d", len, OTK_HOSTED_WINDOW, OTK_HOSTED_SOCKET_CHUNK, REPS);
    bench_row("push over a Unix socket vs stop-and-wait", "MB/s", mb / t_push, mb / t_single,
              t_single / t_push, 2.0, note);
    /* Where the push's time goes: host and device share this machine's cores, while a
     * real host is another computer. The device's CPU time against the local update's is
     * what a device with its own core would see. */
    double c_host = bench_median(host_cpu, REPS), c_dev = bench_median(dev_cpu, REPS);
    double c_local = bench_median(local_cpu, REPS);
    snprintf(note, sizeof note, "CPU time per push, median of %d: device %.2f ms, host %.2f ms "
             "(hashing, framing, the socket's copies), local update %.2f ms; wall %.2f ms",
             REPS, c_dev * 1e3, c_host * 1e3, c_local * 1e3, t_push * 1e3);
    bench_row("push over a Unix socket, device CPU vs local update CPU", "MB/s", mb / c_dev,
              mb / c_local, c_local / c_dev, 0.0, note);

    /* The same socket, the device's flash in real time: the link is no longer the cost,
     * the device's writes are; stop-and-wait adds a round trip to each. */
    start(path, sock, true);
    uint64_t model0 = sv.run.flash->elapsed_us;
    double tw = push_once(rimg, rlen, 0, OTK_HOSTED_WINDOW);
    double rt_model_s = (double)(sv.run.flash->elapsed_us - model0) / 1e6;
    double tsw = push_once(rimg, rlen, IDF_CHUNK, 1);
    stop();
    snprintf(note, sizeof note, "%zu-byte image; the device's flash operations block it for "
             "their W25Q128JV typical time (modelled %.2f s of flash work); window %u x %u B "
             "vs stop-and-wait 4000 B", rlen, rt_model_s, OTK_HOSTED_WINDOW,
             OTK_HOSTED_SOCKET_CHUNK);
    bench_row("push, device flash in real time: window vs stop-and-wait", "kB/s",
              (double)rlen / 1e3 / tw, (double)rlen / 1e3 / tsw, tsw / tw, 0.0, note);

    /* A pty at 921600 baud. */
    char pty[32];
    snprintf(pty, sizeof pty, "pty?baud=%u", UART_BAUD);
    start(path, pty, true);
    double tp = push_once(uimg, ulen, OTK_HOSTED_DEFAULT_CHUNK, OTK_HOSTED_WINDOW);
    double ts = push_once(uimg, ulen, IDF_CHUNK, 1);
    stop();
    double tr = raw_once(pty, uimg, ulen);
    double kb = (double)ulen / 1e3;
    snprintf(note, sizeof note, "%zu-byte image, window %u, the device's flash in real time; "
             "raw: a plain writer and reader on the same rate-limited pty (the UART's 8N1 "
             "limit is %.1f kB/s)", ulen, OTK_HOSTED_WINDOW, UART_BAUD / 10.0 / 1e3);
    bench_row("push over a pty at 921600 baud vs the raw link", "kB/s", kb / tp, kb / tr,
              tr / tp, 0.9, note);
    snprintf(note, sizeof note, "%zu-byte image, the device's flash in real time; window %u x "
             "4096 B vs stop-and-wait 4000 B on the same pty; reported, no target", ulen,
             OTK_HOSTED_WINDOW);
    bench_row("push over a pty vs stop-and-wait", "kB/s", kb / tp, kb / ts, ts / tp, 0.0, note);

    /* The flash and what the device keeps beside it. */
    static const char *const suffixes[] = {"", ".device", ".session", ".sock", ".raw"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[sizeof path + 16];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
    free(img);
    free(uimg);
    return 0;
}
