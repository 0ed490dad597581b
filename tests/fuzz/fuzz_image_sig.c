/* libFuzzer harness for Secure Boot v2 signature sectors (image_sig.c) and the stream's
 * carry-on to the sector (image_stream.c). The first input byte picks the mode:
 *
 *   bit 0 clear: the rest is a signature sector. Its blocks are checked against a digest
 *     and a trust picked by bits 1..3 (the blocks' own key digests trusted, so fuzzed key
 *     material reaches the crypto port; the digest taken from block 0, so the signature
 *     check runs; or trust off, blocks only described);
 *   bit 0 set: the rest is a signed image, verified with secure boot on, trusting the keys
 *     of tests/fixtures/sig (so the seeds verify and mutations fail every way): whole, and
 *     streamed in random chunks plus the sector check, which must agree.
 *
 * Nothing may crash; the verdict must be one of the documented codes and consistent with
 * the block descriptions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/image.h"
#include "otakit/rand.h"

#define SEL_IMAGE 0x01
#define SEL_SELF_TRUST 0x02
#define SEL_DIGEST_FROM_BLOCK 0x04
#define SEL_DESCRIBE_ONLY 0x08
#define MAX_CHUNK 900u

/* rsa_a, ec_b, rsa_c of tests/fixtures/sig (sig_fixture.h). */
static const uint8_t FIXTURE_DIGESTS[OTK_IMAGE_SIG_MAX_BLOCKS][OTK_SHA256_LEN] = {
    {0xd3, 0xee, 0x3b, 0x43, 0x7c, 0x53, 0x3d, 0x22, 0xbe, 0x8f, 0x40, 0x6c,
     0x56, 0x15, 0x0f, 0xf8, 0x14, 0xee, 0x25, 0x88, 0xfc, 0xbb, 0xd6, 0xdc,
     0xd9, 0x9e, 0x9b, 0x02, 0xf1, 0xb2, 0xbf, 0x04},
    {0x98, 0xda, 0xca, 0x34, 0x6c, 0xc8, 0x75, 0xaa, 0x67, 0x74, 0xcb, 0x13,
     0x93, 0x23, 0x97, 0x6d, 0x6c, 0x8e, 0xff, 0x86, 0xaf, 0xfa, 0xe6, 0xd9,
     0x13, 0xec, 0x7a, 0x90, 0x4d, 0xbf, 0x2a, 0x67},
    {0x47, 0xde, 0x26, 0xfd, 0x14, 0xbd, 0x16, 0x81, 0x19, 0x0a, 0xa3, 0x0b,
     0x4f, 0x80, 0xc4, 0x92, 0xdb, 0xd2, 0xc5, 0xf0, 0x66, 0x96, 0xa9, 0x5d,
     0xdf, 0x92, 0x61, 0xfd, 0x98, 0xd5, 0xc7, 0x35},
};

static void must(int condition)
{
    if (!condition) {
        abort();
    }
}

static void sane(const otk_image_sig_info_t *sig, esp_err_t err, const otk_diag_t *diag,
                 bool enforced)
{
    must(memchr(diag->msg, '\0', sizeof diag->msg) != NULL);
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        const otk_image_sig_block_info_t *b = &sig->blocks[i];
        must(b->status <= OTK_IMAGE_SIG_VERIFIED);
        must(enforced || b->status <= OTK_IMAGE_SIG_PRESENT);
        must(b->trusted_slot >= -1 && b->trusted_slot < (int)OTK_IMAGE_SIG_MAX_BLOCKS);
        must(b->status != OTK_IMAGE_SIG_VERIFIED || b->trusted_slot >= 0);
    }
    if (err == ESP_OK) {
        must(!enforced || (sig->verified_block >= 0 &&
                           sig->blocks[sig->verified_block].status == OTK_IMAGE_SIG_VERIFIED));
    } else {
        must(err == ESP_ERR_IMAGE_INVALID && enforced && diag->msg[0] != '\0');
        must(sig->verified_block == -1);
    }
}

static void fuzz_sector(uint8_t sel, const uint8_t *data, size_t size)
{
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    otk_image_info_t info;
    memset(&info, 0, sizeof info);
    info.sig.digest_done = true;
    info.sig.verified_block = -1;
    otk_sha256(data, size, info.sig.digest);
    if ((sel & SEL_DIGEST_FROM_BLOCK) && size >= OTK_IMAGE_SIG_OFF_DIGEST + OTK_SHA256_LEN) {
        memcpy(info.sig.digest, data + OTK_IMAGE_SIG_OFF_DIGEST, OTK_SHA256_LEN);
    }
    o.secure_boot.enabled = (sel & SEL_DESCRIBE_ONLY) == 0;
    memcpy(o.secure_boot.key_digest, FIXTURE_DIGESTS, sizeof FIXTURE_DIGESTS);
    if (sel & SEL_SELF_TRUST) {
        for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
            size_t at = (size_t)i * OTK_IMAGE_SIG_BLOCK_LEN;
            if (at + OTK_IMAGE_SIG_BLOCK_LEN <= size) {
                uint8_t d[OTK_SHA256_LEN];
                if (otk_image_sig_key_digest(data + at, d) == ESP_OK) {
                    memcpy(o.secure_boot.key_digest[i], d, OTK_SHA256_LEN);
                }
            }
        }
    }
    otk_diag_t diag;
    memset(&diag, 0, sizeof diag);
    esp_err_t err = otk_image_sig_check_buffer(data, size, &o, &info, &diag);
    sane(&info.sig, err, &diag, o.secure_boot.enabled);
    must(info.verdict == err);
}

static void fuzz_image(const uint8_t *data, size_t size, uint64_t seed)
{
    otk_image_verify_opts_t o;
    otk_image_verify_opts_init(&o);
    o.kind = OTK_IMAGE_AUTO;
    o.secure_boot.enabled = true;
    memcpy(o.secure_boot.key_digest, FIXTURE_DIGESTS, sizeof FIXTURE_DIGESTS);
    otk_image_info_t whole, part;
    otk_diag_t dw, dp;
    memset(&dw, 0, sizeof dw);
    memset(&dp, 0, sizeof dp);
    esp_err_t ew = otk_image_verify_buffer(data, size, &o, &whole, &dw);
    must(ew == ESP_OK || ew == ESP_ERR_IMAGE_INVALID);
    if (whole.sig.sector_read) {
        sane(&whole.sig, ew, &dw, true);
    }
    if (ew == ESP_OK) {
        must(whole.sig.verified_block >= 0);
        must(whole.sig.sector_offset % OTK_IMAGE_SIG_SECTOR_LEN == 0);
        must(whole.sig.sector_offset >= whole.total_len);
    }

    otk_rand_t r;
    otk_rand_seed(&r, seed);
    otk_image_stream_t s;
    otk_image_stream_init(&s, &o);
    for (size_t pos = 0; pos < size;) {
        size_t n = (size_t)otk_rand_below(&r, MAX_CHUNK + 1);
        n = n > size - pos ? size - pos : n;
        otk_image_stream_feed(&s, data + pos, n, NULL);
        pos += n;
    }
    esp_err_t ep = otk_image_stream_finish(&s, &part, &dp);
    if (ep == ESP_OK && part.sig.digest_done) {
        ep = otk_image_sig_check_buffer(data, size, &o, &part, &dp);
    }
    must(ep == ew);
    must(strcmp(dp.msg, dw.msg) == 0);
    must(part.sig.verified_block == whole.sig.verified_block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    uint8_t sel = data[0];
    uint64_t seed = size;
    for (size_t i = 0; i < size && i < 64; i++) {
        seed = seed * 131u + data[i];
    }
    if (sel & SEL_IMAGE) {
        fuzz_image(data + 1, size - 1, seed);
    } else {
        fuzz_sector(sel, data + 1, size - 1);
    }
    return 0;
}
