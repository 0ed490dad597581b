/* Host main of the HTTPS OTA example: what the ROM, the bootloader and ESP-IDF's startup
 * do around app_main, on a simulated device whose flash is an image file.
 *
 *   example-https_ota --flash FLASH [--url URL] [--ca FILE] [--allow-http] [--max-boots N]
 *
 * --url and --ca give the app what a chip has from menuconfig and its embedded CA
 * certificate; --allow-http is CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP. The device (configuration,
 * eFuses) comes from FLASH.device when it exists; a changed eFuse is saved back. The
 * device runs app_main and reboots whenever the app restarts; a summary line says what
 * runs at the end. Exit status: 0 when app_main returned, 1 when it was still restarting
 * at the boot limit or the device did not boot, 2 for a usage error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_system.h"
#include "otakit/device.h"
#include "otakit/device_store.h"
#include "otakit/esp_host.h"
#include "otakit/flash.h"
#include "otakit/https_ota.h"
#include "otakit/log.h"
#include "otakit/ota.h"

/* An update and its confirmation take two boots; six leave room. */
#define DEFAULT_MAX_BOOTS 6u
#define MAX_BOOTS_LIMIT 1000ul
/* A CA bundle file is a few KiB; a system bundle some 200 KiB. */
#define CA_FILE_MAX (1024u * 1024u)

static const char USAGE[] =
    "usage: example-https_ota --flash FLASH [--url URL] [--ca FILE] [--allow-http]\n"
    "                         [--max-boots N]\n"
    "Runs ESP-IDF's HTTPS OTA example app (esp_https_ota) on a simulated device in FLASH.\n"
    "  --url URL      the firmware's URL (menuconfig's CONFIG_EXAMPLE_FIRMWARE_UPGRADE_URL)\n"
    "  --ca FILE      the server's CA certificate (PEM), embedded in the firmware on a chip;\n"
    "                 without it the app attaches the certificate bundle (system store)\n"
    "  --allow-http   CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP=y\n"
    "  --max-boots N  stop after N power-ons (default 6)\n";

typedef struct {
    const char *flash, *url, *ca;
    bool allow_http;
    unsigned max_boots;
} args_t;

static int usage_error(const char *what)
{
    fprintf(stderr, "example-https_ota: %s\n%s", what, USAGE);
    return 2;
}

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
        if (strcmp(opt, "--allow-http") == 0) {
            a->allow_http = true;
            continue;
        }
        if (i + 1 == argc) {
            return usage_error("an option is missing its value");
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--flash") == 0) {
            a->flash = val;
        } else if (strcmp(opt, "--url") == 0) {
            a->url = val;
        } else if (strcmp(opt, "--ca") == 0) {
            a->ca = val;
        } else if (strcmp(opt, "--max-boots") == 0) {
            char *end;
            unsigned long n = strtoul(val, &end, 10);
            if (*end != '\0' || n == 0 || n > MAX_BOOTS_LIMIT) {
                return usage_error("--max-boots takes a number from 1 to 1000");
            }
            a->max_boots = (unsigned)n;
        } else {
            return usage_error("unknown option");
        }
    }
    return a->flash != NULL ? -1 : usage_error("--flash FLASH is required");
}

/* The CA file's text into the environment: the app reads it as its embedded PEM. */
static bool export_ca(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "example-https_ota: cannot open %s\n", path);
        return false;
    }
    char *pem = malloc(CA_FILE_MAX + 1);
    size_t n = pem != NULL ? fread(pem, 1, CA_FILE_MAX + 1, f) : 0;
    fclose(f);
    bool ok = pem != NULL && n > 0 && n <= CA_FILE_MAX;
    if (ok) {
        pem[n] = '\0';
        ok = setenv("EXAMPLE_SERVER_CERT_PEM", pem, 1) == 0;
    }
    if (!ok) {
        fprintf(stderr, "example-https_ota: %s: not a usable CA file\n", path);
    }
    free(pem);
    return ok;
}

static void on_boot(void *ctx, otk_device_t *dev, const otk_esp_boot_record_t *rec)
{
    (void)ctx;
    (void)dev;
    printf("host: boot %u: %s\n", rec->number,
           rec->end == OTK_ESP_BOOT_FAILED ? "the device did not boot" : rec->label);
    fflush(stdout);
}

static esp_err_t run_device(const args_t *a, otk_flash_t *flash, otk_device_store_t *store)
{
    static otk_device_t dev; /* tens of KiB: not on the stack */
    esp_err_t err = otk_device_init(&dev, flash, &store->config, store->efuse_secure_version);
    if (err != ESP_OK) {
        fprintf(stderr, "example-https_ota: device init: %s\n", esp_err_to_name(err));
        return err;
    }
    otk_esp_run_opts_t opts;
    otk_esp_run_opts_init(&opts);
    opts.max_boots = a->max_boots;
    opts.on_boot = on_boot;
    static otk_esp_run_result_t res;
    err = otk_esp_run_app(&dev, app_main, &opts, &res);
    const esp_app_desc_t *app = otk_device_running_app(&dev);
    printf("summary: boots=%u restarts=%u stop=%s running=%s version=%.32s\n", res.boots,
           res.restarts, otk_esp_stop_name(res.stop),
           dev.running != NULL ? dev.running->label : "-",
           app != NULL ? app->version : "-");
    otk_esp_set_current_device(NULL);
    if (dev.efuse_secure_version != store->efuse_secure_version) {
        store->efuse_secure_version = dev.efuse_secure_version;
        otk_diag_t diag;
        otk_diag_clear(&diag);
        if (otk_device_store_save(a->flash, store, &diag) != ESP_OK) {
            fprintf(stderr, "example-https_ota: saving the eFuse state: %s\n", diag.msg);
        }
    }
    return err;
}

int main(int argc, char **argv)
{
    args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        return rc;
    }
    if ((a.url != NULL && setenv("EXAMPLE_FIRMWARE_UPGRADE_URL", a.url, 1) != 0) ||
        (a.ca != NULL && !export_ca(a.ca))) {
        return 1;
    }
    otk_esp_https_ota_set_allow_http(a.allow_http);
    otk_log_set_level(OTK_LOG_INFO); /* ESP-IDF's default: the INFO lines show */
    otk_device_store_t store;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_store_load(a.flash, &store, NULL, &diag) != ESP_OK) {
        fprintf(stderr, "example-https_ota: device file: %s\n", diag.msg);
        return 1;
    }
    otk_flash_t *flash = NULL;
    esp_err_t err = otk_flash_file_open(a.flash, &flash);
    if (err != ESP_OK) {
        fprintf(stderr, "example-https_ota: %s: cannot open the flash image: %s\n", a.flash,
                esp_err_to_name(err));
        return 1;
    }
    err = run_device(&a, flash, &store);
    esp_err_t sync_err = otk_flash_sync(flash);
    otk_flash_destroy(flash);
    return err == ESP_OK && sync_err == ESP_OK ? 0 : 1;
}
