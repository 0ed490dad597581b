#define _DEFAULT_SOURCE
/* Row 6: memory.
 *   - RAM of the core's OTA state, from sizeof. One handle (an otk_ota_entry_t, which
 *     carries the streaming verifier), the whole handle pool, and a device. ESP-IDF's
 *     figure for the same job: its heap entry (about 60 bytes) plus esp_https_ota's 1 KiB
 *     work buffer, and no verifier state (it re-reads the slot instead); reported for
 *     reference, with no target.
 *   - Peak RSS of the otakit-device program while it receives a 4 MiB push over a Unix
 *     socket (VmHWM from /proc/PID/status right after the push), against a stated budget
 *     of 32 MiB. The flash file is mapped into the process, so the pages of it the push
 *     touches (the slot written, the table, otadata) count in its RSS: the note splits the
 *     end state into anonymous memory and the mapped flash. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "otakit/boot.h"
#include "otakit/device.h"
#include "otakit/hosted.h"
#include "otakit/log.h"

/* ESP-IDF's ota_ops_entry_t on a 32-bit chip: pointers, flags, sizes and a 16-byte buffer. */
#define IDF_HANDLE_BYTES 60.0
#define IDF_WORK_BUFFER 1024.0

#define IMAGE_LEN (4u * 1024u * 1024u)
#define FLASH_SIZE (16u * 1024u * 1024u)
#define RSS_BUDGET_KIB (32.0 * 1024.0)
#define START_WAIT_S 10.0

extern char **environ;

static const char CSV[] = "nvs,data,nvs,,0x4000,\n"
                          "otadata,data,ota,,0x2000,\n"
                          "factory,app,factory,,1M,\n"
                          "ota_0,app,ota_0,,0x480000,\n"
                          "ota_1,app,ota_1,,0x480000,\n";

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_memory: %s: %s\n", what, why);
    exit(1);
}

static void handle_ram(void)
{
    char note[200];
    snprintf(note, sizeof note, "pool of %d: %zu bytes; otk_device_t %zu; otk_boot_result_t %zu",
             OTK_DEVICE_MAX_HANDLES, sizeof(otk_ota_entry_t) * OTK_DEVICE_MAX_HANDLES,
             sizeof(otk_device_t), sizeof(otk_boot_result_t));
    double ours = (double)sizeof(otk_ota_entry_t);
    double ref = IDF_HANDLE_BYTES + IDF_WORK_BUFFER;
    bench_row("RAM of one OTA handle (host build)", "bytes", ours, ref, ref / ours, 0.0, note);
}

/* A "Key:   123 kB" line of /proc/PID/status, in KiB (-1 when missing). */
static long status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void device_rss(void)
{
    char path[] = "/dev/shm/otakit-bench-mem-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        die("mkstemp /dev/shm", strerror(errno));
    }
    close(fd);
    otk_flash_destroy(bench_flash(CSV, FLASH_SIZE, path));
    char sock[sizeof path + 8], uri[sizeof sock + 8], device[4096];
    snprintf(sock, sizeof sock, "%s.sock", path);
    snprintf(uri, sizeof uri, "unix:%s", sock);
    bench_tool_path("otakit-device", device, sizeof device);

    /* Its stdin a pipe we hold (it never reads the terminal's). */
    int in[2];
    if (pipe(in) != 0) {
        die("pipe", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {device, "--flash", path, "--listen", uri, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, device, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    if (err != 0) {
        die(device, strerror(err));
    }
    double t0 = bench_now();
    struct stat st;
    while (stat(sock, &st) != 0) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            die(device, "exited before listening");
        }
        if (bench_now() - t0 > START_WAIT_S) {
            die(device, "not listening in time");
        }
        struct timespec ms = {0, 10000000};
        nanosleep(&ms, NULL);
    }
    long before_kib = status_kib(pid, "VmHWM");

    size_t len;
    uint8_t *img = bench_image("2.0.0", IMAGE_LEN - 0x100, &len);
    otk_hosted_client_t *c = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_hosted_client_new(uri, NULL, &c, &diag) != OTK_HOSTED_OK) {
        die("client", diag.msg);
    }
    otk_hosted_push_opts_t po;
    otk_hosted_push_opts_init(&po);
    po.activate = false;
    otk_hosted_push_result_t r;
    if (otk_hosted_push(c, img, len, &po, &r, &diag) != OTK_HOSTED_OK) {
        die("push", diag.msg);
    }
    long hwm_kib = status_kib(pid, "VmHWM");
    long anon_kib = status_kib(pid, "RssAnon");
    long file_kib = status_kib(pid, "RssFile");
    long shmem_kib = status_kib(pid, "RssShmem");
    otk_hosted_abort(c, &diag);
    otk_hosted_client_free(c);
    close(in[1]);
    kill(pid, SIGTERM); /* a listening device powers off on SIGTERM */
    int status;
    waitpid(pid, &status, 0);
    if (hwm_kib < 0) {
        die("/proc status", "no VmHWM");
    }

    char note[320];
    snprintf(note, sizeof note, "otakit-device receiving a %zu-byte push over a Unix socket "
             "(flash file %u MiB in /dev/shm, mapped): peak before the push %ld KiB; after "
             "it RssAnon %ld KiB, RssShmem %ld KiB (the mapped flash), RssFile %ld KiB; "
             "budget 32 MiB", len, FLASH_SIZE >> 20, before_kib, anon_kib, shmem_kib,
             file_kib);
    bench_row("peak RSS of otakit-device during a push", "MiB", (double)hwm_kib / 1024.0,
              RSS_BUDGET_KIB / 1024.0, RSS_BUDGET_KIB / (double)hwm_kib, 1.0, note);
    static const char *const suffixes[] = {"", ".device", ".session", ".sock"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[sizeof path + 16];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
    free(img);
}

int main(void)
{
    otk_log_set_level(OTK_LOG_NONE);
    handle_ram();
    device_rss();
    return 0;
}
