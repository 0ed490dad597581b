/* The control-path tests' device (hosted_fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosted_fixture.h"
#include "ota_fixture.h"
#include "test_support.h"

static char flash_path[512];
static const char *dir;

const char *hf_dir(void)
{
    return dir;
}

const char *hf_make_device(const char *extra)
{
    dir = ts_make_temp_dir();
    snprintf(flash_path, sizeof flash_path, "%s/dev.bin", dir);
    otk_flash_t *mem = of_flash(OF_CSV_1M, OF_FLASH_SIZE_1M);
    of_put(mem, "factory", "factory", 0);
    uint8_t *bytes = malloc(OF_FLASH_SIZE_1M);
    assert_non_null(bytes);
    assert_int_equal(otk_flash_read(mem, 0, bytes, OF_FLASH_SIZE_1M), ESP_OK);
    otk_flash_t *file;
    assert_int_equal(otk_flash_file_create(flash_path, OF_FLASH_SIZE_1M, &file), ESP_OK);
    assert_int_equal(otk_flash_program(file, 0, bytes, OF_FLASH_SIZE_1M), ESP_OK);
    otk_flash_destroy(file);
    otk_flash_destroy(mem);
    free(bytes);
    char path[600];
    snprintf(path, sizeof path, "%s.device", flash_path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "chip = esp32c3\n%s", extra != NULL ? extra : "");
    fclose(f);
    return flash_path;
}

void hf_open(otk_device_run_t *run, const char *path, FILE *log)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_device_run_open(run, path, log, &diag) != ESP_OK) {
        fail_msg("open %s: %s", path, diag.msg);
    }
    assert_int_equal(otk_device_run_power_on(run, run->store.selftest), ESP_OK);
}

const uint8_t *hf_image_for(uint16_t chip_id, const char *version, uint32_t secure_version,
                            size_t payload_len, size_t *len)
{
    static uint8_t image[0x100000];
    static uint8_t payload[0x100000];
    assert_true(payload_len < sizeof payload);
    uint32_t seed = 0;
    for (const char *c = version; *c != '\0'; c++) {
        seed = seed * 31u + (uint8_t)*c;
    }
    for (size_t i = 0; i < payload_len; i++) {
        payload[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "hostedtest";
    app.version = version;
    app.idf_ver = "v6.1";
    app.secure_version = secure_version;
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, chip_id);
    o.app = &app;
    o.payload = payload;
    o.payload_len = (uint32_t)payload_len;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_image_build(&o, image, sizeof image, len, &diag);
    if (err != ESP_OK) {
        fail_msg("image build: %s %s", esp_err_to_name(err), diag.msg);
    }
    return image;
}

const uint8_t *hf_image(const char *version, size_t payload_len, size_t *len)
{
    return hf_image_for(OF_CHIP, version, 0, payload_len, len);
}

uint8_t *hf_flash_bytes(const char *path, size_t *len)
{
    return ts_read_file(path, len);
}

int hf_exists(const char *path)
{
    return access(path, F_OK) == 0;
}
