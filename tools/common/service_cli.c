/* The update service in the programs: see service_cli.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "service_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILE_SCHEME "file://"

bool svc_cli_manifest_uri(const char *arg, char *out, size_t cap, otk_diag_t *why)
{
    if (otk_uri_is_url(arg)) {
        if (strlen(arg) >= cap) {
            otk_diag_set(why, "%.64s...: longer than %zu characters", arg, cap - 1);
            return false;
        }
        memcpy(out, arg, strlen(arg) + 1);
        return true;
    }
    char *path = realpath(arg, NULL);
    if (path == NULL) {
        otk_diag_set(why, "%s: %s", arg, strerror(errno));
        return false;
    }
    static const char keep[] = "-._~/"; /* with letters and digits: kept as they are */
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(FILE_SCHEME);
    bool fits = n < cap;
    memcpy(out, FILE_SCHEME, fits ? n : 0);
    for (const unsigned char *p = (const unsigned char *)path; fits && *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(keep, *p) != NULL;
        if (n + (plain ? 1 : 3) >= cap) {
            fits = false;
        } else if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 0xFu];
        }
    }
    free(path);
    if (!fits) {
        otk_diag_set(why, "%s: its file:// URI would be longer than %zu characters", arg,
                     cap - 1);
        return false;
    }
    out[n] = '\0';
    return true;
}

esp_err_t svc_cli_fetch(const char *uri, const otk_source_opts_t *opts,
                        const char *if_none_match, const otk_device_store_t *store,
                        const char *state_path, otk_manifest_t **m,
                        otk_manifest_fetch_t *info, otk_diag_t *diag)
{
    const uint8_t *key = store != NULL && store->has_manifest_key ? store->manifest_key : NULL;
    return otk_service_manifest_get(uri, opts, if_none_match, key, (int64_t)time(NULL),
                                    state_path, m, info, diag);
}

/* "[2/3] data storage" / "[1/3] app ota_0" */
static void node_name(const otk_service_event_t *ev, char *out, size_t cap)
{
    const char *part = ev->result != NULL && ev->result->partition[0] != '\0'
                           ? ev->result->partition
                           : ev->node->label;
    snprintf(out, cap, "[%zu/%zu] %s%s%s", ev->index + 1, ev->count,
             otk_node_type_name(ev->node->type), part[0] != '\0' ? " " : "", part);
}

bool svc_cli_line(const otk_service_event_t *ev, char *line, size_t cap, char *level)
{
    char name[64];
    const otk_service_node_result_t *r = ev->result;
    const otk_service_report_t *rep = ev->report;
    *level = 'I';
    switch (ev->type) {
    case OTK_SERVICE_EV_RECOVER:
        *level = r->status == OTK_SERVICE_NODE_SUCCESS ? 'I' : 'W';
        snprintf(line, cap, "recovery: %s%s", r->message,
                 r->status == OTK_SERVICE_NODE_SUCCESS
                     ? " (an interrupted data update, completed from its staged copy)"
                     : "");
        return true;
    case OTK_SERVICE_EV_VERSION:
        node_name(ev, name, sizeof name);
        snprintf(line, cap, "%s: has %s, image %s", name,
                 r->current_version[0] != '\0' ? r->current_version : "no known version",
                 r->incoming_version[0] != '\0' ? r->incoming_version : "without a version");
        return true;
    case OTK_SERVICE_EV_RESULT:
        node_name(ev, name, sizeof name);
        *level = r->status == OTK_SERVICE_NODE_FAILED    ? 'E'
                 : r->status == OTK_SERVICE_NODE_NOT_RUN ? 'W'
                                                         : 'I';
        snprintf(line, cap, "%s: %s%s%s%s: %s", name, otk_service_status_name(r->status),
                 r->status == OTK_SERVICE_NODE_FAILED ? " (" : "",
                 r->status == OTK_SERVICE_NODE_FAILED ? otk_service_reason_name(r->reason) : "",
                 r->status == OTK_SERVICE_NODE_FAILED ? ")" : "", r->message);
        return true;
    case OTK_SERVICE_EV_FINISH:
        *level = rep->failed > 0 || rep->interrupted ? 'W' : 'I';
        snprintf(line, cap, "done: %u succeeded, %u skipped, %u failed, %u not run%s; %s",
                 rep->succeeded, rep->skipped, rep->failed, rep->not_run,
                 rep->interrupted ? " (power lost)" : "",
                 rep->reboot ? "reboot requested" : "no reboot needed");
        return true;
    default:
        return false;
    }
}

void svc_cli_json_result(json_out_t *j, const char *key, size_t index,
                         const otk_service_node_t *node, const otk_service_node_result_t *r)
{
    json_object_begin(j, key);
    if (node != NULL) {
        json_uint(j, "index", index);
        json_string(j, "type", otk_node_type_name(node->type));
        json_string(j, "uri", node->uri);
    }
    json_string(j, "partition", r->partition);
    json_string(j, "status", otk_service_status_name(r->status));
    json_string(j, "reason", otk_service_reason_name(r->reason));
    json_string(j, "message", r->message);
    json_string(j, "current_version", r->current_version);
    json_string(j, "incoming_version", r->incoming_version);
    json_uint(j, "bytes", r->bytes);
    if (r->resumed) {
        json_uint(j, "resumed_from", r->resumed_from);
    } else {
        json_null(j, "resumed_from");
    }
    json_object_end(j);
}

void svc_cli_json_event(json_out_t *j, const char *key, const otk_service_event_t *ev)
{
    json_object_begin(j, key);
    json_string(j, "event", otk_service_event_name(ev->type));
    switch (ev->type) {
    case OTK_SERVICE_EV_RECOVER:
        svc_cli_json_result(j, "result", 0, NULL, ev->result);
        break;
    case OTK_SERVICE_EV_START:
        json_uint(j, "count", ev->count);
        break;
    case OTK_SERVICE_EV_FINISH:
        json_uint(j, "succeeded", ev->report->succeeded);
        json_uint(j, "skipped", ev->report->skipped);
        json_uint(j, "failed", ev->report->failed);
        json_uint(j, "not_run", ev->report->not_run);
        json_uint(j, "recovered", ev->report->recovered);
        json_bool(j, "reboot", ev->report->reboot);
        json_bool(j, "interrupted", ev->report->interrupted);
        break;
    case OTK_SERVICE_EV_PROGRESS:
        json_uint(j, "index", ev->index);
        json_uint(j, "done", ev->done);
        json_int(j, "total", ev->total);
        break;
    case OTK_SERVICE_EV_RESULT:
        svc_cli_json_result(j, "result", ev->index, ev->node, ev->result);
        break;
    default: /* a node's begin, its versions: what is known so far */
        json_uint(j, "index", ev->index);
        json_string(j, "type", otk_node_type_name(ev->node->type));
        json_string(j, "uri", ev->node->uri);
        json_string(j, "partition", ev->result->partition);
        if (ev->type == OTK_SERVICE_EV_VERSION) {
            json_string(j, "current_version", ev->result->current_version);
            json_string(j, "incoming_version", ev->result->incoming_version);
        }
        break;
    }
    json_object_end(j);
}

esp_err_t svc_cli_remember(const char *state_path, const otk_manifest_fetch_t *info,
                           otk_diag_t *diag)
{
    static otk_service_state_t st; /* ~10 KiB */
    esp_err_t err = otk_service_state_load(state_path, &st, diag);
    if (err != ESP_OK) {
        return err;
    }
    st.manifest.active = true;
    snprintf(st.manifest.uri, sizeof st.manifest.uri, "%s", info->uri);
    snprintf(st.manifest.etag, sizeof st.manifest.etag, "%s", info->etag);
    memcpy(st.manifest.sha256, info->sha256, sizeof st.manifest.sha256);
    return otk_service_state_save(state_path, &st, diag);
}
