/* The self-test marker inside an app image (otakit/app_policy.h, docs/device.md). */
#include "otakit/app_policy.h"

#include <string.h>

#include "esp_app_format.h"
#include "otakit/flash.h"

/* Where the record's fields are (see the table in app_policy.h). */
#define RECORD_FORMAT_AT OTK_APP_POLICY_MAGIC_LEN
#define RECORD_POLICY_AT (OTK_APP_POLICY_MAGIC_LEN + 1u)
#define RECORD_RESERVED_AT (OTK_APP_POLICY_MAGIC_LEN + 2u)

/* Image layout: segment 0's data_len is the second word of its header at 24; the app
 * descriptor's magic word opens segment 0's data at 0x20. */
#define SEG0_LEN_AT 28u
#define APP_DESC_AT 0x20u
/* Segment 0 must hold the descriptor and the record for the record to be inside it. */
#define SEG0_MIN_LEN (sizeof(esp_app_desc_t) + OTK_APP_POLICY_RECORD_LEN)
/* Bytes to read from the start of an image to find the record. */
#define POLICY_PROBE_LEN (OTK_APP_POLICY_IMAGE_OFFSET + OTK_APP_POLICY_RECORD_LEN)

const char *otk_selftest_policy_name(otk_selftest_policy_t policy)
{
    switch (policy) {
    case OTK_SELFTEST_AUTO:
        return "auto";
    case OTK_SELFTEST_PASS:
        return "pass";
    case OTK_SELFTEST_FAIL:
        return "fail";
    }
    return "?";
}

bool otk_selftest_policy_from_name(const char *name, otk_selftest_policy_t *out)
{
    static const otk_selftest_policy_t all[] = {OTK_SELFTEST_AUTO, OTK_SELFTEST_PASS,
                                                OTK_SELFTEST_FAIL};
    for (size_t i = 0; name != NULL && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, otk_selftest_policy_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

esp_err_t otk_app_policy_make_record(otk_selftest_policy_t policy,
                                     uint8_t out[OTK_APP_POLICY_RECORD_LEN])
{
    if (out == NULL || (policy != OTK_SELFTEST_PASS && policy != OTK_SELFTEST_FAIL)) {
        return ESP_ERR_INVALID_ARG;
    }
    memset(out, 0, OTK_APP_POLICY_RECORD_LEN);
    memcpy(out, OTK_APP_POLICY_MAGIC, OTK_APP_POLICY_MAGIC_LEN);
    out[RECORD_FORMAT_AT] = OTK_APP_POLICY_FORMAT;
    out[RECORD_POLICY_AT] = policy == OTK_SELFTEST_PASS ? OTK_APP_POLICY_BYTE_PASS
                                                        : OTK_APP_POLICY_BYTE_FAIL;
    return ESP_OK;
}

otk_selftest_policy_t otk_app_policy_parse_record(const uint8_t *bytes, size_t len)
{
    if (bytes == NULL || len < OTK_APP_POLICY_RECORD_LEN ||
        memcmp(bytes, OTK_APP_POLICY_MAGIC, OTK_APP_POLICY_MAGIC_LEN) != 0 ||
        bytes[RECORD_FORMAT_AT] != OTK_APP_POLICY_FORMAT || bytes[RECORD_RESERVED_AT] != 0 ||
        bytes[RECORD_RESERVED_AT + 1] != 0) {
        return OTK_SELFTEST_AUTO;
    }
    /* An unknown policy byte is not a marker we understand: the app counts as good,
     * rather than guessing which way a newer format meant. */
    switch (bytes[RECORD_POLICY_AT]) {
    case OTK_APP_POLICY_BYTE_PASS:
        return OTK_SELFTEST_PASS;
    case OTK_APP_POLICY_BYTE_FAIL:
        return OTK_SELFTEST_FAIL;
    default:
        return OTK_SELFTEST_AUTO;
    }
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

otk_selftest_policy_t otk_app_policy_of_image(const uint8_t *image, size_t len)
{
    if (image == NULL || len < POLICY_PROBE_LEN || image[0] != ESP_IMAGE_HEADER_MAGIC ||
        image[1] == 0 || le32(image + SEG0_LEN_AT) < SEG0_MIN_LEN ||
        le32(image + APP_DESC_AT) != ESP_APP_DESC_MAGIC_WORD) {
        return OTK_SELFTEST_AUTO;
    }
    return otk_app_policy_parse_record(image + OTK_APP_POLICY_IMAGE_OFFSET,
                                       OTK_APP_POLICY_RECORD_LEN);
}

esp_err_t otk_app_policy_read(const esp_partition_t *part, otk_selftest_policy_t *policy)
{
    if (part == NULL || policy == NULL || part->flash_chip == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    *policy = OTK_SELFTEST_AUTO;
    if (part->size < POLICY_PROBE_LEN) {
        return ESP_OK; /* too small to hold an app with a marker */
    }
    uint8_t probe[POLICY_PROBE_LEN];
    esp_err_t err = otk_flash_read(part->flash_chip, part->address, probe, sizeof probe);
    if (err != ESP_OK) {
        return err;
    }
    *policy = otk_app_policy_of_image(probe, sizeof probe);
    return ESP_OK;
}

otk_selftest_policy_t otk_app_policy_resolve(otk_selftest_policy_t device_override,
                                             otk_selftest_policy_t image_marker)
{
    if (device_override == OTK_SELFTEST_PASS || device_override == OTK_SELFTEST_FAIL) {
        return device_override;
    }
    return image_marker == OTK_SELFTEST_FAIL ? OTK_SELFTEST_FAIL : OTK_SELFTEST_PASS;
}
