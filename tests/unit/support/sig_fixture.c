#include "sig_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/crc32.h"
#include "test_support.h"

uint8_t *sf_load(const char *name, size_t *len)
{
    char path[4096];
    const char *root = getenv("OTAKIT_SOURCE");
    snprintf(path, sizeof path, "%s/tests/fixtures/sig/%s", root != NULL ? root : ".", name);
    return ts_read_file(path, len);
}

static int nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void sf_unhex(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(strlen(hex), 2 * len);
    for (size_t i = 0; i < len; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

void sf_trust(otk_image_secure_boot_t *sb, const char *d0, const char *d1, const char *d2)
{
    const char *d[OTK_IMAGE_SIG_MAX_BLOCKS] = {d0, d1, d2};
    memset(sb, 0, sizeof *sb);
    sb->enabled = true;
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        if (d[i] != NULL) {
            sf_unhex(d[i], sb->key_digest[i], OTK_SHA256_LEN);
        }
    }
}

uint8_t *sf_block(uint8_t *image, unsigned block)
{
    return image + SF_SECTOR_OFFSET + block * OTK_IMAGE_SIG_BLOCK_LEN;
}

void sf_arrange(uint8_t *image, const uint8_t *src, const int order[OTK_IMAGE_SIG_MAX_BLOCKS])
{
    uint8_t sector[OTK_IMAGE_SIG_SECTOR_LEN];
    memset(sector, 0xFF, sizeof sector);
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        if (order[i] >= 0) {
            memcpy(sector + i * OTK_IMAGE_SIG_BLOCK_LEN,
                   src + SF_SECTOR_OFFSET + (unsigned)order[i] * OTK_IMAGE_SIG_BLOCK_LEN,
                   OTK_IMAGE_SIG_BLOCK_LEN);
        }
    }
    memcpy(image + SF_SECTOR_OFFSET, sector, sizeof sector);
}

void sf_fix_crc(uint8_t *image, unsigned block)
{
    uint8_t *b = sf_block(image, block);
    uint32_t crc = otk_crc32_update(0, b, OTK_IMAGE_SIG_OFF_CRC);
    for (unsigned i = 0; i < 4; i++) {
        b[OTK_IMAGE_SIG_OFF_CRC + i] = (uint8_t)(crc >> (8 * i));
    }
}
