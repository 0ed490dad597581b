#define _POSIX_C_SOURCE 200809L
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otakit/image.h"
#include "otakit/partition.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_row(const char *name, const char *unit, double ours, double reference,
               double ratio, double target, const char *note)
{
    const char *path = getenv("OTAKIT_BENCH_ROWS");
    FILE *out = path != NULL ? fopen(path, "a") : stdout;
    if (out == NULL) {
        perror(path);
        exit(1);
    }
    fprintf(out,
            "{\"name\":\"%s\",\"unit\":\"%s\",\"ours\":%.6g,\"reference\":%.6g,"
            "\"ratio\":%.4f,\"target\":%.2f,\"met\":%s,\"note\":\"%s\"}\n",
            name, unit, ours, reference, ratio, target, ratio >= target ? "true" : "false",
            note);
    if (out != stdout) {
        fclose(out);
    }
    fprintf(stderr, "%-44s ours %12.4g  ref %12.4g %-6s ratio %6.2f (target %.2f) %s\n", name,
            ours, reference, unit, ratio, target, ratio >= target ? "met" : "MISSED");
}

static void die(const char *what, esp_err_t err, const otk_diag_t *diag)
{
    fprintf(stderr, "bench: %s: %s %s\n", what, esp_err_to_name(err), diag ? diag->msg : "");
    exit(1);
}

otk_flash_t *bench_flash(const char *csv, uint32_t flash_size, const char *path)
{
    otk_flash_t *flash;
    esp_err_t err = path != NULL ? otk_flash_file_create(path, flash_size, &flash)
                                 : otk_flash_mem_create(flash_size, &flash);
    if (err != ESP_OK) {
        die("flash", err, NULL);
    }
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    opts.flash_size = flash_size;
    static otk_partition_table_t table;
    otk_diag_t diag;
    err = otk_partition_csv_compile(csv, strlen(csv), &opts, &table, NULL, &diag);
    if (err == ESP_OK) {
        err = otk_partition_table_write(flash, opts.table_offset, &table, true, &diag);
    }
    if (err != ESP_OK) {
        die("partition table", err, &diag);
    }
    otk_partition_table_set_flash(&table, flash);
    const esp_partition_t *factory = otk_partition_find_first(
        &table, ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_FACTORY, NULL);
    size_t len;
    uint8_t *img = bench_image("factory", 8192, &len);
    err = otk_partition_erase_range(factory, 0, (len + 0xFFF) & ~(size_t)0xFFF);
    if (err == ESP_OK) {
        err = otk_partition_write(factory, 0, img, len);
    }
    free(img);
    if (err != ESP_OK) {
        die("factory image", err, NULL);
    }
    return flash;
}

uint8_t *bench_image(const char *version, size_t len, size_t *out_len)
{
    const otk_image_chip_t *chip = otk_image_chip_by_id(ESP_CHIP_ID_ESP32);
    size_t half = len / 2;
    uint8_t *payload = malloc(half);
    uint8_t *code = malloc(half);
    for (size_t i = 0; i < half; i++) {
        payload[i] = (uint8_t)(i * 31u + 7u);
        code[i] = (uint8_t)(i * 17u + 3u);
    }
    otk_image_app_fields_t app = {.project_name = "bench", .version = version,
                                  .idf_ver = "otakit-bench", .date = "Jan  1 2026",
                                  .time = "00:00:00"};
    otk_image_segment_src_t irom = {.load_addr = chip->irom_start + 0x20, .data = code,
                                    .len = (uint32_t)(half & ~(size_t)3)};
    otk_image_build_opts_t opts;
    otk_image_build_opts_init(&opts, ESP_CHIP_ID_ESP32);
    opts.app = &app;
    opts.payload = payload;
    opts.payload_len = (uint32_t)half;
    opts.segments = &irom;
    opts.segment_count = 1;
    size_t cap = len + 0x30000;
    uint8_t *out = malloc(cap);
    otk_diag_t diag;
    esp_err_t err = otk_image_build(&opts, out, cap, out_len, &diag);
    free(payload);
    free(code);
    if (err != ESP_OK) {
        die("image build", err, &diag);
    }
    return out;
}

void bench_tool_path(const char *name, char *out, size_t cap)
{
    const char *build = getenv("OTAKIT_BUILD");
    if (build != NULL) {
        snprintf(out, cap, "%s/%s", build, name);
        return;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, cap, "%s", name);
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL) {
        *slash = '\0'; /* BUILD/bench */
    }
    snprintf(out, cap, "%s/../%s", self, name);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
