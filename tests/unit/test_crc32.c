/* CRC-32: the standard check value, zlib's continuation, and the implementations (slicing
 * by 8 and the PCLMULQDQ kernel in host builds, the nibble table of small builds) agreeing
 * on every length, and on every entry of the eight slicing tables; the kernel's constants
 * derived again from the polynomial. The nibble build is compiled here under other names
 * (its own copy of the dispatcher included: there it only calls the nibble routine). */
#define OTK_CONFIG_CRC32_TABLE 0
#define otk_crc32_update crc32_nibble
#define otk_crc32_portable crc32_nibble_portable
#define otk_crc32_clmul_available crc32_nibble_clmul_available
#include "core/crc32.c"
#undef otk_crc32_update
#undef otk_crc32_portable
#undef otk_crc32_clmul_available

#include <stdlib.h>
#include <string.h>

#include "otakit/rand.h"
#include "test_support.h"

/* The library's (slicing tables, the host default): the dispatcher, the table routine
 * alone, and whether the dispatcher takes the kernel on this CPU. */
uint32_t otk_crc32_update(uint32_t crc, const void *data, size_t len);
uint32_t otk_crc32_portable(uint32_t crc, const void *data, size_t len);
bool otk_crc32_clmul_available(void);

static void test_check_value(void **state)
{
    (void)state;
    const char *check = "123456789";
    assert_int_equal(otk_crc32_update(0, check, 9), 0xCBF43926u);
    assert_int_equal(crc32_nibble(0, check, 9), 0xCBF43926u);
    /* Continuation: crc(a || b) == crc(crc(a), b). */
    assert_int_equal(otk_crc32_update(otk_crc32_update(0, check, 4), check + 4, 5), 0xCBF43926u);
    assert_int_equal(otk_crc32_update(0, check, 0), 0);
    assert_int_equal(otk_crc32_update(0xdeadbeefu, check, 0), 0xdeadbeefu);
    assert_int_equal(otk_crc32_portable(0, check, 9), 0xCBF43926u);
    /* Long enough for the kernel (when the CPU has it); the value is Python's zlib.crc32. */
    uint8_t ramp[1000];
    for (size_t i = 0; i < sizeof ramp; i++) {
        ramp[i] = (uint8_t)(i * 7 + 3);
    }
    assert_int_equal(otk_crc32_update(0, ramp, sizeof ramp), 0x17bc2a46u);
    assert_int_equal(otk_crc32_portable(0, ramp, sizeof ramp), 0x17bc2a46u);
    assert_int_equal(crc32_nibble(0, ramp, sizeof ramp), 0x17bc2a46u);
}

static void test_implementations_agree(void **state)
{
    (void)state;
    uint8_t buf[1024];
    otk_rand_t r;
    otk_rand_seed(&r, 42);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)otk_rand_next(&r);
    }
    for (size_t len = 0; len <= sizeof buf; len += 1 + len / 8) {
        uint32_t seed = (uint32_t)otk_rand_next(&r);
        assert_int_equal(otk_crc32_update(seed, buf, len), crc32_nibble(seed, buf, len));
    }
}

/* Each of the 8 bytes of a block goes through its own table: one non-zero byte at each
 * position, all 256 values, reaches every entry of every table. */
static void test_every_table_entry(void **state)
{
    (void)state;
    for (size_t pos = 0; pos < 8; pos++) {
        for (unsigned v = 0; v < 256; v++) {
            uint8_t block[8] = {0};
            block[pos] = (uint8_t)v;
            assert_int_equal(otk_crc32_update(0, block, sizeof block),
                             crc32_nibble(0, block, sizeof block));
        }
    }
}

/* x^n mod P bit-reflected (bit i is x^(31-i)), one multiplication by x at a time: a shift
 * towards bit 0, the x^31 term leaving bit 0 coming back as x^32 = P's lower terms. */
static uint32_t xpow_mod_p(unsigned n)
{
    uint32_t r = 0x80000000u; /* x^0 */
    for (; n > 0; n--) {
        r = (r >> 1) ^ ((r & 1u) ? 0xedb88320u : 0u);
    }
    return r;
}

/* floor(x^64 / P) by long division, in the plain bit order (bit i is x^i). */
static uint64_t barrett_mu(void)
{
    const uint64_t p = 0x104c11db7ull;
    uint64_t rem = 0;
    uint64_t quot = 0;
    for (int bit = 64; bit >= 0; bit--) {
        rem = rem << 1 | (bit == 64);
        quot <<= 1;
        if (rem >> 32 & 1u) {
            rem ^= p;
            quot |= 1u;
        }
    }
    return quot;
}

static uint64_t reflect33(uint64_t v)
{
    uint64_t r = 0;
    for (int i = 0; i <= 32; i++) {
        r |= (v >> i & 1u) << (32 - i);
    }
    return r;
}

/* The kernel's constants are what their names say (that the names are the right powers,
 * only the kernel agreeing with the tables below shows). */
static void test_clmul_constants(void **state)
{
    (void)state;
    assert_int_equal(xpow_mod_p(32), 0xedb88320u); /* x^32 mod P: P's lower terms */
    assert_int_equal(OTK_CRC32_X575, xpow_mod_p(575));
    assert_int_equal(OTK_CRC32_X511, xpow_mod_p(511));
    assert_int_equal(OTK_CRC32_X191, xpow_mod_p(191));
    assert_int_equal(OTK_CRC32_X127, xpow_mod_p(127));
    assert_int_equal(OTK_CRC32_X95, xpow_mod_p(95));
    assert_int_equal(OTK_CRC32_X63, xpow_mod_p(63));
    uint64_t mu = barrett_mu();
    assert_int_equal(mu >> 32, 1); /* degree 32 */
    assert_int_equal(OTK_CRC32_MU_R33, reflect33(mu));
    assert_int_equal(OTK_CRC32_P_R33, reflect33(0x104c11db7ull));
}

/* Skips the test on a CPU without PCLMULQDQ and SSE4.1 (or a target without the kernel),
 * where the dispatcher is the table routine. Where the CPU has them the kernel must be in
 * use: a build that lost it fails here rather than skipping. */
static void require_clmul(void)
{
#if OTK_CONFIG_CRC32_CLMUL && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
        assert_true(otk_crc32_clmul_available());
    }
#endif
    if (!otk_crc32_clmul_available()) {
        skip();
    }
}

static void fill_random(uint8_t *buf, size_t len, otk_rand_t *r)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)otk_rand_next(r);
    }
}

static void check_same(uint32_t seed, const uint8_t *data, size_t len, size_t align)
{
    uint32_t fast = otk_crc32_update(seed, data, len);
    uint32_t tables = otk_crc32_portable(seed, data, len);
    if (fast != tables) {
        fail_msg("len %zu at alignment %zu, crc %08x: kernel %08x, tables %08x", len, align,
                 (unsigned)seed, (unsigned)fast, (unsigned)tables);
    }
}

/* Every length up to 4 KiB at every start modulo 16, each from a random register: whole
 * blocks and every tail, one block alone, loads across every offset. */
static void test_clmul_every_length_and_alignment(void **state)
{
    (void)state;
    require_clmul();
    static uint8_t buf[4096 + 16];
    otk_rand_t r;
    otk_rand_seed(&r, 7);
    fill_random(buf, sizeof buf, &r);
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= 4096; len++) {
            check_same((uint32_t)otk_rand_next(&r), buf + align, len, align);
        }
    }
}

/* Long inputs (many loop turns), odd lengths, odd starts; and 1 MiB of zeros against
 * Python's zlib.crc32. */
static void test_clmul_large(void **state)
{
    (void)state;
    require_clmul();
    const size_t size = (4u << 20) + 64;
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    memset(buf, 0, size);
    assert_int_equal(otk_crc32_update(0, buf, 1u << 20), 0xa738ea1cu);
    otk_rand_t r;
    otk_rand_seed(&r, 11);
    fill_random(buf, size, &r);
    const size_t lens[] = {1u << 20, (1u << 20) + 1, (4u << 20) + 7, (4u << 20) + 63};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t align = 0; align < 2; align++) {
            check_same((uint32_t)otk_rand_next(&r), buf + align, lens[i], align);
        }
    }
    free(buf);
}

/* Continuation across the fast path: the register handed from one call to the next (either
 * side long or short, split anywhere) gives the CRC of the whole. */
static void test_clmul_split_calls(void **state)
{
    (void)state;
    require_clmul();
    static uint8_t buf[16384];
    otk_rand_t r;
    otk_rand_seed(&r, 13);
    fill_random(buf, sizeof buf, &r);
    for (int trial = 0; trial < 3000; trial++) {
        /* Mostly short totals, where a split decides which side reaches a block. */
        size_t total = (size_t)otk_rand_below(&r, trial % 2 ? sizeof buf + 1 : 513);
        size_t a = (size_t)otk_rand_below(&r, total + 1);
        size_t b = a + (size_t)otk_rand_below(&r, total - a + 1);
        uint32_t seed = (uint32_t)otk_rand_next(&r);
        uint32_t crc = otk_crc32_update(seed, buf, a);
        crc = otk_crc32_update(crc, buf + a, b - a);
        crc = otk_crc32_update(crc, buf + b, total - b);
        if (crc != otk_crc32_portable(seed, buf, total)) {
            fail_msg("split %zu + %zu + %zu from %08x", a, b - a, total - b, (unsigned)seed);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_implementations_agree),
        cmocka_unit_test(test_every_table_entry),
        cmocka_unit_test(test_clmul_constants),
        cmocka_unit_test(test_clmul_every_length_and_alignment),
        cmocka_unit_test(test_clmul_large),
        cmocka_unit_test(test_clmul_split_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
