/* Memory backend: the flash is a heap buffer. Fast, private to the process; for tests,
 * fault sweeps and clones of a device taken before a risky operation. */
#include "flash_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *bytes;
} mem_ctx_t;

static esp_err_t mem_read(void *ctx, uint32_t addr, void *dst, size_t len)
{
    mem_ctx_t *mem = ctx;
    memcpy(dst, mem->bytes + addr, len);
    return ESP_OK;
}

static esp_err_t mem_write(void *ctx, uint32_t addr, const void *src, size_t len)
{
    mem_ctx_t *mem = ctx;
    memcpy(mem->bytes + addr, src, len);
    return ESP_OK;
}

/* An erased unit reads 0xFF: one memset, not a write of 0xFF per page. */
static esp_err_t mem_erase(void *ctx, uint32_t addr, size_t len)
{
    mem_ctx_t *mem = ctx;
    memset(mem->bytes + addr, 0xFF, len);
    return ESP_OK;
}

static const uint8_t *mem_map(void *ctx, uint32_t addr, size_t len)
{
    (void)len;
    mem_ctx_t *mem = ctx;
    return mem->bytes + addr;
}

static void mem_close(void *ctx)
{
    mem_ctx_t *mem = ctx;
    free(mem->bytes);
    free(mem);
}

static const otk_flash_backend_t mem_backend = {
    .read = mem_read,
    .write = mem_write,
    .sync = NULL, /* nothing outlives the process */
    .close = mem_close,
    .map = mem_map,
    .erase = mem_erase,
};

/* A memory device whose bytes are left for the caller to fill. */
static esp_err_t mem_new(uint32_t size, otk_flash_t **out, mem_ctx_t **ctx_out)
{
    if (out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = otk_flash_check_size(size);
    if (err != ESP_OK) {
        return err;
    }
    mem_ctx_t *mem = calloc(1, sizeof *mem);
    if (mem == NULL) {
        return ESP_ERR_NO_MEM;
    }
    mem->bytes = malloc(size);
    if (mem->bytes == NULL) {
        free(mem);
        return ESP_ERR_NO_MEM;
    }
    err = otk_flash_new(&mem_backend, mem, size, out);
    if (err == ESP_OK) {
        *ctx_out = mem;
    }
    return err;
}

esp_err_t otk_flash_mem_create(uint32_t size, otk_flash_t **out)
{
    mem_ctx_t *mem = NULL;
    esp_err_t err = mem_new(size, out, &mem);
    if (err != ESP_OK) {
        return err;
    }
    memset(mem->bytes, 0xFF, size); /* a new chip comes erased */
    return ESP_OK;
}

esp_err_t otk_flash_mem_clone(otk_flash_t *src, otk_flash_t **out)
{
    if (src == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    mem_ctx_t *mem = NULL;
    esp_err_t err = mem_new(src->size, out, &mem);
    if (err != ESP_OK) {
        return err;
    }
    /* Straight from the source's backend: no stats, no power check on the source. */
    err = src->backend->read(src->backend_ctx, 0, mem->bytes, src->size);
    if (err != ESP_OK) {
        otk_flash_destroy(*out);
        *out = NULL;
        return err;
    }
    (*out)->timing = src->timing;
    return ESP_OK;
}
