/* A device in Secure Boot v2 mode (otk_device_config_t.secure_boot): the boot layer,
 * esp_ota_end and esp_ota_set_boot_partition take only images with a signature block by
 * a trusted key that verifies. Unsigned and wrongly-signed updates are refused with the
 * running slot, the target's selection and otadata untouched; an unsigned image put into
 * a slot behind the engine's back does not boot and the device falls back. The signed
 * images come from tests/cli/sbv2_ref.py (sig_fixture.h). */
#include <stdlib.h>
#include <string.h>

#include "otakit/ota.h"
#include "ota_fixture.h"
#include "sig_fixture.h"
#include "test_support.h"

typedef struct {
    otk_flash_t *flash;
    otk_device_t dev;
    uint8_t *v1;  /* factory image, signed by rsa_a */
    size_t v1_len;
    uint8_t *v2;  /* update, blocks rsa_a, ec_b, rsa_c */
    size_t v2_len;
} sb_t;

static sb_t *fx;

static void put_raw(otk_flash_t *flash, uint32_t address, const uint8_t *bytes, size_t len)
{
    assert_int_equal(otk_flash_erase(flash, address, OF_IMAGE_MAX), ESP_OK);
    assert_int_equal(otk_flash_program(flash, address, bytes, len), ESP_OK);
}

/* Factory holds the signed v1; the device trusts rsa_a only. */
static int setup(void **state)
{
    (void)state;
    fx = calloc(1, sizeof *fx);
    fx->v1 = sf_load(SF_V1_SIGNED, &fx->v1_len);
    fx->v2 = sf_load(SF_V2_SIGNED3, &fx->v2_len);
    fx->flash = of_flash(OF_CSV_FACTORY_2OTA, OF_FLASH_SIZE);
    put_raw(fx->flash, 0x10000, fx->v1, fx->v1_len); /* factory */
    otk_device_config_t cfg;
    of_config(&cfg);
    sf_trust(&cfg.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    of_start(&fx->dev, fx->flash, &cfg, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    otk_flash_destroy(fx->flash);
    free(fx->v1);
    free(fx->v2);
    free(fx);
    return 0;
}

static void assert_running(const char *label, const char *version)
{
    assert_non_null(fx->dev.running);
    assert_string_equal(fx->dev.running->label, label);
    assert_string_equal(of_running_version(&fx->dev), version);
}

/* The refused update left everything that decides the next boot as it was. */
typedef struct {
    esp_ota_select_entry_t otadata[2];
    uint8_t factory[32];
} snapshot_t;

static void snap(snapshot_t *s)
{
    of_otadata(&fx->dev, s->otadata);
    of_hash(fx->flash, of_part(&fx->dev, "factory"), s->factory);
}

static void assert_unchanged(const snapshot_t *before)
{
    snapshot_t now;
    snap(&now);
    assert_memory_equal(now.otadata, before->otadata, sizeof now.otadata);
    assert_memory_equal(now.factory, before->factory, sizeof now.factory);
    assert_int_equal(of_open_handles(&fx->dev), 0);
}

static void signed_factory_boots(void **state)
{
    (void)state;
    assert_running("factory", "1.0");
    const otk_image_info_t *img = &fx->dev.boot.image;
    assert_true(img->sig.checked);
    assert_int_equal(img->sig.verified_block, 0);
    assert_int_equal(fx->dev.boot.refused_count, 0);
}

static void signed_update_installs(void **state)
{
    (void)state;
    const esp_partition_t *p = of_part(&fx->dev, "ota_0");
    /* One pass (sequential writes, the stream) in uneven chunks. */
    assert_int_equal(of_update(&fx->dev, p, fx->v2, fx->v2_len, OTA_SIZE_UNKNOWN, 777), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&fx->dev, p), ESP_OK);
    of_reboot(&fx->dev);
    assert_running("ota_0", "2.0");
    assert_int_equal(fx->dev.boot.image.sig.verified_block, 0); /* rsa_a's block */
}

static void unsigned_update_refused(void **state)
{
    (void)state;
    snapshot_t before;
    snap(&before);
    const esp_partition_t *p = of_part(&fx->dev, "ota_0");
    /* The same app with its padding, but no signature sector. */
    assert_int_equal(of_update(&fx->dev, p, fx->v2, SF_IMAGE_LEN, OTA_SIZE_UNKNOWN, 4096),
                     ESP_ERR_OTA_VALIDATE_FAILED);
    assert_unchanged(&before);
    /* set_boot verifies again on its own and refuses too: otadata stays. */
    assert_int_equal(otk_ota_set_boot_partition(&fx->dev, p), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_unchanged(&before);
    of_reboot(&fx->dev);
    assert_running("factory", "1.0");
}

static void wrongly_signed_update_refused(void **state)
{
    (void)state;
    snapshot_t before;
    snap(&before);
    /* Only ec_b's block: a valid signature, by a key this device does not trust. */
    uint8_t *img = malloc(fx->v2_len);
    memcpy(img, fx->v2, fx->v2_len);
    const int only_ec_b[] = {1, -1, -1};
    sf_arrange(img, fx->v2, only_ec_b);
    const esp_partition_t *p = of_part(&fx->dev, "ota_1");
    assert_int_equal(of_update(&fx->dev, p, img, fx->v2_len, fx->v2_len, 4096),
                     ESP_ERR_OTA_VALIDATE_FAILED);
    assert_unchanged(&before);
    /* The same through write_with_offset (end then verifies from flash). */
    esp_ota_handle_t h = 0;
    assert_int_equal(otk_ota_begin(&fx->dev, p, fx->v2_len, &h), ESP_OK);
    assert_int_equal(otk_ota_write_with_offset(&fx->dev, h, img + 4096, fx->v2_len - 4096, 4096),
                     ESP_OK);
    assert_int_equal(otk_ota_write_with_offset(&fx->dev, h, img, 4096, 0), ESP_OK);
    assert_int_equal(otk_ota_end(&fx->dev, h), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_unchanged(&before);
    free(img);
}

/* set_boot does not trust what end verified once flash changed behind the engine: a
 * signature block damaged after esp_ota_end is caught. */
static void set_boot_checks_signature_again(void **state)
{
    (void)state;
    snapshot_t before;
    snap(&before);
    const esp_partition_t *p = of_part(&fx->dev, "ota_0");
    assert_int_equal(of_update(&fx->dev, p, fx->v2, fx->v2_len, OTA_SIZE_UNKNOWN, 4096), ESP_OK);
    /* Clear one bit of rsa_a's signature (programming only clears bits). */
    uint32_t at = p->address + SF_SECTOR_OFFSET + OTK_IMAGE_SIG_OFF_RSA_SIG;
    uint8_t byte = 0;
    assert_int_equal(otk_flash_read(fx->flash, at, &byte, 1), ESP_OK);
    uint8_t cleared = (uint8_t)(byte & (byte - 1u)); /* lowest set bit off */
    assert_int_not_equal(cleared, byte);
    assert_int_equal(otk_flash_program(fx->flash, at, &cleared, 1), ESP_OK);
    assert_int_equal(otk_ota_set_boot_partition(&fx->dev, p), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_unchanged(&before);
}

/* An unsigned image written into a slot and selected without the engine's checks: the
 * boot refuses it with the reason and falls back to the signed factory app. */
static void unsigned_slot_does_not_boot(void **state)
{
    (void)state;
    const esp_partition_t *p = of_part(&fx->dev, "ota_1");
    size_t len = 0;
    const uint8_t *plain = of_image("9.9", 0, &len);
    put_raw(fx->flash, p->address, plain, len);
    assert_int_equal(otk_ota_set_boot_partition_skip_validate(&fx->dev, p), ESP_OK);
    of_reboot(&fx->dev);
    assert_running("factory", "1.0");
    const otk_boot_result_t *r = &fx->dev.boot;
    assert_int_equal(r->selected_index, 1);
    assert_int_equal(r->refused_count, 2); /* ota_1 (unsigned), then ota_0 (empty) */
    assert_int_equal(r->refused[0].index, 1);
    assert_int_equal(r->refused[0].err, ESP_ERR_IMAGE_INVALID);
    if (strstr(r->refused[0].reason, "Secure Boot v2: unsigned") == NULL) {
        fail_msg("reason: %s", r->refused[0].reason);
    }
    /* The same bytes boot on a device without secure boot (selected again: the refused
     * boot marked the NEW entry PENDING_VERIFY, and the next boot aborts that). */
    fx->dev.config.secure_boot.enabled = false;
    assert_int_equal(otk_ota_set_boot_partition_skip_validate(&fx->dev, p), ESP_OK);
    of_reboot(&fx->dev);
    assert_running("ota_1", "9.9");
}

/* Nothing signed by a trusted key anywhere: nothing boots (no silent fallback to an
 * unchecked image). */
static void nothing_trusted_nothing_boots(void **state)
{
    (void)state;
    sf_trust(&fx->dev.config.secure_boot, SF_DIGEST_EC_D, NULL, NULL);
    assert_int_equal(otk_device_power_on(&fx->dev), ESP_ERR_NOT_FOUND);
    assert_int_equal(fx->dev.boot.stage, OTK_BOOT_STAGE_LOAD);
    if (strstr(fx->dev.boot.refused[0].reason, "not trusted") == NULL) {
        fail_msg("reason: %s", fx->dev.boot.refused[0].reason);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signed_factory_boots, setup, teardown),
        cmocka_unit_test_setup_teardown(signed_update_installs, setup, teardown),
        cmocka_unit_test_setup_teardown(unsigned_update_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(wrongly_signed_update_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(set_boot_checks_signature_again, setup, teardown),
        cmocka_unit_test_setup_teardown(unsigned_slot_does_not_boot, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_trusted_nothing_boots, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
