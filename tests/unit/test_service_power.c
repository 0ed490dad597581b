/* Power cuts during the update service, at every physical flash operation of a run (the
 * flash layer's fault injection: cut before, cut after, torn), each followed by a power-on
 * and a second run. What must hold:
 *   - right after the cut, a data partition holds its old image exactly, or the state file
 *     says it is being replaced (commit record) or torn: never half-written unknown;
 *   - the next run completes it: the partition holds the new image exactly and its record
 *     says so, with nothing pending; an app ends installed and selected;
 *   - an interrupted download goes on from its checkpoint instead of starting over. */
#include <stdio.h>
#include <string.h>

#include "otakit/ota.h"
#include "service_fixture.h"
#include "test_support.h"

/* Checkpoints every sector, so that cuts land after some. */
#define CHECKPOINT 0x1000u
#define SEED 1234u

static const otk_flash_fault_kind_t kinds[] = {OTK_FLASH_FAULT_CUT_BEFORE,
                                               OTK_FLASH_FAULT_CUT_AFTER, OTK_FLASH_FAULT_TORN};

static uint8_t old_img[SF_DATA_SIZE], new_img[SF_DATA_SIZE];
static size_t old_len, new_len;

/* A device whose storage holds V1.0.0 (written by the service, so recorded), and the node
 * that brings V1.0.1 (12 KiB: three sectors). */
static void start(sf_t *f, const char *staging, otk_service_node_t *n)
{
    sf_start(f, true);
    f->cfg.checkpoint_bytes = CHECKPOINT;
    const uint8_t *src_old_len = sf_data(NULL, 6000, 1, &old_len);
    memcpy(old_img, src_old_len, old_len);
    const uint8_t *src_new_len = sf_data(NULL, 12000, 2, &new_len);
    memcpy(new_img, src_new_len, new_len);
    otk_service_node_t first;
    sf_data_node(&first, "storage", staging, sf_file(f, "old.bin", old_img, old_len), old_img,
                 old_len);
    strcpy(first.version, "V1.0.0");
    assert_int_equal(sf_run(f, &first, 1), ESP_OK);
    assert_int_equal(f->report.succeeded, 1);
    sf_data_node(n, "storage", staging, sf_file(f, "new.bin", new_img, new_len), new_img,
                 new_len);
    strcpy(n->version, "V1.0.1");
}

/* Physical operations a whole update takes. */
static uint64_t ops_of_update(const char *staging)
{
    static sf_t f;
    otk_service_node_t n;
    start(&f, staging, &n);
    uint64_t before = f.flash->physical_ops;
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_int_equal(f.report.succeeded, 1);
    uint64_t ops = f.flash->physical_ops - before;
    sf_stop(&f);
    return ops;
}

/* Right after the cut: old bytes exactly, or a record that says otherwise. */
static void check_known(sf_t *f, uint64_t k, otk_flash_fault_kind_t kind)
{
    otk_service_state_t st;
    sf_state(f, &st);
    const otk_service_record_t *r = otk_service_state_record(&st, "storage");
    assert_non_null(r);
    otk_flash_power_on(f->flash); /* to look: power-on changes no byte */
    bool old_exact = sf_holds(f, "storage", old_img, old_len, true);
    bool announced = st.commit.active || r->state == OTK_SERVICE_PART_TORN;
    if (!old_exact && !announced) {
        fail_msg("cut at op %llu (%s): storage changed, and nothing says so",
                 (unsigned long long)k, otk_flash_fault_kind_name(kind));
    }
    if (r->state == OTK_SERVICE_PART_VALID && !st.commit.active) {
        assert_string_equal(r->version, "V1.0.0");
    }
}

static void check_done(sf_t *f)
{
    assert_true(sf_holds(f, "storage", new_img, new_len, true));
    otk_service_state_t st;
    sf_state(f, &st);
    assert_false(st.commit.active || st.resume.active);
    const otk_service_record_t *r = otk_service_state_record(&st, "storage");
    assert_int_equal(r->state, OTK_SERVICE_PART_VALID);
    assert_string_equal(r->version, "V1.0.1");
    assert_int_equal(r->size, new_len);
}

static void sweep(const char *staging)
{
    uint64_t total = ops_of_update(staging);
    assert_true(total > 20);
    static sf_t f;
    unsigned redone = 0, resumed = 0;
    for (uint64_t k = 1; k <= total; k++) {
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            otk_service_node_t n;
            start(&f, staging, &n);
            otk_flash_arm_fault(f.flash, k, kinds[i], SEED + k);
            assert_int_equal(sf_run(&f, &n, 1), ESP_ERR_FLASH_OP_FAIL);
            assert_true(f.report.interrupted);
            assert_int_equal(f.report.nodes[0].reason, OTK_SERVICE_ERR_REASON_POWER_LOST);
            check_known(&f, k, kinds[i]);
            sf_reboot(&f);
            assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
            redone += f.report.recovered;
            resumed += f.report.nodes[0].resumed;
            if (f.report.nodes[0].status != OTK_SERVICE_NODE_SUCCESS &&
                f.report.nodes[0].status != OTK_SERVICE_NODE_SKIPPED) {
                fail_msg("cut at op %llu (%s), rerun: %s %s", (unsigned long long)k,
                         otk_flash_fault_kind_name(kinds[i]), 
                         otk_service_status_name(f.report.nodes[0].status),
                         f.report.nodes[0].message);
            }
            check_done(&f);
            sf_stop(&f);
        }
    }
    /* Both kinds of repair happened somewhere in the sweep. */
    if (staging != NULL) {
        assert_true(redone > 0);
    }
    assert_true(resumed > 0);
}

static void test_staged_data_every_cut(void **state)
{
    (void)state;
    sweep("staging");
}

static void test_in_place_data_every_cut(void **state)
{
    (void)state;
    sweep(NULL);
}

/* A cut in the copy from staging: the next power-on repairs the partition with no list at
 * all (otk_service_recover), from the staged image. */
static void test_recover_without_a_list(void **state)
{
    (void)state;
    static sf_t f;
    otk_service_node_t n;
    start(&f, "staging", &n);
    /* The staging download is 3 sector erases and 47 page programs, then the copy erases
     * the target (4 sectors): cut inside the copy's programs. */
    otk_flash_arm_fault(f.flash, 3 + 47 + 4 + 10, OTK_FLASH_FAULT_TORN, SEED);
    assert_int_equal(sf_run(&f, &n, 1), ESP_ERR_FLASH_OP_FAIL);
    otk_service_state_t st;
    sf_state(&f, &st);
    assert_true(st.commit.active);
    otk_flash_power_on(f.flash);
    assert_false(sf_holds(&f, "storage", old_img, old_len, true));
    sf_reboot(&f);
    otk_service_report_t rep;
    memset(&rep, 0, sizeof rep);
    f.events = 0;
    assert_int_equal(otk_service_recover(&f.cfg, &rep, NULL), ESP_OK);
    assert_int_equal(rep.recovered, 1);
    assert_int_equal(sf_event(&f, "recover storage success"), 0);
    check_done(&f);
    /* Then the list finds it up to date. */
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_int_equal(f.report.nodes[0].status, OTK_SERVICE_NODE_SKIPPED);
    sf_stop(&f);
}

/* The staged image damaged between the cut and the next run: the copy cannot be redone,
 * the partition is reported torn and the list writes it again. */
static void test_staging_lost(void **state)
{
    (void)state;
    static sf_t f;
    otk_service_node_t n;
    start(&f, "staging", &n);
    otk_flash_arm_fault(f.flash, 3 + 47 + 4 + 10, OTK_FLASH_FAULT_CUT_BEFORE, SEED);
    assert_int_equal(sf_run(&f, &n, 1), ESP_ERR_FLASH_OP_FAIL);
    sf_reboot(&f);
    assert_int_equal(otk_partition_erase_range(of_part(&f.dev, "staging"), 0, 0x1000), ESP_OK);
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    assert_int_equal(sf_event(&f, "recover storage failed"), 0);
    assert_int_equal(f.report.recovered, 0);
    assert_int_equal(f.report.nodes[0].status, OTK_SERVICE_NODE_SUCCESS);
    check_done(&f);
    sf_stop(&f);
}

/* An app download cut at every operation: the next run resumes (from the last checkpoint)
 * or starts over, and ends with the app installed and selected. */
static void test_app_every_cut(void **state)
{
    (void)state;
    static sf_t f;
    size_t len = 0;
    static uint8_t img[OF_IMAGE_MAX];
    const uint8_t *src_len = sf_app("V2.0.0", &len);
    memcpy(img, src_len, len);
    sf_start(&f, true);
    otk_service_node_t n;
    sf_app_node(&n, sf_file(&f, "app.bin", img, len), img, len);
    uint64_t before = f.flash->physical_ops;
    assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
    uint64_t total = f.flash->physical_ops - before;
    sf_stop(&f);
    unsigned resumed = 0;
    for (uint64_t k = 1; k <= total; k++) {
        sf_start(&f, true);
        f.cfg.checkpoint_bytes = CHECKPOINT;
        sf_app_node(&n, sf_file(&f, "app.bin", img, len), img, len);
        otk_flash_arm_fault(f.flash, k, OTK_FLASH_FAULT_TORN, SEED + k);
        assert_int_equal(sf_run(&f, &n, 1), ESP_ERR_FLASH_OP_FAIL);
        /* Nothing selected yet unless the cut came after set_boot's own writes. */
        sf_reboot(&f);
        assert_int_equal(sf_run(&f, &n, 1), ESP_OK);
        const otk_service_node_result_t *r = &f.report.nodes[0];
        if (r->status != OTK_SERVICE_NODE_SUCCESS && r->status != OTK_SERVICE_NODE_SKIPPED) {
            fail_msg("cut at op %llu: rerun %s: %s", (unsigned long long)k,
                     otk_service_status_name(r->status), r->message);
        }
        if (r->resumed) {
            resumed++;
            assert_true(r->resumed_from > 0 && r->resumed_from % CHECKPOINT == 0);
            assert_int_equal(r->bytes, len - r->resumed_from);
        }
        assert_true(sf_holds(&f, "ota_0", img, len, false));
        assert_ptr_equal(otk_ota_get_boot_partition(&f.dev), of_part(&f.dev, "ota_0"));
        sf_reboot(&f);
        assert_string_equal(of_running_version(&f.dev), "V2.0.0");
        sf_stop(&f);
    }
    assert_true(resumed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staged_data_every_cut),
        cmocka_unit_test(test_in_place_data_every_cut),
        cmocka_unit_test(test_recover_without_a_list),
        cmocka_unit_test(test_staging_lost),
        cmocka_unit_test(test_app_every_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
