/* The update service on a simulated device with file:// images: app and data partitions in
 * one run, the order of events, not newer -> skipped (never a reboot), broken images,
 * wrong SHA-256 and size, break_after_fail, the reboot flag, and custom step tables. */
#include <string.h>

#include "otakit/ota.h"
#include "service_fixture.h"
#include "test_support.h"

static sf_t f;

static int setup(void **state)
{
    (void)state;
    sf_start(&f, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sf_stop(&f);
    return 0;
}

#define RESULT(i) (f.report.nodes[(i)])

static void assert_status(size_t i, otk_service_status_t status, otk_service_reason_t reason)
{
    if (RESULT(i).status != status || RESULT(i).reason != reason) {
        fail_msg("node %zu: %s %s (%s), want %s %s", i, otk_service_status_name(RESULT(i).status),
                 otk_service_reason_name(RESULT(i).reason), RESULT(i).message,
                 otk_service_status_name(status), otk_service_reason_name(reason));
    }
}

/* The three nodes of a full update: app V2.0.0, storage raw V1.0.1 through staging,
 * small with a data header V1.0.0 in place. Images in static buffers of the test. */
static uint8_t app[OF_IMAGE_MAX], raw[SF_DATA_SIZE], hdr[SF_DATA_SIZE];
static size_t app_len, raw_len, hdr_len;

static void three_nodes(otk_service_node_t n[3])
{
    const uint8_t *p = sf_app("V2.0.0", &app_len);
    memcpy(app, p, app_len);
    p = sf_data(NULL, 10000, 7, &raw_len);
    memcpy(raw, p, raw_len);
    p = sf_data("V1.0.0", 5000, 9, &hdr_len);
    memcpy(hdr, p, hdr_len);
    sf_app_node(&n[0], sf_file(&f, "app.bin", app, app_len), app, app_len);
    sf_data_node(&n[1], "storage", "staging", sf_file(&f, "storage.bin", raw, raw_len), raw,
                 raw_len);
    strcpy(n[1].version, "V1.0.1");
    sf_data_node(&n[2], "small", NULL, sf_file(&f, "small.bin", hdr, hdr_len), hdr, hdr_len);
}

static void test_app_and_data_in_one_run(void **state)
{
    (void)state;
    otk_service_node_t n[3];
    three_nodes(n);
    assert_int_equal(sf_run(&f, n, 3), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_status(1, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_status(2, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_int_equal(f.report.succeeded, 3);
    assert_true(f.report.reboot); /* the app node's default */
    assert_string_equal(RESULT(0).partition, "ota_0");
    assert_string_equal(RESULT(0).current_version, "V1.0.0");
    assert_string_equal(RESULT(0).incoming_version, "V2.0.0");
    assert_int_equal(RESULT(0).bytes, app_len);
    assert_string_equal(RESULT(1).current_version, "");
    assert_string_equal(RESULT(1).incoming_version, "V1.0.1");
    assert_string_equal(RESULT(2).incoming_version, "V1.0.0");

    /* Bytes: the app in ota_0, selected; each data partition holds its image and 0xFF. */
    assert_true(sf_holds(&f, "ota_0", app, app_len, false));
    assert_ptr_equal(otk_ota_get_boot_partition(&f.dev), of_part(&f.dev, "ota_0"));
    assert_true(sf_holds(&f, "storage", raw, raw_len, true));
    assert_true(sf_holds(&f, "staging", raw, raw_len, false));
    assert_true(sf_holds(&f, "small", hdr, hdr_len, true));

    /* The records the device keeps; nothing pending. */
    otk_service_state_t st;
    sf_state(&f, &st);
    assert_false(st.commit.active || st.resume.active);
    otk_service_record_t *r = otk_service_state_record(&st, "storage");
    assert_non_null(r);
    assert_int_equal(r->state, OTK_SERVICE_PART_VALID);
    assert_string_equal(r->version, "V1.0.1");
    assert_int_equal(r->size, raw_len);
    assert_memory_equal(r->sha256, n[1].sha256, OTK_SHA256_LEN);
    assert_string_equal(otk_service_state_record(&st, "small")->version, "V1.0.0");

    /* The order of events: start, then per node begin, version, progress..., result; then
     * finish. */
    static const char *const want[] = {
        "start",       "node_begin 0", "version 0", "progress 0", "result 0 success",
        "node_begin 1", "version 1",   "progress 0", "result 1 success", "node_begin 2",
        "version 2",   "progress 2",   "result 2 success", "finish 3/0/0/0 reboot",
    };
    size_t w = 0;
    for (size_t i = 0; i < f.events; i++) {
        if (strncmp(f.event[i], "progress", 8) == 0 && strncmp(want[w], "progress", 8) != 0) {
            continue; /* several progress events per node */
        }
        if (strncmp(want[w], "progress", 8) == 0) {
            assert_int_equal(strncmp(f.event[i], "progress", 8), 0);
        } else if (strcmp(f.event[i], want[w]) != 0) {
            fail_msg("event %zu: '%s', want '%s'", i, f.event[i], want[w]);
        }
        w++;
    }
    assert_int_equal(w, sizeof want / sizeof want[0]);

    /* The reboot the caller does: V2.0.0 runs. */
    sf_reboot(&f);
    assert_string_equal(of_running_version(&f.dev), "V2.0.0");
}

static void test_not_newer_is_skipped(void **state)
{
    (void)state;
    otk_service_node_t n[3];
    three_nodes(n);
    assert_int_equal(sf_run(&f, n, 3), ESP_OK);
    /* Before the reboot: the app is installed and boots next; the data is there. */
    assert_int_equal(sf_run(&f, n, 3), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    assert_non_null(strstr(RESULT(0).message, "already installed in ota_0"));
    assert_status(1, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    assert_status(2, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    assert_int_equal(f.report.skipped, 3);
    assert_false(f.report.reboot); /* skipped nodes never reboot, reboot_flag or not */
    assert_int_equal(sf_event(&f, "finish 0/3/0/0"), (int)f.events - 1);

    /* After the reboot: V2.0.0 runs; the list's own version declines without a download
     * (the URIs now point nowhere: opening them would fail). */
    sf_reboot(&f);
    strcpy(n[0].version, "V2.0.0");
    strcpy(n[0].uri, "file:///nonexistent/app.bin");
    strcpy(n[1].uri, "file:///nonexistent/storage.bin");
    assert_int_equal(sf_run(&f, n, 2), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    assert_non_null(strstr(RESULT(0).message, "nothing downloaded"));
    assert_status(1, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    /* An older one is skipped too. */
    strcpy(n[0].version, "V1.9.9");
    strcpy(n[1].version, "V1.0.0");
    assert_int_equal(sf_run(&f, n, 2), ESP_OK);
    assert_int_equal(f.report.skipped, 2);

    /* Data with a header: the partition's own header says V1.0.0, the image's V1.0.0. */
    assert_int_equal(sf_run(&f, &n[2], 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    assert_string_equal(RESULT(0).current_version, "V1.0.0");
}

static void test_raw_data_without_version(void **state)
{
    (void)state;
    size_t len = 0;
    const uint8_t *img = sf_data(NULL, 3000, 1, &len);
    otk_service_node_t n;
    sf_data_node(&n, "storage", "staging", sf_file(&f, "a.bin", img, len), img, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    /* The same bytes again: the record's SHA-256 matches the partition and the list. */
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    /* Something else wrote the partition: the record no longer vouches for it. */
    const esp_partition_t *p = of_part(&f.dev, "storage");
    assert_int_equal(otk_partition_write(p, 100, "\0", 1), ESP_OK);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_true(sf_holds(&f, "storage", img, len, true));
}

static void test_broken_data_image(void **state)
{
    (void)state;
    size_t len = 0;
    static uint8_t good[SF_DATA_SIZE];
    const uint8_t *src_len = sf_data("V1.0.0", 2000, 3, &len);
    memcpy(good, src_len, len);
    otk_service_node_t n;
    sf_data_node(&n, "storage", "staging", sf_file(&f, "good.bin", good, len), good, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    static uint8_t img[SF_DATA_SIZE];
    const uint8_t *p = sf_data("V1.1.0", 2000, 4, &len);
    memcpy(img, p, len);

    /* A damaged header: refused before anything is erased. */
    img[12] ^= 0xFF;
    sf_data_node(&n, "storage", "staging", sf_file(&f, "crc.bin", img, len), img, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_IMAGE_INVALID);
    assert_non_null(strstr(RESULT(0).message, "CRC"));
    assert_true(sf_holds(&f, "storage", good, len, true));
    img[12] ^= 0xFF;

    /* Truncated (its header counts more payload than there is; no list size or hash to
     * catch it): staged, found broken, the target untouched. */
    sf_data_node(&n, "storage", "staging", sf_file(&f, "cut.bin", img, len - 100), img,
                 len - 100);
    n.has_sha256 = n.has_size = false;
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_IMAGE_INVALID);
    assert_non_null(strstr(RESULT(0).message, "header says 2000 payload bytes, it has 1900"));
    assert_true(sf_holds(&f, "storage", good, len, true));
    otk_service_state_t st;
    sf_state(&f, &st);
    assert_false(st.commit.active);
    assert_int_equal(otk_service_state_record(&st, "storage")->state, OTK_SERVICE_PART_VALID);

    /* The same in place: the partition was overwritten, and the record says so. */
    strcpy(n.staging, "");
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_IMAGE_INVALID);
    sf_state(&f, &st);
    assert_int_equal(otk_service_state_record(&st, "storage")->state, OTK_SERVICE_PART_TORN);
    char version[OTK_VERSION_TEXT_MAX + 1];
    bool torn = false;
    assert_int_equal(otk_service_data_version(&st, of_part(&f.dev, "storage"), version, &torn),
                     ESP_OK);
    assert_true(torn);
    assert_string_equal(version, ""); /* its header reads V1.1.0, but it is not trusted */
    /* The next run reports it, and a good image repairs it. */
    sf_data_node(&n, "storage", NULL, sf_file(&f, "fix.bin", img, len), img, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_int_equal(sf_event(&f, "recover storage failed"), 0);
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_true(sf_holds(&f, "storage", img, len, true));
}

static void test_wrong_sha256_and_size(void **state)
{
    (void)state;
    otk_service_node_t n[3];
    three_nodes(n);
    n[0].sha256[0] ^= 1;
    n[1].sha256[31] ^= 1;
    assert_int_equal(sf_run(&f, n, 2), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_SHA256_MISMATCH);
    assert_status(1, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_SHA256_MISMATCH);
    assert_non_null(strstr(RESULT(1).message, "SHA-256"));
    assert_false(f.report.reboot);
    /* Nothing selected, nothing committed; the data partition never touched. */
    assert_ptr_equal(otk_ota_get_boot_partition(&f.dev), of_part(&f.dev, "factory"));
    assert_true(sf_holds(&f, "storage", (const uint8_t *)"", 0, true));
    otk_service_state_t st;
    sf_state(&f, &st);
    assert_false(st.commit.active || st.resume.active);
    assert_null(otk_service_state_record(&st, "storage"));

    /* Sizes: the list's against the file's, before anything is written. */
    three_nodes(n);
    n[0].size += 1;
    n[1].size -= 1;
    uint8_t before[OTK_SHA256_LEN], after[OTK_SHA256_LEN];
    of_hash(f.flash, of_part(&f.dev, "staging"), before);
    uint64_t ops = f.flash->physical_ops;
    assert_int_equal(sf_run(&f, n, 2), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_SIZE_MISMATCH);
    assert_status(1, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_SIZE_MISMATCH);
    assert_int_equal(f.flash->physical_ops, ops); /* nothing erased or programmed */
    of_hash(f.flash, of_part(&f.dev, "staging"), after);
    assert_memory_equal(before, after, sizeof before);
    /* otadata is the OTA engine's, as a target or as staging. */
    three_nodes(n);
    strcpy(n[1].label, "otadata");
    assert_int_equal(sf_run(&f, &n[1], 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL);
    strcpy(n[1].label, "storage");
    strcpy(n[1].staging, "otadata");
    assert_int_equal(sf_run(&f, &n[1], 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL);
    assert_non_null(strstr(RESULT(0).message, "only the OTA engine writes it"));
    /* Too large for the partition (small is 8 KiB): from the list's size, and without one
     * from the file's, before anything is erased. */
    three_nodes(n);
    strcpy(n[1].label, "small");
    assert_int_equal(sf_run(&f, &n[1], 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE);
    n[1].has_size = false;
    assert_int_equal(sf_run(&f, &n[1], 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE);
    assert_non_null(strstr(RESULT(0).message, "does not fit small"));
}

static void test_break_after_fail(void **state)
{
    (void)state;
    otk_service_node_t n[3];
    three_nodes(n);
    strcpy(n[1].label, "nosuch");
    n[1].break_after_fail = true;
    otk_service_node_t list[2] = {n[1], n[0]};
    assert_int_equal(sf_run(&f, list, 2), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_PARTITION_NOT_FOUND);
    assert_status(1, OTK_SERVICE_NODE_NOT_RUN, OTK_SERVICE_ERR_REASON_NOT_RUN);
    assert_int_equal(sf_event(&f, "node_begin 1"), -1);
    assert_int_equal(sf_event(&f, "finish 0/0/1/1"), (int)f.events - 1);
    assert_ptr_equal(otk_ota_get_boot_partition(&f.dev), of_part(&f.dev, "factory"));
    /* Without the flag the list goes on. */
    list[0].break_after_fail = false;
    assert_int_equal(sf_run(&f, list, 2), ESP_OK);
    assert_status(1, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    /* A skipped node is no failure: it does not break the list. */
    list[0] = n[2];
    list[0].break_after_fail = true;
    assert_int_equal(sf_run(&f, &list[0], 1), ESP_OK);
    assert_int_equal(sf_run(&f, list, 2), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    assert_int_equal(RESULT(1).status, OTK_SERVICE_NODE_SKIPPED);
}

static void test_reboot_flag(void **state)
{
    (void)state;
    otk_service_node_t n[3];
    three_nodes(n);
    n[0].reboot_flag = false;
    assert_int_equal(sf_run(&f, n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_false(f.report.reboot);
    /* A data node may ask for one. */
    n[2].reboot_flag = true;
    assert_int_equal(sf_run(&f, &n[2], 1), ESP_OK);
    assert_true(f.report.reboot);
    assert_int_equal(sf_event(&f, "finish 1/0/0/0 reboot"), (int)f.events - 1);
    /* A failed node with the flag does not. */
    n[1].reboot_flag = true;
    n[1].sha256[0] ^= 1;
    assert_int_equal(sf_run(&f, &n[1], 1), ESP_OK);
    assert_false(f.report.reboot);
}

/* ---- custom steps ---------------------------------------------------------------------- */

static char calls[128];

static otk_service_reason_t my_prepare(otk_service_job_t *job)
{
    strcat(calls, "P");
    *otk_service_job_user(job) = calls;
    return otk_service_data_steps()->prepare(job);
}

static otk_service_reason_t my_need(otk_service_job_t *job)
{
    strcat(calls, "N");
    assert_ptr_equal(*otk_service_job_user(job), calls);
    otk_service_reason_t r = otk_service_data_steps()->need_upgrade(job);
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        otk_service_job_versions(job, "V0.0.1", "V0.0.2"); /* a custom step's own word */
    }
    return r;
}

static otk_service_reason_t my_execute(otk_service_job_t *job)
{
    strcat(calls, "E");
    return otk_service_data_steps()->execute_upgrade(job);
}

/* ADF's default finished_check returns SUCCESS whatever happened before it. */
static otk_service_reason_t adf_like_finished(otk_service_job_t *job, otk_service_reason_t r)
{
    (void)job;
    (void)r;
    strcat(calls, "F");
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

static otk_service_reason_t refuse_prepare(otk_service_job_t *job)
{
    strcat(calls, "P");
    otk_service_job_message(job, "custom refusal %d", 42);
    return OTK_SERVICE_ERR_REASON_ERROR_PROJECT_NAME;
}

static void test_custom_steps(void **state)
{
    (void)state;
    otk_service_node_t n[3];
    three_nodes(n);
    static const otk_service_steps_t mine = {my_prepare, my_need, my_execute, adf_like_finished};
    n[1].steps = &mine;
    n[1].reboot_flag = true;
    calls[0] = '\0';
    assert_int_equal(sf_run(&f, &n[1], 1), ESP_OK);
    assert_string_equal(calls, "PNEF");
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_true(f.report.reboot);
    assert_string_equal(RESULT(0).current_version, "V0.0.1");

    /* Run again: need_upgrade declines; finished_check says SUCCESS as ADF's does. ADF
     * would report success and reboot; here it is SKIPPED and no reboot. */
    calls[0] = '\0';
    assert_int_equal(sf_run(&f, &n[1], 1), ESP_OK);
    assert_string_equal(calls, "PNF");
    assert_status(0, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    assert_false(f.report.reboot);

    /* finished_check runs after a failed prepare too; a partial table keeps the defaults
     * for its NULL members. */
    static const otk_service_steps_t partial = {refuse_prepare, NULL, NULL, adf_like_finished};
    n[0].steps = &partial;
    calls[0] = '\0';
    assert_int_equal(sf_run(&f, n, 1), ESP_OK);
    assert_string_equal(calls, "PF");
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_ERROR_PROJECT_NAME);
    assert_string_equal(RESULT(0).message, "custom refusal 42");
    static const otk_service_steps_t only_check = {NULL, NULL, NULL, NULL};
    n[0].steps = &only_check;
    assert_int_equal(sf_run(&f, n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
}

/* ---- app refusals -------------------------------------------------------------------- */

static void test_app_refusals(void **state)
{
    (void)state;
    size_t len = 0;
    const uint8_t *img = sf_app("2.0.0", &len); /* not ADF's format */
    otk_service_node_t n;
    sf_app_node(&n, sf_file(&f, "plain.bin", img, len), img, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_ERROR_VERSION);
    assert_ptr_equal(otk_ota_get_boot_partition(&f.dev), of_part(&f.dev, "factory"));

    img = sf_app("V2.0.0", &len);
    sf_app_node(&n, sf_file(&f, "v2.bin", img, len), img, len);
    strcpy(n.version, "V2.0.1");
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_ERROR_VERSION);
    assert_non_null(strstr(RESULT(0).message, "the list says V2.0.1, the image says V2.0.0"));

    /* Not an app image: the first byte. */
    size_t dlen = 0;
    const uint8_t *data = sf_data(NULL, 1000, 0, &dlen);
    sf_app_node(&n, sf_file(&f, "data.bin", data, dlen), data, dlen);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_ERROR_MAGIC_WORD);

    /* Missing file, bad URI. */
    sf_app_node(&n, "file:///nonexistent/x.bin", img, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_FILE_NOT_FOUND);
    strcpy(n.uri, "gopher://h/x.bin");
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_URL_PARSE_FAIL);

    /* A damaged payload: the engine's verification refuses it, nothing selected. */
    static uint8_t bad[OF_IMAGE_MAX];
    memcpy(bad, img, len);
    bad[len / 2] ^= 0x01;
    sf_app_node(&n, sf_file(&f, "bad.bin", bad, len), bad, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_IMAGE_INVALID);
    assert_ptr_equal(otk_ota_get_boot_partition(&f.dev), of_part(&f.dev, "factory"));

    /* An app that has not confirmed itself blocks updates, as in ESP-IDF. */
    sf_app_node(&n, sf_file(&f, "v2.bin", img, len), img, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    sf_reboot(&f); /* V2.0.0 boots PENDING_VERIFY and does not confirm */
    img = sf_app("V3.0.0", &len);
    sf_app_node(&n, sf_file(&f, "v3.bin", img, len), img, len);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_FAILED, OTK_SERVICE_ERR_REASON_INVALID_STATE);
}

static void test_without_state_file(void **state)
{
    (void)state;
    f.cfg.state_path = NULL;
    otk_service_node_t n[3];
    three_nodes(n);
    assert_int_equal(sf_run(&f, n, 3), ESP_OK);
    assert_int_equal(f.report.succeeded, 3);
    /* Without records a raw image's version is unknown: it is written again; a header
     * image knows its own. */
    assert_int_equal(sf_run(&f, &n[1], 2), ESP_OK);
    assert_status(0, OTK_SERVICE_NODE_SUCCESS, OTK_SERVICE_ERR_REASON_SUCCESS);
    assert_status(1, OTK_SERVICE_NODE_SKIPPED, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION);
    /* Bad arguments. */
    otk_service_report_t rep;
    assert_int_equal(otk_service_run(&f.cfg, n, OTK_MANIFEST_MAX_NODES + 1, &rep, NULL),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_service_run(&f.cfg, n, 1, NULL, NULL), ESP_ERR_INVALID_ARG);
    f.cfg.checkpoint_bytes = 1000;
    assert_int_equal(otk_service_run(&f.cfg, n, 1, &rep, NULL), ESP_ERR_INVALID_ARG);
    assert_string_equal(otk_service_reason_name(OTK_SERVICE_ERR_REASON_GET_NEW_APP_DESC_FAIL),
                        "GET_NEW_APP_DESC_FAIL");
    assert_string_equal(otk_service_reason_name(OTK_SERVICE_ERR_REASON_INVALID_STATE),
                        "INVALID_STATE");
    assert_int_equal(OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION, 0x90004); /* ADF's value */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_app_and_data_in_one_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_newer_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_data_without_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_data_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_sha256_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_break_after_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reboot_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_state_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
