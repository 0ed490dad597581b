/* Devices the library allocates (the memory and file constructors): a device struct and
 * its wear counters from the heap, released by otk_flash_destroy. Host only: the emulator
 * itself (flash_emul.c) never allocates, so a microcontroller build leaves this file out
 * and puts its otk_flash_t where it likes (otk_flash_init). */
#include "flash_internal.h"

#include <stdlib.h>

#include "otakit/log.h"

static void backend_close(const otk_flash_backend_t *backend, void *ctx)
{
    if (backend->close != NULL) {
        backend->close(ctx);
    }
}

esp_err_t otk_flash_new(const otk_flash_backend_t *backend, void *backend_ctx, uint32_t size,
                        otk_flash_t **out)
{
    esp_err_t err = otk_flash_check_size(size);
    if (err != ESP_OK) {
        backend_close(backend, backend_ctx);
        return err;
    }
    otk_flash_t *flash = calloc(1, sizeof *flash);
    uint32_t *counts = calloc(size / OTK_FLASH_SECTOR_SIZE, sizeof *counts);
    if (flash == NULL || counts == NULL) {
        free(flash);
        free(counts);
        backend_close(backend, backend_ctx);
        return ESP_ERR_NO_MEM;
    }
    err = otk_flash_init(flash, backend, backend_ctx, size, counts);
    if (err != ESP_OK) {
        free(flash);
        free(counts);
        backend_close(backend, backend_ctx);
        return err;
    }
    *out = flash;
    return ESP_OK;
}

void otk_flash_destroy(otk_flash_t *flash)
{
    if (flash == NULL) {
        return;
    }
    esp_err_t err = otk_flash_sync(flash);
    if (err != ESP_OK) {
        OTK_LOGE(OTK_FLASH_TAG, "sync before close failed (0x%x); closing anyway", err);
    }
    backend_close(flash->backend, flash->backend_ctx);
    free(flash->erase_counts);
    free(flash);
}
