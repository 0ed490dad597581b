/* The operations of a backend whose flash is a plain byte array in this process (a heap
 * buffer, a mapped file): shared by the memory and file backends, which differ only in how
 * the array is made, made durable and released. */
#include "flash_internal.h"

#include <string.h>

esp_err_t otk_flash_bytes_read(void *ctx, uint32_t addr, void *dst, size_t len)
{
    const otk_flash_bytes_t *b = ctx;
    memcpy(dst, b->bytes + addr, len);
    return ESP_OK;
}

esp_err_t otk_flash_bytes_write(void *ctx, uint32_t addr, const void *src, size_t len)
{
    otk_flash_bytes_t *b = ctx;
    memcpy(b->bytes + addr, src, len);
    return ESP_OK;
}

/* An erased unit reads 0xFF: one memset, not a write of 0xFF per page. */
esp_err_t otk_flash_bytes_erase(void *ctx, uint32_t addr, size_t len)
{
    otk_flash_bytes_t *b = ctx;
    memset(b->bytes + addr, 0xFF, len);
    return ESP_OK;
}

const uint8_t *otk_flash_bytes_map(void *ctx, uint32_t addr, size_t len)
{
    (void)len;
    const otk_flash_bytes_t *b = ctx;
    return b->bytes + addr;
}
