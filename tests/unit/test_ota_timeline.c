/* Whole update lives on a device, otadata compared byte for byte at every step: the §3.6
 * timeline, rollback with and without a factory app, three-slot layouts cycling updates,
 * two updates at once, and an update cut by a power loss then resumed. */
#include <stdio.h>
#include <string.h>

#include "ota_fixture.h"
#include "test_support.h"

static otk_device_t dev;

/* §3.6, step by step (factory + ota_0 + ota_1, rollback enabled). */
static void test_spec_timeline(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    esp_ota_img_states_t st;

    /* Fresh flash: otadata all 0xFF, factory boots. */
    of_start(&dev, f, NULL, 0);
    assert_string_equal(dev.running->label, "factory");
    of_assert_erased_sector(&dev, 0);
    of_assert_erased_sector(&dev, 1);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "factory"));
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, NULL), of_part(&dev, "ota_0"));

    /* OTA -> ota_0, set_boot: sector 0 = seq 1, NEW, crc 4743989A. */
    of_install(&dev, "ota_0", "v1", 0);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_NEW);
    of_assert_erased_sector(&dev, 1);
    assert_int_equal(otk_otadata_crc(1), 0x4743989A);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_0"));

    /* Reboot: the bootloader marks it PENDING_VERIFY; ota_0 runs. */
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "ota_0");
    assert_string_equal(of_running_version(&dev), "v1");
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_PENDING_VERIFY);
    of_assert_erased_sector(&dev, 1);
    assert_int_equal(otk_ota_get_state_partition(&dev, dev.running, &st), ESP_OK);
    assert_int_equal(st, ESP_OTA_IMG_PENDING_VERIFY);

    /* The app confirms. */
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    of_assert_erased_sector(&dev, 1);

    /* OTA -> ota_1: begin finds the inactive sector empty (nothing to invalidate);
     * set_boot writes sector 1 = seq 2, NEW, crc 55F63774. */
    assert_ptr_equal(otk_ota_get_next_update_partition(&dev, NULL), of_part(&dev, "ota_1"));
    of_install(&dev, "ota_1", "v2", 0);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_NEW);
    assert_int_equal(otk_otadata_crc(2), 0x55F63774);

    /* Reboot: ota_1 runs, PENDING_VERIFY. */
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v2");
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_PENDING_VERIFY);
    assert_true(otk_ota_check_rollback_is_possible(&dev));

    /* Reset before confirming: PENDING_VERIFY -> ABORTED, rollback to ota_0. */
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "ota_0");
    assert_string_equal(of_running_version(&dev), "v1");
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_ABORTED);
    assert_ptr_equal(otk_ota_get_last_invalid_partition(&dev), of_part(&dev, "ota_1"));
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "ota_0"));
    assert_int_equal(otk_ota_get_state_partition(&dev, of_part(&dev, "ota_1"), &st), ESP_OK);
    assert_int_equal(st, ESP_OTA_IMG_ABORTED);

    /* Next OTA -> ota_1: begin erases sector 1 (inactive, valid CRC, maps to a slot that
     * is not running); set_boot writes seq 2 NEW there again. */
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_1"), OTA_SIZE_UNKNOWN, &h), ESP_OK);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    of_assert_erased_sector(&dev, 1);
    assert_null(otk_ota_get_last_invalid_partition(&dev));
    size_t len = 0;
    const uint8_t *image = of_image("v3", 0, &len);
    assert_int_equal(otk_ota_write(&dev, h, image, len), ESP_OK);
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_1")), ESP_OK);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_NEW);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v3");
    otk_flash_destroy(f);
}

/* No factory app: the first boot writes the initial entry; an app that rejects itself
 * rolls back to the previous slot. */
static void test_rollback_without_factory(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    of_put(f, "ota_0", "v1", 0);
    of_start(&dev, f, NULL, 0);
    assert_string_equal(dev.running->label, "ota_0");
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID); /* the bootloader's initial entry */
    of_assert_erased_sector(&dev, 1);
    /* Nothing to roll back to yet. */
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    assert_int_equal(otk_ota_mark_app_invalid_rollback(&dev), ESP_ERR_OTA_ROLLBACK_FAILED);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);

    of_install(&dev, "ota_1", "v2", 0);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v2");
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_PENDING_VERIFY);
    /* The new app fails its self-test. */
    assert_false(dev.restart_requested);
    assert_int_equal(otk_ota_mark_app_invalid_rollback_and_reboot(&dev), ESP_OK);
    assert_true(dev.restart_requested);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    of_assert_entry(&dev, 1, 2, ESP_OTA_IMG_INVALID);
    of_reboot(&dev);
    assert_false(dev.restart_requested);
    assert_string_equal(dev.running->label, "ota_0");
    assert_ptr_equal(otk_ota_get_last_invalid_partition(&dev), of_part(&dev, "ota_1"));

    /* Only the bootloader's initial entry: no last boot app to erase. */
    otk_flash_destroy(f);
    f = of_flash(OF_CSV_2OTA, OF_FLASH_SIZE);
    of_put(f, "ota_0", "v1", 0);
    of_start(&dev, f, NULL, 0);
    assert_int_equal(otk_ota_erase_last_boot_app_partition(&dev), ESP_FAIL);
    otk_flash_destroy(f);
}

/* With a factory app: a first OTA that is never confirmed falls back to factory; one that
 * rejects itself too. */
static void test_rollback_to_factory(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_start(&dev, f, NULL, 0);
    of_install(&dev, "ota_0", "v1", 0);
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "ota_0");
    of_reboot(&dev); /* not confirmed */
    assert_string_equal(dev.running->label, "factory");
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_ABORTED);
    of_assert_erased_sector(&dev, 1);
    assert_ptr_equal(otk_ota_get_boot_partition(&dev), of_part(&dev, "factory"));
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_FAIL); /* factory */

    /* Install again, then reject: factory verifies, so rollback is possible. */
    of_install(&dev, "ota_1", "v2", 0);
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "ota_1");
    assert_true(otk_ota_check_rollback_is_possible(&dev));
    assert_int_equal(otk_ota_mark_app_invalid_rollback(&dev), ESP_OK);
    assert_false(dev.restart_requested);
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "factory");

    /* If the factory app were damaged, rejecting would be refused. */
    of_install(&dev, "ota_0", "v3", 0);
    of_reboot(&dev);
    const esp_partition_t *fac = of_part(&dev, "factory");
    assert_int_equal(otk_flash_erase(f, fac->address, fac->size), ESP_OK);
    assert_false(otk_ota_check_rollback_is_possible(&dev));
    assert_int_equal(otk_ota_mark_app_invalid_rollback_and_reboot(&dev),
                     ESP_ERR_OTA_ROLLBACK_FAILED);
    assert_false(dev.restart_requested);
    otk_flash_destroy(f);
}

/* Three slots: updates go round ota_0 -> ota_1 -> ota_2 -> ota_0 ..., each seq one more,
 * written to the other otadata sector. */
static void cycle(const char *csv, const char *first_running, uint32_t first_seq)
{
    otk_flash_t *f = of_flash(csv, OF_FLASH_SIZE);
    if (strstr(csv, "factory") != NULL) {
        of_put(f, "factory", "factory", 0);
    } else {
        of_put(f, "ota_0", "v0", 0);
    }
    of_start(&dev, f, NULL, 0);
    assert_string_equal(dev.running->label, first_running);
    static const char *const order[] = {"ota_0", "ota_1", "ota_2"};
    int next = strcmp(first_running, "ota_0") == 0 ? 1 : 0;
    uint32_t seq = first_seq;
    for (int round = 0; round < 7; round++) {
        const esp_partition_t *target = otk_ota_get_next_update_partition(&dev, NULL);
        assert_ptr_equal(target, of_part(&dev, order[next]));
        char version[16];
        snprintf(version, sizeof version, "r%d", round);
        of_install(&dev, order[next], version, 0);
        of_assert_entry(&dev, (int)((seq - 1) % 2), seq, ESP_OTA_IMG_NEW);
        of_reboot(&dev);
        assert_string_equal(dev.running->label, order[next]);
        assert_string_equal(of_running_version(&dev), version);
        assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
        of_assert_entry(&dev, (int)((seq - 1) % 2), seq, ESP_OTA_IMG_VALID);
        seq++;
        next = (next + 1) % 3;
    }
    otk_flash_destroy(f);
}

static void test_three_slots_with_factory(void **state)
{
    (void)state;
    cycle(OF_CSV_FACTORY_3OTA, "factory", 1);
}

static void test_three_slots_without_factory(void **state)
{
    (void)state;
    /* ota_0 boots first and gets seq 1 VALID from the bootloader; the first update is
     * ota_1 with seq 2. */
    cycle(OF_CSV_3OTA, "ota_0", 2);
}

/* Two updates at once on a three-slot device, writes interleaved; either can be booted. */
static void test_two_handles_three_slots(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_3OTA, OF_FLASH_SIZE);
    of_put(f, "ota_0", "v0", 0);
    of_start(&dev, f, NULL, 0);
    static uint8_t a[OF_IMAGE_MAX], b[OF_IMAGE_MAX];
    size_t la = of_build(a, sizeof a, "A", 0, OF_PAYLOAD_LEN);
    size_t lb = of_build(b, sizeof b, "B", 0, OF_PAYLOAD_LEN * 2);
    esp_ota_handle_t ha = 0, hb = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_1"), la, &ha), ESP_OK);
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_2"), OTA_WITH_SEQUENTIAL_WRITES, &hb),
                     ESP_OK);
    size_t oa = 0, ob = 0;
    while (oa < la || ob < lb) {
        size_t na = la - oa < 0x155 ? la - oa : 0x155;
        size_t nb = lb - ob < 0x2A1 ? lb - ob : 0x2A1;
        if (na > 0) {
            assert_int_equal(otk_ota_write(&dev, ha, a + oa, na), ESP_OK);
            oa += na;
        }
        if (nb > 0) {
            assert_int_equal(otk_ota_write(&dev, hb, b + ob, nb), ESP_OK);
            ob += nb;
        }
    }
    assert_int_equal(otk_ota_end(&dev, ha), ESP_OK);
    assert_int_equal(otk_ota_end(&dev, hb), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_2")), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "B");
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, of_part(&dev, "ota_1")), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "A");
    /* seq: 1 (ota_0, initial), 3 (ota_2), then ota_1 after seq 3 -> 5 */
    of_assert_entry(&dev, 1, 3, ESP_OTA_IMG_VALID);
    of_assert_entry(&dev, 0, 5, ESP_OTA_IMG_PENDING_VERIFY);
    otk_flash_destroy(f);
}

/* Power is cut in the middle of an update: the device reboots into the old app, the app
 * resumes where its last write ended, and the new image then boots. */
static void power_cut_resume(otk_flash_fault_kind_t kind, size_t image_size)
{
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    of_start(&dev, f, NULL, 0);
    static uint8_t image[OF_IMAGE_MAX];
    size_t len = of_build(image, sizeof image, "v9", 0, 0x6000);
    const esp_partition_t *p = of_part(&dev, "ota_0");
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, p, image_size, &h), ESP_OK);
    /* Cut at the 30th physical operation from here: inside the writes. */
    otk_flash_arm_fault(f, 30, kind, 42);
    const size_t chunk = 0x1000;
    size_t done = 0;
    esp_err_t err = ESP_OK;
    while (done < len) {
        size_t n = len - done < chunk ? len - done : chunk;
        err = otk_ota_write(&dev, h, image + done, n);
        if (err != ESP_OK) {
            break;
        }
        done += n; /* what the app records as safely written */
    }
    assert_int_equal(err, ESP_ERR_FLASH_OP_FAIL);
    assert_true(done > 0 && done < len);
    assert_false(otk_flash_is_powered(f));

    of_reboot(&dev); /* power comes back: factory still runs, the handle is gone */
    assert_string_equal(dev.running->label, "factory");
    assert_int_equal(of_open_handles(&dev), 0);
    assert_int_equal(otk_ota_write(&dev, h, image, 1), ESP_ERR_INVALID_ARG);

    size_t erase_size = image_size == OTA_WITH_SEQUENTIAL_WRITES ? OTA_WITH_SEQUENTIAL_WRITES : 0;
    assert_int_equal(otk_ota_resume(&dev, p, erase_size, done, &h), ESP_OK);
    for (; done < len; done += chunk) {
        size_t n = len - done < chunk ? len - done : chunk;
        assert_int_equal(otk_ota_write(&dev, h, image + done, n), ESP_OK);
    }
    assert_int_equal(otk_ota_end(&dev, h), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&dev, p), ESP_OK);
    of_reboot(&dev);
    assert_string_equal(dev.running->label, "ota_0");
    assert_string_equal(of_running_version(&dev), "v9");
    otk_flash_destroy(f);
}

static void test_power_cut_then_resume(void **state)
{
    (void)state;
    power_cut_resume(OTK_FLASH_FAULT_CUT_BEFORE, OTA_SIZE_UNKNOWN);
    power_cut_resume(OTK_FLASH_FAULT_TORN, OTA_SIZE_UNKNOWN);
    power_cut_resume(OTK_FLASH_FAULT_CUT_AFTER, OTA_SIZE_UNKNOWN);
    power_cut_resume(OTK_FLASH_FAULT_TORN, OTA_WITH_SEQUENTIAL_WRITES);
}

/* Without rollback set_boot writes UNDEFINED and nothing ever changes the state. */
static void test_without_rollback(void **state)
{
    (void)state;
    otk_flash_t *f = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    of_put(f, "factory", "factory", 0);
    otk_device_config_t cfg;
    of_config(&cfg);
    cfg.rollback = false;
    of_start(&dev, f, &cfg, 0);
    of_install(&dev, "ota_0", "v1", 0);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_UNDEFINED);
    of_reboot(&dev);
    of_reboot(&dev);
    assert_string_equal(of_running_version(&dev), "v1");
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_UNDEFINED);
    /* Confirming still writes VALID (ESP-IDF). */
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    /* begin does not invalidate the inactive sector without rollback. */
    of_install(&dev, "ota_1", "v2", 0);
    of_reboot(&dev);
    assert_int_equal(otk_ota_mark_app_valid_cancel_rollback(&dev), ESP_OK);
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&dev, of_part(&dev, "ota_0"), 0x1000, &h), ESP_OK);
    of_assert_entry(&dev, 0, 1, ESP_OTA_IMG_VALID);
    otk_flash_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_timeline),
        cmocka_unit_test(test_rollback_without_factory),
        cmocka_unit_test(test_rollback_to_factory),
        cmocka_unit_test(test_three_slots_with_factory),
        cmocka_unit_test(test_three_slots_without_factory),
        cmocka_unit_test(test_two_handles_three_slots),
        cmocka_unit_test(test_power_cut_then_resume),
        cmocka_unit_test(test_without_rollback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
