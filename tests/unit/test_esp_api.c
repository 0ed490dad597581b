/* The ESP-IDF compatible layer: an app that uses only esp_* names drives a simulated device
 * through a full OTA (write, set boot, restart, PENDING_VERIFY, confirm / roll back) under
 * the host runner, and what the esp_* getters report agrees with the native otk_ota_*
 * results. Also: no current device, esp_restart with no runner, logging, image checks. */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, waitpid */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_fixture.h"
#include "esp_app_desc.h"
#include "esp_image_format.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_system.h"
#include "otakit/esp_host.h"
#include "otakit/log.h"
#include "otakit/ota.h"
#include "test_support.h"

/* Several esp_ota_write calls, one not a multiple of 4 or 16 (the engine must not care). */
#define CHUNK 700u
#define PAYLOAD_LEN 3000u
#define IMAGE_MAX 0x2000u
#define MAX_SEEN 8
/* CRCs of otadata seq 1 and 2 (spec §3.2 test vectors). */
#define OTADATA_CRC_SEQ1 0x4743989Au
#define OTADATA_CRC_SEQ2 0x55F63774u

static otk_flash_t *s_flash;
static otk_device_t s_dev;

/* ---- update images ------------------------------------------------------------------ */

typedef struct {
    uint8_t bytes[IMAGE_MAX];
    size_t len;
} image_t;

static void make_image(image_t *img, const char *version)
{
    static uint8_t payload[PAYLOAD_LEN];
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(i * 31u + version[0]);
    }
    otk_image_app_fields_t app;
    memset(&app, 0, sizeof app);
    app.project_name = "esptest";
    app.version = version;
    app.idf_ver = "v6.0";
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, BF_CHIP);
    o.app = &app;
    o.payload = payload;
    o.payload_len = sizeof payload;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_image_build(&o, img->bytes, sizeof img->bytes, &img->len, &diag);
    if (err != ESP_OK) {
        fail_msg("image build: %s %s", esp_err_to_name(err), diag.msg);
    }
}

/* ---- the app under test: ESP-IDF calls only ------------------------------------------ */

/* What the app is asked to do and what it saw. Assertions happen after the run: a cmocka
 * failure inside app_main would leave the runner's frame behind. */
static struct {
    const image_t *update; /* install this on the next boot that is not PENDING_VERIFY */
    bool selftest_pass;
    unsigned calls;
    char label[MAX_SEEN][17];
    esp_ota_img_states_t state[MAX_SEEN];
    esp_err_t state_err[MAX_SEEN];
    esp_reset_reason_t reason[MAX_SEEN];
    esp_err_t begin_err, write_err, end_err, set_boot_err, confirm_err, rollback_err;
    const esp_partition_t *written;   /* the slot the update went to */
    const esp_partition_t *boot_next; /* esp_ota_get_boot_partition after set_boot */
    bool after_restart;               /* code after a restart ran: must stay false */
    esp_err_t nested_err;             /* otk_esp_run_app on the running device */
} s_app;

static void install(const image_t *img)
{
    const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
    esp_ota_handle_t handle = 0;
    s_app.written = next;
    s_app.begin_err = esp_ota_begin(next, OTA_WITH_SEQUENTIAL_WRITES, &handle);
    for (size_t at = 0; at < img->len && s_app.write_err == ESP_OK; at += CHUNK) {
        size_t n = img->len - at < CHUNK ? img->len - at : CHUNK;
        s_app.write_err = esp_ota_write(handle, img->bytes + at, n);
    }
    s_app.end_err = esp_ota_end(handle);
    s_app.set_boot_err = esp_ota_set_boot_partition(next);
    s_app.boot_next = esp_ota_get_boot_partition();
}

static void ota_app(void)
{
    unsigned n = s_app.calls++;
    const esp_partition_t *running = esp_ota_get_running_partition();
    esp_ota_img_states_t state = ESP_OTA_IMG_UNDEFINED;
    esp_err_t state_err = esp_ota_get_state_partition(running, &state);
    if (n < MAX_SEEN) {
        snprintf(s_app.label[n], sizeof s_app.label[n], "%s", running ? running->label : "");
        s_app.state[n] = state;
        s_app.state_err[n] = state_err;
        s_app.reason[n] = esp_reset_reason();
    }
    if (state_err == ESP_OK && state == ESP_OTA_IMG_PENDING_VERIFY) {
        if (s_app.selftest_pass) {
            s_app.confirm_err = esp_ota_mark_app_valid_cancel_rollback();
            return;
        }
        s_app.rollback_err = esp_ota_mark_app_invalid_rollback_and_reboot();
        s_app.after_restart = true;
        return;
    }
    if (s_app.update == NULL) {
        return;
    }
    const image_t *img = s_app.update;
    s_app.update = NULL; /* one update per run */
    install(img);
    esp_restart();
    s_app.after_restart = true;
}

static esp_err_t run(const image_t *update, bool selftest_pass, otk_esp_run_result_t *res)
{
    memset(&s_app, 0, sizeof s_app);
    s_app.update = update;
    s_app.selftest_pass = selftest_pass;
    otk_esp_run_opts_t opts;
    otk_esp_run_opts_init(&opts);
    opts.max_boots = 6;
    return otk_esp_run_app(&s_dev, ota_app, &opts, res);
}

static const esp_partition_t *part(const char *label)
{
    const esp_partition_t *p =
        esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY, label);
    assert_non_null(p);
    return p;
}

static void assert_record(const otk_esp_run_result_t *res, size_t i, const char *label,
                          const char *version, esp_ota_img_states_t state,
                          otk_esp_boot_end_t end)
{
    assert_true(i < res->record_count);
    const otk_esp_boot_record_t *r = &res->records[i];
    assert_int_equal(r->number, i + 1);
    assert_int_equal(r->err, ESP_OK);
    assert_string_equal(r->label, label);
    assert_string_equal(r->version, version);
    assert_int_equal(r->state, state);
    assert_int_equal(r->end, end);
}

/* The esp_* getters and the native API say the same about the device. */
static void assert_agrees_with_native(void)
{
    assert_ptr_equal(esp_ota_get_boot_partition(), otk_ota_get_boot_partition(&s_dev));
    assert_ptr_equal(esp_ota_get_running_partition(), otk_ota_get_running_partition(&s_dev));
    assert_ptr_equal(esp_ota_get_running_partition(), s_dev.running);
    assert_ptr_equal(esp_ota_get_last_invalid_partition(),
                     otk_ota_get_last_invalid_partition(&s_dev));
    assert_int_equal(esp_ota_get_app_partition_count(), otk_ota_get_app_partition_count(&s_dev));
    assert_int_equal(esp_ota_check_rollback_is_possible(),
                     otk_ota_check_rollback_is_possible(&s_dev));
    assert_ptr_equal(esp_ota_get_next_update_partition(NULL),
                     otk_ota_get_next_update_partition(&s_dev, NULL));
    static const char *const labels[] = {"factory", "ota_0", "ota_1"};
    for (size_t i = 0; i < 3; i++) {
        const esp_partition_t *p = part(labels[i]);
        esp_ota_img_states_t a = ESP_OTA_IMG_UNDEFINED, b = ESP_OTA_IMG_UNDEFINED;
        assert_int_equal(esp_ota_get_state_partition(p, &a),
                         otk_ota_get_state_partition(&s_dev, p, &b));
        assert_int_equal(a, b);
        esp_app_desc_t da, db;
        memset(&da, 0, sizeof da);
        memset(&db, 0, sizeof db);
        assert_int_equal(esp_ota_get_partition_description(p, &da),
                         otk_ota_get_partition_description(&s_dev, p, &db));
        assert_memory_equal(&da, &db, sizeof da);
    }
    assert_ptr_equal(esp_app_get_description(), otk_device_running_app(&s_dev));
}

/* The otadata sector holding `seq` has {seq, state, crc} byte for byte. */
static void assert_otadata_entry(uint32_t seq, uint32_t state, uint32_t crc)
{
    const esp_partition_t *od =
        esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL);
    assert_non_null(od);
    for (uint32_t sector = 0; sector < 2; sector++) {
        uint8_t raw[32];
        assert_int_equal(esp_partition_read(od, sector * 0x1000u, raw, sizeof raw), ESP_OK);
        uint32_t got_seq = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                           (uint32_t)raw[3] << 24;
        if (got_seq != seq) {
            continue;
        }
        const uint8_t want_state[4] = {(uint8_t)state, (uint8_t)(state >> 8),
                                       (uint8_t)(state >> 16), (uint8_t)(state >> 24)};
        const uint8_t want_crc[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                                     (uint8_t)(crc >> 24)};
        assert_memory_equal(raw + 24, want_state, 4);
        assert_memory_equal(raw + 28, want_crc, 4);
        return;
    }
    fail_msg("no otadata entry with seq %u", (unsigned)seq);
}

/* ---- fixtures ----------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    s_flash = bf_create(BF_CSV_FACTORY_2OTA);
    otk_device_config_t config;
    otk_device_config_init(&config);
    config.chip_id = BF_CHIP;
    assert_int_equal(otk_device_init(&s_dev, s_flash, &config, 0), ESP_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    otk_esp_set_current_device(NULL);
    bf_destroy(s_flash);
    s_flash = NULL;
    return 0;
}

/* Install v2 from the factory app and confirm it: two boots. */
static void update_and_confirm(image_t *v2)
{
    make_image(v2, "v2");
    otk_esp_run_result_t res;
    assert_int_equal(run(v2, true, &res), ESP_OK);
    assert_int_equal(res.stop, OTK_ESP_STOP_RETURNED);
    assert_int_equal(res.boots, 2);
    assert_int_equal(res.restarts, 1);
    assert_int_equal(res.record_count, 2);
    assert_record(&res, 0, "factory", "factory", ESP_OTA_IMG_UNDEFINED, OTK_ESP_BOOT_RESTARTED);
    assert_record(&res, 1, "ota_0", "v2", ESP_OTA_IMG_PENDING_VERIFY, OTK_ESP_BOOT_RETURNED);
    assert_int_equal(s_app.begin_err, ESP_OK);
    assert_int_equal(s_app.write_err, ESP_OK);
    assert_int_equal(s_app.end_err, ESP_OK);
    assert_int_equal(s_app.set_boot_err, ESP_OK);
    assert_int_equal(s_app.confirm_err, ESP_OK);
    assert_false(s_app.after_restart);
    assert_string_equal(s_app.written->label, "ota_0");
    assert_ptr_equal(s_app.boot_next, s_app.written);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_update_restart_confirm(void **state)
{
    (void)state;
    image_t v2;
    update_and_confirm(&v2);

    /* What the app saw on each boot. */
    assert_int_equal(s_app.calls, 2);
    assert_string_equal(s_app.label[0], "factory");
    assert_int_equal(s_app.state_err[0], ESP_ERR_NOT_SUPPORTED); /* factory: not an OTA slot */
    assert_int_equal(s_app.reason[0], ESP_RST_POWERON);
    assert_string_equal(s_app.label[1], "ota_0");
    assert_int_equal(s_app.state[1], ESP_OTA_IMG_PENDING_VERIFY);
    assert_int_equal(s_app.reason[1], ESP_RST_SW);

    /* The device stays current after the run: the esp_* API reads it. */
    assert_ptr_equal(otk_esp_get_current_device(), &s_dev);
    const esp_partition_t *ota0 = part("ota_0");
    assert_ptr_equal(esp_ota_get_running_partition(), ota0);
    assert_ptr_equal(esp_ota_get_boot_partition(), ota0);
    esp_ota_img_states_t st;
    assert_int_equal(esp_ota_get_state_partition(ota0, &st), ESP_OK);
    assert_int_equal(st, ESP_OTA_IMG_VALID);
    assert_string_equal(esp_app_get_description()->version, "v2");
    assert_int_equal(esp_ota_get_app_partition_count(), 2);
    assert_null(esp_ota_get_last_invalid_partition());
    assert_true(esp_ota_check_rollback_is_possible()); /* the factory app verifies */
    assert_ptr_equal(esp_ota_get_next_update_partition(NULL), part("ota_1"));
    assert_otadata_entry(1, ESP_OTA_IMG_VALID, OTADATA_CRC_SEQ1);
    /* The written slot is byte for byte the image. */
    uint8_t back[IMAGE_MAX];
    assert_int_equal(esp_partition_read(ota0, 0, back, v2.len), ESP_OK);
    assert_memory_equal(back, v2.bytes, v2.len);
    assert_agrees_with_native();
    /* Outside a run the device was powered on by someone: a power-on reset. */
    assert_int_equal(esp_reset_reason(), ESP_RST_POWERON);
}

static void test_selftest_fail_rolls_back(void **state)
{
    (void)state;
    image_t v2, v3;
    update_and_confirm(&v2);
    make_image(&v3, "v3");

    otk_esp_run_result_t res;
    assert_int_equal(run(&v3, false, &res), ESP_OK);
    assert_int_equal(res.boots, 3);
    assert_int_equal(res.restarts, 2);
    assert_record(&res, 0, "ota_0", "v2", ESP_OTA_IMG_VALID, OTK_ESP_BOOT_RESTARTED);
    assert_record(&res, 1, "ota_1", "v3", ESP_OTA_IMG_PENDING_VERIFY, OTK_ESP_BOOT_RESTARTED);
    assert_record(&res, 2, "ota_0", "v2", ESP_OTA_IMG_VALID, OTK_ESP_BOOT_RETURNED);
    assert_string_equal(s_app.written->label, "ota_1");
    assert_int_equal(s_app.end_err, ESP_OK);
    /* mark_app_invalid_rollback_and_reboot did not return. */
    assert_false(s_app.after_restart);
    assert_int_equal(s_app.rollback_err, ESP_OK);

    const esp_partition_t *ota1 = part("ota_1");
    assert_ptr_equal(esp_ota_get_last_invalid_partition(), ota1);
    esp_ota_img_states_t st;
    assert_int_equal(esp_ota_get_state_partition(ota1, &st), ESP_OK);
    assert_int_equal(st, ESP_OTA_IMG_INVALID);
    assert_ptr_equal(esp_ota_get_running_partition(), part("ota_0"));
    assert_ptr_equal(esp_ota_get_boot_partition(), part("ota_0"));
    assert_otadata_entry(1, ESP_OTA_IMG_VALID, OTADATA_CRC_SEQ1);
    assert_otadata_entry(2, ESP_OTA_IMG_INVALID, OTADATA_CRC_SEQ2);
    assert_agrees_with_native();
}

static void restart_forever(void)
{
    s_app.calls++;
    esp_restart();
}

static void test_max_boots(void **state)
{
    (void)state;
    memset(&s_app, 0, sizeof s_app);
    otk_esp_run_opts_t opts;
    otk_esp_run_opts_init(&opts);
    opts.max_boots = 3;
    otk_esp_run_result_t res;
    assert_int_equal(otk_esp_run_app(&s_dev, restart_forever, &opts, &res),
                     ESP_ERR_NOT_FINISHED);
    assert_int_equal(res.stop, OTK_ESP_STOP_MAX_BOOTS);
    assert_int_equal(res.err, ESP_ERR_NOT_FINISHED);
    assert_int_equal(res.boots, 3);
    assert_int_equal(res.restarts, 3);
    assert_int_equal(s_app.calls, 3);
    assert_string_equal(res.records[2].label, "factory");
    assert_int_equal(res.records[2].end, OTK_ESP_BOOT_RESTARTED);
}

static void nested_run(void)
{
    s_app.calls++;
    s_app.nested_err = otk_esp_run_app(&s_dev, nested_run, NULL, NULL);
}

static void test_run_bad_args(void **state)
{
    (void)state;
    otk_esp_run_result_t res;
    assert_int_equal(otk_esp_run_app(NULL, restart_forever, NULL, &res), ESP_ERR_INVALID_ARG);
    assert_int_equal(res.stop, OTK_ESP_STOP_ARGS);
    assert_int_equal(otk_esp_run_app(&s_dev, NULL, NULL, &res), ESP_ERR_INVALID_ARG);
    otk_esp_run_opts_t opts;
    otk_esp_run_opts_init(&opts);
    opts.max_boots = 0;
    assert_int_equal(otk_esp_run_app(&s_dev, restart_forever, &opts, &res), ESP_ERR_INVALID_ARG);
    assert_int_equal(res.boots, 0);
    /* An app cannot run its own device's app again. */
    memset(&s_app, 0, sizeof s_app);
    assert_int_equal(otk_esp_run_app(&s_dev, nested_run, NULL, &res), ESP_OK);
    assert_int_equal(s_app.calls, 1);
    assert_int_equal(s_app.nested_err, ESP_ERR_INVALID_STATE);
}

static void test_no_boot(void **state)
{
    (void)state;
    bf_erase(s_flash, "factory");
    bf_erase(s_flash, "ota_0");
    bf_erase(s_flash, "ota_1");
    memset(&s_app, 0, sizeof s_app);
    otk_esp_run_result_t res;
    assert_int_equal(otk_esp_run_app(&s_dev, restart_forever, NULL, &res), ESP_ERR_NOT_FOUND);
    assert_int_equal(res.stop, OTK_ESP_STOP_NO_BOOT);
    assert_int_equal(res.boots, 1);
    assert_int_equal(res.records[0].end, OTK_ESP_BOOT_FAILED);
    assert_int_equal(s_app.calls, 0);
}

static char s_log[4096];
static void log_sink(void *ctx, otk_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    size_t used = strlen(s_log);
    snprintf(s_log + used, sizeof s_log - used, "%s\n", line);
}

static void test_no_current_device(void **state)
{
    (void)state;
    otk_esp_set_current_device(NULL);
    s_log[0] = '\0';
    otk_log_set_sink(log_sink, NULL);
    esp_ota_handle_t h = 0;
    uint8_t byte = 0xE9;
    esp_ota_img_states_t st;
    esp_app_desc_t desc;
    assert_null(esp_ota_get_running_partition());
    assert_null(esp_ota_get_boot_partition());
    assert_null(esp_ota_get_next_update_partition(NULL));
    assert_null(esp_ota_get_last_invalid_partition());
    assert_null(esp_app_get_description());
    assert_null(esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY,
                                         NULL));
    assert_int_equal(esp_ota_begin(NULL, 0, &h), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_ota_write(1, &byte, 1), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_ota_end(1), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_ota_get_state_partition(NULL, &st), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_ota_get_partition_description(NULL, &desc), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_ota_mark_app_valid_cancel_rollback(), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_ota_mark_app_invalid_rollback_and_reboot(), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_ota_get_app_partition_count(), 0);
    assert_false(esp_ota_check_rollback_is_possible());
    assert_int_equal(esp_reset_reason(), ESP_RST_UNKNOWN);
    otk_log_set_sink(NULL, NULL);
    assert_non_null(strstr(s_log, "esp_ota_begin: no current device"));
    assert_non_null(strstr(s_log, "esp_app_get_description: no current device"));
}

/* esp_restart must not return; with nothing to reboot into it aborts with a reason. Run
 * in a child so the abort does not end the test program. */
static void test_restart_without_runner_aborts(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        otk_esp_set_current_device(&s_dev); /* current, but no runner */
        esp_restart();
        _exit(0); /* not reached */
    }
    close(fds[1]);
    char out[512] = "";
    size_t used = 0;
    ssize_t n;
    while ((n = read(fds[0], out + used, sizeof out - 1 - used)) > 0) {
        used += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(out, "esp_restart"));
    assert_non_null(strstr(out, "otk_esp_run_app"));
}

static void test_err_to_name(void **state)
{
    (void)state;
    assert_string_equal(esp_err_to_name(ESP_OK), "ESP_OK");
    assert_string_equal(esp_err_to_name(ESP_FAIL), "ESP_FAIL");
    assert_string_equal(esp_err_to_name(ESP_ERR_INVALID_STATE), "ESP_ERR_INVALID_STATE");
    assert_string_equal(esp_err_to_name(ESP_ERR_OTA_VALIDATE_FAILED),
                        "ESP_ERR_OTA_VALIDATE_FAILED");
    assert_string_equal(esp_err_to_name(ESP_ERR_OTA_ROLLBACK_INVALID_STATE),
                        "ESP_ERR_OTA_ROLLBACK_INVALID_STATE");
    assert_string_equal(esp_err_to_name(0x1500 + 0x7f), "UNKNOWN ERROR");
}

static void test_log_format_and_levels(void **state)
{
    (void)state;
    otk_log_level_t saved = otk_log_get_level();
    s_log[0] = '\0';
    otk_log_set_sink(log_sink, NULL);
    esp_log_level_set("*", ESP_LOG_INFO);
    esp_log_level_set("quiet", ESP_LOG_ERROR);
    ESP_LOGI("app", "version %s, %d chunks", "v2", 5);
    ESP_LOGD("app", "debug is below INFO");
    ESP_LOGW("quiet", "this tag logs errors only");
    ESP_LOGE("quiet", "an error");
    uint8_t bytes[18] = {0xE9, 0x03};
    ESP_LOG_BUFFER_HEX("hex", bytes, sizeof bytes);
    assert_int_equal(esp_log_level_get("quiet"), ESP_LOG_ERROR);
    assert_int_equal(esp_log_level_get("other"), ESP_LOG_INFO);
    esp_log_level_set("*", (esp_log_level_t)saved); /* also forgets "quiet" */
    assert_int_equal(esp_log_level_get("quiet"), (esp_log_level_t)saved);
    otk_log_set_sink(NULL, NULL);

    /* "I (ms) tag: message", as ESP-IDF prints. */
    const char *line = strstr(s_log, "I (");
    assert_non_null(line);
    assert_non_null(strstr(line, ") app: version v2, 5 chunks\n"));
    assert_null(strstr(s_log, "debug is below"));
    assert_null(strstr(s_log, "errors only"));
    assert_non_null(strstr(s_log, "E ("));
    assert_non_null(strstr(s_log, ") quiet: an error\n"));
    assert_non_null(strstr(s_log, ") hex: e9 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"));
    assert_non_null(strstr(s_log, ") hex: 00 00\n"));
}

static void test_image_verify(void **state)
{
    (void)state;
    otk_esp_set_current_device(&s_dev);
    assert_int_equal(otk_device_power_on(&s_dev), ESP_OK);
    const esp_partition_t *factory = part("factory");
    esp_partition_pos_t pos = {factory->address, factory->size};
    esp_image_metadata_t md;
    assert_int_equal(esp_image_verify(ESP_IMAGE_VERIFY, &pos, &md), ESP_OK);
    assert_int_equal(md.start_addr, factory->address);
    assert_int_equal(md.image.magic, ESP_IMAGE_HEADER_MAGIC);
    assert_int_equal(md.image.chip_id, BF_CHIP);
    assert_true(md.image_len > 0 && md.image_len <= factory->size);
    assert_int_equal(md.segment_data[0], factory->address + 24 + 8);
    /* A damaged image fails verification but still shows its layout. */
    bf_corrupt(s_flash, "factory");
    assert_int_equal(esp_image_verify(ESP_IMAGE_VERIFY_SILENT, &pos, &md), ESP_ERR_IMAGE_INVALID);
    assert_int_equal(esp_image_get_metadata(&pos, &md), ESP_OK);
    assert_int_equal(md.image.magic, ESP_IMAGE_HEADER_MAGIC);
    assert_int_equal(esp_image_verify(ESP_IMAGE_VERIFY_SILENT, NULL, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_image_get_flash_size(ESP_IMAGE_FLASH_SIZE_4MB), 0x400000);
    assert_int_equal(esp_image_get_flash_size(ESP_IMAGE_FLASH_SIZE_MAX), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_update_restart_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selftest_fail_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_boots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_boot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_current_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_without_runner_aborts, setup, teardown),
        cmocka_unit_test(test_err_to_name),
        cmocka_unit_test(test_log_format_and_levels),
        cmocka_unit_test_setup_teardown(test_image_verify, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
