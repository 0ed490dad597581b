/* CSV -> table, as gen_esp32part.py's from_csv(), verify() and to_binary() do it.
 *
 * Values stay signed 64-bit until the end, like Python's ints: a negative size is an end
 * address, and a value that would not pack into the record only fails at the very end, so
 * the first error reported is the one the tool reports. */
#include <stdio.h>
#include <string.h>

#include "partition_internal.h"

#define ERR_MAX 200 /* one field's complaint, before "Error at line N: " */
#define UTF8_BOM "\xEF\xBB\xBF"
#define UTF8_BOM_LEN 3

typedef struct {
    const otk_partition_gen_opts_t *opts;
    otk_diag_t *diag;
    pt_work_t work[OTK_PARTITION_TABLE_MAX];
    bool offset_set[OTK_PARTITION_TABLE_MAX];
    const char *raw[OTK_PARTITION_TABLE_MAX]; /* the source line, to recover names > 16 bytes */
    size_t raw_len[OTK_PARTITION_TABLE_MAX];
    pt_work_list_t list;
    char line[OTK_PARTITION_CSV_LINE_MAX];
    char name_a[OTK_PARTITION_CSV_LINE_MAX], name_b[OTK_PARTITION_CSV_LINE_MAX];
} compiler_t;

/* ---- names longer than a label ------------------------------------------------------- */

/* The full name of entry i, recovered from its source line into buf. */
static void name_of(compiler_t *c, size_t i, char *buf, const char **name, size_t *len)
{
    size_t n = 0;
    /* This line expanded once already, so it fits again (same variables, same buffer). */
    pt_expand_vars(c->raw[i], c->raw_len[i], c->opts->getvar, c->opts->getvar_ctx, buf,
                   OTK_PARTITION_CSV_LINE_MAX, &n);
    const char *s = buf;
    pt_strip(&s, &n);
    pt_csv_name_field(s, n, name, len);
}

static bool full_names_equal(void *ctx, size_t a, size_t b)
{
    compiler_t *c = ctx;
    const char *x, *y;
    size_t nx, ny;
    name_of(c, a, c->name_a, &x, &nx);
    name_of(c, b, c->name_b, &y, &ny);
    return nx == ny && memcmp(x, y, nx) == 0;
}

/* ---- the whole text -------------------------------------------------------------------- */

static unsigned line_of_offset(const char *text, size_t len, size_t offset)
{
    size_t pos = 0, n;
    const char *line;
    unsigned no = 0;
    while (pt_next_line(text, len, &pos, &line, &n)) {
        no++;
        if ((size_t)(line - text) + n >= offset) {
            break;
        }
    }
    return no == 0 ? 1 : no;
}

static esp_err_t check_encoding(const char **text, size_t *len, otk_diag_t *diag)
{
    const uint8_t *b = (const uint8_t *)*text;
    if (*len >= UTF8_BOM_LEN && memcmp(b, UTF8_BOM, UTF8_BOM_LEN) == 0) {
        *text += UTF8_BOM_LEN; /* decoded as utf-8-sig: the BOM is not part of line 1 */
        *len -= UTF8_BOM_LEN;
        b += UTF8_BOM_LEN;
    } else if (*len >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF) ||
                             (*len >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF))) {
        otk_diag_set(diag, "UTF-16/UTF-32 CSV is not supported; save it as UTF-8");
        return ESP_ERR_NOT_SUPPORTED;
    }
    size_t bad;
    if (!pt_utf8_valid(b, *len, &bad)) {
        otk_diag_set(diag, "Error at line %u: not valid UTF-8 (byte 0x%02x)",
                     line_of_offset(*text, *len, bad), b[bad]);
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

/* Lines whose first non-blank character is '#' cannot change under $VAR expansion, so they
 * are skipped without expanding (and may be any length). */
static bool skip_raw(const char *s, size_t n)
{
    pt_strip(&s, &n);
    return n == 0 || s[0] == '#';
}

static bool is_var_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static esp_err_t read_lines(compiler_t *c, const char *text, size_t len)
{
    size_t pos = 0, raw_n;
    const char *raw;
    unsigned line_no = 0;
    char err[ERR_MAX];
    while (pt_next_line(text, len, &pos, &raw, &raw_n)) {
        line_no++;
        if (skip_raw(raw, raw_n)) {
            continue;
        }
        size_t n;
        if (pt_expand_vars(raw, raw_n, c->opts->getvar, c->opts->getvar_ctx, c->line,
                           sizeof c->line, &n) != ESP_OK) {
            otk_diag_set(c->diag, "Error at line %u: longer than %u bytes", line_no,
                         OTK_PARTITION_CSV_LINE_MAX);
            return ESP_ERR_INVALID_SIZE;
        }
        /* The tool rejects a $NAME left unexpanded only at the very start of the line. */
        if (n >= 2 && c->line[0] == '$' && is_var_start(c->line[1])) {
            size_t k = 2;
            while (k < n && (is_var_start(c->line[k]) || (c->line[k] >= '0' && c->line[k] <= '9'))) {
                k++;
            }
            otk_diag_set(c->diag, "Error at line %u: unknown variable '%.*s'", line_no,
                         (int)(k - 1), c->line + 1);
            return ESP_ERR_INVALID_ARG;
        }
        const char *s = c->line;
        pt_strip(&s, &n);
        if (n == 0 || s[0] == '#') {
            continue;
        }
        if (c->list.n == OTK_PARTITION_TABLE_MAX) {
            otk_diag_set(c->diag, "Error at line %u: too many partitions (a table holds %zu "
                         "records)", line_no, (size_t)OTK_PARTITION_TABLE_MAX);
            return ESP_ERR_INVALID_SIZE;
        }
        size_t i = c->list.n;
        if (pt_csv_parse_line(c->opts, s, n, &c->work[i], &c->offset_set[i], err, sizeof err) !=
            ESP_OK) {
            otk_diag_set(c->diag, "Error at line %u: %s", line_no, err);
            return ESP_ERR_INVALID_ARG;
        }
        c->work[i].loc = line_no;
        c->raw[i] = raw;
        c->raw_len[i] = raw_n;
        c->list.n++;
    }
    return ESP_OK;
}

/* `e == res[0]` in the tool: name, type, subtype, offset and size all equal. */
static bool same_as_first(const compiler_t *c, size_t i)
{
    const pt_work_t *a = &c->work[0], *b = &c->work[i];
    return i == 0 || (pt_names_equal(&c->list, 0, i) && a->type == b->type &&
                      a->subtype == b->subtype && a->offset == b->offset && a->size == b->size);
}

/* Fill in missing offsets and resolve end-address sizes, in table order. */
static esp_err_t place(compiler_t *c)
{
    int64_t table_offset = c->opts->table_offset;
    int64_t last_end = table_offset + OTK_PARTITION_SECTOR_SIZE;
    for (size_t i = 0; i < c->list.n; i++) {
        pt_work_t *e = &c->work[i];
        if (pt_is_primary(e->type, e->subtype)) {
            continue; /* fixed addresses below the first partition */
        }
        if (c->offset_set[i] && e->offset < last_end) {
            char a[24], b[24], t[24];
            pt_pyhex(e->offset, a);
            pt_pyhex(last_end, b);
            pt_pyhex(table_offset, t);
            if (same_as_first(c, i)) {
                otk_diag_set(c->diag, "CSV Error at line %u: Partitions overlap. Partition sets "
                             "offset %s. But partition table occupies the whole sector %s. Use "
                             "a free offset %s or higher.", e->loc, a, t, b);
            } else {
                otk_diag_set(c->diag, "CSV Error at line %u: Partitions overlap. Partition sets "
                             "offset %s. Previous partition ends %s", e->loc, a, b);
            }
            return ESP_ERR_INVALID_STATE;
        }
        if (!c->offset_set[i]) {
            int64_t align = pt_offset_align(e->type);
            if (last_end % align != 0) {
                last_end += align - last_end % align;
            }
            e->offset = last_end;
        }
        if (e->size < 0) {
            e->size = -e->size - e->offset;
        }
        last_end = e->offset + e->size;
    }
    return ESP_OK;
}

/* What struct.pack would refuse: type and subtype are bytes, offset and size 32-bit. */
static esp_err_t check_ranges(const compiler_t *c)
{
    for (size_t i = 0; i < c->list.n; i++) {
        const pt_work_t *w = &c->work[i];
        const struct {
            const char *what;
            int64_t value, max;
        } fields[] = {
            {"type", w->type, UINT8_MAX},
            {"subtype", w->subtype, UINT8_MAX},
            {"offset", w->offset, UINT32_MAX},
            {"size", w->size, UINT32_MAX},
        };
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
            if (fields[k].value < 0 || fields[k].value > fields[k].max) {
                char a[24], b[24];
                pt_pyhex(fields[k].value, a);
                pt_pyhex(fields[k].max, b);
                otk_diag_set(c->diag, "line %u: %s %s is outside 0x0..%s", w->loc,
                             fields[k].what, a, b);
                return ESP_ERR_INVALID_ARG;
            }
        }
    }
    return ESP_OK;
}

static esp_err_t check_length(const compiler_t *c)
{
    size_t records = c->list.n + (c->opts->md5 ? 1 : 0);
    if (records * OTK_PARTITION_RECORD_SIZE >= OTK_PARTITION_TABLE_BIN_SIZE) {
        /* The first partition that does not fit is the one to remove. */
        size_t limit = OTK_PARTITION_TABLE_BIN_SIZE / OTK_PARTITION_RECORD_SIZE - 1 -
                       (c->opts->md5 ? 1 : 0);
        otk_diag_set(c->diag, "line %u: Binary partition table length (%zu) longer than max: "
                     "at most %zu partitions%s", c->work[limit].loc,
                     records * OTK_PARTITION_RECORD_SIZE, limit,
                     c->opts->md5 ? " with the MD5 record" : "");
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

static esp_err_t compile(compiler_t *c, const char *csv, size_t len)
{
    esp_err_t err = check_encoding(&csv, &len, c->diag);
    if (err == ESP_OK) {
        err = read_lines(c, csv, len);
    }
    if (err == ESP_OK) {
        err = place(c);
    }
    if (err == ESP_OK && c->opts->verify) {
        err = pt_check(&c->list, c->opts, c->diag);
    }
    if (err == ESP_OK && c->opts->flash_size != 0) {
        err = pt_check_flash_size(&c->list, c->opts->flash_size, c->diag);
    }
    if (err == ESP_OK) {
        err = check_ranges(c);
    }
    if (err == ESP_OK) {
        err = check_length(c);
    }
    return err;
}

esp_err_t otk_partition_csv_compile(const char *csv, size_t len,
                                    const otk_partition_gen_opts_t *opts,
                                    otk_partition_table_t *table, uint8_t *bin,
                                    otk_diag_t *diag)
{
    if (opts == NULL || table == NULL || (csv == NULL && len > 0)) {
        otk_diag_set(diag, "no options, no table or no text");
        return ESP_ERR_INVALID_ARG;
    }
    pt_table_clear(table, opts->table_offset);
    /* About 11 KiB of stack: the core does not allocate. */
    compiler_t c;
    memset(&c.list, 0, sizeof c.list);
    c.opts = opts;
    c.diag = diag;
    c.list.e = c.work;
    c.list.noun = "line";
    c.list.name_eq = full_names_equal;
    c.list.name_eq_ctx = &c;
    esp_err_t err = compile(&c, csv, len);
    if (err != ESP_OK) {
        return err;
    }
    for (size_t i = 0; i < c.list.n; i++) {
        const pt_work_t *w = &c.work[i];
        pt_table_append(table, (uint8_t)w->type, (uint8_t)w->subtype, (uint32_t)w->offset,
                        (uint32_t)w->size, w->label, w->flags);
    }
    table->md5 = opts->md5 ? OTK_PARTITION_MD5_OK : OTK_PARTITION_MD5_NONE;
    if (bin != NULL) {
        err = otk_partition_table_serialize(table, opts->md5, bin, diag);
    }
    if (err != ESP_OK) {
        pt_table_clear(table, opts->table_offset);
    }
    return err;
}

void otk_partition_gen_opts_default(otk_partition_gen_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->table_offset = ESP_PARTITION_TABLE_OFFSET_DEFAULT;
    opts->flash_size = 0;
    opts->md5 = true;
    opts->verify = true;
    opts->secure = OTK_PARTITION_SECURE_NONE;
    opts->primary_bootloader_offset = OTK_PARTITION_OFFSET_NONE;
    opts->recovery_bootloader_offset = OTK_PARTITION_OFFSET_NONE;
}
