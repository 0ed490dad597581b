/* The anti-rollback secure-version eFuse field (spec §4.4). eFuse bits can only be burned
 * (0 -> 1), so the field is a thermometer code: the version is how many bits are set. */
#include "otakit/boot.h"

/* CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD defaults: ESP32 has a 32-bit field, C2
 * only 4 bits, C5 9 bits, every other chip 16. */
#define EFUSE_BITS_ESP32 32u
#define EFUSE_BITS_ESP32C2 4u
#define EFUSE_BITS_ESP32C5 9u
#define EFUSE_BITS_DEFAULT 16u

uint8_t otk_boot_efuse_default_bits(uint16_t chip_id)
{
    switch (chip_id) {
    case ESP_CHIP_ID_ESP32:
        return EFUSE_BITS_ESP32;
    case ESP_CHIP_ID_ESP32C2:
        return EFUSE_BITS_ESP32C2;
    case ESP_CHIP_ID_ESP32C5:
        return EFUSE_BITS_ESP32C5;
    default:
        return EFUSE_BITS_DEFAULT;
    }
}

static bool width_ok(uint8_t bits)
{
    return bits >= 1 && bits <= OTK_BOOT_EFUSE_MAX_BITS;
}

/* The bits that belong to the field; bits above its width are another field's. */
static uint32_t field_mask(uint8_t bits)
{
    return bits >= OTK_BOOT_EFUSE_MAX_BITS ? UINT32_MAX : (UINT32_C(1) << bits) - 1u;
}

static uint32_t popcount32(uint32_t v)
{
    uint32_t n = 0;
    for (; v != 0; v &= v - 1u) {
        n++;
    }
    return n;
}

uint32_t otk_boot_efuse_secure_version(uint32_t field, uint8_t bits)
{
    if (!width_ok(bits)) {
        return 0;
    }
    return popcount32(field & field_mask(bits));
}

bool otk_boot_efuse_check(uint32_t field, uint8_t bits, uint32_t app_secure_version)
{
    return app_secure_version >= otk_boot_efuse_secure_version(field, bits);
}

esp_err_t otk_boot_efuse_raise(uint32_t *field, uint8_t bits, uint32_t version)
{
    if (field == NULL || !width_ok(bits) || version > bits) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t value = *field;
    uint32_t have = popcount32(value & field_mask(bits));
    /* Burn the lowest clear bits: on a field written only by this rule that is exactly
     * ESP-IDF's mask of bits [have, version), and on any other pattern it still makes the
     * popcount equal the version. */
    for (uint32_t bit = 0; bit < bits && have < version; bit++) {
        uint32_t m = UINT32_C(1) << bit;
        if ((value & m) == 0) {
            value |= m;
            have++;
        }
    }
    *field = value;
    return ESP_OK;
}
