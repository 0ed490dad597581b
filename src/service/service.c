/* The runner: ADF's ota_service task on a list of nodes. Per node: prepare ->
 * need_upgrade -> execute_upgrade while each succeeds, finished_check always, then the
 * node's status from those results (a declined node is SKIPPED, never SUCCESS), its
 * RESULT event, and break_after_fail. After the list: FINISH, with the reboot the
 * successful nodes ask for left to the caller. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/log.h"
#include "otakit/ota.h"
#include "service/service_internal.h"

static const char *const reason_names[] = {
    "SUCCESS",           "NULL_POINTER",       "URL_PARSE_FAIL",       "ERROR_VERSION",
    "NO_HIGHER_VERSION", "ERROR_MAGIC_WORD",   "ERROR_PROJECT_NAME",   "FILE_NOT_FOUND",
    "PARTITION_NOT_FOUND", "PARTITION_WT_FAIL", "PARTITION_RD_FAIL",   "STREAM_INIT_FAIL",
    "STREAM_RD_FAIL",    "GET_NEW_APP_DESC_FAIL",
};
static const char *const own_reason_names[] = {
    "SHA256_MISMATCH", "SIZE_MISMATCH", "IMAGE_TOO_LARGE", "IMAGE_INVALID",
    "POWER_LOST",      "NOT_RUN",       "INVALID_STATE",
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *otk_service_reason_name(otk_service_reason_t reason)
{
    if (reason == OTK_SERVICE_ERR_REASON_SUCCESS) {
        return reason_names[0];
    }
    if (reason == OTK_SERVICE_ERR_REASON_UNKNOWN) {
        return "UNKNOWN";
    }
    long i = (long)reason - OTK_SERVICE_ERR_REASON_BASE;
    if (i >= 1 && i < (long)COUNT(reason_names)) {
        return reason_names[i];
    }
    i = (long)reason - OTK_SERVICE_ERR_REASON_SHA256_MISMATCH;
    return i >= 0 && i < (long)COUNT(own_reason_names) ? own_reason_names[i] : "?";
}

const char *otk_service_status_name(otk_service_status_t status)
{
    static const char *const names[] = {"success", "skipped", "failed", "not_run"};
    return (unsigned)status < COUNT(names) ? names[status] : "?";
}

const char *otk_service_event_name(otk_service_event_type_t type)
{
    static const char *const names[] = {"recover", "start",    "node_begin", "version",
                                        "progress", "result",  "finish"};
    return (unsigned)type < COUNT(names) ? names[type] : "?";
}

void otk_service_config_init(otk_service_config_t *cfg, otk_device_t *dev)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->dev = dev;
    otk_source_opts_init(&cfg->source);
}

/* ---- helpers for steps -------------------------------------------------------------------- */

void svc_emit(svc_t *svc, otk_service_event_type_t type, size_t index,
              const otk_service_node_t *node, const otk_service_node_result_t *result,
              uint64_t done, int64_t total)
{
    if (svc->cfg->on_event == NULL) {
        return;
    }
    otk_service_event_t ev = {
        .type = type,
        .index = index,
        .count = svc->report->count,
        .node = node,
        .result = result,
        .done = done,
        .total = total,
        .report = type == OTK_SERVICE_EV_FINISH ? svc->report : NULL,
    };
    svc->cfg->on_event(svc->cfg->event_ctx, &ev);
}

static void vmessage(otk_service_node_result_t *r, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vmessage(otk_service_node_result_t *r, const char *fmt, va_list ap)
{
    vsnprintf(r->message, sizeof r->message, fmt, ap);
}

otk_service_reason_t job_reason(otk_service_job_t *job, otk_service_reason_t reason,
                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(job->result, fmt, ap);
    va_end(ap);
    return reason;
}

otk_service_reason_t job_flash_fail(otk_service_job_t *job, esp_err_t err,
                                    otk_service_reason_t reason, const char *what)
{
    if (!otk_flash_is_powered(job->svc->cfg->dev->flash)) {
        job->svc->power_lost = true;
        return job_reason(job, OTK_SERVICE_ERR_REASON_POWER_LOST, "power lost while %s", what);
    }
    return job_reason(job, reason, "%s: %s", what, esp_err_to_name(err));
}

bool svc_save(svc_t *svc)
{
    if (svc->cfg->state_path == NULL || svc->power_lost) {
        return svc->cfg->state_path == NULL;
    }
    otk_diag_clear(&svc->state_diag);
    svc->state_err = otk_service_state_save(svc->cfg->state_path, &svc->state, &svc->state_diag);
    return svc->state_err == ESP_OK;
}

otk_service_record_t *svc_record(svc_t *svc, const char *label)
{
    otk_service_record_t *r = otk_service_state_record(&svc->state, label);
    if (r == NULL && svc->state.record_count < OTK_SERVICE_MAX_RECORDS) {
        r = &svc->state.records[svc->state.record_count++];
        memset(r, 0, sizeof *r);
        snprintf(r->label, sizeof r->label, "%s", label);
    }
    return r;
}

const otk_service_node_t *otk_service_job_node(const otk_service_job_t *job)
{
    return job->node;
}

size_t otk_service_job_index(const otk_service_job_t *job)
{
    return job->index;
}

otk_device_t *otk_service_job_device(otk_service_job_t *job)
{
    return job->svc->cfg->dev;
}

void **otk_service_job_user(otk_service_job_t *job)
{
    return &job->user;
}

otk_service_node_result_t *otk_service_job_result(otk_service_job_t *job)
{
    return job->result;
}

void otk_service_job_message(otk_service_job_t *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(job->result, fmt, ap);
    va_end(ap);
}

void otk_service_job_versions(otk_service_job_t *job, const char *current, const char *incoming)
{
    snprintf(job->result->current_version, sizeof job->result->current_version, "%s",
             current != NULL ? current : "");
    snprintf(job->result->incoming_version, sizeof job->result->incoming_version, "%s",
             incoming != NULL ? incoming : "");
    svc_emit(job->svc, OTK_SERVICE_EV_VERSION, job->index, job->node, job->result, 0, -1);
}

void otk_service_job_progress(otk_service_job_t *job, uint64_t done, int64_t total)
{
    svc_emit(job->svc, OTK_SERVICE_EV_PROGRESS, job->index, job->node, job->result, done,
             total);
}

/* ---- the list ----------------------------------------------------------------------------- */

/* The steps of a node: its table with NULL members taken from its type's defaults. */
static otk_service_steps_t steps_of(const otk_service_node_t *node)
{
    const otk_service_steps_t *def =
        node->type == OTK_NODE_APP ? otk_service_app_steps() : otk_service_data_steps();
    otk_service_steps_t s = node->steps != NULL ? *node->steps : *def;
    s.prepare = s.prepare != NULL ? s.prepare : def->prepare;
    s.need_upgrade = s.need_upgrade != NULL ? s.need_upgrade : def->need_upgrade;
    s.execute_upgrade = s.execute_upgrade != NULL ? s.execute_upgrade : def->execute_upgrade;
    s.finished_check = s.finished_check != NULL ? s.finished_check : def->finished_check;
    return s;
}

static bool declined(otk_service_reason_t r)
{
    return r == OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION;
}

/* ADF takes finished_check's word for the outcome; a skipped node then looked like a
 * success and rebooted the device. Here SUCCESS needs the image to have been written. */
static otk_service_status_t status_of(bool executed, otk_service_reason_t before,
                                      otk_service_reason_t final)
{
    if (final == OTK_SERVICE_ERR_REASON_SUCCESS) {
        return executed ? OTK_SERVICE_NODE_SUCCESS
               : declined(before) ? OTK_SERVICE_NODE_SKIPPED
                                  : OTK_SERVICE_NODE_FAILED;
    }
    return declined(final) && !executed ? OTK_SERVICE_NODE_SKIPPED : OTK_SERVICE_NODE_FAILED;
}

static void run_node(svc_t *svc, const otk_service_node_t *node, size_t index)
{
    otk_service_node_result_t *res = &svc->report->nodes[index];
    otk_service_job_t job;
    memset(&job, 0, sizeof job);
    job.svc = svc;
    job.index = index;
    job.node = node;
    job.result = res;
    job.current = OTK_VERSION_NONE;
    job.incoming = OTK_VERSION_NONE;
    job.total = -1;
    job.header_err = ESP_ERR_NOT_FOUND;
    if (node->type == OTK_NODE_DATA) {
        snprintf(res->partition, sizeof res->partition, "%s", node->label);
    }
    svc_emit(svc, OTK_SERVICE_EV_NODE_BEGIN, index, node, res, 0, -1);

    otk_service_steps_t steps = steps_of(node);
    bool executed = false;
    otk_service_reason_t r = steps.prepare(&job);
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS && !svc->power_lost) {
        r = steps.need_upgrade(&job);
    }
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS && !svc->power_lost) {
        executed = true;
        r = steps.execute_upgrade(&job);
    }
    otk_service_reason_t before = r;
    r = steps.finished_check(&job, r);
    if (svc->power_lost) {
        r = OTK_SERVICE_ERR_REASON_POWER_LOST;
    }
    job_release(&job);
    res->status = status_of(executed && before == OTK_SERVICE_ERR_REASON_SUCCESS, before, r);
    res->reason = r;
    if (res->status == OTK_SERVICE_NODE_SKIPPED) {
        res->reason = OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION;
    } else if (res->status == OTK_SERVICE_NODE_FAILED && r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        res->reason = before; /* a finished_check that says SUCCESS cannot hide a failure */
    }
    if (res->message[0] == '\0') {
        snprintf(res->message, sizeof res->message, "%s", otk_service_reason_name(r));
    }
    OTK_LOGI(SERVICE_TAG, "node %zu (%s %s): %s: %s", index, otk_node_type_name(node->type),
             res->partition, otk_service_status_name(res->status), res->message);
}

static void tally(otk_service_report_t *rep, otk_service_status_t status)
{
    switch (status) {
    case OTK_SERVICE_NODE_SUCCESS:
        rep->succeeded++;
        break;
    case OTK_SERVICE_NODE_SKIPPED:
        rep->skipped++;
        break;
    case OTK_SERVICE_NODE_FAILED:
        rep->failed++;
        break;
    default:
        rep->not_run++;
        break;
    }
}

static void not_run(svc_t *svc, size_t from, size_t to, const char *why)
{
    for (size_t i = from; i < to; i++) {
        otk_service_node_result_t *res = &svc->report->nodes[i];
        res->status = OTK_SERVICE_NODE_NOT_RUN;
        res->reason = OTK_SERVICE_ERR_REASON_NOT_RUN;
        snprintf(res->message, sizeof res->message, "%s", why);
        tally(svc->report, res->status);
    }
}

static esp_err_t run_list(svc_t *svc, const otk_service_node_t *nodes, size_t n)
{
    otk_service_report_t *rep = svc->report;
    svc_emit(svc, OTK_SERVICE_EV_START, 0, NULL, NULL, 0, -1);
    for (size_t i = 0; i < n; i++) {
        run_node(svc, &nodes[i], i);
        tally(rep, rep->nodes[i].status);
        svc_emit(svc, OTK_SERVICE_EV_RESULT, i, &nodes[i], &rep->nodes[i], 0, -1);
        if (svc->power_lost || svc->state_err != ESP_OK) {
            not_run(svc, i + 1, n, svc->power_lost ? "power was lost" : "the state file "
                                                                        "cannot be saved");
            break;
        }
        if (rep->nodes[i].status == OTK_SERVICE_NODE_FAILED && nodes[i].break_after_fail) {
            char why[OTK_DIAG_MAX];
            snprintf(why, sizeof why, "node %zu failed and has break_after_fail", i);
            not_run(svc, i + 1, n, why);
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (rep->nodes[i].status == OTK_SERVICE_NODE_SUCCESS && nodes[i].reboot_flag) {
            rep->reboot = true;
        }
    }
    rep->interrupted = svc->power_lost;
    svc_emit(svc, OTK_SERVICE_EV_FINISH, 0, NULL, NULL, 0, -1);
    if (svc->power_lost) {
        return ESP_ERR_FLASH_OP_FAIL;
    }
    return svc->state_err;
}

/* ---- recovery ----------------------------------------------------------------------------- */

static esp_err_t recover(svc_t *svc)
{
    otk_service_report_t *rep = svc->report;
    otk_service_node_result_t res;
    if (svc->state.commit.active) {
        memset(&res, 0, sizeof res);
        snprintf(res.partition, sizeof res.partition, "%s", svc->state.commit.target);
        snprintf(res.incoming_version, sizeof res.incoming_version, "%s",
                 svc->state.commit.version);
        uint32_t size = svc->state.commit.size;
        otk_diag_t msg;
        otk_diag_clear(&msg);
        esp_err_t err = svc_commit_apply(svc, &msg);
        res.status = err == ESP_OK ? OTK_SERVICE_NODE_SUCCESS : OTK_SERVICE_NODE_FAILED;
        res.reason = err == ESP_OK                 ? OTK_SERVICE_ERR_REASON_SUCCESS
                     : err == ESP_ERR_FLASH_OP_FAIL ? OTK_SERVICE_ERR_REASON_POWER_LOST
                                                    : OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL;
        res.bytes = err == ESP_OK ? size : 0;
        snprintf(res.message, sizeof res.message, "%s", msg.msg);
        rep->recovered += err == ESP_OK;
        svc_emit(svc, OTK_SERVICE_EV_RECOVER, 0, NULL, &res, 0, -1);
        if (err == ESP_ERR_FLASH_OP_FAIL || svc->state_err != ESP_OK) {
            rep->interrupted = svc->power_lost;
            return svc->power_lost ? ESP_ERR_FLASH_OP_FAIL : svc->state_err;
        }
    }
    for (size_t i = 0; i < svc->state.record_count; i++) {
        const otk_service_record_t *rec = &svc->state.records[i];
        if (rec->state == OTK_SERVICE_PART_TORN) {
            memset(&res, 0, sizeof res);
            snprintf(res.partition, sizeof res.partition, "%s", rec->label);
            res.status = OTK_SERVICE_NODE_FAILED;
            res.reason = OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL;
            snprintf(res.message, sizeof res.message,
                     "%s is torn (an update written in place was interrupted): it is redone "
                     "when a list names it",
                     rec->label);
            svc_emit(svc, OTK_SERVICE_EV_RECOVER, 0, NULL, &res, 0, -1);
        }
    }
    return ESP_OK;
}

static esp_err_t svc_open(svc_t *svc, const otk_service_config_t *cfg,
                          otk_service_report_t *report, otk_diag_t *diag)
{
    memset(svc, 0, sizeof *svc);
    svc->cfg = cfg;
    svc->report = report;
    if (cfg == NULL || cfg->dev == NULL || cfg->dev->flash == NULL || !cfg->dev->powered ||
        cfg->checkpoint_bytes % SERVICE_CHUNK != 0) {
        otk_diag_set(diag, "service: no powered device, or a checkpoint interval that is not "
                           "a multiple of 4 KiB");
        return ESP_ERR_INVALID_ARG;
    }
    if (cfg->state_path == NULL) {
        otk_service_state_init(&svc->state);
        return ESP_OK;
    }
    return otk_service_state_load(cfg->state_path, &svc->state, diag);
}

esp_err_t otk_service_recover(const otk_service_config_t *cfg, otk_service_report_t *report,
                              otk_diag_t *diag)
{
    svc_t *svc = calloc(1, sizeof *svc); /* the state is ~10 KiB: not on the stack */
    otk_service_report_t *local = calloc(1, sizeof *local);
    if (svc == NULL || local == NULL) {
        free(svc);
        free(local);
        otk_diag_set(diag, "service: out of memory");
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = svc_open(svc, cfg, report != NULL ? report : local, diag);
    if (err == ESP_OK) {
        err = recover(svc);
    }
    if (err != ESP_OK && err != ESP_ERR_FLASH_OP_FAIL && svc->state_err != ESP_OK) {
        otk_diag_set(diag, "%s", svc->state_diag.msg);
    }
    free(svc);
    free(local);
    return err;
}

esp_err_t otk_service_run(const otk_service_config_t *cfg, const otk_service_node_t *nodes,
                          size_t count, otk_service_report_t *report, otk_diag_t *diag)
{
    if (report == NULL || (nodes == NULL && count > 0) || count > OTK_MANIFEST_MAX_NODES) {
        otk_diag_set(diag, "service: no report, or more than %u nodes",
                     (unsigned)OTK_MANIFEST_MAX_NODES);
        return ESP_ERR_INVALID_ARG;
    }
    memset(report, 0, sizeof *report);
    svc_t *svc = calloc(1, sizeof *svc); /* the state is ~10 KiB: not on the stack */
    if (svc == NULL) {
        otk_diag_set(diag, "service: out of memory");
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = svc_open(svc, cfg, report, diag);
    if (err == ESP_OK) {
        report->count = count;
        err = recover(svc);
        if (err == ESP_OK) {
            err = run_list(svc, nodes, count);
        } else {
            not_run(svc, 0, count, "an interrupted data update could not be completed");
        }
        if (err != ESP_OK && err != ESP_ERR_FLASH_OP_FAIL) {
            otk_diag_set(diag, "%s", svc->state_diag.msg);
        }
    }
    free(svc);
    return err;
}
