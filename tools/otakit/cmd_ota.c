/* otakit ota FLASH SOURCE: update a simulated device the way its running app would, with
 * the esp_ota_* sequence of ESP-IDF's OTA examples, on the flash image file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_device.h"
#include "cmd_ota_url.h"
#include "commands.h"
#include "device_json.h"
#include "otakit/log.h"
#include "otakit/ota.h"
#include "otakit/source.h"

static const char USAGE[] =
    "usage: otakit ota FLASH SOURCE [--ca FILE] [--allow-http] [--timeout S] [--json]\n"
    "                  [--verbose]\n\n"
    "Install the app image SOURCE (a file) on the simulated device whose flash is FLASH,\n"
    "as its running app would: esp_ota_get_next_update_partition(NULL), esp_ota_begin\n"
    "with the image size, esp_ota_write in 4 KiB chunks, esp_ota_end (the image is\n"
    "verified), esp_ota_set_boot_partition. The new app boots at the next power-on\n"
    "(`otakit-device --flash FLASH --once`).\n\n"
    "The device is powered on first, because the running app is what updates: the boot\n"
    "layer runs on FLASH (it may sweep an unconfirmed app to ABORTED, mark a NEW app\n"
    "PENDING_VERIFY, burn eFuse bits) and the running app's self-test policy applies, as\n"
    "`otakit-device --once` does. Configuration and eFuses come from FLASH.device.\n\n"
    "An image that does not verify is refused with the reason: nothing is selected, the\n"
    "running slot is untouched (the slot being written may hold part of the image).\n\n"
    "SOURCE may be a URL (https://, http://, file://): the app then downloads it with\n"
    "esp_https_ota (TLS verified; redirects followed; a broken connection continued with a\n"
    "range request). An interrupted download (a power cut, a network error) resumes from\n"
    "FLASH.ota-checkpoint at the next run with the same URL, unless the server's file\n"
    "changed (then it starts again from 0).\n\n"
    "options:\n"
    "  --ca FILE   trust the CA certificates in FILE (PEM) instead of the system store\n"
    "  --allow-http  accept plain http:// (CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP)\n"
    "  --timeout S connect and stall timeout in seconds (default 10 and 30)\n"
    "  --json      one JSON document on stdout (also on failure)\n"
    "  --verbose   the boot log (and the library's log) on stderr\n\n"
    "A progress bar goes to stderr when it is a terminal; otherwise one summary line.\n";

/* The chunk a running app would receive and write at a time (one flash sector). */
#define OTA_CHUNK OTK_FLASH_SECTOR_SIZE
/* Characters of the progress bar. */
#define PROGRESS_WIDTH 30
#define KIB 1024u

typedef struct {
    const char *flash_path;
    const char *source;
    bool json;
    bool verbose;
    ota_url_opts_t url; /* --ca, --allow-http, --timeout */
} ota_opts_t;

typedef struct {
    const char *step;    /* the esp_ota_* call that failed, or a host step */
    esp_err_t err;
    char reason[OTK_DIAG_MAX + 128];
} ota_failure_t;

static int parse_opts(int argc, char **argv, ota_opts_t *o)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"ca", required_argument, NULL, 'c'},
                                             {"allow-http", no_argument, NULL, 'a'},
                                             {"timeout", required_argument, NULL, 't'},
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
        case 'c':
            o->url.ca_file = optarg;
            break;
        case 'a':
            o->url.allow_http = true;
            break;
        case 't':
            if (!ota_url_parse_timeout(optarg, &o->url.timeout_ms)) {
                return cli_usage_error("ota", "--timeout takes seconds (0.1 to 3600)");
            }
            break;
        default:
            return cli_usage_error("ota", "unknown option");
        }
    }
    if (argc - optind != 2) {
        return cli_usage_error("ota", "takes FLASH SOURCE");
    }
    o->flash_path = argv[optind];
    o->source = argv[optind + 1];
    return -1;
}

static void progress(bool tty, const char *label, uint32_t done, uint32_t total)
{
    if (!tty || total == 0) {
        return;
    }
    unsigned pct = (unsigned)((uint64_t)done * 100u / total);
    unsigned fill = (unsigned)((uint64_t)done * PROGRESS_WIDTH / total);
    char bar[PROGRESS_WIDTH + 1];
    memset(bar, '#', fill);
    memset(bar + fill, '.', PROGRESS_WIDTH - fill);
    bar[PROGRESS_WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %3u%% %u/%u KiB", label, bar, pct,
            (unsigned)((done + KIB - 1) / KIB), (unsigned)((total + KIB - 1) / KIB));
    if (done == total) {
        fputc('\n', stderr);
    }
}

/* The engine's error, explained in the terms of this update. */
static void explain(ota_failure_t *f, otk_device_t *dev, const esp_partition_t *target,
                    uint32_t size, otk_image_stream_t *check)
{
    otk_diag_t local;
    otk_diag_clear(&local);
    switch (f->err) {
    case ESP_ERR_OTA_VALIDATE_FAILED:
    case ESP_ERR_IMAGE_INVALID: {
        /* Our own verification of the same bytes knows the field and the offset; with
         * secure boot, the signature sector is the one esp_ota_end read from the slot. */
        static otk_image_info_t info;
        if (otk_image_stream_finish(check, &info, &local) == ESP_OK && info.sig.digest_done) {
            otk_image_sig_check_flash(dev->flash, target->address, &check->opts, &info, &local);
        }
        snprintf(f->reason, sizeof f->reason, "not a valid app image for this device: %s",
                 local.msg[0] != '\0' ? local.msg : "rejected by esp_ota_end");
        break;
    }
    case ESP_ERR_INVALID_SIZE:
        snprintf(f->reason, sizeof f->reason, "an image of %u bytes does not fit %s (0x%x bytes)",
                 (unsigned)size, target->label, (unsigned)target->size);
        break;
    case ESP_ERR_OTA_ROLLBACK_INVALID_STATE:
        snprintf(f->reason, sizeof f->reason,
                 "the running app (%s) is PENDING_VERIFY: ESP-IDF refuses an update until it "
                 "confirms itself (`otakit device confirm`)",
                 dev->running->label);
        break;
    case ESP_ERR_OTA_SMALL_SEC_VER: {
        static otk_image_info_t info; /* the image's descriptor, from our own check */
        otk_image_stream_finish(check, &info, NULL);
        snprintf(f->reason, sizeof f->reason,
                 "anti-rollback: the image's secure_version %u is below the eFuse's %u; "
                 "ESP-IDF refuses it and erases %s",
                 (unsigned)info.app_desc.secure_version,
                 (unsigned)otk_boot_efuse_secure_version(dev->efuse_secure_version,
                                                        dev->config.secure_version_bits),
                 target->label);
        break;
    }
    case ESP_ERR_NOT_FOUND:
        snprintf(f->reason, sizeof f->reason,
                 "the partition table has no otadata partition: %s cannot be selected",
                 target->label);
        break;
    default:
        snprintf(f->reason, sizeof f->reason, "%s", esp_err_to_name(f->err));
        break;
    }
}

/* begin, write in chunks, end, set_boot. On failure fills f (the handle is aborted). */
static bool update(otk_device_t *dev, const esp_partition_t *target, FILE *src, uint32_t size,
                   bool tty, ota_failure_t *f)
{
    static otk_image_stream_t check; /* a few KiB; one update per process */
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    opts.chip_id = dev->config.chip_id;
    opts.check_chip_rev = true;
    opts.chip_rev = dev->config.chip_rev;
    opts.max_size = target->size;
    opts.flash_offset = target->address;
    opts.secure_boot = dev->config.secure_boot;
    otk_image_stream_init(&check, &opts);

    esp_ota_handle_t h = 0;
    f->step = "esp_ota_begin";
    f->err = otk_ota_begin(dev, target, size, &h);
    uint8_t chunk[OTA_CHUNK];
    uint32_t done = 0;
    while (f->err == ESP_OK && done < size) {
        size_t want = size - done < OTA_CHUNK ? size - done : OTA_CHUNK;
        if (fread(chunk, 1, want, src) != want) {
            f->step = "reading SOURCE";
            f->err = ESP_FAIL;
            snprintf(f->reason, sizeof f->reason, "short read at byte %u", (unsigned)done);
            break;
        }
        otk_image_stream_feed(&check, chunk, want, NULL);
        f->step = "esp_ota_write";
        f->err = otk_ota_write(dev, h, chunk, want);
        done += (uint32_t)want;
        progress(tty, target->label, done, size);
    }
    if (f->err == ESP_OK) {
        f->step = "esp_ota_end";
        f->err = otk_ota_end(dev, h);
        h = 0; /* end frees the handle whatever it returns */
    }
    if (f->err == ESP_OK) {
        f->step = "esp_ota_set_boot_partition";
        f->err = otk_ota_set_boot_partition(dev, target);
    }
    if (f->err == ESP_OK) {
        return true;
    }
    if (h != 0) {
        otk_ota_abort(dev, h);
    }
    if (tty && done > 0 && done < size) {
        fputc('\n', stderr);
    }
    if (f->reason[0] == '\0') {
        explain(f, dev, target, size, &check);
    }
    return false;
}

/* The installed image as the device now sees it in its slot. */
static void json_installed(json_out_t *j, otk_device_t *dev, const esp_partition_t *target)
{
    esp_app_desc_t desc;
    esp_ota_img_states_t state;
    if (otk_ota_get_partition_description(dev, target, &desc) == ESP_OK) {
        otk_selftest_policy_t marker = OTK_SELFTEST_AUTO;
        otk_app_policy_read(target, &marker);
        json_object_begin(j, "image");
        json_string_n(j, "project_name", desc.project_name, sizeof desc.project_name);
        json_string_n(j, "version", desc.version, sizeof desc.version);
        json_uint(j, "secure_version", desc.secure_version);
        json_string(j, "selftest_marker", otk_selftest_policy_name(marker));
        json_object_end(j);
    }
    if (otk_ota_get_state_partition(dev, target, &state) == ESP_OK) {
        json_string(j, "state", otk_otadata_state_name(state));
    }
}

static void json_result(const ota_opts_t *o, otk_device_run_t *run,
                        const esp_partition_t *target, uint32_t size, const ota_failure_t *f)
{
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_bool(&j, "ok", f->err == ESP_OK);
    json_string(&j, "flash", o->flash_path);
    json_string(&j, "source", o->source);
    json_uint(&j, "size", size);
    if (target != NULL) {
        json_string(&j, "partition", target->label);
        json_uint(&j, "address", target->address);
    } else {
        json_null(&j, "partition");
        json_null(&j, "address");
    }
    if (f->err != ESP_OK) {
        json_string(&j, "step", f->step);
        json_string(&j, "err", esp_err_to_name(f->err));
        json_string(&j, "reason", f->reason);
    } else if (run != NULL && target != NULL) {
        json_installed(&j, &run->dev, target);
    }
    if (run != NULL) {
        device_json_boot(&j, "boot", &run->dev);
        device_json_app(&j, "running", &run->dev);
        device_json_selftest(&j, "selftest", &run->selftest);
        device_json_otadata(&j, "otadata", &run->dev);
    }
    json_object_end(&j);
    json_finish(&j);
}

static void print_summary(const ota_opts_t *o, otk_device_t *dev,
                          const esp_partition_t *target, uint32_t size)
{
    esp_app_desc_t desc;
    memset(&desc, 0, sizeof desc);
    otk_ota_get_partition_description(dev, target, &desc);
    esp_ota_img_states_t state;
    char state_text[32] = "no otadata entry";
    if (otk_ota_get_state_partition(dev, target, &state) == ESP_OK) {
        snprintf(state_text, sizeof state_text, "%s", otk_otadata_state_name(state));
    }
    otk_selftest_policy_t marker = OTK_SELFTEST_AUTO;
    otk_app_policy_read(target, &marker);
    printf("%s <- %s: %.32s %.32s, %u bytes, verified, boots next (%s)%s\n", target->label,
           o->source, desc.project_name, desc.version, (unsigned)size, state_text,
           marker == OTK_SELFTEST_FAIL ? "; its self-test fails (image marker): it will "
                                         "roll back"
                                       : "");
}

/* Open SOURCE and learn its size before anything touches the device. */
static FILE *open_source(const char *path, uint32_t *size)
{
    FILE *src = fopen(path, "rb");
    struct stat st;
    if (src == NULL) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(src), &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error("%s: not a regular file", path);
    } else if (st.st_size == 0) {
        cli_error("%s: empty file: not an app image", path);
    } else if ((uint64_t)st.st_size > OTK_FLASH_MAX_SIZE) {
        cli_error("%s: %lld bytes: larger than any flash", path, (long long)st.st_size);
    } else {
        *size = (uint32_t)st.st_size;
        return src;
    }
    fclose(src);
    return NULL;
}

static int ota_run(const ota_opts_t *o)
{
    uint32_t size = 0;
    bool is_url = otk_uri_is_url(o->source);
    FILE *src = is_url ? NULL : open_source(o->source, &size);
    if (!is_url && src == NULL) {
        return CLI_EXIT_FAIL;
    }
    static otk_device_run_t run; /* ~50 KiB: not on the stack */
    otk_diag_t diag;
    otk_diag_clear(&diag);
    ota_failure_t f;
    memset(&f, 0, sizeof f);
    const esp_partition_t *target = NULL;
    bool opened = false;

    f.err = otk_device_run_open(&run, o->flash_path, o->verbose ? stderr : NULL, &diag);
    if (f.err != ESP_OK) {
        f.step = "opening the device";
        snprintf(f.reason, sizeof f.reason, "%s", diag.msg);
    } else {
        opened = true;
        f.err = otk_device_run_power_on(&run, run.store.selftest);
        if (f.err != ESP_OK) {
            f.step = "power on";
            snprintf(f.reason, sizeof f.reason, "the device does not boot (%s stage): %s",
                     otk_boot_stage_name(run.dev.boot.stage), run.dev.boot.diag.msg);
        }
    }
    if (f.err == ESP_OK && !o->json && !o->verbose) {
        device_note_power_on(stderr, &run);
    }
    if (f.err == ESP_OK) {
        target = otk_ota_get_next_update_partition(&run.dev, NULL);
        if (target == NULL) {
            f.step = "esp_ota_get_next_update_partition";
            f.err = ESP_ERR_NOT_FOUND;
            snprintf(f.reason, sizeof f.reason,
                     "the partition table has no OTA app slot (ota_0, ota_1, ...) to update");
        }
    }
    if (f.err == ESP_OK && is_url) {
        f.err = ota_url_update(&run, o->source, &o->url, !o->json && isatty(STDERR_FILENO),
                               o->json, &f.step, f.reason, sizeof f.reason, &size);
    } else if (f.err == ESP_OK) {
        update(&run.dev, target, src, size, !o->json && isatty(STDERR_FILENO), &f);
    }
    if (src != NULL) {
        fclose(src);
    }
    if (opened) {
        otk_diag_clear(&diag);
        if (otk_device_run_save(&run, &diag) != ESP_OK) {
            cli_error("%s", diag.msg);
        }
    }
    if (o->json) {
        json_result(o, opened ? &run : NULL, target, size, &f);
    }
    if (f.err == ESP_OK) {
        if (!o->json) {
            print_summary(o, &run.dev, target, size);
        }
    } else {
        cli_error("%s: %s%s%s failed: %s", o->flash_path, f.step, target != NULL ? " on " : "",
                  target != NULL ? target->label : "", f.reason);
    }
    if (opened) {
        otk_device_run_close(&run);
    }
    return f.err == ESP_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_ota(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return CLI_EXIT_OK;
    }
    ota_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    otk_log_set_level(o.verbose ? OTK_LOG_INFO : OTK_LOG_NONE);
    return ota_run(&o);
}
