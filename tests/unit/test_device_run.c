/* The device runtime on a real flash image file: the self-test outcomes over the update
 * story, the log it writes, the eFuse persisting in the device file across power cycles,
 * the dry-run copy changing nothing, the app's own confirm and rollback, and open errors. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_fixture.h"
#include "otakit/device_run.h"
#include "test_support.h"

static char flash_path[256];
static const char *dir;

/* A flash image file made from the fixture's factory + 2 OTA layout (ESP32-C3 images),
 * and a device file saying the device is an ESP32-C3 with `extra` lines. */
static void make_device(const char *extra)
{
    dir = ts_make_temp_dir();
    snprintf(flash_path, sizeof flash_path, "%s/dev.bin", dir);
    otk_flash_t *mem = bf_create(BF_CSV_FACTORY_2OTA);
    uint8_t *bytes = malloc(BF_FLASH_SIZE);
    assert_non_null(bytes);
    assert_int_equal(otk_flash_read(mem, 0, bytes, BF_FLASH_SIZE), ESP_OK);
    otk_flash_t *file;
    assert_int_equal(otk_flash_file_create(flash_path, BF_FLASH_SIZE, &file), ESP_OK);
    assert_int_equal(otk_flash_program(file, 0, bytes, BF_FLASH_SIZE), ESP_OK);
    otk_flash_destroy(file);
    bf_destroy(mem);
    free(bytes);
    char path[300];
    snprintf(path, sizeof path, "%s.device", flash_path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "chip = esp32c3\n%s", extra);
    fclose(f);
}

/* Open the device with its log captured in memory. */
static void open_device(otk_device_run_t *run, FILE **log, char **text, size_t *len)
{
    *log = open_memstream(text, len);
    assert_non_null(*log);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_device_run_open(run, flash_path, *log, &diag);
    if (err != ESP_OK) {
        fail_msg("open: %s", diag.msg);
    }
}

/* fclose may move the memstream's buffer: free it only after, through the pointer. */
static void close_device(otk_device_run_t *run, FILE *log, char **text)
{
    otk_device_run_close(run);
    fclose(log);
    free(*text);
    *text = NULL;
}

static void assert_logged(FILE *log, char **text, const char *want)
{
    fflush(log);
    if (strstr(*text, want) == NULL) {
        fail_msg("'%s' not in the log:\n%s", want, *text);
    }
}

static otk_device_run_t run; /* about 50 KiB */

static void test_story_outcomes(void **state)
{
    (void)state;
    make_device("");
    FILE *log;
    char *text = NULL;
    size_t len = 0;
    open_device(&run, &log, &text, &len);
    /* The factory app: nothing to confirm. */
    assert_int_equal(otk_device_run_power_on(&run, OTK_SELFTEST_AUTO), ESP_OK);
    assert_string_equal(run.dev.running->label, "factory");
    assert_int_equal(run.selftest.outcome, OTK_SELFTEST_NOT_PENDING);
    assert_false(run.selftest.has_state);
    assert_logged(log, &text, "I (");
    assert_logged(log, &text, "boot: selected factory");
    assert_logged(log, &text, "app: boottest factory running from factory (not an OTA slot)");

    /* v2 installed in ota_0 with a NEW entry: it boots PENDING_VERIFY and confirms. */
    bf_put_app(run.flash, "ota_0", "v2", 0);
    bf_set_otadata(run.flash, 0, 1, ESP_OTA_IMG_NEW);
    assert_int_equal(otk_device_run_power_on(&run, OTK_SELFTEST_AUTO), ESP_OK);
    assert_string_equal(run.dev.running->label, "ota_0");
    assert_int_equal(run.selftest.outcome, OTK_SELFTEST_CONFIRMED);
    assert_int_equal(run.selftest.state_before, ESP_OTA_IMG_PENDING_VERIFY);
    esp_ota_select_entry_t want = bf_entry(1, ESP_OTA_IMG_VALID);
    bf_assert_sector(run.flash, 0, &want);
    assert_logged(log, &text, "NEW -> PENDING_VERIFY: first boot of ota_0");
    assert_logged(log, &text, "app: boottest v2 running from ota_0 (PENDING_VERIFY)");
    assert_logged(log, &text, "ota_0 is VALID, rollback cancelled");

    /* v3 in ota_1, the device option says its self-test fails: it stays unconfirmed. */
    bf_put_app(run.flash, "ota_1", "v3", 0);
    bf_set_otadata(run.flash, 1, 2, ESP_OTA_IMG_NEW);
    assert_int_equal(otk_device_run_power_on(&run, OTK_SELFTEST_FAIL), ESP_OK);
    assert_string_equal(run.dev.running->label, "ota_1");
    assert_int_equal(run.selftest.outcome, OTK_SELFTEST_UNCONFIRMED);
    assert_int_equal(run.selftest.effective, OTK_SELFTEST_FAIL);
    want = bf_entry(2, ESP_OTA_IMG_PENDING_VERIFY);
    bf_assert_sector(run.flash, 1, &want);
    assert_logged(log, &text, "self-test failed (device option selftest = fail)");

    /* The next power-on rolls it back to v2, whatever the option now. */
    assert_int_equal(otk_device_run_power_on(&run, OTK_SELFTEST_PASS), ESP_OK);
    assert_string_equal(run.dev.running->label, "ota_0");
    assert_int_equal(run.selftest.outcome, OTK_SELFTEST_NOT_PENDING);
    want = bf_entry(2, ESP_OTA_IMG_ABORTED);
    bf_assert_sector(run.flash, 1, &want);
    assert_logged(log, &text, "PENDING_VERIFY -> ABORTED: ota_1 never confirmed itself");
    assert_int_equal(run.power_ons, 4);
    close_device(&run, log, &text);
    ts_cleanup_dir(dir);
}

static void test_efuse_persists(void **state)
{
    (void)state;
    make_device("anti_rollback = on\n");
    FILE *log;
    char *text = NULL;
    size_t len = 0;
    open_device(&run, &log, &text, &len);
    bf_put_app(run.flash, "ota_0", "v2", 2);
    bf_set_otadata(run.flash, 0, 1, ESP_OTA_IMG_NEW);
    assert_int_equal(otk_device_run_power_on(&run, OTK_SELFTEST_AUTO), ESP_OK);
    assert_int_equal(run.selftest.outcome, OTK_SELFTEST_CONFIRMED);
    assert_int_equal(run.dev.efuse_secure_version, 0x3);
    assert_logged(log, &text, "eFuse: secure version 0 -> 2");
    close_device(&run, log, &text);

    /* The next process finds the burnt bits in the device file. */
    otk_device_store_t s;
    otk_diag_t diag;
    bool existed = false;
    assert_int_equal(otk_device_store_load(flash_path, &s, &existed, &diag), ESP_OK);
    assert_true(existed);
    assert_int_equal(s.efuse_secure_version, 0x3);
    assert_true(s.config.anti_rollback);
    open_device(&run, &log, &text, &len);
    assert_int_equal(run.dev.efuse_secure_version, 0x3);
    close_device(&run, log, &text);
    ts_cleanup_dir(dir);
}

static void test_dry_run_copy(void **state)
{
    (void)state;
    make_device("");
    FILE *log;
    char *text = NULL;
    size_t len = 0;
    open_device(&run, &log, &text, &len);
    bf_put_app(run.flash, "ota_1", "v2", 0);
    bf_set_otadata(run.flash, 1, 2, ESP_OTA_IMG_NEW);
    uint8_t before[0x2000], after[0x2000];
    bf_snapshot_otadata(run.flash, before);
    static otk_device_run_t copy;
    otk_diag_t diag;
    assert_int_equal(otk_device_run_open_copy(&copy, &run, NULL, &diag), ESP_OK);
    assert_int_equal(otk_device_run_power_on(&copy, OTK_SELFTEST_AUTO), ESP_OK);
    assert_string_equal(copy.dev.running->label, "ota_1");
    assert_int_equal(copy.selftest.outcome, OTK_SELFTEST_CONFIRMED);
    otk_device_run_close(&copy);
    bf_snapshot_otadata(run.flash, after);
    assert_memory_equal(before, after, sizeof before);
    close_device(&run, log, &text);
    ts_cleanup_dir(dir);
}

static void test_confirm_and_rollback(void **state)
{
    (void)state;
    make_device("");
    FILE *log;
    char *text = NULL;
    size_t len = 0;
    open_device(&run, &log, &text, &len);
    bf_put_app(run.flash, "ota_0", "v2", 0);
    bf_set_otadata(run.flash, 0, 1, ESP_OTA_IMG_NEW);
    /* Boot without the self-test: the app decides by hand. */
    assert_int_equal(otk_device_run_boot(&run), ESP_OK);
    assert_int_equal(run.selftest.outcome, OTK_SELFTEST_NOT_RUN);
    assert_int_equal(otk_device_run_confirm(&run), ESP_OK);
    esp_ota_select_entry_t want = bf_entry(1, ESP_OTA_IMG_VALID);
    bf_assert_sector(run.flash, 0, &want);
    /* Rolling back a VALID ota_0 reboots into the factory app. */
    assert_int_equal(otk_device_run_rollback(&run, OTK_SELFTEST_AUTO), ESP_OK);
    assert_string_equal(run.dev.running->label, "factory");
    want = bf_entry(1, ESP_OTA_IMG_INVALID);
    bf_assert_sector(run.flash, 0, &want);
    /* The factory app has nothing to confirm or roll back. */
    assert_int_equal(otk_device_run_confirm(&run), ESP_FAIL);
    assert_logged(log, &text, "the running firmware is the factory app");
    close_device(&run, log, &text);
    ts_cleanup_dir(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    make_device("rollback = sometimes\n");
    otk_diag_t diag;
    assert_int_equal(otk_device_run_open(&run, flash_path, NULL, &diag), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, "dev.bin.device:2: rollback = sometimes"));
    assert_null(run.flash);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.bin", dir);
    assert_int_equal(otk_device_run_open(&run, missing, NULL, &diag), ESP_ERR_NOT_FOUND);
    assert_non_null(strstr(diag.msg, "no such flash image"));
    ts_cleanup_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_story_outcomes),
        cmocka_unit_test(test_efuse_persists),
        cmocka_unit_test(test_dry_run_copy),
        cmocka_unit_test(test_confirm_and_rollback),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
