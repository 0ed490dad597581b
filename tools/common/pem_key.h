/* P-256 keys in PEM files for the programs (OpenSSL directly: the library's crypto port
 * only verifies, and a device never holds a private key). Used to configure a device's
 * manifest key and to sign manifests. */
#ifndef OTAKIT_PEM_KEY_H
#define OTAKIT_PEM_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/manifest.h"

/* The public point x || y of the P-256 key in a PEM file: a public key ("BEGIN PUBLIC
 * KEY") or a private one (its public half). false, with why, for anything else. */
bool pem_p256_public(const char *path, uint8_t xy[OTK_MANIFEST_KEY_LEN], otk_diag_t *why);

/* Sign data[0..len) with the P-256 private key in a PEM file: ECDSA over SHA-256, DER
 * into der (*der_len bytes). false, with why, when the key is not one. */
bool pem_p256_sign(const char *path, const void *data, size_t len,
                   uint8_t der[OTK_MANIFEST_SIG_DER_MAX], size_t *der_len, otk_diag_t *why);

#endif
