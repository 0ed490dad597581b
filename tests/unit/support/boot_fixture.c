/* Boot test fixture: see boot_fixture.h. */
#include "boot_fixture.h"

#include <stdio.h>
#include <string.h>

#include "otakit/image.h"
#include "otakit/log.h"
#include "test_support.h"

const char BF_CSV_FACTORY_2OTA[] = "nvs,      data, nvs,     0x9000,  0x4000\n"
                                   "otadata,  data, ota,     0xd000,  0x2000\n"
                                   "phy_init, data, phy,     0xf000,  0x1000\n"
                                   "factory,  app,  factory, 0x10000, 0x10000\n"
                                   "ota_0,    app,  ota_0,   0x20000, 0x10000\n"
                                   "ota_1,    app,  ota_1,   0x30000, 0x10000\n";
const char BF_CSV_2OTA[] = "nvs,      data, nvs,   0x9000,  0x4000\n"
                           "otadata,  data, ota,   0xd000,  0x2000\n"
                           "phy_init, data, phy,   0xf000,  0x1000\n"
                           "ota_0,    app,  ota_0, 0x10000, 0x10000\n"
                           "ota_1,    app,  ota_1, 0x20000, 0x10000\n";
const char BF_CSV_3OTA[] = "otadata, data, ota,   0xd000,  0x2000\n"
                           "ota_0,   app,  ota_0, 0x10000, 0x10000\n"
                           "ota_1,   app,  ota_1, 0x20000, 0x10000\n"
                           "ota_2,   app,  ota_2, 0x30000, 0x10000\n";
const char BF_CSV_FACTORY_4OTA_TEST[] = "otadata, data, ota,     0xd000,  0x2000\n"
                                        "factory, app,  factory, 0x10000, 0x10000\n"
                                        "ota_0,   app,  ota_0,   0x20000, 0x10000\n"
                                        "ota_1,   app,  ota_1,   0x30000, 0x10000\n"
                                        "ota_2,   app,  ota_2,   0x40000, 0x10000\n"
                                        "ota_3,   app,  ota_3,   0x50000, 0x10000\n"
                                        "test,    app,  test,    0x60000, 0x10000\n";
const char BF_CSV_FACTORY_ONLY[] = "nvs,     data, nvs,     0x9000,  0x6000\n"
                                   "factory, app,  factory, 0x10000, 0x10000\n";

/* The payload after the app description: 1 KiB, every byte with bits set so that one can
 * always be cleared to damage the image. */
#define BF_PAYLOAD_LEN 1024u
/* Where bf_corrupt clears a bit: inside the payload, past the 0x20 header bytes and the
 * 256-byte app description. */
#define BF_CORRUPT_OFFSET (OTK_IMAGE_DESC_OFFSET + 0x100u + 0x10u)
#define BF_IMAGE_MAX 0x2000u
#define BF_APP_AREA 0x10000u
#define BF_LOG_MAX 0x10000u

static otk_partition_table_t bf_table;

static void write_table(otk_flash_t *flash, const otk_partition_table_t *table)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_partition_table_write(flash, BF_TABLE_OFFSET, table, true, &diag);
    if (err != ESP_OK) {
        fail_msg("table write: %s %s", esp_err_to_name(err), diag.msg);
    }
    for (size_t i = 0; i < table->count; i++) {
        const esp_partition_t *p = &table->parts[i];
        if (p->type == ESP_PARTITION_TYPE_APP) {
            bf_put_app(flash, p->label, p->label, 0);
        }
    }
}

otk_flash_t *bf_create_table(const otk_partition_table_t *table)
{
    otk_flash_t *flash = NULL;
    assert_int_equal(otk_flash_mem_create(BF_FLASH_SIZE, &flash), ESP_OK);
    write_table(flash, table);
    return flash;
}

otk_flash_t *bf_create(const char *csv)
{
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    static otk_partition_table_t table;
    esp_err_t err = otk_partition_csv_compile(csv, strlen(csv), &opts, &table, NULL, &diag);
    if (err != ESP_OK) {
        fail_msg("csv: %s %s", esp_err_to_name(err), diag.msg);
    }
    return bf_create_table(&table);
}

void bf_destroy(otk_flash_t *flash)
{
    otk_flash_destroy(flash);
}

const esp_partition_t *bf_part(otk_flash_t *flash, const char *label)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_partition_table_load(flash, BF_TABLE_OFFSET,
                                             OTK_PARTITION_RULES_BOOTLOADER, &bf_table, &diag);
    if (err != ESP_OK) {
        fail_msg("table load: %s %s", esp_err_to_name(err), diag.msg);
    }
    const esp_partition_t *p =
        otk_partition_find_first(&bf_table, ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY,
                                 label);
    if (p == NULL) {
        fail_msg("no partition '%s'", label);
    }
    return p;
}

size_t bf_put_app(otk_flash_t *flash, const char *label, const char *version,
                  uint32_t secure_version)
{
    uint8_t payload[BF_PAYLOAD_LEN];
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(0x81u | (i * 7u));
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "boottest";
    app.version = version;
    app.idf_ver = "v6.0";
    app.secure_version = secure_version;
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, BF_CHIP);
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    static uint8_t image[BF_IMAGE_MAX];
    size_t len = 0;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_image_build(&o, image, sizeof image, &len, &diag);
    if (err != ESP_OK) {
        fail_msg("image build: %s %s", esp_err_to_name(err), diag.msg);
    }
    const esp_partition_t *p = bf_part(flash, label);
    assert_int_equal(otk_flash_erase(flash, p->address, BF_APP_AREA), ESP_OK);
    assert_int_equal(otk_flash_program(flash, p->address, image, len), ESP_OK);
    return len;
}

void bf_corrupt(otk_flash_t *flash, const char *label)
{
    const esp_partition_t *p = bf_part(flash, label);
    for (uint32_t off = BF_CORRUPT_OFFSET; off < BF_CORRUPT_OFFSET + BF_PAYLOAD_LEN; off++) {
        uint8_t b;
        assert_int_equal(otk_flash_read(flash, p->address + off, &b, 1), ESP_OK);
        if (b != 0) {
            b = (uint8_t)(b & (b - 1u)); /* clear the lowest set bit: NOR can */
            assert_int_equal(otk_flash_program(flash, p->address + off, &b, 1), ESP_OK);
            return;
        }
    }
    fail_msg("nothing to corrupt in '%s'", label);
}

void bf_erase(otk_flash_t *flash, const char *label)
{
    const esp_partition_t *p = bf_part(flash, label);
    assert_int_equal(otk_flash_erase(flash, p->address, p->size), ESP_OK);
}

esp_ota_select_entry_t bf_entry(uint32_t seq, uint32_t state)
{
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, seq, state, NULL);
    return e;
}

void bf_set_otadata_raw(otk_flash_t *flash, int sector, const esp_ota_select_entry_t *e)
{
    assert_int_equal(otk_otadata_write(bf_part(flash, "otadata"), sector, e), ESP_OK);
}

void bf_set_otadata(otk_flash_t *flash, int sector, uint32_t seq, uint32_t state)
{
    esp_ota_select_entry_t e = bf_entry(seq, state);
    bf_set_otadata_raw(flash, sector, &e);
}

void bf_read_otadata(otk_flash_t *flash, esp_ota_select_entry_t e[2])
{
    assert_int_equal(otk_otadata_read(bf_part(flash, "otadata"), e), ESP_OK);
}

void bf_snapshot_otadata(otk_flash_t *flash, uint8_t out[0x2000])
{
    const esp_partition_t *p = bf_part(flash, "otadata");
    assert_int_equal(otk_flash_read(flash, p->address, out, 0x2000), ESP_OK);
}

void bf_assert_sector(otk_flash_t *flash, int sector, const esp_ota_select_entry_t *want)
{
    uint8_t all[0x2000];
    bf_snapshot_otadata(flash, all);
    const uint8_t *s = all + (size_t)sector * OTK_OTADATA_SECTOR_SIZE;
    assert_memory_equal(s, want, sizeof *want);
    for (size_t i = sizeof *want; i < OTK_OTADATA_SECTOR_SIZE; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

void bf_assert_sector_erased(otk_flash_t *flash, int sector)
{
    uint8_t all[0x2000];
    bf_snapshot_otadata(flash, all);
    const uint8_t *s = all + (size_t)sector * OTK_OTADATA_SECTOR_SIZE;
    for (size_t i = 0; i < OTK_OTADATA_SECTOR_SIZE; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

otk_boot_result_t *bf_boot(otk_flash_t *flash, otk_boot_config_t *cfg)
{
    static otk_boot_result_t result;
    otk_boot_config_t defaults;
    if (cfg == NULL) {
        otk_boot_config_init(&defaults);
        cfg = &defaults;
    }
    esp_err_t err = otk_boot_run(flash, BF_TABLE_OFFSET, cfg, &result);
    assert_int_equal(err, result.err);
    return &result;
}

int bf_refusal_of(const otk_boot_result_t *r, int index)
{
    for (size_t i = 0; i < r->refused_count; i++) {
        if (r->refused[i].index == index) {
            return (int)i;
        }
    }
    return -1;
}

static char bf_log[BF_LOG_MAX];
static size_t bf_log_len;
static otk_log_level_t bf_saved_level;

static void bf_sink(void *ctx, otk_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    size_t n = strlen(line);
    if (bf_log_len + n + 2 < sizeof bf_log) {
        memcpy(bf_log + bf_log_len, line, n);
        bf_log_len += n;
        bf_log[bf_log_len++] = '\n';
        bf_log[bf_log_len] = '\0';
    }
}

void bf_log_start(void)
{
    bf_log_len = 0;
    bf_log[0] = '\0';
    bf_saved_level = otk_log_get_level();
    otk_log_set_level(OTK_LOG_INFO);
    otk_log_set_sink(bf_sink, NULL);
}

void bf_log_stop(void)
{
    otk_log_set_sink(NULL, NULL);
    otk_log_set_level(bf_saved_level);
}

bool bf_log_has(const char *text)
{
    return strstr(bf_log, text) != NULL;
}

const char *bf_log_text(void)
{
    return bf_log;
}
