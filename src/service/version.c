/* ADF's version numbers ("Vx.y.z", each part 0-255, packed into 24 bits) and the hex form
 * of SHA-256 digests the manifest and the state file use. */
#include <stdio.h>
#include <string.h>

#include "otakit/manifest.h"

/* Three parts, two dots between them. */
#define VERSION_PARTS 3
/* "255" is the longest part; more digits cannot be <= 255 without leading zeros, and ADF's
 * strings are short anyway. */
#define VERSION_PART_DIGITS 3
#define VERSION_PART_BITS 8

int32_t otk_version_pack(const char *text)
{
    if (text == NULL) {
        return OTK_VERSION_NONE;
    }
    size_t len = strnlen(text, OTK_VERSION_TEXT_MAX + 1);
    if (len > OTK_VERSION_TEXT_MAX || len < 1 || (text[0] != 'v' && text[0] != 'V')) {
        return OTK_VERSION_NONE;
    }
    const char *p = text + 1;
    int32_t packed = 0;
    for (int part = 0; part < VERSION_PARTS; part++) {
        unsigned value = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (++digits > VERSION_PART_DIGITS) {
                return OTK_VERSION_NONE;
            }
            value = value * 10u + (unsigned)(*p - '0');
            p++;
        }
        if (digits == 0 || value > OTK_VERSION_PART_MAX) {
            return OTK_VERSION_NONE;
        }
        packed = (int32_t)(((uint32_t)packed << VERSION_PART_BITS) | value);
        if (part < VERSION_PARTS - 1) {
            if (*p != '.') {
                return OTK_VERSION_NONE;
            }
            p++;
        }
    }
    return *p == '\0' ? packed : OTK_VERSION_NONE;
}

char *otk_version_format(int32_t packed, char *out)
{
    if (packed < 0 || packed > 0xFFFFFF) {
        snprintf(out, OTK_VERSION_TEXT_MAX + 1, "none");
    } else {
        snprintf(out, OTK_VERSION_TEXT_MAX + 1, "V%u.%u.%u", (unsigned)(packed >> 16) & 0xFFu,
                 (unsigned)(packed >> 8) & 0xFFu, (unsigned)packed & 0xFFu);
    }
    return out;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool otk_sha256_from_hex(const char *hex, size_t len, uint8_t out[OTK_SHA256_LEN])
{
    if (hex == NULL || len != 2u * OTK_SHA256_LEN) {
        return false;
    }
    for (size_t i = 0; i < OTK_SHA256_LEN; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

char *otk_sha256_to_hex(const uint8_t sha[OTK_SHA256_LEN], char out[2 * OTK_SHA256_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < OTK_SHA256_LEN; i++) {
        out[2 * i] = digits[sha[i] >> 4];
        out[2 * i + 1] = digits[sha[i] & 0xFu];
    }
    out[2 * OTK_SHA256_LEN] = '\0';
    return out;
}
