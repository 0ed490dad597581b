/* The flash emulator: NOR rules, error codes, physical operation split, statistics, the
 * virtual clock, fault injection and both backends. */
#define _DEFAULT_SOURCE
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/flash.h"
#include "otakit/log.h"
#include "otakit/rand.h"

/* 256 KiB: room for four 64 KiB blocks, so block and sector erases both show up. */
#define DEV_SIZE 0x40000u
#define SECTOR OTK_FLASH_SECTOR_SIZE
#define BLOCK OTK_FLASH_BLOCK_SIZE
#define PAGE OTK_FLASH_PAGE_SIZE

/* W25Q128JV datasheet typicals, as the default timing model. */
#define SECTOR_ERASE_US 45000u
#define BLOCK_ERASE_US 150000u
#define PAGE_PROGRAM_US 400u

static otk_flash_t *new_dev(void)
{
    otk_flash_t *f = NULL;
    assert_int_equal(otk_flash_mem_create(DEV_SIZE, &f), ESP_OK);
    assert_non_null(f);
    return f;
}

/* The whole device, read with the public API (the device must be powered). */
static uint8_t *snapshot(otk_flash_t *f)
{
    uint8_t *bytes = malloc(f->size);
    assert_non_null(bytes);
    assert_int_equal(otk_flash_read(f, 0, bytes, f->size), ESP_OK);
    return bytes;
}

static void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
    otk_rand_t r;
    otk_rand_seed(&r, seed);
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)otk_rand_next(&r);
    }
}

static void assert_all(const uint8_t *buf, size_t len, uint8_t value)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != value) {
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, buf[i], value);
        }
    }
}

static void assert_range(otk_flash_t *f, uint32_t addr, size_t len, uint8_t value)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(otk_flash_read(f, addr, buf, len), ESP_OK);
    assert_all(buf, len, value);
    free(buf);
}

/* True when every 1 bit of a is also 1 in b, byte by byte. */
static int bits_within(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((a[i] & (uint8_t)~b[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

/* ---- NOR rules ------------------------------------------------------------------------ */

static void test_erased_reads_ff(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    assert_int_equal(otk_flash_size(f), DEV_SIZE);
    assert_true(otk_flash_is_powered(f));
    uint8_t *all = snapshot(f);
    assert_all(all, DEV_SIZE, 0xFF);
    free(all);
    otk_flash_destroy(f);
}

static void test_create_rejects_bad_sizes(void **state)
{
    (void)state;
    otk_flash_t *f = NULL;
    assert_int_equal(otk_flash_mem_create(0, &f), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_mem_create(SECTOR - 1, &f), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_mem_create(SECTOR + SECTOR / 2, &f), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_mem_create(OTK_FLASH_MAX_SIZE + SECTOR, &f),
                     ESP_ERR_INVALID_SIZE);
    assert_null(f);
    assert_int_equal(otk_flash_mem_create(SECTOR, NULL), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(NULL); /* a no-op */
}

static void test_program_clears_bits(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    const uint8_t first[4] = {0xF0, 0x0F, 0xAA, 0x00};
    const uint8_t second[4] = {0x30, 0x0F, 0x88, 0x00}; /* only clears more bits */
    uint8_t got[4];
    assert_int_equal(otk_flash_program(f, 0x100, first, sizeof first), ESP_OK);
    assert_int_equal(otk_flash_read(f, 0x100, got, sizeof got), ESP_OK);
    assert_memory_equal(got, first, sizeof got);
    assert_int_equal(otk_flash_program(f, 0x100, second, sizeof second), ESP_OK);
    assert_int_equal(otk_flash_read(f, 0x100, got, sizeof got), ESP_OK);
    assert_memory_equal(got, second, sizeof got);
    /* The same bytes again are a valid program (no bit goes 0 -> 1). */
    assert_int_equal(otk_flash_program(f, 0x100, second, sizeof second), ESP_OK);
    assert_range(f, 0, 0x100, 0xFF);
    assert_range(f, 0x104, 0x100, 0xFF);
    assert_int_equal(f->stats.rejected, 0);
    otk_flash_destroy(f);
}

static void test_program_setting_a_bit_changes_nothing(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t old[600];
    fill_random(old, sizeof old, 1);
    old[599] = 0x00;
    assert_int_equal(otk_flash_program(f, 0x1F0, old, sizeof old), ESP_OK);
    otk_flash_stats_t before = f->stats;
    uint64_t clock = f->elapsed_us;

    /* Every byte but the last would be fine; the last needs a 0 -> 1. */
    uint8_t next[600];
    for (size_t i = 0; i < sizeof next; i++) {
        next[i] = old[i] & 0x11;
    }
    next[599] = 0x01;
    assert_int_equal(otk_flash_program(f, 0x1F0, next, sizeof next), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(f->elapsed_us, clock); /* no page was programmed */
    assert_int_equal(f->stats.rejected, before.rejected + 1);
    assert_int_equal(f->stats.program_calls, before.program_calls);
    assert_int_equal(f->stats.program_pages, before.program_pages);

    uint8_t got[600];
    assert_int_equal(otk_flash_read(f, 0x1F0, got, sizeof got), ESP_OK);
    assert_memory_equal(got, old, sizeof got);
    assert_true(otk_flash_is_powered(f));
    otk_flash_destroy(f);
}

static void test_range_errors(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t buf[2 * SECTOR];
    memset(buf, 0xFF, sizeof buf);

    assert_int_equal(otk_flash_read(f, DEV_SIZE + 1, buf, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_read(f, UINT32_MAX, buf, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_read(f, DEV_SIZE - 1, buf, 2), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_read(f, 1, buf, SIZE_MAX), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_read(f, DEV_SIZE - 1, buf, 1), ESP_OK);
    assert_int_equal(otk_flash_read(f, DEV_SIZE, buf, 0), ESP_OK);
    assert_int_equal(otk_flash_read(f, 0, NULL, 1), ESP_ERR_INVALID_ARG);

    assert_int_equal(otk_flash_program(f, DEV_SIZE + 1, buf, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_program(f, DEV_SIZE - 4, buf, 5), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_program(f, PAGE, buf, SIZE_MAX - PAGE + 1),
                     ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_program(f, 0, NULL, 1), ESP_ERR_INVALID_ARG);

    assert_int_equal(otk_flash_erase(f, DEV_SIZE + SECTOR, SECTOR), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_erase(f, DEV_SIZE - SECTOR, 2 * SECTOR), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_erase(f, SECTOR, SIZE_MAX - SECTOR + 1), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_erase(f, DEV_SIZE, 0), ESP_OK);

    assert_int_equal(f->stats.rejected, 12);
    assert_int_equal(f->stats.read_calls, 1);
    assert_int_equal(f->stats.program_calls, 0);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_int_equal(otk_flash_read(NULL, 0, buf, 1), ESP_ERR_INVALID_ARG);
    otk_flash_destroy(f);
}

static void test_erase_alignment_errors(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    assert_int_equal(otk_flash_erase(f, 1, SECTOR), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_erase(f, SECTOR / 2, 0), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_erase(f, 0, 1), ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_erase(f, SECTOR, SECTOR + PAGE), ESP_ERR_INVALID_SIZE);
    assert_int_equal(f->stats.rejected, 4);
    assert_int_equal(f->stats.erase_calls, 0);
    assert_int_equal(f->physical_ops, 0);
    otk_flash_destroy(f);
}

static void test_erase_restores_ff_in_range_only(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t zeros[3 * SECTOR];
    memset(zeros, 0, sizeof zeros);
    assert_int_equal(otk_flash_program(f, 0, zeros, sizeof zeros), ESP_OK);
    assert_int_equal(otk_flash_erase(f, SECTOR, SECTOR), ESP_OK);
    assert_range(f, 0, SECTOR, 0x00);
    assert_range(f, SECTOR, SECTOR, 0xFF);
    assert_range(f, 2 * SECTOR, SECTOR, 0x00);
    otk_flash_destroy(f);
}

static void test_len_zero_does_nothing(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    assert_int_equal(otk_flash_read(f, 0, NULL, 0), ESP_OK);
    assert_int_equal(otk_flash_program(f, 7, NULL, 0), ESP_OK);
    assert_int_equal(otk_flash_erase(f, SECTOR, 0), ESP_OK);
    otk_flash_stats_t zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&f->stats, &zero, sizeof zero);
    assert_int_equal(f->elapsed_us, 0);
    assert_int_equal(f->physical_ops, 0);
    otk_flash_destroy(f);
}

/* ---- physical operations, statistics, virtual clock ------------------------------------ */

static void test_program_counts_pages_and_time(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t data[1000];
    memset(data, 0x5A, sizeof data);
    /* 200..1199 touches pages 0..4: five page programs. */
    assert_int_equal(otk_flash_program(f, 200, data, sizeof data), ESP_OK);
    assert_int_equal(f->stats.program_calls, 1);
    assert_int_equal(f->stats.program_pages, 5);
    assert_int_equal(f->stats.program_bytes, 1000);
    assert_int_equal(f->elapsed_us, 5 * PAGE_PROGRAM_US);
    assert_int_equal(f->physical_ops, 5);
    /* Exactly one page, aligned: one page program. */
    uint8_t page[PAGE];
    memset(page, 0, sizeof page);
    assert_int_equal(otk_flash_program(f, 4 * PAGE + 0x1000, page, sizeof page), ESP_OK);
    assert_int_equal(f->stats.program_pages, 6);
    assert_int_equal(f->elapsed_us, 6 * PAGE_PROGRAM_US);
    otk_flash_destroy(f);
}

static void test_erase_splits_into_blocks_and_sectors(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    /* 64K-aligned 128K: two block erases. */
    assert_int_equal(otk_flash_erase(f, BLOCK, 2 * BLOCK), ESP_OK);
    assert_int_equal(f->stats.erase_blocks, 2);
    assert_int_equal(f->stats.erase_sectors, 0);
    assert_int_equal(f->elapsed_us, 2 * BLOCK_ERASE_US);
    otk_flash_stats_reset(f);

    assert_int_equal(otk_flash_erase(f, 3 * SECTOR, SECTOR), ESP_OK);
    assert_int_equal(f->stats.erase_sectors, 1);
    assert_int_equal(f->elapsed_us, SECTOR_ERASE_US);
    otk_flash_stats_reset(f);

    /* Ragged ends: sector at 0xF000, block at 0x10000, sector at 0x20000. */
    assert_int_equal(otk_flash_erase(f, BLOCK - SECTOR, BLOCK + 2 * SECTOR), ESP_OK);
    assert_int_equal(f->stats.erase_calls, 1);
    assert_int_equal(f->stats.erase_blocks, 1);
    assert_int_equal(f->stats.erase_sectors, 2);
    assert_int_equal(f->stats.erase_bytes, BLOCK + 2 * SECTOR);
    assert_int_equal(f->elapsed_us, BLOCK_ERASE_US + 2 * SECTOR_ERASE_US);
    otk_flash_stats_reset(f);

    /* Aligned but shorter than a block: sector erases only. */
    assert_int_equal(otk_flash_erase(f, 0, BLOCK - SECTOR), ESP_OK);
    assert_int_equal(f->stats.erase_blocks, 0);
    assert_int_equal(f->stats.erase_sectors, 15);
    assert_int_equal(f->physical_ops, 2 + 1 + 3 + 15);
    otk_flash_destroy(f);
}

static void test_erase_counts_per_sector(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    assert_int_equal(otk_flash_erase(f, 0, BLOCK), ESP_OK);        /* sectors 0..15 */
    assert_int_equal(otk_flash_erase(f, 2 * SECTOR, SECTOR), ESP_OK); /* sector 2 again */
    assert_int_equal(otk_flash_erase(f, DEV_SIZE - SECTOR, SECTOR), ESP_OK);
    for (uint32_t s = 0; s < 16; s++) {
        assert_int_equal(otk_flash_sector_erase_count(f, s), s == 2 ? 2 : 1);
    }
    assert_int_equal(otk_flash_sector_erase_count(f, 16), 0);
    assert_int_equal(otk_flash_sector_erase_count(f, DEV_SIZE / SECTOR - 1), 1);
    assert_int_equal(otk_flash_sector_erase_count(f, DEV_SIZE / SECTOR), 0); /* past end */
    /* Wear survives a stats reset. */
    otk_flash_stats_reset(f);
    assert_int_equal(otk_flash_sector_erase_count(f, 2), 2);
    otk_flash_destroy(f);
}

static void test_read_time_rounds_up(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t buf[SECTOR];
    /* 10 MB/s: 10 bytes = 1 us exactly; 4096 bytes = 409.6 us -> 410. */
    assert_int_equal(otk_flash_read(f, 0, buf, 10), ESP_OK);
    assert_int_equal(f->elapsed_us, 1);
    assert_int_equal(otk_flash_read(f, 0, buf, sizeof buf), ESP_OK);
    assert_int_equal(f->elapsed_us, 411);
    assert_int_equal(otk_flash_read(f, 0, buf, 1), ESP_OK);
    assert_int_equal(f->elapsed_us, 412);
    assert_int_equal(f->stats.read_calls, 3);
    assert_int_equal(f->stats.read_bytes, 10 + SECTOR + 1);
    assert_int_equal(f->physical_ops, 0); /* reads are not what faults count */
    otk_flash_stats_reset(f);
    assert_int_equal(f->elapsed_us, 0);
    assert_int_equal(f->stats.read_calls, 0);
    /* Another chip: a different timing model is honoured. */
    f->timing.read_bytes_per_sec = 1000;
    assert_int_equal(otk_flash_read(f, 0, buf, 3), ESP_OK);
    assert_int_equal(f->elapsed_us, 3000);
    otk_flash_destroy(f);
}

typedef struct {
    otk_flash_op_t op;
    uint32_t addr, len;
    esp_err_t result;
} trace_entry_t;

#define TRACE_MAX 64

typedef struct {
    trace_entry_t entries[TRACE_MAX];
    size_t count;
} trace_log_t;

static void record_trace(void *ctx, otk_flash_op_t op, uint32_t addr, uint32_t len,
                         esp_err_t result)
{
    trace_log_t *log = ctx;
    assert_true(log->count < TRACE_MAX);
    log->entries[log->count++] = (trace_entry_t){op, addr, len, result};
}

static void assert_trace(const trace_log_t *log, size_t i, otk_flash_op_t op, uint32_t addr,
                         uint32_t len, esp_err_t result)
{
    assert_true(i < log->count);
    assert_int_equal(log->entries[i].op, op);
    assert_int_equal(log->entries[i].addr, addr);
    assert_int_equal(log->entries[i].len, len);
    assert_int_equal(log->entries[i].result, result);
}

static void test_trace_records_physical_ops(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    trace_log_t log = {.count = 0};
    otk_flash_set_trace(f, record_trace, &log);
    uint8_t data[1000];
    memset(data, 0, sizeof data);
    assert_int_equal(otk_flash_program(f, 200, data, sizeof data), ESP_OK);
    assert_int_equal(log.count, 5);
    assert_trace(&log, 0, OTK_FLASH_OP_PROGRAM_PAGE, 200, 56, ESP_OK);
    assert_trace(&log, 1, OTK_FLASH_OP_PROGRAM_PAGE, 256, 256, ESP_OK);
    assert_trace(&log, 2, OTK_FLASH_OP_PROGRAM_PAGE, 512, 256, ESP_OK);
    assert_trace(&log, 3, OTK_FLASH_OP_PROGRAM_PAGE, 768, 256, ESP_OK);
    assert_trace(&log, 4, OTK_FLASH_OP_PROGRAM_PAGE, 1024, 176, ESP_OK);

    assert_int_equal(otk_flash_read(f, 100, data, 30), ESP_OK);
    assert_trace(&log, 5, OTK_FLASH_OP_READ, 100, 30, ESP_OK);

    assert_int_equal(otk_flash_erase(f, BLOCK - SECTOR, BLOCK + SECTOR), ESP_OK);
    assert_int_equal(log.count, 8);
    assert_trace(&log, 6, OTK_FLASH_OP_ERASE_SECTOR, BLOCK - SECTOR, SECTOR, ESP_OK);
    assert_trace(&log, 7, OTK_FLASH_OP_ERASE_BLOCK, BLOCK, BLOCK, ESP_OK);

    /* Refused calls never reach the chip, so they are not traced. */
    assert_int_equal(otk_flash_erase(f, 1, SECTOR), ESP_ERR_INVALID_ARG);
    assert_int_equal(log.count, 8);

    /* The operation a fault fires at is traced with the failure. */
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_BEFORE, 1);
    assert_int_equal(otk_flash_erase(f, 0, SECTOR), ESP_ERR_FLASH_OP_FAIL);
    assert_trace(&log, 8, OTK_FLASH_OP_ERASE_SECTOR, 0, SECTOR, ESP_ERR_FLASH_OP_FAIL);
    otk_flash_set_trace(f, NULL, NULL);
    otk_flash_destroy(f);
}

/* ---- fault injection ------------------------------------------------------------------ */

/* A three-page program of zeros at 0 with a fault at its second page. */
static otk_flash_t *program_cut_at_second_page(otk_flash_fault_kind_t kind)
{
    otk_flash_t *f = new_dev();
    uint8_t zeros[3 * PAGE];
    memset(zeros, 0, sizeof zeros);
    otk_flash_arm_fault(f, 2, kind, 99);
    assert_int_equal(otk_flash_program(f, 0, zeros, sizeof zeros), ESP_ERR_FLASH_OP_FAIL);
    assert_false(otk_flash_is_powered(f));
    assert_int_equal(f->physical_ops, 2);
    otk_flash_power_on(f);
    return f;
}

static void test_fault_cut_before_program(void **state)
{
    (void)state;
    otk_flash_t *f = program_cut_at_second_page(OTK_FLASH_FAULT_CUT_BEFORE);
    assert_int_equal(f->stats.program_calls, 1);
    assert_int_equal(f->stats.program_pages, 1);
    assert_int_equal(f->elapsed_us, PAGE_PROGRAM_US); /* the cut page took no time */
    assert_range(f, 0, PAGE, 0x00);         /* the first page was its own operation */
    assert_range(f, PAGE, 2 * PAGE, 0xFF);  /* the cut page and the rest: untouched */
    otk_flash_destroy(f);
}

static void test_fault_cut_after_program(void **state)
{
    (void)state;
    otk_flash_t *f = program_cut_at_second_page(OTK_FLASH_FAULT_CUT_AFTER);
    assert_int_equal(f->stats.program_pages, 2);
    assert_int_equal(f->elapsed_us, 2 * PAGE_PROGRAM_US);
    assert_range(f, 0, 2 * PAGE, 0x00);     /* the cut page was done */
    assert_range(f, 2 * PAGE, PAGE, 0xFF);  /* the third page never started */
    otk_flash_destroy(f);
}

/* Old contents: random bytes over erased flash. New: old with more bits cleared. */
static void make_old_and_new(uint8_t *old, uint8_t *next, size_t len, uint64_t seed)
{
    fill_random(old, len, seed);
    fill_random(next, len, seed + 1);
    for (size_t i = 0; i < len; i++) {
        next[i] &= old[i];
    }
}

static void test_fault_torn_program(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t old[2 * PAGE], next[2 * PAGE], got[2 * PAGE];
    make_old_and_new(old, next, sizeof old, 5);
    assert_int_equal(otk_flash_program(f, 0x2000, old, sizeof old), ESP_OK);

    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_TORN, 1234);
    assert_int_equal(otk_flash_program(f, 0x2000, next, sizeof next), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);
    assert_int_equal(otk_flash_read(f, 0x2000, got, sizeof got), ESP_OK);
    /* Torn page: new <= result <= old in 1-bits, and neither extreme. */
    assert_true(bits_within(next, got, PAGE));
    assert_true(bits_within(got, old, PAGE));
    assert_memory_not_equal(got, old, PAGE);
    assert_memory_not_equal(got, next, PAGE);
    /* The second page was a separate operation that never ran. */
    assert_memory_equal(got + PAGE, old + PAGE, PAGE);
    assert_range(f, 0x2000 - PAGE, PAGE, 0xFF);
    otk_flash_destroy(f);
}

static void test_fault_counts_across_calls(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t zeros[3 * PAGE];
    memset(zeros, 0, sizeof zeros);
    assert_int_equal(otk_flash_program(f, 0, zeros, PAGE), ESP_OK); /* before arming */
    otk_flash_arm_fault(f, 3, OTK_FLASH_FAULT_CUT_BEFORE, 0);
    uint8_t buf[16];
    assert_int_equal(otk_flash_read(f, 0, buf, sizeof buf), ESP_OK); /* reads do not count */
    assert_int_equal(otk_flash_program(f, SECTOR, zeros, PAGE), ESP_OK);        /* op 1 */
    assert_int_equal(otk_flash_program(f, 2 * SECTOR, zeros, 3 * PAGE),          /* 2, 3 */
                     ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);
    assert_range(f, 2 * SECTOR, PAGE, 0x00);
    assert_range(f, 2 * SECTOR + PAGE, 2 * PAGE, 0xFF);
    otk_flash_destroy(f);
}

/* Two sectors of zeros at 0, then a two-sector erase with a fault at its nth sector. */
static otk_flash_t *erase_cut(uint64_t nth, otk_flash_fault_kind_t kind)
{
    otk_flash_t *f = new_dev();
    uint8_t zeros[2 * SECTOR];
    memset(zeros, 0, sizeof zeros);
    assert_int_equal(otk_flash_program(f, 0, zeros, sizeof zeros), ESP_OK);
    otk_flash_arm_fault(f, nth, kind, 77);
    assert_int_equal(otk_flash_erase(f, 0, 2 * SECTOR), ESP_ERR_FLASH_OP_FAIL);
    assert_false(otk_flash_is_powered(f));
    otk_flash_power_on(f);
    return f;
}

static void test_fault_cut_before_erase(void **state)
{
    (void)state;
    otk_flash_t *f = erase_cut(2, OTK_FLASH_FAULT_CUT_BEFORE);
    assert_int_equal(f->stats.erase_sectors, 1);
    assert_int_equal(f->elapsed_us, 2 * SECTOR / PAGE * PAGE_PROGRAM_US + SECTOR_ERASE_US);
    assert_range(f, 0, SECTOR, 0xFF);
    assert_range(f, SECTOR, SECTOR, 0x00);
    assert_int_equal(otk_flash_sector_erase_count(f, 0), 1);
    assert_int_equal(otk_flash_sector_erase_count(f, 1), 0);
    otk_flash_destroy(f);
}

static void test_fault_cut_after_erase(void **state)
{
    (void)state;
    otk_flash_t *f = erase_cut(1, OTK_FLASH_FAULT_CUT_AFTER);
    assert_int_equal(f->stats.erase_sectors, 1);
    assert_int_equal(f->elapsed_us, 2 * SECTOR / PAGE * PAGE_PROGRAM_US + SECTOR_ERASE_US);
    assert_range(f, 0, SECTOR, 0xFF);
    assert_range(f, SECTOR, SECTOR, 0x00);
    assert_int_equal(otk_flash_sector_erase_count(f, 0), 1);
    assert_int_equal(otk_flash_sector_erase_count(f, 1), 0);
    otk_flash_destroy(f);
}

/* A partial erase of one unit (sector or block) holding random bytes. */
static void check_torn_erase(uint32_t addr, uint32_t len)
{
    otk_flash_t *f = new_dev();
    uint8_t *old = malloc(len), *got = malloc(len), *ones = malloc(len);
    assert_non_null(old);
    assert_non_null(got);
    assert_non_null(ones);
    fill_random(old, len, addr);
    memset(ones, 0xFF, len);
    assert_int_equal(otk_flash_program(f, addr, old, len), ESP_OK);

    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_TORN, 4321);
    assert_int_equal(otk_flash_erase(f, addr, len), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);
    assert_int_equal(otk_flash_read(f, addr, got, len), ESP_OK);
    assert_true(bits_within(old, got, len)); /* bits only went 0 -> 1 */
    assert_memory_not_equal(got, old, len);
    assert_memory_not_equal(got, ones, len);
    assert_int_equal(otk_flash_sector_erase_count(f, addr / SECTOR), 1); /* it was wear */
    /* Neighbours untouched. */
    assert_range(f, addr + len, SECTOR, 0xFF);
    free(old);
    free(got);
    free(ones);
    otk_flash_destroy(f);
}

static void test_fault_torn_erase(void **state)
{
    (void)state;
    check_torn_erase(SECTOR, SECTOR);
    check_torn_erase(BLOCK, BLOCK);
}

static void test_everything_fails_until_power_on(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t byte = 0x00, buf[4];
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_AFTER, 0);
    assert_int_equal(otk_flash_program(f, 0, &byte, 1), ESP_ERR_FLASH_OP_FAIL);
    assert_false(otk_flash_is_powered(f));
    uint64_t rejected = f->stats.rejected;
    uint64_t ops = f->physical_ops;

    assert_int_equal(otk_flash_read(f, 0, buf, sizeof buf), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(otk_flash_program(f, 8, &byte, 1), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(otk_flash_erase(f, 0, SECTOR), ESP_ERR_FLASH_OP_FAIL);
    /* Even calls that would be refused for their arguments: no power, no answer. */
    assert_int_equal(otk_flash_erase(f, 1, 1), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(otk_flash_read(f, 0, buf, 0), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(f->stats.rejected, rejected + 5);
    assert_int_equal(f->physical_ops, ops);
    assert_int_equal(otk_flash_sync(f), ESP_OK); /* host-side, not a chip operation */

    otk_flash_power_on(f);
    assert_true(otk_flash_is_powered(f));
    assert_int_equal(otk_flash_read(f, 0, buf, sizeof buf), ESP_OK);
    assert_int_equal(buf[0], 0x00); /* CUT_AFTER: the program was done */
    assert_int_equal(buf[1], 0xFF);
    /* The fault fired once and is gone. */
    assert_int_equal(otk_flash_program(f, 8, &byte, 1), ESP_OK);
    otk_flash_destroy(f);
}

static void test_power_on_keeps_unfired_fault_and_disarm(void **state)
{
    (void)state;
    otk_flash_t *f = new_dev();
    uint8_t byte = 0x00;
    otk_flash_arm_fault(f, 2, OTK_FLASH_FAULT_CUT_BEFORE, 0);
    assert_int_equal(otk_flash_program(f, 0, &byte, 1), ESP_OK);
    otk_flash_power_on(f); /* power was on anyway: the fault stays armed */
    assert_int_equal(otk_flash_program(f, 1, &byte, 1), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);

    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_TORN, 0);
    otk_flash_disarm_fault(f);
    assert_int_equal(otk_flash_program(f, 2, &byte, 1), ESP_OK);

    /* Re-arming replaces; nth 0 is taken as the very next operation. */
    otk_flash_arm_fault(f, 5, OTK_FLASH_FAULT_TORN, 0);
    otk_flash_arm_fault(f, 0, OTK_FLASH_FAULT_CUT_BEFORE, 0);
    assert_int_equal(otk_flash_program(f, 3, &byte, 1), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);
    uint8_t got[4];
    assert_int_equal(otk_flash_read(f, 0, got, sizeof got), ESP_OK);
    const uint8_t expect[4] = {0x00, 0xFF, 0x00, 0xFF};
    assert_memory_equal(got, expect, sizeof got);
    /* A fault absurdly far away never fires (no wrap-around). */
    otk_flash_arm_fault(f, UINT64_MAX, OTK_FLASH_FAULT_CUT_BEFORE, 0);
    assert_int_equal(otk_flash_erase(f, 0, BLOCK), ESP_OK);
    otk_flash_destroy(f);
}

/* The bytes of base after a torn program of one page and a torn block erase, both with
 * the given seed, done on a clone of base. */
static uint8_t *torn_outcome(otk_flash_t *base, uint64_t seed)
{
    otk_flash_t *f = NULL;
    assert_int_equal(otk_flash_mem_clone(base, &f), ESP_OK);
    uint8_t next[PAGE];
    memset(next, 0, sizeof next);
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_TORN, seed);
    assert_int_equal(otk_flash_program(f, 0, next, sizeof next), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_TORN, seed);
    assert_int_equal(otk_flash_erase(f, BLOCK, BLOCK), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_power_on(f);
    uint8_t *bytes = snapshot(f);
    otk_flash_destroy(f);
    return bytes;
}

static void test_faults_replay_from_seed(void **state)
{
    (void)state;
    otk_flash_t *base = new_dev();
    uint8_t *pattern = malloc(BLOCK);
    assert_non_null(pattern);
    fill_random(pattern, BLOCK, 11);
    assert_int_equal(otk_flash_program(base, BLOCK, pattern, BLOCK), ESP_OK);
    free(pattern);

    uint8_t *a = torn_outcome(base, 42);
    uint8_t *b = torn_outcome(base, 42);
    uint8_t *c = torn_outcome(base, 43);
    assert_memory_equal(a, b, DEV_SIZE);
    assert_memory_not_equal(a, c, PAGE);                  /* torn page differs */
    assert_memory_not_equal(a + BLOCK, c + BLOCK, BLOCK); /* partial erase differs */
    free(a);
    free(b);
    free(c);
    otk_flash_destroy(base);
}

/* ---- backends ------------------------------------------------------------------------- */

static void test_mem_clone(void **state)
{
    (void)state;
    otk_flash_t *src = new_dev();
    uint8_t data[300];
    fill_random(data, sizeof data, 3);
    assert_int_equal(otk_flash_program(src, 0x3000, data, sizeof data), ESP_OK);
    src->timing.page_program_us = 700;

    /* Cloning works while the source is powered off and does not touch its stats. */
    otk_flash_arm_fault(src, 1, OTK_FLASH_FAULT_CUT_BEFORE, 0);
    uint8_t byte = 0;
    assert_int_equal(otk_flash_program(src, 0, &byte, 1), ESP_ERR_FLASH_OP_FAIL);
    otk_flash_stats_t src_stats = src->stats;
    otk_flash_t *copy = NULL;
    assert_int_equal(otk_flash_mem_clone(src, &copy), ESP_OK);
    assert_memory_equal(&src->stats, &src_stats, sizeof src_stats);
    otk_flash_power_on(src);

    assert_int_equal(otk_flash_size(copy), DEV_SIZE);
    assert_int_equal(copy->stats.program_calls, 0);
    assert_int_equal(copy->elapsed_us, 0);
    assert_int_equal(copy->timing.page_program_us, 700);
    assert_true(otk_flash_is_powered(copy));
    uint8_t *a = snapshot(src), *b = snapshot(copy);
    assert_memory_equal(a, b, DEV_SIZE);
    free(a);
    free(b);

    /* Independent afterwards. */
    assert_int_equal(otk_flash_erase(copy, 0x3000, SECTOR), ESP_OK);
    uint8_t got[300];
    assert_int_equal(otk_flash_read(src, 0x3000, got, sizeof got), ESP_OK);
    assert_memory_equal(got, data, sizeof got);
    otk_flash_destroy(copy);
    otk_flash_destroy(src);
}

/* A backend of the caller's own, to check the contract seen from the backend side. */
typedef struct {
    uint8_t bytes[2 * SECTOR];
    unsigned writes;
} user_store_t;

static esp_err_t user_read(void *ctx, uint32_t addr, void *dst, size_t len)
{
    user_store_t *s = ctx;
    memcpy(dst, s->bytes + addr, len);
    return ESP_OK;
}

static esp_err_t user_write(void *ctx, uint32_t addr, const void *src, size_t len)
{
    user_store_t *s = ctx;
    memcpy(s->bytes + addr, src, len);
    s->writes++;
    return ESP_OK;
}

static void test_init_over_user_backend(void **state)
{
    (void)state;
    static user_store_t store;
    memset(store.bytes, 0xFF, sizeof store.bytes);
    const otk_flash_backend_t backend = {user_read, user_write, NULL, NULL, NULL, NULL};
    uint32_t counts[2] = {7, 0}; /* wear from an earlier life */
    otk_flash_t f;
    assert_int_equal(otk_flash_init(NULL, &backend, &store, sizeof store.bytes, counts),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_init(&f, NULL, &store, sizeof store.bytes, counts),
                     ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_flash_init(&f, &backend, &store, SECTOR + 1, counts),
                     ESP_ERR_INVALID_SIZE);
    assert_int_equal(otk_flash_init(&f, &backend, &store, sizeof store.bytes, counts), ESP_OK);
    assert_int_equal(f.timing.sector_erase_us, SECTOR_ERASE_US);

    const uint8_t bad = 0x0F, good = 0xF0;
    assert_int_equal(otk_flash_program(&f, 0, &good, 1), ESP_OK);
    assert_int_equal(otk_flash_program(&f, 0, &bad, 1), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(store.writes, 1); /* the refused program never reached the backend */
    assert_int_equal(store.bytes[0], 0xF0);
    assert_int_equal(otk_flash_erase(&f, 0, SECTOR), ESP_OK);
    assert_int_equal(counts[0], 8);
    assert_int_equal(otk_flash_sector_erase_count(&f, 0), 8);
    assert_int_equal(otk_flash_sync(&f), ESP_OK); /* no sync hook: nothing to do */
    const uint8_t *view = NULL;
    assert_int_equal(otk_flash_map(&f, 0, 16, &view), ESP_ERR_NOT_SUPPORTED); /* no map hook */
}

/* A chip's driver with its own erase (otk_flash_backend_t.erase): the emulator hands it
 * whole aligned units (a block where a call covers one, sectors for the rest) and never
 * writes 0xFF through write; a driver error comes back unchanged. */
typedef struct {
    uint8_t bytes[BLOCK + 2 * SECTOR];
    uint32_t erase_addr[4], erase_len[4];
    unsigned erases, writes;
    esp_err_t erase_result;
} chip_store_t;

static esp_err_t chip_read(void *ctx, uint32_t addr, void *dst, size_t len)
{
    chip_store_t *c = ctx;
    memcpy(dst, c->bytes + addr, len);
    return ESP_OK;
}

static esp_err_t chip_write(void *ctx, uint32_t addr, const void *src, size_t len)
{
    chip_store_t *c = ctx;
    memcpy(c->bytes + addr, src, len);
    c->writes++;
    return ESP_OK;
}

static esp_err_t chip_erase(void *ctx, uint32_t addr, size_t len)
{
    chip_store_t *c = ctx;
    if (c->erases < 4) {
        c->erase_addr[c->erases] = addr;
        c->erase_len[c->erases] = (uint32_t)len;
    }
    c->erases++;
    if (c->erase_result == ESP_OK) {
        memset(c->bytes + addr, 0xFF, len);
    }
    return c->erase_result;
}

static void test_backend_erase_op(void **state)
{
    (void)state;
    static chip_store_t chip;
    memset(&chip, 0, sizeof chip); /* programmed all over: an erase must make it 0xFF */
    const otk_flash_backend_t backend = {chip_read, chip_write, NULL, NULL, NULL, chip_erase};
    otk_flash_t f;
    assert_int_equal(otk_flash_init(&f, &backend, &chip, sizeof chip.bytes, NULL), ESP_OK);
    /* A sector, then an aligned block plus a sector: three units, one call each. */
    assert_int_equal(otk_flash_erase(&f, BLOCK, SECTOR), ESP_OK);
    assert_int_equal(otk_flash_erase(&f, 0, BLOCK + SECTOR), ESP_OK);
    assert_int_equal(chip.erases, 3);
    assert_int_equal(chip.erase_addr[0], BLOCK);
    assert_int_equal(chip.erase_len[0], SECTOR);
    assert_int_equal(chip.erase_addr[1], 0);
    assert_int_equal(chip.erase_len[1], BLOCK);
    assert_int_equal(chip.erase_addr[2], BLOCK);
    assert_int_equal(chip.erase_len[2], SECTOR);
    assert_int_equal(chip.writes, 0); /* no 0xFF written through write */
    assert_int_equal(f.stats.erase_blocks, 1);
    assert_int_equal(f.stats.erase_sectors, 2);
    for (size_t i = 0; i < BLOCK + SECTOR; i++) {
        assert_int_equal(chip.bytes[i], 0xFF);
    }
    /* Refusals (alignment) never reach the driver; its own failure is returned. */
    assert_int_equal(otk_flash_erase(&f, 1, SECTOR), ESP_ERR_INVALID_ARG);
    assert_int_equal(chip.erases, 3);
    chip.erase_result = ESP_ERR_FLASH_OP_FAIL;
    assert_int_equal(otk_flash_erase(&f, 0, SECTOR), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(chip.erases, 4);
}

/* otk_flash_map: the bytes without a copy, with the checks and accounting of a read. */
static void test_map(void **state)
{
    (void)state;
    for (int backend = 0; backend < 2; backend++) {
        const char *dir = backend ? ts_make_temp_dir() : NULL;
        char path[128];
        otk_flash_t *f = NULL;
        if (backend) {
            snprintf(path, sizeof path, "%s/flash.bin", dir);
            assert_int_equal(otk_flash_file_create(path, 4 * SECTOR, &f), ESP_OK);
        } else {
            assert_int_equal(otk_flash_mem_create(4 * SECTOR, &f), ESP_OK);
        }
        const uint8_t data[4] = {0x12, 0x34, 0x56, 0x78};
        assert_int_equal(otk_flash_program(f, 0x1002, data, sizeof data), ESP_OK);
        otk_flash_stats_reset(f);
        const uint8_t *view = NULL;
        assert_int_equal(otk_flash_map(f, 0x1000, 8, &view), ESP_OK);
        const uint8_t want[8] = {0xFF, 0xFF, 0x12, 0x34, 0x56, 0x78, 0xFF, 0xFF};
        assert_memory_equal(view, want, sizeof want);
        assert_int_equal(f->stats.read_calls, 1);
        assert_int_equal(f->stats.read_bytes, 8);
        assert_true(f->elapsed_us > 0);
        /* Range checks as a read. */
        assert_int_equal(otk_flash_map(f, 4 * SECTOR - 4, 8, &view), ESP_ERR_INVALID_SIZE);
        assert_int_equal(otk_flash_map(f, 4 * SECTOR + 1, 1, &view), ESP_ERR_INVALID_ARG);
        assert_int_equal(otk_flash_map(f, 0, 1, NULL), ESP_ERR_INVALID_ARG);
        /* No power, no view. */
        otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_BEFORE, 1);
        assert_int_equal(otk_flash_erase(f, 0, SECTOR), ESP_ERR_FLASH_OP_FAIL);
        assert_int_equal(otk_flash_map(f, 0x1000, 8, &view), ESP_ERR_FLASH_OP_FAIL);
        otk_flash_destroy(f);
        if (dir != NULL) {
            ts_cleanup_dir(dir);
        }
    }
}

static void test_file_persists(void **state)
{
    (void)state;
    const char *dir = ts_make_temp_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/flash.bin", dir);

    otk_flash_t *f = NULL;
    assert_int_equal(otk_flash_file_create(path, 4 * SECTOR, &f), ESP_OK);
    assert_range(f, 0, 4 * SECTOR, 0xFF);
    uint8_t data[500];
    fill_random(data, sizeof data, 9);
    assert_int_equal(otk_flash_program(f, 0x1234, data, sizeof data), ESP_OK);
    assert_int_equal(otk_flash_sync(f), ESP_OK);
    otk_flash_destroy(f);

    /* The file is the flash: same bytes, read with plain stdio. */
    size_t len = 0;
    uint8_t *raw = ts_read_file(path, &len);
    assert_int_equal(len, 4 * SECTOR);
    assert_memory_equal(raw + 0x1234, data, sizeof data);
    assert_all(raw, 0x1234, 0xFF);
    assert_all(raw + 0x1234 + sizeof data, len - 0x1234 - sizeof data, 0xFF);
    free(raw);

    f = NULL;
    assert_int_equal(otk_flash_file_open(path, &f), ESP_OK);
    assert_int_equal(otk_flash_size(f), 4 * SECTOR);
    uint8_t got[500];
    assert_int_equal(otk_flash_read(f, 0x1234, got, sizeof got), ESP_OK);
    assert_memory_equal(got, data, sizeof got);
    /* Erase through the reopened device reaches the file too. */
    assert_int_equal(otk_flash_erase(f, SECTOR, SECTOR), ESP_OK);
    otk_flash_destroy(f);
    raw = ts_read_file(path, &len);
    assert_all(raw, 2 * SECTOR, 0xFF);
    free(raw);

    /* create truncates an existing file back to erased. */
    assert_int_equal(otk_flash_file_create(path, SECTOR, &f), ESP_OK);
    otk_flash_destroy(f);
    raw = ts_read_file(path, &len);
    assert_int_equal(len, SECTOR);
    assert_all(raw, len, 0xFF);
    free(raw);
    ts_cleanup_dir(dir);
}

static void write_file_of(const char *path, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < len; i++) {
        fputc(0xFF, fp);
    }
    fclose(fp);
}

static void test_file_open_errors(void **state)
{
    (void)state;
    const char *dir = ts_make_temp_dir();
    char path[128];
    otk_flash_t *f = NULL;

    snprintf(path, sizeof path, "%s/missing.bin", dir);
    assert_int_equal(otk_flash_file_open(path, &f), ESP_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "%s/no/such/dir/flash.bin", dir);
    assert_int_equal(otk_flash_file_create(path, SECTOR, &f), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_flash_file_create(path, 100, &f), ESP_ERR_INVALID_SIZE);

    static const size_t bad_lengths[] = {0, 100, SECTOR - 1, SECTOR + 1};
    for (size_t i = 0; i < sizeof bad_lengths / sizeof bad_lengths[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.bin", dir, i);
        write_file_of(path, bad_lengths[i]);
        assert_int_equal(otk_flash_file_open(path, &f), ESP_ERR_INVALID_SIZE);
    }
    assert_int_equal(otk_flash_file_open(dir, &f), ESP_ERR_INVALID_ARG); /* a directory */
    assert_null(f);
    ts_cleanup_dir(dir);
}

/* ---- names and logging ---------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(otk_flash_fault_kind_name(OTK_FLASH_FAULT_NONE), "none");
    assert_string_equal(otk_flash_fault_kind_name(OTK_FLASH_FAULT_CUT_BEFORE), "cut-before");
    assert_string_equal(otk_flash_fault_kind_name(OTK_FLASH_FAULT_CUT_AFTER), "cut-after");
    assert_string_equal(otk_flash_fault_kind_name(OTK_FLASH_FAULT_TORN), "torn");
    assert_string_equal(otk_flash_fault_kind_name((otk_flash_fault_kind_t)99), "?");
    assert_string_equal(otk_flash_op_name(OTK_FLASH_OP_READ), "read");
    assert_string_equal(otk_flash_op_name(OTK_FLASH_OP_PROGRAM_PAGE), "program-page");
    assert_string_equal(otk_flash_op_name(OTK_FLASH_OP_ERASE_SECTOR), "erase-sector");
    assert_string_equal(otk_flash_op_name(OTK_FLASH_OP_ERASE_BLOCK), "erase-block");
    assert_string_equal(otk_flash_op_name((otk_flash_op_t)99), "?");
    for (int k = OTK_FLASH_FAULT_NONE; k <= OTK_FLASH_FAULT_TORN; k++) {
        otk_flash_fault_kind_t back = OTK_FLASH_FAULT_NONE;
        const char *name = otk_flash_fault_kind_name((otk_flash_fault_kind_t)k);
        assert_int_equal(otk_flash_fault_kind_from_name(name, &back), ESP_OK);
        assert_int_equal(back, k);
    }
    otk_flash_fault_kind_t kind;
    assert_int_equal(otk_flash_fault_kind_from_name("TORN", &kind), ESP_ERR_NOT_FOUND);
    assert_int_equal(otk_flash_fault_kind_from_name("", &kind), ESP_ERR_NOT_FOUND);
}

typedef struct {
    char last[512];
    unsigned lines;
} log_capture_t;

static void capture_log(void *ctx, otk_log_level_t level, const char *line)
{
    (void)level;
    log_capture_t *cap = ctx;
    snprintf(cap->last, sizeof cap->last, "%s", line);
    cap->lines++;
}

static void test_refusals_are_logged(void **state)
{
    (void)state;
    log_capture_t cap = {.lines = 0};
    otk_log_level_t saved = otk_log_get_level();
    otk_log_set_level(OTK_LOG_ERROR);
    otk_log_set_sink(capture_log, &cap);
    otk_flash_t *f = new_dev();
    assert_int_equal(otk_flash_erase(f, 0x1001, SECTOR), ESP_ERR_INVALID_ARG);
    assert_int_equal(cap.lines, 1);
    assert_non_null(strstr(cap.last, "flash: erase 0x00001001"));
    assert_non_null(strstr(cap.last, "not a multiple of 0x1000"));
    const uint8_t zero = 0, one = 1;
    assert_int_equal(otk_flash_program(f, 0x20, &zero, 1), ESP_OK);
    assert_int_equal(otk_flash_program(f, 0x20, &one, 1), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(cap.lines, 2);
    assert_non_null(strstr(cap.last, "byte at 0x00000020"));
    /* Refusals after a power cut are expected in sweeps: debug level, not errors. */
    otk_flash_arm_fault(f, 1, OTK_FLASH_FAULT_CUT_BEFORE, 0);
    assert_int_equal(otk_flash_erase(f, 0, SECTOR), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(otk_flash_read(f, 0, NULL, 0), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(cap.lines, 2);
    otk_flash_destroy(f);
    otk_log_set_sink(NULL, NULL);
    otk_log_set_level(saved);
}

int main(void)
{
    otk_log_set_level(OTK_LOG_NONE); /* refusals are the point of many tests here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erased_reads_ff),
        cmocka_unit_test(test_create_rejects_bad_sizes),
        cmocka_unit_test(test_program_clears_bits),
        cmocka_unit_test(test_program_setting_a_bit_changes_nothing),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_erase_alignment_errors),
        cmocka_unit_test(test_erase_restores_ff_in_range_only),
        cmocka_unit_test(test_len_zero_does_nothing),
        cmocka_unit_test(test_program_counts_pages_and_time),
        cmocka_unit_test(test_erase_splits_into_blocks_and_sectors),
        cmocka_unit_test(test_erase_counts_per_sector),
        cmocka_unit_test(test_read_time_rounds_up),
        cmocka_unit_test(test_trace_records_physical_ops),
        cmocka_unit_test(test_fault_cut_before_program),
        cmocka_unit_test(test_fault_cut_after_program),
        cmocka_unit_test(test_fault_torn_program),
        cmocka_unit_test(test_fault_counts_across_calls),
        cmocka_unit_test(test_fault_cut_before_erase),
        cmocka_unit_test(test_fault_cut_after_erase),
        cmocka_unit_test(test_fault_torn_erase),
        cmocka_unit_test(test_everything_fails_until_power_on),
        cmocka_unit_test(test_power_on_keeps_unfired_fault_and_disarm),
        cmocka_unit_test(test_faults_replay_from_seed),
        cmocka_unit_test(test_mem_clone),
        cmocka_unit_test(test_init_over_user_backend),
        cmocka_unit_test(test_file_persists),
        cmocka_unit_test(test_file_open_errors),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_refusals_are_logged),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_backend_erase_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
