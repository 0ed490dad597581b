#define _DEFAULT_SOURCE
/* Row 3: an update over HTTP and over HTTPS from a local nginx, against `curl -o` of the
 * same file into the same directory (/dev/shm), target >= 0.9 of curl's rate.
 * Ours: otk_ota_pull, what `otakit ota FLASH URL` runs (the next slot of a device whose
 * flash is a file in /dev/shm, checkpoints beside it, begin -> download -> end ->
 * set_boot), timed in-process from the call to its return. The reference: curl's own
 * time_total (name lookup, connect, TLS, transfer, writing the file), so neither side
 * counts a program's start. Runs alternate; the rows give medians of wall time.
 * nginx is started by bench/http_server.sh with the HTTP tests' helpers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "otakit/device_run.h"
#include "otakit/log.h"
#include "otakit/ota_pull.h"

#ifndef OTAKIT_SOURCE_DIR
#define OTAKIT_SOURCE_DIR "."
#endif

#define IMAGE_LEN (4u * 1024u * 1024u)
#define FLASH_SIZE (16u * 1024u * 1024u)
#define REPS 9
#define SERVER_WAIT_S 20.0

extern char **environ;

static const char CSV[] = "nvs,data,nvs,,0x4000,\n"
                          "otadata,data,ota,,0x2000,\n"
                          "factory,app,factory,,1M,\n"
                          "ota_0,app,ota_0,,0x480000,\n"
                          "ota_1,app,ota_1,,0x480000,\n";

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_http: %s: %s\n", what, why);
    exit(1);
}

typedef struct {
    pid_t pid;
    int stdin_fd; /* closing it stops the server */
    int http_port, https_port;
    char dir[256];
} server_t;

static void server_start(server_t *s, const char *port_file)
{
    const char *src = getenv("OTAKIT_SOURCE");
    if (src == NULL) {
        src = OTAKIT_SOURCE_DIR;
    }
    char script[512];
    snprintf(script, sizeof script, "%s/bench/http_server.sh", src);
    int fds[2];
    if (pipe(fds) != 0) {
        die("pipe", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"/bin/bash", script, (char *)src, (char *)port_file, NULL};
    int err = posix_spawn(&s->pid, "/bin/bash", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (err != 0) {
        die("spawn http_server.sh", strerror(err));
    }
    s->stdin_fd = fds[1];
    double t0 = bench_now();
    for (;;) {
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            int n = fscanf(f, "%d %d %255s", &s->http_port, &s->https_port, s->dir);
            fclose(f);
            if (n == 3) {
                return;
            }
        }
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            die("http_server.sh", "exited before nginx was up");
        }
        if (bench_now() - t0 > SERVER_WAIT_S) {
            die("http_server.sh", "nginx not up in time");
        }
        struct timespec ms = {0, 20000000};
        nanosleep(&ms, NULL);
    }
}

static void server_stop(server_t *s)
{
    close(s->stdin_fd);
    int status;
    waitpid(s->pid, &status, 0);
}

/* curl -s -o OUT [--cacert CA] URL: its time_total in seconds. */
static double curl_once(const char *url, const char *ca, const char *out)
{
    int fds[2];
    if (pipe(fds) != 0) {
        die("pipe", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[12];
    int n = 0;
    argv[n++] = "curl";
    argv[n++] = "-s";
    argv[n++] = "-f";
    argv[n++] = "-o";
    argv[n++] = (char *)out;
    argv[n++] = "-w";
    argv[n++] = "%{time_total}";
    if (ca != NULL) {
        argv[n++] = "--cacert";
        argv[n++] = (char *)ca;
    }
    argv[n++] = (char *)url;
    argv[n] = NULL;
    pid_t pid;
    int err = posix_spawnp(&pid, "curl", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        die("spawn curl", strerror(err));
    }
    char buf[64] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) {
        got += (size_t)r;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        die("curl", url);
    }
    return strtod(buf, NULL);
}

/* otk_ota_pull into the next slot: seconds from the call to its return. */
static double ours_once(otk_device_run_t *run, const char *url, const char *ca)
{
    otk_ota_pull_opts_t o;
    otk_ota_pull_opts_init(&o);
    o.url = url;
    o.flash_path = run->flash_path;
    o.source.ca_file = ca;
    o.source.allow_http = ca == NULL;
    static otk_ota_pull_result_t r;
    double t0 = bench_now();
    esp_err_t err = otk_ota_pull(&run->dev, &o, &r);
    double t = bench_now() - t0;
    if (err != ESP_OK) {
        die(url, r.diag.msg);
    }
    return t;
}

static void measure(otk_device_run_t *run, const char *name, const char *url, const char *ca,
                    const char *curl_out, size_t len)
{
    double ours[REPS], ref[REPS];
    /* OTAKIT_BENCH_PROFILE=N: only ours, N times, no row (for perf record). */
    const char *profile = getenv("OTAKIT_BENCH_PROFILE");
    if (profile != NULL) {
        for (long i = strtol(profile, NULL, 10); i > 0; i--) {
            ours_once(run, url, ca);
        }
        return;
    }
    for (int i = 0; i < REPS; i++) {
        ours[i] = ours_once(run, url, ca);
        ref[i] = curl_once(url, ca, curl_out);
    }
    double t_ours = bench_median(ours, REPS), t_ref = bench_median(ref, REPS);
    double mb = (double)len / 1e6;
    char note[200];
    snprintf(note, sizeof note, "%zu-byte image from a local nginx, flash and curl's file in "
             "/dev/shm; otk_ota_pull (begin..set_boot, checkpoints) vs curl's time_total; "
             "median of %d", len, REPS);
    bench_row(name, "MB/s", mb / t_ours, mb / t_ref, t_ref / t_ours, 0.9, note);
}

int main(void)
{
    otk_log_set_level(OTK_LOG_NONE);
    signal(SIGPIPE, SIG_IGN);
    char path[] = "/dev/shm/otakit-bench-http-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp /dev/shm");
        return 1;
    }
    close(fd);
    otk_flash_destroy(bench_flash(CSV, FLASH_SIZE, path));
    char port_file[sizeof path + 16], curl_out[sizeof path + 16];
    snprintf(port_file, sizeof port_file, "%s.ports", path);
    snprintf(curl_out, sizeof curl_out, "%s.curl", path);

    server_t sv;
    server_start(&sv, port_file);
    size_t len;
    uint8_t *img = bench_image("2.0.0", IMAGE_LEN - 0x100, &len);
    char www[512], ca[512];
    snprintf(www, sizeof www, "%s/www/image.bin", sv.dir);
    snprintf(ca, sizeof ca, "%s/pki/ca.pem", sv.dir);
    FILE *f = fopen(www, "wb");
    if (f == NULL || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
        die(www, "cannot write the image");
    }

    static otk_device_run_t run;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_open(&run, path, NULL, &diag) != ESP_OK) {
        die("open", diag.msg);
    }
    run.store.config.rollback = false; /* updates one after the other, never confirmed */
    run.dev.config.rollback = false;
    if (otk_device_run_power_on(&run, OTK_SELFTEST_AUTO) != ESP_OK) {
        die("power on", "no boot");
    }
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/image.bin", sv.http_port);
    measure(&run, "HTTP update vs curl -o", url, NULL, curl_out, len);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/image.bin", sv.https_port);
    measure(&run, "HTTPS update vs curl -o", url, ca, curl_out, len);

    otk_device_run_close(&run);
    server_stop(&sv);
    static const char *const suffixes[] = {"", ".device", ".ports", ".curl",
                                           OTK_OTA_CHECKPOINT_SUFFIX};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[sizeof path + 32];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
    free(img);
    return 0;
}
