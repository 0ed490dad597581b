/* CRC-32 by carry-less multiplication (PCLMULQDQ), x86-64 only: about 15 GB/s where slicing
 * by 8 does 2.2 (AMD EPYC, 4 MiB input). crc32.c calls it for the whole 64-byte blocks of
 * an input once the CPU is known to have the instructions, and finishes the tail with its
 * tables.
 *
 * The algebra. The CRC register after a message M (first bit = highest power, the initial
 * register XORed into its first 32 bits) is M(x) * x^32 mod P. Any change to M that keeps
 * M(x) mod P leaves it unchanged, so a 128-bit piece A standing D bits before a later piece
 * B can be replaced by something congruent to A * x^D added into B: "folding". Splitting A
 * into 64-bit halves, A = H * x^64 + L, that is H * (x^(D+64) mod P) + L * (x^D mod P): two
 * 64 x 32-bit products, at most 96 bits, so A is gone and B is as wide as before. Four
 * lanes fold 512 bits ahead, independent of each other (the multiplier's latency hides
 * behind the other three); at the end they fold into one, and that one is reduced.
 *
 * The bit order. The CRC is reflected: a little-endian 128-bit load puts the message's
 * first bit in bit 0, so bit j of a lane is the coefficient of x^(127-j) (of x^(63-j) in a
 * 64-bit half). PCLMULQDQ multiplies integers: bit k of its result is the coefficient of
 * x^(126-k) of the product, which read as a lane is the product times x. A constant c of
 * degree < 32 sits in the upper 32 bits of its half, bit-reflected, so its half reads as c
 * and clmul(h, c) reads as h * c * x, in bits 32..127. Hence the exponents are one short:
 * folding D bits ahead multiplies H by x^(D+63) mod P and L by x^(D-1) mod P. */
#include "crc32_internal.h"

#if OTK_CRC32_CLMUL
#include <immintrin.h>

/* Only the functions of this file are compiled for PCLMULQDQ and SSE4.1 (not the whole
 * library with -mpclmul), so the library runs on any x86-64 and crc32.c enters here only
 * after asking the CPU. Helpers need the attribute too, or they could not be inlined. */
#define CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

/* Two folding or reduction constants (reflected remainders, as named in
 * crc32_internal.h): lo for the low 64-bit half of a lane (the first 8 bytes), hi for the
 * high half, each in the upper 32 bits of its half (see above). */
CLMUL_TARGET static inline __m128i clmul_consts(uint32_t lo, uint32_t hi)
{
    return _mm_set_epi32((int)hi, 0, (int)lo, 0);
}

CLMUL_TARGET static inline __m128i clmul_load(const uint8_t *p)
{
    /* Any alignment: the caller's buffer is only byte-aligned. */
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* a folded onto next, which stands as many bits ahead as k was made for. */
CLMUL_TARGET static inline __m128i clmul_fold(__m128i a, __m128i k, __m128i next)
{
    __m128i first = _mm_clmulepi64_si128(a, k, 0x00);  /* H * k.lo */
    __m128i last = _mm_clmulepi64_si128(a, k, 0x11);   /* L * k.hi */
    return _mm_xor_si128(_mm_xor_si128(first, last), next);
}

/* The CRC register of the message whose last 128 bits are a (everything before it folded
 * in): a(x) * x^32 mod P, reduced to 96 bits, then 64, then 32 by Barrett's method. */
CLMUL_TARGET static uint32_t clmul_reduce(__m128i a)
{
    const __m128i k = clmul_consts(OTK_CRC32_X95, OTK_CRC32_X63);
    /* a * x^32 = H * x^96 + L * x^32. H * x^95 * x (clmul's extra x) is at most 96 bits,
     * bits 32..127; L * x^32 is a moved 32 bits towards bit 0 (a bit down is a power up),
     * with the 32 bits of H that the move brings into bits 0..31 cleared. Their sum g is
     * congruent to a * x^32, 96 bits in bits 32..127. */
    __m128i l32 = _mm_blend_epi16(_mm_srli_si128(a, 4), _mm_setzero_si128(), 0x03);
    __m128i g = _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00), l32);
    /* g = G1 * x^64 + G0 with G1 the 32 bits in g's low half (its lower 32 bits are zero,
     * so that half reads as G1): G1 * x^63 * x lands in the high half, on G0. t, 64 bits,
     * is g's high half afterwards. */
    __m128i t = _mm_xor_si128(_mm_clmulepi64_si128(g, k, 0x10), g);
    /* Barrett: with t = T1 * x^32 + T0, the quotient t / P is q = (T1 * mu) / x^32 exactly
     * (polynomials have no carries to correct for), mu = x^64 / P; the remainder is then
     * T0 + (q * P mod x^32). mu and P, 33 bits each, sit reflected in bits 0..32 of their
     * halves, which reads as mu * x^31: the product reads as T1 * mu * x^32, putting q in
     * the upper 32 bits of the low half, again a half that reads as q. */
    const __m128i b = _mm_set_epi64x((long long)OTK_CRC32_P_R33, (long long)OTK_CRC32_MU_R33);
    __m128i t1 = _mm_slli_epi64(t, 32);               /* T1 alone, upper half */
    __m128i q = _mm_clmulepi64_si128(t1, b, 0x01);    /* T1 * mu */
    __m128i qp = _mm_clmulepi64_si128(q, b, 0x10);    /* q * P * x^32: low terms in dword 2 */
    /* t moved 32 bits towards bit 0 is t * x^32, T0 in dword 2 too; there a dword's bit i is the
     * coefficient of x^(31-i) of the remainder: the register's own bit order. */
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(qp, _mm_srli_si128(t, 4)), 2);
}

CLMUL_TARGET uint32_t otk_crc32_clmul_blocks(uint32_t reg, const void *data, size_t len)
{
    const uint8_t *p = data;
    /* The register enters as the XOR of the message's first 32 bits (what the tables'
     * crc ^ le32(p) does). */
    __m128i x0 = _mm_xor_si128(clmul_load(p), _mm_cvtsi32_si128((int)reg));
    __m128i x1 = clmul_load(p + 16);
    __m128i x2 = clmul_load(p + 32);
    __m128i x3 = clmul_load(p + 48);
    const __m128i k512 = clmul_consts(OTK_CRC32_X575, OTK_CRC32_X511);
    for (p += 64, len -= 64; len > 0; p += 64, len -= 64) {
        x0 = clmul_fold(x0, k512, clmul_load(p));
        x1 = clmul_fold(x1, k512, clmul_load(p + 16));
        x2 = clmul_fold(x2, k512, clmul_load(p + 32));
        x3 = clmul_fold(x3, k512, clmul_load(p + 48));
    }
    /* Each lane onto the next, 128 bits ahead, leaving one lane: the message's last 128
     * bits with everything before folded into them. */
    const __m128i k128 = clmul_consts(OTK_CRC32_X191, OTK_CRC32_X127);
    x1 = clmul_fold(x0, k128, x1);
    x2 = clmul_fold(x1, k128, x2);
    x3 = clmul_fold(x2, k128, x3);
    return clmul_reduce(x3);
}
#endif
