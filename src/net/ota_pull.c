/* otk_ota_pull: esp_https_ota's begin/perform/finish on a device whose flash is a file,
 * with its checkpoint kept in a file beside the flash. */
#include <stdlib.h>
#include <string.h>

#include "otakit/log.h"
#include "otakit/ota_pull.h"

#define TAG "ota_pull"
/* A path Linux accepts (PATH_MAX). */
#define PULL_PATH_MAX 4096u

typedef struct {
    const otk_ota_pull_opts_t *opts;
    char path[PULL_PATH_MAX]; /* the checkpoint file; "" when none */
    otk_https_ota_t *h;       /* the update under way, for progress totals */
} pull_ctx_t;

void otk_ota_pull_opts_init(otk_ota_pull_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    otk_source_opts_init(&opts->source);
}

static void on_checkpoint(void *ctx, const otk_https_ota_checkpoint_t *cp)
{
    pull_ctx_t *p = ctx;
    if (p->path[0] == '\0') {
        return;
    }
    if (cp == NULL) {
        otk_ota_checkpoint_remove(p->path);
        return;
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    if (otk_ota_checkpoint_save(p->path, cp, &why) != ESP_OK) {
        /* The update goes on; only a power cut from here on costs more download. */
        OTK_LOGW(TAG, "checkpoint not saved: %s", why.msg);
    }
}

static void on_event(void *ctx, otk_https_ota_event_t event, const void *data, size_t len)
{
    pull_ctx_t *p = ctx;
    if (event == OTK_HTTPS_OTA_WRITE_FLASH && p->opts->progress != NULL && len == sizeof(int)) {
        int done;
        memcpy(&done, data, sizeof done);
        p->opts->progress(p->opts->progress_ctx, (uint32_t)done,
                          p->h != NULL ? otk_https_ota_get_image_size(p->h) : -1);
    }
}

static esp_err_t attempt(otk_device_t *dev, pull_ctx_t *p,
                         const otk_https_ota_checkpoint_t *resume, otk_ota_pull_result_t *res)
{
    const otk_ota_pull_opts_t *o = p->opts;
    otk_https_ota_config_t cfg;
    otk_https_ota_config_init(&cfg);
    cfg.url = o->url;
    cfg.source = o->source;
    cfg.bulk_flash_erase = o->bulk_flash_erase;
    cfg.resume_from = resume;
    cfg.on_checkpoint = on_checkpoint;
    cfg.checkpoint_ctx = p;
    cfg.checkpoint_every = o->checkpoint_every;
    cfg.on_event = on_event;
    cfg.event_ctx = p;
    cfg.diag = &res->diag;
    res->step = "begin";
    esp_err_t err = otk_https_ota_begin(dev, &cfg, &p->h);
    if (err != ESP_OK) {
        return err;
    }
    res->step = "download";
    do {
        err = otk_https_ota_perform(p->h);
    } while (err == ESP_ERR_HTTPS_OTA_IN_PROGRESS);
    otk_https_ota_get_report(p->h, &res->report);
    res->partition = res->report.staging;
    int len = otk_https_ota_get_image_len_read(p->h);
    res->image_len = len > 0 ? (uint32_t)len : 0;
    if (err != ESP_OK) {
        otk_https_ota_abort(p->h);
        p->h = NULL;
        return err;
    }
    res->step = "finish";
    err = otk_https_ota_finish(p->h);
    p->h = NULL;
    return err;
}

/* The checkpoint beside the flash, if there is one this update can use. */
static otk_https_ota_checkpoint_t *load_checkpoint(pull_ctx_t *p, otk_ota_pull_result_t *res)
{
    if (p->path[0] == '\0') {
        return NULL;
    }
    otk_https_ota_checkpoint_t *cp = malloc(sizeof *cp);
    if (cp == NULL) {
        return NULL;
    }
    bool exists = false;
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err = otk_ota_checkpoint_load(p->path, cp, &exists, &why);
    res->checkpoint_found = exists;
    if (err != ESP_OK) {
        OTK_LOGW(TAG, "%s: starting from 0", why.msg);
        res->checkpoint_refused = true;
        otk_ota_checkpoint_remove(p->path);
    }
    if (err != ESP_OK || !exists) {
        free(cp);
        return NULL;
    }
    return cp;
}

esp_err_t otk_ota_pull(otk_device_t *dev, const otk_ota_pull_opts_t *opts,
                       otk_ota_pull_result_t *res)
{
    memset(res, 0, sizeof *res);
    if (dev == NULL || opts == NULL || opts->url == NULL) {
        res->step = "begin";
        otk_diag_set(&res->diag, "otk_ota_pull: no device or URL");
        res->err = ESP_ERR_INVALID_ARG;
        return res->err;
    }
    pull_ctx_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        res->err = ESP_ERR_NO_MEM;
        return res->err;
    }
    p->opts = opts;
    if (opts->flash_path != NULL &&
        !otk_ota_checkpoint_path(opts->flash_path, p->path, sizeof p->path)) {
        p->path[0] = '\0';
    }
    otk_https_ota_checkpoint_t *cp = load_checkpoint(p, res);
    esp_err_t err = attempt(dev, p, cp, res);
    if (err == ESP_ERR_OTA_VALIDATE_FAILED && res->report.resumed_from > 0 &&
        strcmp(res->step, "finish") == 0) {
        /* The downloaded bytes were fine but the part kept on flash was not: once more from
         * the start (the checkpoint is already forgotten). */
        OTK_LOGW(TAG, "%s: downloading again from the start", res->diag.msg);
        otk_https_ota_report_t first = res->report;
        err = attempt(dev, p, NULL, res);
        res->report.restarts += first.restarts + 1;
    }
    if (err == ESP_OK) {
        otk_diag_clear(&res->diag);
    }
    free(cp);
    free(p);
    res->err = err;
    return err;
}
