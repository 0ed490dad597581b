/* An example flash driver for the portable core: the otk_flash_backend_t a board supplies.
 *
 * It drives a NOR array that is memory-mapped for reading (like an MCU's internal flash or
 * an SPI NOR behind a cache window) and programmed and erased through a controller. Here
 * the "array" is RAM and the "controller" two small functions, so the example links and
 * runs anywhere; flash_driver_example.c marks the three places a real chip differs. */
#ifndef OTAKIT_FLASH_DRIVER_EXAMPLE_H
#define OTAKIT_FLASH_DRIVER_EXAMPLE_H

#include <stdint.h>

#include "otakit/flash.h"

typedef struct {
    uint8_t *base; /* where the array is mapped for reading */
    uint32_t size; /* bytes: a multiple of OTK_FLASH_SECTOR_SIZE */
} example_nor_t;

/* The operations over an example_nor_t (pass it as backend_ctx to otk_flash_init). */
extern const otk_flash_backend_t example_nor_backend;

#endif
