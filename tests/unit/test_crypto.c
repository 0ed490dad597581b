/* The crypto port (otakit/crypto.h) against published test vectors: FIPS 180-2's SHA-256
 * examples and RFC 1321's MD5 test suite. The same file runs with every backend
 * (-DOTAKIT_CRYPTO=openssl|mbedtls), so each gives the same digests; messages are also fed
 * in uneven pieces, since the core streams images through the port in chunks of any size. */
#include <stdio.h>
#include <string.h>

#include "otakit/crypto.h"
#include "test_support.h"

/* FIPS 180-2 appendix B.3: one million 'a'. */
#define MILLION_A 1000000u
/* Piece sizes that straddle the 64-byte block in every way: 1, a prime, a block + 1. */
static const size_t piece_sizes[] = {1, 7, 63, 64, 65, 1000};

typedef struct {
    const char *msg;
    const char *hex;
} vector_t;

static const vector_t sha256_vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

static const vector_t md5_vectors[] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "d174ab98d277d9f5a5611c2c9f419d9f"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void assert_digest(const uint8_t *digest, size_t len, const char *want_hex)
{
    char hex[2 * OTK_SHA256_LEN + 1];
    ts_hex(digest, len, hex);
    assert_string_equal(hex, want_hex);
}

static void sha256_in_pieces(const char *msg, size_t piece, uint8_t out[OTK_SHA256_LEN])
{
    otk_sha256_ctx_t ctx;
    size_t len = strlen(msg);
    otk_sha256_init(&ctx);
    for (size_t done = 0; done < len; done += piece) {
        otk_sha256_update(&ctx, msg + done, len - done < piece ? len - done : piece);
    }
    otk_sha256_final(&ctx, out);
}

static void md5_in_pieces(const char *msg, size_t piece, uint8_t out[OTK_MD5_LEN])
{
    otk_md5_ctx_t ctx;
    size_t len = strlen(msg);
    otk_md5_init(&ctx);
    for (size_t done = 0; done < len; done += piece) {
        otk_md5_update(&ctx, msg + done, len - done < piece ? len - done : piece);
    }
    otk_md5_final(&ctx, out);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    for (size_t v = 0; v < COUNT(sha256_vectors); v++) {
        uint8_t out[OTK_SHA256_LEN];
        otk_sha256(sha256_vectors[v].msg, strlen(sha256_vectors[v].msg), out);
        assert_digest(out, sizeof out, sha256_vectors[v].hex);
        for (size_t p = 0; p < COUNT(piece_sizes); p++) {
            memset(out, 0, sizeof out);
            sha256_in_pieces(sha256_vectors[v].msg, piece_sizes[p], out);
            assert_digest(out, sizeof out, sha256_vectors[v].hex);
        }
    }
}

static void test_sha256_million_a(void **state)
{
    (void)state;
    /* Fed in 999-byte pieces: the pieces never line up with a block. */
    enum { PIECE = 999 };
    char piece[PIECE];
    memset(piece, 'a', sizeof piece);
    otk_sha256_ctx_t ctx;
    otk_sha256_init(&ctx);
    for (size_t done = 0; done < MILLION_A; done += PIECE) {
        otk_sha256_update(&ctx, piece, MILLION_A - done < PIECE ? MILLION_A - done : PIECE);
    }
    uint8_t out[OTK_SHA256_LEN];
    otk_sha256_final(&ctx, out);
    assert_digest(out, sizeof out,
                  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_md5_vectors(void **state)
{
    (void)state;
    for (size_t v = 0; v < COUNT(md5_vectors); v++) {
        uint8_t out[OTK_MD5_LEN];
        otk_md5(md5_vectors[v].msg, strlen(md5_vectors[v].msg), out);
        assert_digest(out, sizeof out, md5_vectors[v].hex);
        for (size_t p = 0; p < COUNT(piece_sizes); p++) {
            memset(out, 0, sizeof out);
            md5_in_pieces(md5_vectors[v].msg, piece_sizes[p], out);
            assert_digest(out, sizeof out, md5_vectors[v].hex);
        }
    }
}

/* A context is plain data: a copy taken mid-stream finishes on its own (the image
 * verifier is copied to checkpoint a verification). */
static void test_context_copy(void **state)
{
    (void)state;
    const char *msg = sha256_vectors[2].msg;
    size_t half = strlen(msg) / 2;
    otk_sha256_ctx_t a, b;
    otk_sha256_init(&a);
    otk_sha256_update(&a, msg, half);
    memcpy(&b, &a, sizeof a);
    otk_sha256_update(&a, msg + half, strlen(msg) - half);
    otk_sha256_update(&b, msg + half, strlen(msg) - half);
    uint8_t da[OTK_SHA256_LEN], db[OTK_SHA256_LEN];
    otk_sha256_final(&a, da);
    otk_sha256_final(&b, db);
    assert_digest(da, sizeof da, sha256_vectors[2].hex);
    assert_memory_equal(da, db, sizeof da);
}

static void test_backend_named(void **state)
{
    (void)state;
    const char *name = otk_crypto_backend();
    assert_non_null(name);
    assert_true(strlen(name) > 0);
    printf("crypto backend: %s\n", name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test(test_md5_vectors),    cmocka_unit_test(test_context_copy),
        cmocka_unit_test(test_backend_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
