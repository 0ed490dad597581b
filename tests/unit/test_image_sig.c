/* Secure Boot v2 signature sectors (image_sig.c and the stream's digest) against images
 * signed by a second implementation of the layout (tests/cli/sbv2_ref.py): good RSA and
 * ECDSA blocks, three blocks with one trusted, and one damage at a time (image, padding,
 * signature, CRC, magic, version, digest field, key material, a missing or misplaced
 * sector), each refused with a reason that names it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/crc32.h"
#include "otakit/flash.h"
#include "otakit/image.h"
#include "sig_fixture.h"
#include "test_support.h"

/* A fixture image and what verifying it gave. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    otk_image_verify_opts_t opts;
    otk_image_info_t info;
    otk_diag_t diag;
} sig_case_t;

static void load(sig_case_t *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->bytes = sf_load(name, &c->len);
    otk_image_verify_opts_init(&c->opts);
    c->opts.chip_id = ESP_CHIP_ID_ESP32C3;
}

static esp_err_t verify(sig_case_t *c)
{
    otk_diag_clear(&c->diag);
    return otk_image_verify_buffer(c->bytes, c->len, &c->opts, &c->info, &c->diag);
}

static void expect_refused(sig_case_t *c, const char *reason)
{
    assert_int_equal(verify(c), ESP_ERR_IMAGE_INVALID);
    assert_int_equal(c->info.verdict, ESP_ERR_IMAGE_INVALID);
    assert_int_equal(c->info.sig.verified_block, -1);
    if (strstr(c->diag.msg, reason) == NULL) {
        fail_msg("diag '%s' lacks '%s'", c->diag.msg, reason);
    }
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void done(sig_case_t *c)
{
    free(c->bytes);
}

/* The digest the blocks sign: SHA-256 of everything before the sector. */
static void expect_digest(const sig_case_t *c)
{
    uint8_t want[OTK_SHA256_LEN];
    otk_sha256(c->bytes, SF_SECTOR_OFFSET, want);
    assert_true(c->info.sig.digest_done);
    assert_int_equal(c->info.sig.sector_offset, SF_SECTOR_OFFSET);
    assert_memory_equal(c->info.sig.digest, want, sizeof want);
}

static void rsa_block_verifies(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    assert_int_equal(verify(&c), ESP_OK);
    expect_digest(&c);
    assert_true(c.info.sig.checked && c.info.sig.sector_read);
    assert_int_equal(c.info.sig.verified_block, 0);
    const otk_image_sig_block_info_t *b = &c.info.sig.blocks[0];
    assert_int_equal(b->status, OTK_IMAGE_SIG_VERIFIED);
    assert_int_equal(b->version, OTK_IMAGE_SIG_VERSION_RSA);
    assert_int_equal(b->trusted_slot, 0);
    assert_int_equal(b->crc_stored, b->crc_computed);
    uint8_t want[OTK_SHA256_LEN];
    sf_unhex(SF_DIGEST_RSA_A, want, sizeof want);
    assert_memory_equal(b->key_digest, want, sizeof want);
    assert_memory_equal(b->image_digest, c.info.sig.digest, OTK_SHA256_LEN);
    assert_int_equal(c.info.sig.blocks[1].status, OTK_IMAGE_SIG_ABSENT);
    assert_int_equal(c.info.sig.blocks[2].status, OTK_IMAGE_SIG_ABSENT);
    done(&c);
}

static void ecdsa_block_verifies(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V2_SIGNED3);
    uint8_t *src = malloc(c.len);
    memcpy(src, c.bytes, c.len);
    const int only_ecdsa[] = {1, -1, -1};
    sf_arrange(c.bytes, src, only_ecdsa);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, SF_DIGEST_EC_B, NULL);
    assert_int_equal(verify(&c), ESP_OK);
    expect_digest(&c);
    assert_int_equal(c.info.sig.verified_block, 0);
    assert_int_equal(c.info.sig.blocks[0].version, OTK_IMAGE_SIG_VERSION_ECDSA);
    assert_int_equal(c.info.sig.blocks[0].trusted_slot, 1);
    free(src);
    done(&c);
}

static void wrong_key_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_EC_D, NULL, NULL);
    expect_refused(&c, "block 0: RSA-3072 key d3ee3b437c533d22.. not trusted");
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_UNTRUSTED);
    done(&c);
}

static void three_blocks_one_trusted(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V2_SIGNED3);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_EC_D, NULL, SF_DIGEST_RSA_C);
    assert_int_equal(verify(&c), ESP_OK);
    assert_int_equal(c.info.sig.verified_block, 2);
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_UNTRUSTED);
    assert_int_equal(c.info.sig.blocks[1].status, OTK_IMAGE_SIG_UNTRUSTED);
    assert_int_equal(c.info.sig.blocks[2].status, OTK_IMAGE_SIG_VERIFIED);
    assert_int_equal(c.info.sig.blocks[2].trusted_slot, 2);
    /* No trusted key among the three: every block says why. */
    sf_trust(&c.opts.secure_boot, SF_DIGEST_EC_D, NULL, NULL);
    expect_refused(&c, "block 0: RSA-3072 key d3ee3b437c533d22.. not trusted; block 1: "
                       "ECDSA key 98daca346cc875aa.. not trusted; block 2: RSA-3072 key "
                       "47de26fd14bd1681.. not trusted");
    done(&c);
}

static void flipped_image_byte_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    c.bytes[0x200] ^= 0x01; /* payload: the image's own checksum catches it first */
    expect_refused(&c, "checksum: expected 0x42");
    done(&c);
}

static void flipped_padding_byte_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    /* Between the image's end and the sector: only the signature covers it. */
    c.bytes[SF_IMAGE_LEN + 5] ^= 0x80;
    expect_refused(&c, "block 0: signs digest ");
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_DIGEST_MISMATCH);
    done(&c);
}

static void flipped_signature_byte_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    sf_block(c.bytes, 0)[OTK_IMAGE_SIG_OFF_RSA_SIG + 100] ^= 0x04;
    sf_fix_crc(c.bytes, 0);
    expect_refused(&c, "block 0: RSA-3072 signature by trusted key 0 does not verify");
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_BAD_SIGNATURE);
    done(&c);
}

static void flipped_ecdsa_signature_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V2_SIGNED3);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_EC_B, NULL, NULL);
    sf_block(c.bytes, 1)[OTK_IMAGE_SIG_OFF_EC_SIG + 40] ^= 0x10; /* s */
    sf_fix_crc(c.bytes, 1);
    expect_refused(&c, "block 1: ECDSA signature by trusted key 0 does not verify");
    done(&c);
}

static void flipped_block_byte_fails_crc(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    uint8_t *b = sf_block(c.bytes, 0);
    uint32_t stored = (uint32_t)b[OTK_IMAGE_SIG_OFF_CRC] | (uint32_t)b[1197] << 8 |
                      (uint32_t)b[1198] << 16 | (uint32_t)b[1199] << 24;
    b[OTK_IMAGE_SIG_OFF_RSA_E] ^= 0x02;
    char want[64];
    snprintf(want, sizeof want, "block 0: CRC 0x%08x, computed 0x%08x", (unsigned)stored,
             (unsigned)otk_crc32_update(0, b, OTK_IMAGE_SIG_OFF_CRC));
    expect_refused(&c, want);
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_BAD_CRC);
    /* The CRC itself damaged: the same reason. */
    done(&c);
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    sf_block(c.bytes, 0)[OTK_IMAGE_SIG_OFF_CRC + 3] ^= 0xFF;
    expect_refused(&c, "block 0: CRC 0x");
    done(&c);
}

static void digest_field_changed_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    sf_block(c.bytes, 0)[OTK_IMAGE_SIG_OFF_DIGEST] ^= 0xFF;
    sf_fix_crc(c.bytes, 0);
    expect_refused(&c, "block 0: signs digest ");
    done(&c);
}

static void unsigned_image_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    /* The bare image (no padding, no sector): the data ends before the sector. */
    c.len = SF_IMAGE_LEN;
    expect_refused(&c, "Secure Boot v2: unsigned: the data ends at image offset 0xd00, "
                       "before the signature sector at 0x1000");
    /* Padded, with an erased sector after it. */
    done(&c);
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    memset(c.bytes + SF_SECTOR_OFFSET, 0xFF, OTK_IMAGE_SIG_SECTOR_LEN);
    expect_refused(&c, "Secure Boot v2: unsigned: no signature block at image offset 0x1000 "
                       "(magic 0xe7 expected, found 0xff)");
    /* Padded, the data ending at the sector: blocks read as erased flash. */
    c.len = SF_SECTOR_OFFSET;
    expect_refused(&c, "magic 0xe7 expected, found 0xff");
    done(&c);
}

static void magic_missing_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    sf_block(c.bytes, 0)[0] = 0xE6;
    sf_fix_crc(c.bytes, 0); /* a good CRC does not make up for the magic */
    expect_refused(&c, "no signature block at image offset 0x1000 (magic 0xe7 expected, "
                       "found 0xe6)");
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_ABSENT);
    done(&c);
}

static void unknown_version_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    sf_block(c.bytes, 0)[OTK_IMAGE_SIG_OFF_VERSION] = 0x04;
    sf_fix_crc(c.bytes, 0);
    expect_refused(&c, "block 0: version 0x04 unknown");
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_BAD_VERSION);
    done(&c);
}

static void other_curve_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V2_SIGNED3);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_EC_B, NULL, NULL);
    sf_block(c.bytes, 1)[OTK_IMAGE_SIG_OFF_KEY] = 3; /* P-384's curve id */
    sf_fix_crc(c.bytes, 1);
    expect_refused(&c, "block 1: ECDSA other than P-256/SHA-256");
    assert_int_equal(c.info.sig.blocks[1].status, OTK_IMAGE_SIG_UNSUPPORTED);
    done(&c);
}

/* Key material that is not a key, under a digest that is trusted (the digest covers the
 * material, so only a trusted bad key gets as far as the crypto port). */
static void bad_key_material_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    uint8_t *b = sf_block(c.bytes, 0);
    b[OTK_IMAGE_SIG_OFF_KEY] &= 0xFE; /* n even: no RSA modulus */
    sf_fix_crc(c.bytes, 0);
    otk_image_secure_boot_t *sb = &c.opts.secure_boot;
    sb->enabled = true;
    assert_int_equal(otk_image_sig_key_digest(b, sb->key_digest[0]), ESP_OK);
    expect_refused(&c, "block 0: RSA-3072 key material is not a key");
    assert_int_equal(c.info.sig.blocks[0].status, OTK_IMAGE_SIG_BAD_KEY);
    /* A P-256 point off the curve. */
    done(&c);
    load(&c, SF_V2_SIGNED3);
    b = sf_block(c.bytes, 1);
    b[OTK_IMAGE_SIG_OFF_EC_POINT + 40] ^= 0x01; /* y */
    sf_fix_crc(c.bytes, 1);
    sb = &c.opts.secure_boot;
    sb->enabled = true;
    assert_int_equal(otk_image_sig_key_digest(b, sb->key_digest[1]), ESP_OK);
    memset(sb->key_digest[0], 0, OTK_SHA256_LEN);
    expect_refused(&c, "block 1: ECDSA key material is not a key");
    done(&c);
}

static void sector_beyond_partition_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, NULL, NULL);
    c.opts.max_size = SF_SECTOR_OFFSET + OTK_IMAGE_SIG_SECTOR_LEN - 4;
    expect_refused(&c, "Secure Boot v2: the signature sector [0x1000, 0x2000) after the image "
                       "does not fit the partition size 0x1ffc");
    /* Exactly fitting is fine. */
    c.opts.max_size = SF_SECTOR_OFFSET + OTK_IMAGE_SIG_SECTOR_LEN;
    assert_int_equal(verify(&c), ESP_OK);
    done(&c);
}

static void no_key_in_efuse_refused(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V1_SIGNED);
    c.opts.secure_boot.enabled = true; /* every digest blank */
    expect_refused(&c, "Secure Boot v2 is on, but no key digest is burnt in eFuse");
    done(&c);
}

/* Without secure boot a signed image is just an image; read_signature describes the
 * blocks without requiring any. */
static void signature_only_described(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V2_SIGNED3);
    assert_int_equal(verify(&c), ESP_OK);
    assert_false(c.info.sig.sector_read);
    c.opts.read_signature = true;
    assert_int_equal(verify(&c), ESP_OK);
    assert_true(c.info.sig.sector_read);
    assert_false(c.info.sig.checked);
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        assert_int_equal(c.info.sig.blocks[i].status, OTK_IMAGE_SIG_PRESENT);
    }
    /* An unsigned file is still a valid image then. */
    c.len = SF_IMAGE_LEN;
    assert_int_equal(verify(&c), ESP_OK);
    assert_false(c.info.sig.sector_read);
    done(&c);
}

/* Key digests as sbv2_ref.py computes them (SHA-256 of bytes [36, 812) or [36, 101)). */
static void key_digests_match_reference(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V2_SIGNED3);
    const char *want[] = {SF_DIGEST_RSA_A, SF_DIGEST_EC_B, SF_DIGEST_RSA_C};
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        uint8_t got[OTK_SHA256_LEN], exp[OTK_SHA256_LEN];
        assert_int_equal(otk_image_sig_key_digest(sf_block(c.bytes, i), got), ESP_OK);
        sf_unhex(want[i], exp, sizeof exp);
        assert_memory_equal(got, exp, sizeof exp);
    }
    uint8_t junk[OTK_IMAGE_SIG_BLOCK_LEN] = {OTK_IMAGE_SIG_MAGIC, 0x07};
    uint8_t out[OTK_SHA256_LEN];
    assert_int_equal(otk_image_sig_key_digest(junk, out), ESP_ERR_INVALID_ARG);
    done(&c);
}

/* The same verdicts through flash (the boot path) and through the stream fed in uneven
 * chunks plus the sector check (esp_ota_end's one-pass path). */
static void flash_and_stream_paths(void **state)
{
    (void)state;
    sig_case_t c;
    load(&c, SF_V2_SIGNED3);
    const uint32_t part = 0x10000, part_size = 0x10000;
    otk_flash_t *flash = NULL;
    assert_int_equal(otk_flash_mem_create(0x40000, &flash), ESP_OK);
    assert_int_equal(otk_flash_program(flash, part, c.bytes, c.len), ESP_OK);
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_C, NULL, NULL);
    otk_diag_t why;
    otk_diag_clear(&why);
    assert_int_equal(otk_image_verify_flash(flash, part, part_size, &c.opts, &c.info, &why),
                     ESP_OK);
    assert_int_equal(c.info.sig.verified_block, 2);

    otk_image_stream_t *s = malloc(sizeof *s);
    otk_image_verify_opts_t o = c.opts;
    o.max_size = part_size;
    otk_image_stream_init(s, &o);
    for (size_t at = 0; at < c.len; at += 333) {
        size_t n = c.len - at < 333 ? c.len - at : 333;
        assert_int_equal(otk_image_stream_feed(s, c.bytes + at, n, NULL), ESP_OK);
    }
    assert_true(otk_image_stream_done(s));
    assert_int_equal(otk_image_stream_finish(s, &c.info, &why), ESP_OK);
    expect_digest(&c);
    assert_int_equal(otk_image_sig_check_flash(flash, part, &o, &c.info, &why), ESP_OK);
    assert_int_equal(otk_image_sig_check_buffer(c.bytes, c.len, &o, &c.info, &why), ESP_OK);

    /* A wrong-key image on flash: refused with the flash address in the reason. */
    sf_trust(&c.opts.secure_boot, SF_DIGEST_EC_D, NULL, NULL);
    assert_int_equal(otk_image_verify_flash(flash, part, part_size, &c.opts, &c.info, &why),
                     ESP_ERR_IMAGE_INVALID);
    if (strstr(why.msg, "image at 0x10000: Secure Boot v2: no trusted signature") == NULL) {
        fail_msg("%s", why.msg);
    }
    free(s);
    otk_flash_destroy(flash);
    done(&c);
}

/* The corpus's hello-world-signed.bin (ESP-IDF v3.3, ESP32) carries a Secure Boot v1
 * signature: the 68-byte block (u32 version 0, then r || s) right after the image's
 * SHA-256 at 0x2ffb0, in a file padded to 64 KiB. It is a valid image; it has no v2
 * sector at 0x30000, so a device in v2 secure mode refuses it as unsigned. */
static void corpus_v1_signed_image(void **state)
{
    (void)state;
    sig_case_t c;
    memset(&c, 0, sizeof c);
    c.bytes = ts_read_file(ts_corpus_path("hello-world-signed.bin"), &c.len);
    otk_image_verify_opts_init(&c.opts);
    c.opts.chip_id = ESP_CHIP_ID_ESP32;
    c.opts.read_signature = true;
    assert_int_equal(verify(&c), ESP_OK);
    assert_int_equal(c.info.total_len, 0x2ffb0);
    assert_int_equal(c.len, 0x30000);
    assert_int_equal(le32(c.bytes + c.info.total_len), 0); /* v1 version */
    /* The file ends where a v2 sector would start: what is not there reads as erased. */
    assert_int_equal(c.info.sig.sector_offset, 0x30000);
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        assert_int_equal(c.info.sig.blocks[i].status, OTK_IMAGE_SIG_ABSENT);
    }
    sf_trust(&c.opts.secure_boot, SF_DIGEST_RSA_A, SF_DIGEST_EC_B, SF_DIGEST_RSA_C);
    expect_refused(&c, "Secure Boot v2: unsigned: no signature block at image offset 0x30000");
    done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_block_verifies),
        cmocka_unit_test(ecdsa_block_verifies),
        cmocka_unit_test(wrong_key_refused),
        cmocka_unit_test(three_blocks_one_trusted),
        cmocka_unit_test(flipped_image_byte_refused),
        cmocka_unit_test(flipped_padding_byte_refused),
        cmocka_unit_test(flipped_signature_byte_refused),
        cmocka_unit_test(flipped_ecdsa_signature_refused),
        cmocka_unit_test(flipped_block_byte_fails_crc),
        cmocka_unit_test(digest_field_changed_refused),
        cmocka_unit_test(unsigned_image_refused),
        cmocka_unit_test(magic_missing_refused),
        cmocka_unit_test(unknown_version_refused),
        cmocka_unit_test(other_curve_refused),
        cmocka_unit_test(bad_key_material_refused),
        cmocka_unit_test(sector_beyond_partition_refused),
        cmocka_unit_test(no_key_in_efuse_refused),
        cmocka_unit_test(signature_only_described),
        cmocka_unit_test(key_digests_match_reference),
        cmocka_unit_test(flash_and_stream_paths),
        cmocka_unit_test(corpus_v1_signed_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
