/* otakit device confirm|rollback|status FLASH: the running app's decisions and the device's
 * state, offline on a simulated device's flash image file. `config` is in
 * cmd_device_config.c. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_device.h"
#include "commands.h"
#include "device_json.h"
#include "otakit/log.h"
#include "otakit/ota.h"

static const char USAGE[] =
    "usage: otakit device <command> FLASH [options]\n\n"
    "A simulated device is a flash image file plus FLASH.device beside it (its\n"
    "configuration and eFuses). confirm and rollback power the device on first (the boot\n"
    "layer runs, exactly as `otakit-device --once` would) and then apply the decision of\n"
    "the app that runs, instead of its self-test.\n\n"
    "commands:\n"
    "  confirm FLASH    the running app marks itself valid\n"
    "                   (esp_ota_mark_app_valid_cancel_rollback)\n"
    "  rollback FLASH   the running app marks itself invalid and reboots\n"
    "                   (esp_ota_mark_app_invalid_rollback_and_reboot): the previous app runs\n"
    "  status FLASH     the device file, otadata now, and what the next power-on would do\n"
    "                   (simulated on a copy of the flash: nothing is changed)\n"
    "  config FLASH [--chip NAME] [--chip-rev N] [--rollback on|off]\n"
    "               [--anti-rollback on|off] [--secure-version-bits N] [--table-offset ADDR]\n"
    "               [--table-md5 on|off] [--otadata-rule v6|v5] [--selftest auto|pass|fail]\n"
    "               [--burn-secure-version N]\n"
    "                   show the persisted options, or set them (FLASH.device is written)\n\n"
    "options:\n"
    "  --json      machine-readable output\n"
    "  --verbose   the boot log on stderr (confirm, rollback)\n\n"
    "status, confirm, rollback, reboot and abort also ask a running device over the\n"
    "control path: `otakit device status --device URI` (add --help for more).\n";

/* Returns -1 when parsed, else an exit code. */
static int parse_common(int argc, char **argv, device_cmd_opts_t *o)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->json = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        default:
            return cli_usage_error("device", "unknown option");
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error("device", "%s takes FLASH", argv[0]);
    }
    o->flash_path = argv[optind];
    return -1;
}

bool device_cmd_open(otk_device_run_t *run, const device_cmd_opts_t *o)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_open(run, o->flash_path, o->verbose ? stderr : NULL, &diag) != ESP_OK) {
        cli_error("%s", diag.msg);
        return false;
    }
    return true;
}

/* Power on without the self-test (a decision replaces it). False after printing why the
 * device does not boot. */
static bool boot(otk_device_run_t *run)
{
    if (otk_device_run_boot(run) != ESP_OK) {
        const otk_boot_result_t *r = &run->dev.boot;
        cli_error("%s does not boot (%s stage): %s (%s)", run->flash_path,
                  otk_boot_stage_name(r->stage), r->diag.msg, esp_err_to_name(r->err));
        return false;
    }
    return true;
}

void device_note_power_on(FILE *out, const otk_device_run_t *run)
{
    const otk_boot_result_t *r = &run->dev.boot;
    if (run->dev.running == NULL) {
        return;
    }
    for (size_t i = 0; i < r->write_count && i < OTK_BOOT_MAX_OTADATA_WRITES; i++) {
        if (r->writes[i].kind == OTK_BOOT_WRITE_ABORTED && r->writes[i].err == ESP_OK) {
            fprintf(out, "note: this power-on rolled back otadata entry %d (seq %u was "
                         "PENDING_VERIFY: never confirmed); %s runs\n",
                    r->writes[i].sector, (unsigned)r->writes[i].entry.ota_seq,
                    run->dev.running->label);
        }
    }
    if (run->selftest.outcome == OTK_SELFTEST_CONFIRMED) {
        fprintf(out, "note: at this power-on %s passed its self-test and confirmed itself "
                     "(PENDING_VERIFY -> VALID)\n",
                run->dev.running->label);
    } else if (run->selftest.outcome == OTK_SELFTEST_UNCONFIRMED) {
        fprintf(out, "note: at this power-on %s failed its self-test: it stays "
                     "PENDING_VERIFY\n",
                run->dev.running->label);
    }
}

static void print_running(const char *prefix, otk_device_t *dev)
{
    const esp_app_desc_t *app = otk_device_running_app(dev);
    esp_ota_img_states_t state;
    esp_err_t err = otk_device_run_state(dev, &state);
    printf("%s%s: %.32s %.32s (%s)\n", prefix, dev->running->label,
           app != NULL ? app->project_name : "?", app != NULL ? app->version : "?",
           err == ESP_OK ? otk_otadata_state_name(state) : "no otadata state");
}

static void json_outcome(otk_device_run_t *run, const char *command, esp_err_t err,
                         const char *reason)
{
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "command", command);
    json_bool(&j, "ok", err == ESP_OK);
    json_string(&j, "err", esp_err_to_name(err));
    if (reason != NULL) {
        json_string(&j, "reason", reason);
    }
    device_json_boot(&j, "boot", &run->dev);
    device_json_app(&j, "running", &run->dev);
    device_json_otadata(&j, "otadata", &run->dev);
    json_object_end(&j);
    json_finish(&j);
}

static const char *mark_reason(esp_err_t err)
{
    switch (err) {
    case ESP_ERR_NOT_FOUND:
        return "the partition table has no otadata partition";
    case ESP_FAIL:
        return "the running app is the factory app (no active otadata entry)";
    case ESP_ERR_OTA_ROLLBACK_FAILED:
        return "there is no other bootable app to roll back to";
    default:
        return esp_err_to_name(err);
    }
}

static int device_confirm(const device_cmd_opts_t *o)
{
    static otk_device_run_t run;
    if (!device_cmd_open(&run, o)) {
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_FAIL;
    if (boot(&run)) {
        if (!o->json) {
            device_note_power_on(stdout, &run);
        }
        esp_ota_img_states_t before;
        bool had_state = otk_device_run_state(&run.dev, &before) == ESP_OK;
        esp_err_t err = otk_device_run_confirm(&run);
        if (o->json) {
            json_outcome(&run, "confirm", err, err == ESP_OK ? NULL : mark_reason(err));
        }
        if (err != ESP_OK) {
            cli_error("%s: cannot confirm %s: %s (%s)", o->flash_path, run.dev.running->label,
                      mark_reason(err), esp_err_to_name(err));
        } else {
            if (!o->json) {
                print_running(had_state && before != ESP_OTA_IMG_VALID ? "confirmed "
                                                                       : "already valid: ",
                              &run.dev);
            }
            rc = CLI_EXIT_OK;
        }
    }
    otk_device_run_close(&run);
    return rc;
}

static int device_rollback(const device_cmd_opts_t *o)
{
    static otk_device_run_t run;
    if (!device_cmd_open(&run, o)) {
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_FAIL;
    if (boot(&run)) {
        if (!o->json) {
            device_note_power_on(stdout, &run);
        }
        char was[OTK_BOOT_LABEL_LEN];
        snprintf(was, sizeof was, "%s", run.dev.running->label);
        uint32_t power_ons = run.power_ons;
        esp_err_t err = otk_device_run_rollback(&run, run.store.selftest);
        bool rebooted = run.power_ons != power_ons;
        if (o->json) {
            json_outcome(&run, "rollback", err, err == ESP_OK ? NULL : mark_reason(err));
        }
        if (!rebooted) {
            cli_error("%s: cannot roll back %s: %s (%s)", o->flash_path, was, mark_reason(err),
                      esp_err_to_name(err));
        } else if (err != ESP_OK) {
            const otk_boot_result_t *r = &run.dev.boot;
            cli_error("%s: %s marked INVALID, but then nothing boots (%s stage): %s",
                      o->flash_path, was, otk_boot_stage_name(r->stage), r->diag.msg);
        } else {
            if (!o->json) {
                printf("%s marked INVALID; rebooted: ", was);
                print_running("", &run.dev);
            }
            rc = CLI_EXIT_OK;
        }
    }
    otk_device_run_close(&run);
    return rc;
}

static int device_status(const device_cmd_opts_t *o)
{
    static otk_device_run_t run, copy;
    if (!device_cmd_open(&run, o)) {
        return CLI_EXIT_FAIL;
    }
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_open_copy(&copy, &run, o->json ? NULL : stdout, &diag) != ESP_OK) {
        cli_error("%s", diag.msg);
        otk_device_run_close(&run);
        return CLI_EXIT_FAIL;
    }
    if (!o->json) {
        device_print_config(&run.store, o->flash_path, run.store_existed);
        printf("next power-on (simulated on a copy of the flash; nothing is changed):\n");
    }
    esp_err_t err = otk_device_run_power_on(&copy, copy.store.selftest);
    if (o->json) {
        json_out_t j;
        json_init(&j, stdout);
        json_object_begin(&j, NULL);
        json_string(&j, "flash", o->flash_path);
        json_bool(&j, "device_file", run.store_existed);
        device_json_config(&j, "device", &run.store);
        /* otadata as it is on the file now (what the copy's boot read before writing),
         * then as the next power-on leaves it. */
        const otk_boot_result_t *r = &copy.dev.boot;
        if (r->has_otadata) {
            json_array_begin(&j, "otadata");
            for (int i = 0; i < OTK_OTADATA_ENTRIES; i++) {
                device_json_entry(&j, NULL, &copy.dev, &r->otadata[i]);
            }
            json_array_end(&j);
        } else {
            json_null(&j, "otadata");
        }
        json_object_begin(&j, "next_power_on");
        device_json_boot(&j, "boot", &copy.dev);
        device_json_app(&j, "app", &copy.dev);
        device_json_selftest(&j, "selftest", &copy.selftest);
        device_json_otadata(&j, "otadata_after", &copy.dev);
        json_object_end(&j);
        json_object_end(&j);
        json_finish(&j);
    }
    otk_device_run_close(&copy);
    otk_device_run_close(&run);
    /* A device that would not boot is still a status worth showing; the exit code says so. */
    return err == ESP_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_device(int argc, char **argv)
{
    if (device_remote_wanted(argc, argv)) {
        return device_remote(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "config") == 0) {
        return device_config(argc - 1, argv + 1);
    }
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*run)(const device_cmd_opts_t *o);
    } cmds[] = {{"confirm", device_confirm}, {"rollback", device_rollback},
                {"status", device_status}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0) {
            continue;
        }
        device_cmd_opts_t o;
        int rc = parse_common(argc - 1, argv + 1, &o);
        if (rc >= 0) {
            return rc;
        }
        otk_log_set_level(o.verbose ? OTK_LOG_INFO : OTK_LOG_NONE);
        return cmds[i].run(&o);
    }
    return cli_usage_error("device", "unknown command '%s'", argv[1]);
}
