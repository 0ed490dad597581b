/* `otakit image info`: what esptool's `image_info --version 2` prints (esptool v5's only
 * image_info format), from the same verification the library does, plus otakit's verdict.
 * Where esptool would print raw NUL padding of the descriptor strings, we stop at the NUL. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_image.h"
#include "json_out.h"

/* esptool prints "Image version: 1" for every ESP32-family image (ESP32FirmwareImage). */
#define ESPTOOL_IMAGE_VERSION 1
#define CHIP_REV_MAJOR_SCALE 100u
/* Room for every memory-type name of one address, joined. */
#define MEMORY_TYPES_MAX 160

static void title(const char *text)
{
    size_t n = strlen(text);
    printf("%s\n", text);
    for (size_t i = 0; i < n; i++) {
        putchar('=');
    }
    putchar('\n');
}

static void title_chip(const char *chip, const char *rest)
{
    char buf[96];
    snprintf(buf, sizeof buf, "%s %s", chip, rest);
    title(buf);
}

static void print_header(const cmd_image_file_t *f, const char *chip)
{
    const esp_image_header_t *h = &f->info.header;
    const otk_image_chip_t *c = f->info.chip;
    putchar('\n');
    title_chip(chip, "image header");
    printf("Image version: %d\n", ESPTOOL_IMAGE_VERSION);
    if (h->entry_addr != 0) {
        printf("Entry point: %#8x\n", (unsigned)h->entry_addr);
    } else {
        printf("Entry point not set\n");
    }
    printf("Segments: %u\n", h->segment_count);
    const char *size = otk_image_flash_size_name(h->spi_size);
    const char *freq = otk_image_flash_freq_name(c, h->spi_speed);
    const char *mode = otk_image_spi_mode_name(h->spi_mode);
    if (size != NULL) {
        printf("Flash size: %s\n", size);
    } else {
        printf("Warning: Invalid flash size (0x%x)\n", (unsigned)(h->spi_size << 4));
    }
    if (freq != NULL) {
        printf("Flash freq: %s\n", freq);
    } else {
        printf("Warning: Invalid flash frequency (0x%x)\n", (unsigned)h->spi_speed);
    }
    if (mode != NULL) {
        printf("Flash mode: %s\n", mode);
    } else {
        printf("Warning: Invalid flash mode (%u)\n", h->spi_mode);
    }

    putchar('\n');
    title_chip(chip, "extended image header");
    printf("WP pin: 0x%x%s\n", h->wp_pin,
           h->wp_pin == ESP_IMAGE_WP_PIN_DISABLED ? " (disabled)" : "");
    printf("Flash pins drive settings: clk_drv: 0x%x, q_drv: 0x%x, d_drv: 0x%x, cs0_drv: 0x%x, "
           "hd_drv: 0x%x, wp_drv: 0x%x\n",
           h->spi_pin_drv[0] & 0x0F, h->spi_pin_drv[0] >> 4, h->spi_pin_drv[1] & 0x0F,
           h->spi_pin_drv[1] >> 4, h->spi_pin_drv[2] & 0x0F, h->spi_pin_drv[2] >> 4);
    const char *name = otk_image_chip_id_name((uint16_t)h->chip_id);
    printf("Chip ID: %u (%s)\n", (unsigned)(uint16_t)h->chip_id,
           name != NULL ? name : "Unknown ID");
    printf("Minimal chip revision: v%u.%u, (legacy min_rev = %u)\n",
           h->min_chip_rev_full / CHIP_REV_MAJOR_SCALE, h->min_chip_rev_full % CHIP_REV_MAJOR_SCALE,
           h->min_chip_rev);
    printf("Maximal chip revision: v%u.%u\n", h->max_chip_rev_full / CHIP_REV_MAJOR_SCALE,
           h->max_chip_rev_full % CHIP_REV_MAJOR_SCALE);
}

static void print_segments(const cmd_image_file_t *f)
{
    putchar('\n');
    title("Segments information");
    printf("%7s  %7s  %10s  %10s  %s\n", "Segment", "Length", "Load addr", "File offs",
           "Memory types");
    printf("-------  -------  ----------  ----------  ------------\n");
    for (uint8_t i = 0; i < f->info.segments_read; i++) {
        const otk_image_segment_info_t *s = &f->info.segments[i];
        char types[MEMORY_TYPES_MAX];
        otk_image_chip_memory_types(f->info.chip, s->load_addr, types, sizeof types);
        printf("%7u  0x%05x  0x%08x  0x%08x  %s\n", i, (unsigned)s->data_len,
               (unsigned)s->load_addr, (unsigned)s->header_offset, types);
    }
}

static void print_footer(const cmd_image_file_t *f, const char *chip)
{
    const otk_image_info_t *in = &f->info;
    putchar('\n');
    title_chip(chip, "image footer");
    if (in->checksum_valid) {
        printf("Checksum: 0x%02x (valid)\n", in->checksum_stored);
    } else {
        printf("Checksum: 0x%02x (invalid - calculated 0x%02x)\n", in->checksum_stored,
               in->checksum_computed);
    }
    if (in->hash_appended && in->hash_read) {
        char hex[2 * OTK_SHA256_LEN + 1];
        cmd_image_hex32(in->hash_computed, hex);
        printf("Validation hash: %s (%s)\n", hex, in->hash_valid ? "valid" : "invalid");
    }
}

static void print_descriptors(const cmd_image_file_t *f)
{
    const otk_image_info_t *in = &f->info;
    if (in->has_app_desc) {
        const esp_app_desc_t *d = &in->app_desc;
        char hex[2 * OTK_SHA256_LEN + 1];
        cmd_image_hex32(d->app_elf_sha256, hex);
        putchar('\n');
        title("Application information");
        printf("Project name: %.*s\n", (int)sizeof d->project_name, d->project_name);
        printf("App version: %.*s\n", (int)sizeof d->version, d->version);
        printf("Compile time: %.*s %.*s\n", (int)sizeof d->date, d->date, (int)sizeof d->time,
               d->time);
        printf("ELF file SHA256: %s\n", hex);
        printf("ESP-IDF: %.*s\n", (int)sizeof d->idf_ver, d->idf_ver);
        printf("Minimal eFuse block revision: %u.%u\n",
               d->min_efuse_blk_rev_full / CHIP_REV_MAJOR_SCALE,
               d->min_efuse_blk_rev_full % CHIP_REV_MAJOR_SCALE);
        printf("Maximal eFuse block revision: %u.%u\n",
               d->max_efuse_blk_rev_full / CHIP_REV_MAJOR_SCALE,
               d->max_efuse_blk_rev_full % CHIP_REV_MAJOR_SCALE);
        if (d->mmu_page_size != 0 && d->mmu_page_size < 32) {
            printf("MMU page size: %u KB\n", (unsigned)((1u << d->mmu_page_size) / 1024u));
        }
        printf("Secure version: %u\n", (unsigned)d->secure_version);
    } else if (in->has_bootloader_desc) {
        const esp_bootloader_desc_t *b = &in->bootloader_desc;
        putchar('\n');
        title("Bootloader information");
        printf("Bootloader version: %u\n", (unsigned)b->version);
        printf("ESP-IDF: %.*s\n", (int)sizeof b->idf_ver, b->idf_ver);
        printf("Compile time: %.*s\n", (int)sizeof b->date_time, b->date_time);
    }
}

/* A signature sector with at least one block after the image (read_signature). */
static bool has_signature(const otk_image_sig_info_t *sig)
{
    for (unsigned i = 0; sig->sector_read && i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        if (sig->blocks[i].status != OTK_IMAGE_SIG_ABSENT) {
            return true;
        }
    }
    return false;
}

static void json_signature(json_out_t *j, const otk_image_sig_info_t *sig)
{
    if (!has_signature(sig)) {
        json_null(j, "signature");
        return;
    }
    json_object_begin(j, "signature");
    json_uint(j, "sector_offset", sig->sector_offset);
    json_hex(j, "digest", sig->digest, OTK_SHA256_LEN);
    json_array_begin(j, "blocks");
    for (unsigned i = 0; i < OTK_IMAGE_SIG_MAX_BLOCKS; i++) {
        const otk_image_sig_block_info_t *b = &sig->blocks[i];
        if (b->status == OTK_IMAGE_SIG_ABSENT) {
            continue;
        }
        json_object_begin(j, NULL);
        json_uint(j, "index", i);
        json_string(j, "scheme", otk_image_sig_scheme_name(b->version));
        json_string(j, "status", otk_image_sig_status_name(b->status));
        if (b->status >= OTK_IMAGE_SIG_PRESENT) {
            json_hex(j, "key_digest", b->key_digest, OTK_SHA256_LEN);
            json_bool(j, "signs_this_image",
                      memcmp(b->image_digest, sig->digest, OTK_SHA256_LEN) == 0);
        }
        json_object_end(j);
    }
    json_array_end(j);
    json_object_end(j);
}

static void print_verdict(const cmd_image_file_t *f)
{
    const otk_image_info_t *in = &f->info;
    putchar('\n');
    title("otakit verification");
    printf("Image type: %s\n", cmd_image_kind_name(in->kind));
    if (in->hash_appended) {
        printf("Image length: %u bytes (%u with the appended SHA-256)\n",
               (unsigned)in->image_len, (unsigned)in->total_len);
    } else {
        printf("Image length: %u bytes (no SHA-256 appended)\n", (unsigned)in->image_len);
    }
    if (f->err == ESP_OK) {
        printf("Verdict: valid\n");
    } else {
        printf("Verdict: invalid: %s\n", f->diag.msg);
    }
    if (has_signature(&in->sig)) {
        cmd_image_print_signature(&in->sig);
    }
}

static void json_app_desc(json_out_t *j, const esp_app_desc_t *d)
{
    json_object_begin(j, "app_desc");
    json_uint(j, "magic_word", d->magic_word);
    json_uint(j, "secure_version", d->secure_version);
    json_string_n(j, "version", d->version, sizeof d->version);
    json_string_n(j, "project_name", d->project_name, sizeof d->project_name);
    json_string_n(j, "time", d->time, sizeof d->time);
    json_string_n(j, "date", d->date, sizeof d->date);
    json_string_n(j, "idf_ver", d->idf_ver, sizeof d->idf_ver);
    json_hex(j, "app_elf_sha256", d->app_elf_sha256, sizeof d->app_elf_sha256);
    json_uint(j, "min_efuse_blk_rev_full", d->min_efuse_blk_rev_full);
    json_uint(j, "max_efuse_blk_rev_full", d->max_efuse_blk_rev_full);
    json_uint(j, "mmu_page_size", d->mmu_page_size);
    json_uint(j, "spi_flash_mode", d->spi_flash_mode);
    json_object_end(j);
}

static void json_bootloader_desc(json_out_t *j, const esp_bootloader_desc_t *b)
{
    json_object_begin(j, "bootloader_desc");
    json_uint(j, "magic_byte", b->magic_byte);
    json_uint(j, "secure_version", b->secure_version);
    json_uint(j, "version", b->version);
    json_string_n(j, "idf_ver", b->idf_ver, sizeof b->idf_ver);
    json_string_n(j, "date_time", b->date_time, sizeof b->date_time);
    json_object_end(j);
}

static void print_json(const cmd_image_file_t *f)
{
    const otk_image_info_t *in = &f->info;
    const esp_image_header_t *h = &in->header;
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "file", f->path);
    json_uint(&j, "file_size", f->file_len);
    json_uint(&j, "offset", f->offset);
    json_bool(&j, "valid", f->err == ESP_OK);
    if (f->err == ESP_OK) {
        json_null(&j, "error");
        json_null(&j, "reason");
    } else {
        json_string(&j, "error", esp_err_to_name(f->err));
        json_string(&j, "reason", f->diag.msg);
    }
    json_string(&j, "kind", cmd_image_kind_name(in->kind));
    const char *chip = otk_image_chip_id_name((uint16_t)h->chip_id);
    if (chip != NULL) {
        json_string(&j, "chip", chip);
    } else {
        json_null(&j, "chip");
    }
    json_object_begin(&j, "header");
    json_uint(&j, "magic", h->magic);
    json_uint(&j, "segment_count", h->segment_count);
    json_uint(&j, "spi_mode", h->spi_mode);
    json_uint(&j, "spi_speed", h->spi_speed);
    json_uint(&j, "spi_size", h->spi_size);
    const char *mode = otk_image_spi_mode_name(h->spi_mode);
    const char *freq = otk_image_flash_freq_name(in->chip, h->spi_speed);
    const char *size = otk_image_flash_size_name(h->spi_size);
    mode != NULL ? json_string(&j, "flash_mode", mode) : json_null(&j, "flash_mode");
    freq != NULL ? json_string(&j, "flash_freq", freq) : json_null(&j, "flash_freq");
    size != NULL ? json_string(&j, "flash_size", size) : json_null(&j, "flash_size");
    json_uint(&j, "entry_addr", h->entry_addr);
    json_uint(&j, "wp_pin", h->wp_pin);
    json_uint(&j, "chip_id", (uint16_t)h->chip_id);
    json_uint(&j, "min_chip_rev", h->min_chip_rev);
    json_uint(&j, "min_chip_rev_full", h->min_chip_rev_full);
    json_uint(&j, "max_chip_rev_full", h->max_chip_rev_full);
    json_bool(&j, "hash_appended", in->hash_appended);
    json_object_end(&j);
    json_array_begin(&j, "segments");
    for (uint8_t i = 0; i < in->segments_read; i++) {
        const otk_image_segment_info_t *s = &in->segments[i];
        char types[MEMORY_TYPES_MAX];
        otk_image_chip_memory_types(in->chip, s->load_addr, types, sizeof types);
        json_object_begin(&j, NULL);
        json_uint(&j, "index", i);
        json_uint(&j, "load_addr", s->load_addr);
        json_uint(&j, "length", s->data_len);
        json_uint(&j, "file_offset", s->header_offset);
        json_uint(&j, "data_offset", s->data_offset);
        json_bool(&j, "mapped", s->mapped);
        json_string(&j, "memory_types", types);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_uint(&j, "image_length", in->image_len);
    json_uint(&j, "total_length", in->total_len);
    json_object_begin(&j, "checksum");
    json_bool(&j, "read", in->checksum_read);
    json_uint(&j, "stored", in->checksum_stored);
    json_uint(&j, "computed", in->checksum_computed);
    json_bool(&j, "valid", in->checksum_valid);
    json_object_end(&j);
    json_object_begin(&j, "hash");
    json_bool(&j, "appended", in->hash_appended);
    if (in->hash_read) {
        json_hex(&j, "stored", in->hash_stored, OTK_SHA256_LEN);
    } else {
        json_null(&j, "stored");
    }
    if (in->checksum_read) {
        json_hex(&j, "computed", in->hash_computed, OTK_SHA256_LEN);
    } else {
        json_null(&j, "computed");
    }
    json_bool(&j, "valid", in->hash_read && in->hash_valid);
    json_bool(&j, "checked", in->hash_checked);
    json_object_end(&j);
    if (in->has_app_desc) {
        json_app_desc(&j, &in->app_desc);
    } else {
        json_null(&j, "app_desc");
    }
    if (in->has_bootloader_desc) {
        json_bootloader_desc(&j, &in->bootloader_desc);
    } else {
        json_null(&j, "bootloader_desc");
    }
    json_signature(&j, &in->sig);
    json_object_end(&j);
    json_finish(&j);
}

static void info_usage(FILE *out)
{
    fprintf(out,
            "usage: otakit image info FILE [options]\n\n"
            "Show an app or bootloader image the way esptool image_info --version 2 does:\n"
            "header, extended header, segments with memory types, checksum and SHA-256\n"
            "(valid or invalid), and the app or bootloader descriptor; then otakit's\n"
            "verdict. Exit 0 when the image could be read to its end (valid or not), 1 when\n"
            "it could not (bad magic, cut short, broken segment).\n\n"
            "options:\n"
            "  --json                 one JSON object instead of text\n"
            "  --app | --bootloader   what the image is (default: decided from segment 0)\n"
            "  --chip NAME, --chip-rev REV, --partition-size SIZE, --offset OFF,\n"
            "  --require-hash, --no-bootloader-hash\n"
            "                         as for 'otakit image verify' (they change the verdict)\n"
            "  -h, --help             this help\n");
}

int cmd_image_info(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        info_usage(stdout);
        return CLI_EXIT_OK;
    }
    cmd_image_file_t f;
    cmd_image_file_init(&f);
    f.opts.read_signature = true; /* show a Secure Boot v2 sector when there is one */
    bool json = false;
    for (int i = 1; i < argc; i++) {
        int r = cmd_image_common_option("image info", argc, argv, &i, &f);
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("image info", "unknown option '%s'", argv[i]);
        } else if (f.path != NULL) {
            return cli_usage_error("image info", "one FILE only");
        } else {
            f.path = argv[i];
        }
    }
    if (f.path == NULL) {
        return cli_usage_error("image info", "missing FILE");
    }
    if (!cmd_image_file_load(&f)) {
        cmd_image_file_free(&f);
        return CLI_EXIT_FAIL;
    }
    /* Without the checksum block there is no footer to show: the image is unreadable. */
    bool readable = f.info.header_read && f.info.checksum_read;
    if (json) {
        print_json(&f);
    } else if (readable) {
        const char *chip = otk_image_chip_id_name((uint16_t)f.info.header.chip_id);
        char upper[32];
        snprintf(upper, sizeof upper, "%s", chip != NULL ? chip : "UNKNOWN");
        printf("File size: %zu (bytes)\n", f.file_len);
        printf("Detected image type: %s\n", upper);
        print_header(&f, upper);
        print_segments(&f);
        print_footer(&f, upper);
        print_descriptors(&f);
        print_verdict(&f);
    }
    int rc = CLI_EXIT_OK;
    if (!readable) {
        cli_error("%s: cannot read the image: %s", f.path, f.diag.msg);
        rc = CLI_EXIT_FAIL;
    }
    cmd_image_file_free(&f);
    return rc;
}
