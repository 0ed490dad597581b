/* The chip table: everything per chip that the image layer needs, in one place.
 *
 * Windows, memory maps and flash frequency names are esptool's (esptool/targets/<chip>.py:
 * IROM_MAP_START/END, DROM_MAP_START/END, MEMORY_MAP, FLASH_FREQUENCY), because the
 * builder must lay images out exactly as esptool's elf2image does and `image info` shows
 * what esptool's image_info shows. Bootloader offsets are ESP-IDF's
 * (ESP_ROM_BOOTLOADER_OFFSET_FLASH). Chips whose esptool windows we could not pin down
 * (ESP32-C61, -H21, -H4, -S31) are known by name only (otk_image_chip_id_name). */
#include <string.h>

#include "image_internal.h"

#define MMU_PAGE_LOG2_FIXED OTK_IMAGE_MMU_PAGE_LOG2_FIXED
/* Smallest selectable MMU page: esptool MMU_PAGE_SIZE_CONF (C2: 16 KiB; C6 family 8 KiB). */
#define MMU_PAGE_LOG2_C2 14
#define MMU_PAGE_LOG2_C6 13

/* Flash frequency codes (header byte 3, low nibble). */
#define FREQ_CODE_DIV1 0xF
#define FREQ_CODE_DIV2 0x0
#define FREQ_CODE_DIV3 0x1
#define FREQ_CODE_DIV4 0x2

#define N_REGIONS(a) ((uint8_t)(sizeof(a) / sizeof((a)[0])))

#if OTK_CONFIG_TOOLS
static const otk_image_mem_region_t map_esp32[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x3F400000, 0x3F800000, "DROM"},
    {0x3F800000, 0x3FC00000, "EXTRAM_DATA"}, {0x3FF80000, 0x3FF82000, "RTC_DRAM"},
    {0x3FF90000, 0x40000000, "BYTE_ACCESSIBLE"}, {0x3FFAE000, 0x40000000, "DRAM"},
    {0x3FFE0000, 0x3FFFFFFC, "DIRAM_DRAM"}, {0x40000000, 0x40070000, "IROM"},
    {0x40070000, 0x40078000, "CACHE_PRO"}, {0x40078000, 0x40080000, "CACHE_APP"},
    {0x40080000, 0x400A0000, "IRAM"},     {0x400A0000, 0x400BFFFC, "DIRAM_IRAM"},
    {0x400C0000, 0x400C2000, "RTC_IRAM"}, {0x400D0000, 0x40400000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};

static const otk_image_mem_region_t map_esp32s2[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x3F000000, 0x3FF80000, "DROM"},
    {0x3F500000, 0x3FF80000, "EXTRAM_DATA"}, {0x3FF9E000, 0x3FFA0000, "RTC_DRAM"},
    {0x3FF9E000, 0x40000000, "BYTE_ACCESSIBLE"}, {0x3FF9E000, 0x40072000, "MEM_INTERNAL"},
    {0x3FFB0000, 0x40000000, "DRAM"},     {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40020000, 0x40070000, "IRAM"},     {0x40070000, 0x40072000, "RTC_IRAM"},
    {0x40080000, 0x40800000, "IROM"},     {0x50000000, 0x50002000, "RTC_DATA"},
};

static const otk_image_mem_region_t map_esp32c3[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x3C000000, 0x3C800000, "DROM"},
    {0x3FC80000, 0x3FCE0000, "DRAM"},     {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FF00000, 0x3FF20000, "DROM_MASK"}, {0x40000000, 0x40060000, "IROM_MASK"},
    {0x42000000, 0x42800000, "IROM"},     {0x4037C000, 0x403E0000, "IRAM"},
    {0x50000000, 0x50002000, "RTC_IRAM"}, {0x50000000, 0x50002000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};

static const otk_image_mem_region_t map_esp32s3[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x3C000000, 0x3D000000, "DROM"},
    {0x3D000000, 0x3E000000, "EXTRAM_DATA"}, {0x600FE000, 0x60100000, "RTC_DRAM"},
    {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"}, {0x3FC88000, 0x403E2000, "MEM_INTERNAL"},
    {0x3FC88000, 0x3FD00000, "DRAM"},     {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40370000, 0x403E0000, "IRAM"},     {0x600FE000, 0x60100000, "RTC_IRAM"},
    {0x42000000, 0x42800000, "IROM"},     {0x50000000, 0x50002000, "RTC_DATA"},
};

static const otk_image_mem_region_t map_esp32c2[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x3C000000, 0x3C400000, "DROM"},
    {0x3FCA0000, 0x3FCE0000, "DRAM"},     {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FF00000, 0x3FF50000, "DROM_MASK"}, {0x40000000, 0x40090000, "IROM_MASK"},
    {0x42000000, 0x42400000, "IROM"},     {0x4037C000, 0x403C0000, "IRAM"},
};

/* ESP32-C6; esptool's ESP32-H2 inherits it unchanged. */
static const otk_image_mem_region_t map_esp32c6[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x42800000, 0x43000000, "DROM"},
    {0x40800000, 0x40880000, "DRAM"},     {0x40800000, 0x40880000, "BYTE_ACCESSIBLE"},
    {0x4004AC00, 0x40050000, "DROM_MASK"}, {0x40000000, 0x4004AC00, "IROM_MASK"},
    {0x42000000, 0x42800000, "IROM"},     {0x40800000, 0x40880000, "IRAM"},
    {0x50000000, 0x50004000, "RTC_IRAM"}, {0x50000000, 0x50004000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};

static const otk_image_mem_region_t map_esp32p4[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x40000000, 0x4C000000, "DROM"},
    {0x4FF00000, 0x4FFA0000, "DRAM"},     {0x4FF00000, 0x4FFA0000, "BYTE_ACCESSIBLE"},
    {0x4FC00000, 0x4FC20000, "DROM_MASK"}, {0x4FC00000, 0x4FC20000, "IROM_MASK"},
    {0x40000000, 0x4C000000, "IROM"},     {0x4FF00000, 0x4FFA0000, "IRAM"},
    {0x50108000, 0x50110000, "RTC_IRAM"}, {0x50108000, 0x50110000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};

static const otk_image_mem_region_t map_esp32c5[] = {
    {0x00000000, 0x00010000, "PADDING"},  {0x42000000, 0x44000000, "DROM"},
    {0x40800000, 0x40860000, "DRAM"},     {0x40800000, 0x40860000, "BYTE_ACCESSIBLE"},
    {0x4003A000, 0x40040000, "DROM_MASK"}, {0x40000000, 0x4003A000, "IROM_MASK"},
    {0x42000000, 0x44000000, "IROM"},     {0x40800000, 0x40860000, "IRAM"},
    {0x50000000, 0x50004000, "RTC_IRAM"}, {0x50000000, 0x50004000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};
#endif

/* The display data of a chip, or none of it (OTK_CONFIG_TOOLS): a flash-frequency name
 * table, and a memory map with its length. */
#if OTK_CONFIG_TOOLS
#define MAP(map) , map, N_REGIONS(map)
#define FREQS(...) , __VA_ARGS__
#else
#define MAP(map)
#define FREQS(...)
#endif

/* esptool ESP32ROM.FLASH_FREQUENCY, inherited by most chips. */
#define FREQS_80M \
    FREQS({[FREQ_CODE_DIV1] = "80m", [FREQ_CODE_DIV2] = "40m", [FREQ_CODE_DIV3] = "26m", \
           [FREQ_CODE_DIV4] = "20m"})

/* Default entry addresses: with no ELF there is no call_start_cpu0 address, so the builder
 * points the entry at the start of the chip's IRAM (esptool's "IRAM" region). */
static const otk_image_chip_t chips[] = {
    {"esp32", "ESP32", ESP_CHIP_ID_ESP32, 0x400D0000, 0x40400000, 0x3F400000, 0x3F800000,
     0x40080000, 0x1000, MMU_PAGE_LOG2_FIXED, true, FREQ_CODE_DIV2 FREQS_80M MAP(map_esp32)},
    {"esp32s2", "ESP32-S2", ESP_CHIP_ID_ESP32S2, 0x40080000, 0x40B80000, 0x3F000000,
     0x3F3F0000, 0x40020000, 0x1000, MMU_PAGE_LOG2_FIXED, false, FREQ_CODE_DIV1 FREQS_80M
     MAP(map_esp32s2)},
    {"esp32c3", "ESP32-C3", ESP_CHIP_ID_ESP32C3, 0x42000000, 0x42800000, 0x3C000000,
     0x3C800000, 0x4037C000, 0x0, MMU_PAGE_LOG2_FIXED, false, FREQ_CODE_DIV1 FREQS_80M
     MAP(map_esp32c3)},
    {"esp32s3", "ESP32-S3", ESP_CHIP_ID_ESP32S3, 0x42000000, 0x44000000, 0x3C000000,
     0x3E000000, 0x40370000, 0x0, MMU_PAGE_LOG2_FIXED, false, FREQ_CODE_DIV1 FREQS_80M
     MAP(map_esp32s3)},
    {"esp32c2", "ESP32-C2", ESP_CHIP_ID_ESP32C2, 0x42000000, 0x42400000, 0x3C000000,
     0x3C400000, 0x4037C000, 0x0, MMU_PAGE_LOG2_C2, false, FREQ_CODE_DIV1
     FREQS({[FREQ_CODE_DIV1] = "60m", [FREQ_CODE_DIV2] = "30m", [FREQ_CODE_DIV3] = "20m",
            [FREQ_CODE_DIV4] = "15m"})
     MAP(map_esp32c2)},
    {"esp32c6", "ESP32-C6", ESP_CHIP_ID_ESP32C6, 0x42000000, 0x42800000, 0x42800000,
     0x43000000, 0x40800000, 0x0, MMU_PAGE_LOG2_C6, false, FREQ_CODE_DIV1 FREQS_80M
     MAP(map_esp32c6)},
    {"esp32h2", "ESP32-H2", ESP_CHIP_ID_ESP32H2, 0x42000000, 0x42800000, 0x42800000,
     0x43000000, 0x40800000, 0x0, MMU_PAGE_LOG2_C6, false, FREQ_CODE_DIV1
     FREQS({[FREQ_CODE_DIV1] = "48m", [FREQ_CODE_DIV2] = "24m", [FREQ_CODE_DIV3] = "16m",
            [FREQ_CODE_DIV4] = "12m"})
     MAP(map_esp32c6)},
    {"esp32p4", "ESP32-P4", ESP_CHIP_ID_ESP32P4, 0x40000000, 0x4C000000, 0x40000000,
     0x4C000000, 0x4FF00000, 0x2000, MMU_PAGE_LOG2_FIXED, false, FREQ_CODE_DIV1 FREQS_80M
     MAP(map_esp32p4)},
    {"esp32c5", "ESP32-C5", ESP_CHIP_ID_ESP32C5, 0x42000000, 0x44000000, 0x42000000,
     0x44000000, 0x40800000, 0x2000, MMU_PAGE_LOG2_C6, false, FREQ_CODE_DIV1
     FREQS({[FREQ_CODE_DIV1] = "80m", [FREQ_CODE_DIV2] = "40m", [FREQ_CODE_DIV4] = "20m"})
     MAP(map_esp32c5)},
};

#define N_CHIPS (sizeof chips / sizeof chips[0])

size_t otk_image_chip_count(void)
{
    return N_CHIPS;
}

const otk_image_chip_t *otk_image_chip_at(size_t i)
{
    return i < N_CHIPS ? &chips[i] : NULL;
}

const otk_image_chip_t *otk_image_chip_by_id(uint16_t chip_id)
{
    for (size_t i = 0; i < N_CHIPS; i++) {
        if (chips[i].chip_id == chip_id) {
            return &chips[i];
        }
    }
    return NULL;
}

/* Lowercase and without '-', so "ESP32-S2" and "esp32s2" compare equal. */
static bool chip_name_equal(const char *a, const char *b)
{
    for (;;) {
        while (*a == '-') {
            a++;
        }
        while (*b == '-') {
            b++;
        }
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb) {
            return false;
        }
        if (ca == '\0') {
            return true;
        }
        a++;
        b++;
    }
}

const otk_image_chip_t *otk_image_chip_by_name(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < N_CHIPS; i++) {
        if (chip_name_equal(name, chips[i].name)) {
            return &chips[i];
        }
    }
    return NULL;
}

const char *otk_image_chip_id_name(uint16_t chip_id)
{
    const otk_image_chip_t *chip = otk_image_chip_by_id(chip_id);
    if (chip != NULL) {
        return chip->display_name;
    }
    switch (chip_id) {
    case ESP_CHIP_ID_ESP32C61:
        return "ESP32-C61";
    case ESP_CHIP_ID_ESP32H21:
        return "ESP32-H21";
    case ESP_CHIP_ID_ESP32H4:
        return "ESP32-H4";
    case ESP_CHIP_ID_ESP32S31:
        return "ESP32-S31";
    case ESP_CHIP_ID_INVALID:
        return "linux"; /* CONFIG_IDF_FIRMWARE_CHIP_ID of the linux target */
    default:
        return NULL;
    }
}

bool otk_image_chip_is_mapped(const otk_image_chip_t *chip, uint32_t addr)
{
    if (chip == NULL) {
        return false;
    }
    return (addr >= chip->irom_start && addr < chip->irom_end) ||
           (addr >= chip->drom_start && addr < chip->drom_end);
}

size_t otk_image_chip_memory_types(const otk_image_chip_t *chip, uint32_t addr, char *out,
                                   size_t cap)
{
    size_t len = 0;
    if (cap == 0) {
        return 0;
    }
    out[0] = '\0';
    if (chip == NULL) {
        return 0;
    }
#if !OTK_CONFIG_TOOLS
    (void)addr; /* no memory maps in this build: no type to name */
#else
    for (uint8_t i = 0; i < chip->memory_map_len; i++) {
        const otk_image_mem_region_t *r = &chip->memory_map[i];
        if (addr < r->start || addr >= r->end) {
            continue;
        }
        const char *parts[2] = {len > 0 ? ", " : "", r->name};
        for (size_t p = 0; p < 2; p++) {
            size_t n = strlen(parts[p]);
            if (len + n >= cap) {
                n = cap - 1 - len;
            }
            memcpy(out + len, parts[p], n);
            len += n;
            out[len] = '\0';
        }
    }
#endif
    return len;
}
