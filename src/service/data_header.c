/* The otakit data image header (otakit/service.h, docs/service.md): 32 bytes in front of a
 * data image that say its version, so a data partition knows its own version as ADF's
 * tone partition does. Little-endian fields, decoded byte by byte (any host). */
#include <string.h>

#include "otakit/crc32.h"
#include "otakit/service.h"

#define HDR_MAGIC_LEN 4u
#define HDR_FORMAT_OFFSET 4u
#define HDR_VERSION_OFFSET 8u
#define HDR_PAYLOAD_OFFSET 12u
#define HDR_CRC_OFFSET 28u /* the CRC covers every byte before it */
#define HDR_FILL 0xFFu     /* reserved bytes: erased flash, so a header can be patched */
#define VERSION_MAX 0xFFFFFF

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

esp_err_t otk_data_header_decode(const uint8_t *bytes, size_t len, otk_data_header_t *hdr,
                                 otk_diag_t *diag)
{
    if (bytes == NULL || len < OTK_DATA_HEADER_LEN ||
        memcmp(bytes, OTK_DATA_HEADER_MAGIC, HDR_MAGIC_LEN) != 0) {
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t stored = get_le32(bytes + HDR_CRC_OFFSET);
    uint32_t computed = otk_crc32_update(0, bytes, HDR_CRC_OFFSET);
    if (stored != computed) {
        otk_diag_set(diag, "data header: CRC 0x%08x, expected 0x%08x", (unsigned)stored,
                     (unsigned)computed);
        return ESP_ERR_INVALID_CRC;
    }
    if (bytes[HDR_FORMAT_OFFSET] != OTK_DATA_HEADER_FORMAT) {
        otk_diag_set(diag, "data header: format %u, this reader knows %u",
                     (unsigned)bytes[HDR_FORMAT_OFFSET], (unsigned)OTK_DATA_HEADER_FORMAT);
        return ESP_ERR_INVALID_VERSION;
    }
    uint32_t version = get_le32(bytes + HDR_VERSION_OFFSET);
    if (version > VERSION_MAX) {
        otk_diag_set(diag, "data header: version 0x%08x is not an ADF packed version",
                     (unsigned)version);
        return ESP_ERR_INVALID_VERSION;
    }
    if (hdr != NULL) {
        hdr->version = (int32_t)version;
        hdr->payload_len = get_le32(bytes + HDR_PAYLOAD_OFFSET);
    }
    return ESP_OK;
}

void otk_data_header_encode(const otk_data_header_t *hdr, uint8_t out[OTK_DATA_HEADER_LEN])
{
    memset(out, HDR_FILL, OTK_DATA_HEADER_LEN);
    memcpy(out, OTK_DATA_HEADER_MAGIC, HDR_MAGIC_LEN);
    out[HDR_FORMAT_OFFSET] = OTK_DATA_HEADER_FORMAT;
    put_le32(out + HDR_VERSION_OFFSET, (uint32_t)hdr->version);
    put_le32(out + HDR_PAYLOAD_OFFSET, hdr->payload_len);
    put_le32(out + HDR_CRC_OFFSET, otk_crc32_update(0, out, HDR_CRC_OFFSET));
}
