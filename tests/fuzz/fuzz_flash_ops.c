/* Fuzz the flash emulator: the input is a sequence of operations (read, program, erase,
 * arm a fault, power on, disarm, clone) on a 64 KiB memory device, run side by side with a
 * plain model of what the bytes, the power state, the fault and the counters must be. Any
 * difference aborts.
 *
 * Each operation starts with one byte: the low 3 bits pick the operation, the next bits
 * pick how wild its arguments are; the arguments follow. A short input ends with zeros. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/flash.h"
#include "otakit/log.h"
#include "otakit/rand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One 64 KiB block: block and sector erases both happen, and a whole-device check is cheap. */
#define DEV_SIZE 0x10000u
#define SECTOR OTK_FLASH_SECTOR_SIZE
#define PAGE OTK_FLASH_PAGE_SIZE
#define SECTORS (DEV_SIZE / SECTOR)
/* Longest program or read tried: past the device end, so INVALID_SIZE shows up too. */
#define MAX_LEN (2 * DEV_SIZE)
/* Keeps one input's run time bounded whatever libFuzzer grows it to. */
#define MAX_OPS 256

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

enum { OP_READ, OP_PROGRAM, OP_ERASE, OP_ARM, OP_POWER_ON, OP_DISARM, OP_CLONE, OP_COUNT };

typedef struct {
    const uint8_t *p;
    size_t left;
} input_t;

/* What the device must look like. */
typedef struct {
    uint8_t bytes[DEV_SIZE];
    bool powered;
    otk_flash_fault_kind_t fault_kind;
    uint64_t fault_in; /* physical ops until the armed fault fires (1 = the next one) */
    uint64_t physical_ops;
    uint64_t rejected;
    uint32_t erase_counts[SECTORS];
} model_t;

static model_t model;
static uint8_t buf[MAX_LEN];
static uint8_t actual[DEV_SIZE];

static uint8_t take8(input_t *in)
{
    if (in->left == 0) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

static uint16_t take16(input_t *in)
{
    uint16_t lo = take8(in);
    return (uint16_t)(lo | (uint16_t)take8(in) << 8);
}

/* Addresses mostly inside the device, sometimes at or past its end, sometimes huge. */
static uint32_t take_addr(input_t *in, unsigned wild)
{
    uint16_t v = take16(in);
    switch (wild) {
    case 2:
        return DEV_SIZE + (v & 0x1FFF);
    case 3:
        return UINT32_MAX - (v & 0xFF);
    default:
        return v;
    }
}

static void peek(otk_flash_t *f, uint32_t addr, size_t len)
{
    CHECK(f->backend->read(f->backend_ctx, addr, actual + addr, len) == ESP_OK);
}

static unsigned bit_count(uint8_t b)
{
    unsigned n = 0;
    for (; b != 0; b &= (uint8_t)(b - 1)) {
        n++;
    }
    return n;
}

/* Power, then bounds: the checks every call makes first. */
static esp_err_t expect_admitted(uint32_t addr, size_t len)
{
    if (!model.powered) {
        return ESP_ERR_FLASH_OP_FAIL;
    }
    if (addr > DEV_SIZE) {
        return ESP_ERR_INVALID_ARG;
    }
    if (len > DEV_SIZE - addr) {
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

/* The model's side of one physical program/erase: whether the armed fault fires now. */
static otk_flash_fault_kind_t model_begin_op(void)
{
    model.physical_ops++;
    if (model.fault_kind == OTK_FLASH_FAULT_NONE || --model.fault_in != 0) {
        return OTK_FLASH_FAULT_NONE;
    }
    otk_flash_fault_kind_t kind = model.fault_kind;
    model.fault_kind = OTK_FLASH_FAULT_NONE;
    model.powered = false;
    return kind;
}

static void do_read(otk_flash_t *f, input_t *in, unsigned wild)
{
    uint32_t addr = take_addr(in, wild);
    size_t len = take16(in) % (wild == 1 ? MAX_LEN : 2 * SECTOR);
    esp_err_t expect = expect_admitted(addr, len);
    esp_err_t got = otk_flash_read(f, addr, buf, len);
    CHECK(got == expect);
    if (expect != ESP_OK) {
        model.rejected++;
        return;
    }
    CHECK(memcmp(buf, model.bytes + addr, len) == 0);
}

/* A torn page: the new bits <= result <= the old bits, and strictly between them when at
 * least two bits were to be cleared (exactly one: it is cleared). */
static void check_torn_program(const uint8_t *old, const uint8_t *next, const uint8_t *res,
                               size_t len)
{
    unsigned candidates = 0;
    bool same_as_old = true, same_as_new = true;
    for (size_t i = 0; i < len; i++) {
        CHECK((res[i] & (uint8_t)~old[i]) == 0);
        CHECK((next[i] & (uint8_t)~res[i]) == 0);
        candidates += bit_count(old[i] & (uint8_t)~next[i]);
        same_as_old = same_as_old && res[i] == old[i];
        same_as_new = same_as_new && res[i] == next[i];
    }
    if (candidates >= 1) {
        CHECK(!same_as_old);
    }
    if (candidates >= 2) {
        CHECK(!same_as_new);
    }
}

static bool model_program_page(otk_flash_t *f, uint32_t addr, const uint8_t *src, size_t len)
{
    otk_flash_fault_kind_t fault = model_begin_op();
    switch (fault) {
    case OTK_FLASH_FAULT_NONE:
    case OTK_FLASH_FAULT_CUT_AFTER:
        memcpy(model.bytes + addr, src, len);
        break;
    case OTK_FLASH_FAULT_TORN:
        peek(f, addr, len);
        check_torn_program(model.bytes + addr, src, actual + addr, len);
        memcpy(model.bytes + addr, actual + addr, len);
        break;
    default:
        break;
    }
    return fault == OTK_FLASH_FAULT_NONE;
}

/* Program data: valid (old AND random), raw random (mostly sets bits), or zeros. */
static void make_program_data(input_t *in, uint32_t addr, size_t len)
{
    uint8_t mode = take8(in);
    otk_rand_t r;
    otk_rand_seed(&r, take16(in));
    for (size_t i = 0; i < len; i++) {
        uint8_t v = (uint8_t)otk_rand_next(&r);
        uint8_t old = addr + i < DEV_SIZE ? model.bytes[addr + i] : 0xFF;
        buf[i] = mode % 3 == 0 ? (uint8_t)(old & v) : mode % 3 == 1 ? v : 0;
    }
}

static esp_err_t model_program(otk_flash_t *f, uint32_t addr, size_t len)
{
    esp_err_t expect = expect_admitted(addr, len);
    if (expect != ESP_OK) {
        model.rejected++;
        return expect;
    }
    for (size_t i = 0; i < len; i++) {
        if ((buf[i] & (uint8_t)~model.bytes[addr + i]) != 0) {
            model.rejected++;
            return ESP_ERR_FLASH_OP_FAIL;
        }
    }
    for (size_t done = 0; done < len;) {
        size_t room = PAGE - (addr + done) % PAGE;
        size_t chunk = len - done < room ? len - done : room;
        if (!model_program_page(f, (uint32_t)(addr + done), buf + done, chunk)) {
            return ESP_ERR_FLASH_OP_FAIL;
        }
        done += chunk;
    }
    return ESP_OK;
}

static void do_program(otk_flash_t *f, input_t *in, unsigned wild)
{
    uint32_t addr = take_addr(in, wild);
    size_t len = take16(in) % (wild == 1 ? MAX_LEN : 3 * PAGE);
    make_program_data(in, addr, len);
    /* The device first: the model then checks a torn page against what it holds (old). */
    esp_err_t got = otk_flash_program(f, addr, buf, len);
    CHECK(got == model_program(f, addr, len));
    if (addr < DEV_SIZE) {
        size_t span = len < DEV_SIZE - addr ? len : DEV_SIZE - addr;
        peek(f, addr, span);
        CHECK(memcmp(actual + addr, model.bytes + addr, span) == 0);
    }
}

/* A partial erase: bits only went 0 -> 1; at least one did, and not all when two could. */
static void check_torn_erase(const uint8_t *old, const uint8_t *res, size_t len)
{
    unsigned zeros = 0;
    bool same_as_old = true, all_ones = true;
    for (size_t i = 0; i < len; i++) {
        CHECK((old[i] & (uint8_t)~res[i]) == 0);
        zeros += bit_count((uint8_t)~old[i]);
        same_as_old = same_as_old && res[i] == old[i];
        all_ones = all_ones && res[i] == 0xFF;
    }
    if (zeros >= 1) {
        CHECK(!same_as_old);
    }
    if (zeros >= 2) {
        CHECK(!all_ones);
    }
}

static bool model_erase_unit(otk_flash_t *f, uint32_t addr, uint32_t len)
{
    otk_flash_fault_kind_t fault = model_begin_op();
    if (fault == OTK_FLASH_FAULT_CUT_BEFORE) {
        return false;
    }
    if (fault == OTK_FLASH_FAULT_TORN) {
        peek(f, addr, len);
        check_torn_erase(model.bytes + addr, actual + addr, len);
        memcpy(model.bytes + addr, actual + addr, len);
    } else {
        memset(model.bytes + addr, 0xFF, len);
    }
    for (uint32_t s = addr / SECTOR; s < (addr + len) / SECTOR; s++) {
        model.erase_counts[s]++;
    }
    return fault == OTK_FLASH_FAULT_NONE;
}

static esp_err_t model_erase(otk_flash_t *f, uint32_t addr, size_t len)
{
    esp_err_t expect = expect_admitted(addr, len);
    if (expect == ESP_OK && addr % SECTOR != 0) {
        expect = ESP_ERR_INVALID_ARG;
    } else if (expect == ESP_OK && len % SECTOR != 0) {
        expect = ESP_ERR_INVALID_SIZE;
    }
    if (expect != ESP_OK) {
        model.rejected++;
        return expect;
    }
    for (size_t done = 0; done < len;) {
        uint32_t at = (uint32_t)(addr + done);
        uint32_t unit = at % OTK_FLASH_BLOCK_SIZE == 0 && len - done >= OTK_FLASH_BLOCK_SIZE
                            ? OTK_FLASH_BLOCK_SIZE
                            : SECTOR;
        if (!model_erase_unit(f, at, unit)) {
            return ESP_ERR_FLASH_OP_FAIL;
        }
        done += unit;
    }
    return ESP_OK;
}

static void do_erase(otk_flash_t *f, input_t *in, unsigned wild)
{
    uint32_t addr;
    size_t len;
    if (wild == 0) { /* aligned, the common case: sector index and count */
        addr = (uint32_t)(take8(in) % (SECTORS + 2)) * SECTOR;
        len = (size_t)(take8(in) % (SECTORS + 2)) * SECTOR;
    } else {
        addr = take_addr(in, wild);
        len = take16(in) + (wild == 1 ? DEV_SIZE : 0);
    }
    /* The device first: the model then checks a partial erase against what it holds. */
    esp_err_t got = otk_flash_erase(f, addr, len);
    CHECK(got == model_erase(f, addr, len));
}

static void do_arm(otk_flash_t *f, input_t *in)
{
    uint64_t nth = take8(in) % 13;
    otk_flash_fault_kind_t kind = (otk_flash_fault_kind_t)(take8(in) % 4);
    uint64_t seed = take8(in);
    otk_flash_arm_fault(f, nth, kind, seed);
    model.fault_kind = kind;
    model.fault_in = nth == 0 ? 1 : nth;
}

static void do_clone(otk_flash_t *f)
{
    otk_flash_t *copy = NULL;
    CHECK(otk_flash_mem_clone(f, &copy) == ESP_OK);
    CHECK(copy->stats.rejected == 0 && copy->physical_ops == 0);
    CHECK(copy->backend->read(copy->backend_ctx, 0, actual, DEV_SIZE) == ESP_OK);
    CHECK(memcmp(actual, model.bytes, DEV_SIZE) == 0);
    otk_flash_destroy(copy);
}

static void check_counters(const otk_flash_t *f, uint64_t *last_clock)
{
    CHECK(otk_flash_is_powered(f) == model.powered);
    CHECK(f->physical_ops == model.physical_ops);
    CHECK(f->stats.rejected == model.rejected);
    CHECK(f->elapsed_us >= *last_clock);
    *last_clock = f->elapsed_us;
    for (uint32_t s = 0; s < SECTORS; s++) {
        CHECK(otk_flash_sector_erase_count(f, s) == model.erase_counts[s]);
    }
}

/* One operation, chosen by its first byte. */
static void run_op(otk_flash_t *f, input_t *in)
{
    uint8_t code = take8(in);
    unsigned wild = (code >> 3) & 3;
    switch (code % OP_COUNT) {
    case OP_READ:
        do_read(f, in, wild);
        break;
    case OP_PROGRAM:
        do_program(f, in, wild);
        break;
    case OP_ERASE:
        do_erase(f, in, wild);
        break;
    case OP_ARM:
        do_arm(f, in);
        break;
    case OP_POWER_ON:
        otk_flash_power_on(f);
        model.powered = true;
        break;
    case OP_DISARM:
        otk_flash_disarm_fault(f);
        model.fault_kind = OTK_FLASH_FAULT_NONE;
        break;
    default:
        do_clone(f);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otk_log_set_level(OTK_LOG_NONE); /* refusals are expected by the thousand */
    otk_flash_t *f = NULL;
    CHECK(otk_flash_mem_create(DEV_SIZE, &f) == ESP_OK);
    memset(&model, 0, sizeof model);
    memset(model.bytes, 0xFF, sizeof model.bytes);
    model.powered = true;

    input_t in = {data, size};
    uint64_t clock = 0;
    for (unsigned n = 0; n < MAX_OPS && in.left > 0; n++) {
        run_op(f, &in);
        check_counters(f, &clock);
    }
    peek(f, 0, DEV_SIZE);
    CHECK(memcmp(actual, model.bytes, DEV_SIZE) == 0);
    otk_flash_destroy(f);
    return 0;
}
