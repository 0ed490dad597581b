/* The self-test marker inside an app image: record bytes, parsing, finding it in a built
 * image (which stays valid) and in a partition on flash, and the policy resolution. */
#include <stdlib.h>
#include <string.h>

#include "otakit/app_policy.h"
#include "otakit/flash.h"
#include "otakit/image.h"
#include "test_support.h"

/* Payload after the marker in the test images: arbitrary, not a multiple of 4. */
#define BODY_LEN 1001u
#define PART_ADDR 0x10000u
#define PART_SIZE 0x10000u

static const uint8_t RECORD_FAIL[OTK_APP_POLICY_RECORD_LEN] = {
    'O', 'T', 'K', '-', 'S', 'E', 'L', 'F', 'T', 'E', 'S', 'T', 0x01, 'F', 0x00, 0x00};

/* An ESP32 app image whose payload is `prefix` (may be NULL) then BODY_LEN bytes. Caller
 * frees. */
static uint8_t *build_image(const uint8_t *prefix, size_t prefix_len, size_t *len)
{
    uint8_t *payload = malloc(prefix_len + BODY_LEN);
    assert_non_null(payload);
    if (prefix_len > 0) {
        memcpy(payload, prefix, prefix_len);
    }
    for (size_t i = 0; i < BODY_LEN; i++) {
        payload[prefix_len + i] = (uint8_t)(i * 7u + 3u);
    }
    otk_image_app_fields_t app = {.project_name = "policy", .version = "1.0"};
    otk_image_build_opts_t o;
    otk_image_build_opts_init(&o, ESP_CHIP_ID_ESP32);
    o.app = &app;
    o.payload = payload;
    o.payload_len = (uint32_t)(prefix_len + BODY_LEN);
    size_t need = 0;
    assert_int_equal(otk_image_build(&o, NULL, 0, &need, NULL), ESP_ERR_INVALID_SIZE);
    uint8_t *image = malloc(need);
    assert_non_null(image);
    assert_int_equal(otk_image_build(&o, image, need, &need, NULL), ESP_OK);
    free(payload);
    *len = need;
    return image;
}

static void test_record_bytes(void **state)
{
    (void)state;
    uint8_t r[OTK_APP_POLICY_RECORD_LEN];
    assert_int_equal(otk_app_policy_make_record(OTK_SELFTEST_FAIL, r), ESP_OK);
    assert_memory_equal(r, RECORD_FAIL, sizeof r);
    assert_int_equal(otk_app_policy_make_record(OTK_SELFTEST_PASS, r), ESP_OK);
    assert_int_equal(r[13], 'P');
    assert_memory_equal(r, RECORD_FAIL, 13);
    assert_int_equal(otk_app_policy_make_record(OTK_SELFTEST_AUTO, r), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_app_policy_make_record(OTK_SELFTEST_PASS, NULL), ESP_ERR_INVALID_ARG);
}

static void test_parse_record(void **state)
{
    (void)state;
    uint8_t r[OTK_APP_POLICY_RECORD_LEN];
    memcpy(r, RECORD_FAIL, sizeof r);
    assert_int_equal(otk_app_policy_parse_record(r, sizeof r), OTK_SELFTEST_FAIL);
    r[13] = 'P';
    assert_int_equal(otk_app_policy_parse_record(r, sizeof r), OTK_SELFTEST_PASS);
    /* Too short, NULL, and every field that must match: ordinary payload, not a marker. */
    assert_int_equal(otk_app_policy_parse_record(r, sizeof r - 1), OTK_SELFTEST_AUTO);
    assert_int_equal(otk_app_policy_parse_record(NULL, sizeof r), OTK_SELFTEST_AUTO);
    static const size_t fields[] = {0, 11, 12, 13, 14, 15};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        memcpy(r, RECORD_FAIL, sizeof r);
        r[fields[i]] ^= 0x20;
        assert_int_equal(otk_app_policy_parse_record(r, sizeof r), OTK_SELFTEST_AUTO);
    }
}

static void test_marker_in_built_image(void **state)
{
    (void)state;
    size_t len;
    uint8_t *image = build_image(RECORD_FAIL, sizeof RECORD_FAIL, &len);
    /* The record sits right after esp_app_desc_t and the image still verifies. */
    assert_memory_equal(image + OTK_APP_POLICY_IMAGE_OFFSET, RECORD_FAIL, sizeof RECORD_FAIL);
    assert_int_equal(otk_image_verify_buffer(image, len, NULL, NULL, NULL), ESP_OK);
    assert_int_equal(otk_app_policy_of_image(image, len), OTK_SELFTEST_FAIL);
    /* Cut before the record's end: not found. */
    assert_int_equal(otk_app_policy_of_image(image, OTK_APP_POLICY_IMAGE_OFFSET + 15),
                     OTK_SELFTEST_AUTO);
    /* The app desc magic is required. */
    image[0x20] ^= 0xFF;
    assert_int_equal(otk_app_policy_of_image(image, len), OTK_SELFTEST_AUTO);
    image[0x20] ^= 0xFF;
    /* Not an image. */
    image[0] = 0xE8;
    assert_int_equal(otk_app_policy_of_image(image, len), OTK_SELFTEST_AUTO);
    free(image);

    image = build_image(NULL, 0, &len);
    assert_int_equal(otk_app_policy_of_image(image, len), OTK_SELFTEST_AUTO);
    free(image);
}

/* Segment 0 holds only the descriptor: the bytes at 0x120 belong to something else (the
 * padding, the checksum), even if they happened to spell a marker. */
static void test_short_segment0(void **state)
{
    (void)state;
    size_t len;
    uint8_t *image = build_image(RECORD_FAIL, sizeof RECORD_FAIL, &len);
    uint32_t short_len = (uint32_t)sizeof(esp_app_desc_t);
    memcpy(image + 28, &short_len, sizeof short_len); /* segment 0 data_len (LE host) */
    assert_int_equal(otk_app_policy_of_image(image, len), OTK_SELFTEST_AUTO);
    free(image);
}

static void test_read_from_partition(void **state)
{
    (void)state;
    otk_flash_t *flash;
    assert_int_equal(otk_flash_mem_create(4u * PART_SIZE, &flash), ESP_OK);
    esp_partition_t part = {.flash_chip = flash, .type = ESP_PARTITION_TYPE_APP,
                            .subtype = ESP_PARTITION_SUBTYPE_APP_OTA_0, .address = PART_ADDR,
                            .size = PART_SIZE, .erase_size = OTK_FLASH_SECTOR_SIZE,
                            .label = "ota_0"};
    otk_selftest_policy_t p = OTK_SELFTEST_FAIL;
    assert_int_equal(otk_app_policy_read(&part, &p), ESP_OK);
    assert_int_equal(p, OTK_SELFTEST_AUTO); /* erased: no image, no marker */

    size_t len;
    uint8_t *image = build_image(RECORD_FAIL, sizeof RECORD_FAIL, &len);
    assert_int_equal(otk_flash_program(flash, PART_ADDR, image, len), ESP_OK);
    assert_int_equal(otk_app_policy_read(&part, &p), ESP_OK);
    assert_int_equal(p, OTK_SELFTEST_FAIL);
    free(image);

    /* A partition too small to hold a marker has none. */
    part.size = OTK_APP_POLICY_IMAGE_OFFSET;
    assert_int_equal(otk_app_policy_read(&part, &p), ESP_OK);
    assert_int_equal(p, OTK_SELFTEST_AUTO);
    /* Flash errors come back as they are. */
    part.size = PART_SIZE;
    part.address = otk_flash_size(flash) - 0x100u;
    assert_int_equal(otk_app_policy_read(&part, &p), ESP_ERR_INVALID_SIZE);
    part.flash_chip = NULL;
    assert_int_equal(otk_app_policy_read(&part, &p), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_app_policy_read(NULL, &p), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(flash);
}

static void test_resolve_and_names(void **state)
{
    (void)state;
    static const struct {
        otk_selftest_policy_t device, image, want;
    } table[] = {
        {OTK_SELFTEST_AUTO, OTK_SELFTEST_AUTO, OTK_SELFTEST_PASS},
        {OTK_SELFTEST_AUTO, OTK_SELFTEST_PASS, OTK_SELFTEST_PASS},
        {OTK_SELFTEST_AUTO, OTK_SELFTEST_FAIL, OTK_SELFTEST_FAIL},
        {OTK_SELFTEST_PASS, OTK_SELFTEST_FAIL, OTK_SELFTEST_PASS},
        {OTK_SELFTEST_FAIL, OTK_SELFTEST_AUTO, OTK_SELFTEST_FAIL},
        {OTK_SELFTEST_FAIL, OTK_SELFTEST_PASS, OTK_SELFTEST_FAIL},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_int_equal(otk_app_policy_resolve(table[i].device, table[i].image), table[i].want);
    }
    static const char *names[] = {"auto", "pass", "fail"};
    for (int i = 0; i < 3; i++) {
        otk_selftest_policy_t p;
        assert_true(otk_selftest_policy_from_name(names[i], &p));
        assert_string_equal(otk_selftest_policy_name(p), names[i]);
    }
    otk_selftest_policy_t p = OTK_SELFTEST_PASS;
    assert_false(otk_selftest_policy_from_name("Pass", &p));
    assert_false(otk_selftest_policy_from_name(NULL, &p));
    assert_false(otk_selftest_policy_from_name("", &p));
    assert_int_equal(p, OTK_SELFTEST_PASS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_bytes),
        cmocka_unit_test(test_parse_record),
        cmocka_unit_test(test_marker_in_built_image),
        cmocka_unit_test(test_short_segment0),
        cmocka_unit_test(test_read_from_partition),
        cmocka_unit_test(test_resolve_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
