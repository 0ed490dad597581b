/* Shared between the emulator and its backends; not part of the public API. */
#ifndef OTAKIT_FLASH_INTERNAL_H
#define OTAKIT_FLASH_INTERNAL_H

#include "otakit/flash.h"

/* Log tag of the flash layer. */
#define OTK_FLASH_TAG "flash"

/* Check a device size the way every constructor does: ESP_OK or ESP_ERR_INVALID_SIZE. */
esp_err_t otk_flash_check_size(uint32_t size);

/* Allocate a device and its erase counters over an open backend and initialise it.
 * Takes ownership of backend_ctx: on failure the backend is closed before returning. */
esp_err_t otk_flash_new(const otk_flash_backend_t *backend, void *backend_ctx, uint32_t size,
                        otk_flash_t **out);

/* A backend context whose flash is a byte array in this process. Backends built on it put
 * this first in their context and use the otk_flash_bytes_* operations. */
typedef struct {
    uint8_t *bytes;
} otk_flash_bytes_t;

esp_err_t otk_flash_bytes_read(void *ctx, uint32_t addr, void *dst, size_t len);
esp_err_t otk_flash_bytes_write(void *ctx, uint32_t addr, const void *src, size_t len);
esp_err_t otk_flash_bytes_erase(void *ctx, uint32_t addr, size_t len);
const uint8_t *otk_flash_bytes_map(void *ctx, uint32_t addr, size_t len);

#endif
