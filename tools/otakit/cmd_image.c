/* `otakit image`: dispatch, the options info and verify share, and `image verify`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_image.h"
#include "commands.h"
#include "sbv2_key.h"

/* Revisions are written "v1.2" / "1.2" (major.minor) or as the full number (102). */
#define CHIP_REV_MAJOR_SCALE 100u

static void usage(FILE *out)
{
    fprintf(out, "usage: otakit image <command> [options]\n\n"
                 "ESP-IDF app and bootloader images (esp_image_format), as esptool reads and\n"
                 "writes them.\n\n"
                 "commands:\n"
                 "  info FILE     header, segments, checksum, hash, app/bootloader descriptor\n"
                 "                (what esptool image_info --version 2 shows); --json\n"
                 "  verify FILE   ESP-IDF's verification; exit 0 only when the image is valid\n"
                 "  make PAYLOAD  build an app image: app descriptor + payload (+ segments)\n"
                 "  sign IN       Secure Boot v2: append a signature sector (espsecure's\n"
                 "                sign_data --version 2 layout)\n"
                 "  key-digest KEY  the Secure Boot v2 digest of a key (what eFuse holds)\n\n"
                 "'otakit image <command> --help' shows a command's options.\n");
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "info") == 0) {
        return cmd_image_info(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "verify") == 0) {
        return cmd_image_verify(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "make") == 0) {
        return cmd_image_make(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "sign") == 0) {
        return cmd_image_sign(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "key-digest") == 0) {
        return cmd_image_key_digest(argc - 1, argv + 1);
    }
    fprintf(stderr, "otakit image: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

bool cmd_image_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0) {
        return false;
    }
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    if (arg[n] != '\0') {
        return false;
    }
    if (*i + 1 >= argc) {
        *value = NULL; /* missing value: the caller reports it */
        return true;
    }
    *value = argv[++*i];
    return true;
}

void cmd_image_hex32(const uint8_t *bytes, char *out)
{
    for (size_t k = 0; k < OTK_SHA256_LEN; k++) {
        sprintf(out + 2 * k, "%02x", bytes[k]);
    }
}

const char *cmd_image_kind_name(otk_image_kind_t kind)
{
    switch (kind) {
    case OTK_IMAGE_APP:
        return "app";
    case OTK_IMAGE_BOOTLOADER:
        return "bootloader";
    default:
        return "unknown";
    }
}

static bool parse_chip_rev(const char *text, uint16_t *rev)
{
    uint32_t major, minor;
    if (text == NULL) {
        return false;
    }
    if (text[0] == 'v' || text[0] == 'V') {
        text++;
    }
    const char *dot = strchr(text, '.');
    if (dot == NULL) {
        if (!cli_parse_u32(text, &major) || major > UINT16_MAX) {
            return false;
        }
        *rev = (uint16_t)major;
        return true;
    }
    char head[16];
    size_t hl = (size_t)(dot - text);
    if (hl == 0 || hl >= sizeof head) {
        return false;
    }
    memcpy(head, text, hl);
    head[hl] = '\0';
    if (!cli_parse_u32(head, &major) || !cli_parse_u32(dot + 1, &minor) ||
        minor >= CHIP_REV_MAJOR_SCALE || major > UINT16_MAX / CHIP_REV_MAJOR_SCALE - 1) {
        return false;
    }
    *rev = (uint16_t)(major * CHIP_REV_MAJOR_SCALE + minor);
    return true;
}

void cmd_image_file_init(cmd_image_file_t *f)
{
    memset(f, 0, sizeof *f);
    otk_image_verify_opts_init(&f->opts);
    f->opts.kind = OTK_IMAGE_AUTO;
    /* The CLI checks every hash it finds, and says when ESP-IDF would not. */
    f->opts.check_bootloader_hash = true;
    f->opts.require_app_desc = true;
}

int cmd_image_common_option(const char *cmd, int argc, char **argv, int *i,
                            cmd_image_file_t *f)
{
    const char *v;
    const char *arg = argv[*i];
    if (strcmp(arg, "--app") == 0) {
        f->opts.kind = OTK_IMAGE_APP;
        return 1;
    }
    if (strcmp(arg, "--bootloader") == 0) {
        f->opts.kind = OTK_IMAGE_BOOTLOADER;
        return 1;
    }
    if (strcmp(arg, "--require-hash") == 0) {
        f->opts.require_hash = true;
        return 1;
    }
    if (strcmp(arg, "--no-bootloader-hash") == 0) {
        f->opts.check_bootloader_hash = false;
        return 1;
    }
    if (cmd_image_opt(argc, argv, i, "--chip", &v)) {
        const otk_image_chip_t *chip = otk_image_chip_by_name(v);
        if (chip == NULL) {
            cli_usage_error(cmd, "--chip: unknown chip '%s'", v != NULL ? v : "");
            return -1;
        }
        f->opts.chip_id = chip->chip_id;
        return 1;
    }
    if (cmd_image_opt(argc, argv, i, "--chip-rev", &v)) {
        if (!parse_chip_rev(v, &f->opts.chip_rev)) {
            cli_usage_error(cmd, "--chip-rev: expected MAJOR.MINOR or a number, got '%s'",
                            v != NULL ? v : "");
            return -1;
        }
        f->opts.check_chip_rev = true;
        return 1;
    }
    if (cmd_image_opt(argc, argv, i, "--offset", &v)) {
        if (!cli_parse_size(v, &f->offset)) {
            cli_usage_error(cmd, "--offset: not a size: '%s'", v != NULL ? v : "");
            return -1;
        }
        return 1;
    }
    if (cmd_image_opt(argc, argv, i, "--partition-size", &v)) {
        if (!cli_parse_size(v, &f->opts.max_size) || f->opts.max_size == 0) {
            cli_usage_error(cmd, "--partition-size: not a size: '%s'", v != NULL ? v : "");
            return -1;
        }
        return 1;
    }
    return 0;
}

bool cmd_image_file_load(cmd_image_file_t *f)
{
    if (!cli_read_file(f->path, CMD_IMAGE_MAX_FILE, &f->file, &f->file_len)) {
        return false;
    }
    if (f->offset > f->file_len) {
        cli_error("%s: --offset 0x%x is past the end of the file (%zu bytes)", f->path,
                  (unsigned)f->offset, f->file_len);
        return false;
    }
    f->opts.flash_offset = f->offset;
    f->err = otk_image_verify_buffer(f->file + f->offset, f->file_len - f->offset, &f->opts,
                                     &f->info, &f->diag);
    return true;
}

void cmd_image_file_free(cmd_image_file_t *f)
{
    free(f->file);
    f->file = NULL;
}

static void verify_usage(FILE *out)
{
    fprintf(out,
            "usage: otakit image verify FILE [options]\n\n"
            "Verify an app or bootloader image as ESP-IDF does (esp_image_verify): header\n"
            "magic, chip id and revision, segment count and lengths, flash-mapping\n"
            "alignment, app descriptor, checksum, total length, appended SHA-256.\n"
            "Exit 0 only when the image is valid; otherwise the reason is printed.\n\n"
            "options:\n"
            "  --app | --bootloader   what the image is (default: an app when segment 0\n"
            "                         begins with the app descriptor, else a bootloader)\n"
            "  --chip NAME            expected chip (esp32, esp32s2, esp32c3, ...)\n"
            "  --chip-rev REV         the chip's revision (1.0, v3.1 or 301): apply the\n"
            "                         image's min/max revision\n"
            "  --partition-size SIZE  the image with its hash must fit in SIZE\n"
            "  --offset OFF           the image starts at OFF in FILE (a flash dump)\n"
            "  --require-hash         reject images without an appended SHA-256\n"
            "  --no-bootloader-hash   ESP-IDF's rule: a bootloader's hash counts only with\n"
            "                         secure boot v2 (default: checked when present)\n"
            "  --pub KEY.pem          Secure Boot v2: the image must carry a signature block\n"
            "                         by this key (public or private PEM, RSA-3072 or P-256)\n"
            "                         that verifies, as a device trusting it checks\n"
            "  --key-digest HEX       the same by the key's digest (64 hex digits, what\n"
            "                         eFuse holds); --pub and --key-digest: three in all\n"
            "  -h, --help             this help\n");
}

/* --pub / --key-digest: one more trusted digest. Returns 1 when argv[*i] was one, 0 when
 * not, -1 on a bad value, -2 on a key file that cannot be used (message printed). */
static int trust_option(int argc, char **argv, int *i, otk_image_secure_boot_t *sb,
                        unsigned *count)
{
    const char *v;
    uint8_t digest[OTK_SHA256_LEN];
    if (cmd_image_opt(argc, argv, i, "--pub", &v)) {
        sbv2_key_t key;
        otk_diag_t why;
        otk_diag_clear(&why);
        if (v == NULL) {
            cli_usage_error("image verify", "--pub needs a PEM file");
            return -1;
        }
        if (!sbv2_key_load(v, false, &key, &why)) {
            cli_error("--pub %s", why.msg);
            return -2;
        }
        memcpy(digest, key.digest, sizeof digest);
        sbv2_key_free(&key);
    } else if (cmd_image_opt(argc, argv, i, "--key-digest", &v)) {
        if (!sbv2_parse_digest(v, digest)) {
            cli_usage_error("image verify", "--key-digest: expected 64 hex digits, got '%s'",
                            v != NULL ? v : "");
            return -1;
        }
    } else {
        return 0;
    }
    if (*count == OTK_IMAGE_SIG_MAX_BLOCKS) {
        cli_usage_error("image verify", "at most %u trusted keys (eFuse holds %u digests)",
                        OTK_IMAGE_SIG_MAX_BLOCKS, OTK_IMAGE_SIG_MAX_BLOCKS);
        return -1;
    }
    sb->enabled = true;
    memcpy(sb->key_digest[(*count)++], digest, OTK_SHA256_LEN);
    return 1;
}

void cmd_image_print_signature(const otk_image_sig_info_t *sig)
{
    char hex[2 * OTK_SHA256_LEN + 1];
    cmd_image_hex32(sig->digest, hex);
    printf("  Secure Boot v2: signature sector at 0x%x, image digest %s\n",
           (unsigned)sig->sector_offset, hex);
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        const otk_image_sig_block_info_t *b = &sig->blocks[i];
        if (b->status == OTK_IMAGE_SIG_ABSENT) {
            continue;
        }
        cmd_image_hex32(b->key_digest, hex);
        printf("    block %u: %s, key digest %s: %s", i, otk_image_sig_scheme_name(b->version),
               hex, otk_image_sig_status_name(b->status));
        if (b->trusted_slot >= 0) {
            printf(" (trusted key %d)", b->trusted_slot);
        }
        if (b->status == OTK_IMAGE_SIG_PRESENT) {
            printf(" (%s)", memcmp(b->image_digest, sig->digest, OTK_SHA256_LEN) == 0
                                ? "signs this image"
                                : "signs another digest");
        }
        putchar('\n');
    }
}

int cmd_image_verify(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        verify_usage(stdout);
        return CLI_EXIT_OK;
    }
    cmd_image_file_t f;
    cmd_image_file_init(&f);
    unsigned trusted = 0;
    for (int i = 1; i < argc; i++) {
        int t = trust_option(argc, argv, &i, &f.opts.secure_boot, &trusted);
        if (t < 0) {
            return t == -1 ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        }
        if (t > 0) {
            continue;
        }
        int r = cmd_image_common_option("image verify", argc, argv, &i, &f);
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("image verify", "unknown option '%s'", argv[i]);
        }
        if (f.path != NULL) {
            return cli_usage_error("image verify", "one FILE only");
        }
        f.path = argv[i];
    }
    if (f.path == NULL) {
        return cli_usage_error("image verify", "missing FILE");
    }
    if (!cmd_image_file_load(&f)) {
        cmd_image_file_free(&f);
        return CLI_EXIT_FAIL;
    }
    if (f.err != ESP_OK) {
        cli_error("%s: invalid image: %s", f.path, f.diag.msg);
        cmd_image_file_free(&f);
        return CLI_EXIT_FAIL;
    }
    const otk_image_info_t *in = &f.info;
    const char *chip = otk_image_chip_id_name((uint16_t)in->header.chip_id);
    printf("%s: valid %s %s image\n", f.path, chip != NULL ? chip : "unknown-chip",
           cmd_image_kind_name(in->kind));
    printf("  segments: %u, image length %u bytes%s\n", in->header.segment_count,
           (unsigned)in->total_len, in->hash_appended ? " (with 32-byte SHA-256)" : "");
    printf("  checksum: 0x%02x (valid)\n", in->checksum_stored);
    if (in->hash_appended) {
        char hex[2 * OTK_SHA256_LEN + 1];
        cmd_image_hex32(in->hash_stored, hex);
        printf("  SHA-256: %s (%s)\n", hex,
               !in->hash_checked ? "not checked: ESP-IDF checks a bootloader's hash only "
                                   "with secure boot v2"
               : in->kind == OTK_IMAGE_BOOTLOADER
                   ? "valid; checked here, though ESP-IDF checks a bootloader's hash only "
                     "with secure boot v2"
                   : "valid");
    } else {
        printf("  SHA-256: not appended\n");
    }
    if (in->has_app_desc) {
        printf("  app: %.32s %.32s, secure_version %u\n", in->app_desc.project_name,
               in->app_desc.version, (unsigned)in->app_desc.secure_version);
    }
    if (in->has_bootloader_desc) {
        printf("  bootloader: version %u, ESP-IDF %.32s\n", (unsigned)in->bootloader_desc.version,
               in->bootloader_desc.idf_ver);
    }
    if (in->sig.sector_read) {
        cmd_image_print_signature(&in->sig);
    }
    cmd_image_file_free(&f);
    return CLI_EXIT_OK;
}
