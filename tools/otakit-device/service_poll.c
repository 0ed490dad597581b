/* otakit-device --manifest URI [--poll SECONDS]: the device runs ESP-ADF's ota_service on
 * the update list at URI after power-on, and with --poll fetches it again every SECONDS
 * (If-None-Match with the ETag of the list it last applied: an unchanged manifest costs a
 * 304) and applies it when it changed, until SIGINT/SIGTERM. A node that asks for it
 * reboots the device after the list (a power-on: boot log, self-test). CAs and plain
 * http:// as for --pull: $SSL_CERT_FILE, OTAKIT_ALLOW_HTTP=1. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device_cli.h"
#include "json_out.h"
#include "otakit/log.h"
#include "service_cli.h"

#define TAG "service"
#define ENV_CA_FILE "SSL_CERT_FILE"
#define ENV_ALLOW_HTTP "OTAKIT_ALLOW_HTTP"
/* --poll bounds: faster than 10 polls a second is a busy loop; a day is the longest
 * interval worth a timer. */
#define POLL_MIN_S 0.1
#define POLL_MAX_S 86400.0
/* Sleeping in slices this long lets a signal stop the device promptly whenever it lands. */
#define SLEEP_SLICE_NS 50000000L
#define NS_PER_S 1000000000.0
#define STATE_PATH_MAX 4096u

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void sleep_seconds(double s)
{
    double left_ns = s * NS_PER_S;
    while (left_ns > 0 && stop_signal == 0) {
        long slice = left_ns < SLEEP_SLICE_NS ? (long)left_ns : SLEEP_SLICE_NS;
        struct timespec ts = {0, slice};
        nanosleep(&ts, NULL);
        left_ns -= (double)slice;
    }
}

typedef struct {
    otk_device_run_t *run;
    const device_opts_t *o;
} poll_ctx_t;

static void say(poll_ctx_t *p, char level, const char *text)
{
    if (!p->o->json) {
        otk_device_log_line(stdout, &p->run->dev, level, TAG, "%s", text);
        fflush(stdout);
    }
}

static void on_event(void *ctx, const otk_service_event_t *ev)
{
    poll_ctx_t *p = ctx;
    if (p->o->json) {
        if (ev->type != OTK_SERVICE_EV_PROGRESS) {
            json_out_t j;
            json_init(&j, stdout);
            json_object_begin(&j, NULL);
            json_string(&j, "event", "service");
            svc_cli_json_event(&j, "service", ev);
            json_object_end(&j);
            json_finish(&j);
            fflush(stdout);
        }
        return;
    }
    char line[OTK_DIAG_MAX + 128];
    char level = 'I';
    if (svc_cli_line(ev, line, sizeof line, &level)) {
        say(p, level, line);
    }
}

/* One JSON line about the manifest: applied, unchanged, or why it could not be had. */
static void json_manifest(const char *status, const char *uri, const char *etag,
                          const char *error)
{
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "event", "manifest");
    json_string(&j, "status", status);
    json_string(&j, "uri", uri);
    json_string(&j, "etag", etag);
    if (error != NULL) {
        json_string(&j, "error", error);
    }
    json_object_end(&j);
    json_finish(&j);
    fflush(stdout);
}

/* The manifest this device last applied in full (nothing failed): what a poll compares. */
static void last_applied(const char *state_path, const char *uri, otk_service_seen_t *seen)
{
    static otk_service_state_t st;
    memset(seen, 0, sizeof *seen);
    if (otk_service_state_load(state_path, &st, NULL) == ESP_OK && st.manifest.active &&
        strcmp(st.manifest.uri, uri) == 0) {
        *seen = st.manifest;
    }
}

/* Fetch, and run the list when it changed. Returns false when the list failed. */
static bool poll_once(poll_ctx_t *p, otk_service_config_t *cfg, const char *uri)
{
    otk_service_seen_t seen;
    last_applied(cfg->state_path, uri, &seen);
    otk_manifest_fetch_t info;
    otk_manifest_t *m = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = svc_cli_fetch(uri, &cfg->source, seen.active ? seen.etag : NULL,
                                  &p->run->store, cfg->state_path, &m, &info, &diag);
    char line[OTK_DIAG_MAX + OTK_URI_MAX];
    if (err != ESP_OK) {
        say(p, 'E', diag.msg);
        if (p->o->json) {
            json_manifest("error", uri, "", diag.msg);
        }
        otk_service_recover(cfg, NULL, NULL); /* no list, but a torn partition is repaired */
        return false;
    }
    if (info.not_modified ||
        (seen.active && memcmp(seen.sha256, info.sha256, sizeof seen.sha256) == 0)) {
        snprintf(line, sizeof line, "manifest unchanged (%s%s)",
                 info.not_modified ? "ETag " : "same bytes", info.not_modified ? info.etag : "");
        say(p, 'I', line);
        if (p->o->json) {
            json_manifest("unchanged", uri, info.etag, NULL);
        }
        otk_manifest_free(m);
        return true;
    }
    snprintf(line, sizeof line, "manifest %s: %zu node%s%s%s", info.uri, m->count,
             m->count == 1 ? "" : "s", info.etag[0] != '\0' ? ", ETag " : "", info.etag);
    say(p, 'I', line);
    if (p->o->json) {
        json_manifest("applying", uri, info.etag, NULL);
    }
    static otk_service_report_t rep;
    err = otk_service_run(cfg, m->nodes, m->count, &rep, &diag);
    otk_manifest_free(m);
    bool ok = err == ESP_OK && rep.failed == 0;
    if (err != ESP_OK && err != ESP_ERR_FLASH_OP_FAIL) {
        say(p, 'E', diag.msg);
    }
    if (ok && svc_cli_remember(cfg->state_path, &info, &diag) != ESP_OK) {
        say(p, 'E', diag.msg);
    }
    otk_diag_clear(&diag);
    if (otk_device_run_save(p->run, &diag) != ESP_OK) {
        device_error("%s", diag.msg);
    }
    if (rep.reboot) {
        say(p, 'I', "rebooting: a node that succeeded asked for it");
        device_power_on(p->run, p->o);
    }
    return ok;
}

static bool parse_poll(const char *text, double *s)
{
    char *end = NULL;
    *s = strtod(text, &end);
    return end != text && *end == '\0' && *s >= POLL_MIN_S && *s <= POLL_MAX_S;
}

int device_service(otk_device_run_t *run, const device_opts_t *o)
{
    double interval = 0;
    if (o->poll != NULL && !parse_poll(o->poll, &interval)) {
        device_error("--poll: seconds from 0.1 to 86400");
        return DEVICE_EXIT_USAGE;
    }
    if (o->poll != NULL && o->once) {
        device_error("--poll polls until a signal: it cannot be --once");
        return DEVICE_EXIT_USAGE;
    }
    static char uri[OTK_URI_MAX + 1], state_path[STATE_PATH_MAX];
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (!svc_cli_manifest_uri(o->manifest, uri, sizeof uri, &diag) ||
        !otk_service_state_path(o->flash_path, state_path, sizeof state_path)) {
        device_error("--manifest: %s", diag.msg[0] != '\0' ? diag.msg : "path too long");
        return DEVICE_EXIT_USAGE;
    }
    poll_ctx_t p = {.run = run, .o = o};
    otk_service_config_t cfg;
    otk_service_config_init(&cfg, &run->dev);
    cfg.state_path = state_path;
    const char *ca = getenv(ENV_CA_FILE);
    cfg.source.ca_file = ca != NULL && ca[0] != '\0' ? ca : NULL;
    const char *allow = getenv(ENV_ALLOW_HTTP);
    cfg.source.allow_http = allow != NULL && strcmp(allow, "1") == 0;
    cfg.on_event = on_event;
    cfg.event_ctx = &p;
    install_signals();
    bool ok = true;
    do {
        if (run->dev.running == NULL) {
            return DEVICE_EXIT_NO_BOOT; /* a reboot found nothing bootable */
        }
        ok = poll_once(&p, &cfg, uri);
        if (o->poll != NULL) {
            sleep_seconds(interval);
        }
    } while (o->poll != NULL && stop_signal == 0);
    if (stop_signal != 0) {
        say(&p, 'I', stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    return ok || o->poll != NULL ? DEVICE_EXIT_OK : DEVICE_EXIT_NO_BOOT;
}
