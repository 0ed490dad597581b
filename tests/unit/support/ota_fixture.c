/* OTA test fixture: see ota_fixture.h. */
#include "ota_fixture.h"

#include <string.h>

#include "otakit/crypto.h"
#include "otakit/image.h"
#include "otakit/otadata.h"
#include "otakit/partition.h"
#include "test_support.h"

const char OF_CSV_FACTORY_2OTA[] = "otadata, data, ota,       0xd000,  0x2000\n"
                                   "factory, app,  factory,   0x10000, 0x10000\n"
                                   "ota_0,   app,  ota_0,     0x20000, 0x10000\n"
                                   "ota_1,   app,  ota_1,     0x30000, 0x10000\n"
                                   "spare,   data, undefined, 0x40000, 0x10000\n"
                                   "tiny,    data, undefined, 0x50000, 0x4000\n"
                                   "pt_ota,  partition_table, ota, 0x54000, 0x1000\n"
                                   "bl_ota,  bootloader, ota,  0x58000, 0x8000\n";
const char OF_CSV_2OTA[] = "otadata, data, ota,   0xd000,  0x2000\n"
                           "ota_0,   app,  ota_0, 0x10000, 0x10000\n"
                           "ota_1,   app,  ota_1, 0x20000, 0x10000\n";
const char OF_CSV_FACTORY_3OTA[] = "otadata, data, ota,     0xd000,  0x2000\n"
                                   "factory, app,  factory, 0x10000, 0x10000\n"
                                   "ota_0,   app,  ota_0,   0x20000, 0x10000\n"
                                   "ota_1,   app,  ota_1,   0x30000, 0x10000\n"
                                   "ota_2,   app,  ota_2,   0x40000, 0x10000\n";
const char OF_CSV_3OTA[] = "otadata, data, ota,   0xd000,  0x2000\n"
                           "ota_0,   app,  ota_0, 0x10000, 0x10000\n"
                           "ota_1,   app,  ota_1, 0x20000, 0x10000\n"
                           "ota_2,   app,  ota_2, 0x30000, 0x10000\n";
const char OF_CSV_FACTORY_ONLY[] = "nvs,     data, nvs,     0x9000,  0x6000\n"
                                   "factory, app,  factory, 0x10000, 0x10000\n";
const char OF_CSV_1M[] = "nvs,      data, nvs,     ,        0x4000\n"
                         "otadata,  data, ota,     ,        0x2000\n"
                         "phy_init, data, phy,     ,        0x1000\n"
                         "factory,  app,  factory, ,        1M\n"
                         "ota_0,    app,  ota_0,   ,        1M\n"
                         "ota_1,    app,  ota_1,   ,        1M\n";

otk_flash_t *of_flash(const char *csv, uint32_t flash_size)
{
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    opts.primary_bootloader_offset = 0; /* lets a layout hold bootloader-type entries */
    static otk_partition_table_t table;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_partition_csv_compile(csv, strlen(csv), &opts, &table, NULL, &diag);
    if (err != ESP_OK) {
        fail_msg("csv: %s %s", esp_err_to_name(err), diag.msg);
    }
    otk_flash_t *flash = NULL;
    assert_int_equal(otk_flash_mem_create(flash_size, &flash), ESP_OK);
    err = otk_partition_table_write(flash, OF_TABLE_OFFSET, &table, true, &diag);
    if (err != ESP_OK) {
        fail_msg("table write: %s %s", esp_err_to_name(err), diag.msg);
    }
    return flash;
}

size_t of_build(uint8_t *out, size_t cap, const char *version, uint32_t secure_version,
                size_t payload_len)
{
    static uint8_t payload[0x100000];
    assert_true(payload_len <= sizeof payload);
    uint32_t seed = 0;
    for (const char *c = version; *c != '\0'; c++) {
        seed = seed * 31u + (uint8_t)*c;
    }
    for (size_t i = 0; i < payload_len; i++) {
        payload[i] = (uint8_t)(0x80u | (i * 7u + seed)); /* never 0: a bit to clear */
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "otatest";
    app.version = version;
    app.idf_ver = "v6.1";
    app.secure_version = secure_version;
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, OF_CHIP);
    o.app = &app;
    o.payload = payload;
    o.payload_len = (uint32_t)payload_len;
    size_t len = 0;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_image_build(&o, out, cap, &len, &diag);
    if (err != ESP_OK) {
        fail_msg("image build: %s %s", esp_err_to_name(err), diag.msg);
    }
    return len;
}

const uint8_t *of_image(const char *version, uint32_t secure_version, size_t *len)
{
    static uint8_t image[OF_IMAGE_MAX];
    *len = of_build(image, sizeof image, version, secure_version, OF_PAYLOAD_LEN);
    return image;
}

void of_put(otk_flash_t *flash, const char *label, const char *version,
            uint32_t secure_version)
{
    static otk_partition_table_t table;
    assert_int_equal(otk_partition_table_load(flash, OF_TABLE_OFFSET, OTK_PARTITION_RULES_APP,
                                              &table, NULL),
                     ESP_OK);
    const esp_partition_t *p =
        otk_partition_find_first(&table, ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, label);
    assert_non_null(p);
    size_t len = 0;
    const uint8_t *image = of_image(version, secure_version, &len);
    assert_int_equal(otk_flash_erase(flash, p->address, p->size), ESP_OK);
    assert_int_equal(otk_flash_program(flash, p->address, image, len), ESP_OK);
}

void of_config(otk_device_config_t *cfg)
{
    otk_device_config_init(cfg);
    cfg->chip_id = OF_CHIP;
    cfg->chip_rev = 4; /* v0.4 */
    cfg->secure_version_bits = otk_boot_efuse_default_bits(OF_CHIP);
}

void of_start(otk_device_t *dev, otk_flash_t *flash, const otk_device_config_t *cfg,
              uint32_t efuse)
{
    otk_device_config_t defaults;
    if (cfg == NULL) {
        of_config(&defaults);
        cfg = &defaults;
    }
    assert_int_equal(otk_device_init(dev, flash, cfg, efuse), ESP_OK);
    of_reboot(dev);
}

void of_reboot(otk_device_t *dev)
{
    esp_err_t err = otk_device_power_on(dev);
    if (err != ESP_OK) {
        fail_msg("power on: %s (%s)", esp_err_to_name(err), dev->boot.diag.msg);
    }
    assert_non_null(dev->running);
}

const esp_partition_t *of_part(otk_device_t *dev, const char *label)
{
    const esp_partition_t *p = otk_partition_find_first(&dev->table, ESP_PARTITION_TYPE_ANY,
                                                        ESP_PARTITION_SUBTYPE_ANY, label);
    if (p == NULL) {
        fail_msg("no partition '%s'", label);
    }
    return p;
}

const char *of_running_version(const otk_device_t *dev)
{
    const esp_app_desc_t *app = otk_device_running_app(dev);
    return app != NULL ? app->version : "";
}

esp_err_t of_update(otk_device_t *dev, const esp_partition_t *p, const uint8_t *image,
                    size_t len, size_t image_size, size_t chunk)
{
    esp_ota_handle_t h = 0;
    esp_err_t err = otk_ota_begin(dev, p, image_size, &h);
    if (err != ESP_OK) {
        return err;
    }
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        err = otk_ota_write(dev, h, image + off, n);
        if (err != ESP_OK) {
            otk_ota_abort(dev, h);
            return err;
        }
    }
    return otk_ota_end(dev, h);
}

void of_install(otk_device_t *dev, const char *label, const char *version,
                uint32_t secure_version)
{
    size_t len = 0;
    const uint8_t *image = of_image(version, secure_version, &len);
    const esp_partition_t *p = of_part(dev, label);
    assert_int_equal(of_update(dev, p, image, len, OTA_SIZE_UNKNOWN, 0x1000), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(dev, p), ESP_OK);
}

void of_otadata(otk_device_t *dev, esp_ota_select_entry_t e[2])
{
    const esp_partition_t *p = of_part(dev, "otadata");
    assert_int_equal(otk_otadata_read(p, e), ESP_OK);
}

static void read_sector(otk_device_t *dev, int sector, uint8_t out[OTK_OTADATA_SECTOR_SIZE])
{
    const esp_partition_t *p = of_part(dev, "otadata");
    assert_int_equal(otk_flash_read(dev->flash, p->address + (uint32_t)sector * 0x1000u, out,
                                    OTK_OTADATA_SECTOR_SIZE),
                     ESP_OK);
}

void of_assert_entry(otk_device_t *dev, int sector, uint32_t seq, uint32_t state)
{
    static uint8_t s[OTK_OTADATA_SECTOR_SIZE];
    read_sector(dev, sector, s);
    uint8_t want[32];
    uint32_t crc = otk_otadata_crc(seq);
    for (int i = 0; i < 4; i++) {
        want[i] = (uint8_t)(seq >> (8 * i));
        want[24 + i] = (uint8_t)(state >> (8 * i));
        want[28 + i] = (uint8_t)(crc >> (8 * i));
    }
    memset(want + 4, 0xFF, 20);
    assert_memory_equal(s, want, sizeof want);
    for (size_t i = sizeof want; i < sizeof s; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

void of_assert_erased_sector(otk_device_t *dev, int sector)
{
    static uint8_t s[OTK_OTADATA_SECTOR_SIZE];
    read_sector(dev, sector, s);
    for (size_t i = 0; i < sizeof s; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

int of_open_handles(const otk_device_t *dev)
{
    int n = 0;
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        n += dev->ota[i].handle != 0;
    }
    return n;
}

bool of_erased(otk_device_t *dev, const esp_partition_t *p, uint32_t offset, uint32_t len)
{
    uint8_t buf[0x1000];
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < sizeof buf ? len - done : (uint32_t)sizeof buf;
        assert_int_equal(otk_flash_read(dev->flash, p->address + offset + done, buf, n), ESP_OK);
        for (uint32_t i = 0; i < n; i++) {
            if (buf[i] != 0xFF) {
                return false;
            }
        }
        done += n;
    }
    return true;
}

void of_hash(otk_flash_t *flash, const esp_partition_t *p, uint8_t out[32])
{
    otk_sha256_ctx_t ctx;
    otk_sha256_init(&ctx);
    uint8_t buf[0x1000];
    for (uint32_t done = 0; done < p->size; done += sizeof buf) {
        assert_int_equal(otk_flash_read(flash, p->address + done, buf, sizeof buf), ESP_OK);
        otk_sha256_update(&ctx, buf, sizeof buf);
    }
    otk_sha256_final(&ctx, out);
}

otk_flash_t *of_start_factory(otk_device_t *dev)
{
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_start(dev, f, NULL, 0);
    assert_string_equal(dev->running->label, "factory");
    return f;
}

esp_ota_handle_t of_begin(otk_device_t *dev, const char *label, size_t size)
{
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(dev, of_part(dev, label), size, &h), ESP_OK);
    return h;
}
