/* A device for the control-path tests: a flash image file in a fresh temp dir with
 * ESP-IDF's factory + two 1 MiB OTA slots layout (4 MiB, ESP32-C3), the factory app
 * "factory" installed, and a device file; plus app images to push to it. */
#ifndef HOSTED_FIXTURE_H
#define HOSTED_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/device_run.h"

/* Create the device; extra is appended to its device file ("chip = esp32c3\n" is
 * there). Returns the flash file's path (static storage). */
const char *hf_make_device(const char *extra);
/* The temp dir of the last hf_make_device. */
const char *hf_dir(void);
/* Open the device at path and power it on (asserts both); log: NULL or a stream. */
void hf_open(otk_device_run_t *run, const char *path, FILE *log);

/* An app image for chip (ESP32-C3 for the device) of about payload_len bytes whose
 * version is `version`, into a static buffer (overwritten by the next call). */
const uint8_t *hf_image(const char *version, size_t payload_len, size_t *len);
const uint8_t *hf_image_for(uint16_t chip_id, const char *version, uint32_t secure_version,
                            size_t payload_len, size_t *len);

/* The whole flash file's bytes (caller frees), to prove nothing changed. */
uint8_t *hf_flash_bytes(const char *path, size_t *len);
/* True when path exists. */
int hf_exists(const char *path);

#endif
