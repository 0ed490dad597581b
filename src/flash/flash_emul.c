/* The NOR flash emulator: NOR rules, physical operation split, statistics, the virtual
 * clock and fault injection, over any backend (the backend only stores bytes). */
#include "flash_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include <stdio.h>

#include "otakit/log.h"

#define SECTORS_PER_BLOCK (OTK_FLASH_BLOCK_SIZE / OTK_FLASH_SECTOR_SIZE)
#define US_PER_SEC 1000000u
/* A refusal message names the call, the range and the reason: fits a log line. */
#define REJECT_MSG_MAX 200
/* Marks "no forced bit" in a torn operation (no candidate index reaches it). */
#define TORN_NO_BIT UINT64_MAX

/* ---- construction ------------------------------------------------------------------ */

esp_err_t otk_flash_check_size(uint32_t size)
{
    if (size == 0 || size % OTK_FLASH_SECTOR_SIZE != 0 || size > OTK_FLASH_MAX_SIZE) {
        OTK_LOGE(OTK_FLASH_TAG, "device size 0x%" PRIx32 " is not a non-zero multiple of 0x%x "
                 "up to 0x%x", size, OTK_FLASH_SECTOR_SIZE, OTK_FLASH_MAX_SIZE);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

esp_err_t otk_flash_init(otk_flash_t *flash, const otk_flash_backend_t *backend,
                         void *backend_ctx, uint32_t size, uint32_t *erase_counts)
{
    if (flash == NULL || backend == NULL || backend->read == NULL || backend->write == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = otk_flash_check_size(size);
    if (err != ESP_OK) {
        return err;
    }
    memset(flash, 0, sizeof *flash);
    flash->backend = backend;
    flash->backend_ctx = backend_ctx;
    flash->size = size;
    flash->erase_counts = erase_counts;
    flash->timing = OTK_FLASH_TIMING_W25Q128JV;
    flash->fault_kind = OTK_FLASH_FAULT_NONE;
    return ESP_OK;
}

esp_err_t otk_flash_sync(otk_flash_t *flash)
{
    if (flash == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (flash->backend->sync == NULL) {
        return ESP_OK;
    }
    return flash->backend->sync(flash->backend_ctx);
}

/* ---- checks every call makes --------------------------------------------------------- */

/* Count a refused call and say why. Refusals while the power is off are expected in fault
 * sweeps (every call after the cut), so they log at debug level, the rest as errors. */
static esp_err_t reject_logged(otk_flash_t *flash, esp_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static esp_err_t reject_logged(otk_flash_t *flash, esp_err_t err, const char *fmt, ...)
{
    flash->stats.rejected++;
    char msg[REJECT_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    otk_log_level_t level = flash->powered_off ? OTK_LOG_DEBUG : OTK_LOG_ERROR;
    otk_log_write(level, OTK_FLASH_TAG, "%s", msg);
    return err;
}

/* Logs compiled out (OTK_CONFIG_LOG_MAX_LEVEL): count the refusal, format nothing. */
static esp_err_t reject_quiet(otk_flash_t *flash, esp_err_t err)
{
    flash->stats.rejected++;
    return err;
}

/* A constant condition: a build without logs keeps neither the message nor printf. */
#define reject(flash, err, ...)                                                             \
    (OTK_LOG_COMPILED(OTK_LOG_ERROR) ? reject_logged(flash, err, __VA_ARGS__)               \
                                     : reject_quiet(flash, err))

/* Power and bounds, in ESP-IDF's order and with its codes. len is a size_t so a huge
 * length cannot wrap: it is compared with the room left, never added to addr. */
static esp_err_t admit(otk_flash_t *flash, const char *call, uint32_t addr, size_t len)
{
    if (flash->powered_off) {
        return reject(flash, ESP_ERR_FLASH_OP_FAIL, "%s 0x%08" PRIx32 "+0x%zx: power is off",
                      call, addr, len);
    }
    if (addr > flash->size) {
        return reject(flash, ESP_ERR_INVALID_ARG,
                      "%s 0x%08" PRIx32 "+0x%zx: offset past the end of the 0x%" PRIx32
                      "-byte device", call, addr, len, flash->size);
    }
    if (len > (size_t)(flash->size - addr)) {
        return reject(flash, ESP_ERR_INVALID_SIZE,
                      "%s 0x%08" PRIx32 "+0x%zx: runs past the end of the 0x%" PRIx32
                      "-byte device", call, addr, len, flash->size);
    }
    return ESP_OK;
}

static void trace_op(otk_flash_t *flash, otk_flash_op_t op, uint32_t addr, uint32_t len,
                     esp_err_t result)
{
    if (flash->trace != NULL) {
        flash->trace(flash->trace_ctx, op, addr, len, result);
    }
}

/* ---- fault injection ------------------------------------------------------------------ */

/* Every physical program/erase goes through here first: it numbers the operation and says
 * whether the armed fault fires at it (a fault fires once, then is disarmed). */
static otk_flash_fault_kind_t begin_physical_op(otk_flash_t *flash)
{
    flash->physical_ops++;
    /* Without fault injection (OTK_CONFIG_FLASH_FAULTS) this is a constant NONE, and the
     * torn-operation code below falls away. */
    if (!OTK_CONFIG_FLASH_FAULTS || flash->fault_kind == OTK_FLASH_FAULT_NONE ||
        flash->physical_ops != flash->fault_at_op) {
        return OTK_FLASH_FAULT_NONE;
    }
    otk_flash_fault_kind_t kind = flash->fault_kind;
    flash->fault_kind = OTK_FLASH_FAULT_NONE;
    return kind;
}

static void cut_power(otk_flash_t *flash, otk_flash_fault_kind_t kind, otk_flash_op_t op,
                      uint32_t addr)
{
    flash->powered_off = true;
    OTK_LOGW(OTK_FLASH_TAG, "power cut (%s) at %s 0x%08" PRIx32 ", physical op %llu",
             otk_flash_fault_kind_name(kind), otk_flash_op_name(op), addr,
             (unsigned long long)flash->physical_ops);
}

static unsigned bit_count(uint8_t b)
{
    static const uint8_t nibble_bits[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    return nibble_bits[b & 0xf] + nibble_bits[b >> 4];
}

/* Picks which of a torn operation's candidate bits (those the whole operation would flip)
 * actually flip: each by a coin toss, except that one chosen candidate always flips and,
 * when there are two or more, another never does, so a torn result differs from both the
 * "not done" and the "done" result whenever it can. Candidates are numbered in address
 * order, low bit first, across the whole operation. */
typedef struct {
    otk_rand_t *rand;
    uint64_t next_bit;  /* number of the next candidate bit */
    uint64_t force_on;  /* candidate that always flips */
    uint64_t force_off; /* candidate that never flips */
} torn_picker_t;

static void torn_picker_init(torn_picker_t *p, otk_rand_t *rand, uint64_t candidates)
{
    p->rand = rand;
    p->next_bit = 0;
    p->force_on = TORN_NO_BIT;
    p->force_off = TORN_NO_BIT;
    if (candidates >= 1) {
        p->force_on = otk_rand_below(rand, candidates);
    }
    if (candidates >= 2) {
        p->force_off = (p->force_on + 1 + otk_rand_below(rand, candidates - 1)) % candidates;
    }
}

/* The flips for one byte whose candidate bits are `candidates`. */
static uint8_t torn_pick(torn_picker_t *p, uint8_t candidates)
{
    if (candidates == 0) {
        return 0;
    }
    uint8_t flips = candidates & (uint8_t)otk_rand_next(p->rand);
    for (unsigned bit = 0; bit < 8; bit++) {
        uint8_t mask = (uint8_t)(1u << bit);
        if ((candidates & mask) == 0) {
            continue;
        }
        if (p->next_bit == p->force_on) {
            flips |= mask;
        } else if (p->next_bit == p->force_off) {
            flips &= (uint8_t)~mask;
        }
        p->next_bit++;
    }
    return flips;
}

/* ---- read ----------------------------------------------------------------------------- */

static uint64_t read_time_us(const otk_flash_timing_t *timing, size_t len)
{
    if (timing->read_bytes_per_sec == 0) {
        return 0; /* a timing model without a read rate: reads take no modelled time */
    }
    uint64_t rate = timing->read_bytes_per_sec;
    return ((uint64_t)len * US_PER_SEC + rate - 1) / rate;
}

/* A read or a map reached the chip: statistics, modelled time, trace (the same for both). */
static void account_read(otk_flash_t *flash, uint32_t addr, size_t len, esp_err_t err)
{
    flash->stats.read_calls++;
    flash->stats.read_bytes += len;
    flash->elapsed_us += read_time_us(&flash->timing, len);
    trace_op(flash, OTK_FLASH_OP_READ, addr, (uint32_t)len, err);
}

esp_err_t otk_flash_read(otk_flash_t *flash, uint32_t addr, void *dst, size_t len)
{
    if (flash == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = admit(flash, "read", addr, len);
    if (err != ESP_OK) {
        return err;
    }
    if (len == 0) {
        return ESP_OK;
    }
    if (dst == NULL) {
        return reject(flash, ESP_ERR_INVALID_ARG, "read 0x%08" PRIx32 ": no buffer", addr);
    }
    err = flash->backend->read(flash->backend_ctx, addr, dst, len);
    account_read(flash, addr, len, err);
    return err;
}

esp_err_t otk_flash_map(otk_flash_t *flash, uint32_t addr, size_t len, const uint8_t **out)
{
    if (flash == NULL || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (flash->backend->map == NULL) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    esp_err_t err = admit(flash, "map", addr, len);
    if (err != ESP_OK) {
        return err;
    }
    *out = flash->backend->map(flash->backend_ctx, addr, len);
    account_read(flash, addr, len, ESP_OK);
    return ESP_OK;
}

/* ---- program -------------------------------------------------------------------------- */

/* NOR can only clear bits. Looks at the whole range before anything is written, so a
 * refused program changes nothing. Sets *bad to the first byte that would need a 0 -> 1. */
/* Bytes compared per backend read: big enough that the read call is not the cost, small
 * enough for any stack. */
#define BIT_CHECK_CHUNK (OTK_CONFIG_IO_CHUNK < 1024u ? OTK_CONFIG_IO_CHUNK : 1024u)

/* True when some byte of src has a 1 where old has a 0. Word-wide: this runs over every
 * byte ever programmed, so it must cost about as much as a copy. Four independent
 * accumulators in locals: the loads pipeline and nothing goes through memory. */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

#if OTK_CONFIG_FAST_NOR_CHECK
static bool any_bit_set(const uint8_t *src, const uint8_t *old, size_t n)
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 |= load64(src + i) & ~load64(old + i);
        a1 |= load64(src + i + 8) & ~load64(old + i + 8);
        a2 |= load64(src + i + 16) & ~load64(old + i + 16);
        a3 |= load64(src + i + 24) & ~load64(old + i + 24);
    }
    uint64_t acc = a0 | a1 | a2 | a3;
    for (; i < n; i++) {
        acc |= (uint64_t)(src[i] & (uint8_t)~old[i]);
    }
    return acc != 0;
}
#else
/* The small version: a byte at a time (MCU builds, where text counts more than speed). */
static bool any_bit_set(const uint8_t *src, const uint8_t *old, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint8_t)(src[i] & (uint8_t)~old[i]);
    }
    return acc != 0;
}
#endif

static esp_err_t find_bit_set(otk_flash_t *flash, uint32_t addr, const uint8_t *src,
                              size_t len, bool *found, uint32_t *bad)
{
    uint8_t buf[BIT_CHECK_CHUNK];
    *found = false;
    for (size_t done = 0; done < len;) {
        /* A mapped store is compared in one piece; otherwise a buffer at a time. */
        size_t chunk = len - done;
        if (flash->backend->map == NULL && chunk > sizeof buf) {
            chunk = sizeof buf;
        }
        const uint8_t *old = buf;
        if (flash->backend->map != NULL) {
            old = flash->backend->map(flash->backend_ctx, addr + (uint32_t)done, chunk);
        } else {
            esp_err_t err = flash->backend->read(flash->backend_ctx, addr + (uint32_t)done,
                                                 buf, chunk);
            if (err != ESP_OK) {
                return err;
            }
        }
        if (any_bit_set(src + done, old, chunk)) {
            /* Rare (a refused program): now find the exact byte for the message. */
            for (size_t i = 0; i < chunk; i++) {
                if ((src[done + i] & (uint8_t)~old[i]) != 0) {
                    *found = true;
                    *bad = addr + (uint32_t)(done + i);
                    return ESP_OK;
                }
            }
        }
        done += chunk;
    }
    return ESP_OK;
}

#if OTK_CONFIG_FLASH_FAULTS /* only the page-by-page path needs these */
/* A page program cut part way: some of the bits it would clear are cleared. */
static esp_err_t write_torn_page(otk_flash_t *flash, uint32_t addr, const uint8_t *src,
                                 uint32_t len)
{
    uint8_t old[OTK_FLASH_PAGE_SIZE];
    uint8_t torn[OTK_FLASH_PAGE_SIZE];
    esp_err_t err = flash->backend->read(flash->backend_ctx, addr, old, len);
    if (err != ESP_OK) {
        return err;
    }
    uint64_t candidates = 0;
    for (uint32_t i = 0; i < len; i++) {
        candidates += bit_count(old[i] & (uint8_t)~src[i]);
    }
    torn_picker_t picker;
    torn_picker_init(&picker, &flash->fault_rand, candidates);
    for (uint32_t i = 0; i < len; i++) {
        uint8_t cleared = torn_pick(&picker, old[i] & (uint8_t)~src[i]);
        torn[i] = old[i] & (uint8_t)~cleared;
    }
    return flash->backend->write(flash->backend_ctx, addr, torn, len);
}

/* One physical page program of len bytes (all within one page). The range has passed the
 * NOR check, so the stored result (old AND new) is exactly src. */
static esp_err_t program_page(otk_flash_t *flash, uint32_t addr, const uint8_t *src,
                              uint32_t len)
{
    otk_flash_fault_kind_t fault = begin_physical_op(flash);
    esp_err_t err = ESP_OK;
    if (fault == OTK_FLASH_FAULT_TORN) {
        err = write_torn_page(flash, addr, src, len);
    } else if (fault != OTK_FLASH_FAULT_CUT_BEFORE) {
        err = flash->backend->write(flash->backend_ctx, addr, src, len);
    }
    if (fault != OTK_FLASH_FAULT_CUT_BEFORE) {
        flash->stats.program_pages++;
        flash->stats.program_bytes += len;
        flash->elapsed_us += flash->timing.page_program_us;
    }
    if (fault != OTK_FLASH_FAULT_NONE) {
        cut_power(flash, fault, OTK_FLASH_OP_PROGRAM_PAGE, addr);
        err = ESP_ERR_FLASH_OP_FAIL;
    }
    trace_op(flash, OTK_FLASH_OP_PROGRAM_PAGE, addr, len, err);
    return err;
}
#endif

esp_err_t otk_flash_program(otk_flash_t *flash, uint32_t addr, const void *src, size_t len)
{
    if (flash == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = admit(flash, "program", addr, len);
    if (err != ESP_OK) {
        return err;
    }
    if (len == 0) {
        return ESP_OK;
    }
    if (src == NULL) {
        return reject(flash, ESP_ERR_INVALID_ARG, "program 0x%08" PRIx32 ": no buffer", addr);
    }
    const uint8_t *bytes = src;
    bool found = false;
    uint32_t bad = 0;
    err = find_bit_set(flash, addr, bytes, len, &found, &bad);
    if (err != ESP_OK) {
        return err;
    }
    if (found) {
        return reject(flash, ESP_ERR_FLASH_OP_FAIL,
                      "program 0x%08" PRIx32 "+0x%zx: byte at 0x%08" PRIx32
                      " needs a bit set (0 -> 1); erase first", addr, len, bad);
    }
    flash->stats.program_calls++;
    /* One physical op per page touched: the chip wraps within a page, so the driver splits
     * at page boundaries. */
    uint64_t pages = (addr % OTK_FLASH_PAGE_SIZE + len + OTK_FLASH_PAGE_SIZE - 1) /
                     OTK_FLASH_PAGE_SIZE;
#if OTK_CONFIG_FLASH_FAULTS
    bool fault_in_range = flash->fault_kind != OTK_FLASH_FAULT_NONE &&
                          flash->fault_at_op <= flash->physical_ops + pages;
    if (!fault_in_range && flash->trace == NULL)
#endif
    {
        /* Fast path, same outcome: no fault can fire in these pages and nobody watches them
         * one by one, so store them at once and account for each page arithmetically. */
        flash->physical_ops += pages;
        flash->stats.program_pages += pages;
        flash->stats.program_bytes += len;
        flash->elapsed_us += pages * flash->timing.page_program_us;
        return flash->backend->write(flash->backend_ctx, addr, bytes, len);
    }
#if OTK_CONFIG_FLASH_FAULTS
    /* Page by page: a fault fires inside these pages, or a trace wants each one. (Without
     * fault injection compiled in, a program is stored whole and not traced page by page.) */
    for (size_t done = 0; done < len;) {
        uint32_t at = addr + (uint32_t)done;
        uint32_t room = OTK_FLASH_PAGE_SIZE - at % OTK_FLASH_PAGE_SIZE;
        uint32_t chunk = len - done < room ? (uint32_t)(len - done) : room;
        err = program_page(flash, at, bytes + done, chunk);
        if (err != ESP_OK) {
            return err;
        }
        done += chunk;
    }
    return ESP_OK;
#endif
}

/* ---- erase ---------------------------------------------------------------------------- */

/* Bytes an erase moves per backend call (0xFF through write, the torn-erase passes): a
 * page, so the erase path needs no sector-sized buffer on the stack. */
#define ERASE_PIECE OTK_FLASH_PAGE_SIZE

static esp_err_t fill_erased(otk_flash_t *flash, uint32_t addr, uint32_t len)
{
    if (flash->backend->erase != NULL) {
        return flash->backend->erase(flash->backend_ctx, addr, len);
    }
    uint8_t ones[ERASE_PIECE];
    memset(ones, 0xFF, sizeof ones);
    for (uint32_t done = 0; done < len; done += ERASE_PIECE) {
        esp_err_t err = flash->backend->write(flash->backend_ctx, addr + done, ones,
                                              sizeof ones);
        if (err != ESP_OK) {
            return err;
        }
    }
    return ESP_OK;
}

/* An erase cut part way: some of the 0 bits of the sector/block have become 1. Two passes
 * a page at a time (count the candidates, then flip), so a block needs no big buffer; the
 * flips are drawn in address order either way. Emulation only: it stores the result through
 * write, which a real chip's driver cannot do (faults are never armed there). */
static esp_err_t erase_torn(otk_flash_t *flash, uint32_t addr, uint32_t len)
{
    uint8_t buf[ERASE_PIECE];
    uint64_t candidates = 0;
    for (uint32_t done = 0; done < len; done += ERASE_PIECE) {
        esp_err_t err = flash->backend->read(flash->backend_ctx, addr + done, buf, sizeof buf);
        if (err != ESP_OK) {
            return err;
        }
        for (size_t i = 0; i < sizeof buf; i++) {
            candidates += bit_count((uint8_t)~buf[i]);
        }
    }
    torn_picker_t picker;
    torn_picker_init(&picker, &flash->fault_rand, candidates);
    for (uint32_t done = 0; done < len; done += ERASE_PIECE) {
        esp_err_t err = flash->backend->read(flash->backend_ctx, addr + done, buf, sizeof buf);
        if (err != ESP_OK) {
            return err;
        }
        for (size_t i = 0; i < sizeof buf; i++) {
            buf[i] |= torn_pick(&picker, (uint8_t)~buf[i]);
        }
        err = flash->backend->write(flash->backend_ctx, addr + done, buf, sizeof buf);
        if (err != ESP_OK) {
            return err;
        }
    }
    return ESP_OK;
}

static void account_erase(otk_flash_t *flash, otk_flash_op_t op, uint32_t addr, uint32_t len)
{
    if (op == OTK_FLASH_OP_ERASE_BLOCK) {
        flash->stats.erase_blocks++;
        flash->elapsed_us += flash->timing.block_erase_us;
    } else {
        flash->stats.erase_sectors++;
        flash->elapsed_us += flash->timing.sector_erase_us;
    }
    flash->stats.erase_bytes += len;
    if (flash->erase_counts != NULL) {
        uint32_t first = addr / OTK_FLASH_SECTOR_SIZE;
        for (uint32_t s = 0; s < len / OTK_FLASH_SECTOR_SIZE; s++) {
            flash->erase_counts[first + s]++;
        }
    }
}

/* One physical sector or block erase. A torn erase counts as wear and takes the full time:
 * the chip was erasing when the power went. */
static esp_err_t erase_unit(otk_flash_t *flash, otk_flash_op_t op, uint32_t addr, uint32_t len)
{
    otk_flash_fault_kind_t fault = begin_physical_op(flash);
    esp_err_t err = ESP_OK;
    if (fault == OTK_FLASH_FAULT_TORN) {
        err = erase_torn(flash, addr, len);
    } else if (fault != OTK_FLASH_FAULT_CUT_BEFORE) {
        err = fill_erased(flash, addr, len);
    }
    if (fault != OTK_FLASH_FAULT_CUT_BEFORE) {
        account_erase(flash, op, addr, len);
    }
    if (fault != OTK_FLASH_FAULT_NONE) {
        cut_power(flash, fault, op, addr);
        err = ESP_ERR_FLASH_OP_FAIL;
    }
    trace_op(flash, op, addr, len, err);
    return err;
}

esp_err_t otk_flash_erase(otk_flash_t *flash, uint32_t addr, size_t len)
{
    if (flash == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = admit(flash, "erase", addr, len);
    if (err != ESP_OK) {
        return err;
    }
    if (addr % OTK_FLASH_SECTOR_SIZE != 0) {
        return reject(flash, ESP_ERR_INVALID_ARG,
                      "erase 0x%08" PRIx32 "+0x%zx: offset is not a multiple of 0x%x", addr, len,
                      OTK_FLASH_SECTOR_SIZE);
    }
    if (len % OTK_FLASH_SECTOR_SIZE != 0) {
        return reject(flash, ESP_ERR_INVALID_SIZE,
                      "erase 0x%08" PRIx32 "+0x%zx: size is not a multiple of 0x%x", addr, len,
                      OTK_FLASH_SECTOR_SIZE);
    }
    if (len == 0) {
        return ESP_OK;
    }
    flash->stats.erase_calls++;
    /* Like ESP-IDF's spi_flash driver: a block erase wherever a whole aligned 64 KiB block
     * is covered (far faster per byte), sector erases for the ragged ends. */
    for (size_t done = 0; done < len;) {
        uint32_t at = addr + (uint32_t)done;
        bool block = at % OTK_FLASH_BLOCK_SIZE == 0 && len - done >= OTK_FLASH_BLOCK_SIZE;
        otk_flash_op_t op = block ? OTK_FLASH_OP_ERASE_BLOCK : OTK_FLASH_OP_ERASE_SECTOR;
        uint32_t unit = block ? OTK_FLASH_BLOCK_SIZE : OTK_FLASH_SECTOR_SIZE;
        err = erase_unit(flash, op, at, unit);
        if (err != ESP_OK) {
            return err;
        }
        done += unit;
    }
    return ESP_OK;
}

/* ---- statistics, faults, trace, names ------------------------------------------------ */

void otk_flash_stats_reset(otk_flash_t *flash)
{
    memset(&flash->stats, 0, sizeof flash->stats);
    flash->elapsed_us = 0;
}

uint32_t otk_flash_sector_erase_count(const otk_flash_t *flash, uint32_t sector_index)
{
    if (flash->erase_counts == NULL || sector_index >= flash->size / OTK_FLASH_SECTOR_SIZE) {
        return 0;
    }
    return flash->erase_counts[sector_index];
}

void otk_flash_arm_fault(otk_flash_t *flash, uint64_t nth_op, otk_flash_fault_kind_t kind,
                         uint64_t seed)
{
    if (nth_op == 0) {
        nth_op = 1;
    }
    flash->fault_kind = kind;
    /* Saturate rather than wrap: a fault absurdly far away simply never fires. */
    flash->fault_at_op = nth_op > UINT64_MAX - flash->physical_ops
                             ? UINT64_MAX
                             : flash->physical_ops + nth_op;
    otk_rand_seed(&flash->fault_rand, seed);
}

void otk_flash_disarm_fault(otk_flash_t *flash)
{
    flash->fault_kind = OTK_FLASH_FAULT_NONE;
}

void otk_flash_power_on(otk_flash_t *flash)
{
    flash->powered_off = false;
}

void otk_flash_set_trace(otk_flash_t *flash, otk_flash_trace_t trace, void *ctx)
{
    flash->trace = trace;
    flash->trace_ctx = ctx;
}

static const char *const fault_kind_names[] = {
    [OTK_FLASH_FAULT_NONE] = "none",
    [OTK_FLASH_FAULT_CUT_BEFORE] = "cut-before",
    [OTK_FLASH_FAULT_CUT_AFTER] = "cut-after",
    [OTK_FLASH_FAULT_TORN] = "torn",
};

static const char *const op_names[] = {
    [OTK_FLASH_OP_READ] = "read",
    [OTK_FLASH_OP_PROGRAM_PAGE] = "program-page",
    [OTK_FLASH_OP_ERASE_SECTOR] = "erase-sector",
    [OTK_FLASH_OP_ERASE_BLOCK] = "erase-block",
};

#define NAME_COUNT(table) (sizeof(table) / sizeof((table)[0]))

const char *otk_flash_fault_kind_name(otk_flash_fault_kind_t kind)
{
    if ((unsigned)kind >= NAME_COUNT(fault_kind_names)) {
        return "?";
    }
    return fault_kind_names[kind];
}

const char *otk_flash_op_name(otk_flash_op_t op)
{
    if ((unsigned)op >= NAME_COUNT(op_names)) {
        return "?";
    }
    return op_names[op];
}

esp_err_t otk_flash_fault_kind_from_name(const char *name, otk_flash_fault_kind_t *out)
{
    if (name == NULL || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    for (unsigned k = 0; k < NAME_COUNT(fault_kind_names); k++) {
        if (strcmp(name, fault_kind_names[k]) == 0) {
            *out = (otk_flash_fault_kind_t)k;
            return ESP_OK;
        }
    }
    return ESP_ERR_NOT_FOUND;
}
