/* Private to crc32.c and crc32_clmul.c (and their unit test): the portable routine, the
 * carry-less-multiply kernel and its constants. */
#ifndef OTAKIT_CRC32_INTERNAL_H
#define OTAKIT_CRC32_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/config.h"

/* The PCLMULQDQ kernel is compiled in only next to the slicing tables (it hands them the
 * head and tail; a build that chose the nibble table chose size) and only where GCC or
 * clang target x86-64. Whether the CPU has the instructions is a run-time question. */
#if OTK_CONFIG_CRC32_TABLE && OTK_CONFIG_CRC32_CLMUL && defined(__x86_64__) && \
    (defined(__GNUC__) || defined(__clang__))
#define OTK_CRC32_CLMUL 1
#else
#define OTK_CRC32_CLMUL 0
#endif

/* The shortest input given to the kernel: one 64-byte block. Its fixed cost (three folds
 * and the reduction, all dependent multiplies) is already half of what slicing by 8 spends
 * on 64 bytes (21 ns against 41 on the AMD EPYC it was measured on); below 64 the kernel
 * has nothing to do. Unaligned inputs cost it nothing measurable there, so no head is
 * peeled off to align them. */
#define OTK_CRC32_CLMUL_MIN 64u

/* Constants of the kernel, each x^n mod P bit-reflected (bit i is the coefficient of
 * x^(31-i), like the CRC register), named by n; test_crc32.c derives them again with a
 * bit-at-a-time routine. Why these n: crc32_clmul.c. */
#define OTK_CRC32_X575 0x653d9822u /* fold 512 bits ahead: a lane's first 64 bits */
#define OTK_CRC32_X511 0xcad38e8fu /* fold 512 bits ahead: a lane's last 64 bits */
#define OTK_CRC32_X191 0x65673b46u /* fold 128 bits ahead: first 64 bits */
#define OTK_CRC32_X127 0x9ba54c6fu /* fold 128 bits ahead: last 64 bits */
#define OTK_CRC32_X95 0xccaa009eu  /* reduce 128 bits to 96 */
#define OTK_CRC32_X63 0xb8bc6765u  /* reduce 96 bits to 64 */
/* Barrett reduction of 64 bits to 32: mu = floor(x^64 / P) and P itself, both of degree 32,
 * bit-reflected over 33 bits (bit i is the coefficient of x^(32-i)). */
#define OTK_CRC32_MU_R33 0x1f7011641ull
#define OTK_CRC32_P_R33 0x1db710641ull

/* otk_crc32_update without the fast path: slicing by 8 or the nibble table, per
 * OTK_CONFIG_CRC32_TABLE. Same contract (inverted on entry and exit). */
uint32_t otk_crc32_portable(uint32_t crc, const void *data, size_t len);

/* True when otk_crc32_update takes the PCLMULQDQ path for long inputs: the kernel is
 * compiled in and this CPU has PCLMULQDQ and SSE4.1. */
bool otk_crc32_clmul_available(void);

#if OTK_CRC32_CLMUL
/* The raw register (not inverted) after len bytes at data, len a non-zero multiple of 64.
 * Only when otk_crc32_clmul_available(). */
uint32_t otk_crc32_clmul_blocks(uint32_t reg, const void *data, size_t len);
#endif

#endif
