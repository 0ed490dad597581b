#include "otakit/crc32.h"

#include "crc32_internal.h"
#include "otakit/config.h"

#if OTK_CONFIG_CRC32_TABLE
/* Slicing by 8 (8 KiB of tables): eight bytes per step, about five times the speed of a
 * byte table; the control path checks every frame and every write's data with it, on both
 * ends. crc_slice[k][n] is the register after byte n followed by k zero bytes. The CRC is
 * linear, so an entry is the XOR of the entries of n's set bits: the tables are built at
 * compile time from those 8 single-bit entries of each (no init, nothing to race on). */
#define CRC_SLICE0 0x77073096u, 0xee0e612cu, 0x076dc419u, 0x0edb8832u, \
                   0x1db71064u, 0x3b6e20c8u, 0x76dc4190u, 0xedb88320u
#define CRC_SLICE1 0x191b3141u, 0x32366282u, 0x646cc504u, 0xc8d98a08u, \
                   0x4ac21251u, 0x958424a2u, 0xf0794f05u, 0x3b83984bu
#define CRC_SLICE2 0x01c26a37u, 0x0384d46eu, 0x0709a8dcu, 0x0e1351b8u, \
                   0x1c26a370u, 0x384d46e0u, 0x709a8dc0u, 0xe1351b80u
#define CRC_SLICE3 0xb8bc6765u, 0xaa09c88bu, 0x8f629757u, 0xc5b428efu, \
                   0x5019579fu, 0xa032af3eu, 0x9b14583du, 0xed59b63bu
#define CRC_SLICE4 0x3d6029b0u, 0x7ac05360u, 0xf580a6c0u, 0x30704bc1u, \
                   0x60e09782u, 0xc1c12f04u, 0x58f35849u, 0xb1e6b092u
#define CRC_SLICE5 0xcb5cd3a5u, 0x4dc8a10bu, 0x9b914216u, 0xec53826du, \
                   0x03d6029bu, 0x07ac0536u, 0x0f580a6cu, 0x1eb014d8u
#define CRC_SLICE6 0xa6770bb4u, 0x979f1129u, 0xf44f2413u, 0x33ef4e67u, \
                   0x67de9cceu, 0xcfbd399cu, 0x440b7579u, 0x8816eaf2u
#define CRC_SLICE7 0xccaa009eu, 0x4225077du, 0x844a0efau, 0xd3e51bb5u, \
                   0x7cbb312bu, 0xf9766256u, 0x299dc2edu, 0x533b85dau
#define CRC_BIT(n, i, v) ((((unsigned)(n) >> (i)) & 1u) ? (v) : 0u)
#define CRC_ENTRY(n, b0, b1, b2, b3, b4, b5, b6, b7)                                       \
    (CRC_BIT(n, 0, b0) ^ CRC_BIT(n, 1, b1) ^ CRC_BIT(n, 2, b2) ^ CRC_BIT(n, 3, b3) ^      \
     CRC_BIT(n, 4, b4) ^ CRC_BIT(n, 5, b5) ^ CRC_BIT(n, 6, b6) ^ CRC_BIT(n, 7, b7))
#define CRC_ROW4(n, ...)                                                                    \
    CRC_ENTRY((n), __VA_ARGS__), CRC_ENTRY((n) + 1, __VA_ARGS__),                          \
        CRC_ENTRY((n) + 2, __VA_ARGS__), CRC_ENTRY((n) + 3, __VA_ARGS__)
#define CRC_ROW16(n, ...)                                                                   \
    CRC_ROW4((n), __VA_ARGS__), CRC_ROW4((n) + 4, __VA_ARGS__),                            \
        CRC_ROW4((n) + 8, __VA_ARGS__), CRC_ROW4((n) + 12, __VA_ARGS__)
#define CRC_ROW64(n, ...)                                                                   \
    CRC_ROW16((n), __VA_ARGS__), CRC_ROW16((n) + 16, __VA_ARGS__),                         \
        CRC_ROW16((n) + 32, __VA_ARGS__), CRC_ROW16((n) + 48, __VA_ARGS__)
#define CRC_TABLE(...)                                                                      \
    {                                                                                       \
        CRC_ROW64(0, __VA_ARGS__), CRC_ROW64(64, __VA_ARGS__), CRC_ROW64(128, __VA_ARGS__), \
            CRC_ROW64(192, __VA_ARGS__)                                                     \
    }

static const uint32_t crc_slice[8][256] = {
    CRC_TABLE(CRC_SLICE0), CRC_TABLE(CRC_SLICE1), CRC_TABLE(CRC_SLICE2), CRC_TABLE(CRC_SLICE3),
    CRC_TABLE(CRC_SLICE4), CRC_TABLE(CRC_SLICE5), CRC_TABLE(CRC_SLICE6), CRC_TABLE(CRC_SLICE7),
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The raw register (not inverted) after len bytes: the portable routine, and the head and
 * tail of the fast path, which hands the register back and forth. */
static uint32_t crc32_tables(uint32_t crc, const uint8_t *p, size_t len)
{
    for (; len >= 8; p += 8, len -= 8) {
        uint32_t lo = crc ^ le32(p);
        uint32_t hi = le32(p + 4);
        crc = crc_slice[7][lo & 0xffu] ^ crc_slice[6][(lo >> 8) & 0xffu] ^
              crc_slice[5][(lo >> 16) & 0xffu] ^ crc_slice[4][lo >> 24] ^
              crc_slice[3][hi & 0xffu] ^ crc_slice[2][(hi >> 8) & 0xffu] ^
              crc_slice[1][(hi >> 16) & 0xffu] ^ crc_slice[0][hi >> 24];
    }
    for (; len > 0; p++, len--) {
        crc = (crc >> 8) ^ crc_slice[0][(crc ^ *p) & 0xffu];
    }
    return crc;
}

uint32_t otk_crc32_portable(uint32_t crc, const void *data, size_t len)
{
    return ~crc32_tables(~crc, data, len);
}
#else
/* Bitwise with a nibble table: 16 words of table, for builds where 1 KiB of text counts
 * more than speed (otadata and signature blocks need only a few bytes). */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t otk_crc32_portable(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xf];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xf];
    }
    return ~crc;
}
#endif

bool otk_crc32_clmul_available(void)
{
#if OTK_CRC32_CLMUL
    /* Asked every time rather than remembered: the core keeps no mutable globals, and the
     * answer is two loads and a bit test of the CPU model that libgcc's (or compiler-rt's)
     * constructor fills before main and never changes after, so any thread may ask. */
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#else
    return false;
#endif
}

uint32_t otk_crc32_update(uint32_t crc, const void *data, size_t len)
{
#if OTK_CRC32_CLMUL
    if (len >= OTK_CRC32_CLMUL_MIN && otk_crc32_clmul_available()) {
        /* Whole 64-byte blocks by carry-less multiplication, the rest by the tables. */
        size_t blocks = len & ~(size_t)63;
        uint32_t reg = otk_crc32_clmul_blocks(~crc, data, blocks);
        return ~crc32_tables(reg, (const uint8_t *)data + blocks, len - blocks);
    }
#endif
    return otk_crc32_portable(crc, data, len);
}
