/* otakit-device --listen URI: the device serves the control path (docs/protocol.md) on a
 * Unix socket, TCP or a serial line, instead of the console, until SIGINT or SIGTERM.
 * Reboots asked over the link (Activate, Rollback, Reboot) are whole power-ons, logged
 * like the first one. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_cli.h"
#include "device_json.h"
#include "otakit/hosted.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = sig;
}

/* No SA_RESTART: a signal interrupts poll so the device powers off at once. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

typedef struct {
    otk_device_run_t *run;
    const device_opts_t *o;
} listen_ctx_t;

static esp_err_t power_on(void *ctx, otk_device_run_t *run)
{
    listen_ctx_t *l = ctx;
    return device_power_on(run, l->o);
}

/* Where hosts reach the device: the log line says it in text mode; with --json, one
 * JSON line (the test scripts and tools read it from there). */
static void on_listening(void *ctx, const char *where)
{
    listen_ctx_t *l = ctx;
    if (l->o->json) {
        json_out_t j;
        json_init(&j, stdout);
        json_object_begin(&j, NULL);
        json_string(&j, "event", "listening");
        json_string(&j, "where", where);
        json_object_end(&j);
        json_finish(&j);
    }
    fflush(stdout);
}

int device_listen(otk_device_run_t *run, const device_opts_t *o)
{
    install_signals();
    listen_ctx_t ctx = {run, o};
    otk_hosted_serve_opts_t so;
    otk_hosted_serve_opts_init(&so);
    so.uri = o->listen;
    so.handler.token = o->token != NULL ? o->token : getenv("OTAKIT_TOKEN");
    so.handler.power_on = power_on;
    so.handler.power_on_ctx = &ctx;
    so.on_listening = on_listening;
    so.ctx = &ctx;
    so.stop = &stop_flag;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_hosted_serve(run, &so, &diag);
    if (stop_flag != 0 && !o->json) {
        otk_device_log_line(stdout, &run->dev, 'I', "device", "%s",
                            stop_flag == SIGINT ? "SIGINT" : "SIGTERM");
    }
    if (err == ESP_ERR_NOT_FOUND) {
        return DEVICE_EXIT_NO_BOOT; /* why was reported with the boot */
    }
    if (err != ESP_OK) {
        device_error("--listen %s: %s", o->listen, diag.msg);
        return err == ESP_ERR_INVALID_ARG ? DEVICE_EXIT_USAGE : DEVICE_EXIT_NO_BOOT;
    }
    return DEVICE_EXIT_OK;
}
