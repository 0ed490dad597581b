/* CRC-32: the standard check value, zlib's continuation, and the two implementations
 * (slicing by 8 in host builds, the nibble table of small builds) agreeing on every
 * length, and on every entry of the eight slicing tables. The nibble one is compiled here under another name. */
#define OTK_CONFIG_CRC32_TABLE 0
#define otk_crc32_update crc32_nibble
#include "core/crc32.c"
#undef otk_crc32_update

#include <string.h>

#include "otakit/rand.h"
#include "test_support.h"

uint32_t otk_crc32_update(uint32_t crc, const void *data, size_t len);

static void test_check_value(void **state)
{
    (void)state;
    const char *check = "123456789";
    assert_int_equal(otk_crc32_update(0, check, 9), 0xCBF43926u);
    assert_int_equal(crc32_nibble(0, check, 9), 0xCBF43926u);
    /* Continuation: crc(a || b) == crc(crc(a), b). */
    assert_int_equal(otk_crc32_update(otk_crc32_update(0, check, 4), check + 4, 5), 0xCBF43926u);
    assert_int_equal(otk_crc32_update(0, check, 0), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_implementations_agree),
        cmocka_unit_test(test_every_table_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
