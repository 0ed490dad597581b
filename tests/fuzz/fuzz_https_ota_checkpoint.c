/* Fuzz the checkpoint decoder (what a file beside a flash image may hold after any crash or
 * tampering). Each input is tried twice: as a whole file, and as a patch over a valid
 * checkpoint whose CRC is then fixed, so the fields behind the CRC get explored too (the
 * first two input bytes say where the patch goes). Properties:
 *  - it never crashes; a refusal is ESP_ERR_INVALID_ARG with a NUL-terminated reason;
 *  - an accepted checkpoint keeps its invariants (offset within the slot, a normalized URL,
 *    NUL-terminated strings, no chip pointer) and encodes to bytes that decode to the
 *    same checkpoint. */
#include <stdlib.h>
#include <string.h>

#include "otakit/crc32.h"
#include "otakit/https_ota.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CRC_LEN 4u

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static uint8_t valid[OTK_HTTPS_OTA_CHECKPOINT_MAX];
static size_t valid_len;

/* A checkpoint as an update of a small app would leave it, after its first 4 KiB. */
static void make_valid(void)
{
    static otk_https_ota_checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    strcpy(cp.url, "https://updates.example.com/app.bin");
    cp.identity.length = 200000;
    strcpy(cp.identity.etag, "\"5f3e-30d40\"");
    strcpy(cp.identity.last_modified, "Mon, 01 Jan 2024 00:00:00 GMT");
    strcpy(cp.staging_label, "ota_0");
    cp.staging_address = 0x110000;
    cp.staging_size = 0x100000;
    cp.offset = 4096;
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    otk_image_stream_init(&cp.stream, &opts);
    valid_len = otk_https_ota_checkpoint_encode(&cp, valid, sizeof valid);
    check(valid_len > CRC_LEN);
}

static void decode_and_check(const uint8_t *bytes, size_t len)
{
    static otk_https_ota_checkpoint_t a, b;
    static uint8_t again[OTK_HTTPS_OTA_CHECKPOINT_MAX];
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_https_ota_checkpoint_decode(bytes, len, &a, &diag);
    check(memchr(diag.msg, '\0', sizeof diag.msg) != NULL);
    if (err != ESP_OK) {
        check(err == ESP_ERR_INVALID_ARG);
        return;
    }
    check(a.offset <= a.staging_size && a.stream.info.chip == NULL);
    check(memchr(a.staging_label, '\0', sizeof a.staging_label) != NULL);
    otk_uri_t uri;
    check(otk_uri_parse(a.url, strlen(a.url), &uri, NULL) == ESP_OK);
    size_t n = otk_https_ota_checkpoint_encode(&a, again, sizeof again);
    check(n == len);
    check(otk_https_ota_checkpoint_decode(again, n, &b, &diag) == ESP_OK);
    check(memcmp(&a, &b, sizeof a) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (valid_len == 0) {
        make_valid();
    }
    decode_and_check(data, size);
    if (size < 2) {
        return 0;
    }
    static uint8_t patched[OTK_HTTPS_OTA_CHECKPOINT_MAX];
    size_t at = ((size_t)data[0] << 8 | data[1]) % (valid_len - CRC_LEN);
    size_t n = size - 2;
    if (n > valid_len - CRC_LEN - at) {
        n = valid_len - CRC_LEN - at;
    }
    memcpy(patched, valid, valid_len);
    memcpy(patched + at, data + 2, n);
    uint32_t crc = otk_crc32_update(0, patched, valid_len - CRC_LEN);
    for (size_t i = 0; i < CRC_LEN; i++) {
        patched[valid_len - CRC_LEN + i] = (uint8_t)(crc >> (8 * i));
    }
    decode_and_check(patched, valid_len);
    return 0;
}
