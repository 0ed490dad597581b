/* The flash layer: a NOR flash device with ESP-IDF's error codes.
 *
 * NOR rules, enforced here for every backend:
 *   - erased bytes read 0xFF;
 *   - program only clears bits (1 -> 0); a program that would set any bit fails with
 *     ESP_ERR_FLASH_OP_FAIL and changes nothing at all (the whole range is checked first);
 *   - erase works on whole 4 KiB sectors (offset: ESP_ERR_INVALID_ARG, size:
 *     ESP_ERR_INVALID_SIZE when not sector-aligned); aligned 64 KiB runs use block erase.
 * Range errors as ESP-IDF's partition layer: offset > size -> ESP_ERR_INVALID_ARG,
 * offset + len > size -> ESP_ERR_INVALID_SIZE.
 *
 * Physical operations are what a chip does: one page program per 256-byte page touched,
 * one sector erase per 4 KiB sector, one block erase per aligned 64 KiB block. Statistics,
 * the timing model and fault injection all count physical operations.
 *
 * Faults model a power cut: arm one at the Nth physical program/erase from now; when it
 * fires, that operation is not done, done, or done in part (see otk_flash_fault_kind_t),
 * the call returns ESP_ERR_FLASH_OP_FAIL, and every later call fails the same way until
 * otk_flash_power_on(). Everything random is drawn from the seed, so runs replay exactly.
 */
#ifndef OTAKIT_FLASH_H
#define OTAKIT_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "otakit/rand.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTK_FLASH_SECTOR_SIZE 0x1000u /* erase unit (SPI_FLASH_SEC_SIZE) */
#define OTK_FLASH_BLOCK_SIZE 0x10000u /* 64 KiB block erase unit */
#define OTK_FLASH_PAGE_SIZE 0x100u    /* program page of SPI NOR chips */
/* Largest device: ESP chips address at most 16 MiB per mapping, boards ship up to 128 MiB;
 * 256 MiB keeps every address within uint32_t with room to spare. */
#define OTK_FLASH_MAX_SIZE (256u * 1024u * 1024u)

/* Raw storage under the emulator. It stores bytes and knows no NOR rules. */
typedef struct {
    /* Copy len bytes at addr (already bounds-checked) into dst. */
    esp_err_t (*read)(void *ctx, uint32_t addr, void *dst, size_t len);
    /* Store len bytes at addr (already bounds-checked, already NOR-resolved: every bit
     * either stays or goes 1 -> 0, so on a NOR chip a plain program of src does it). Any
     * address and length: a chip with a larger program unit must handle the partial units
     * (docs/porting.md). */
    esp_err_t (*write)(void *ctx, uint32_t addr, const void *src, size_t len);
    /* Make stored bytes durable (file backend: msync). May be NULL. */
    esp_err_t (*sync)(void *ctx);
    /* Release the backend. May be NULL. */
    void (*close)(void *ctx);
    /* The stored bytes at addr as a read-only pointer valid until the next write or
     * close, like esp_partition_mmap; lets reads skip a copy. May be NULL (no mapping: a
     * chip behind SPI without a cache window, say). */
    const uint8_t *(*map)(void *ctx, uint32_t addr, size_t len);
    /* Erase one unit so that it reads 0xFF: [addr, addr + len) is one 4 KiB sector or one
     * 64 KiB block, aligned to its own size (already bounds-checked). For real NOR chips,
     * whose erase is not a write of 0xFF, and for stores that can fill 0xFF faster than
     * page-sized writes (the memory and file backends: one memset). May be NULL: the
     * emulator then stores 0xFF through write. */
    esp_err_t (*erase)(void *ctx, uint32_t addr, size_t len);
} otk_flash_backend_t;

typedef struct {
    uint64_t read_calls, read_bytes;
    uint64_t program_calls, program_pages, program_bytes;
    uint64_t erase_calls, erase_sectors, erase_blocks, erase_bytes;
    uint64_t rejected; /* calls refused: bounds, alignment, bit set by program, power off */
} otk_flash_stats_t;

/* Datasheet timing (W25Q128JV typical values). */
typedef struct {
    uint32_t sector_erase_us; /* tSE typ 45 ms */
    uint32_t block_erase_us;  /* tBE2 (64 KiB) typ 150 ms */
    uint32_t page_program_us; /* tPP typ 0.4 ms per page program */
    uint32_t read_bytes_per_sec;
} otk_flash_timing_t;

/* W25Q128JV typicals; reads at 40 MHz DIO = 10 MB/s, ESP-IDF's default flash mode. */
#define OTK_FLASH_TIMING_W25Q128JV ((otk_flash_timing_t){45000, 150000, 400, 10000000})

typedef enum {
    OTK_FLASH_FAULT_NONE = 0,
    OTK_FLASH_FAULT_CUT_BEFORE, /* power lost just before the operation: nothing changed */
    OTK_FLASH_FAULT_CUT_AFTER,  /* the operation completed, power lost right after it */
    OTK_FLASH_FAULT_TORN,       /* power lost during it: a program clears a seeded random
                                   subset of the bits it would clear (torn program); an erase
                                   sets a seeded random subset of the bits (partial erase) */
} otk_flash_fault_kind_t;

typedef enum {
    OTK_FLASH_OP_READ,
    OTK_FLASH_OP_PROGRAM_PAGE,
    OTK_FLASH_OP_ERASE_SECTOR,
    OTK_FLASH_OP_ERASE_BLOCK,
} otk_flash_op_t;

/* Called for every physical operation (and each read call) when set: for flash logs.
 * The operation a fault fires at is traced too, with result ESP_ERR_FLASH_OP_FAIL; calls
 * refused before reaching the chip (bounds, alignment, bit set, power off) are not. */
typedef void (*otk_flash_trace_t)(void *ctx, otk_flash_op_t op, uint32_t addr, uint32_t len,
                                  esp_err_t result);

typedef struct otk_flash {
    const otk_flash_backend_t *backend;
    void *backend_ctx;
    uint32_t size;
    otk_flash_stats_t stats;
    uint32_t *erase_counts; /* one per sector; owned by whoever set it (may be NULL) */
    otk_flash_timing_t timing;
    uint64_t elapsed_us;    /* virtual clock: modelled device time of all operations */
    uint64_t physical_ops;  /* page programs + sector/block erases attempted since init,
                               including the one a fault fired at (even CUT_BEFORE) */
    /* fault injection */
    otk_flash_fault_kind_t fault_kind;
    uint64_t fault_at_op;   /* the armed fault fires at the op that makes physical_ops
                               equal to this */
    otk_rand_t fault_rand;
    bool powered_off;
    otk_flash_trace_t trace;
    void *trace_ctx;
} otk_flash_t;

/* Initialise a device over a backend. size must be a non-zero multiple of the sector size
 * and at most OTK_FLASH_MAX_SIZE (else ESP_ERR_INVALID_SIZE); backend, read and write must
 * be set (else ESP_ERR_INVALID_ARG). erase_counts may be NULL or hold size/4096 counters;
 * they are left as they are, so wear can be carried over a re-init. Timing starts as
 * OTK_FLASH_TIMING_W25Q128JV (change flash->timing to model another chip). */
esp_err_t otk_flash_init(otk_flash_t *flash, const otk_flash_backend_t *backend,
                         void *backend_ctx, uint32_t size, uint32_t *erase_counts);

/* The constructors below allocate the device, its backend and its erase counters; release
 * all of them with otk_flash_destroy(). */
/* Memory backend: size bytes of 0xFF. */
esp_err_t otk_flash_mem_create(uint32_t size, otk_flash_t **out);
/* Memory backend holding a copy of another device's current bytes, read straight from its
 * backend (so it works while src is powered off, and src's stats do not move). The copy
 * has src's timing; stats, clock, erase counts and faults start at zero. */
esp_err_t otk_flash_mem_clone(otk_flash_t *src, otk_flash_t **out);
/* File backend, memory-mapped: the file is the flash and outlives the process.
 * create: make (or truncate) the file, size bytes of 0xFF. open: use an existing file,
 * whose length must be a non-zero multiple of 4 KiB (ESP_ERR_NOT_FOUND if missing,
 * ESP_ERR_INVALID_SIZE if its length is wrong). */
esp_err_t otk_flash_file_create(const char *path, uint32_t size, otk_flash_t **out);
esp_err_t otk_flash_file_open(const char *path, otk_flash_t **out);
/* Sync and release a device made by one of the constructors above. NULL is a no-op. */
void otk_flash_destroy(otk_flash_t *flash);

static inline uint32_t otk_flash_size(const otk_flash_t *flash)
{
    return flash->size;
}

/* read, program and erase: ESP_ERR_FLASH_OP_FAIL while powered off (the call is counted as
 * rejected), then the range and alignment errors above; a NULL buffer with len > 0 is
 * ESP_ERR_INVALID_ARG. len 0 succeeds and does nothing (nothing is counted either).
 * A program or erase split into several physical operations that is cut by a fault keeps
 * the operations done before the cut. */
esp_err_t otk_flash_read(otk_flash_t *flash, uint32_t addr, void *dst, size_t len);
esp_err_t otk_flash_program(otk_flash_t *flash, uint32_t addr, const void *src, size_t len);
esp_err_t otk_flash_erase(otk_flash_t *flash, uint32_t addr, size_t len);
/* Host-side durability (msync for files); works while powered off. */
esp_err_t otk_flash_sync(otk_flash_t *flash);
/* Read without a copy where the backend can map its bytes: *out points at len bytes of
 * flash, valid until the next program/erase. Same checks, statistics, timing and trace as
 * otk_flash_read. ESP_ERR_NOT_SUPPORTED when the backend has no mapping (then read). */
esp_err_t otk_flash_map(otk_flash_t *flash, uint32_t addr, size_t len, const uint8_t **out);

/* Statistics and the virtual clock. Reset zeroes stats and elapsed_us; erase counts (wear)
 * and physical_ops (which armed faults count against) are kept. */
void otk_flash_stats_reset(otk_flash_t *flash);
/* Erases of one sector (block erases count for each of their 16 sectors); 0 when the device
 * keeps no counters or the index is past the end. */
uint32_t otk_flash_sector_erase_count(const otk_flash_t *flash, uint32_t sector_index);

/* Fault injection. nth_op >= 1 counts physical program/erase operations from now (0 is
 * taken as 1). Arming replaces any armed fault; kind NONE disarms. A fault fires once, then
 * is disarmed. Reads never trigger a fault. */
void otk_flash_arm_fault(otk_flash_t *flash, uint64_t nth_op, otk_flash_fault_kind_t kind,
                         uint64_t seed);
void otk_flash_disarm_fault(otk_flash_t *flash);
static inline bool otk_flash_is_powered(const otk_flash_t *flash)
{
    return !flash->powered_off;
}
/* Power comes back: operations work again; an armed fault that has not fired stays armed. */
void otk_flash_power_on(otk_flash_t *flash);

void otk_flash_set_trace(otk_flash_t *flash, otk_flash_trace_t trace, void *ctx);

/* Short lowercase names for logs and command lines: "none", "cut-before", "cut-after",
 * "torn"; "read", "program-page", "erase-sector", "erase-block". "?" if out of range. */
const char *otk_flash_fault_kind_name(otk_flash_fault_kind_t kind);
const char *otk_flash_op_name(otk_flash_op_t op);
/* The inverse of otk_flash_fault_kind_name (exact match): ESP_OK, or ESP_ERR_NOT_FOUND. */
esp_err_t otk_flash_fault_kind_from_name(const char *name, otk_flash_fault_kind_t *out);

#ifdef __cplusplus
}
#endif
#endif
