/* Crypto port backend: SHA-256 (FIPS 180-4) and MD5 (RFC 1321) in plain C, for a target
 * with no crypto library at hand (the Cortex-M4 example build, ports/cortex-m4). Small and
 * slow on purpose: a rolling 16-word message schedule keeps SHA-256's stack at 64 bytes
 * of schedule (the boot path's stack budget), and nothing is unrolled. A product would
 * use mbedTLS (crypto_mbedtls.c) or its chip's hash engine behind the same port.
 *
 * The constants are defined by the standards: SHA-256's K are the first 32 bits of the
 * fractional parts of the cube roots of the first 64 primes and its initial H those of the
 * square roots of the first 8; MD5's T[i] is floor(|sin(i + 1)| * 2^32). Checked against
 * the published vectors by tests/unit/test_crypto.c (scripts/cross-build.sh runs it). */
#include "otakit/crypto.h"

#include <string.h>

#define BLOCK_LEN 64u
/* The last 8 bytes of the final block hold the message length in bits. */
#define LENGTH_FIELD 8u
#define PAD_START 0x80u

typedef struct {
    uint32_t state[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[BLOCK_LEN];
    uint32_t fill;  /* bytes waiting in block */
} tiny_hash_t;

_Static_assert(sizeof(tiny_hash_t) <= sizeof(otk_sha256_ctx_t), "otk_sha256_ctx_t too small");
_Static_assert(sizeof(tiny_hash_t) <= sizeof(otk_md5_ctx_t), "otk_md5_ctx_t too small");
_Static_assert(_Alignof(tiny_hash_t) <= _Alignof(otk_sha256_ctx_t), "context under-aligned");
_Static_assert(_Alignof(tiny_hash_t) <= _Alignof(otk_md5_ctx_t), "context under-aligned");

typedef void (*compress_fn)(uint32_t *state, const uint8_t *block);

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Both hashes share the Merkle-Damgard framing: buffer to 64-byte blocks, then pad with
 * 0x80, zeros and the bit length (big-endian for SHA-256, little-endian for MD5). */
static void hash_update(tiny_hash_t *h, const void *data, size_t len, compress_fn compress)
{
    const uint8_t *p = data;
    h->total += len;
    while (len > 0) {
        if (h->fill == 0 && len >= BLOCK_LEN) {
            compress(h->state, p);
            p += BLOCK_LEN;
            len -= BLOCK_LEN;
            continue;
        }
        size_t take = BLOCK_LEN - h->fill < len ? BLOCK_LEN - h->fill : len;
        memcpy(h->block + h->fill, p, take);
        h->fill += (uint32_t)take;
        p += take;
        len -= take;
        if (h->fill == BLOCK_LEN) {
            compress(h->state, h->block);
            h->fill = 0;
        }
    }
}

static void hash_pad(tiny_hash_t *h, compress_fn compress, int big_endian)
{
    uint64_t bits = h->total * 8u;
    h->block[h->fill++] = PAD_START;
    if (h->fill > BLOCK_LEN - LENGTH_FIELD) {
        memset(h->block + h->fill, 0, BLOCK_LEN - h->fill);
        compress(h->state, h->block);
        h->fill = 0;
    }
    memset(h->block + h->fill, 0, BLOCK_LEN - LENGTH_FIELD - h->fill);
    for (unsigned i = 0; i < LENGTH_FIELD; i++) {
        unsigned shift = big_endian ? 8u * (LENGTH_FIELD - 1u - i) : 8u * i;
        h->block[BLOCK_LEN - LENGTH_FIELD + i] = (uint8_t)(bits >> shift);
    }
    compress(h->state, h->block);
    h->fill = 0;
}

/* ---- SHA-256 --------------------------------------------------------------------------- */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static const uint32_t sha256_h0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
    0x5be0cd19,
};

#define SHA256_ROUNDS 64u
#define SCHEDULE_WORDS 16u

static void sha256_compress(uint32_t *state, const uint8_t *block)
{
    uint32_t w[SCHEDULE_WORDS];
    uint32_t v[8];
    memcpy(v, state, sizeof v);
    for (unsigned t = 0; t < SHA256_ROUNDS; t++) {
        uint32_t wt;
        if (t < SCHEDULE_WORDS) {
            wt = load_be32(block + 4u * t);
        } else {
            /* w[t] from w[t-2], w[t-7], w[t-15], w[t-16], kept in a ring of 16. */
            uint32_t w2 = w[(t - 2u) % SCHEDULE_WORDS];
            uint32_t w15 = w[(t - 15u) % SCHEDULE_WORDS];
            uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
            uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
            wt = s1 + w[(t - 7u) % SCHEDULE_WORDS] + s0 + w[t % SCHEDULE_WORDS];
        }
        w[t % SCHEDULE_WORDS] = wt;
        uint32_t a = v[0], e = v[4];
        uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & v[5]) ^ (~e & v[6]);
        uint32_t t1 = v[7] + big_s1 + ch + sha256_k[t] + wt;
        uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]);
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + big_s0 + maj;
    }
    for (unsigned i = 0; i < 8; i++) {
        state[i] += v[i];
    }
}

void otk_sha256_init(otk_sha256_ctx_t *ctx)
{
    tiny_hash_t *h = (tiny_hash_t *)ctx;
    memset(h, 0, sizeof *h);
    memcpy(h->state, sha256_h0, sizeof sha256_h0);
}

void otk_sha256_update(otk_sha256_ctx_t *ctx, const void *data, size_t len)
{
    hash_update((tiny_hash_t *)ctx, data, len, sha256_compress);
}

void otk_sha256_final(otk_sha256_ctx_t *ctx, uint8_t out[OTK_SHA256_LEN])
{
    tiny_hash_t *h = (tiny_hash_t *)ctx;
    hash_pad(h, sha256_compress, 1);
    for (unsigned i = 0; i < 8; i++) {
        for (unsigned b = 0; b < 4; b++) {
            out[4 * i + b] = (uint8_t)(h->state[i] >> (24u - 8u * b));
        }
    }
}

void otk_sha256(const void *data, size_t len, uint8_t out[OTK_SHA256_LEN])
{
    otk_sha256_ctx_t ctx;
    otk_sha256_init(&ctx);
    otk_sha256_update(&ctx, data, len);
    otk_sha256_final(&ctx, out);
}

/* ---- MD5 ------------------------------------------------------------------------------- */

static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
};

/* Left-rotation amounts, four per round (RFC 1321 section 3.4). */
static const uint8_t md5_shift[4][4] = {
    {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static const uint32_t md5_h0[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};

#define MD5_STEPS 64u
#define MD5_STEPS_PER_ROUND 16u

static void md5_compress(uint32_t *state, const uint8_t *block)
{
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (unsigned i = 0; i < MD5_STEPS; i++) {
        unsigned round = i / MD5_STEPS_PER_ROUND;
        uint32_t f;
        unsigned g;
        switch (round) {
        case 0:
            f = (b & c) | (~b & d);
            g = i;
            break;
        case 1:
            f = (b & d) | (c & ~d);
            g = 5u * i + 1u;
            break;
        case 2:
            f = b ^ c ^ d;
            g = 3u * i + 5u;
            break;
        default:
            f = c ^ (b | ~d);
            g = 7u * i;
            break;
        }
        uint32_t m = load_le32(block + 4u * (g % MD5_STEPS_PER_ROUND));
        uint32_t sum = a + f + md5_t[i] + m;
        a = d;
        d = c;
        c = b;
        b = b + rotl(sum, md5_shift[round][i % 4u]);
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void otk_md5_init(otk_md5_ctx_t *ctx)
{
    tiny_hash_t *h = (tiny_hash_t *)ctx;
    memset(h, 0, sizeof *h);
    memcpy(h->state, md5_h0, sizeof md5_h0);
}

void otk_md5_update(otk_md5_ctx_t *ctx, const void *data, size_t len)
{
    hash_update((tiny_hash_t *)ctx, data, len, md5_compress);
}

void otk_md5_final(otk_md5_ctx_t *ctx, uint8_t out[OTK_MD5_LEN])
{
    tiny_hash_t *h = (tiny_hash_t *)ctx;
    hash_pad(h, md5_compress, 0);
    for (unsigned i = 0; i < 4; i++) {
        for (unsigned b = 0; b < 4; b++) {
            out[4 * i + b] = (uint8_t)(h->state[i] >> (8u * b));
        }
    }
}

void otk_md5(const void *data, size_t len, uint8_t out[OTK_MD5_LEN])
{
    otk_md5_ctx_t ctx;
    otk_md5_init(&ctx);
    otk_md5_update(&ctx, data, len);
    otk_md5_final(&ctx, out);
}

const char *otk_crypto_backend(void)
{
    return "tiny (portable C SHA-256 and MD5)";
}

/* ---- signatures -------------------------------------------------------------------------
 * No public-key code here: a target that verifies signed images links mbedTLS (or its
 * chip's RSA / ECDSA engine) behind the same port. Answering "not supported" keeps a
 * secure-boot check on this backend failing closed. */

esp_err_t otk_rsa3072_pss_verify(const uint8_t n[OTK_RSA3072_LEN], uint32_t e,
                                 const uint8_t digest[OTK_SHA256_LEN],
                                 const uint8_t signature[OTK_RSA3072_LEN])
{
    (void)n;
    (void)e;
    (void)digest;
    (void)signature;
    return ESP_ERR_NOT_SUPPORTED;
}

esp_err_t otk_ecdsa_p256_verify(const uint8_t pub[2 * OTK_P256_COORD_LEN],
                                const uint8_t digest[OTK_SHA256_LEN],
                                const uint8_t sig[2 * OTK_P256_COORD_LEN])
{
    (void)pub;
    (void)digest;
    (void)sig;
    return ESP_ERR_NOT_SUPPORTED;
}
