/* What the example puts on its flash and sends as an update: an ESP partition table for
 * a small two-slot layout, and ESP app images made on the spot (the bytes an update server
 * would send). Only the core's own encoders and the crypto port are used. */
#ifndef OTAKIT_EXAMPLE_APP_H
#define OTAKIT_EXAMPLE_APP_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/flash.h"

/* The layout: the table in sector 0, otadata, two OTA slots; 64 KiB in all. Slots need no
 * 64 KiB alignment here because the example images load into RAM only (a flash-mapped
 * segment must sit at its load address modulo the MMU page). */
#define EXAMPLE_FLASH_SIZE 0x10000u
#define EXAMPLE_TABLE_OFFSET 0x0000u
#define EXAMPLE_OTADATA_OFFSET 0x1000u
#define EXAMPLE_OTADATA_SIZE 0x2000u
#define EXAMPLE_SLOT0_OFFSET 0x4000u
#define EXAMPLE_SLOT1_OFFSET 0xA000u
#define EXAMPLE_SLOT_SIZE 0x6000u

/* Bytes of app code in an example image, and the buffer that holds any image of it. */
#define EXAMPLE_PAYLOAD_LEN 512u
#define EXAMPLE_IMAGE_MAX 1024u

/* Write the factory state: the partition table (with its MD5 record) and app `version`
 * in ota_0; otadata stays erased, as after `idf.py flash`. The flash must be erased. */
esp_err_t example_provision(otk_flash_t *flash, const char *version);

/* Make the image of app `version` into out[EXAMPLE_IMAGE_MAX]; its length, or 0 when the
 * version does not fit the descriptor. */
size_t example_make_image(const char *version, uint8_t *out);

#endif
