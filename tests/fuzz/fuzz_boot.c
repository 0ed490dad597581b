/* Fuzz the boot layer on a whole device. The input chooses:
 *   bytes  0..31  the first 32 bytes of otadata sector 0 (the rest of the sector erased)
 *   bytes 32..63  the same for sector 1
 *   byte  64      config: bit 0 rollback, 1 anti-rollback (implies rollback), 2 a factory
 *                 partition, 3 a third slot (ota_2), 4 a test partition, 5 verify for the
 *                 images' chip instead of any, 6 factory-reset pin (otadata erased when
 *                 bit 7 of byte 68 is set), 7 test-app pin
 *   byte  65      per app partition (bit 0 factory, 1 ota_0, 2 ota_1, 3 ota_2, 4 test):
 *                 image B (secure_version 3) instead of image A (secure_version 1)
 *   byte  66      per app partition, same bits: the image is damaged
 *   byte  67      which image byte the damage hits
 *   byte  68      the secure-version eFuse field (low 7 bits)
 *   byte  69      its width: 1 + (byte % 32)
 * Missing bytes are 0. Invariants: it never crashes; a success names a partition of the
 * table whose image verifies and passes the final eFuse; "nothing bootable" only when no
 * app partition the walk may try holds such an image; the eFuse only gains bits; an entry
 * left PENDING_VERIFY was written so by this boot; without rollback no state is changed. */
#include <stdlib.h>
#include <string.h>

#include "otakit/boot.h"
#include "otakit/image.h"
#include "otakit/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FB_FLASH_SIZE 0x60000u
#define FB_TABLE_OFFSET 0x8000u
#define FB_OTADATA 0xd000u
#define FB_APP_SIZE 0x10000u
#define FB_IMAGE_MAX 0x1000u /* the images are built well under one sector */
#define FB_PAYLOAD_LEN 512u
#define FB_INPUT_LEN 70u
#define FB_APPS 5

enum { APP_FACTORY, APP_OTA0, APP_OTA1, APP_OTA2, APP_TEST };

static const struct {
    const char *label;
    uint8_t subtype;
    uint32_t address;
    int index;
} APPS[FB_APPS] = {
    {"factory", ESP_PARTITION_SUBTYPE_APP_FACTORY, 0x10000, OTK_BOOT_INDEX_FACTORY},
    {"ota_0", ESP_PARTITION_SUBTYPE_APP_OTA_0, 0x20000, 0},
    {"ota_1", ESP_PARTITION_SUBTYPE_APP_OTA_1, 0x30000, 1},
    {"ota_2", ESP_PARTITION_SUBTYPE_APP_OTA_2, 0x40000, 2},
    {"test", ESP_PARTITION_SUBTYPE_APP_TEST, 0x50000, OTK_BOOT_INDEX_TEST},
};

static otk_flash_t *flash;
static uint8_t images[2][FB_IMAGE_MAX];
static size_t image_len[2];

static void build_image(int which, uint32_t secure_version)
{
    uint8_t payload[FB_PAYLOAD_LEN];
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(i * 13u + (unsigned)which);
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "fuzz";
    app.version = which == 0 ? "A" : "B";
    app.secure_version = secure_version;
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, ESP_CHIP_ID_ESP32C3);
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    if (otk_image_build(&o, images[which], sizeof images[which], &image_len[which], NULL) !=
        ESP_OK) {
        abort();
    }
}

static void setup(void)
{
    if (flash != NULL) {
        return;
    }
    otk_log_set_level(OTK_LOG_NONE);
    if (otk_flash_mem_create(FB_FLASH_SIZE, &flash) != ESP_OK) {
        abort();
    }
    build_image(0, 1);
    build_image(1, 3);
}

static void must(esp_err_t err)
{
    if (err != ESP_OK) {
        abort();
    }
}

static bool present(uint8_t cfg, int app)
{
    switch (app) {
    case APP_FACTORY:
        return cfg & 0x04;
    case APP_OTA2:
        return cfg & 0x08;
    case APP_TEST:
        return cfg & 0x10;
    default:
        return true;
    }
}

static void write_device(const uint8_t *in, otk_partition_table_t *table)
{
    uint8_t cfg = in[64];
    otk_partition_table_init(table, FB_TABLE_OFFSET);
    must(otk_partition_table_add(table, "nvs", ESP_PARTITION_TYPE_DATA,
                                 ESP_PARTITION_SUBTYPE_DATA_NVS, 0x9000, 0x4000, 0));
    must(otk_partition_table_add(table, "otadata", ESP_PARTITION_TYPE_DATA,
                                 ESP_PARTITION_SUBTYPE_DATA_OTA, FB_OTADATA, 0x2000, 0));
    for (int a = 0; a < FB_APPS; a++) {
        if (present(cfg, a)) {
            must(otk_partition_table_add(table, APPS[a].label, ESP_PARTITION_TYPE_APP,
                                         APPS[a].subtype, APPS[a].address, FB_APP_SIZE, 0));
        }
    }
    must(otk_partition_table_write(flash, FB_TABLE_OFFSET, table, true, NULL));
    for (int s = 0; s < 2; s++) {
        uint32_t addr = FB_OTADATA + (uint32_t)s * 0x1000u;
        must(otk_flash_erase(flash, addr, 0x1000));
        must(otk_flash_program(flash, addr, in + 32 * s, 32));
    }
    for (int a = 0; a < FB_APPS; a++) {
        int which = (in[65] >> a) & 1;
        uint8_t img[FB_IMAGE_MAX];
        memcpy(img, images[which], image_len[which]);
        if ((in[66] >> a) & 1) {
            img[(in[67] * 5u + (unsigned)a) % image_len[which]] ^= 0x10;
        }
        must(otk_flash_erase(flash, APPS[a].address, 0x1000));
        /* A damaged byte may need a 0 -> 1 change: the sector was just erased. */
        must(otk_flash_program(flash, APPS[a].address, img, image_len[which]));
    }
}

/* Does the app partition hold an image that verifies and passes the eFuse? */
static bool bootable(const otk_boot_config_t *cfg, int app)
{
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.chip_id = cfg->chip_id;
    otk_image_info_t info;
    if (otk_image_verify_flash(flash, APPS[app].address, FB_APP_SIZE, &o, &info, NULL) !=
        ESP_OK) {
        return false;
    }
    return !cfg->anti_rollback ||
           otk_boot_efuse_check(cfg->secure_version_efuse, cfg->secure_version_bits,
                                info.app_desc.secure_version);
}

static int app_of_index(int index)
{
    for (int a = 0; a < FB_APPS; a++) {
        if (APPS[a].index == index) {
            return a;
        }
    }
    abort();
}

static void check_otadata(const otk_boot_config_t *cfg, const otk_boot_result_t *r,
                          const uint8_t *in)
{
    for (int s = 0; s < 2; s++) {
        esp_ota_select_entry_t e;
        must(otk_flash_read(flash, FB_OTADATA + (uint32_t)s * 0x1000u, &e, sizeof e));
        bool changed = memcmp(&e, in + 32 * s, sizeof e) != 0;
        bool written = false, pending_written = false;
        for (size_t w = 0; w < r->write_count; w++) {
            if (r->writes[w].sector == s) {
                written = true;
                pending_written |= r->writes[w].kind == OTK_BOOT_WRITE_PENDING_VERIFY;
                if (!cfg->rollback && r->writes[w].kind != OTK_BOOT_WRITE_INITIAL) {
                    abort();
                }
            }
        }
        bool erased_by_reset = cfg->factory_reset && cfg->factory_reset_erase_otadata;
        if (changed && !written && !erased_by_reset) {
            abort();
        }
        if (cfg->rollback && e.ota_state == ESP_OTA_IMG_PENDING_VERIFY && !pending_written &&
            !(r->err != ESP_OK && r->stage != OTK_BOOT_STAGE_LOAD)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    uint8_t in[FB_INPUT_LEN];
    memset(in, 0, sizeof in);
    memcpy(in, data, size < sizeof in ? size : sizeof in);
    uint8_t c = in[64];

    otk_partition_table_t table;
    write_device(in, &table);

    otk_boot_config_t cfg;
    otk_boot_config_init(&cfg);
    cfg.anti_rollback = c & 0x02;
    cfg.rollback = (c & 0x01) || cfg.anti_rollback;
    cfg.chip_id = (c & 0x20) ? ESP_CHIP_ID_ESP32C3 : OTK_IMAGE_CHIP_ANY;
    cfg.factory_reset = c & 0x40;
    cfg.factory_reset_erase_otadata = in[68] & 0x80;
    cfg.factory_reset_data = "nvs";
    cfg.test_app = c & 0x80;
    cfg.secure_version_efuse = in[68] & 0x7Fu;
    cfg.secure_version_bits = (uint8_t)(1u + in[69] % 32u);
    uint32_t efuse_before = cfg.secure_version_efuse;

    static otk_boot_result_t r;
    esp_err_t err = otk_boot_run(flash, FB_TABLE_OFFSET, &cfg, &r);
    if (err != r.err) {
        abort();
    }
    /* The eFuse only gains bits. */
    if ((cfg.secure_version_efuse & efuse_before) != efuse_before) {
        abort();
    }
    bool test_only = cfg.test_app && !cfg.factory_reset;
    if (err == ESP_OK) {
        int a = app_of_index(r.index);
        if (!present(c, a) || r.partition.address != APPS[a].address || !bootable(&cfg, a)) {
            abort();
        }
        if (test_only && r.index != OTK_BOOT_INDEX_TEST) {
            abort();
        }
    } else if (err == ESP_ERR_NOT_FOUND && r.stage == OTK_BOOT_STAGE_LOAD) {
        for (int a = 0; a < FB_APPS; a++) {
            bool tried = !test_only || a == APP_TEST;
            if (present(c, a) && tried && bootable(&cfg, a)) {
                abort();
            }
        }
    } else if (err == ESP_ERR_NOT_FOUND && r.stage == OTK_BOOT_STAGE_SELECT) {
        if (!test_only || present(c, APP_TEST)) {
            abort();
        }
    } else {
        abort(); /* the table and otadata are always well-formed here */
    }
    check_otadata(&cfg, &r, in);
    return 0;
}
