/* Host main of the native OTA example: what the ROM, the bootloader and ESP-IDF's startup
 * do around app_main, done on a simulated device whose flash is an image file.
 *
 *   example-native_ota --flash FLASH [--update FILE] [--selftest pass|fail] [--max-boots N]
 *
 * --update sets what the app reads in place of its menuconfig URL. Its diagnostic GPIO
 * (the self-test outcome) is set before each boot: --selftest if given, else the device's
 * own option (FLASH.device, otakit/device_store.h), else the marker the running image
 * carries (otakit image make --selftest), else pass. The device (configuration, eFuses)
 * comes from FLASH.device when it exists; a changed eFuse is saved back. The device runs
 * app_main, reboots whenever the app restarts, and a summary says what booted and why the
 * run stopped. Exit status: 0 when app_main returned, 1 when it was still restarting at the
 * boot limit or the device did not boot, 2 for a usage error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_system.h"
#include "otakit/app_policy.h"
#include "otakit/device.h"
#include "otakit/device_store.h"
#include "otakit/esp_host.h"
#include "otakit/flash.h"
#include "otakit/log.h"
#include "otakit/ota.h"
#include "otakit/otadata.h"

/* An update plus its confirmation or rollback takes three boots; eight leaves room. */
#define DEFAULT_MAX_BOOTS 8u

static const char USAGE[] =
    "usage: example-native_ota --flash FLASH [--update FILE] [--selftest pass|fail]\n"
    "                          [--max-boots N]\n"
    "Runs ESP-IDF's native OTA flow as an app on a simulated device in FLASH.\n"
    "  --update FILE        the new firmware image (on a chip: the download URL)\n"
    "  --selftest pass|fail what the app's self-test reports on an image's first boot\n"
    "                       (default: FLASH.device's selftest, else the image's marker)\n"
    "  --max-boots N        stop after N power-ons (default 8)\n";

typedef struct {
    const char *flash;
    const char *update;
    otk_selftest_policy_t selftest; /* AUTO: not given */
    unsigned max_boots;
} args_t;

/* Handed to the boot hook. */
typedef struct {
    otk_selftest_policy_t selftest_override; /* from --selftest or the device file */
} host_t;

static int usage_error(const char *what)
{
    fprintf(stderr, "example-native_ota: %s\n%s", what, USAGE);
    return 2;
}

/* Returns -1 when parsed, else an exit status. */
static int parse_args(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof *a);
    a->max_boots = DEFAULT_MAX_BOOTS;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (i + 1 == argc) {
            return usage_error("an option is missing its value");
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--flash") == 0) {
            a->flash = val;
        } else if (strcmp(opt, "--update") == 0) {
            a->update = val;
        } else if (strcmp(opt, "--selftest") == 0) {
            if (!otk_selftest_policy_from_name(val, &a->selftest) ||
                a->selftest == OTK_SELFTEST_AUTO) {
                return usage_error("--selftest takes pass or fail");
            }
        } else if (strcmp(opt, "--max-boots") == 0) {
            char *end;
            unsigned long n = strtoul(val, &end, 10);
            if (*end != '\0' || n == 0 || n > 1000) {
                return usage_error("--max-boots takes a number from 1 to 1000");
            }
            a->max_boots = (unsigned)n;
        } else {
            return usage_error("unknown option");
        }
    }
    return a->flash != NULL ? -1 : usage_error("--flash FLASH is required");
}

static const char *state_text(const char *label, esp_ota_img_states_t state)
{
    if (label[0] == '\0') {
        return "-";
    }
    return state == ESP_OTA_IMG_UNDEFINED ? "none" : otk_otadata_state_name(state);
}

/* The board's diagnostic input for this boot: what the app's self-test will report. */
static otk_selftest_policy_t set_diagnostic_pin(const host_t *host, otk_device_t *dev)
{
    otk_selftest_policy_t marker = OTK_SELFTEST_AUTO;
    if (otk_app_policy_read(dev->running, &marker) != ESP_OK) {
        marker = OTK_SELFTEST_AUTO; /* unreadable: as if the image had no marker */
    }
    otk_selftest_policy_t outcome = otk_app_policy_resolve(host->selftest_override, marker);
    setenv("EXAMPLE_DIAGNOSTIC", otk_selftest_policy_name(outcome), 1);
    return outcome;
}

static void on_boot(void *ctx, otk_device_t *dev, const otk_esp_boot_record_t *rec)
{
    if (rec->end == OTK_ESP_BOOT_FAILED) {
        printf("host: boot %u: the device did not boot: %s\n", rec->number,
               esp_err_to_name(rec->err));
    } else {
        otk_selftest_policy_t pin = set_diagnostic_pin(ctx, dev);
        printf("host: boot %u: running '%s' version '%s' state %s, self-test %s\n",
               rec->number, rec->label, rec->version, state_text(rec->label, rec->state),
               otk_selftest_policy_name(pin));
    }
    fflush(stdout); /* before the app's log lines on stderr */
}

/* One line per boot, then key=value facts a script can read. */
static void print_summary(otk_device_t *dev, const otk_esp_run_result_t *res)
{
    for (size_t i = 0; i < res->record_count; i++) {
        const otk_esp_boot_record_t *r = &res->records[i];
        printf("boot %u: %s version '%s' state %s -> %s\n", r->number,
               r->label[0] ? r->label : "-", r->version, state_text(r->label, r->state),
               otk_esp_boot_end_name(r->end));
    }
    const esp_partition_t *running = otk_ota_get_running_partition(dev);
    const esp_app_desc_t *app = otk_device_running_app(dev);
    esp_ota_img_states_t state = ESP_OTA_IMG_UNDEFINED;
    if (running != NULL && otk_ota_get_state_partition(dev, running, &state) != ESP_OK) {
        state = ESP_OTA_IMG_UNDEFINED;
    }
    const esp_partition_t *invalid = otk_ota_get_last_invalid_partition(dev);
    const char *label = running != NULL ? running->label : "";
    printf("summary: boots=%u restarts=%u stop=%s running=%s version=%.32s state=%s "
           "last_invalid=%s\n",
           res->boots, res->restarts, otk_esp_stop_name(res->stop), label[0] ? label : "-",
           app != NULL && app->version[0] ? app->version : "-", state_text(label, state),
           invalid != NULL ? invalid->label : "-");
}

/* The device beside the flash file: its configuration and eFuses. */
static bool load_device(const char *flash_path, otk_device_store_t *store)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_device_store_load(flash_path, store, NULL, &diag);
    if (err != ESP_OK) {
        fprintf(stderr, "example-native_ota: device file: %s (%s)\n", diag.msg,
                esp_err_to_name(err));
        return false;
    }
    return true;
}

/* eFuse bits burnt during the run (anti-rollback) stay burnt: keep them in the device
 * file. Nothing else changes, so an unchanged device writes nothing. */
static bool save_efuse(const char *flash_path, otk_device_store_t *store,
                       const otk_device_t *dev)
{
    if (dev->efuse_secure_version == store->efuse_secure_version) {
        return true;
    }
    store->efuse_secure_version = dev->efuse_secure_version;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_store_save(flash_path, store, &diag) != ESP_OK) {
        fprintf(stderr, "example-native_ota: saving the eFuse state: %s\n", diag.msg);
        return false;
    }
    return true;
}

static esp_err_t run_device(const args_t *a, otk_flash_t *flash, otk_device_store_t *store,
                            bool *store_ok)
{
    static otk_device_t dev; /* about 40 KiB: not on the stack */
    esp_err_t err = otk_device_init(&dev, flash, &store->config, store->efuse_secure_version);
    if (err != ESP_OK) {
        fprintf(stderr, "example-native_ota: device init: %s\n", esp_err_to_name(err));
        *store_ok = true; /* nothing ran, nothing to save */
        return err;
    }
    host_t host = {.selftest_override = a->selftest != OTK_SELFTEST_AUTO ? a->selftest
                                                                         : store->selftest};
    otk_esp_run_opts_t opts;
    otk_esp_run_opts_init(&opts);
    opts.max_boots = a->max_boots;
    opts.on_boot = on_boot;
    opts.ctx = &host;
    static otk_esp_run_result_t res;
    err = otk_esp_run_app(&dev, app_main, &opts, &res);
    print_summary(&dev, &res);
    otk_esp_set_current_device(NULL);
    if (err != ESP_OK) {
        fprintf(stderr, "example-native_ota: the run stopped (%s): %s\n",
                otk_esp_stop_name(res.stop), esp_err_to_name(err));
    }
    *store_ok = save_efuse(a->flash, store, &dev);
    return err;
}

int main(int argc, char **argv)
{
    args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        return rc;
    }
    /* What the app reads instead of its menuconfig URL (see app_main.c). */
    if (a.update != NULL && setenv("EXAMPLE_FIRMWARE_UPG_URL", a.update, 1) != 0) {
        return usage_error("cannot set the update source");
    }
    /* ESP-IDF's default log level: the app's and the bootloader's INFO lines show. */
    otk_log_set_level(OTK_LOG_INFO);

    otk_device_store_t store;
    if (!load_device(a.flash, &store)) {
        return 1;
    }
    otk_flash_t *flash = NULL;
    esp_err_t err = otk_flash_file_open(a.flash, &flash);
    if (err != ESP_OK) {
        fprintf(stderr, "example-native_ota: %s: cannot open the flash image: %s\n", a.flash,
                esp_err_to_name(err));
        return 1;
    }
    bool store_ok = false;
    err = run_device(&a, flash, &store, &store_ok);
    esp_err_t sync_err = otk_flash_sync(flash);
    otk_flash_destroy(flash);
    if (sync_err != ESP_OK) {
        fprintf(stderr, "example-native_ota: %s: writing the flash back: %s\n", a.flash,
                esp_err_to_name(sync_err));
        return 1;
    }
    return err == ESP_OK && store_ok ? 0 : 1;
}
