/* `otakit image make`: an app image from a payload and app descriptor fields, laid out by
 * the library's builder exactly as esptool's elf2image would lay out the same segments. */
#define _DEFAULT_SOURCE /* localtime_r, gmtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_image.h"
#include "otakit/app_policy.h"

/* Largest payload: a segment must stay below 16 MiB with the 256-byte app desc. */
#define MAKE_MAX_PAYLOAD (OTK_IMAGE_SEGMENT_LEN_LIMIT - sizeof(esp_app_desc_t) - 4u)
/* One app desc segment plus extra segments must fit the 16 an image may hold. */
#define MAKE_MAX_EXTRA_SEGMENTS (OTK_IMAGE_MAX_SEGMENTS - 1u)
#define DEFAULT_IDF_VER "otakit-0.1.0"
/* __DATE__ and __TIME__ formats, which ESP-IDF stores. */
#define DATE_FORMAT "%b %e %Y"
#define TIME_FORMAT "%H:%M:%S"

static void make_usage(FILE *out)
{
    fprintf(out,
            "usage: otakit image make --project-name NAME --version VER [options] PAYLOAD "
            "-o OUT\n\n"
            "Build an app image: segment 0 is the flash-mapped DROM segment holding\n"
            "esp_app_desc_t followed by PAYLOAD (PAYLOAD '-' for none). Layout, padding,\n"
            "checksum and SHA-256 follow esptool's elf2image, so esptool image_info reads\n"
            "the result as valid.\n\n"
            "options:\n"
            "  --chip NAME              esp32 (default), esp32s2, esp32c3, esp32s3, esp32c2,\n"
            "                           esp32c6, esp32h2, esp32p4, esp32c5\n"
            "  --project-name NAME      app desc project_name (cut to 31 characters)\n"
            "  --version VER            app desc version (cut to 31 characters)\n"
            "  --secure-version N       app desc secure_version (anti-rollback), default 0\n"
            "  --idf-ver S              app desc idf_ver (default %s)\n"
            "  --date S, --time S       app desc date/time (default: now, or\n"
            "                           $SOURCE_DATE_EPOCH, as __DATE__ / __TIME__)\n"
            "  --segment ADDR:FILE      one more segment (repeatable): RAM or flash-mapped\n"
            "  --entry ADDR             entry point (default: the chip's IRAM start)\n"
            "  --flash-mode MODE        qio, qout, dio (default), dout\n"
            "  --flash-freq FREQ        e.g. 80m, 40m (default: the chip's ESP-IDF default)\n"
            "  --flash-size SIZE        1MB .. 128MB (default 2MB)\n"
            "  --min-rev-full N         header min_chip_rev_full (major*100+minor), default 0\n"
            "  --max-rev-full N         header max_chip_rev_full, default 0xffff (not set)\n"
            "  --mmu-page-size SIZE     app desc MMU page (configurable-page chips only)\n"
            "  --no-hash                do not append the SHA-256\n"
            "  --secure-pad-v2          pad so the signature sector starts on an MMU page\n"
            "  --selftest pass|fail     put otakit's self-test marker first in the payload:\n"
            "                           on a simulated device the app confirms itself (pass)\n"
            "                           or never does, so it rolls back (fail); see\n"
            "                           docs/device.md\n"
            "  -o, --output OUT         the image file to write\n"
            "  -h, --help               this help\n",
            DEFAULT_IDF_VER);
}

typedef struct {
    otk_image_build_opts_t build;
    otk_image_app_fields_t app;
    const char *chip_name;
    const char *payload_path;
    const char *out_path;
    const char *mode, *freq, *size;
    uint32_t mmu_page;
    size_t n_extra;
    const char *extra_spec[MAKE_MAX_EXTRA_SEGMENTS];
    otk_image_segment_src_t extra[MAKE_MAX_EXTRA_SEGMENTS];
    uint8_t *extra_data[MAKE_MAX_EXTRA_SEGMENTS];
    char date[16], time[16];
    otk_selftest_policy_t selftest; /* AUTO: no marker */
} make_args_t;

static bool u32_option(const char *name, const char *v, uint32_t *out)
{
    if (!cli_parse_u32(v, out)) {
        cli_usage_error("image make", "%s: not a number: '%s'", name, v != NULL ? v : "");
        return false;
    }
    return true;
}

/* Returns CLI_EXIT_OK when argv parsed, else the exit code. */
static int parse_args(int argc, char **argv, make_args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        uint32_t n;
        if (cmd_image_opt(argc, argv, &i, "--chip", &v)) {
            a->chip_name = v;
        } else if (cmd_image_opt(argc, argv, &i, "--project-name", &v)) {
            a->app.project_name = v;
        } else if (cmd_image_opt(argc, argv, &i, "--version", &v)) {
            a->app.version = v;
        } else if (cmd_image_opt(argc, argv, &i, "--idf-ver", &v)) {
            a->app.idf_ver = v;
        } else if (cmd_image_opt(argc, argv, &i, "--date", &v)) {
            a->app.date = v;
        } else if (cmd_image_opt(argc, argv, &i, "--time", &v)) {
            a->app.time = v;
        } else if (cmd_image_opt(argc, argv, &i, "--secure-version", &v)) {
            if (!u32_option("--secure-version", v, &a->app.secure_version)) {
                return CLI_EXIT_USAGE;
            }
        } else if (cmd_image_opt(argc, argv, &i, "--entry", &v)) {
            if (!u32_option("--entry", v, &a->build.entry_addr)) {
                return CLI_EXIT_USAGE;
            }
        } else if (cmd_image_opt(argc, argv, &i, "--min-rev-full", &v)) {
            if (!u32_option("--min-rev-full", v, &n) || n > UINT16_MAX) {
                return CLI_EXIT_USAGE;
            }
            a->build.min_chip_rev_full = (uint16_t)n;
        } else if (cmd_image_opt(argc, argv, &i, "--max-rev-full", &v)) {
            if (!u32_option("--max-rev-full", v, &n) || n > UINT16_MAX) {
                return CLI_EXIT_USAGE;
            }
            a->build.max_chip_rev_full = (uint16_t)n;
        } else if (cmd_image_opt(argc, argv, &i, "--flash-mode", &v)) {
            a->mode = v;
        } else if (cmd_image_opt(argc, argv, &i, "--flash-freq", &v)) {
            a->freq = v;
        } else if (cmd_image_opt(argc, argv, &i, "--flash-size", &v)) {
            a->size = v;
        } else if (cmd_image_opt(argc, argv, &i, "--mmu-page-size", &v)) {
            if (!cli_parse_size(v, &a->mmu_page) || a->mmu_page == 0) {
                return cli_usage_error("image make", "--mmu-page-size: not a size: '%s'",
                                       v != NULL ? v : "");
            }
        } else if (cmd_image_opt(argc, argv, &i, "--segment", &v)) {
            if (v == NULL || a->n_extra >= MAKE_MAX_EXTRA_SEGMENTS) {
                return cli_usage_error("image make", "--segment: ADDR:FILE, at most %u",
                                       MAKE_MAX_EXTRA_SEGMENTS);
            }
            a->extra_spec[a->n_extra++] = v;
        } else if (cmd_image_opt(argc, argv, &i, "-o", &v) ||
                   cmd_image_opt(argc, argv, &i, "--output", &v)) {
            a->out_path = v;
        } else if (cmd_image_opt(argc, argv, &i, "--selftest", &v)) {
            if (!otk_selftest_policy_from_name(v, &a->selftest) ||
                a->selftest == OTK_SELFTEST_AUTO) {
                return cli_usage_error("image make", "--selftest: expected pass or fail");
            }
        } else if (strcmp(argv[i], "--no-hash") == 0) {
            a->build.hash_appended = false;
        } else if (strcmp(argv[i], "--secure-pad-v2") == 0) {
            a->build.secure_pad_v2 = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("image make", "unknown option '%s'", argv[i]);
        } else if (a->payload_path != NULL) {
            return cli_usage_error("image make", "one PAYLOAD only");
        } else {
            a->payload_path = argv[i];
        }
    }
    return CLI_EXIT_OK;
}

/* ADDR:FILE into a segment; the file is read whole. */
static bool load_extra(make_args_t *a, size_t k)
{
    const char *spec = a->extra_spec[k];
    const char *colon = strchr(spec, ':');
    char addr[32];
    uint32_t load;
    size_t al = colon != NULL ? (size_t)(colon - spec) : 0;
    if (colon == NULL || al == 0 || al >= sizeof addr) {
        cli_usage_error("image make", "--segment: expected ADDR:FILE, got '%s'", spec);
        return false;
    }
    memcpy(addr, spec, al);
    addr[al] = '\0';
    if (!cli_parse_u32(addr, &load)) {
        cli_usage_error("image make", "--segment: not an address: '%s'", addr);
        return false;
    }
    size_t len;
    if (!cli_read_file(colon + 1, MAKE_MAX_PAYLOAD, &a->extra_data[k], &len)) {
        return false;
    }
    a->extra[k].load_addr = load;
    a->extra[k].data = a->extra_data[k];
    a->extra[k].len = (uint32_t)len;
    return true;
}

/* __DATE__ / __TIME__ of now, or of $SOURCE_DATE_EPOCH for reproducible images. */
static void default_date_time(make_args_t *a)
{
    struct tm tm;
    time_t t = time(NULL);
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    uint32_t e;
    if (epoch != NULL && cli_parse_u32(epoch, &e)) {
        t = (time_t)e;
        gmtime_r(&t, &tm);
    } else {
        localtime_r(&t, &tm);
    }
    strftime(a->date, sizeof a->date, DATE_FORMAT, &tm);
    strftime(a->time, sizeof a->time, TIME_FORMAT, &tm);
    if (a->app.date == NULL) {
        a->app.date = a->date;
    }
    if (a->app.time == NULL) {
        a->app.time = a->time;
    }
}

static int resolve(make_args_t *a, const otk_image_chip_t **chip_out)
{
    const otk_image_chip_t *chip = otk_image_chip_by_name(a->chip_name);
    if (chip == NULL) {
        return cli_usage_error("image make", "--chip: unknown chip '%s'",
                               a->chip_name != NULL ? a->chip_name : "");
    }
    *chip_out = chip;
    if (a->app.project_name == NULL || a->app.version == NULL) {
        return cli_usage_error("image make", "--project-name and --version are required");
    }
    if (a->payload_path == NULL || a->out_path == NULL) {
        return cli_usage_error("image make", "PAYLOAD and -o OUT are required");
    }
    a->build.chip_id = chip->chip_id;
    a->build.spi_speed = chip->default_spi_speed; /* unless --flash-freq says otherwise */
    if (a->mode != NULL && !otk_image_parse_spi_mode(a->mode, &a->build.spi_mode)) {
        return cli_usage_error("image make", "--flash-mode: expected qio, qout, dio or dout");
    }
    if (a->freq != NULL && !otk_image_parse_flash_freq(chip, a->freq, &a->build.spi_speed)) {
        return cli_usage_error("image make", "--flash-freq: '%s' is not a %s frequency",
                               a->freq, chip->display_name);
    }
    if (a->size != NULL && !otk_image_parse_flash_size(a->size, &a->build.spi_size)) {
        return cli_usage_error("image make", "--flash-size: expected 1MB .. 128MB");
    }
    if (a->mmu_page != 0) {
        uint8_t log2 = 0;
        while (log2 < 31 && (1u << log2) < a->mmu_page) {
            log2++;
        }
        if ((1u << log2) != a->mmu_page) {
            return cli_usage_error("image make", "--mmu-page-size: not a power of two");
        }
        a->app.mmu_page_size_log2 = log2;
    }
    return CLI_EXIT_OK;
}

/* The self-test marker record goes first in the payload, right after esp_app_desc_t,
 * where otk_app_policy_of_image looks for it. */
static bool prepend_selftest_marker(const make_args_t *a, uint8_t **payload, size_t *len)
{
    if (*len > MAKE_MAX_PAYLOAD - OTK_APP_POLICY_RECORD_LEN) {
        cli_error("payload too large for the self-test marker");
        return false;
    }
    uint8_t *with = malloc(*len + OTK_APP_POLICY_RECORD_LEN);
    if (with == NULL) {
        cli_error("out of memory");
        return false;
    }
    otk_app_policy_make_record(a->selftest, with);
    if (*len > 0) {
        memcpy(with + OTK_APP_POLICY_RECORD_LEN, *payload, *len);
    }
    free(*payload);
    *payload = with;
    *len += OTK_APP_POLICY_RECORD_LEN;
    return true;
}

int cmd_image_make(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        make_usage(stdout);
        return CLI_EXIT_OK;
    }
    static make_args_t a; /* large (segment tables); one per process */
    memset(&a, 0, sizeof a);
    otk_image_build_opts_init(&a.build, ESP_CHIP_ID_ESP32);
    a.chip_name = "esp32";
    a.app.idf_ver = DEFAULT_IDF_VER;
    int rc = parse_args(argc, argv, &a);
    const otk_image_chip_t *chip = NULL;
    if (rc == CLI_EXIT_OK) {
        rc = resolve(&a, &chip);
    }
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    default_date_time(&a);

    uint8_t *payload = NULL, *image = NULL;
    size_t payload_len = 0;
    rc = CLI_EXIT_FAIL;
    if (strcmp(a.payload_path, "-") != 0 &&
        !cli_read_file(a.payload_path, MAKE_MAX_PAYLOAD, &payload, &payload_len)) {
        goto out;
    }
    if (a.selftest != OTK_SELFTEST_AUTO && !prepend_selftest_marker(&a, &payload, &payload_len)) {
        goto out;
    }
    for (size_t k = 0; k < a.n_extra; k++) {
        if (!load_extra(&a, k)) {
            rc = CLI_EXIT_USAGE;
            goto out;
        }
    }
    a.build.app = &a.app;
    a.build.payload = payload;
    a.build.payload_len = (uint32_t)payload_len;
    a.build.segments = a.extra;
    a.build.segment_count = a.n_extra;

    size_t need = 0;
    otk_diag_t diag = {{0}};
    esp_err_t err = otk_image_build(&a.build, NULL, 0, &need, &diag);
    if (err != ESP_ERR_INVALID_SIZE) {
        cli_error("cannot build the image: %s", diag.msg);
        goto out;
    }
    image = malloc(need);
    if (image == NULL) {
        cli_error("out of memory for a %zu-byte image", need);
        goto out;
    }
    err = otk_image_build(&a.build, image, need, &need, &diag);
    if (err != ESP_OK) {
        cli_error("cannot build the image: %s", diag.msg);
        goto out;
    }
    if (!cli_write_file(a.out_path, image, need)) {
        goto out;
    }
    printf("Wrote %s: %s app image, %u segments, %zu bytes (project %.31s, version %.31s, "
           "secure_version %u%s%s)\n",
           a.out_path, chip->display_name, image[1], need, a.app.project_name, a.app.version,
           (unsigned)a.app.secure_version, a.selftest != OTK_SELFTEST_AUTO ? ", self-test " : "",
           a.selftest != OTK_SELFTEST_AUTO ? otk_selftest_policy_name(a.selftest) : "");
    rc = CLI_EXIT_OK;
out:
    free(payload);
    free(image);
    for (size_t k = 0; k < a.n_extra; k++) {
        free(a.extra_data[k]);
    }
    return rc;
}
