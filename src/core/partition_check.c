/* gen_esp32part's table checks (PartitionTable.verify and verify_size_fits), shared by the
 * CSV compiler and bin2csv. They run in the tool's order so the first error reported is
 * the one the tool would report; messages keep the tool's wording and add where. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "partition_internal.h"

#define MIB (1024.0 * 1024.0)

void pt_pyhex(int64_t v, char out[24])
{
    if (v < 0) {
        snprintf(out, 24, "0x-%" PRIx64, (uint64_t)0 - (uint64_t)v);
    } else {
        snprintf(out, 24, "0x%" PRIx64, (uint64_t)v);
    }
}

void pt_display_name(const pt_work_t *w, char out[24])
{
    size_t n = pt_label_len(w->label);
    memcpy(out, w->label, n);
    out[n] = '\0';
    if (w->name_len > OTK_PARTITION_LABEL_LEN) {
        strcat(out, "...");
    }
}

bool pt_names_equal(const pt_work_list_t *list, size_t a, size_t b)
{
    const pt_work_t *x = &list->e[a], *y = &list->e[b];
    if (x->name_len != y->name_len || memcmp(x->label, y->label, OTK_PARTITION_LABEL_LEN) != 0) {
        return false;
    }
    if (x->name_len <= OTK_PARTITION_LABEL_LEN || list->name_eq == NULL) {
        return true;
    }
    return list->name_eq(list->name_eq_ctx, a, b);
}

static bool is_data(const pt_work_t *w, uint8_t subtype)
{
    return w->type == ESP_PARTITION_TYPE_DATA && w->subtype == subtype;
}

/* PartitionDefinition.verify(): one partition on its own. */
static esp_err_t check_one(const pt_work_list_t *list, const pt_work_t *w,
                           otk_partition_secure_t secure, otk_diag_t *diag)
{
    char name[24], a[24], b[24];
    pt_display_name(w, name);
    int64_t align = pt_offset_align(w->type);
    if (w->offset % align != 0) {
        pt_pyhex(w->offset, a);
        pt_pyhex(align, b);
        otk_diag_set(diag, "%s %u: Partition %s invalid: Offset %s is not aligned to %s",
                     list->noun, w->loc, name, a, b);
        return ESP_ERR_INVALID_STATE;
    }
    if (w->type == ESP_PARTITION_TYPE_APP) {
        int64_t size_align =
            secure == OTK_PARTITION_SECURE_V1 ? PT_APP_SIZE_ALIGN_SECURE_V1 : PT_APP_SIZE_ALIGN;
        if (w->size % size_align != 0) {
            pt_pyhex(w->size, a);
            pt_pyhex(size_align, b);
            otk_diag_set(diag, "%s %u: Partition %s invalid: Size %s is not aligned to %s",
                         list->noun, w->loc, name, a, b);
            return ESP_ERR_INVALID_STATE;
        }
    }
    bool readonly = (w->flags & PART_FLAG_READONLY) != 0;
    /* otadata and coredump are written by the system itself. */
    if (readonly && (is_data(w, ESP_PARTITION_SUBTYPE_DATA_OTA) ||
                     is_data(w, ESP_PARTITION_SUBTYPE_DATA_COREDUMP))) {
        otk_diag_set(diag,
                     "%s %u: Partition %s invalid: '%s' partition of type %" PRId64
                     " and subtype %" PRId64 " is always read-write and cannot be read-only",
                     list->noun, w->loc, name, name, w->type, w->subtype);
        return ESP_ERR_INVALID_STATE;
    }
    if (is_data(w, ESP_PARTITION_SUBTYPE_DATA_NVS) && w->size < PT_NVS_RW_MIN_SIZE && !readonly) {
        pt_pyhex(w->size, a);
        otk_diag_set(diag,
                     "%s %u: Partition %s invalid: '%s' partition of type %" PRId64
                     " and subtype %" PRId64 " of this size (%s) must be flagged as 'readonly' "
                     "(the size of read/write NVS has to be at least 0x%x)",
                     list->noun, w->loc, name, name, w->type, w->subtype, a,
                     PT_NVS_RW_MIN_SIZE);
        return ESP_ERR_INVALID_STATE;
    }
    return ESP_OK;
}

static esp_err_t check_names(const pt_work_list_t *list, otk_diag_t *diag)
{
    for (size_t j = 1; j < list->n; j++) {
        for (size_t i = 0; i < j; i++) {
            if (pt_names_equal(list, i, j)) {
                char name[24];
                pt_display_name(&list->e[j], name);
                otk_diag_set(diag, "%s %u: Partition names must be unique ('%s' is also at %s %u)",
                             list->noun, list->e[j].loc, name, list->noun, list->e[i].loc);
                return ESP_ERR_INVALID_STATE;
            }
        }
    }
    return ESP_OK;
}

/* Indices ordered by offset; stable like Python's sorted(), so equal offsets keep table
 * order (which decides the message when zero-size partitions share an offset). */
static void sort_by_offset(const pt_work_list_t *list, uint8_t *order)
{
    for (size_t i = 0; i < list->n; i++) {
        size_t j = i;
        while (j > 0 && list->e[order[j - 1]].offset > list->e[i].offset) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint8_t)i;
    }
}

static esp_err_t check_layout(const pt_work_list_t *list, uint32_t table_offset,
                              otk_diag_t *diag)
{
    uint8_t order[OTK_PARTITION_TABLE_MAX];
    sort_by_offset(list, order);
    int64_t first_free = (int64_t)table_offset + OTK_PARTITION_SECTOR_SIZE;
    const pt_work_t *last = NULL;
    for (size_t k = 0; k < list->n; k++) {
        const pt_work_t *p = &list->e[order[k]];
        char a[24], b[24], c[24];
        if (p->offset < first_free && !pt_is_primary(p->type, p->subtype)) {
            pt_pyhex(p->offset, a);
            pt_pyhex(first_free, b);
            otk_diag_set(diag, "%s %u: Partition offset %s is below %s", list->noun, p->loc, a,
                         b);
            return ESP_ERR_INVALID_STATE;
        }
        if (last != NULL && p->offset < last->offset + last->size) {
            pt_pyhex(p->offset, a);
            pt_pyhex(last->offset, b);
            pt_pyhex(last->offset + last->size - 1, c);
            otk_diag_set(diag, "%s %u: Partition at %s overlaps %s-%s (%s %u)", list->noun,
                         p->loc, a, b, c, list->noun, last->loc);
            return ESP_ERR_INVALID_STATE;
        }
        last = p;
    }
    return ESP_OK;
}

/* At most one partition of a data subtype (otadata, tee_ota), and exactly 0x2000 bytes. */
static esp_err_t check_single(const pt_work_list_t *list, uint8_t subtype, const char *what,
                              const char *subtype_text, otk_diag_t *diag)
{
    const pt_work_t *first = NULL;
    for (size_t i = 0; i < list->n; i++) {
        const pt_work_t *w = &list->e[i];
        if (!is_data(w, subtype)) {
            continue;
        }
        if (first != NULL) {
            otk_diag_set(diag,
                         "%s %u: Found multiple %s partitions. Only one partition can be "
                         "defined with type=\"data\"(1) and subtype=%s (first at %s %u).",
                         list->noun, w->loc, what, subtype_text, list->noun, first->loc);
            return ESP_ERR_INVALID_STATE;
        }
        first = w;
    }
    if (first != NULL && first->size != PT_OTADATA_SIZE) {
        char a[24];
        pt_pyhex(first->size, a);
        otk_diag_set(diag, "%s %u: %s partition must have size = 0x%x (found %s)", list->noun,
                     first->loc, what, PT_OTADATA_SIZE, a);
        return ESP_ERR_INVALID_STATE;
    }
    return ESP_OK;
}

esp_err_t pt_check(const pt_work_list_t *list, const otk_partition_gen_opts_t *opts,
                   otk_diag_t *diag)
{
    for (size_t i = 0; i < list->n; i++) {
        esp_err_t err = check_one(list, &list->e[i], opts->secure, diag);
        if (err != ESP_OK) {
            return err;
        }
    }
    esp_err_t err = check_names(list, diag);
    if (err == ESP_OK) {
        err = check_layout(list, opts->table_offset, diag);
    }
    if (err == ESP_OK) {
        err = check_single(list, ESP_PARTITION_SUBTYPE_DATA_OTA, "otadata", "\"ota\"(0)", diag);
    }
    if (err == ESP_OK) {
        err = check_single(list, ESP_PARTITION_SUBTYPE_DATA_TEE_OTA, "TEE otadata",
                           "\"tee_ota\"(0x90)", diag);
    }
    return err;
}

esp_err_t pt_check_flash_size(const pt_work_list_t *list, uint32_t flash_size,
                              otk_diag_t *diag)
{
    /* The tool measures the end of the partition with the highest offset (the first such
     * in table order), not the highest end. */
    const pt_work_t *top = NULL;
    for (size_t i = 0; i < list->n; i++) {
        if (top == NULL || list->e[i].offset > top->offset) {
            top = &list->e[i];
        }
    }
    int64_t used = top != NULL ? top->offset + top->size : 0;
    if ((int64_t)flash_size < used) {
        otk_diag_set(diag,
                     "%s %u: Partitions tables occupies %.1fMB of flash (%" PRId64
                     " bytes) which does not fit in available flash size %dMB.",
                     list->noun, top->loc, (double)used / MIB, used,
                     (int)((double)flash_size / MIB));
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}
