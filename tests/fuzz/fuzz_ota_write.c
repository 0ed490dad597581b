/* Fuzz the OTA engine on a small in-memory device. The first 3 bytes configure it:
 *   byte 0  bit 0 rollback, bit 1 anti-rollback (implies rollback), bit 2 v5 otadata rule,
 *           bit 3 start with ota_0 holding app A confirmed (else factory runs)
 *   byte 1  the secure-version eFuse field (low 4 bits)
 *   byte 2  reserved
 * then a program of operations, each an opcode byte and its arguments (missing bytes are
 * 0): begin, write, write_with_offset (chunks of fuzz-chosen sizes; bytes from the input,
 * or a valid image prefix, whole or with a byte flipped), end, abort, set_boot (with and
 * without validation), resume, set_final, mark valid/invalid, erase_last_boot /
 * invalidate, the read-only queries, a power cut armed at a chosen flash operation, and a
 * power cycle.
 * Invariants: it never crashes; the running slot's bytes never change while it runs; a
 * set_boot that succeeds names an image that verifies (and that the eFuse allows); an end
 * that succeeds for an app verifies from flash too (the one-pass stream agrees with a
 * full read); a copy to a final partition copies exactly. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/device.h"
#include "otakit/image.h"
#include "otakit/log.h"
#include "otakit/ota.h"
#include "otakit/partition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FO_FLASH_SIZE 0x60000u
#define FO_TABLE_OFFSET 0x8000u
#define FO_APP_SIZE 0x10000u
#define FO_IMAGE_MAX 0x1000u /* the images are built under one sector */
#define FO_PAYLOAD_LEN 1024u
#define FO_HANDLES 4
#define FO_MAX_OPS 64      /* bounds the work per input */
#define FO_MAX_CHUNK 0x1800u /* a write spans up to two sectors */
#define FO_CHIP ESP_CHIP_ID_ESP32C3
#define FO_CHIP_REV 4

static const char FO_CSV[] = "otadata, data, ota,       0xd000,  0x2000\n"
                             "factory, app,  factory,   0x10000, 0x10000\n"
                             "ota_0,   app,  ota_0,     0x20000, 0x10000\n"
                             "ota_1,   app,  ota_1,     0x30000, 0x10000\n"
                             "spare,   data, undefined, 0x40000, 0x10000\n"
                             "tiny,    data, undefined, 0x50000, 0x4000\n";
static const char *const TARGETS[] = {"ota_0", "ota_1", "factory", "spare", "tiny", "otadata"};
#define FO_TARGETS (sizeof TARGETS / sizeof TARGETS[0])

static otk_flash_t *pristine[2]; /* [0] factory runs, [1] ota_0 runs (confirmed) */
static uint8_t images[2][FO_IMAGE_MAX];
static size_t image_len[2];
static otk_device_t dev;
static uint8_t running_bytes[FO_APP_SIZE];
static uint8_t scratch[FO_APP_SIZE];

static void must(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void build_image(int which, uint32_t secure_version)
{
    uint8_t payload[FO_PAYLOAD_LEN];
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(i * 11u + (unsigned)which * 3u);
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "fuzz";
    app.version = which == 0 ? "A" : "B";
    app.secure_version = secure_version;
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, FO_CHIP);
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    must(otk_image_build(&o, images[which], sizeof images[which], &image_len[which], NULL) ==
         ESP_OK);
}

static void put(otk_flash_t *f, uint32_t address, int which)
{
    must(otk_flash_erase(f, address, FO_APP_SIZE) == ESP_OK);
    must(otk_flash_program(f, address, images[which], image_len[which]) == ESP_OK);
}

static void setup(void)
{
    if (pristine[0] != NULL) {
        return;
    }
    otk_log_set_level(OTK_LOG_NONE);
    build_image(0, 1);
    build_image(1, 3);
    otk_partition_gen_opts_t opts;
    otk_partition_gen_opts_default(&opts);
    static otk_partition_table_t table;
    must(otk_partition_csv_compile(FO_CSV, strlen(FO_CSV), &opts, &table, NULL, NULL) ==
         ESP_OK);
    for (int i = 0; i < 2; i++) {
        must(otk_flash_mem_create(FO_FLASH_SIZE, &pristine[i]) == ESP_OK);
        must(otk_partition_table_write(pristine[i], FO_TABLE_OFFSET, &table, true, NULL) ==
             ESP_OK);
        put(pristine[i], 0x10000, 0);
    }
    /* ota_0 holds A and otadata selects it, VALID. */
    put(pristine[1], 0x20000, 0);
    esp_ota_select_entry_t e;
    otk_otadata_make_entry(&e, 1, ESP_OTA_IMG_VALID, NULL);
    must(otk_flash_erase(pristine[1], 0xd000, 0x2000) == ESP_OK);
    must(otk_flash_program(pristine[1], 0xd000, &e, sizeof e) == ESP_OK);
}

/* The input, read a byte at a time; 0 once it runs out. */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
} input_t;

static uint8_t next(input_t *in)
{
    return in->pos < in->len ? in->p[in->pos++] : 0;
}

static uint32_t next16(input_t *in)
{
    uint32_t lo = next(in);
    return lo | (uint32_t)next(in) << 8;
}

static const esp_partition_t *target(uint8_t b)
{
    return otk_partition_find_first(&dev.table, ESP_PARTITION_TYPE_ANY,
                                    ESP_PARTITION_SUBTYPE_ANY, TARGETS[b % FO_TARGETS]);
}

/* Raw bytes, straight from the backend: works while powered off and moves no statistics. */
static void raw_read(uint32_t addr, uint8_t *dst, size_t len)
{
    must(dev.flash->backend->read(dev.flash->backend_ctx, addr, dst, len) == ESP_OK);
}

static void snapshot_running(void)
{
    if (dev.running != NULL) {
        raw_read(dev.running->address, running_bytes, dev.running->size);
    }
}

static void check_running(void)
{
    if (dev.running != NULL) {
        raw_read(dev.running->address, scratch, dev.running->size);
        must(memcmp(scratch, running_bytes, dev.running->size) == 0);
    }
}

static void power_cycle(void)
{
    (void)otk_device_power_on(&dev);
    snapshot_running();
}

static bool verifies(const esp_partition_t *p, otk_image_info_t *info)
{
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.chip_id = FO_CHIP;
    o.check_chip_rev = true;
    o.chip_rev = FO_CHIP_REV;
    return otk_flash_is_powered(dev.flash) &&
           otk_image_verify_flash(dev.flash, p->address, p->size, &o, info, NULL) == ESP_OK;
}

typedef struct {
    esp_ota_handle_t h[FO_HANDLES];
    uint32_t pos[FO_HANDLES]; /* where the image source continues for each */
} handles_t;

/* The bytes of a write: from the input, or the image source at the handle's position. */
static const uint8_t *write_bytes(input_t *in, uint8_t how, uint32_t pos, size_t *n,
                                  uint8_t *buf)
{
    int which = how & 1;
    switch ((how >> 1) % 3) {
    case 0: { /* input bytes */
        size_t left = in->len - in->pos;
        *n = *n < left ? *n : left;
        const uint8_t *p = in->p + in->pos;
        in->pos += *n;
        return p;
    }
    case 1: /* the image, from the handle's position */
        if (pos >= image_len[which]) {
            *n = 0;
            return images[which];
        }
        *n = *n < image_len[which] - pos ? *n : image_len[which] - pos;
        return images[which] + pos;
    default: /* the same with one byte flipped */
        if (pos >= image_len[which]) {
            *n = 0;
            return images[which];
        }
        *n = *n < image_len[which] - pos ? *n : image_len[which] - pos;
        memcpy(buf, images[which] + pos, *n);
        if (*n > 0) {
            buf[next(in) % *n] ^= 0x20;
        }
        return buf;
    }
}

static void op_end(input_t *in, handles_t *hs)
{
    int s = next(in) % FO_HANDLES;
    otk_ota_entry_t *e = NULL;
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        if (hs->h[s] != 0 && dev.ota[i].handle == hs->h[s]) {
            e = &dev.ota[i];
        }
    }
    const esp_partition_t *staging = e != NULL ? e->staging : NULL;
    const esp_partition_t *final = e != NULL ? e->final : NULL;
    bool copy = e != NULL && e->finalize_with_copy;
    esp_err_t err = otk_ota_end(&dev, hs->h[s]);
    if (err == ESP_OK && final != NULL && final->type == ESP_PARTITION_TYPE_APP) {
        /* The one-pass verdict agrees with reading the image back in full. */
        must(!otk_flash_is_powered(dev.flash) || verifies(staging, NULL));
    }
    if (err == ESP_OK && copy) {
        static uint8_t a[FO_APP_SIZE];
        raw_read(staging->address, a, final->size);
        raw_read(final->address, scratch, final->size);
        must(memcmp(a, scratch, final->size) == 0);
    }
    hs->h[s] = 0;
}

static void op_set_boot(input_t *in, bool validate)
{
    const esp_partition_t *p = target(next(in));
    esp_err_t err = validate ? otk_ota_set_boot_partition(&dev, p)
                             : otk_ota_set_boot_partition_skip_validate(&dev, p);
    if (err != ESP_OK || p == NULL) {
        return;
    }
    otk_image_info_t info;
    if (validate) {
        must(verifies(p, &info));
        must(!dev.config.anti_rollback || p->subtype == ESP_PARTITION_SUBTYPE_APP_FACTORY ||
             otk_boot_efuse_check(dev.efuse_secure_version, dev.config.secure_version_bits,
                                  info.app_desc.secure_version));
    }
    must(p->type == ESP_PARTITION_TYPE_APP);
}

static void op_queries(input_t *in)
{
    const esp_partition_t *p = target(next(in));
    esp_ota_img_states_t st;
    esp_app_desc_t d;
    esp_bootloader_desc_t bd;
    (void)otk_ota_get_state_partition(&dev, p, &st);
    (void)otk_ota_get_partition_description(&dev, p, &d);
    (void)otk_ota_get_bootloader_description(&dev, NULL, &bd);
    (void)otk_ota_get_last_invalid_partition(&dev);
    (void)otk_ota_check_rollback_is_possible(&dev);
    (void)otk_ota_get_boot_partition(&dev);
    (void)otk_ota_get_next_update_partition(&dev, p);
    (void)otk_ota_get_app_partition_count(&dev);
}

static void run(input_t *in)
{
    handles_t hs;
    memset(&hs, 0, sizeof hs);
    static uint8_t buf[FO_MAX_CHUNK];
    for (int n_ops = 0; n_ops < FO_MAX_OPS && in->pos < in->len; n_ops++) {
        uint8_t op = next(in) % 14;
        int s = 0;
        esp_err_t err;
        switch (op) {
        case 0: { /* begin */
            const esp_partition_t *p = target(next(in));
            s = next(in) % FO_HANDLES;
            static const size_t sizes[] = {0, OTA_SIZE_UNKNOWN, OTA_WITH_SEQUENTIAL_WRITES,
                                           0x600, (size_t)0xFFFFFFFFu, 0x10000, 0x10001};
            uint8_t m = next(in);
            size_t size = m < 7 ? sizes[m] : (size_t)next16(in) * 4u;
            if (m == 7 && sizeof(size_t) > 4) {
                size = (size_t)0x1FFFFFFFFull; /* not the sentinel on 64-bit hosts */
            }
            if (otk_ota_begin(&dev, p, size, &hs.h[s]) == ESP_OK) {
                hs.pos[s] = 0;
            }
            break;
        }
        case 1: /* write */
        case 2: { /* write_with_offset */
            s = next(in) % FO_HANDLES;
            size_t n = next16(in) % FO_MAX_CHUNK;
            uint8_t how = next(in);
            uint32_t offset = op == 2 ? next16(in) * 4u : hs.pos[s];
            const uint8_t *bytes = write_bytes(in, how, offset, &n, buf);
            err = op == 1 ? otk_ota_write(&dev, hs.h[s], bytes, n)
                          : otk_ota_write_with_offset(&dev, hs.h[s], bytes, n, offset);
            if (err == ESP_OK && op == 1) {
                hs.pos[s] += (uint32_t)n;
            }
            break;
        }
        case 3:
            op_end(in, &hs);
            break;
        case 4:
            s = next(in) % FO_HANDLES;
            (void)otk_ota_abort(&dev, hs.h[s]);
            hs.h[s] = 0;
            break;
        case 5:
        case 6:
            op_set_boot(in, op == 5);
            break;
        case 7: { /* resume */
            const esp_partition_t *p = target(next(in));
            s = next(in) % FO_HANDLES;
            uint32_t offset = next16(in) * 4u;
            size_t erase = (next(in) & 1) ? OTA_WITH_SEQUENTIAL_WRITES : 0;
            if (otk_ota_resume(&dev, p, erase, offset, &hs.h[s]) == ESP_OK) {
                hs.pos[s] = offset;
            }
            break;
        }
        case 8: /* set_final */
            s = next(in) % FO_HANDLES;
            (void)otk_ota_set_final_partition(&dev, hs.h[s], target(next(in)), next(in) & 1);
            break;
        case 9: {
            uint8_t which = next(in) % 3;
            if (which == 0) {
                (void)otk_ota_mark_app_valid_cancel_rollback(&dev);
            } else if (which == 1) {
                (void)otk_ota_mark_app_invalid_rollback(&dev);
            } else {
                (void)otk_ota_mark_app_invalid_rollback_and_reboot(&dev);
            }
            break;
        }
        case 10:
            if (next(in) & 1) {
                (void)otk_ota_erase_last_boot_app_partition(&dev);
            } else {
                (void)otk_ota_invalidate_inactive_ota_data_slot(&dev);
            }
            break;
        case 11:
            op_queries(in);
            break;
        case 12: { /* a power cut at a later flash operation */
            uint8_t b = next(in);
            otk_flash_arm_fault(dev.flash, 1u + b % 48u,
                                (otk_flash_fault_kind_t)(OTK_FLASH_FAULT_CUT_BEFORE + b % 3u),
                                next(in));
            break;
        }
        default: /* power cycle: RAM is lost, the handles with it */
            power_cycle();
            memset(&hs, 0, sizeof hs);
            break;
        }
        check_running();
        if (dev.restart_requested) {
            power_cycle();
            memset(&hs, 0, sizeof hs);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    input_t in = {data, size, 0};
    uint8_t c = next(&in);
    uint8_t efuse = next(&in);
    (void)next(&in);
    otk_flash_t *flash = NULL;
    must(otk_flash_mem_clone(pristine[(c >> 3) & 1], &flash) == ESP_OK);
    otk_device_config_t cfg;
    otk_device_config_init(&cfg);
    cfg.chip_id = FO_CHIP;
    cfg.chip_rev = FO_CHIP_REV;
    cfg.anti_rollback = c & 0x02;
    cfg.rollback = (c & 0x01) || cfg.anti_rollback;
    cfg.otadata_rule = (c & 0x04) ? OTK_OTADATA_RULE_V5 : OTK_OTADATA_RULE_V6;
    cfg.secure_version_bits = 16;
    /* The factory app and A have secure_version 1: an eFuse above that boots nothing. */
    must(otk_device_init(&dev, flash, &cfg, efuse & 0x1u) == ESP_OK);
    power_cycle();
    run(&in);
    otk_flash_destroy(flash);
    return 0;
}
