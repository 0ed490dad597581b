/* otakit-device's console: one command per line on stdin, as a person or a test would
 * drive a board over its serial port. Ends at end of input, "quit", or SIGINT/SIGTERM. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device_cli.h"
#include "device_json.h"

#define TAG "device"
/* A command is one short word; longer lines are read in pieces and rejected. */
#define CONSOLE_LINE_MAX 256

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* No SA_RESTART: a signal interrupts the blocking read so the device powers off at once. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* A console line in the device's log. */
#define SAY(run, level, ...) \
    otk_device_log_line((run)->log, &(run)->dev, level, TAG, __VA_ARGS__)

/* One JSON line for a command's outcome. */
static void json_event(otk_device_run_t *run, const char *event, esp_err_t err)
{
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "event", event);
    json_bool(&j, "ok", err == ESP_OK);
    json_string(&j, "err", esp_err_to_name(err));
    device_json_app(&j, "app", &run->dev);
    device_json_otadata(&j, "otadata", &run->dev);
    json_object_end(&j);
    json_finish(&j);
}

static void status(otk_device_run_t *run, const device_opts_t *o)
{
    if (o->json) {
        json_event(run, "status", ESP_OK);
        return;
    }
    otk_device_log_app(run->log, &run->dev);
    otk_device_log_otadata(run->log, &run->dev);
}

typedef enum { CMD_GO_ON, CMD_QUIT, CMD_DEAD } cmd_result_t;

static cmd_result_t run_command(otk_device_run_t *run, const device_opts_t *o, const char *cmd)
{
    otk_selftest_policy_t option = o->selftest_given ? o->selftest : run->store.selftest;
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
        return CMD_QUIT;
    }
    if (strcmp(cmd, "reboot") == 0) {
        return device_power_on(run, o) == ESP_OK ? CMD_GO_ON : CMD_DEAD;
    }
    if (strcmp(cmd, "confirm") == 0) {
        esp_err_t err = otk_device_run_confirm(run);
        if (o->json) {
            json_event(run, "confirm", err);
        }
        return CMD_GO_ON;
    }
    if (strcmp(cmd, "rollback") == 0) {
        uint32_t before = run->power_ons;
        esp_err_t err = otk_device_run_rollback(run, option);
        if (run->power_ons == before) {
            /* Refused (why is logged): the app keeps running. */
            if (o->json) {
                json_event(run, "rollback", err);
            }
            return CMD_GO_ON;
        }
        return device_report_boot(run, o, err) == ESP_OK ? CMD_GO_ON : CMD_DEAD;
    }
    if (strcmp(cmd, "status") == 0) {
        status(run, o);
        return CMD_GO_ON;
    }
    if (strcmp(cmd, "help") == 0) {
        SAY(run, 'I', "commands: %s", "reboot, confirm, rollback, status, quit");
        return CMD_GO_ON;
    }
    SAY(run, 'W', "unknown command '%s' (reboot, confirm, rollback, status, quit)", cmd);
    if (o->json) {
        json_event(run, "unknown_command", ESP_ERR_INVALID_ARG);
    }
    return CMD_GO_ON;
}

/* The line without surrounding blanks, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
                     s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
    return s;
}

int device_console(otk_device_run_t *run, const device_opts_t *o)
{
    install_signals();
    bool tty = isatty(STDIN_FILENO) != 0;
    SAY(run, 'I', "console: %s; stdin closed or a signal powers off",
        "reboot, confirm, rollback, status, quit");
    char line[CONSOLE_LINE_MAX];
    for (;;) {
        if (tty && !o->json) {
            fputs("> ", stdout);
        }
        fflush(stdout);
        errno = 0;
        if (stop_signal != 0 || fgets(line, sizeof line, stdin) == NULL) {
            break;
        }
        if (strchr(line, '\n') == NULL && !feof(stdin)) {
            int ch;
            while ((ch = getchar()) != EOF && ch != '\n') {
                /* drop the rest of an overlong line */
            }
            SAY(run, 'W', "%s", "line too long: ignored");
            continue;
        }
        char *cmd = trim(line);
        if (*cmd == '\0') {
            continue;
        }
        cmd_result_t r = run_command(run, o, cmd);
        if (r == CMD_QUIT) {
            break;
        }
        if (r == CMD_DEAD) {
            return DEVICE_EXIT_NO_BOOT;
        }
    }
    if (stop_signal != 0) {
        SAY(run, 'I', "%s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    return DEVICE_EXIT_OK;
}
