#define _DEFAULT_SOURCE
/* The control path's throughput (docs/protocol.md): `otakit push` to a device serving a
 * transport, measured against references taken in the same run.
 *   - Unix socket, 4 KiB chunks, window 8, in CPU time (host and device together, so a
 *     loaded machine does not skew it): against the work no protocol can skip, i.e. the
 *     local engine installing the same image (otk_ota_begin..end, sequential writes) plus
 *     the checksums this protocol asks for (CRC-32 of each frame and of each write's data,
 *     on both ends: four passes; the SHA-256 of the image on the host). Everything else
 *     (protobuf, framing, copies, syscalls) may cost at most as much again (target 0.5).
 *   - Unix socket, ESP-Hosted's shape (4000-byte chunks, one request in flight) against the
 *     pipelined push, in wall time. A local socket has no latency for the window to hide
 *     (the push is CPU-bound there), so the row only guards that the window costs nothing
 *     (target 0.9); its gain shows on links with latency.
 *   - a pty at 921600 baud: against the UART's own limit, 92,160 bytes/s (target >= 0.85).
 * The device's server runs in a thread of this program on a flash file in /dev/shm. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "otakit/crc32.h"
#include "otakit/crypto.h"
#include "otakit/hosted.h"
#include "otakit/log.h"
#include "otakit/ota.h"

#define IMAGE_LEN (2u * 1024u * 1024u)
#define UART_IMAGE_LEN (256u * 1024u)
#define FLASH_SIZE (16u * 1024u * 1024u)
#define REPS 5
#define UART_BAUD 921600u

static const char CSV[] = "nvs,data,nvs,,0x4000,\n"
                          "otadata,data,ota,,0x2000,\n"
                          "factory,app,factory,,1M,\n"
                          "ota_0,app,ota_0,,0x480000,\n"
                          "ota_1,app,ota_1,,0x480000,\n";

typedef struct {
    otk_device_run_t run;
    otk_hosted_serve_opts_t so;
    volatile sig_atomic_t stop;
    volatile int ready;
    char where[OTK_LINK_URI_MAX];
    pthread_t thread;
} server_t;

static server_t sv;

/* CPU seconds of this process (all its threads: the client and the device's server). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The checksums the protocol requires over the image's bytes. */
static double checksums_cpu(const uint8_t *img, size_t len)
{
    double t0 = cpu_now();
    uint32_t acc = 0;
    for (int pass = 0; pass < 4; pass++) {
        for (size_t off = 0; off < len; off += OTK_HOSTED_DEFAULT_CHUNK) {
            size_t n = len - off < OTK_HOSTED_DEFAULT_CHUNK ? len - off : OTK_HOSTED_DEFAULT_CHUNK;
            acc ^= otk_crc32_update(0, img + off, n);
        }
    }
    uint8_t digest[OTK_SHA256_LEN];
    otk_sha256(img, len, digest);
    if (acc == 0 && digest[0] == 0) {
        fprintf(stderr, "(unlikely)\n"); /* keeps the work observable */
    }
    return cpu_now() - t0;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_push: %s: %s\n", what, why);
    exit(1);
}

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

static void start(const char *flash_path, const char *uri)
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

static void stop(void)
{
    sv.stop = 1;
    pthread_join(sv.thread, NULL);
    otk_device_run_close(&sv.run);
}

/* One push (verified, not activated), then the session dropped: seconds of transfer;
 * *cpu (may be NULL) gets the CPU seconds of the whole push. */
static double push_once(const uint8_t *img, size_t len, uint32_t chunk, uint32_t window,
                        double *cpu)
{
    double c0 = cpu_now();
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
    if (otk_hosted_push(c, img, len, &po, &r, &diag) != OTK_HOSTED_OK) {
        die("push", diag.msg);
    }
    if (cpu != NULL) {
        *cpu = cpu_now() - c0;
    }
    otk_hosted_abort(c, &diag);
    otk_hosted_client_free(c);
    return r.transfer_s;
}

/* The same image through the local engine on the same device (between pushes: the
 * server's loop is idle, and the engine is not thread-safe, so it runs while the server
 * is stopped). */
static double local_once(const uint8_t *img, size_t len)
{
    otk_device_t *dev = &sv.run.dev;
    const esp_partition_t *p = otk_ota_get_next_update_partition(dev, NULL);
    double t0 = cpu_now();
    esp_ota_handle_t h;
    if (otk_ota_begin(dev, p, OTA_WITH_SEQUENTIAL_WRITES, &h) != ESP_OK) {
        die("local", "begin");
    }
    for (size_t off = 0; off < len; off += OTK_HOSTED_DEFAULT_CHUNK) {
        size_t n = len - off < OTK_HOSTED_DEFAULT_CHUNK ? len - off : OTK_HOSTED_DEFAULT_CHUNK;
        if (otk_ota_write(dev, h, img + off, n) != ESP_OK) {
            die("local", "write");
        }
    }
    if (otk_ota_end(dev, h) != ESP_OK) {
        die("local", "end");
    }
    return cpu_now() - t0;
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
    char sock[128];
    snprintf(sock, sizeof sock, "unix:%s.sock", path);

    double piped[REPS], single[REPS], piped_cpu[REPS], floor_cpu[REPS];
    for (int i = 0; i < REPS; i++) {
        start(path, sock);
        piped[i] = push_once(img, len, OTK_HOSTED_DEFAULT_CHUNK, OTK_HOSTED_WINDOW, &piped_cpu[i]);
        single[i] = push_once(img, len, 4000, 1, NULL);
        stop();
        otk_device_run_open(&sv.run, path, NULL, NULL);
        sv.run.dev.config.rollback = false;
        otk_device_run_power_on(&sv.run, OTK_SELFTEST_AUTO);
        floor_cpu[i] = local_once(img, len) + checksums_cpu(img, len);
        otk_device_run_close(&sv.run);
    }
    double mb = (double)len / (1024.0 * 1024.0);
    double wall = mb / bench_median(piped, REPS), s = mb / bench_median(single, REPS);
    double ours = mb / bench_median(piped_cpu, REPS), ref = mb / bench_median(floor_cpu, REPS);
    char note[200];
    snprintf(note, sizeof note, "MiB per CPU-second, host + device; %.0f KiB image, 4 KiB "
             "chunks, window %u; wall %.1f MiB/s", (double)len / 1024.0, OTK_HOSTED_WINDOW,
             wall);
    bench_row("push_unix_cpu_vs_required_work", "MiB/cpu-s", ours, ref, ours / ref, 0.5, note);
    bench_row("push_unix_window_vs_one_in_flight", "MiB/s", wall, s, wall / s, 0.9,
              "window 8 x 4096 B vs ESP-Hosted's shape (4000 B, one request in flight)");

    char pty[32];
    snprintf(pty, sizeof pty, "pty?baud=%u", UART_BAUD);
    start(path, pty);
    double t = push_once(uimg, ulen, OTK_HOSTED_DEFAULT_CHUNK, OTK_HOSTED_WINDOW, NULL);
    stop();
    double limit = UART_BAUD / 10.0 / 1024.0;
    double got = (double)ulen / 1024.0 / t;
    bench_row("push_pty_921600", "KiB/s", got, limit, got / limit, 0.85,
              "a pty rate-limited to 921600 baud (8N1) vs the UART's own limit");
    /* The flash and what the device keeps beside it. */
    static const char *const suffixes[] = {"", ".device", ".session", ".sock"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[sizeof path + 16];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
    free(img);
    free(uimg);
    return 0;
}
