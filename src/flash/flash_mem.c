/* Memory backend: the flash is a heap buffer. Fast, private to the process; for tests,
 * fault sweeps and clones of a device taken before a risky operation. */
#include "flash_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    otk_flash_bytes_t array; /* first: the shared byte-array operations take the context */
} mem_ctx_t;

static void mem_close(void *ctx)
{
    mem_ctx_t *mem = ctx;
    free(mem->array.bytes);
    free(mem);
}

static const otk_flash_backend_t mem_backend = {
    .read = otk_flash_bytes_read,
    .write = otk_flash_bytes_write,
    .sync = NULL, /* nothing outlives the process */
    .close = mem_close,
    .map = otk_flash_bytes_map,
    .erase = otk_flash_bytes_erase,
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
    mem->array.bytes = malloc(size);
    if (mem->array.bytes == NULL) {
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
    memset(mem->array.bytes, 0xFF, size); /* a new chip comes erased */
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
    err = src->backend->read(src->backend_ctx, 0, mem->array.bytes, src->size);
    if (err != ESP_OK) {
        otk_flash_destroy(*out);
        *out = NULL;
        return err;
    }
    (*out)->timing = src->timing;
    return ESP_OK;
}
