/* otakit flash create|info|write: whole ESP flash image files (what `idf.py flash` would put
 * on a chip), for the simulated device and for inspection. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "flash_view.h"
#include "otakit/image.h"

static const char USAGE[] =
    "usage: otakit flash <command> [options]\n\n"
    "commands:\n"
    "  create --partitions CSV -o FLASH [--size 4MB] [--bootloader FILE]\n"
    "         [--write LABEL=FILE ...] [--offset 0x8000] [--no-md5]\n"
    "      make a flash image file: all 0xFF, the compiled table at --offset, otadata\n"
    "      erased (so the factory app, or ota_0, boots), the bootloader at its chip's offset\n"
    "      (from the image header), and each FILE written into partition LABEL\n"
    "  info FLASH [--offset 0x8000] [--json]\n"
    "      the partition table, both otadata entries and the slot they select, the\n"
    "      bootloader, and a verified summary of each app partition's image\n"
    "  write FLASH LABEL FILE [--offset 0x8000]\n"
    "      erase partition LABEL (as far as FILE reaches) and write FILE into it\n";

/* Enough --write options for every partition a table can hold. */
#define FLASH_MAX_WRITES OTK_PARTITION_TABLE_MAX
/* An image file is read whole; nothing on an ESP flash is larger than the flash. */
#define FLASH_FILE_MAX OTK_FLASH_MAX_SIZE

typedef struct {
    const char *partitions_csv;
    const char *output;
    const char *bootloader;
    uint32_t size;
    uint32_t table_offset;
    bool md5;
    bool json;
    const char *writes[FLASH_MAX_WRITES];
    size_t nwrites;
    const char *args[3];
    int nargs;
} flash_opts_t;

static int parse_opts(int argc, char **argv, flash_opts_t *o)
{
    static const struct option longopts[] = {
        {"partitions", required_argument, NULL, 'p'}, {"size", required_argument, NULL, 's'},
        {"bootloader", required_argument, NULL, 'b'}, {"write", required_argument, NULL, 'w'},
        {"offset", required_argument, NULL, 'f'},     {"no-md5", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},             {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->size = 4u * 1024u * 1024u;
    o->table_offset = ESP_PARTITION_TABLE_OFFSET_DEFAULT;
    o->md5 = true;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->partitions_csv = optarg;
            break;
        case 's':
            if (!cli_parse_size(optarg, &o->size) || o->size == 0 ||
                o->size % OTK_FLASH_SECTOR_SIZE != 0 || o->size > OTK_FLASH_MAX_SIZE) {
                return cli_usage_error("flash", "--size %s: expected a multiple of 4 KiB up to "
                                       "256MB, like 4MB", optarg);
            }
            break;
        case 'b':
            o->bootloader = optarg;
            break;
        case 'w':
            if (o->nwrites == FLASH_MAX_WRITES) {
                return cli_usage_error("flash", "too many --write options");
            }
            if (strchr(optarg, '=') == NULL) {
                return cli_usage_error("flash", "--write %s: expected LABEL=FILE", optarg);
            }
            o->writes[o->nwrites++] = optarg;
            break;
        case 'f':
            if (!parse_table_offset("flash", optarg, &o->table_offset)) {
                return CLI_EXIT_USAGE;
            }
            break;
        case 'n':
            o->md5 = false;
            break;
        case 'j':
            o->json = true;
            break;
        case 'o':
            o->output = optarg;
            break;
        default:
            return cli_usage_error("flash", "unknown option");
        }
    }
    for (int i = optind; i < argc; i++) {
        if (o->nargs == 3) {
            return cli_usage_error("flash", "too many arguments");
        }
        o->args[o->nargs++] = argv[i];
    }
    return -1;
}

/* One line about the image at the start of a partition (or a file): what it is and whether
 * it verifies. Returns the verdict. */
static esp_err_t describe_image(otk_flash_t *flash, uint32_t offset, uint32_t max_size,
                                otk_image_kind_t kind, otk_image_info_t *info, otk_diag_t *diag)
{
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    opts.kind = kind;
    if (kind == OTK_IMAGE_BOOTLOADER) {
        opts.require_app_desc = false;
    }
    otk_diag_clear(diag);
    return otk_image_verify_flash(flash, offset, max_size, &opts, info, diag);
}

static bool region_erased(otk_flash_t *flash, uint32_t offset)
{
    uint8_t b = 0;
    return otk_flash_read(flash, offset, &b, 1) == ESP_OK && b == 0xFF;
}

static void print_image_line(const char *what, esp_err_t verdict, const otk_image_info_t *info,
                             const otk_diag_t *diag)
{
    if (verdict != ESP_OK) {
        printf("%s: INVALID: %s\n", what, diag->msg);
        return;
    }
    const char *chip = otk_image_chip_id_name(info->header.chip_id);
    if (info->has_app_desc) {
        printf("%s: %.32s %.32s (%s, secure_version %u, %u bytes, sha256 %02x%02x%02x%02x...)\n",
               what, info->app_desc.project_name, info->app_desc.version, chip ? chip : "?",
               (unsigned)info->app_desc.secure_version, (unsigned)info->total_len,
               info->hash_computed[0], info->hash_computed[1], info->hash_computed[2],
               info->hash_computed[3]);
    } else if (info->has_bootloader_desc) {
        printf("%s: bootloader version %u, IDF %.32s (%s, %u bytes)\n", what,
               (unsigned)info->bootloader_desc.version, info->bootloader_desc.idf_ver,
               chip ? chip : "?", (unsigned)info->total_len);
    } else {
        printf("%s: image for %s, %u bytes, valid\n", what, chip ? chip : "?",
               (unsigned)info->total_len);
    }
}

static void json_image(json_out_t *j, const char *key, esp_err_t verdict,
                       const otk_image_info_t *info, const otk_diag_t *diag)
{
    json_object_begin(j, key);
    json_bool(j, "valid", verdict == ESP_OK);
    if (verdict != ESP_OK) {
        json_string(j, "reason", diag->msg);
    } else {
        const char *chip = otk_image_chip_id_name(info->header.chip_id);
        json_string(j, "chip", chip ? chip : "unknown");
        json_uint(j, "size", info->total_len);
        json_hex(j, "sha256", info->hash_computed, sizeof info->hash_computed);
        if (info->has_app_desc) {
            json_string_n(j, "project_name", info->app_desc.project_name, 32);
            json_string_n(j, "version", info->app_desc.version, 32);
            json_uint(j, "secure_version", info->app_desc.secure_version);
            json_string_n(j, "idf_ver", info->app_desc.idf_ver, 32);
        }
    }
    json_object_end(j);
}

/* The bootloader: at the offset its own header's chip expects (0x0, 0x1000 or 0x2000). */
static bool find_bootloader(otk_flash_t *flash, uint32_t table_offset, uint32_t *offset,
                            const otk_image_chip_t **chip)
{
    static const uint32_t candidates[] = {0x1000, 0x0, 0x2000};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        uint8_t hdr_bytes[OTK_IMAGE_HEADER_LEN];
        if (candidates[i] >= table_offset ||
            otk_flash_read(flash, candidates[i], hdr_bytes, sizeof hdr_bytes) != ESP_OK ||
            hdr_bytes[0] != ESP_IMAGE_HEADER_MAGIC) {
            continue;
        }
        esp_image_header_t hdr;
        otk_image_header_decode(hdr_bytes, &hdr);
        const otk_image_chip_t *c = otk_image_chip_by_id(hdr.chip_id);
        if (c != NULL && c->bootloader_offset == candidates[i]) {
            *offset = candidates[i];
            *chip = c;
            return true;
        }
    }
    return false;
}

static void print_table(const otk_partition_table_t *t)
{
    printf("  %-16s %-15s %-10s %-10s %-10s %s\n", "label", "type", "subtype", "offset", "size",
           "flags");
    for (size_t i = 0; i < t->count; i++) {
        const esp_partition_t *p = &t->parts[i];
        const char *type = otk_partition_type_name((uint8_t)p->type);
        const char *sub = otk_partition_subtype_name((uint8_t)p->type, (uint8_t)p->subtype);
        char tbuf[8], sbuf[8];
        snprintf(tbuf, sizeof tbuf, "0x%02x", (unsigned)p->type);
        snprintf(sbuf, sizeof sbuf, "0x%02x", (unsigned)p->subtype);
        printf("  %-16s %-15s %-10s 0x%-8x 0x%-8x %s%s\n", p->label, type ? type : tbuf,
               sub ? sub : sbuf, (unsigned)p->address, (unsigned)p->size,
               (t->flags[i] & PART_FLAG_ENCRYPTED) ? "encrypted " : "",
               (t->flags[i] & PART_FLAG_READONLY) ? "readonly" : "");
    }
}

static int flash_info(const flash_opts_t *o)
{
    flash_file_t ff;
    if (!flash_file_open(&ff, o->args[0], o->table_offset)) {
        return CLI_EXIT_FAIL;
    }
    const otk_partition_table_t *t = &ff.table;
    const esp_partition_t *otadata = otk_otadata_find_partition(t);
    esp_ota_select_entry_t entries[2];
    esp_err_t otadata_err = otadata ? otk_otadata_read(otadata, entries) : ESP_ERR_NOT_FOUND;
    uint32_t boot_offset = 0;
    const otk_image_chip_t *boot_chip = NULL;
    bool has_boot = find_bootloader(ff.flash, o->table_offset, &boot_offset, &boot_chip);
    otk_image_info_t info;
    otk_diag_t diag;
    json_out_t j;

    if (o->json) {
        json_init(&j, stdout);
        json_object_begin(&j, NULL);
        json_string(&j, "file", o->args[0]);
        json_uint(&j, "size", otk_flash_size(ff.flash));
        json_uint(&j, "table_offset", o->table_offset);
        json_string(&j, "md5", otk_partition_md5_name(t->md5));
        json_array_begin(&j, "partitions");
        for (size_t i = 0; i < t->count; i++) {
            const esp_partition_t *p = &t->parts[i];
            json_object_begin(&j, NULL);
            json_string(&j, "label", p->label);
            json_uint(&j, "type", (uint64_t)p->type);
            json_uint(&j, "subtype", (uint64_t)p->subtype);
            json_uint(&j, "offset", p->address);
            json_uint(&j, "size", p->size);
            json_uint(&j, "flags", t->flags[i]);
            if (p->type == ESP_PARTITION_TYPE_APP) {
                if (region_erased(ff.flash, p->address)) {
                    json_null(&j, "image");
                } else {
                    esp_err_t v = describe_image(ff.flash, p->address, p->size, OTK_IMAGE_APP,
                                                 &info, &diag);
                    json_image(&j, "image", v, &info, &diag);
                }
            }
            json_object_end(&j);
        }
        json_array_end(&j);
        if (otadata != NULL && otadata_err == ESP_OK) {
            otadata_print_json(&j, "otadata", &ff, otadata, entries);
        } else {
            json_null(&j, "otadata");
        }
        if (has_boot) {
            esp_err_t v = describe_image(ff.flash, boot_offset, o->table_offset - boot_offset,
                                         OTK_IMAGE_BOOTLOADER, &info, &diag);
            json_image(&j, "bootloader", v, &info, &diag);
            json_uint(&j, "bootloader_offset", boot_offset);
        } else {
            json_null(&j, "bootloader");
        }
        json_object_end(&j);
        json_finish(&j);
        flash_file_close(&ff);
        return CLI_EXIT_OK;
    }

    printf("%s: %u bytes (%u KiB) of flash\n", o->args[0], (unsigned)otk_flash_size(ff.flash),
           (unsigned)(otk_flash_size(ff.flash) / 1024));
    printf("\npartition table at 0x%x: %zu partitions, MD5 %s\n", (unsigned)o->table_offset,
           t->count, otk_partition_md5_name(t->md5));
    print_table(t);

    printf("\n");
    if (otadata == NULL) {
        printf("no otadata partition: the factory app always boots\n");
    } else if (otadata_err != ESP_OK) {
        printf("otadata: cannot read (%s)\n", esp_err_to_name(otadata_err));
    } else {
        otadata_print_text(&ff, otadata, entries);
    }

    printf("\n");
    if (has_boot) {
        char what[64];
        snprintf(what, sizeof what, "bootloader at 0x%x", (unsigned)boot_offset);
        esp_err_t v = describe_image(ff.flash, boot_offset, o->table_offset - boot_offset,
                                     OTK_IMAGE_BOOTLOADER, &info, &diag);
        print_image_line(what, v, &info, &diag);
    } else {
        printf("bootloader: none found at 0x0 / 0x1000 / 0x2000\n");
    }
    for (size_t i = 0; i < t->count; i++) {
        const esp_partition_t *p = &t->parts[i];
        if (p->type != ESP_PARTITION_TYPE_APP) {
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "%-8s 0x%06x", p->label, (unsigned)p->address);
        if (region_erased(ff.flash, p->address)) {
            printf("%s: empty\n", what);
            continue;
        }
        esp_err_t v = describe_image(ff.flash, p->address, p->size, OTK_IMAGE_APP, &info, &diag);
        print_image_line(what, v, &info, &diag);
    }
    flash_file_close(&ff);
    return CLI_EXIT_OK;
}

/* Erase the part of `part` that data covers (whole sectors) and program data into it. For
 * an app partition, say whether the image verifies there (a warning, not a refusal: tests
 * put bad images on flash on purpose). */
static bool write_into_partition(otk_flash_t *flash, const esp_partition_t *part,
                                 const uint8_t *data, size_t len, const char *file)
{
    if (len > part->size) {
        cli_error("%s (%zu bytes) does not fit partition '%s' (%u bytes)", file, len, part->label,
                  (unsigned)part->size);
        return false;
    }
    size_t erase_len = (len + OTK_FLASH_SECTOR_SIZE - 1) / OTK_FLASH_SECTOR_SIZE * OTK_FLASH_SECTOR_SIZE;
    esp_err_t err = otk_partition_erase_range(part, 0, erase_len);
    if (err == ESP_OK) {
        err = otk_partition_write(part, 0, data, len);
    }
    if (err != ESP_OK) {
        cli_error("writing %s into '%s': %s", file, part->label, esp_err_to_name(err));
        return false;
    }
    char what[128];
    snprintf(what, sizeof what, "%s -> %s at 0x%x", file, part->label, (unsigned)part->address);
    if (part->type == ESP_PARTITION_TYPE_APP) {
        otk_image_info_t info;
        otk_diag_t diag;
        esp_err_t v = describe_image(flash, part->address, part->size, OTK_IMAGE_APP, &info, &diag);
        print_image_line(what, v, &info, &diag);
        if (v != ESP_OK) {
            fprintf(stderr, "otakit: warning: '%s' now holds an image that will not boot\n",
                    part->label);
        }
    } else {
        printf("%s: %zu bytes\n", what, len);
    }
    return true;
}

static bool write_bootloader(otk_flash_t *flash, uint32_t table_offset, const char *path)
{
    uint8_t *data;
    size_t len;
    if (!cli_read_file(path, FLASH_FILE_MAX, &data, &len)) {
        return false;
    }
    bool ok = false;
    esp_image_header_t hdr;
    const otk_image_chip_t *chip = NULL;
    if (len >= OTK_IMAGE_HEADER_LEN && data[0] == ESP_IMAGE_HEADER_MAGIC) {
        otk_image_header_decode(data, &hdr);
        chip = otk_image_chip_by_id(hdr.chip_id);
    }
    if (chip == NULL) {
        cli_error("%s: not a bootloader image of a known chip (magic/chip id)", path);
    } else if (chip->bootloader_offset + len > table_offset) {
        cli_error("%s: %zu bytes at 0x%x overlaps the partition table at 0x%x", path, len,
                  (unsigned)chip->bootloader_offset, (unsigned)table_offset);
    } else {
        esp_err_t err = otk_flash_program(flash, chip->bootloader_offset, data, len);
        if (err != ESP_OK) {
            cli_error("writing the bootloader: %s", esp_err_to_name(err));
        } else {
            otk_image_info_t info;
            otk_diag_t diag;
            char what[160];
            snprintf(what, sizeof what, "%s -> bootloader at 0x%x", path,
                     (unsigned)chip->bootloader_offset);
            esp_err_t v = describe_image(flash, chip->bootloader_offset,
                                         table_offset - chip->bootloader_offset,
                                         OTK_IMAGE_BOOTLOADER, &info, &diag);
            print_image_line(what, v, &info, &diag);
            ok = true;
        }
    }
    free(data);
    return ok;
}

static bool write_labelled_file(otk_flash_t *flash, const otk_partition_table_t *t,
                                const char *label, const char *path)
{
    const esp_partition_t *part = otk_partition_find_first(t, ESP_PARTITION_TYPE_ANY,
                                                           ESP_PARTITION_SUBTYPE_ANY, label);
    if (part == NULL) {
        cli_error("no partition labelled '%s' in the table", label);
        return false;
    }
    uint8_t *data;
    size_t len;
    if (!cli_read_file(path, FLASH_FILE_MAX, &data, &len)) {
        return false;
    }
    bool ok = write_into_partition(flash, part, data, len, path);
    free(data);
    return ok;
}

static int flash_create(const flash_opts_t *o)
{
    if (o->partitions_csv == NULL || o->output == NULL) {
        return cli_usage_error("flash", "create needs --partitions CSV and -o FLASH");
    }
    uint8_t *csv;
    size_t csv_len;
    if (!cli_read_file(o->partitions_csv, 1u << 20, &csv, &csv_len)) {
        return CLI_EXIT_FAIL;
    }
    otk_partition_gen_opts_t gen;
    otk_partition_gen_opts_default(&gen);
    gen.table_offset = o->table_offset;
    gen.flash_size = o->size;
    gen.md5 = o->md5;
    static otk_partition_table_t table;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_partition_csv_compile((const char *)csv, csv_len, &gen, &table, NULL, &diag);
    free(csv);
    if (err != ESP_OK) {
        return cli_error("%s: %s", o->partitions_csv, diag.msg);
    }
    otk_flash_t *flash;
    err = otk_flash_file_create(o->output, o->size, &flash);
    if (err != ESP_OK) {
        return cli_error("%s: cannot create (%s)", o->output, esp_err_to_name(err));
    }
    otk_partition_table_set_flash(&table, flash);
    bool ok = true;
    err = otk_partition_table_write(flash, o->table_offset, &table, o->md5, &diag);
    if (err != ESP_OK) {
        ok = false;
        cli_error("writing the partition table: %s", diag.msg);
    } else {
        printf("%s: %u bytes, partition table at 0x%x (%zu partitions), otadata erased\n",
               o->output, (unsigned)o->size, (unsigned)o->table_offset, table.count);
    }
    if (ok && o->bootloader != NULL) {
        ok = write_bootloader(flash, o->table_offset, o->bootloader);
    }
    for (size_t i = 0; ok && i < o->nwrites; i++) {
        char label[64];
        const char *eq = strchr(o->writes[i], '=');
        size_t n = (size_t)(eq - o->writes[i]);
        if (n == 0 || n >= sizeof label) {
            ok = false;
            cli_error("--write %s: bad label", o->writes[i]);
            break;
        }
        memcpy(label, o->writes[i], n);
        label[n] = '\0';
        ok = write_labelled_file(flash, &table, label, eq + 1);
    }
    otk_flash_destroy(flash);
    if (!ok) {
        /* Half a flash image is worse than none: a later run would boot from it. */
        unlink(o->output);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static int flash_write(const flash_opts_t *o)
{
    flash_file_t ff;
    if (!flash_file_open(&ff, o->args[0], o->table_offset)) {
        return CLI_EXIT_FAIL;
    }
    bool ok = write_labelled_file(ff.flash, &ff.table, o->args[1], o->args[2]);
    flash_file_close(&ff);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_flash(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    flash_opts_t o;
    int rc = parse_opts(argc - 1, argv + 1, &o);
    if (rc >= 0) {
        return rc;
    }
    if (strcmp(argv[1], "create") == 0) {
        return o.nargs == 0 ? flash_create(&o) : cli_usage_error("flash", "create takes no "
                                                                 "positional arguments");
    }
    if (strcmp(argv[1], "info") == 0) {
        return o.nargs == 1 ? flash_info(&o) : cli_usage_error("flash", "info takes FLASH");
    }
    if (strcmp(argv[1], "write") == 0) {
        return o.nargs == 3 ? flash_write(&o)
                            : cli_usage_error("flash", "write takes FLASH LABEL FILE");
    }
    return cli_usage_error("flash", "unknown command '%s'", argv[1]);
}
