/* The example flash driver: otk_flash_backend_t over a memory-mapped NOR array.
 *
 * What the core guarantees before it calls a backend operation (flash_emul.c):
 *   - the range lies inside the device (bounds checked, len > 0);
 *   - a write is NOR-resolved: every bit of src either equals the stored bit or clears a
 *     1 to 0, so a plain program does it and no byte needs an erase first;
 *   - an erase is exactly one 4 KiB sector or one 64 KiB block, aligned to its size;
 *   - nothing is called from an interrupt, and calls never overlap (one caller at a time).
 * What the driver guarantees back:
 *   - when write or erase returns ESP_OK the bits are in the array (the operation finished;
 *     no write-back cache): the core orders its writes for power loss (image before
 *     otadata, otadata sector by sector) and relies on that order reaching the chip;
 *   - read and map see every operation that returned before them;
 *   - an error is returned as ESP_ERR_FLASH_OP_FAIL (the core reports it and stops).
 *
 * The three places a real chip differs are marked REAL CHIP below. */
#include "flash_driver_example.h"

#include <string.h>

/* The array programs 32-bit words, as most MCU flash controllers do (nRF52's NVMC, say).
 * The core writes any byte range, so a write that starts or ends inside a word programs
 * that word with 0xFF in the bytes it does not own: on NOR, programming a 1 leaves the
 * stored bit as it is. (A chip whose program unit carries ECC and may be programmed only
 * once per erase cannot do that: see docs/porting.md.) */
#define PROGRAM_UNIT 4u
#define ERASED_BYTE 0xFFu

/* ---- the controller: REAL CHIP ------------------------------------------------------- */

/* Program one unit at a unit-aligned address. REAL CHIP: unlock the controller (once per
 * write is enough), wait until it is ready, store the word through the program window,
 * wait until ready again, check its error flags, lock. On a chip that cannot execute from
 * flash while it programs, this runs from RAM with interrupts that touch flash masked. */
static esp_err_t ctrl_program_unit(example_nor_t *nor, uint32_t addr, const uint8_t *unit)
{
    for (uint32_t i = 0; i < PROGRAM_UNIT; i++) {
        nor->base[addr + i] &= unit[i]; /* NOR: a program only clears bits */
    }
    return ESP_OK;
}

/* Erase [addr, addr + len): one sector or one block. REAL CHIP: a sector erase per 4 KiB
 * page (or the block-erase command for 64 KiB on SPI NOR: 0x20 / 0xD8 after WREN, then
 * poll WIP), each awaited; and invalidate any cache over the mapped window afterwards. */
static esp_err_t ctrl_erase(example_nor_t *nor, uint32_t addr, size_t len)
{
    memset(nor->base + addr, ERASED_BYTE, len);
    return ESP_OK;
}

/* ---- the backend ----------------------------------------------------------------------- */

/* REAL CHIP: reading the mapped window is a memcpy (after a program/erase, invalidate the
 * cache over it if the chip has one); behind SPI without a window, a 0x03/0x0B read. */
static esp_err_t nor_read(void *ctx, uint32_t addr, void *dst, size_t len)
{
    example_nor_t *nor = ctx;
    memcpy(dst, nor->base + addr, len);
    return ESP_OK;
}

static esp_err_t nor_write(void *ctx, uint32_t addr, const void *src, size_t len)
{
    example_nor_t *nor = ctx;
    const uint8_t *bytes = src;
    uint32_t end = addr + (uint32_t)len; /* no wrap: the core checked the range */
    for (uint32_t unit = addr - addr % PROGRAM_UNIT; unit < end; unit += PROGRAM_UNIT) {
        uint8_t word[PROGRAM_UNIT];
        for (uint32_t i = 0; i < PROGRAM_UNIT; i++) {
            uint32_t at = unit + i;
            word[i] = at >= addr && at < end ? bytes[at - addr] : ERASED_BYTE;
        }
        esp_err_t err = ctrl_program_unit(nor, unit, word);
        if (err != ESP_OK) {
            return ESP_ERR_FLASH_OP_FAIL;
        }
    }
    return ESP_OK;
}

static esp_err_t nor_erase(void *ctx, uint32_t addr, size_t len)
{
    return ctrl_erase(ctx, addr, len) == ESP_OK ? ESP_OK : ESP_ERR_FLASH_OP_FAIL;
}

/* The array is memory-mapped, so reads can skip the copy (esp_partition_mmap's way). */
static const uint8_t *nor_map(void *ctx, uint32_t addr, size_t len)
{
    (void)len;
    example_nor_t *nor = ctx;
    return nor->base + addr;
}

const otk_flash_backend_t example_nor_backend = {
    .read = nor_read,
    .write = nor_write,
    .sync = NULL,  /* every write and erase has finished when it returns */
    .close = NULL, /* nothing to release: the array is the chip */
    .map = nor_map,
    .erase = nor_erase,
};
