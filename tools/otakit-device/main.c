/* otakit-device: a simulated ESP device whose flash is an image file.
 *
 * Power on = the boot layer on the flash (ESP-IDF's second-stage bootloader rules), the
 * chosen app "runs" (its app descriptor says what it is), and the app's self-test policy
 * decides whether it confirms itself. With --once the device then powers off; otherwise it
 * takes line commands on stdin until stdin closes or a signal arrives. Configuration and
 * eFuses persist in FLASH.device (otakit/device_store.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "device_cli.h"
#include "device_json.h"
#include "otakit/log.h"

static const char USAGE[] =
    "usage: otakit-device --flash FLASH [--once] [--selftest auto|pass|fail] [--json]\n"
    "                     [--verbose] [--listen URI [--token TOKEN]]\n\n"
    "A simulated ESP device booting from a flash image file (see `otakit flash create`).\n"
    "Power on runs the bootloader's rules on the flash (rollback sweep, NEW ->\n"
    "PENDING_VERIFY, anti-rollback, fallback), prints the boot log, and runs the app's\n"
    "self-test: an app confirms itself (mark valid) unless it was built with\n"
    "`otakit image make --selftest fail` or the device option says otherwise; an app that\n"
    "never confirms is rolled back at the next power-on.\n\n"
    "options:\n"
    "  --flash FLASH      the flash image file; its configuration and eFuses are kept in\n"
    "                     FLASH.device (`otakit device config FLASH`)\n"
    "  --once             power on, run the self-test, power off and exit\n"
    "  --selftest S       auto (the image decides; the default, or the device file's\n"
    "                     option), pass, or fail: overrides for this run\n"
    "  --json             one JSON document per line for each event, instead of the log\n"
    "  --pull URL         after power-on, download and install the app image at URL as\n"
    "                     its app would with esp_https_ota (https://; http:// only with\n"
    "                     OTAKIT_ALLOW_HTTP=1; file://); CAs from $SSL_CERT_FILE, else\n"
    "                     the system store; resumes after a power cut (exit 1 with --once\n"
    "                     when it fails)\n"
    "  --verbose          also the library's own log (ESP-IDF's bootloader lines) on stderr\n"
    "  --listen URI       serve the control path (docs/protocol.md) instead of the console:\n"
    "                     unix:PATH, tcp://127.0.0.1:PORT (0: a free port), serial:TTY or\n"
    "                     pty (a new pty pair; the log tells its path); ?baud=N on serial\n"
    "                     and pty models a UART's speed\n"
    "  --token TOKEN      TCP's shared secret (else $OTAKIT_TOKEN; TCP requires one)\n"
    "  --manifest URI     after power-on, run the update list at URI (docs/manifest.md;\n"
    "                     app and data partitions, ESP-ADF's ota_service), reboot when a\n"
    "                     node asks, then power off; CAs and http:// as for --pull\n"
    "  --poll SECONDS     with --manifest: fetch it again every SECONDS (If-None-Match)\n"
    "                     and apply it when it changed, until SIGINT/SIGTERM\n\n"
    "Without --once, commands on stdin (one per line): reboot, confirm, rollback, status,\n"
    "quit. The device powers off when stdin closes or on SIGINT/SIGTERM.\n\n"
    "exit: 0 ran and powered off; 1 cannot boot at all (why is printed), or the flash or\n"
    "device file cannot be opened; 2 wrong arguments.\n";

void device_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("otakit-device: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int usage_error(const char *what)
{
    fprintf(stderr, "otakit-device: %s\nTry 'otakit-device --help'.\n", what);
    return DEVICE_EXIT_USAGE;
}

/* Returns -1 when parsed, else an exit code. */
static int parse_opts(int argc, char **argv, device_opts_t *o)
{
    static const struct option longopts[] = {{"flash", required_argument, NULL, 'f'},
                                             {"once", no_argument, NULL, '1'},
                                             {"selftest", required_argument, NULL, 's'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"pull", required_argument, NULL, 'p'},
                                             {"listen", required_argument, NULL, 'L'},
                                             {"token", required_argument, NULL, 'T'},
                                             {"manifest", required_argument, NULL, 'M'},
                                             {"poll", required_argument, NULL, 'P'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    int c;
    while ((c = getopt_long(argc, argv, "f:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->flash_path = optarg;
            break;
        case '1':
            o->once = true;
            break;
        case 's':
            if (!otk_selftest_policy_from_name(optarg, &o->selftest)) {
                return usage_error("--selftest: expected auto, pass or fail");
            }
            o->selftest_given = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'p':
            o->pull_url = optarg;
            break;
        case 'L':
            o->listen = optarg;
            break;
        case 'T':
            o->token = optarg;
            break;
        case 'M':
            o->manifest = optarg;
            break;
        case 'P':
            o->poll = optarg;
            break;
        case 'h':
            fputs(USAGE, stdout);
            return DEVICE_EXIT_OK;
        default:
            return usage_error("unknown option");
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument (the flash image is given with --flash)");
    }
    if (o->flash_path == NULL) {
        return usage_error("--flash FLASH is required");
    }
    if (o->once && o->listen != NULL) {
        return usage_error("--once and --listen exclude each other");
    }
    return -1;
}

esp_err_t device_power_on(otk_device_run_t *run, const device_opts_t *o)
{
    otk_selftest_policy_t option = o->selftest_given ? o->selftest : run->store.selftest;
    return device_report_boot(run, o, otk_device_run_power_on(run, option));
}

esp_err_t device_report_boot(otk_device_run_t *run, const device_opts_t *o, esp_err_t err)
{
    if (o->json) {
        json_out_t j;
        json_init(&j, stdout);
        json_object_begin(&j, NULL);
        json_string(&j, "event", "boot");
        json_uint(&j, "power_on", run->power_ons);
        device_json_config(&j, "device", &run->store);
        device_json_boot(&j, "boot", &run->dev);
        device_json_app(&j, "app", &run->dev);
        device_json_selftest(&j, "selftest", &run->selftest);
        device_json_otadata(&j, "otadata", &run->dev);
        json_object_end(&j);
        json_finish(&j);
    }
    if (err != ESP_OK) {
        const otk_boot_result_t *r = &run->dev.boot;
        device_error("%s does not boot (%s stage): %s (%s)", o->flash_path,
                     otk_boot_stage_name(r->stage), r->diag.msg, esp_err_to_name(err));
    }
    fflush(stdout);
    return err;
}

int main(int argc, char **argv)
{
    device_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    otk_log_set_level(o.verbose ? OTK_LOG_INFO : OTK_LOG_NONE);

    static otk_device_run_t run; /* ~50 KiB: not on the stack */
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_open(&run, o.flash_path, o.json ? NULL : stdout, &diag) != ESP_OK) {
        device_error("%s", diag.msg);
        return DEVICE_EXIT_NO_BOOT;
    }
    if (device_power_on(&run, &o) != ESP_OK) {
        otk_device_run_close(&run);
        return DEVICE_EXIT_NO_BOOT;
    }
    if (device_pull(&run, &o) != ESP_OK && o.once) { /* --pull URL (device_pull.c) */
        otk_device_run_close(&run);
        return DEVICE_EXIT_NO_BOOT;
    }
    rc = o.manifest != NULL ? device_service(&run, &o) /* --manifest (service_poll.c) */
         : o.once ? DEVICE_EXIT_OK
         : o.listen != NULL ? device_listen(&run, &o)
                            : device_console(&run, &o);
    if (!o.json && run.flash != NULL) {
        otk_device_log_line(stdout, &run.dev, 'I', "device", "power off");
    }
    otk_device_run_close(&run);
    return rc;
}
