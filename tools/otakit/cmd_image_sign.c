/* `otakit image sign` and `otakit image key-digest`: Secure Boot v2 signing as espsecure
 * sign_data --version 2 does it (espsecure/__init__.py sign_secure_boot_v2), and the key
 * digest a device's eFuse holds (digest_sbv2_public_key). The signing is the tool's; the
 * layout it writes is checked by the library's verifier before anything is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_image.h"
#include "otakit/crc32.h"
#include "sbv2_key.h"

#define SECTOR OTK_IMAGE_SIG_SECTOR_LEN
#define ERASED 0xFFu

static void sign_usage(FILE *out)
{
    fprintf(out,
            "usage: otakit image sign --key KEY.pem [--key KEY.pem ...] [--append] IN -o OUT\n\n"
            "Sign an app or bootloader image for Secure Boot v2, laid out byte for byte as\n"
            "espsecure sign_data --version 2 writes it: IN is padded with 0xFF to a 4 KiB\n"
            "boundary, the SHA-256 of that is signed with each key (RSA-3072 with PSS, or\n"
            "ECDSA P-256), and a 4096-byte signature sector follows: one 1216-byte block per\n"
            "key (magic 0xE7, digest, public key, signature, CRC-32), then 0xFF. A device in\n"
            "secure boot mode takes the image when one block is by a key whose digest it\n"
            "holds (`otakit image key-digest`, `otakit device config --trust`).\n\n"
            "options:\n"
            "  --key KEY.pem   a private key (RSA-3072 or EC P-256, unencrypted PEM);\n"
            "                  repeat for more blocks (three in all at most)\n"
            "  --append        IN is signed already: keep the valid blocks of its last\n"
            "                  sector and add one per --key (IN not sector-aligned: signed\n"
            "                  afresh, as espsecure does)\n"
            "  -o, --output OUT  the signed file (may be IN)\n"
            "  -h, --help      this help\n");
}

/* espsecure validate_signature_block: magic, a known version, and the CRC. */
static bool block_valid(const uint8_t *b)
{
    uint8_t version = b[OTK_IMAGE_SIG_OFF_VERSION];
    uint32_t stored = (uint32_t)b[OTK_IMAGE_SIG_OFF_CRC] |
                      (uint32_t)b[OTK_IMAGE_SIG_OFF_CRC + 1] << 8 |
                      (uint32_t)b[OTK_IMAGE_SIG_OFF_CRC + 2] << 16 |
                      (uint32_t)b[OTK_IMAGE_SIG_OFF_CRC + 3] << 24;
    return b[0] == OTK_IMAGE_SIG_MAGIC &&
           (version == OTK_IMAGE_SIG_VERSION_RSA || version == OTK_IMAGE_SIG_VERSION_ECDSA) &&
           stored == otk_crc32_update(0, b, OTK_IMAGE_SIG_OFF_CRC);
}

typedef struct {
    const char *in, *out;
    const char *keys[OTK_IMAGE_SIG_MAX_BLOCKS];
    size_t key_count;
    bool append;
} sign_opts_t;

static int parse_sign(int argc, char **argv, sign_opts_t *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--append") == 0 || strcmp(argv[i], "-a") == 0) {
            o->append = true;
        } else if (cmd_image_opt(argc, argv, &i, "--key", &v) ||
                   cmd_image_opt(argc, argv, &i, "-k", &v)) {
            if (v == NULL) {
                return cli_usage_error("image sign", "--key needs a PEM file");
            }
            if (o->key_count == OTK_IMAGE_SIG_MAX_BLOCKS) {
                return cli_usage_error("image sign", "at most %u keys: a sector holds %u "
                                       "signature blocks", OTK_IMAGE_SIG_MAX_BLOCKS,
                                       OTK_IMAGE_SIG_MAX_BLOCKS);
            }
            o->keys[o->key_count++] = v;
        } else if (cmd_image_opt(argc, argv, &i, "--output", &v) ||
                   cmd_image_opt(argc, argv, &i, "-o", &v)) {
            if (v == NULL) {
                return cli_usage_error("image sign", "-o needs a file");
            }
            o->out = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("image sign", "unknown option '%s'", argv[i]);
        } else if (o->in != NULL) {
            return cli_usage_error("image sign", "one IN file only");
        } else {
            o->in = argv[i];
        }
    }
    if (o->in == NULL || o->out == NULL || o->key_count == 0) {
        return cli_usage_error("image sign", "takes --key KEY.pem, IN and -o OUT");
    }
    return -1;
}

/* The data to sign and the blocks to keep, as espsecure decides them. *data_len is the
 * signed length (a multiple of 4 KiB); file has room for it. Returns kept blocks or -1. */
static int prepare(const sign_opts_t *o, uint8_t *file, size_t file_len, size_t *data_len,
                   uint8_t kept[OTK_IMAGE_SIG_MAX_BLOCKS][OTK_IMAGE_SIG_BLOCK_LEN])
{
    *data_len = file_len;
    if (file_len % SECTOR != 0) {
        size_t pad = SECTOR - file_len % SECTOR;
        memset(file + file_len, ERASED, pad);
        *data_len = file_len + pad;
        if (o->append) {
            printf("%s: not sector-aligned, so no signature sector: signing afresh\n", o->in);
        }
        return 0;
    }
    if (!o->append) {
        return 0;
    }
    const uint8_t *sector = file + file_len - SECTOR;
    int n = 0;
    while (n < (int)OTK_IMAGE_SIG_MAX_BLOCKS &&
           block_valid(sector + (size_t)n * OTK_IMAGE_SIG_BLOCK_LEN)) {
        memcpy(kept[n], sector + (size_t)n * OTK_IMAGE_SIG_BLOCK_LEN, OTK_IMAGE_SIG_BLOCK_LEN);
        n++;
    }
    if (n == 0) {
        printf("%s: no valid signature block in its last sector: signing afresh\n", o->in);
        return 0;
    }
    if (n == (int)OTK_IMAGE_SIG_MAX_BLOCKS) {
        cli_error("%s: its signature sector holds %u blocks already, the most there can be",
                  o->in, OTK_IMAGE_SIG_MAX_BLOCKS);
        return -1;
    }
    *data_len = file_len - SECTOR;
    return n;
}

/* The library's verifier on the result, trusting the new keys only: a device holding
 * their digests must take it. Not an ESP image (no 0xE9): signed as plain data. */
static bool self_check(const sign_opts_t *o, const uint8_t *signed_file, size_t len,
                       const sbv2_key_t *keys, size_t key_count)
{
    if (len == 0 || signed_file[0] != ESP_IMAGE_HEADER_MAGIC) {
        printf("%s: not an ESP image (no 0xE9 header): signed as plain data\n", o->in);
        return true;
    }
    cmd_image_file_t f;
    cmd_image_file_init(&f);
    f.opts.secure_boot.enabled = true;
    for (size_t k = 0; k < key_count; k++) {
        memcpy(f.opts.secure_boot.key_digest[k], keys[k].digest, OTK_SHA256_LEN);
    }
    otk_image_info_t info;
    otk_diag_t why;
    otk_diag_clear(&why);
    if (otk_image_verify_buffer(signed_file, len, &f.opts, &info, &why) != ESP_OK) {
        cli_error("%s: signed, but the result does not verify, so nothing was written: %s",
                  o->in, why.msg);
        return false;
    }
    return true;
}

int cmd_image_sign(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        sign_usage(stdout);
        return CLI_EXIT_OK;
    }
    sign_opts_t o;
    int rc = parse_sign(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    sbv2_key_t keys[OTK_IMAGE_SIG_MAX_BLOCKS];
    size_t loaded = 0;
    uint8_t *file = NULL, *out = NULL;
    size_t file_len = 0;
    rc = CLI_EXIT_FAIL;
    for (; loaded < o.key_count; loaded++) {
        otk_diag_t why;
        otk_diag_clear(&why);
        if (!sbv2_key_load(o.keys[loaded], true, &keys[loaded], &why)) {
            cli_error("--key %s", why.msg);
            goto done;
        }
    }
    if (!cli_read_file(o.in, CMD_IMAGE_MAX_FILE, &file, &file_len)) {
        goto done;
    }
    /* Room for the padding and the new sector after the data. */
    out = malloc(file_len + 2u * SECTOR);
    if (out == NULL) {
        cli_error("out of memory");
        goto done;
    }
    memcpy(out, file, file_len);
    uint8_t kept[OTK_IMAGE_SIG_MAX_BLOCKS][OTK_IMAGE_SIG_BLOCK_LEN];
    size_t data_len;
    int kept_count = prepare(&o, out, file_len, &data_len, kept);
    if (kept_count < 0) {
        goto done;
    }
    if ((size_t)kept_count + o.key_count > OTK_IMAGE_SIG_MAX_BLOCKS) {
        cli_error("%s: %d blocks kept and %zu keys make more than the %u a sector holds", o.in,
                  kept_count, o.key_count, OTK_IMAGE_SIG_MAX_BLOCKS);
        goto done;
    }
    uint8_t digest[OTK_SHA256_LEN];
    otk_sha256(out, data_len, digest);
    uint8_t *sector = out + data_len;
    memset(sector, ERASED, SECTOR);
    for (int k = 0; k < kept_count; k++) {
        memcpy(sector + (size_t)k * OTK_IMAGE_SIG_BLOCK_LEN, kept[k], OTK_IMAGE_SIG_BLOCK_LEN);
    }
    for (size_t k = 0; k < o.key_count; k++) {
        otk_diag_t why;
        otk_diag_clear(&why);
        uint8_t *block = sector + ((size_t)kept_count + k) * OTK_IMAGE_SIG_BLOCK_LEN;
        if (!sbv2_key_sign_block(&keys[k], digest, block, &why)) {
            cli_error("--key %s: %s", o.keys[k], why.msg);
            goto done;
        }
    }
    size_t out_len = data_len + SECTOR;
    if (!self_check(&o, out, out_len, keys, o.key_count) ||
        !cli_write_file(o.out, out, out_len)) {
        goto done;
    }
    char hex[2 * OTK_SHA256_LEN + 1];
    cmd_image_hex32(digest, hex);
    printf("%s: signed 0x%zx bytes (SHA-256 %s); signature sector at 0x%zx with %zu "
           "block(s)\n",
           o.out, data_len, hex, data_len, (size_t)kept_count + o.key_count);
    for (size_t k = 0; k < (size_t)kept_count + o.key_count; k++) {
        const uint8_t *b = sector + k * OTK_IMAGE_SIG_BLOCK_LEN;
        uint8_t kd[OTK_SHA256_LEN];
        if (otk_image_sig_key_digest(b, kd) == ESP_OK) {
            cmd_image_hex32(kd, hex);
        } else {
            snprintf(hex, sizeof hex, "(a scheme otakit does not verify)");
        }
        printf("  block %zu: %s, key digest %s%s\n", k,
               otk_image_sig_scheme_name(b[OTK_IMAGE_SIG_OFF_VERSION]), hex,
               k < (size_t)kept_count ? " (kept)" : "");
    }
    rc = CLI_EXIT_OK;
done:
    for (size_t k = 0; k < loaded; k++) {
        sbv2_key_free(&keys[k]);
    }
    free(file);
    free(out);
    return rc;
}

static void digest_usage(FILE *out)
{
    fprintf(out,
            "usage: otakit image key-digest KEY.pem [-o FILE]\n\n"
            "The Secure Boot v2 digest of a public key (RSA-3072 or EC P-256; a public or a\n"
            "private PEM): SHA-256 of the key material as a signature block holds it, what\n"
            "a device's eFuse holds (espsecure digest_sbv2_public_key). Printed in hex;\n"
            "-o also writes the 32 bytes to FILE.\n");
}

int cmd_image_key_digest(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        digest_usage(stdout);
        return CLI_EXIT_OK;
    }
    const char *path = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cmd_image_opt(argc, argv, &i, "-o", &v) ||
            cmd_image_opt(argc, argv, &i, "--output", &v)) {
            if (v == NULL) {
                return cli_usage_error("image key-digest", "-o needs a file");
            }
            out = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("image key-digest", "unknown option '%s'", argv[i]);
        } else if (path != NULL) {
            return cli_usage_error("image key-digest", "one KEY.pem only");
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        return cli_usage_error("image key-digest", "missing KEY.pem");
    }
    sbv2_key_t key;
    otk_diag_t why;
    otk_diag_clear(&why);
    if (!sbv2_key_load(path, false, &key, &why)) {
        return cli_error("%s", why.msg);
    }
    char hex[2 * OTK_SHA256_LEN + 1];
    cmd_image_hex32(key.digest, hex);
    bool ok = out == NULL || cli_write_file(out, key.digest, sizeof key.digest);
    if (ok) {
        printf("%s  %s %s\n", hex, otk_image_sig_scheme_name(key.version), path);
    }
    sbv2_key_free(&key);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
