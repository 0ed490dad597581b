/* The image header: field-by-field decode/encode, the chip revision rule, and the names
 * esptool uses for the SPI flash bytes. */
#include <string.h>

#include "image_internal.h"

/* ESP-IDF: a max_chip_rev_full of 0 or 0xFFFF means "no upper limit". */
#define CHIP_REV_UNSET_ZERO 0x0000u
#define CHIP_REV_UNSET_ONES 0xFFFFu
/* Revisions are major * 100 + minor. */
#define CHIP_REV_MAJOR_SCALE 100u

void otk_image_verify_opts_init(otk_image_verify_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->kind = OTK_IMAGE_APP;
    opts->chip_id = OTK_IMAGE_CHIP_ANY;
    opts->require_app_desc = true;
}

void otk_image_header_decode(const uint8_t b[OTK_IMAGE_HEADER_LEN], esp_image_header_t *hdr)
{
    memset(hdr, 0, sizeof *hdr);
    hdr->magic = b[0];
    hdr->segment_count = b[1];
    hdr->spi_mode = b[2];
    hdr->spi_speed = b[3] & 0x0F;
    hdr->spi_size = (uint8_t)(b[3] >> 4);
    hdr->entry_addr = otk_image_le32(b + 4);
    hdr->wp_pin = b[8];
    memcpy(hdr->spi_pin_drv, b + 9, 3);
    hdr->chip_id = (esp_chip_id_t)otk_image_le16(b + 12);
    hdr->min_chip_rev = b[14];
    hdr->min_chip_rev_full = otk_image_le16(b + 15);
    hdr->max_chip_rev_full = otk_image_le16(b + 17);
    memcpy(hdr->reserved, b + 19, 4);
    hdr->hash_appended = b[23];
}

void otk_image_header_encode(const esp_image_header_t *hdr, uint8_t b[OTK_IMAGE_HEADER_LEN])
{
    b[0] = hdr->magic;
    b[1] = hdr->segment_count;
    b[2] = hdr->spi_mode;
    b[3] = (uint8_t)((hdr->spi_speed & 0x0F) | ((hdr->spi_size & 0x0F) << 4));
    otk_image_put_le32(b + 4, hdr->entry_addr);
    b[8] = hdr->wp_pin;
    memcpy(b + 9, hdr->spi_pin_drv, 3);
    otk_image_put_le16(b + 12, (uint16_t)hdr->chip_id);
    b[14] = hdr->min_chip_rev;
    otk_image_put_le16(b + 15, hdr->min_chip_rev_full);
    otk_image_put_le16(b + 17, hdr->max_chip_rev_full);
    memcpy(b + 19, hdr->reserved, 4);
    b[23] = hdr->hash_appended;
}

esp_err_t otk_image_check_chip_rev(const esp_image_header_t *hdr, uint16_t chip_rev,
                                   bool is_app, otk_diag_t *diag)
{
    unsigned rev = chip_rev;
    unsigned min = hdr->min_chip_rev_full;
    unsigned max = hdr->max_chip_rev_full;
    if (rev < min) {
        otk_diag_set(diag,
                     "header min_chip_rev_full: image needs chip revision >= v%u.%u, "
                     "chip is v%u.%u",
                     min / CHIP_REV_MAJOR_SCALE, min % CHIP_REV_MAJOR_SCALE,
                     rev / CHIP_REV_MAJOR_SCALE, rev % CHIP_REV_MAJOR_SCALE);
        return ESP_ERR_IMAGE_INVALID;
    }
    /* The upper limit binds apps only: a bootloader must keep booting newer chips. */
    bool max_set = max != CHIP_REV_UNSET_ZERO && max != CHIP_REV_UNSET_ONES;
    if (is_app && max_set && rev > max) {
        otk_diag_set(diag,
                     "header max_chip_rev_full: image needs chip revision <= v%u.%u, "
                     "chip is v%u.%u",
                     max / CHIP_REV_MAJOR_SCALE, max % CHIP_REV_MAJOR_SCALE,
                     rev / CHIP_REV_MAJOR_SCALE, rev % CHIP_REV_MAJOR_SCALE);
        return ESP_ERR_IMAGE_INVALID;
    }
    return ESP_OK;
}

/* esptool FLASH_MODES: only these four are named; FAST_READ / SLOW_READ print as invalid. */
static const char *const spi_mode_names[] = {"QIO", "QOUT", "DIO", "DOUT"};
/* esptool ESP32ROM.FLASH_SIZES: high nibble 0..7. */
static const char *const flash_size_names[] = {"1MB",  "2MB",  "4MB",  "8MB",
                                               "16MB", "32MB", "64MB", "128MB"};

#define N_NAMES(a) (sizeof(a) / sizeof((a)[0]))

const char *otk_image_spi_mode_name(uint8_t spi_mode)
{
    return spi_mode < N_NAMES(spi_mode_names) ? spi_mode_names[spi_mode] : NULL;
}

const char *otk_image_flash_size_name(uint8_t spi_size)
{
    return spi_size < N_NAMES(flash_size_names) ? flash_size_names[spi_size] : NULL;
}

const char *otk_image_flash_freq_name(const otk_image_chip_t *chip, uint8_t spi_speed)
{
    if (chip == NULL || spi_speed >= OTK_IMAGE_FLASH_FREQ_CODES) {
        return NULL;
    }
#if OTK_CONFIG_TOOLS
    return chip->flash_freq_names[spi_speed];
#else
    return NULL; /* display data left out (otakit/config.h) */
#endif
}

static bool equal_nocase(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb) {
            return false;
        }
    }
    return *a == *b;
}

bool otk_image_parse_spi_mode(const char *text, uint8_t *spi_mode)
{
    for (size_t i = 0; text != NULL && i < N_NAMES(spi_mode_names); i++) {
        if (equal_nocase(text, spi_mode_names[i])) {
            *spi_mode = (uint8_t)i;
            return true;
        }
    }
    return false;
}

bool otk_image_parse_flash_size(const char *text, uint8_t *spi_size)
{
    for (size_t i = 0; text != NULL && i < N_NAMES(flash_size_names); i++) {
        if (equal_nocase(text, flash_size_names[i])) {
            *spi_size = (uint8_t)i;
            return true;
        }
    }
    return false;
}

bool otk_image_parse_flash_freq(const otk_image_chip_t *chip, const char *text,
                                uint8_t *spi_speed)
{
#if OTK_CONFIG_TOOLS
    for (uint8_t i = 0; chip != NULL && text != NULL && i < OTK_IMAGE_FLASH_FREQ_CODES; i++) {
        if (chip->flash_freq_names[i] != NULL && equal_nocase(text, chip->flash_freq_names[i])) {
            *spi_speed = i;
            return true;
        }
    }
#else
    (void)chip;
    (void)text;
    (void)spi_speed;
#endif
    return false;
}
