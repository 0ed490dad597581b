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
#include "pem_key.h"
#include "sbv2_key.h"

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
    "                             (bits only go 0 -> 1: it never goes down)\n"
    "  --manifest-key PEM|none    the P-256 key update manifests must be signed with\n"
    "                             (a public or private key PEM; only its public half is\n"
    "                             kept); none: manifests are not authenticated\n"
    "  --secure-boot on|off       Secure Boot v2 (SECURE_BOOT_EN): only images signed by\n"
    "                             a trusted key boot and install (docs/security.md)\n"
    "  --trust KEY.pem|HEX        burn a key digest into the next blank key_digest eFuse\n"
    "                             block (RSA-3072 or P-256 PEM, public or private; or the\n"
    "                             64 hex digits of `otakit image key-digest`); repeatable\n";

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
    size_t trust_count; /* --trust digests, burnt in this order */
    uint8_t trust[OTK_IMAGE_SIG_MAX_BLOCKS][OTK_SHA256_LEN];
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
    {"secure-boot", "secure_boot"},
};
#define SETTING_COUNT (sizeof settings / sizeof settings[0])
#define OPT_JSON 'j'
#define OPT_BURN 'b'
#define OPT_MANIFEST_KEY 'k'
#define OPT_TRUST 't'
/* "manifest_key = " and 128 hex digits. */
#define KEY_LINE_MAX 160

/* --manifest-key PEM|none as a device-file line: the PEM's public point in hex (read
 * here, with OpenSSL: the device file holds the key itself, as firmware would, not a
 * path that could change under it). Returns -1 when added, else an exit code. */
static int add_key_line(config_opts_t *o, const char *arg)
{
    char line[KEY_LINE_MAX];
    if (strcmp(arg, "none") == 0) {
        snprintf(line, sizeof line, "manifest_key = none\n");
    } else {
        uint8_t xy[OTK_MANIFEST_KEY_LEN];
        otk_diag_t why;
        otk_diag_clear(&why);
        if (!pem_p256_public(arg, xy, &why)) {
            return cli_error("--manifest-key: %s", why.msg);
        }
        int n = snprintf(line, sizeof line, "manifest_key = ");
        for (size_t i = 0; i < sizeof xy; i++) {
            n += snprintf(line + n, sizeof line - (size_t)n, "%02x", xy[i]);
        }
        snprintf(line + n, sizeof line - (size_t)n, "\n");
    }
    size_t n = strlen(line);
    if (n >= sizeof o->lines - o->len) {
        return cli_usage_error("device config", "too many options");
    }
    memcpy(o->lines + o->len, line, n + 1);
    o->len += n;
    o->count++;
    return -1;
}

/* --trust KEY.pem|HEX: the key's Secure Boot v2 digest. Returns -1 when added, else an
 * exit code. */
static int add_trust(config_opts_t *o, const char *arg)
{
    uint8_t digest[OTK_SHA256_LEN];
    if (!sbv2_parse_digest(arg, digest)) {
        sbv2_key_t key;
        otk_diag_t why;
        otk_diag_clear(&why);
        if (!sbv2_key_load(arg, false, &key, &why)) {
            return cli_error("--trust %s", why.msg);
        }
        memcpy(digest, key.digest, sizeof digest);
        sbv2_key_free(&key);
    }
    if (o->trust_count == OTK_IMAGE_SIG_MAX_BLOCKS) {
        return cli_usage_error("device config", "--trust: eFuse holds %u key digests",
                               OTK_IMAGE_SIG_MAX_BLOCKS);
    }
    memcpy(o->trust[o->trust_count++], digest, OTK_SHA256_LEN);
    return -1;
}

/* Burn the --trust digests into blank key digest blocks, lowest first (eFuse blocks are
 * written once; a digest already there is not burnt again). Returns -1 or an exit code. */
static int burn_trust(const config_opts_t *o, otk_image_secure_boot_t *sb)
{
    for (size_t t = 0; t < o->trust_count; t++) {
        int blank = -1;
        bool have = false;
        for (int i = (int)OTK_IMAGE_SIG_MAX_BLOCKS - 1; i >= 0; i--) {
            if (otk_image_sig_digest_blank(sb->key_digest[i])) {
                blank = i;
            } else if (memcmp(sb->key_digest[i], o->trust[t], OTK_SHA256_LEN) == 0) {
                have = true;
            }
        }
        if (have) {
            continue;
        }
        if (blank < 0) {
            return cli_error("--trust: all %u key digest eFuse blocks are burnt already",
                             OTK_IMAGE_SIG_MAX_BLOCKS);
        }
        memcpy(sb->key_digest[blank], o->trust[t], OTK_SHA256_LEN);
    }
    return -1;
}

/* Returns -1 when parsed, else an exit code. */
static int parse_opts(int argc, char **argv, config_opts_t *o)
{
    struct option longopts[SETTING_COUNT + 5];
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        longopts[i] = (struct option){settings[i].option, required_argument, NULL, (int)i};
    }
    longopts[SETTING_COUNT] = (struct option){"json", no_argument, NULL, OPT_JSON};
    longopts[SETTING_COUNT + 1] =
        (struct option){"burn-secure-version", required_argument, NULL, OPT_BURN};
    longopts[SETTING_COUNT + 2] =
        (struct option){"manifest-key", required_argument, NULL, OPT_MANIFEST_KEY};
    longopts[SETTING_COUNT + 3] = (struct option){"trust", required_argument, NULL, OPT_TRUST};
    longopts[SETTING_COUNT + 4] = (struct option){NULL, 0, NULL, 0};
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
        } else if (c == OPT_MANIFEST_KEY) {
            int rc = add_key_line(o, optarg);
            if (rc >= 0) {
                return rc;
            }
        } else if (c == OPT_TRUST) {
            int rc = add_trust(o, optarg);
            if (rc >= 0) {
                return rc;
            }
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
    /* Keys first: secure_boot = on is only accepted with a trusted key. */
    int rc = burn_trust(o, &store->config.secure_boot);
    if (rc >= 0) {
        return rc;
    }
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
    bool change = o.count > 0 || o.burn || o.trust_count > 0;
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
