/* otakit service FLASH MANIFEST_URI: ESP-ADF's ota_service on a simulated device: the
 * update list of a JSON manifest (docs/manifest.md), app and data partitions in one run,
 * with the state the service keeps in FLASH.service (docs/service.md). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "device_json.h"
#include "otakit/device_run.h"
#include "otakit/log.h"
#include "service_cli.h"

static const char USAGE[] =
    "usage: otakit service FLASH MANIFEST_URI [--ca FILE] [--allow-http] [--timeout S]\n"
    "                      [--staging LABEL] [--no-reboot] [--power-cut N[:KIND]]\n"
    "                      [--json] [--verbose]\n"
    "       otakit service sign|verify --key KEY.pem MANIFEST   (see service sign --help)\n\n"
    "Run the update list of the JSON manifest at MANIFEST_URI (https://, http://, file://,\n"
    "or a file path) on the simulated device whose flash is FLASH, as ESP-ADF's\n"
    "ota_service does: each node (an app, or a data partition by label) in order, steps\n"
    "prepare, need_upgrade, execute_upgrade, finished_check. Relative URIs in the manifest\n"
    "are resolved against its own. The format is in docs/manifest.md.\n\n"
    "An app goes to the next OTA slot through esp_ota_* (its version, read from the image's\n"
    "app descriptor before anything is erased, must be newer: Vx.y.z); a data partition is\n"
    "downloaded into its staging partition, verified, then copied with a commit record, so\n"
    "a power cut never leaves it half-written unknown (the next run completes it). Images\n"
    "are checked against the manifest's sha256 and size. A node that is not newer is\n"
    "skipped. An interrupted download resumes at the next run. The state between runs is\n"
    "in FLASH.service (docs/service.md).\n\n"
    "A device with a manifest key (otakit device config FLASH --manifest-key KEY.pem) takes\n"
    "only a manifest signed with it (MANIFEST_URI.sig), whose manifest_version is not below\n"
    "the last one it accepted and whose expires time is ahead of the clock; any other is\n"
    "refused before anything is downloaded or written.\n\n"
    "The device is powered on first (the running app is what updates); when a node that\n"
    "succeeded has reboot_flag, the device is rebooted after the list (a power-on: the new\n"
    "app boots and runs its self-test) unless --no-reboot.\n\n"
    "options:\n"
    "  --ca FILE         trust the CA certificates in FILE (PEM) for https://\n"
    "  --allow-http      accept plain http:// (CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP)\n"
    "  --timeout S       connect and stall timeout in seconds (default 10 and 30)\n"
    "  --staging LABEL   staging partition for data nodes that name none (else they are\n"
    "                    written in place, marked torn until done)\n"
    "  --no-reboot       leave the device as it is after the list\n"
    "  --power-cut N[:KIND]  testing aid: cut the power at the Nth flash program/erase of\n"
    "                    the run (KIND: torn, the default; cut-before; cut-after)\n"
    "  --json            one JSON document on stdout\n"
    "  --verbose         the boot log and the library's log on stderr\n\n"
    "exit: 0 every node succeeded or was skipped; 1 a node failed, the manifest could not\n"
    "be fetched or parsed, the device does not boot, or the power was cut; 2 wrong\n"
    "arguments.\n";

#define MS_PER_S 1000.0
#define TIMEOUT_MIN_S 0.1    /* nothing real answers faster */
#define TIMEOUT_MAX_S 3600.0 /* above an hour it is not a timeout */
#define PROGRESS_WIDTH 30
#define KIB 1024u
/* Events kept for --json: per node at most begin, version, result (progress is not kept),
 * plus start, finish and a recovery per data record. */
#define EVENTS_MAX (3u * OTK_MANIFEST_MAX_NODES + 4u + OTK_SERVICE_MAX_RECORDS)

typedef struct {
    const char *flash_path;
    const char *manifest_arg;
    const char *ca_file;
    bool allow_http;
    uint32_t timeout_ms;
    const char *staging;
    bool no_reboot;
    uint64_t cut_at;
    otk_flash_fault_kind_t cut_kind;
    bool json;
    bool verbose;
} svc_opts_t;

typedef struct {
    otk_service_event_type_t type;
    size_t index, count;
    const otk_service_node_t *node;
    otk_service_node_result_t result;
} kept_event_t;

typedef struct {
    const svc_opts_t *o;
    bool tty;
    bool bar_open; /* a progress bar is on the line */
    size_t kept;
    kept_event_t events[EVENTS_MAX];
    const otk_service_report_t *report;
} sink_t;

static bool parse_seconds(const char *text, uint32_t *ms)
{
    char *end = NULL;
    double s = strtod(text, &end);
    if (end == text || *end != '\0' || !(s >= TIMEOUT_MIN_S && s <= TIMEOUT_MAX_S)) {
        return false;
    }
    *ms = (uint32_t)(s * MS_PER_S + 0.5);
    return true;
}

static bool parse_cut(const char *text, svc_opts_t *o)
{
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || n == 0) {
        return false;
    }
    o->cut_at = n;
    o->cut_kind = OTK_FLASH_FAULT_TORN;
    return *end == '\0' ||
           (*end == ':' && otk_flash_fault_kind_from_name(end + 1, &o->cut_kind) == ESP_OK &&
            o->cut_kind != OTK_FLASH_FAULT_NONE);
}

static int parse_opts(int argc, char **argv, svc_opts_t *o)
{
    static const struct option longopts[] = {
        {"ca", required_argument, NULL, 'c'},       {"allow-http", no_argument, NULL, 'H'},
        {"timeout", required_argument, NULL, 't'},  {"staging", required_argument, NULL, 's'},
        {"no-reboot", no_argument, NULL, 'n'},      {"power-cut", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},           {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->ca_file = optarg;
            break;
        case 'H':
            o->allow_http = true;
            break;
        case 't':
            if (!parse_seconds(optarg, &o->timeout_ms)) {
                return cli_usage_error("service", "--timeout: seconds from 0.1 to 3600");
            }
            break;
        case 's':
            o->staging = optarg;
            break;
        case 'n':
            o->no_reboot = true;
            break;
        case 'p':
            if (!parse_cut(optarg, o)) {
                return cli_usage_error("service", "--power-cut: N >= 1, optionally :torn, "
                                                  ":cut-before or :cut-after");
            }
            break;
        case 'j':
            o->json = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        default:
            return cli_usage_error("service", "unknown option");
        }
    }
    if (argc - optind != 2) {
        return cli_usage_error("service", "takes FLASH MANIFEST_URI");
    }
    o->flash_path = argv[optind];
    o->manifest_arg = argv[optind + 1];
    return -1;
}

static void end_bar(sink_t *s)
{
    if (s->bar_open) {
        fputc('\n', stderr);
        s->bar_open = false;
    }
}

static void bar(sink_t *s, const otk_service_event_t *ev)
{
    if (!s->tty || ev->total <= 0) {
        return;
    }
    uint64_t t = (uint64_t)ev->total;
    unsigned fill = (unsigned)(ev->done * PROGRESS_WIDTH / t);
    char b[PROGRESS_WIDTH + 1];
    memset(b, '#', fill);
    memset(b + fill, '.', PROGRESS_WIDTH - fill);
    b[PROGRESS_WIDTH] = '\0';
    fprintf(stderr, "\r[%zu/%zu] %s [%s] %3u%% %u/%u KiB", ev->index + 1, ev->count,
            ev->result->partition, b, (unsigned)(ev->done * 100u / t),
            (unsigned)((ev->done + KIB - 1) / KIB), (unsigned)((t + KIB - 1) / KIB));
    s->bar_open = true;
}

static void on_event(void *ctx, const otk_service_event_t *ev)
{
    sink_t *s = ctx;
    if (ev->type == OTK_SERVICE_EV_PROGRESS) {
        if (!s->o->json) {
            bar(s, ev);
        }
        return;
    }
    if (s->o->json) {
        if (s->kept < EVENTS_MAX) {
            kept_event_t *k = &s->events[s->kept++];
            k->type = ev->type;
            k->index = ev->index;
            k->count = ev->count;
            k->node = ev->node;
            if (ev->result != NULL) {
                k->result = *ev->result;
            }
            s->report = ev->report != NULL ? ev->report : s->report;
        }
        return;
    }
    char line[OTK_DIAG_MAX + 128];
    char level = 'I';
    if (svc_cli_line(ev, line, sizeof line, &level)) {
        end_bar(s);
        FILE *out = level == 'I' ? stdout : stderr;
        fprintf(out, "%s%s\n", level == 'E' ? "error: " : level == 'W' ? "warning: " : "",
                line);
        fflush(out);
    }
}

/* ---- output ------------------------------------------------------------------------------ */

static void print_not_run(const otk_manifest_t *m, const otk_service_report_t *rep)
{
    for (size_t i = 0; m != NULL && i < rep->count; i++) {
        const otk_service_node_result_t *r = &rep->nodes[i];
        if (r->status == OTK_SERVICE_NODE_NOT_RUN) {
            fprintf(stderr, "warning: [%zu/%zu] %s%s%s: not run: %s\n", i + 1, rep->count,
                    otk_node_type_name(m->nodes[i].type), m->nodes[i].label[0] ? " " : "",
                    m->nodes[i].label, r->message);
        }
    }
}

static void json_kept(json_out_t *j, const sink_t *s)
{
    json_array_begin(j, "events");
    for (size_t i = 0; i < s->kept; i++) {
        const kept_event_t *k = &s->events[i];
        otk_service_event_t ev = {.type = k->type,
                                  .index = k->index,
                                  .count = k->count,
                                  .node = k->node,
                                  .result = &k->result,
                                  .report = s->report};
        svc_cli_json_event(j, NULL, &ev);
    }
    json_array_end(j);
}

typedef struct {
    const otk_manifest_t *m;
    const otk_manifest_fetch_t *info;
    const otk_service_report_t *rep;
    bool ran;
    bool rebooted;
    const char *error;
} outcome_t;

static void json_document(const svc_opts_t *o, const sink_t *s, otk_device_run_t *run,
                          const outcome_t *out, bool ok)
{
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_bool(&j, "ok", ok);
    json_string(&j, "flash", o->flash_path);
    if (out->m != NULL) {
        json_object_begin(&j, "manifest");
        json_string(&j, "uri", out->info->uri);
        json_string(&j, "etag", out->info->etag);
        json_hex(&j, "sha256", out->info->sha256, sizeof out->info->sha256);
        json_uint(&j, "nodes", out->m->count);
        json_object_end(&j);
    } else {
        json_null(&j, "manifest");
    }
    if (out->error != NULL) {
        json_string(&j, "error", out->error);
    }
    json_kept(&j, s);
    json_array_begin(&j, "nodes");
    for (size_t i = 0; out->ran && i < out->rep->count; i++) {
        svc_cli_json_result(&j, NULL, i, &out->m->nodes[i], &out->rep->nodes[i]);
    }
    json_array_end(&j);
    json_uint(&j, "succeeded", out->rep->succeeded);
    json_uint(&j, "skipped", out->rep->skipped);
    json_uint(&j, "failed", out->rep->failed);
    json_uint(&j, "not_run", out->rep->not_run);
    json_uint(&j, "recovered", out->rep->recovered);
    json_bool(&j, "reboot", out->rep->reboot);
    json_bool(&j, "rebooted", out->rebooted);
    json_bool(&j, "interrupted", out->rep->interrupted);
    if (run != NULL && !out->rep->interrupted) {
        device_json_app(&j, "running", &run->dev);
        device_json_otadata(&j, "otadata", &run->dev);
    }
    json_object_end(&j);
    json_finish(&j);
}

/* ---- the run ----------------------------------------------------------------------------- */

static void source_opts(const svc_opts_t *o, otk_source_opts_t *so)
{
    otk_source_opts_init(so);
    so->ca_file = o->ca_file;
    so->allow_http = o->allow_http;
    if (o->timeout_ms != 0) {
        so->connect_timeout_ms = o->timeout_ms;
        so->stall_timeout_ms = o->timeout_ms;
    }
}

/* After the list: the reboot its successful nodes asked for. */
static void reboot(const svc_opts_t *o, otk_device_run_t *run, outcome_t *out)
{
    esp_err_t err = otk_device_run_power_on(run, run->store.selftest);
    out->rebooted = true;
    if (o->json) {
        return;
    }
    if (err != ESP_OK) {
        fprintf(stderr, "error: reboot: the device does not boot (%s stage): %s\n",
                otk_boot_stage_name(run->dev.boot.stage), run->dev.boot.diag.msg);
        return;
    }
    const esp_app_desc_t *app = otk_device_running_app(&run->dev);
    printf("reboot: %.32s %.32s runs from %s; its self-test: %s\n",
           app != NULL ? app->project_name : "?", app != NULL ? app->version : "?",
           run->dev.running->label, otk_selftest_outcome_name(run->selftest.outcome));
}

static int service_run(const svc_opts_t *o)
{
    static otk_device_run_t run;   /* ~50 KiB: not on the stack */
    static sink_t sink;            /* the kept events */
    static otk_service_report_t rep;
    static char uri[OTK_URI_MAX + 1], state_path[4096];
    static otk_manifest_fetch_t info;
    memset(&sink, 0, sizeof sink);
    memset(&rep, 0, sizeof rep);
    sink.o = o;
    sink.tty = !o->json && isatty(STDERR_FILENO);
    outcome_t out = {.info = &info, .rep = &rep};
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (!svc_cli_manifest_uri(o->manifest_arg, uri, sizeof uri, &diag) ||
        !otk_service_state_path(o->flash_path, state_path, sizeof state_path)) {
        return cli_error("%s", diag.msg[0] != '\0' ? diag.msg : "FLASH: path too long");
    }
    if (otk_device_run_open(&run, o->flash_path, o->verbose ? stderr : NULL, &diag) != ESP_OK) {
        return cli_error("%s", diag.msg);
    }
    if (otk_device_run_power_on(&run, run.store.selftest) != ESP_OK) {
        cli_error("%s: the device does not boot (%s stage): %s", o->flash_path,
                  otk_boot_stage_name(run.dev.boot.stage), run.dev.boot.diag.msg);
        otk_device_run_close(&run);
        return CLI_EXIT_FAIL;
    }
    otk_service_config_t cfg;
    otk_service_config_init(&cfg, &run.dev);
    cfg.state_path = state_path;
    source_opts(o, &cfg.source);
    cfg.default_staging = o->staging;
    cfg.on_event = on_event;
    cfg.event_ctx = &sink;
    if (o->cut_at > 0) {
        otk_flash_arm_fault(run.flash, o->cut_at, o->cut_kind, o->cut_at);
    }

    otk_manifest_t *m = NULL;
    static otk_diag_t error; /* what out.error points to */
    otk_diag_clear(&error);
    esp_err_t err = svc_cli_fetch(uri, &cfg.source, NULL, &run.store, state_path, &m, &info,
                                  &error);
    out.m = m;
    if (err != ESP_OK) {
        /* No list, but a data partition left torn by an earlier run is still repaired. */
        otk_diag_t rdiag;
        otk_diag_clear(&rdiag);
        otk_service_recover(&cfg, &rep, &rdiag);
        out.error = error.msg;
    } else {
        if (!o->json) {
            end_bar(&sink);
            printf("manifest %s: %zu node%s\n", info.uri, m->count, m->count == 1 ? "" : "s");
        }
        err = otk_service_run(&cfg, m->nodes, m->count, &rep, &error);
        out.ran = true;
        end_bar(&sink);
        if (err != ESP_OK && err != ESP_ERR_FLASH_OP_FAIL) {
            out.error = error.msg;
        }
    }
    bool ok = err == ESP_OK && rep.failed == 0;
    if (rep.interrupted) {
        out.error = "the power was cut (--power-cut): the next run completes what was "
                    "interrupted";
    } else {
        if (out.ran && err == ESP_OK && svc_cli_remember(state_path, &info, &diag) != ESP_OK) {
            cli_error("%s", diag.msg);
        }
        otk_diag_clear(&diag);
        if (otk_device_run_save(&run, &diag) != ESP_OK) {
            cli_error("%s", diag.msg);
        }
        if (out.ran && rep.reboot && !o->no_reboot) {
            reboot(o, &run, &out);
        }
    }
    if (o->json) {
        json_document(o, &sink, &run, &out, ok);
    } else {
        print_not_run(m, &rep);
        if (out.error != NULL) {
            cli_error("%s", out.error);
        }
    }
    otk_manifest_free(m);
    otk_device_run_close(&run);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_service(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "sign") == 0 || strcmp(argv[1], "verify") == 0)) {
        return cmd_service_sign(argc - 1, argv + 1);
    }
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return CLI_EXIT_OK;
    }
    svc_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    otk_log_set_level(o.verbose ? OTK_LOG_INFO : OTK_LOG_NONE);
    return service_run(&o);
}
