/* Signed-manifest test vectors: a P-256 key made for the tests (its public point), another
 * key, and manifests signed with the first (ECDSA over SHA-256, DER, made once with
 * `openssl dgst -sha256 -sign`; a signature is randomized, any valid one does). Every
 * manifest expires at MV_EXPIRES and has one app node "app.bin" (relative). */
#ifndef MANIFEST_VECTORS_H
#define MANIFEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/* 2030-01-01T00:00:00Z */
#define MV_EXPIRES 1893456000

extern const char MV_PUB_HEX[];  /* x || y of the test key */
extern const char MV_PUB2_HEX[]; /* another key's */

typedef struct {
    const char *text;
    const char *sig_hex;
} mv_signed_t;

extern const mv_signed_t MV_V5;      /* manifest_version 5 (72-byte signature) */
extern const mv_signed_t MV_V4;      /* 4: older (71 bytes, r without padding) */
extern const mv_signed_t MV_V5_SAME; /* 5 again, other bytes (node "other.bin") */
extern const mv_signed_t MV_V6;      /* 6 */
extern const mv_signed_t MV_NO_VERSION; /* signed, but no manifest_version */

/* Hex to bytes; returns the count. */
size_t mv_unhex(const char *hex, uint8_t *out);

#endif
