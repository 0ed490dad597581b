/* libFuzzer harness for the image verifier. The input is an image; its last byte picks the
 * verify options and a hash of it seeds the chunking. The buffer verifier and the streaming
 * verifier fed in random-sized chunks (one byte at a time for some inputs) must agree on
 * the verdict, the reason and what they saw; neither may crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/image.h"
#include "otakit/rand.h"

/* Option bits taken from the last input byte. */
#define SEL_KIND_MASK 0x03
#define SEL_BOOTLOADER_HASH 0x04
#define SEL_REQUIRE_HASH 0x08
#define SEL_MAX_SIZE 0x10
#define SEL_FLASH_OFFSET 0x20
#define SEL_NO_APP_DESC 0x40
#define SEL_CHIP_REV 0x80
/* A 4 KiB-aligned but not 64 KiB-aligned flash offset exercises the mapping rule. */
#define FUZZ_FLASH_OFFSET 0x1000u
#define FUZZ_CHIP_REV 100u
/* Chunks up to this size; every 8th input is fed byte by byte. */
#define FUZZ_MAX_CHUNK 700u
#define FUZZ_BYTEWISE_EVERY 8u

static uint64_t fnv1a(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++) {
        h = (h ^ data[i]) * 0x100000001b3ull;
    }
    return h;
}

static void must(int condition)
{
    if (!condition) {
        abort();
    }
}

static void same(const otk_image_info_t *a, const otk_image_info_t *b)
{
    must(a->verdict == b->verdict);
    must(a->complete == b->complete);
    must(a->header_read == b->header_read);
    must(a->kind == b->kind);
    must(a->segments_read == b->segments_read);
    must(memcmp(a->segments, b->segments, sizeof a->segments) == 0);
    must(a->data_end == b->data_end && a->image_len == b->image_len);
    must(a->total_len == b->total_len);
    must(a->checksum_read == b->checksum_read && a->checksum_valid == b->checksum_valid);
    must(a->checksum_computed == b->checksum_computed);
    must(a->hash_read == b->hash_read && a->hash_valid == b->hash_valid);
    must(a->has_app_desc == b->has_app_desc && a->has_bootloader_desc == b->has_bootloader_desc);
    if (a->checksum_read) {
        must(memcmp(a->hash_computed, b->hash_computed, OTK_SHA256_LEN) == 0);
    }
}

/* What any verdict must respect, whatever the input. */
static void sane(const otk_image_info_t *in, esp_err_t err, const otk_diag_t *diag, size_t size)
{
    must(in->segments_read <= OTK_IMAGE_MAX_SEGMENTS);
    must(err == ESP_OK || err == ESP_ERR_IMAGE_INVALID);
    must(memchr(diag->msg, '\0', sizeof diag->msg) != NULL);
    if (err == ESP_OK) {
        must(in->complete && in->checksum_valid);
        must(in->total_len <= size);
        must(in->kind == OTK_IMAGE_APP || in->kind == OTK_IMAGE_BOOTLOADER);
        must(!in->hash_checked || in->hash_valid);
    } else {
        must(diag->msg[0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel = size > 0 ? data[size - 1] : 0;
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.kind = (otk_image_kind_t)((sel & SEL_KIND_MASK) % 3);
    o.check_bootloader_hash = (sel & SEL_BOOTLOADER_HASH) != 0;
    o.require_hash = (sel & SEL_REQUIRE_HASH) != 0;
    o.max_size = (sel & SEL_MAX_SIZE) ? (uint32_t)size : 0;
    o.flash_offset = (sel & SEL_FLASH_OFFSET) ? FUZZ_FLASH_OFFSET : 0;
    o.require_app_desc = (sel & SEL_NO_APP_DESC) == 0;
    o.check_chip_rev = (sel & SEL_CHIP_REV) != 0;
    o.chip_rev = FUZZ_CHIP_REV;

    otk_image_info_t whole, part;
    otk_diag_t dw, dp;
    memset(&dw, 0, sizeof dw);
    memset(&dp, 0, sizeof dp);
    esp_err_t ew = otk_image_verify_buffer(data, size, &o, &whole, &dw);
    sane(&whole, ew, &dw, size);

    uint64_t h = fnv1a(data, size);
    otk_rand_t r;
    otk_rand_seed(&r, h);
    bool bytewise = h % FUZZ_BYTEWISE_EVERY == 0;
    otk_image_stream_t s;
    otk_image_stream_init(&s, &o);
    size_t pos = 0;
    while (pos < size) {
        size_t n = bytewise ? 1 : (size_t)otk_rand_below(&r, FUZZ_MAX_CHUNK + 1);
        if (n > size - pos) {
            n = size - pos;
        }
        esp_err_t fe = otk_image_stream_feed(&s, data + pos, n, NULL);
        must(fe == ESP_OK || fe == ESP_ERR_IMAGE_INVALID);
        pos += n;
    }
    esp_err_t ep = otk_image_stream_finish(&s, &part, &dp);
    must(ep == ew);
    must(strcmp(dp.msg, dw.msg) == 0);
    same(&whole, &part);
    return 0;
}
