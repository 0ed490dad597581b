/* Compile-time options of the portable core, each a macro a build may override with
 * -DOTK_CONFIG_...=value (like ESP-IDF's Kconfig values or littlefs's LFS_* limits).
 *
 * The defaults are the host's: every test runs with them, and a build that keeps them
 * behaves exactly as documented everywhere else. ports/cortex-m4 shows a lean set for a
 * microcontroller (docs/porting.md has the sizes each choice buys). */
#ifndef OTAKIT_CONFIG_H
#define OTAKIT_CONFIG_H

/* Highest log level compiled in (an otk_log_level_t value: 0 none .. 5 verbose), like
 * ESP-IDF's CONFIG_LOG_MAXIMUM_LEVEL. Log calls above it compile to nothing, their format
 * strings included; the run-time level (otk_log_set_level) still filters the rest.
 * Default: everything, so a host program can raise the level at run time. */
#ifndef OTK_CONFIG_LOG_MAX_LEVEL
#define OTK_CONFIG_LOG_MAX_LEVEL 5
#endif

/* 1: every rejection carries its one-line reason (otk_diag_t and the boot result's
 * why / reason strings). 0: the reasons compile out, with their format strings and the
 * printf machinery behind them; error codes and every decision stay the same, only the
 * text fields are empty. For a bootloader or app that has nowhere to show the text. */
#ifndef OTK_CONFIG_DIAG_TEXT
#define OTK_CONFIG_DIAG_TEXT 1
#endif

/* Bytes the core reads or copies per flash call into a buffer on its stack (image
 * verification, the OTA read-back, the copy to a final partition). The host's 4 KiB (one
 * sector) keeps read calls few; a small MCU stack wants 256 (one program page). Must be a
 * multiple of 256 (OTK_FLASH_PAGE_SIZE): the copy skips erased pages inside a chunk. */
#ifndef OTK_CONFIG_IO_CHUNK
#define OTK_CONFIG_IO_CHUNK 0x1000u
#endif

/* 1: the flash emulator can inject faults (power cuts, torn programs, partial erases) for
 * the power-loss sweeps. 0: arming a fault is recorded but none ever fires, and the code
 * that models them is left out: a device's real flash needs no simulated power cuts. */
#ifndef OTK_CONFIG_FLASH_FAULTS
#define OTK_CONFIG_FLASH_FAULTS 1
#endif

/* CRC-32 by slicing by 8 (8 KiB of tables, fast: the control path checks every frame and
 * every write's data on both ends) or with a 16-entry nibble table (64 bytes, slower;
 * enough for otadata). */
#ifndef OTK_CONFIG_CRC32_TABLE
#define OTK_CONFIG_CRC32_TABLE 1
#endif

/* 1: with the slicing tables, on x86-64 (GCC or clang), long inputs go through a
 * carry-less-multiply kernel (PCLMULQDQ, about six times slicing by 8) when the CPU has the
 * instructions, asked at run time; the rest of the library stays baseline x86-64. No effect
 * on other targets or with OTK_CONFIG_CRC32_TABLE 0. 0: the tables only. */
#ifndef OTK_CONFIG_CRC32_CLMUL
#define OTK_CONFIG_CRC32_CLMUL 1
#endif

/* The flash layer's "would this program set a bit?" check, run over every byte ever
 * programmed: 64-bit words in unrolled blocks (fast, about 400 bytes of text) or a byte
 * loop (small; for MCU builds). */
#ifndef OTK_CONFIG_FAST_NOR_CHECK
#define OTK_CONFIG_FAST_NOR_CHECK 1
#endif

/* 1: the data only the host's tools use is compiled in: esptool's display tables in the
 * chip table (memory maps for `image info`'s "Memory types", flash-frequency names shown
 * and parsed by the CLI) and gen_esp32part's binary reader (OTK_PARTITION_RULES_GEN*).
 * 0: those are left out: otk_image_chip_memory_types gives "", the frequency names are
 * unknown, the GEN rules answer ESP_ERR_NOT_SUPPORTED. Booting, image verification and
 * the OTA engine do not use any of it and are unchanged. */
#ifndef OTK_CONFIG_TOOLS
#define OTK_CONFIG_TOOLS 1
#endif

/* 1: Secure Boot v2 signatures are checked when a device has secure boot on (image.h):
 * the image's hash is carried on to the signature sector and its blocks are parsed and
 * verified through the crypto port. 0: that code is left out (about 1.5 KiB of text, and
 * a 256-byte hash context per verification) and a device with secure boot on boots and
 * installs nothing: the check fails closed, it is never skipped. For a bootloader whose
 * crypto backend has no public-key code anyway (the tiny one). */
#ifndef OTK_CONFIG_SECURE_BOOT
#define OTK_CONFIG_SECURE_BOOT 1
#endif

/* 1: a flash whose backend cannot map its bytes (otk_flash_map) still gets its partition
 * table read, into a 4 KiB buffer on the stack. 0: the table is only read through the
 * mapping (no copy, no buffer) and a backend without one gets ESP_ERR_NOT_SUPPORTED: for a
 * small stack over memory-mapped flash (an MCU's internal flash, a cached SPI window). */
#ifndef OTK_CONFIG_TABLE_READ_BUFFER
#define OTK_CONFIG_TABLE_READ_BUFFER 1
#endif

/* Names its arguments without evaluating or emitting them (they are the operand of
 * sizeof): text that a configuration compiles out goes through this, so a variable kept
 * only for a message still counts as used and no string reaches the image. The function
 * is never defined: an operand of sizeof is never called. */
int otk_unevaluated_(int first, ...);
#define OTK_UNEVALUATED(...) ((void)sizeof(otk_unevaluated_(0, __VA_ARGS__)))

#if OTK_CONFIG_IO_CHUNK % 0x100u != 0 || OTK_CONFIG_IO_CHUNK == 0
#error "OTK_CONFIG_IO_CHUNK must be a non-zero multiple of the 256-byte program page"
#endif

#endif
