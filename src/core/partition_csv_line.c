/* One CSV line -> one partition, as gen_esp32part's PartitionDefinition.from_csv(): the
 * fields in the tool's order (name, type, subtype, offset, size, flags), with its keywords,
 * its number syntax and its fixed places for bootloader and partition_table entries. */
#include <stdio.h>
#include <string.h>

#include "partition_internal.h"

#define FIELD_COUNT 6 /* Name, Type, SubType, Offset, Size, Flags */

typedef struct {
    const char *s;
    size_t n;
} span_t;

/* (line + ",,,,").split(",") with each field stripped; fields past the sixth are ignored. */
static void split_fields(const char *s, size_t n, span_t f[FIELD_COUNT])
{
    size_t at = 0;
    for (int k = 0; k < FIELD_COUNT; k++) {
        const char *start = s + at;
        const char *comma = at < n ? memchr(start, ',', n - at) : NULL;
        size_t len = comma != NULL ? (size_t)(comma - start) : (at < n ? n - at : 0);
        f[k].s = start;
        f[k].n = len;
        pt_strip(&f[k].s, &f[k].n);
        at = comma != NULL ? at + len + 1 : n;
    }
}

static bool span_is(span_t f, const char *word)
{
    return f.n == strlen(word) && memcmp(f.s, word, f.n) == 0;
}

/* Flags column: colon-separated, each exactly a known name (not stripped: the tool does
 * not strip them either). */
static esp_err_t parse_flags(span_t f, uint32_t *flags, char *err, size_t cap)
{
    *flags = 0;
    size_t at = 0;
    while (at <= f.n) {
        const char *colon = at < f.n ? memchr(f.s + at, ':', f.n - at) : NULL;
        span_t one = {f.s + at, colon != NULL ? (size_t)(colon - (f.s + at)) : f.n - at};
        if (span_is(one, "encrypted")) {
            *flags |= PART_FLAG_ENCRYPTED;
        } else if (span_is(one, "readonly")) {
            *flags |= PART_FLAG_READONLY;
        } else if (one.n > 0) {
            snprintf(err, cap, "CSV flag column contains unknown flag '%.*s'", (int)one.n, one.s);
            return ESP_ERR_INVALID_ARG;
        }
        at += one.n + 1;
    }
    return ESP_OK;
}

static esp_err_t parse_number(span_t f, const pt_keyword_t *kw, size_t nkw, int64_t *v,
                              char *err, size_t cap)
{
    return pt_parse_field(f.s, f.n, kw, nkw, v, err, cap) == PT_INT_OK ? ESP_OK
                                                                       : ESP_ERR_INVALID_ARG;
}

/* Offset: fixed by the options for the primary bootloader, recovery bootloader and primary
 * table; empty means "place it after the previous one". */
static esp_err_t parse_offset(const otk_partition_gen_opts_t *o, span_t f, pt_work_t *w, bool *set,
                              char *err, size_t cap)
{
    *set = true;
    if (w->type == ESP_PARTITION_TYPE_BOOTLOADER) {
        if (w->subtype == ESP_PARTITION_SUBTYPE_BOOTLOADER_PRIMARY) {
            if (o->primary_bootloader_offset == OTK_PARTITION_OFFSET_NONE) {
                snprintf(err, cap, "Primary bootloader offset is not provided");
                return ESP_ERR_INVALID_ARG;
            }
            w->offset = o->primary_bootloader_offset;
            return ESP_OK;
        }
        if (w->subtype == ESP_PARTITION_SUBTYPE_BOOTLOADER_RECOVERY) {
            if (o->recovery_bootloader_offset == OTK_PARTITION_OFFSET_NONE) {
                snprintf(err, cap, "Recovery bootloader offset is not provided");
                return ESP_ERR_INVALID_ARG;
            }
            w->offset = o->recovery_bootloader_offset;
            return ESP_OK;
        }
    }
    if (w->type == ESP_PARTITION_TYPE_PARTITION_TABLE &&
        w->subtype == ESP_PARTITION_SUBTYPE_PARTITION_TABLE_PRIMARY) {
        w->offset = o->table_offset;
        return ESP_OK;
    }
    if (f.n == 0) {
        *set = false;
        return ESP_OK;
    }
    return parse_number(f, NULL, 0, &w->offset, err, cap);
}

/* Size: every bootloader entry spans the bootloader region, every table entry one sector;
 * a negative size is an end address (resolved once the offset is known). */
static esp_err_t parse_size(const otk_partition_gen_opts_t *o, span_t f, pt_work_t *w, char *err,
                            size_t cap)
{
    if (w->type == ESP_PARTITION_TYPE_BOOTLOADER) {
        if (o->primary_bootloader_offset == OTK_PARTITION_OFFSET_NONE) {
            snprintf(err, cap, "Primary bootloader offset is not provided");
            return ESP_ERR_INVALID_ARG;
        }
        w->size = (int64_t)o->table_offset - (int64_t)o->primary_bootloader_offset;
        return ESP_OK;
    }
    if (w->type == ESP_PARTITION_TYPE_PARTITION_TABLE) {
        w->size = OTK_PARTITION_SECTOR_SIZE;
        return ESP_OK;
    }
    if (f.n == 0) {
        snprintf(err, cap, "Size field can't be empty");
        return ESP_ERR_INVALID_ARG;
    }
    return parse_number(f, NULL, 0, &w->size, err, cap);
}

esp_err_t pt_csv_parse_line(const otk_partition_gen_opts_t *o, const char *s, size_t n,
                            pt_work_t *w, bool *offset_set, char *err, size_t cap)
{
    span_t f[FIELD_COUNT];
    split_fields(s, n, f);
    memset(w, 0, sizeof *w);
    w->name_len = f[0].n;
    memcpy(w->label, f[0].s, f[0].n < OTK_PARTITION_LABEL_LEN ? f[0].n : OTK_PARTITION_LABEL_LEN);

    const pt_keyword_t *kw;
    size_t nkw = pt_type_keywords(&kw);
    if (f[1].n == 0) {
        snprintf(err, cap, "Field 'type' can't be left empty.");
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t e = parse_number(f[1], kw, nkw, &w->type, err, cap);
    if (e != ESP_OK) {
        return e;
    }
    if (f[2].n == 0) {
        if (w->type == ESP_PARTITION_TYPE_APP) {
            snprintf(err, cap, "App partition cannot have an empty subtype");
            return ESP_ERR_INVALID_ARG;
        }
        w->subtype = PT_SUBTYPE_DATA_UNDEFINED; /* for data and every other type */
    } else {
        nkw = pt_subtype_keywords(w->type, &kw);
        e = parse_number(f[2], kw, nkw, &w->subtype, err, cap);
        if (e != ESP_OK) {
            return e;
        }
    }
    e = parse_offset(o, f[3], w, offset_set, err, cap);
    if (e == ESP_OK) {
        e = parse_size(o, f[4], w, err, cap);
    }
    if (e == ESP_OK) {
        e = parse_flags(f[5], &w->flags, err, cap);
    }
    return e;
}

void pt_csv_name_field(const char *s, size_t n, const char **name, size_t *name_len)
{
    span_t f[FIELD_COUNT];
    split_fields(s, n, f);
    *name = f[0].s;
    *name_len = f[0].n;
}
