/* The signature of a manifest (docs/manifest.md, "Signed manifests"): ECDSA P-256 over the
 * SHA-256 of the manifest's exact bytes, in a detached DER file beside it. DER because it
 * is what `openssl dgst -sha256 -sign` writes, so a publisher needs no otakit to sign.
 * The decoder is strict (one encoding per signature): a signature file is attacker input
 * and has no reason to be anything but canonical. The verification itself is the crypto
 * port's (otk_ecdsa_p256_verify). */
#include <string.h>

#include "otakit/manifest.h"

#define DER_SEQUENCE 0x30u
#define DER_INTEGER 0x02u
/* Lengths from 128 on take a long form; a P-256 signature never needs one. */
#define DER_SHORT_LEN_MAX 0x7Fu
#define DER_HIGH_BIT 0x80u
/* One INTEGER of r or s: a 32-byte number plus a leading 0 when its top bit is set. */
#define COORD OTK_P256_COORD_LEN
#define INT_MAX_LEN (COORD + 1u)

/* One INTEGER at der[*pos], minimal and positive, into out[COORD] right-aligned. */
static bool take_integer(const uint8_t *der, size_t len, size_t *pos, uint8_t out[COORD],
                         const char *name, otk_diag_t *diag)
{
    size_t p = *pos;
    if (len - p < 2 || der[p] != DER_INTEGER) {
        otk_diag_set(diag, "signature: %s: expected an INTEGER (0x02) at byte %zu", name, p);
        return false;
    }
    size_t n = der[p + 1];
    const uint8_t *v = der + p + 2;
    if (n == 0 || n > INT_MAX_LEN || n > len - p - 2) {
        otk_diag_set(diag, "signature: %s: %zu bytes long, expected 1 to %u inside the file",
                     name, n, (unsigned)INT_MAX_LEN);
        return false;
    }
    if ((v[0] & DER_HIGH_BIT) != 0) {
        otk_diag_set(diag, "signature: %s is negative", name);
        return false;
    }
    if (n > 1 && v[0] == 0 && (v[1] & DER_HIGH_BIT) == 0) {
        otk_diag_set(diag, "signature: %s has a leading zero byte it does not need", name);
        return false;
    }
    if (n == INT_MAX_LEN) { /* the leading 0 of a 256-bit number with its top bit set */
        if (v[0] != 0) {
            otk_diag_set(diag, "signature: %s is larger than 256 bits", name);
            return false;
        }
        v++;
        n--;
    }
    memset(out, 0, COORD);
    memcpy(out + COORD - n, v, n);
    *pos = p + 2 + der[p + 1];
    return true;
}

esp_err_t otk_manifest_sig_decode(const uint8_t *der, size_t len,
                                  uint8_t rs[OTK_MANIFEST_SIG_RS_LEN], otk_diag_t *diag)
{
    if (der == NULL || len < 2 || len > OTK_MANIFEST_SIG_DER_MAX || der[0] != DER_SEQUENCE) {
        otk_diag_set(diag, "signature: %zu bytes, not a DER ECDSA signature (SEQUENCE of r, s; "
                     "at most %u bytes)", len, (unsigned)OTK_MANIFEST_SIG_DER_MAX);
        return ESP_ERR_INVALID_ARG;
    }
    if (der[1] > DER_SHORT_LEN_MAX || (size_t)der[1] != len - 2) {
        otk_diag_set(diag, "signature: the SEQUENCE says %u bytes, the file has %zu after it",
                     (unsigned)der[1], len - 2);
        return ESP_ERR_INVALID_ARG;
    }
    size_t pos = 2;
    if (!take_integer(der, len, &pos, rs, "r", diag) ||
        !take_integer(der, len, &pos, rs + COORD, "s", diag)) {
        return ESP_ERR_INVALID_ARG;
    }
    if (pos != len) {
        otk_diag_set(diag, "signature: %zu bytes after s", len - pos);
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

/* One 32-byte big-endian number as a minimal DER INTEGER at out; returns its length. */
static size_t put_integer(const uint8_t v[COORD], uint8_t *out)
{
    size_t skip = 0;
    while (skip < COORD - 1 && v[skip] == 0) {
        skip++;
    }
    size_t n = COORD - skip;
    bool pad = (v[skip] & DER_HIGH_BIT) != 0;
    out[0] = DER_INTEGER;
    out[1] = (uint8_t)(n + (pad ? 1u : 0u));
    size_t at = 2;
    if (pad) {
        out[at++] = 0;
    }
    memcpy(out + at, v + skip, n);
    return at + n;
}

size_t otk_manifest_sig_encode(const uint8_t rs[OTK_MANIFEST_SIG_RS_LEN],
                               uint8_t der[OTK_MANIFEST_SIG_DER_MAX])
{
    size_t n = 2;
    n += put_integer(rs, der + n);
    n += put_integer(rs + COORD, der + n);
    der[0] = DER_SEQUENCE;
    der[1] = (uint8_t)(n - 2);
    return n;
}

bool otk_manifest_sig_uri(const char *manifest_uri, char *out, size_t cap)
{
    /* The fragment is never sent; the query belongs after the path's new suffix. */
    size_t end = strcspn(manifest_uri, "#");
    size_t path_end = strcspn(manifest_uri, "?#");
    size_t suffix = strlen(OTK_MANIFEST_SIG_SUFFIX);
    if (end + suffix >= cap) {
        return false;
    }
    memcpy(out, manifest_uri, path_end);
    memcpy(out + path_end, OTK_MANIFEST_SIG_SUFFIX, suffix);
    memcpy(out + path_end + suffix, manifest_uri + path_end, end - path_end);
    out[end + suffix] = '\0';
    return true;
}

esp_err_t otk_manifest_verify(const char *text, size_t len, const uint8_t *sig, size_t sig_len,
                              const uint8_t key[OTK_MANIFEST_KEY_LEN], otk_diag_t *diag)
{
    uint8_t rs[OTK_MANIFEST_SIG_RS_LEN];
    otk_diag_t why;
    otk_diag_clear(&why);
    if (otk_manifest_sig_decode(sig, sig_len, rs, &why) != ESP_OK) {
        otk_diag_set(diag, "%s", why.msg);
        return ESP_ERR_INVALID_CRC;
    }
    uint8_t digest[OTK_SHA256_LEN];
    otk_sha256(text, len, digest);
    esp_err_t err = otk_ecdsa_p256_verify(key, digest, rs);
    switch (err) {
    case ESP_OK:
        return ESP_OK;
    case ESP_ERR_NOT_SUPPORTED:
        otk_diag_set(diag, "signature: the crypto backend (%s) cannot verify ECDSA P-256",
                     otk_crypto_backend());
        return ESP_ERR_NOT_SUPPORTED;
    case ESP_ERR_INVALID_ARG:
        /* The key was checked when it was configured, so this is r or s out of range. */
        otk_diag_set(diag, "signature: r or s is out of range for P-256 (or the device's "
                     "manifest key is not a P-256 point)");
        return ESP_ERR_INVALID_CRC;
    default:
        otk_diag_set(diag, "signature: does not verify under the device's manifest key (signed "
                     "by another key, or the manifest's bytes were changed)");
        return ESP_ERR_INVALID_CRC;
    }
}
