/* What every crypto backend checks itself before it hands a public key to its library, so
 * that all of them sort the same inputs into the same errors (crypto.h: a malformed key is
 * ESP_ERR_INVALID_ARG, a signature that does not verify ESP_ERR_IMAGE_INVALID), whatever
 * the library would have said. Private to src/port. */
#ifndef OTAKIT_CRYPTO_SIG_RULES_H
#define OTAKIT_CRYPTO_SIG_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "otakit/crypto.h"

/* espsecure signs RSA-PSS with salt_length=32 (sign_secure_boot_v2 and its verify), and
 * the port verifies exactly that: a signature with another salt length is not one
 * espsecure could have made. */
#define OTK_RSA_PSS_SALT_LEN 32u
/* The smallest public exponent an RSA key can have (e must be odd and > 1). */
#define OTK_RSA_MIN_EXPONENT 3u

/* A 3072-bit RSA public key: the modulus's top bit is set (espsecure accepts keys of
 * exactly 3072 bits), it is odd (a product of two odd primes), and e is odd and >= 3. */
static inline bool otk_rsa3072_key_shape_ok(const uint8_t n[OTK_RSA3072_LEN], uint32_t e)
{
    return (n[0] & 0x80u) != 0 && (n[OTK_RSA3072_LEN - 1u] & 1u) != 0 &&
           e >= OTK_RSA_MIN_EXPONENT && (e & 1u) != 0;
}

#endif
