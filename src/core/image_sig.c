/* Secure Boot v2 signature blocks (spec §6.9): what a block is, its key digest, and the
 * check of a signature sector against the key digests a device trusts.
 *
 * The rules are ESP-IDF's (secure_boot_signatures_app.c, the ROM's
 * ets_secure_boot_verify_signature): a block counts only with the magic 0xE7 and a good
 * CRC; its key digest must be one of the eFuse digests; the digest it carries must be the
 * image's; and its signature must verify. Any one such block admits the image, whichever
 * of the three it is. espsecure's block layout (sign_secure_boot_v2) fixes the offsets.
 *
 * The stream (image_stream.c) computes the image's digest; this file reads the sector. */
#include <string.h>

#include "image_internal.h"

#include "otakit/crc32.h"

/* Bytes of key material a block's digest covers, by scheme: RSA n, e, rinv, mdash; ECDSA
 * curve id and the point (espsecure digest_sbv2_public_key). */
#define RSA_KEY_END OTK_IMAGE_SIG_OFF_RSA_SIG
#define EC_KEY_END OTK_IMAGE_SIG_OFF_EC_SIG
/* Hex digits of a digest a message quotes: enough to tell keys apart at a glance. */
#define DIGEST_QUOTE_HEX 16u

const char *otk_image_sig_scheme_name(uint8_t version)
{
    switch (version) {
    case OTK_IMAGE_SIG_VERSION_RSA:
        return "RSA-3072";
    case OTK_IMAGE_SIG_VERSION_ECDSA:
        return "ECDSA";
    default:
        return "unknown";
    }
}

const char *otk_image_sig_status_name(otk_image_sig_status_t status)
{
    static const char *const names[] = {
        [OTK_IMAGE_SIG_ABSENT] = "absent",
        [OTK_IMAGE_SIG_BAD_CRC] = "bad CRC",
        [OTK_IMAGE_SIG_BAD_VERSION] = "unknown version",
        [OTK_IMAGE_SIG_UNSUPPORTED] = "unsupported scheme",
        [OTK_IMAGE_SIG_PRESENT] = "present",
        [OTK_IMAGE_SIG_UNTRUSTED] = "untrusted key",
        [OTK_IMAGE_SIG_DIGEST_MISMATCH] = "digest mismatch",
        [OTK_IMAGE_SIG_BAD_KEY] = "bad key",
        [OTK_IMAGE_SIG_BAD_SIGNATURE] = "bad signature",
        [OTK_IMAGE_SIG_NO_CRYPTO] = "cannot verify",
        [OTK_IMAGE_SIG_VERIFIED] = "verified",
    };
    if ((unsigned)status >= sizeof names / sizeof names[0]) {
        return "?";
    }
    return names[status];
}

bool otk_image_sig_digest_blank(const uint8_t digest[OTK_SHA256_LEN])
{
    uint8_t any = 0;
    for (size_t i = 0; i < OTK_SHA256_LEN; i++) {
        any |= digest[i];
    }
    return any == 0;
}

/* Where a block's key material ends, or 0 for a scheme this code does not take: only
 * RSA-3072 and ECDSA P-256 with SHA-256 (P-192 and P-384 blocks exist; no chip of ours
 * needs them). */
static uint32_t key_end(const uint8_t *block)
{
    if (block[OTK_IMAGE_SIG_OFF_VERSION] == OTK_IMAGE_SIG_VERSION_RSA) {
        return RSA_KEY_END;
    }
    if (block[OTK_IMAGE_SIG_OFF_VERSION] == OTK_IMAGE_SIG_VERSION_ECDSA &&
        block[OTK_IMAGE_SIG_OFF_SHA_TYPE] == OTK_IMAGE_SIG_ECDSA_SHA256 &&
        block[OTK_IMAGE_SIG_OFF_KEY] == OTK_IMAGE_SIG_CURVE_P256) {
        return EC_KEY_END;
    }
    return 0;
}

esp_err_t otk_image_sig_key_digest(const uint8_t block[OTK_IMAGE_SIG_BLOCK_LEN],
                                   uint8_t out[OTK_SHA256_LEN])
{
    uint32_t end = block != NULL ? key_end(block) : 0;
    if (end == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_sha256(block + OTK_IMAGE_SIG_OFF_KEY, end - OTK_IMAGE_SIG_OFF_KEY, out);
    return ESP_OK;
}

#if OTK_CONFIG_SECURE_BOOT

/* Blocks hold big numbers little-endian (for the chips' RSA and ECC engines); the crypto
 * port takes them big-endian. */
static void reverse_copy(uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        dst[i] = src[len - 1u - i];
    }
}

/* The signature check proper, for a block whose key is trusted and whose digest is the
 * image's. */
static otk_image_sig_status_t verify_signature(const uint8_t *block,
                                               const uint8_t digest[OTK_SHA256_LEN])
{
    esp_err_t err;
    if (block[OTK_IMAGE_SIG_OFF_VERSION] == OTK_IMAGE_SIG_VERSION_RSA) {
        uint8_t n[OTK_RSA3072_LEN], sig[OTK_RSA3072_LEN];
        reverse_copy(n, block + OTK_IMAGE_SIG_OFF_KEY, OTK_RSA3072_LEN);
        reverse_copy(sig, block + OTK_IMAGE_SIG_OFF_RSA_SIG, OTK_RSA3072_LEN);
        err = otk_rsa3072_pss_verify(n, otk_image_le32(block + OTK_IMAGE_SIG_OFF_RSA_E),
                                     digest, sig);
    } else {
        uint8_t pub[2 * OTK_P256_COORD_LEN], sig[2 * OTK_P256_COORD_LEN];
        const uint8_t *point = block + OTK_IMAGE_SIG_OFF_EC_POINT;
        const uint8_t *rs = block + OTK_IMAGE_SIG_OFF_EC_SIG;
        for (size_t half = 0; half < 2; half++) {
            size_t at = half * OTK_P256_COORD_LEN;
            reverse_copy(pub + at, point + at, OTK_P256_COORD_LEN);
            reverse_copy(sig + at, rs + at, OTK_P256_COORD_LEN);
        }
        err = otk_ecdsa_p256_verify(pub, digest, sig);
    }
    switch (err) {
    case ESP_OK:
        return OTK_IMAGE_SIG_VERIFIED;
    case ESP_ERR_IMAGE_INVALID:
        return OTK_IMAGE_SIG_BAD_SIGNATURE;
    case ESP_ERR_INVALID_ARG:
        return OTK_IMAGE_SIG_BAD_KEY;
    default: /* not supported, out of memory: no verdict possible, so no admission */
        return OTK_IMAGE_SIG_NO_CRYPTO;
    }
}

static int trusted_slot(const otk_image_secure_boot_t *trust,
                        const uint8_t key_digest[OTK_SHA256_LEN])
{
    for (int i = 0; i < (int)OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        if (!otk_image_sig_digest_blank(trust->key_digest[i]) &&
            memcmp(trust->key_digest[i], key_digest, OTK_SHA256_LEN) == 0) {
            return i;
        }
    }
    return -1;
}

/* One block: what it is, and with trust enabled whether it admits the image. */
static void check_block(const uint8_t *block, const otk_image_secure_boot_t *trust,
                        const uint8_t digest[OTK_SHA256_LEN], otk_image_sig_block_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->trusted_slot = -1;
    out->magic = block[0];
    out->version = block[OTK_IMAGE_SIG_OFF_VERSION];
    if (block[0] != OTK_IMAGE_SIG_MAGIC) {
        out->status = OTK_IMAGE_SIG_ABSENT;
        return;
    }
    out->crc_stored = otk_image_le32(block + OTK_IMAGE_SIG_OFF_CRC);
    out->crc_computed = otk_crc32_update(0, block, OTK_IMAGE_SIG_OFF_CRC);
    if (out->crc_stored != out->crc_computed) {
        out->status = OTK_IMAGE_SIG_BAD_CRC;
        return;
    }
    if (out->version != OTK_IMAGE_SIG_VERSION_RSA && out->version != OTK_IMAGE_SIG_VERSION_ECDSA) {
        out->status = OTK_IMAGE_SIG_BAD_VERSION;
        return;
    }
    if (otk_image_sig_key_digest(block, out->key_digest) != ESP_OK) {
        out->status = OTK_IMAGE_SIG_UNSUPPORTED;
        return;
    }
    memcpy(out->image_digest, block + OTK_IMAGE_SIG_OFF_DIGEST, OTK_SHA256_LEN);
    out->status = OTK_IMAGE_SIG_PRESENT;
    if (!trust->enabled) {
        return;
    }
    int slot = trusted_slot(trust, out->key_digest);
    out->trusted_slot = (int8_t)slot;
    if (slot < 0) {
        out->status = OTK_IMAGE_SIG_UNTRUSTED;
    } else if (memcmp(out->image_digest, digest, OTK_SHA256_LEN) != 0) {
        out->status = OTK_IMAGE_SIG_DIGEST_MISMATCH;
    } else {
        out->status = verify_signature(block, digest);
    }
}

static void record_block(otk_image_sig_info_t *sig, unsigned i, const uint8_t *block,
                         const otk_image_secure_boot_t *trust)
{
    check_block(block, trust, sig->digest, &sig->blocks[i]);
    if (sig->blocks[i].status == OTK_IMAGE_SIG_VERIFIED && sig->verified_block < 0) {
        sig->verified_block = (int8_t)i;
    }
}

#if OTK_CONFIG_DIAG_TEXT
static void hex_prefix(const uint8_t *bytes, char out[DIGEST_QUOTE_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < DIGEST_QUOTE_HEX / 2u; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0F];
    }
    out[DIGEST_QUOTE_HEX] = '\0';
}

/* One block's reason, short: up to three share a 256-byte line. */
static void block_reason(const otk_image_sig_info_t *sig, unsigned i, char *buf, size_t cap)
{
    const otk_image_sig_block_info_t *b = &sig->blocks[i];
    const char *scheme = otk_image_sig_scheme_name(b->version);
    char key[DIGEST_QUOTE_HEX + 1], mine[DIGEST_QUOTE_HEX + 1];
    hex_prefix(b->key_digest, key);
    switch (b->status) {
    case OTK_IMAGE_SIG_BAD_CRC:
        otk_diag_format(buf, cap, "block %u: CRC 0x%08x, computed 0x%08x", i,
                        (unsigned)b->crc_stored, (unsigned)b->crc_computed);
        break;
    case OTK_IMAGE_SIG_BAD_VERSION:
        otk_diag_format(buf, cap, "block %u: version 0x%02x unknown", i, b->version);
        break;
    case OTK_IMAGE_SIG_UNSUPPORTED:
        otk_diag_format(buf, cap, "block %u: ECDSA other than P-256/SHA-256", i);
        break;
    case OTK_IMAGE_SIG_UNTRUSTED:
        otk_diag_format(buf, cap, "block %u: %s key %s.. not trusted", i, scheme, key);
        break;
    case OTK_IMAGE_SIG_DIGEST_MISMATCH:
        hex_prefix(b->image_digest, key);
        hex_prefix(sig->digest, mine);
        otk_diag_format(buf, cap, "block %u: signs digest %s.., image is %s..", i, key, mine);
        break;
    case OTK_IMAGE_SIG_BAD_KEY:
        otk_diag_format(buf, cap, "block %u: %s key material is not a key", i, scheme);
        break;
    case OTK_IMAGE_SIG_BAD_SIGNATURE:
        otk_diag_format(buf, cap, "block %u: %s signature by trusted key %d does not verify",
                        i, scheme, b->trusted_slot);
        break;
    case OTK_IMAGE_SIG_NO_CRYPTO:
        otk_diag_format(buf, cap, "block %u: crypto backend (%s) cannot verify %s", i,
                        otk_crypto_backend(), scheme);
        break;
    default:
        otk_diag_format(buf, cap, "block %u: %s", i, otk_image_sig_status_name(b->status));
        break;
    }
}
#endif

/* ESP_OK when a block verified; else the reasons of every block that is there (absent
 * ones only say so when no block is there at all: an unsigned image). */
static esp_err_t verdict(const otk_image_sig_info_t *sig, otk_diag_t *diag)
{
    if (sig->verified_block >= 0) {
        return ESP_OK;
    }
#if OTK_CONFIG_DIAG_TEXT
    char reasons[OTK_DIAG_MAX];
    size_t len = 0;
    reasons[0] = '\0';
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS && len + 2u < sizeof reasons; i++) {
        if (sig->blocks[i].status == OTK_IMAGE_SIG_ABSENT) {
            continue;
        }
        if (len > 0) {
            reasons[len++] = ';';
            reasons[len++] = ' ';
        }
        block_reason(sig, i, reasons + len, sizeof reasons - len);
        len += strlen(reasons + len);
    }
    if (len == 0) {
        otk_diag_set(diag,
                     "Secure Boot v2: unsigned: no signature block at image offset 0x%x "
                     "(magic 0xe7 expected, found 0x%02x)",
                     (unsigned)sig->sector_offset, sig->blocks[0].magic);
    } else {
        otk_diag_set(diag, "Secure Boot v2: no trusted signature (sector at 0x%x): %s",
                     (unsigned)sig->sector_offset, reasons);
    }
#else
    otk_diag_set(diag, "Secure Boot v2: no trusted signature");
#endif
    return ESP_ERR_IMAGE_INVALID;
}

/* Checks that come before the sector is read. ESP_OK to go on reading it. */
static esp_err_t before_sector(const otk_image_verify_opts_t *opts, otk_image_info_t *info,
                               otk_diag_t *diag)
{
    const otk_image_secure_boot_t *trust = &opts->secure_boot;
    info->sig.checked = trust->enabled;
    info->sig.verified_block = -1;
    if (!trust->enabled) {
        return ESP_OK;
    }
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        if (!otk_image_sig_digest_blank(trust->key_digest[i])) {
            return ESP_OK;
        }
    }
    otk_diag_set(diag, "Secure Boot v2 is on, but no key digest is burnt in eFuse: no "
                       "image can be trusted");
    info->verdict = ESP_ERR_IMAGE_INVALID;
    return ESP_ERR_IMAGE_INVALID;
}

static esp_err_t after_sector(const otk_image_verify_opts_t *opts, otk_image_info_t *info,
                              otk_diag_t *diag)
{
    info->sig.sector_read = true;
    esp_err_t err = opts->secure_boot.enabled ? verdict(&info->sig, diag) : ESP_OK;
    info->verdict = err;
    return err;
}

esp_err_t otk_image_sig_check_buffer(const void *data, size_t len,
                                     const otk_image_verify_opts_t *opts,
                                     otk_image_info_t *info, otk_diag_t *diag)
{
    if (opts == NULL || info == NULL || (data == NULL && len > 0) || !info->sig.digest_done) {
        otk_diag_set(diag, "signature check: no options, no image info or no image digest");
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = before_sector(opts, info, diag);
    if (err != ESP_OK) {
        return err;
    }
    const uint8_t *bytes = data;
    uint32_t at = info->sig.sector_offset;
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        /* A block the data does not reach reads as erased flash would. */
        uint8_t block[OTK_IMAGE_SIG_BLOCK_LEN];
        size_t have = at < len ? len - at : 0;
        have = have < sizeof block ? have : sizeof block;
        memset(block, 0xFF, sizeof block);
        if (have > 0) {
            memcpy(block, bytes + at, have);
        }
        record_block(&info->sig, i, block, &opts->secure_boot);
        at += OTK_IMAGE_SIG_BLOCK_LEN;
    }
    return after_sector(opts, info, diag);
}

esp_err_t otk_image_sig_check_flash(otk_flash_t *flash, uint32_t image_offset,
                                    const otk_image_verify_opts_t *opts,
                                    otk_image_info_t *info, otk_diag_t *diag)
{
    if (flash == NULL || opts == NULL || info == NULL || !info->sig.digest_done) {
        otk_diag_set(diag, "signature check: no flash, no options, no image info or digest");
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = before_sector(opts, info, diag);
    if (err != ESP_OK) {
        return err;
    }
    uint64_t at = (uint64_t)image_offset + info->sig.sector_offset;
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        uint8_t block[OTK_IMAGE_SIG_BLOCK_LEN];
        err = at + sizeof block <= otk_flash_size(flash)
                  ? otk_flash_read(flash, (uint32_t)at, block, sizeof block)
                  : ESP_ERR_INVALID_SIZE;
        if (err != ESP_OK) {
            otk_diag_set(diag, "Secure Boot v2: reading signature block %u at flash 0x%x: %s",
                         i, (unsigned)at, esp_err_to_name(err));
            info->verdict = err;
            return err;
        }
        record_block(&info->sig, i, block, &opts->secure_boot);
        at += OTK_IMAGE_SIG_BLOCK_LEN;
    }
    return after_sector(opts, info, diag);
}

#endif /* OTK_CONFIG_SECURE_BOOT */
