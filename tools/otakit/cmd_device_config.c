/* otakit device config FLASH [options]: show or set what the simulated device keeps in
 * FLASH.device. Options are turned into "key = value" lines and applied with the device
 * file's own parser, so the command line and the file accept exactly the same values. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmd_device.h"
#include "device_json.h"

static const char USAGE[] =
    "usage: otakit device config FLASH [options] [--json]\n\n"
    "Show the simulated device's persisted options (FLASH.device), or set them. A device\n"
    "without the file has the defaults; setting an option creates it.\n\n"
    "options (each sets one key of the file; docs/device.md):\n"
    "  --chip NAME                esp32, esp32s2, esp32c3, ... (also resets\n"
    "                             --secure-version-bits to the chip's default)\n"
    "  --chip-rev N               major * 100 + minor (300 = v3.0)\n"
    "  --rollback on|off          CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE\n"
    "  --anti-rollback on|off     CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK (needs rollback)\n"
    "  --secure-version-bits N    the eFuse field's width, 1..32\n"
    "  --table-offset ADDR        CONFIG_PARTITION_TABLE_OFFSET\n"
    "  --table-md5 on|off         CONFIG_PARTITION_TABLE_MD5\n"
    "  --otadata-rule v6|v5       set_boot on the selected slot: rewrite (v6) or not (v5)\n"
    "  --selftest auto|pass|fail  the app's self-test: auto follows the image's marker\n"
    "  --burn-secure-version N    burn eFuse bits so the secure version is at least N\n"
    "                             (bits only go 0 -> 1: it never goes down)\n";

/* One option per key of the device file, plus the eFuse burn. */
#define CONFIG_MAX_SETTINGS 16
#define SETTING_LINE_MAX 96
/* Text of all settings as device-file lines. */
#define SETTINGS_TEXT_MAX (CONFIG_MAX_SETTINGS * SETTING_LINE_MAX)

typedef struct {
    const char *flash_path;
    bool json;
    size_t count;
    char lines[SETTINGS_TEXT_MAX];
    size_t len;
    bool burn;
    uint32_t burn_version;
} config_opts_t;

static const struct {
    const char *option;
    const char *key;
} settings[] = {
    {"chip", "chip"},
    {"chip-rev", "chip_rev"},
    {"rollback", "rollback"},
    {"anti-rollback", "anti_rollback"},
    {"secure-version-bits", "secure_version_bits"},
    {"table-offset", "table_offset"},
    {"table-md5", "table_md5"},
    {"otadata-rule", "otadata_rule"},
    {"selftest", "selftest"},
};
#define SETTING_COUNT (sizeof settings / sizeof settings[0])
#define OPT_JSON 'j'
#define OPT_BURN 'b'

/* Returns -1 when parsed, else an exit code. */
static int parse_opts(int argc, char **argv, config_opts_t *o)
{
    struct option longopts[SETTING_COUNT + 3];
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        longopts[i] = (struct option){settings[i].option, required_argument, NULL, (int)i};
    }
    longopts[SETTING_COUNT] = (struct option){"json", no_argument, NULL, OPT_JSON};
    longopts[SETTING_COUNT + 1] =
        (struct option){"burn-secure-version", required_argument, NULL, OPT_BURN};
    longopts[SETTING_COUNT + 2] = (struct option){NULL, 0, NULL, 0};
    memset(o, 0, sizeof *o);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c >= 0 && (size_t)c < SETTING_COUNT) {
            int n = snprintf(o->lines + o->len, sizeof o->lines - o->len, "%s = %s\n",
                             settings[c].key, optarg);
            if (n < 0 || (size_t)n >= sizeof o->lines - o->len || n > SETTING_LINE_MAX) {
                return cli_usage_error("device config", "--%s: value too long",
                                       settings[c].option);
            }
            o->len += (size_t)n;
            o->count++;
        } else if (c == OPT_JSON) {
            o->json = true;
        } else if (c == OPT_BURN) {
            if (!cli_parse_u32(optarg, &o->burn_version)) {
                return cli_usage_error("device config", "--burn-secure-version %s: not a number",
                                       optarg);
            }
            o->burn = true;
        } else {
            return cli_usage_error("device config", "unknown option");
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error("device config", "takes FLASH");
    }
    o->flash_path = argv[optind];
    return -1;
}

void device_print_config(const otk_device_store_t *store, const char *flash_path,
                         bool existed)
{
    char text[OTK_DEVICE_STORE_TEXT_MAX];
    if (otk_device_store_format(store, text, sizeof text, NULL) != ESP_OK) {
        return;
    }
    printf("device file %s%s%s\n", flash_path, OTK_DEVICE_STORE_SUFFIX,
           existed ? "" : ": not there yet (a new device: the defaults)");
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] != '#') {
            printf("  %s\n", line);
        }
    }
    printf("  (eFuse secure version %u)\n",
           (unsigned)otk_boot_efuse_secure_version(store->efuse_secure_version,
                                                   store->config.secure_version_bits));
}

static int apply(config_opts_t *o, otk_device_store_t *store)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (o->count > 0 && otk_device_store_parse(o->lines, o->len, store, &diag) != ESP_OK) {
        /* "line N: ..." names the Nth option; the rest says which and why. */
        const char *msg = strchr(diag.msg, ':');
        return cli_usage_error("device config", "%s", msg != NULL ? msg + 2 : diag.msg);
    }
    if (o->burn) {
        esp_err_t err = otk_boot_efuse_raise(&store->efuse_secure_version,
                                             store->config.secure_version_bits, o->burn_version);
        if (err != ESP_OK) {
            return cli_usage_error("device config",
                                   "--burn-secure-version %u: the eFuse field has %u bits",
                                   (unsigned)o->burn_version,
                                   (unsigned)store->config.secure_version_bits);
        }
    }
    return -1;
}

int device_config(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return CLI_EXIT_OK;
    }
    static config_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    /* The device file belongs to a flash image: refuse to make one for a mistyped path. */
    struct stat st;
    if (stat(o.flash_path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return cli_error("%s: no such flash image (make one with `otakit flash create`)",
                         o.flash_path);
    }
    otk_device_store_t store;
    bool existed = false;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_store_load(o.flash_path, &store, &existed, &diag) != ESP_OK) {
        return cli_error("%s", diag.msg);
    }
    bool change = o.count > 0 || o.burn;
    if (change) {
        rc = apply(&o, &store);
        if (rc >= 0) {
            return rc;
        }
        if (otk_device_store_save(o.flash_path, &store, &diag) != ESP_OK) {
            return cli_error("%s", diag.msg);
        }
        existed = true;
    }
    if (o.json) {
        json_out_t j;
        json_init(&j, stdout);
        json_object_begin(&j, NULL);
        json_string(&j, "flash", o.flash_path);
        json_bool(&j, "device_file", existed);
        json_bool(&j, "changed", change);
        device_json_config(&j, "device", &store);
        json_object_end(&j);
        json_finish(&j);
    } else {
        device_print_config(&store, o.flash_path, existed);
    }
    return CLI_EXIT_OK;
}
