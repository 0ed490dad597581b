/* otakit partition: csv2bin, bin2csv, show. gen_esp32part.py's conversions (same bytes,
 * same text) plus a readable view of a table in a .bin, a .csv or a whole flash image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "json_out.h"
#include "otakit/partition.h"

/* A CSV is text a person wrote; a megabyte is far beyond any real one. */
#define CSV_FILE_MAX (1024u * 1024u)
/* A table file or a whole flash image (the largest flash device otakit emulates). */
#define INPUT_FILE_MAX ((size_t)OTK_FLASH_MAX_SIZE)
/* Longest $VAR name looked up in the environment; longer ones count as unset. */
#define VAR_NAME_MAX 256

static const char group_usage[] =
    "usage: otakit partition <command> [options]\n"
    "\n"
    "ESP-IDF partition tables, converted exactly as gen_esp32part.py converts them.\n"
    "\n"
    "commands:\n"
    "  csv2bin IN.csv OUT.bin   compile a CSV into the 0xC00-byte binary table\n"
    "  bin2csv IN.bin OUT.csv   print a binary table as CSV\n"
    "  show FILE                show a table (.bin, .csv, or a flash image)\n"
    "\n"
    "'otakit partition <command> --help' describes a command.\n";

static const char csv2bin_usage[] =
    "usage: otakit partition csv2bin IN.csv OUT.bin [options]\n"
    "\n"
    "Compile a partition CSV into the binary table (0xC00 bytes: records, MD5 record,\n"
    "0xFF padding), byte for byte as gen_esp32part.py. OUT '-' writes to stdout.\n"
    "$VAR and ${VAR} in the CSV are taken from the environment.\n"
    "\n"
    "options:\n"
    "  --offset N                       table offset (default 0x8000)\n"
    "  --flash-size SIZE                fail if the partitions do not fit (e.g. 4MB)\n"
    "  --no-md5                         no MD5 record (gen_esp32part --disable-md5sum)\n"
    "  --no-verify                      skip the table checks (gen_esp32part --no-verify)\n"
    "  --secure v1|v2                   app sizes fit secure boot (v1: 64 KiB multiples)\n"
    "  --primary-bootloader-offset N    where 'bootloader' entries point (e.g. 0x0)\n"
    "  --recovery-bootloader-offset N   where a 'recovery' bootloader entry points\n"
    "\n"
    "Exit status: 0 written, 1 the CSV is invalid (the message names the line), 2 usage.\n";

static const char bin2csv_usage[] =
    "usage: otakit partition bin2csv IN.bin OUT.csv [options]\n"
    "\n"
    "Print a binary table as CSV exactly as gen_esp32part.py does (its reading rules: the\n"
    "MD5 record must match, an all-0xFF record ends the table). OUT '-' writes to stdout.\n"
    "\n"
    "options:\n"
    "  --offset N          table offset for the checks (default 0x8000)\n"
    "  --flash-size SIZE   fail if the partitions do not fit\n"
    "  --no-md5            treat an MD5 record as an error (gen_esp32part --disable-md5sum)\n"
    "  --no-verify         skip the table checks\n"
    "  --secure v1|v2      app sizes fit secure boot\n"
    "\n"
    "Exit status: 0 written, 1 the table is invalid, 2 usage.\n";

static const char show_usage[] =
    "usage: otakit partition show FILE [options]\n"
    "\n"
    "Show a partition table: label, type, subtype, offset, size, flags, and whether the\n"
    "MD5 record is ok. FILE is a binary table, a CSV, or a flash image with the table at\n"
    "--offset. A binary is read as ESP-IDF's app-side loader reads it.\n"
    "\n"
    "options:\n"
    "  --offset N                       table offset in a flash image (default 0x8000)\n"
    "  --flash-size SIZE                also run the bootloader's check for this chip size\n"
    "                                   (a flash image's own size is used by default)\n"
    "  --primary-bootloader-offset N    for CSVs with 'bootloader' entries\n"
    "  --recovery-bootloader-offset N   for CSVs with a 'recovery' bootloader entry\n"
    "  --json                           machine-readable output\n"
    "\n"
    "Exit status: 0 shown, 1 no valid table or its MD5 record does not match, 2 usage.\n";

/* ---- options ----------------------------------------------------------------------------- */

typedef struct {
    otk_partition_gen_opts_t gen;
    bool json;
    bool flash_size_given;
    const char *pos[2];
    int npos;
} options_t;

static const char *env_var(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    char buf[VAR_NAME_MAX];
    if (len >= sizeof buf || memchr(name, '\0', len) != NULL) {
        return NULL;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    return getenv(buf);
}

/* True when `opt` is one of the space-separated names in `allowed`. */
static bool option_allowed(const char *allowed, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *at = allowed; *at != '\0';) {
        size_t w = strcspn(at, " ");
        if (w == n && strncmp(at, opt, n) == 0) {
            return true;
        }
        at += w;
        at += *at == ' ';
    }
    return false;
}

/* Parse argv after the command name. `allowed` lists the options this command takes. */
static int parse_options(const char *cmd, int argc, char **argv, const char *allowed,
                         int max_pos, options_t *o)
{
    memset(o, 0, sizeof *o);
    otk_partition_gen_opts_default(&o->gen);
    o->gen.getvar = env_var;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes_value = strcmp(a, "--offset") == 0 || strcmp(a, "--flash-size") == 0 ||
                           strcmp(a, "--secure") == 0 ||
                           strcmp(a, "--primary-bootloader-offset") == 0 ||
                           strcmp(a, "--recovery-bootloader-offset") == 0;
        if (a[0] == '-' && a[1] != '\0') {
            if (!option_allowed(allowed, a)) {
                return cli_usage_error(cmd, "unknown option '%s'", a);
            }
            if (takes_value && i + 1 >= argc) {
                return cli_usage_error(cmd, "%s needs a value", a);
            }
        }
        const char *v = takes_value ? argv[++i] : NULL;
        bool ok = true;
        if (strcmp(a, "--offset") == 0) {
            ok = cli_parse_u32(v, &o->gen.table_offset);
        } else if (strcmp(a, "--flash-size") == 0) {
            ok = cli_parse_size(v, &o->gen.flash_size) && o->gen.flash_size != 0;
            o->flash_size_given = true;
        } else if (strcmp(a, "--secure") == 0) {
            ok = strcmp(v, "v1") == 0 || strcmp(v, "v2") == 0;
            o->gen.secure = strcmp(v, "v1") == 0 ? OTK_PARTITION_SECURE_V1
                                                  : OTK_PARTITION_SECURE_V2;
        } else if (strcmp(a, "--primary-bootloader-offset") == 0) {
            ok = cli_parse_u32(v, &o->gen.primary_bootloader_offset) &&
                 o->gen.primary_bootloader_offset != OTK_PARTITION_OFFSET_NONE;
        } else if (strcmp(a, "--recovery-bootloader-offset") == 0) {
            ok = cli_parse_u32(v, &o->gen.recovery_bootloader_offset) &&
                 o->gen.recovery_bootloader_offset != OTK_PARTITION_OFFSET_NONE;
        } else if (strcmp(a, "--no-md5") == 0) {
            o->gen.md5 = false;
        } else if (strcmp(a, "--no-verify") == 0) {
            o->gen.verify = false;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (o->npos < max_pos) {
            o->pos[o->npos++] = a;
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s'", a);
        }
        if (!ok) {
            return cli_usage_error(cmd, "bad value '%s' for %s", v, a);
        }
    }
    if (o->npos != max_pos) {
        return cli_usage_error(cmd, "expected %d file argument%s", max_pos, max_pos > 1 ? "s" : "");
    }
    return CLI_EXIT_OK;
}

static bool write_output(const char *path, const void *data, size_t len)
{
    if (strcmp(path, "-") == 0) {
        return fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0;
    }
    return cli_write_file(path, data, len);
}

static bool is_binary_table(const uint8_t *data, size_t len)
{
    /* gen_esp32part's own test: a binary table starts with the record magic. */
    return len >= 2 && data[0] == 0xAA && data[1] == 0x50;
}

/* ---- csv2bin / bin2csv -------------------------------------------------------------------- */

static int run_csv2bin(int argc, char **argv)
{
    const char *cmd = "partition csv2bin";
    options_t o;
    int rc = parse_options(cmd, argc, argv,
                           "--offset --flash-size --no-md5 --no-verify --secure "
                           "--primary-bootloader-offset --recovery-bootloader-offset",
                           2, &o);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    uint8_t *csv;
    size_t len;
    if (!cli_read_file(o.pos[0], CSV_FILE_MAX, &csv, &len)) {
        return CLI_EXIT_FAIL;
    }
    if (is_binary_table(csv, len)) {
        free(csv);
        return cli_error("%s is a binary table, not a CSV (use 'otakit partition bin2csv')",
                         o.pos[0]);
    }
    otk_partition_table_t table;
    uint8_t bin[OTK_PARTITION_TABLE_BIN_SIZE];
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_partition_csv_compile((const char *)csv, len, &o.gen, &table, bin, &diag);
    free(csv);
    if (err != ESP_OK) {
        return cli_error("%s: %s", o.pos[0], diag.msg);
    }
    return write_output(o.pos[1], bin, sizeof bin) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int run_bin2csv(int argc, char **argv)
{
    const char *cmd = "partition bin2csv";
    options_t o;
    int rc = parse_options(cmd, argc, argv, "--offset --flash-size --no-md5 --no-verify --secure",
                           2, &o);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    uint8_t *bin;
    size_t len;
    if (!cli_read_file(o.pos[0], INPUT_FILE_MAX, &bin, &len)) {
        return CLI_EXIT_FAIL;
    }
    if (!is_binary_table(bin, len)) {
        free(bin);
        return cli_error("%s: not a binary partition table (it does not start with AA 50)",
                         o.pos[0]);
    }
    static char text[OTK_PARTITION_CSV_TEXT_MAX];
    size_t text_len;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_partition_bin_to_csv(bin, len, &o.gen, text, sizeof text, &text_len,
                                             &diag);
    free(bin);
    if (err != ESP_OK) {
        return cli_error("%s: %s", o.pos[0], diag.msg);
    }
    return write_output(o.pos[1], text, text_len) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- show ---------------------------------------------------------------------------------- */

typedef enum { SRC_BIN, SRC_CSV, SRC_IMAGE } source_kind_t;

static const char *source_name(source_kind_t k)
{
    return k == SRC_BIN ? "bin" : k == SRC_CSV ? "csv" : "image";
}

typedef struct {
    source_kind_t kind;
    otk_partition_table_t table;
    /* The bootloader's verdict on the table bytes (not run for a CSV without a size). */
    bool boot_checked;
    esp_err_t boot_err;
    otk_diag_t boot_diag;
    uint32_t chip_size;
} show_t;

static void flags_text(uint32_t flags, char *out, size_t cap)
{
    uint32_t unknown = flags & ~(uint32_t)(PART_FLAG_ENCRYPTED | PART_FLAG_READONLY);
    bool enc = (flags & PART_FLAG_ENCRYPTED) != 0, ro = (flags & PART_FLAG_READONLY) != 0;
    int n = snprintf(out, cap, "%s%s%s", enc ? "encrypted" : "", enc && ro ? "," : "",
                     ro ? "readonly" : "");
    if (unknown != 0 && n >= 0 && (size_t)n < cap) {
        snprintf(out + n, cap - (size_t)n, "%s0x%x", n > 0 ? "," : "", (unsigned)unknown);
    }
}

static void size_text(uint32_t size, char *out, size_t cap)
{
    if (size != 0 && size % (1024u * 1024u) == 0) {
        snprintf(out, cap, "0x%x (%uM)", (unsigned)size, (unsigned)(size >> 20));
    } else if (size != 0 && size % 1024u == 0) {
        snprintf(out, cap, "0x%x (%uK)", (unsigned)size, (unsigned)(size >> 10));
    } else {
        snprintf(out, cap, "0x%x", (unsigned)size);
    }
}

static void name_or_number(const char *name, unsigned value, char *out, size_t cap)
{
    if (name != NULL) {
        snprintf(out, cap, "%s", name);
    } else {
        snprintf(out, cap, "0x%02x", value);
    }
}

static void print_text(const char *path, const show_t *s, uint32_t offset)
{
    const otk_partition_table_t *t = &s->table;
    printf("Partition table  %s (%s", path,
           s->kind == SRC_BIN ? "binary table" : s->kind == SRC_CSV ? "CSV" : "flash image");
    if (s->kind == SRC_IMAGE) {
        printf(", table at 0x%x", (unsigned)offset);
    }
    printf(")\nMD5              %s\n", s->kind == SRC_CSV ? "n/a (a CSV has no MD5 record)"
                                                         : otk_partition_md5_name(t->md5));
    if (s->boot_checked) {
        printf("Bootloader check %s (flash 0x%x)%s%s\n",
               s->boot_err == ESP_OK ? "ok" : esp_err_to_name(s->boot_err),
               (unsigned)s->chip_size, s->boot_err == ESP_OK ? "" : ": ",
               s->boot_err == ESP_OK ? "" : s->boot_diag.msg);
    }
    printf("\n %2s  %-16s %-15s %-9s %-10s %-18s %s\n", "#", "Label", "Type", "SubType",
           "Offset", "Size", "Flags");
    for (size_t i = 0; i < t->count; i++) {
        const esp_partition_t *p = &t->parts[i];
        char type[24], sub[24], size[32], flags[48];
        uint8_t ty = (uint8_t)p->type, st = (uint8_t)p->subtype;
        name_or_number(otk_partition_type_name(ty), ty, type, sizeof type);
        name_or_number(otk_partition_subtype_name(ty, st), st, sub, sizeof sub);
        size_text(p->size, size, sizeof size);
        flags_text(t->flags[i], flags, sizeof flags);
        char row[256]; /* widest columns plus a 16-char label and flags */
        snprintf(row, sizeof row, " %2zu  %-16s %-15s %-9s 0x%-8x %-18s %s", i, p->label, type,
                 sub, (unsigned)p->address, size, flags);
        size_t n = strlen(row);
        while (n > 0 && row[n - 1] == ' ') {
            row[--n] = '\0'; /* no trailing blanks when there are no flags */
        }
        puts(row);
    }
}

static void print_json(const char *path, const show_t *s, uint32_t offset)
{
    const otk_partition_table_t *t = &s->table;
    json_out_t j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "file", path);
    json_string(&j, "format", source_name(s->kind));
    json_uint(&j, "table_offset", offset);
    json_string(&j, "md5", otk_partition_md5_name(t->md5));
    if (s->boot_checked) {
        json_object_begin(&j, "bootloader_check");
        json_uint(&j, "flash_size", s->chip_size);
        json_string(&j, "result", s->boot_err == ESP_OK ? "ok" : esp_err_to_name(s->boot_err));
        if (s->boot_err != ESP_OK) {
            json_string(&j, "reason", s->boot_diag.msg);
        }
        json_object_end(&j);
    } else {
        json_null(&j, "bootloader_check");
    }
    json_array_begin(&j, "partitions");
    for (size_t i = 0; i < t->count; i++) {
        const esp_partition_t *p = &t->parts[i];
        uint8_t ty = (uint8_t)p->type, st = (uint8_t)p->subtype;
        const char *tn = otk_partition_type_name(ty), *sn = otk_partition_subtype_name(ty, st);
        json_object_begin(&j, NULL);
        json_string(&j, "label", p->label);
        json_uint(&j, "type", ty);
        tn != NULL ? json_string(&j, "type_name", tn) : json_null(&j, "type_name");
        json_uint(&j, "subtype", st);
        sn != NULL ? json_string(&j, "subtype_name", sn) : json_null(&j, "subtype_name");
        json_uint(&j, "offset", p->address);
        json_uint(&j, "size", p->size);
        json_uint(&j, "flags", t->flags[i]);
        json_bool(&j, "encrypted", (t->flags[i] & PART_FLAG_ENCRYPTED) != 0);
        json_bool(&j, "readonly", (t->flags[i] & PART_FLAG_READONLY) != 0);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

/* Read the table bytes of a .bin or a flash image as the app-side loader does, and run the
 * bootloader's check when a chip size is known. */
static int load_binary(const char *path, const uint8_t *data, size_t len, uint32_t chip_size,
                       show_t *s)
{
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_partition_table_parse(data, len, OTK_PARTITION_RULES_APP, 0, &s->table,
                                              &diag);
    if (err != ESP_OK) {
        return cli_error("%s: %s", path, diag.msg);
    }
    if (s->table.count == 0) {
        return cli_error("%s: no partition records", path);
    }
    if (chip_size != 0) {
        otk_partition_table_t scratch;
        otk_diag_clear(&s->boot_diag);
        s->boot_checked = true;
        s->chip_size = chip_size;
        s->boot_err = otk_partition_table_parse(data, len, OTK_PARTITION_RULES_BOOTLOADER,
                                                chip_size, &scratch, &s->boot_diag);
    }
    return CLI_EXIT_OK;
}

static bool looks_like_text(const uint8_t *data, size_t len)
{
    return memchr(data, '\0', len) == NULL;
}

static int run_show(int argc, char **argv)
{
    const char *cmd = "partition show";
    options_t o;
    int rc = parse_options(cmd, argc, argv,
                           "--offset --flash-size --json --primary-bootloader-offset "
                           "--recovery-bootloader-offset",
                           1, &o);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    const char *path = o.pos[0];
    uint8_t *data;
    size_t len;
    if (!cli_read_file(path, INPUT_FILE_MAX, &data, &len)) {
        return CLI_EXIT_FAIL;
    }
    static show_t s;
    memset(&s, 0, sizeof s);
    uint32_t offset = o.gen.table_offset;
    uint32_t chip_size = o.flash_size_given ? o.gen.flash_size : 0;
    if (is_binary_table(data, len)) {
        s.kind = SRC_BIN;
        rc = load_binary(path, data, len, chip_size, &s);
    } else if (len > offset && len - offset >= 2 && is_binary_table(data + offset, len - offset)) {
        s.kind = SRC_IMAGE;
        size_t n = len - offset < OTK_PARTITION_SECTOR_SIZE ? len - offset
                                                            : OTK_PARTITION_SECTOR_SIZE;
        rc = load_binary(path, data + offset, n, chip_size != 0 ? chip_size : (uint32_t)len, &s);
    } else if (looks_like_text(data, len)) {
        s.kind = SRC_CSV;
        otk_diag_t diag;
        otk_diag_clear(&diag);
        o.gen.flash_size = 0; /* shown, not enforced */
        if (otk_partition_csv_compile((const char *)data, len, &o.gen, &s.table, NULL, &diag) !=
            ESP_OK) {
            rc = cli_error("%s: %s", path, diag.msg);
        }
        s.table.md5 = OTK_PARTITION_MD5_NONE; /* a CSV has no MD5 record to check */
    } else {
        rc = cli_error("%s: no partition table (not a binary table, not a CSV, and nothing at "
                       "0x%x)", path, (unsigned)offset);
    }
    free(data);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    s.table.table_offset = offset;
    if (o.json) {
        print_json(path, &s, offset);
    } else {
        print_text(path, &s, offset);
    }
    bool bad = s.table.md5 == OTK_PARTITION_MD5_MISMATCH || (s.boot_checked && s.boot_err != ESP_OK);
    return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cmd_partition(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(group_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
        const char *usage;
    } cmds[] = {
        {"csv2bin", run_csv2bin, csv2bin_usage},
        {"bin2csv", run_bin2csv, bin2csv_usage},
        {"show", run_show, show_usage},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            if (cli_wants_help(argc - 1, argv + 1)) {
                fputs(cmds[i].usage, stdout);
                return CLI_EXIT_OK;
            }
            return cmds[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "otakit partition: unknown command '%s'\n\n%s", argv[1], group_usage);
    return CLI_EXIT_USAGE;
}
