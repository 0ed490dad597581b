/* Secure Boot v2 test material: images signed by tests/cli/sbv2_ref.py (an implementation
 * of the layout in Python, independent of otakit's C code; tests/fixtures/sig/README.md),
 * the key digests that script printed for their keys, and helpers that rearrange or damage
 * a signature sector. */
#ifndef SIG_FIXTURE_H
#define SIG_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/image.h"

/* ESP32-C3 app "sig-app" 1.0 (3328 bytes), padded to 0x1000, then a sector with one block
 * by rsa_a. 8 KiB. */
#define SF_V1_SIGNED "c3_v1_signed.bin"
/* The same app at version 2.0; sector blocks: 0 rsa_a, 1 ec_b, 2 rsa_c. 8 KiB. */
#define SF_V2_SIGNED3 "c3_v2_signed3.bin"
#define SF_SECTOR_OFFSET 0x1000u
#define SF_IMAGE_LEN 3328u

/* Key digests (SHA-256 of the key material, from sbv2_ref.py digest KEY.pem). ec_d signs
 * nothing here: a key no fixture trusts. */
#define SF_DIGEST_RSA_A "d3ee3b437c533d22be8f406c56150ff814ee2588fcbbd6dcd99e9b02f1b2bf04"
#define SF_DIGEST_EC_B "98daca346cc875aa6774cb139323976d6c8eff86affae6d913ec7a904dbf2a67"
#define SF_DIGEST_RSA_C "47de26fd14bd1681190aa30b4f80c492dbd2c5f06696a95ddf9261fd98d5c735"
#define SF_DIGEST_EC_D "b6d06ee72e1328c557bfe07393b1f8d49970870fe1fda41539f687855f8dfb6a"

/* A fixture file (tests/fixtures/sig/NAME under $OTAKIT_SOURCE); caller frees. */
uint8_t *sf_load(const char *name, size_t *len);
/* 2 * len hex digits into bytes; fails the test on anything else. */
void sf_unhex(const char *hex, uint8_t *out, size_t len);
/* Secure boot on, eFuse key digest slot i = hex string di (NULL: a blank slot). */
void sf_trust(otk_image_secure_boot_t *sb, const char *d0, const char *d1, const char *d2);
/* The sector of image (at SF_SECTOR_OFFSET) rebuilt from blocks of src's sector:
 * order[i] is the source block for block i, or -1 for erased (0xFF). */
void sf_arrange(uint8_t *image, const uint8_t *src, const int order[OTK_IMAGE_SIG_MAX_BLOCKS]);
/* Recompute block i's CRC after a deliberate change (so only that change counts). */
void sf_fix_crc(uint8_t *image, unsigned block);
/* Address of block i in a fixture image. */
uint8_t *sf_block(uint8_t *image, unsigned block);

#endif
