/* esp_https_ota on an explicit device (otk_https_ota_*), fed from file:// sources into a
 * memory flash: a whole update and its events; the head checks that refuse an image before
 * any flash operation; a power cut (a flash fault) in the middle and the resume from the
 * last checkpoint, which neither erases nor writes again what was on flash; checkpoints
 * that do not fit (another URL, a changed file, a damaged slot); checkpoint bytes; ESP-IDF's
 * own resumption; otk_ota_pull with its checkpoint file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_fixture.h"
#include "otakit/https_ota.h"
#include "otakit/ota_pull.h"
#include "test_support.h"

#define IMAGE_CAP 0x60000u
#define PAYLOAD_LEN 200000u        /* ~200 KiB: several checkpoints at 32 KiB */
#define CHECKPOINT_EVERY 32768u
#define SECTOR 4096u
#define EVENT_LOG_MAX 512

static otk_flash_t *flash;
static otk_device_t dev;
static char dir[64];
static uint8_t v2[IMAGE_CAP], v3[IMAGE_CAP];
static size_t v2_len, v3_len;

static const char *write_temp(const char *name, const void *data, size_t len)
{
    static char url[2][256];
    static int which;
    char path[192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    which ^= 1;
    snprintf(url[which], sizeof url[which], "file://%s", path);
    return url[which];
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", ts_make_temp_dir());
    v2_len = of_build(v2, sizeof v2, "2.0", 0, PAYLOAD_LEN);
    v3_len = of_build(v3, sizeof v3, "3.0", 0, PAYLOAD_LEN + 5000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_cleanup_dir(dir);
    return 0;
}

/* A fresh device running factory 1.0 with 1 MiB OTA slots. */
static int fresh(void **state)
{
    (void)state;
    flash = of_flash(OF_CSV_1M, OF_FLASH_SIZE_1M);
    of_put(flash, "factory", "1.0", 0);
    of_start(&dev, flash, NULL, 0);
    return 0;
}

static int destroy(void **state)
{
    (void)state;
    otk_flash_destroy(flash);
    flash = NULL;
    return 0;
}

typedef struct {
    char log[EVENT_LOG_MAX]; /* one letter per event, runs of WRITE_FLASH collapsed */
    int last_written;
} events_t;

static void on_event(void *ctx, otk_https_ota_event_t ev, const void *data, size_t len)
{
    static const char letters[] = "SCGIRDWUFA";
    events_t *e = ctx;
    size_t n = strlen(e->log);
    if (ev == OTK_HTTPS_OTA_WRITE_FLASH) {
        assert_int_equal(len, sizeof(int));
        memcpy(&e->last_written, data, sizeof(int));
        if (n > 0 && e->log[n - 1] == 'W') {
            return;
        }
    }
    if (ev == OTK_HTTPS_OTA_VERIFY_CHIP_ID) {
        assert_int_equal(len, sizeof(esp_chip_id_t));
    }
    if (n + 1 < sizeof e->log) {
        e->log[n] = letters[ev];
    }
}

typedef struct {
    bool have;
    unsigned saves, forgets;
    otk_https_ota_checkpoint_t cp;
} saved_t;

static void on_checkpoint(void *ctx, const otk_https_ota_checkpoint_t *cp)
{
    saved_t *s = ctx;
    if (cp == NULL) {
        s->forgets++;
        s->have = false;
        return;
    }
    s->saves++;
    s->have = true;
    s->cp = *cp;
}

static void config(otk_https_ota_config_t *c, const char *url, otk_diag_t *diag)
{
    otk_https_ota_config_init(c);
    c->url = url;
    c->diag = diag;
    otk_diag_clear(diag);
}

static void assert_slot_holds(const char *label, const uint8_t *image, size_t len)
{
    static uint8_t back[IMAGE_CAP];
    const esp_partition_t *p = of_part(&dev, label);
    assert_int_equal(otk_flash_read(flash, p->address, back, len), ESP_OK);
    assert_memory_equal(back, image, len);
}

static void test_full_update(void **state)
{
    (void)state;
    const char *url = write_temp("v2.bin", v2, v2_len);
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    events_t ev;
    memset(&ev, 0, sizeof ev);
    c.on_event = on_event;
    c.event_ctx = &ev;
    otk_https_ota_report_t rep;
    assert_int_equal(otk_https_ota(&dev, &c, &rep), ESP_OK);
    /* start, connected, chip id, chip revision, writes, boot partition, finish */
    assert_string_equal(ev.log, "SCIRWUF");
    assert_int_equal(ev.last_written, (int)v2_len);
    assert_ptr_equal(rep.staging, of_part(&dev, "ota_0"));
    assert_int_equal(rep.resumed_from, 0);
    assert_slot_holds("ota_0", v2, v2_len);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_0"));
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "2.0");
}

static void test_begin_perform_finish_getters(void **state)
{
    (void)state;
    const char *url = write_temp("v2.bin", v2, v2_len);
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    otk_https_ota_t *h = NULL;
    assert_int_equal(otk_https_ota_begin(&dev, &c, &h), ESP_OK);
    assert_int_equal(otk_https_ota_get_state(h), OTK_HTTPS_OTA_STATE_BEGIN);
    assert_int_equal(otk_https_ota_get_image_size(h), (int)v2_len);
    assert_int_equal(otk_https_ota_get_image_len_read(h), -1);
    esp_app_desc_t desc;
    assert_int_equal(otk_https_ota_get_img_desc(h, &desc), ESP_OK);
    assert_string_equal(desc.version, "2.0");
    assert_string_equal(desc.project_name, "otatest");
    esp_err_t err;
    unsigned calls = 0;
    while ((err = otk_https_ota_perform(h)) == ESP_ERR_HTTPS_OTA_IN_PROGRESS) {
        calls++;
    }
    assert_int_equal(err, ESP_OK);
    assert_true(calls >= v2_len / OTK_HTTPS_OTA_BUFFER_SIZE);
    assert_true(otk_https_ota_is_complete_data_received(h));
    assert_int_equal(otk_https_ota_get_image_len_read(h), (int)v2_len);
    assert_int_equal(otk_https_ota_get_img_desc(h, &desc), ESP_ERR_INVALID_STATE);
    assert_int_equal(otk_https_ota_finish(h), ESP_OK);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_0"));
}

/* perform refuses bad_image with err and a reason containing why, before any flash op. */
static void expect_refused_untouched(const uint8_t *image, size_t len, esp_err_t err,
                                     const char *why)
{
    const char *url = write_temp("bad.bin", image, len);
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    c.bulk_flash_erase = true; /* even with bulk erase: the head is checked first */
    uint64_t ops = flash->physical_ops;
    assert_int_equal(otk_https_ota(&dev, &c, NULL), err);
    if (strstr(d.msg, why) == NULL) {
        fail_msg("reason '%s' lacks '%s'", d.msg, why);
    }
    assert_int_equal(flash->physical_ops, ops); /* nothing erased or programmed */
    assert_int_equal(of_open_handles(&dev), 0);
}

static void test_head_checked_before_erase(void **state)
{
    (void)state;
    static uint8_t bad[IMAGE_CAP];
    memset(bad, 0x42, 5000);
    expect_refused_untouched(bad, 5000, ESP_ERR_OTA_VALIDATE_FAILED,
                             "is not an ESP app image: byte 0 is 0x42, expected 0xe9");
    expect_refused_untouched(v2, 100, ESP_ERR_OTA_VALIDATE_FAILED,
                             "100 bytes: too short to be an app image");
    /* An ESP32 image on this ESP32-C3 device. */
    otk_image_app_fields_t app = {.project_name = "x", .version = "9"};
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, ESP_CHIP_ID_ESP32);
    static const uint8_t payload[3000];
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    size_t len = 0;
    assert_int_equal(otk_image_build(&o, bad, sizeof bad, &len, NULL), ESP_OK);
    expect_refused_untouched(bad, len, ESP_ERR_INVALID_VERSION,
                             "image is for chip id 0x0000 (ESP32), this device is 0x0005 "
                             "(ESP32-C3)");
    /* Revision: the image wants v3.0 at least, the device is v0.4. */
    memcpy(bad, v2, v2_len);
    bad[15] = 0x2C; /* min_chip_rev_full = 300, little-endian at header offset 15 */
    bad[16] = 0x01;
    expect_refused_untouched(bad, v2_len, ESP_ERR_INVALID_VERSION, "chip revision v0.4");
    /* No app descriptor where segment 0 begins. */
    memcpy(bad, v2, v2_len);
    bad[OTK_IMAGE_DESC_OFFSET] ^= 0xFF;
    expect_refused_untouched(bad, v2_len, ESP_ERR_OTA_VALIDATE_FAILED, "has no app descriptor");
    /* Larger than the 1 MiB slot (a declared length the source knows). */
    static uint8_t big[0x100000 + SECTOR];
    memcpy(big, v2, v2_len);
    memset(big + v2_len, 0xFF, sizeof big - v2_len);
    expect_refused_untouched(big, sizeof big, ESP_ERR_INVALID_SIZE, "does not fit ota_0");
    /* A segment header the verifier refuses (16 MiB segment) within the head bytes. */
    memcpy(bad, v2, v2_len);
    bad[OTK_IMAGE_HEADER_LEN + 4 + 3] = 0x7F;
    expect_refused_untouched(bad, v2_len, ESP_ERR_OTA_VALIDATE_FAILED,
                             "not a valid app image for this device");
}

static void test_corrupt_body_stops_at_the_first_bad_chunk(void **state)
{
    (void)state;
    static uint8_t bad[IMAGE_CAP];
    memcpy(bad, v2, v2_len);
    bad[v2_len - 1] ^= 1; /* the appended SHA-256 */
    const char *url = write_temp("bad.bin", bad, v2_len);
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    saved_t s;
    memset(&s, 0, sizeof s);
    c.on_checkpoint = on_checkpoint;
    c.checkpoint_ctx = &s;
    c.checkpoint_every = CHECKPOINT_EVERY;
    assert_int_equal(otk_https_ota(&dev, &c, NULL), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_non_null(strstr(d.msg, "SHA-256"));
    assert_false(s.have); /* a bad image is not worth resuming */
    assert_true(s.forgets > 0);
    assert_ptr_not_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_0"));
}

/* Download url until at least `past` bytes are written and a checkpoint exists, then cut
 * the power at the next flash operation (kind). Returns the last checkpoint. */
static void cut_power_during(const char *url, uint32_t past, otk_flash_fault_kind_t kind,
                             saved_t *s)
{
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    memset(s, 0, sizeof *s);
    c.on_checkpoint = on_checkpoint;
    c.checkpoint_ctx = s;
    c.checkpoint_every = CHECKPOINT_EVERY;
    otk_https_ota_t *h = NULL;
    assert_int_equal(otk_https_ota_begin(&dev, &c, &h), ESP_OK);
    esp_err_t err;
    bool armed = false;
    while ((err = otk_https_ota_perform(h)) == ESP_ERR_HTTPS_OTA_IN_PROGRESS) {
        if (!armed && otk_https_ota_get_image_len_read(h) >= (int)past && s->have) {
            otk_flash_arm_fault(flash, 1, kind, 7);
            armed = true;
        }
    }
    assert_true(armed);
    assert_int_equal(err, ESP_ERR_FLASH_OP_FAIL);
    otk_https_ota_abort(h);
    assert_true(s->have);
    assert_true(s->cp.offset >= CHECKPOINT_EVERY);
    /* Power comes back: the device boots again (RAM state gone). */
    otk_flash_power_on(flash);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "1.0");
}

static void resume_after_cut(otk_flash_fault_kind_t kind)
{
    const char *url = write_temp("v2.bin", v2, v2_len);
    saved_t s;
    cut_power_during(url, 100000, kind, &s);
    const esp_partition_t *slot = of_part(&dev, "ota_0");
    uint32_t kept = s.cp.offset / SECTOR; /* sectors wholly written before the checkpoint */
    uint32_t erases[64];
    for (uint32_t i = 0; i < kept && i < 64; i++) {
        erases[i] = otk_flash_sector_erase_count(flash, slot->address / SECTOR + i);
    }
    otk_flash_stats_reset(flash);
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    c.resume_from = &s.cp;
    otk_https_ota_report_t rep;
    assert_int_equal(otk_https_ota(&dev, &c, &rep), ESP_OK);
    assert_int_equal(rep.resumed_from, s.cp.offset);
    assert_int_equal(rep.restarts, 0);
    for (uint32_t i = 0; i < kept && i < 64; i++) {
        assert_int_equal(otk_flash_sector_erase_count(flash, slot->address / SECTOR + i),
                         erases[i]);
    }
    /* Only the rest was programmed: no page below the checkpoint. */
    assert_true(flash->stats.program_bytes <= v2_len - s.cp.offset + OTK_OTADATA_SECTOR_SIZE);
    assert_slot_holds("ota_0", v2, v2_len);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "2.0");
}

static void test_power_cut_then_resume(void **state)
{
    (void)state;
    resume_after_cut(OTK_FLASH_FAULT_CUT_BEFORE);
}

static void test_torn_write_then_resume(void **state)
{
    (void)state;
    resume_after_cut(OTK_FLASH_FAULT_TORN);
}

static void test_checkpoint_for_another_url_is_ignored(void **state)
{
    (void)state;
    const char *url = write_temp("v2.bin", v2, v2_len);
    saved_t s;
    cut_power_during(url, 70000, OTK_FLASH_FAULT_CUT_BEFORE, &s);
    const char *other = write_temp("copy.bin", v2, v2_len);
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, other, &d);
    c.resume_from = &s.cp;
    otk_https_ota_report_t rep;
    assert_int_equal(otk_https_ota(&dev, &c, &rep), ESP_OK);
    assert_int_equal(rep.resumed_from, 0);
    assert_slot_holds("ota_0", v2, v2_len);
}

static void test_changed_file_starts_over(void **state)
{
    (void)state;
    const char *url = write_temp("up.bin", v2, v2_len);
    saved_t s;
    cut_power_during(url, 70000, OTK_FLASH_FAULT_CUT_BEFORE, &s);
    url = write_temp("up.bin", v3, v3_len); /* another version at the same URL */
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    c.resume_from = &s.cp;
    otk_https_ota_report_t rep;
    assert_int_equal(otk_https_ota(&dev, &c, &rep), ESP_OK);
    assert_int_equal(rep.resumed_from, 0);
    assert_slot_holds("ota_0", v3, v3_len);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "3.0");
}

static void test_esp_idf_resumption(void **state)
{
    (void)state;
    const char *url = write_temp("v2.bin", v2, v2_len);
    saved_t s;
    cut_power_during(url, 70000, OTK_FLASH_FAULT_CUT_BEFORE, &s);
    otk_https_ota_config_t c;
    otk_diag_t d;
    config(&c, url, &d);
    c.ota_resumption = true;
    c.ota_image_bytes_written = s.cp.offset; /* what the app kept in NVS */
    assert_int_equal(otk_https_ota(&dev, &c, NULL), ESP_ERR_INVALID_ARG); /* as ESP-IDF */
    otk_https_ota_t *h = NULL;
    assert_int_equal(otk_https_ota_begin(&dev, &c, &h), ESP_OK);
    assert_int_equal(otk_https_ota_get_state(h), OTK_HTTPS_OTA_STATE_RESUME);
    assert_int_equal(otk_https_ota_get_image_len_read(h), (int)s.cp.offset);
    esp_app_desc_t desc; /* read from the slot: already on flash */
    assert_int_equal(otk_https_ota_get_img_desc(h, &desc), ESP_OK);
    assert_string_equal(desc.version, "2.0");
    esp_err_t err;
    while ((err = otk_https_ota_perform(h)) == ESP_ERR_HTTPS_OTA_IN_PROGRESS) {
    }
    assert_int_equal(err, ESP_OK);
    assert_int_equal(otk_https_ota_finish(h), ESP_OK);
    assert_slot_holds("ota_0", v2, v2_len);
    /* Below the header size ESP-IDF starts from 0. */
    config(&c, url, &d);
    c.ota_resumption = true;
    c.ota_image_bytes_written = OTK_HTTPS_OTA_HEADER_SIZE - 1;
    assert_int_equal(otk_https_ota_begin(&dev, &c, &h), ESP_OK);
    assert_int_equal(otk_https_ota_get_state(h), OTK_HTTPS_OTA_STATE_BEGIN);
    assert_int_equal(otk_https_ota_abort(h), ESP_OK);
}

static void test_checkpoint_bytes(void **state)
{
    (void)state;
    const char *url = write_temp("v2.bin", v2, v2_len);
    saved_t s;
    cut_power_during(url, 70000, OTK_FLASH_FAULT_CUT_BEFORE, &s);
    static uint8_t bytes[OTK_HTTPS_OTA_CHECKPOINT_MAX];
    size_t len = otk_https_ota_checkpoint_encode(&s.cp, bytes, sizeof bytes);
    assert_true(len > sizeof s.cp.stream);
    assert_int_equal(otk_https_ota_checkpoint_encode(&s.cp, bytes, len - 1), 0);
    static otk_https_ota_checkpoint_t back;
    otk_diag_t d;
    assert_int_equal(otk_https_ota_checkpoint_decode(bytes, len, &back, &d), ESP_OK);
    assert_null(back.stream.info.chip); /* never a pointer from another process */
    s.cp.stream.info.chip = NULL;
    assert_string_equal(back.url, s.cp.url);
    assert_int_equal(back.offset, s.cp.offset);
    assert_int_equal(back.identity.length, s.cp.identity.length);
    assert_string_equal(back.identity.etag, s.cp.identity.etag);
    assert_string_equal(back.staging_label, "ota_0");
    assert_memory_equal(&back.stream, &s.cp.stream, sizeof back.stream);
    bytes[len / 2] ^= 0x10;
    assert_int_equal(otk_https_ota_checkpoint_decode(bytes, len, &back, &d),
                     ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(d.msg, "CRC"));
    bytes[len / 2] ^= 0x10;
    assert_int_equal(otk_https_ota_checkpoint_decode(bytes, len - 3, &back, &d),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_https_ota_checkpoint_decode(bytes, 5, &back, &d), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(d.msg, "magic"));
    /* The decoded checkpoint resumes as well as the original. */
    otk_https_ota_config_t c;
    config(&c, url, &d);
    c.resume_from = &back;
    otk_https_ota_report_t rep;
    assert_int_equal(otk_https_ota(&dev, &c, &rep), ESP_OK);
    assert_int_equal(rep.resumed_from, back.offset);
    assert_slot_holds("ota_0", v2, v2_len);
}

static void test_pull_redownloads_a_damaged_slot(void **state)
{
    (void)state;
    const char *url = write_temp("v2.bin", v2, v2_len);
    saved_t s;
    cut_power_during(url, 100000, OTK_FLASH_FAULT_CUT_BEFORE, &s);
    char flash_path[128], cp_path[160];
    snprintf(flash_path, sizeof flash_path, "%s/dev.bin", dir);
    assert_true(otk_ota_checkpoint_path(flash_path, cp_path, sizeof cp_path));
    assert_int_equal(otk_ota_checkpoint_save(cp_path, &s.cp, NULL), ESP_OK);
    /* Something else changed the slot below the checkpoint: clear one payload bit. */
    const esp_partition_t *slot = of_part(&dev, "ota_0");
    uint8_t byte;
    uint32_t at = slot->address + 40000;
    assert_int_equal(otk_flash_read(flash, at, &byte, 1), ESP_OK);
    byte &= (uint8_t)(byte - 1);
    assert_int_equal(otk_flash_program(flash, at, &byte, 1), ESP_OK);
    otk_ota_pull_opts_t o;
    otk_ota_pull_opts_init(&o);
    o.url = url;
    o.flash_path = flash_path;
    otk_ota_pull_result_t res;
    assert_int_equal(otk_ota_pull(&dev, &o, &res), ESP_OK);
    assert_true(res.checkpoint_found);
    assert_int_equal(res.report.resumed_from, 0); /* the second attempt, from 0 */
    assert_true(res.report.restarts >= 1);
    assert_slot_holds("ota_0", v2, v2_len);
    FILE *f = fopen(cp_path, "rb");
    assert_null(f); /* removed once installed */
}

static void test_pull_keeps_checkpoint_on_network_error(void **state)
{
    (void)state;
    char flash_path[128], cp_path[160];
    snprintf(flash_path, sizeof flash_path, "%s/dev2.bin", dir);
    assert_true(otk_ota_checkpoint_path(flash_path, cp_path, sizeof cp_path));
    FILE *f = fopen(cp_path, "wb");
    assert_non_null(f);
    fputs("not a checkpoint", f);
    fclose(f);
    otk_ota_pull_opts_t o;
    otk_ota_pull_opts_init(&o);
    char url[256];
    snprintf(url, sizeof url, "file://%s/missing.bin", dir);
    o.url = url;
    o.flash_path = flash_path;
    otk_ota_pull_result_t res;
    assert_int_equal(otk_ota_pull(&dev, &o, &res), ESP_ERR_NOT_FOUND);
    assert_string_equal(res.step, "begin");
    assert_true(res.checkpoint_found && res.checkpoint_refused);
    assert_non_null(strstr(res.diag.msg, "missing.bin"));
    f = fopen(cp_path, "rb");
    assert_null(f); /* an unusable checkpoint is removed */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fresh, destroy)
    const struct CMUnitTest tests[] = {
        T(test_full_update),
        T(test_begin_perform_finish_getters),
        T(test_head_checked_before_erase),
        T(test_corrupt_body_stops_at_the_first_bad_chunk),
        T(test_power_cut_then_resume),
        T(test_torn_write_then_resume),
        T(test_checkpoint_for_another_url_is_ignored),
        T(test_changed_file_starts_over),
        T(test_esp_idf_resumption),
        T(test_checkpoint_bytes),
        T(test_pull_redownloads_a_damaged_slot),
        T(test_pull_keeps_checkpoint_on_network_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
