/* The pristine device of a scenario: its images, its flash (table, flashed app, the setup
 * history run fault-free) and the probe (a fault-free run of the scenario that counts its
 * operations). */
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

#include "otakit/app_policy.h"
#include "otakit/image.h"
#include "otakit/otadata.h"
#include "otakit/partition.h"

/* CONFIG_PARTITION_TABLE_OFFSET's default. */
#define TABLE_OFFSET 0x8000u
/* The images are built for an ESP32-C3 v0.4, the device is one. */
#define CHIP ESP_CHIP_ID_ESP32C3
#define CHIP_REV 4u
/* Payload of each image: with the header, descriptor and hash the image is about 8.5 KiB,
 * three 4 KiB chunks (first, middle, last) and 34 page programs: enough to cut inside
 * each kind of write, small enough that a scenario has a few hundred operations. */
#define IMAGE_PAYLOAD 0x2000u
#define IMAGE_CAP 0x4000u

static bool build_image(const image_spec_t *spec, image_t *img)
{
    uint8_t payload[IMAGE_PAYLOAD];
    uint32_t seed = 0;
    for (const char *c = spec->version; *c != '\0'; c++) {
        seed = seed * 31u + (uint8_t)*c;
    }
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(0x80u | (i * 7u + seed)); /* never 0xFF: every page programs */
    }
    /* The self-test outcome travels in the image (app_policy marker), as a real bad build
     * carries its bug. */
    otk_selftest_policy_t policy =
        spec->selftest == SELFTEST_PASS ? OTK_SELFTEST_PASS : OTK_SELFTEST_FAIL;
    if (otk_app_policy_make_record(policy, payload) != ESP_OK) {
        return false;
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "sweep";
    app.version = spec->version;
    app.idf_ver = "v6.1";
    app.secure_version = spec->secure_version;
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, CHIP);
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    img->bytes = malloc(IMAGE_CAP);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (img->bytes == NULL ||
        otk_image_build(&o, img->bytes, IMAGE_CAP, &img->len, &diag) != ESP_OK) {
        fprintf(stderr, "otakit-sweep: building image %s: %s\n", spec->version, diag.msg);
        return false;
    }
    otk_image_info_t info;
    if (otk_image_verify_buffer(img->bytes, img->len, NULL, &info, &diag) != ESP_OK) {
        fprintf(stderr, "otakit-sweep: image %s does not verify: %s\n", spec->version,
                diag.msg);
        return false;
    }
    memcpy(img->hash, info.hash_computed, sizeof img->hash);
    return true;
}

static bool make_flash(fixture_t *fx)
{
    const scenario_t *sc = fx->sc;
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    static otk_partition_table_t table; /* 5 KiB: off the stack; setup is single-threaded */
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err =
        otk_partition_csv_compile(sc->csv, strlen(sc->csv), &opts, &table, NULL, &diag);
    if (err == ESP_OK) {
        err = otk_flash_mem_create(sc->flash_size, &fx->flash);
    }
    if (err == ESP_OK) {
        err = otk_partition_table_write(fx->flash, TABLE_OFFSET, &table, true, &diag);
    }
    const esp_partition_t *otadata =
        err == ESP_OK ? otk_otadata_find_partition(&table) : NULL;
    if (otadata == NULL) {
        fprintf(stderr, "otakit-sweep: %s: layout: %s %s\n", sc->name, esp_err_to_name(err),
                diag.msg);
        return false;
    }
    fx->otadata_addr = otadata->address;
    if (sc->flashed_image < 0) {
        return true;
    }
    /* The factory flashing tool: erase the partition, write the image. */
    const esp_partition_t *p = otk_partition_find_first(&table, ESP_PARTITION_TYPE_ANY,
                                                        ESP_PARTITION_SUBTYPE_ANY,
                                                        sc->flashed_label);
    const image_t *img = &fx->images[sc->flashed_image];
    if (p == NULL || otk_flash_erase(fx->flash, p->address, p->size) != ESP_OK ||
        otk_flash_program(fx->flash, p->address, img->bytes, img->len) != ESP_OK) {
        fprintf(stderr, "otakit-sweep: %s: flashing %s failed\n", sc->name, sc->flashed_label);
        return false;
    }
    return true;
}

/* The history before the scenario: boot, install the setup images, confirm them. */
static bool run_setup(fixture_t *fx)
{
    static run_t r; /* the device struct is large; setup is single-threaded */
    outcome_t out;
    if (run_init(&r, fx, fx->flash, &out) != ESP_OK) {
        return false;
    }
    r.job = JOB_INSTALL;
    r.targets = fx->sc->setup;
    r.target_count = fx->sc->setup_count;
    r.begin_mode = BEGIN_SIZE_KNOWN;
    run_script(&r);
    otk_flash_set_trace(fx->flash, NULL, NULL);
    if (out.failed) {
        fprintf(stderr, "otakit-sweep: %s: the setup history failed: %s\n", fx->sc->name,
                out.why);
        return false;
    }
    fx->efuse = r.dev.efuse_secure_version;
    fx->nvs = r.nvs;
    fx->running_image = r.running_image;
    fx->running_addr = r.dev.running->address;
    fx->running_size = r.dev.running->size;
    return true;
}

static bool probe(fixture_t *fx)
{
    fx->in_window = calloc(SWEEP_MAX_OPS + 1, 1);
    fx->field_variants = calloc(SWEEP_MAX_OPS + 1, 1);
    fx->op_kind = calloc(SWEEP_MAX_OPS + 1, 1);
    if (fx->in_window == NULL || fx->field_variants == NULL || fx->op_kind == NULL) {
        return false;
    }
    run_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.fx = fx;
    spec.record_probe = true;
    spec.probe = fx;
    outcome_t out;
    run_one(&spec, &out);
    if (out.failed) {
        fprintf(stderr, "otakit-sweep: %s fails without any fault: %s\n", fx->sc->name,
                out.why);
        return false;
    }
    if (out.ops > SWEEP_MAX_OPS) {
        fprintf(stderr, "otakit-sweep: %s has %llu operations, more than the %u the sweep "
                "tables hold\n", fx->sc->name, (unsigned long long)out.ops, SWEEP_MAX_OPS);
        return false;
    }
    fx->ops = out.ops;
    return true;
}

bool fixture_make(fixture_t *fx, const scenario_t *sc)
{
    memset(fx, 0, sizeof *fx);
    fx->sc = sc;
    fx->running_image = -1;
    otk_device_config_init(&fx->config);
    fx->config.chip_id = CHIP;
    fx->config.chip_rev = CHIP_REV;
    fx->config.secure_version_bits = otk_boot_efuse_default_bits(CHIP);
    fx->config.anti_rollback = sc->anti_rollback;
    fx->config.table_offset = TABLE_OFFSET;
    for (size_t i = 0; i < sc->image_count; i++) {
        if (!build_image(&sc->images[i], &fx->images[i])) {
            return false;
        }
    }
    if (!make_flash(fx)) {
        return false;
    }
    /* Without a setup history the scenario starts at the device's very first boot (blank
     * otadata), so the boot layer's initial otadata write is swept too. */
    if (sc->setup_count > 0 && !run_setup(fx)) {
        return false;
    }
    otk_flash_stats_reset(fx->flash);
    return probe(fx);
}

void fixture_free(fixture_t *fx)
{
    for (size_t i = 0; i < SWEEP_MAX_IMAGES; i++) {
        free(fx->images[i].bytes);
    }
    otk_flash_destroy(fx->flash);
    free(fx->in_window);
    free(fx->field_variants);
    free(fx->op_kind);
    memset(fx, 0, sizeof *fx);
}

int fixture_image_of_hash(const fixture_t *fx, const uint8_t hash[32])
{
    for (size_t i = 0; i < fx->sc->image_count; i++) {
        if (memcmp(fx->images[i].hash, hash, 32) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void fixture_verify_opts(const fixture_t *fx, otk_image_verify_opts_t *opts)
{
    otk_image_verify_opts_init(opts);
    opts->kind = OTK_IMAGE_APP;
    opts->chip_id = fx->config.chip_id;
    opts->check_chip_rev = true;
    opts->chip_rev = fx->config.chip_rev;
}
