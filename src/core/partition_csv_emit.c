/* Table -> CSV text, byte for byte as gen_esp32part.py's to_csv() prints it, and the
 * bin2csv path around it (read, check, print). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "partition_internal.h"

/* The tool's two header lines; its column list has no spaces removed. */
#define CSV_HEADER "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n"
#define MIB 0x100000u /* sizes divisible by these print as nM / nK */
#define KIB 0x400u

typedef struct {
    char *buf;
    size_t cap, len;
    bool overflow;
} writer_t;

static void put(writer_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(writer_t *w, const char *fmt, ...)
{
    if (w->overflow) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) {
        w->overflow = true;
        return;
    }
    w->len += (size_t)n;
}

/* Keyword if there is one, else the number in decimal. */
static void put_keyword(writer_t *w, const char *keyword, unsigned value)
{
    if (keyword != NULL) {
        put(w, "%s", keyword);
    } else {
        put(w, "%u", value);
    }
}

static void put_size(writer_t *w, uint32_t size)
{
    /* 0 is divisible by everything: the tool prints an empty partition as "0M". */
    if (size % MIB == 0) {
        put(w, "%uM", (unsigned)(size / MIB));
    } else if (size % KIB == 0) {
        put(w, "%uK", (unsigned)(size / KIB));
    } else {
        put(w, "0x%x", (unsigned)size);
    }
}

static void put_flags(writer_t *w, uint32_t flags)
{
    /* The tool's FLAGS dict order: encrypted, then readonly. */
    bool enc = (flags & PART_FLAG_ENCRYPTED) != 0, ro = (flags & PART_FLAG_READONLY) != 0;
    put(w, "%s%s%s", enc ? "encrypted" : "", enc && ro ? ":" : "", ro ? "readonly" : "");
}

esp_err_t otk_partition_table_to_csv(const otk_partition_table_t *table, char *buf, size_t cap,
                                     size_t *out_len)
{
    if (table == NULL || buf == NULL || cap == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    writer_t w = {buf, cap, 0, false};
    put(&w, "%s", CSV_HEADER);
    for (size_t i = 0; i < table->count; i++) {
        const esp_partition_t *p = &table->parts[i];
        uint8_t type = (uint8_t)p->type, subtype = (uint8_t)p->subtype;
        /* The name is the label up to its first NUL (the tool strips the padding there). */
        put(&w, "%.*s,", (int)pt_label_len(table->raw_label[i]),
            (const char *)table->raw_label[i]);
        put_keyword(&w, otk_partition_type_name(type), type);
        put(&w, ",");
        put_keyword(&w, otk_partition_subtype_name(type, subtype), subtype);
        put(&w, ",0x%x,", (unsigned)p->address);
        put_size(&w, p->size);
        put(&w, ",");
        put_flags(&w, table->flags[i]);
        put(&w, "\n");
    }
    if (w.overflow) {
        buf[0] = '\0';
        return ESP_ERR_INVALID_SIZE;
    }
    if (out_len != NULL) {
        *out_len = w.len;
    }
    return ESP_OK;
}

esp_err_t otk_partition_table_check(const otk_partition_table_t *table,
                                    const otk_partition_gen_opts_t *opts, otk_diag_t *diag)
{
    if (table == NULL || opts == NULL) {
        otk_diag_set(diag, "no table or no options");
        return ESP_ERR_INVALID_ARG;
    }
    pt_work_t work[OTK_PARTITION_TABLE_MAX];
    pt_work_list_t list = {work, table->count, "record", NULL, NULL};
    for (size_t i = 0; i < table->count; i++) {
        const esp_partition_t *p = &table->parts[i];
        pt_work_t *w = &work[i];
        memset(w, 0, sizeof *w);
        w->type = (uint8_t)p->type;
        w->subtype = (uint8_t)p->subtype;
        w->offset = p->address;
        w->size = p->size;
        w->flags = table->flags[i];
        /* Names end at the first NUL, as the tool reads them. */
        w->name_len = pt_label_len(table->raw_label[i]);
        memcpy(w->label, table->raw_label[i], w->name_len);
        w->loc = (unsigned)i;
    }
    esp_err_t err = opts->verify ? pt_check(&list, opts, diag) : ESP_OK;
    if (err == ESP_OK && opts->flash_size != 0) {
        err = pt_check_flash_size(&list, opts->flash_size, diag);
    }
    return err;
}

esp_err_t otk_partition_bin_to_csv(const uint8_t *bin, size_t len,
                                   const otk_partition_gen_opts_t *opts, char *buf, size_t cap,
                                   size_t *out_len, otk_diag_t *diag)
{
    if (opts == NULL) {
        otk_diag_set(diag, "no options");
        return ESP_ERR_INVALID_ARG;
    }
    otk_partition_table_t table;
    esp_err_t err = otk_partition_table_parse(
        bin, len, opts->md5 ? OTK_PARTITION_RULES_GEN : OTK_PARTITION_RULES_GEN_NO_MD5, 0,
        &table, diag);
    if (err == ESP_OK) {
        err = otk_partition_table_check(&table, opts, diag);
    }
    if (err == ESP_OK) {
        err = otk_partition_table_to_csv(&table, buf, cap, out_len);
        if (err != ESP_OK) {
            otk_diag_set(diag, "CSV text does not fit in %zu bytes", cap);
        }
    }
    return err;
}
