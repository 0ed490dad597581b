/* `otakit ota FLASH URL`: the running app downloads its update with esp_https_ota
 * (otakit/ota_pull.h: the next OTA slot, checkpoints beside the flash, resume after a
 * power cut). cmd_ota.c keeps the rest (power-on, summary, JSON). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_ota_url.h"
#include "otakit/ota.h"
#include "otakit/ota_pull.h"

#define PROGRESS_WIDTH 30
#define KIB 1024u
#define MS_PER_S 1000.0
/* --timeout bounds: below 0.1 s nothing real answers, above an hour it is not a timeout. */
#define TIMEOUT_MIN_S 0.1
#define TIMEOUT_MAX_S 3600.0

bool ota_url_parse_timeout(const char *text, uint32_t *ms)
{
    char *end = NULL;
    double s = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(s) || s < TIMEOUT_MIN_S || s > TIMEOUT_MAX_S) {
        return false;
    }
    *ms = (uint32_t)(s * MS_PER_S + 0.5);
    return true;
}

typedef struct {
    const char *label;
} progress_ctx_t;

static void progress(void *ctx, uint32_t done, int64_t total)
{
    const progress_ctx_t *p = ctx;
    if (total <= 0) {
        fprintf(stderr, "\r%s %u KiB", p->label, (unsigned)((done + KIB - 1) / KIB));
        return;
    }
    uint64_t t = (uint64_t)total;
    unsigned fill = (unsigned)((uint64_t)done * PROGRESS_WIDTH / t);
    char bar[PROGRESS_WIDTH + 1];
    memset(bar, '#', fill);
    memset(bar + fill, '.', PROGRESS_WIDTH - fill);
    bar[PROGRESS_WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %3u%% %u/%u KiB", p->label, bar,
            (unsigned)((uint64_t)done * 100u / t), (unsigned)((done + KIB - 1) / KIB),
            (unsigned)((t + KIB - 1) / KIB));
}

static const char *step_name(const char *step)
{
    if (strcmp(step, "begin") == 0) {
        return "esp_https_ota_begin";
    }
    return strcmp(step, "download") == 0 ? "esp_https_ota_perform" : "esp_https_ota_finish";
}

static void notes(const otk_ota_pull_result_t *r, const char *flash_path)
{
    if (r->checkpoint_refused) {
        fprintf(stderr, "note: %s%s was not usable: the download started from 0\n", flash_path,
                OTK_OTA_CHECKPOINT_SUFFIX);
    }
    if (r->report.resumed_from > 0) {
        fprintf(stderr, "note: resumed an interrupted download at byte %u (checkpoint "
                "%s%s)\n", (unsigned)r->report.resumed_from, flash_path,
                OTK_OTA_CHECKPOINT_SUFFIX);
    } else if (r->checkpoint_found && !r->checkpoint_refused) {
        fprintf(stderr, "note: the checkpoint of an interrupted download was not used (another "
                "URL or slot, a changed file, or a server without ranges): the download "
                "started from 0\n");
    }
    if (r->report.source.reconnects > 0) {
        fprintf(stderr, "note: the connection broke %u time(s); each was continued with a "
                "range request\n", r->report.source.reconnects);
    }
    if (r->report.restarts > 0) {
        fprintf(stderr, "note: the download started over from byte 0 %u time(s) (the server "
                "changed the file or ignored a range)\n", r->report.restarts);
    }
}

esp_err_t ota_url_update(otk_device_run_t *run, const char *url, const ota_url_opts_t *uo,
                         bool tty, bool quiet, const char **step, char *reason, size_t cap,
                         uint32_t *size)
{
    otk_ota_pull_opts_t o;
    otk_ota_pull_opts_init(&o);
    o.url = url;
    o.flash_path = run->flash_path;
    o.source.ca_file = uo->ca_file;
    o.source.allow_http = uo->allow_http;
    if (uo->timeout_ms != 0) {
        o.source.connect_timeout_ms = uo->timeout_ms;
        o.source.stall_timeout_ms = uo->timeout_ms;
    }
    const esp_partition_t *next = otk_ota_get_next_update_partition(&run->dev, NULL);
    progress_ctx_t pc = {.label = next != NULL ? next->label : "download"};
    if (tty) {
        o.progress = progress;
        o.progress_ctx = &pc;
    }
    static otk_ota_pull_result_t r; /* holds a report and a diag: not on the stack */
    esp_err_t err = otk_ota_pull(&run->dev, &o, &r);
    if (tty && r.image_len > 0) {
        fputc('\n', stderr);
    }
    if (!quiet) {
        notes(&r, run->flash_path);
    }
    *size = r.image_len;
    if (err != ESP_OK) {
        *step = step_name(r.step);
        snprintf(reason, cap, "%s", r.diag.msg[0] != '\0' ? r.diag.msg : esp_err_to_name(err));
    }
    return err;
}
