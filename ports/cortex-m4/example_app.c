/* The example's flash contents: a partition table written record by record, and app
 * images laid out as esptool does (header, one segment starting with esp_app_desc_t,
 * checksum block, SHA-256). */
#include "example_app.h"

#include <string.h>

#include "esp_app_format.h"
#include "esp_flash_partitions.h"
#include "esp_partition.h"
#include "otakit/crypto.h"
#include "otakit/image.h"

/* ---- the partition table --------------------------------------------------------------- */

#define RECORD_LEN 32u
#define LABEL_LEN 16u
/* The MD5 record: magic 0xEBEB, 14 bytes of 0xFF, then the digest of the records. */
#define MD5_RECORD_PAD 14u

typedef struct {
    const char *label;
    uint8_t type, subtype;
    uint32_t offset, size;
} example_part_t;

static const example_part_t example_parts[] = {
    {"otadata", ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, EXAMPLE_OTADATA_OFFSET,
     EXAMPLE_OTADATA_SIZE},
    {"ota_0", ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_0, EXAMPLE_SLOT0_OFFSET,
     EXAMPLE_SLOT_SIZE},
    {"ota_1", ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_0 + 1, EXAMPLE_SLOT1_OFFSET,
     EXAMPLE_SLOT_SIZE},
};

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

/* esp_partition_info_t: magic, type, subtype, offset, size, label[16], flags. */
static void encode_record(const example_part_t *part, uint8_t rec[RECORD_LEN])
{
    memset(rec, 0, RECORD_LEN);
    put_le16(rec, ESP_PARTITION_MAGIC);
    rec[2] = part->type;
    rec[3] = part->subtype;
    put_le32(rec + 4, part->offset);
    put_le32(rec + 8, part->size);
    size_t n = strlen(part->label);
    memcpy(rec + 12, part->label, n < LABEL_LEN ? n : LABEL_LEN);
}

esp_err_t example_provision(otk_flash_t *flash, const char *version)
{
    uint8_t rec[RECORD_LEN];
    otk_md5_ctx_t md5;
    otk_md5_init(&md5);
    uint32_t at = EXAMPLE_TABLE_OFFSET;
    for (size_t i = 0; i < sizeof example_parts / sizeof example_parts[0]; i++) {
        encode_record(&example_parts[i], rec);
        otk_md5_update(&md5, rec, sizeof rec);
        esp_err_t err = otk_flash_program(flash, at, rec, sizeof rec);
        if (err != ESP_OK) {
            return err;
        }
        at += RECORD_LEN;
    }
    memset(rec, 0xFF, sizeof rec);
    put_le16(rec, ESP_PARTITION_MAGIC_MD5);
    otk_md5_final(&md5, rec + 2 + MD5_RECORD_PAD);
    esp_err_t err = otk_flash_program(flash, at, rec, sizeof rec);
    if (err != ESP_OK) {
        return err;
    }
    /* Past the MD5 record the sector stays erased: 0xFF records end the table. */
    static uint8_t image[EXAMPLE_IMAGE_MAX]; /* static: this runs once, off the stack */
    size_t len = example_make_image(version, image);
    if (len == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    return otk_flash_program(flash, EXAMPLE_SLOT0_OFFSET, image, len);
}

/* ---- app images ------------------------------------------------------------------------ */

/* The image header's 24 bytes (esp_image_header_t), written here rather than with the
 * core's encoder: making images is the update server's job, so the device-side size
 * report should not count it. Offsets as esptool writes them. */
#define HDR_MAGIC 0
#define HDR_SEGMENTS 1
#define HDR_SPI_MODE 2
#define HDR_ENTRY 4
#define HDR_WP_PIN 8
#define HDR_CHIP_ID 12
#define HDR_MAX_REV 17
#define HDR_HASH_APPENDED 23

/* ESP32 internal DRAM: the segment loads to RAM, so no flash-mapping rule applies. */
#define EXAMPLE_LOAD_ADDR 0x3FFB0000u
#define EXAMPLE_ENTRY_ADDR 0x40080000u
/* esptool's default for the unused WP pin field. */
#define EXAMPLE_WP_PIN 0xEEu
#define EXAMPLE_SPI_MODE_DIO 2u
#define EXAMPLE_NO_MAX_REV 0xFFFFu
#define EXAMPLE_PROJECT "otakit-m4-demo"

static void encode_desc(const char *version, uint8_t out[sizeof(esp_app_desc_t)])
{
    /* Field by field at the offsets esp_app_desc_t defines (little-endian on flash). */
    memset(out, 0, sizeof(esp_app_desc_t));
    put_le32(out + offsetof(esp_app_desc_t, magic_word), ESP_APP_DESC_MAGIC_WORD);
    memcpy(out + offsetof(esp_app_desc_t, version), version, strlen(version));
    memcpy(out + offsetof(esp_app_desc_t, project_name), EXAMPLE_PROJECT,
           sizeof EXAMPLE_PROJECT - 1);
}

size_t example_make_image(const char *version, uint8_t *out)
{
    if (strlen(version) >= sizeof(((esp_app_desc_t *)0)->version)) {
        return 0;
    }
    /* Flash speed/size nibbles, pin drive, min revisions, reserved: zero. */
    memset(out, 0, OTK_IMAGE_HEADER_LEN);
    out[HDR_MAGIC] = ESP_IMAGE_HEADER_MAGIC;
    out[HDR_SEGMENTS] = 1;
    out[HDR_SPI_MODE] = EXAMPLE_SPI_MODE_DIO;
    put_le32(out + HDR_ENTRY, EXAMPLE_ENTRY_ADDR);
    out[HDR_WP_PIN] = EXAMPLE_WP_PIN;
    put_le16(out + HDR_CHIP_ID, ESP_CHIP_ID_ESP32);
    put_le16(out + HDR_MAX_REV, EXAMPLE_NO_MAX_REV);
    out[HDR_HASH_APPENDED] = 1;

    uint32_t data_len = (uint32_t)sizeof(esp_app_desc_t) + EXAMPLE_PAYLOAD_LEN;
    uint8_t *seg = out + OTK_IMAGE_HEADER_LEN;
    put_le32(seg, EXAMPLE_LOAD_ADDR);
    put_le32(seg + 4, data_len);
    uint8_t *data = seg + OTK_IMAGE_SEGMENT_HEADER_LEN;
    encode_desc(version, data);
    for (uint32_t i = 0; i < EXAMPLE_PAYLOAD_LEN; i++) {
        data[sizeof(esp_app_desc_t) + i] = (uint8_t)(i * 7u + (uint8_t)version[0]);
    }
    /* The checksum is the last byte of the 16-byte block that holds the end of the data:
     * 0xEF XOR every data byte. */
    uint32_t data_end = OTK_IMAGE_DESC_OFFSET + data_len;
    uint32_t image_len = (data_end + OTK_IMAGE_CHECKSUM_ALIGN) & ~(OTK_IMAGE_CHECKSUM_ALIGN - 1u);
    uint8_t checksum = ESP_IMAGE_CHECKSUM_SEED;
    for (uint32_t i = 0; i < data_len; i++) {
        checksum ^= data[i];
    }
    memset(out + data_end, 0, image_len - data_end);
    out[image_len - 1] = checksum;
    otk_sha256(out, image_len, out + image_len);
    return image_len + OTK_SHA256_LEN;
}
