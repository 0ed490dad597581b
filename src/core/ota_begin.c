/* Opening and closing updates: esp_ota_begin, esp_ota_resume, esp_ota_set_final_partition,
 * esp_ota_abort, and the fixed pool of handle entries they use. */
#include <string.h>

#include "ota_internal.h"

#include "otakit/log.h"

otk_ota_entry_t *ota_entry_find(otk_device_t *dev, esp_ota_handle_t handle)
{
    if (handle == 0) { /* marks a free entry, never handed out */
        return NULL;
    }
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        if (dev->ota[i].handle == handle) {
            return &dev->ota[i];
        }
    }
    return NULL;
}

void ota_entry_free(otk_ota_entry_t *e)
{
    memset(e, 0, sizeof *e);
}

static otk_ota_entry_t *entry_free_slot(otk_device_t *dev)
{
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        if (dev->ota[i].handle == 0) {
            return &dev->ota[i];
        }
    }
    return NULL;
}

static esp_ota_handle_t next_handle(otk_device_t *dev)
{
    dev->last_handle++;
    if (dev->last_handle == 0) { /* after 2^32 - 1 updates: 0 means "free" */
        dev->last_handle = 1;
    }
    return dev->last_handle;
}

/* An open handle already stages or finalizes p. */
static bool in_progress(const otk_device_t *dev, const esp_partition_t *p,
                        const otk_ota_entry_t *except)
{
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        const otk_ota_entry_t *e = &dev->ota[i];
        if (e->handle != 0 && e != except && (e->staging == p || e->final == p)) {
            return true;
        }
    }
    return false;
}

/* The checks begin and resume share, in ESP-IDF's order (after the table lookup). */
static esp_err_t check_target(otk_device_t *dev, const esp_partition_t *p)
{
    if (p->type == ESP_PARTITION_TYPE_APP) {
        if (!ota_is_ota_app(p)) {
            OTK_LOGE(OTA_TAG, "'%s' (subtype 0x%02x) is not an OTA app partition", p->label,
                     (unsigned)p->subtype);
            return ESP_ERR_INVALID_ARG;
        }
        if (p == dev->running) {
            OTK_LOGE(OTA_TAG, "'%s' holds the running app: cannot update in place", p->label);
            return ESP_ERR_OTA_PARTITION_CONFLICT;
        }
        esp_ota_img_states_t state;
        if (dev->config.rollback && ota_is_ota_app(dev->running) &&
            ota_state_of(dev, dev->running, &state) == ESP_OK &&
            state == ESP_OTA_IMG_PENDING_VERIFY) {
            OTK_LOGE(OTA_TAG, "Running app has not confirmed state (ESP_OTA_IMG_PENDING_VERIFY)");
            return ESP_ERR_OTA_ROLLBACK_INVALID_STATE;
        }
    }
    if (in_progress(dev, p, NULL)) {
        OTK_LOGE(OTA_TAG, "an update of '%s' is already in progress", p->label);
        return ESP_ERR_OTA_ALREADY_IN_PROGRESS;
    }
    return ESP_OK;
}

static uint32_t erase_unit(const esp_partition_t *p)
{
    return p->erase_size != 0 ? p->erase_size : OTK_FLASH_SECTOR_SIZE;
}

/* What begin erases for an image_size: the whole partition (0, OTA_SIZE_UNKNOWN), nothing
 * (OTA_WITH_SEQUENTIAL_WRITES: lazily in write), else the size rounded up to the erase
 * unit, which also bounds the writes. The sentinels are 32-bit values compared with the
 * whole size_t: on a 64-bit host 0x1FFFFFFFF is a size (too large), not OTA_SIZE_UNKNOWN. */
static esp_err_t plan_erase(const esp_partition_t *p, size_t image_size, uint32_t *erase_len,
                            uint32_t *limit)
{
    *limit = p->size;
    *erase_len = 0;
    if (image_size == (size_t)OTA_WITH_SEQUENTIAL_WRITES) {
        return ESP_OK;
    }
    if (image_size == 0 || image_size == (size_t)OTA_SIZE_UNKNOWN) {
        *erase_len = p->size;
        return ESP_OK;
    }
    uint64_t unit = erase_unit(p);
    uint64_t rounded = ((uint64_t)image_size + unit - 1) / unit * unit;
    if ((uint64_t)image_size > p->size || rounded > p->size) {
        OTK_LOGE(OTA_TAG, "image_size 0x%llx (erased as 0x%llx) does not fit '%s' (0x%x bytes)",
                 (unsigned long long)image_size, (unsigned long long)rounded, p->label,
                 (unsigned)p->size);
        return ESP_ERR_INVALID_SIZE;
    }
    *erase_len = (uint32_t)rounded;
    *limit = (uint32_t)rounded;
    return ESP_OK;
}

esp_err_t otk_ota_begin(otk_device_t *dev, const esp_partition_t *partition, size_t image_size,
                        esp_ota_handle_t *out_handle)
{
    if (!ota_dev_ok(dev) || partition == NULL || out_handle == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    const esp_partition_t *p = ota_canonical(dev, partition);
    if (p == NULL) {
        OTK_LOGE(OTA_TAG, "begin: partition '%.16s' at 0x%x is not in the partition table",
                 partition->label, (unsigned)partition->address);
        return ESP_ERR_NOT_FOUND;
    }
    esp_err_t err = check_target(dev, p);
    if (err != ESP_OK) {
        return err;
    }
    otk_ota_entry_t *e = entry_free_slot(dev);
    if (e == NULL) {
        OTK_LOGE(OTA_TAG, "begin: all %u OTA handles are in use",
                 (unsigned)OTK_DEVICE_MAX_HANDLES);
        return ESP_ERR_NO_MEM;
    }
    uint32_t erase_len = 0;
    uint32_t limit = 0;
    err = plan_erase(p, image_size, &erase_len, &limit);
    if (err != ESP_OK) {
        return err;
    }
    /* Decision (docs/decisions-ota.md): the entry is registered only once the erase
     * succeeded, so a failed begin leaves no handle behind. */
    if (erase_len > 0) {
        ota_ops_begin(dev);
        ota_forget_range(dev, p->address, erase_len, NULL);
        err = otk_partition_erase_range(p, 0, erase_len);
        ota_ops_end(dev);
        if (err != ESP_OK) {
            OTK_LOGE(OTA_TAG, "begin: erasing 0x%x bytes of '%s' failed: %s",
                     (unsigned)erase_len, p->label, esp_err_to_name(err));
            return err;
        }
    }
    memset(e, 0, sizeof *e);
    e->handle = next_handle(dev);
    e->staging = p;
    e->final = p;
    e->need_erase = image_size == (size_t)OTA_WITH_SEQUENTIAL_WRITES;
    e->size_limit = limit;
    ota_stream_reset(dev, e);
    *out_handle = e->handle;
    /* Keep the bootloader from rolling back into the slot being overwritten; its result
     * does not matter to begin (ESP-IDF ignores it too). */
    if (dev->config.rollback && ota_is_ota_app(p)) {
        (void)otk_ota_invalidate_inactive_ota_data_slot(dev);
    }
    OTK_LOGI(OTA_TAG, "begin: handle %u on '%s' at 0x%x (erased 0x%x bytes%s)",
             (unsigned)e->handle, p->label, (unsigned)p->address, (unsigned)erase_len,
             e->need_erase ? ", the rest lazily" : "");
    return ESP_OK;
}

esp_err_t otk_ota_resume(otk_device_t *dev, const esp_partition_t *partition, size_t erase_size,
                         size_t image_offset, esp_ota_handle_t *out_handle)
{
    if (!ota_dev_ok(dev) || partition == NULL || out_handle == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (image_offset > partition->size) {
        OTK_LOGE(OTA_TAG, "resume: offset 0x%llx is past '%.16s' (0x%x bytes)",
                 (unsigned long long)image_offset, partition->label, (unsigned)partition->size);
        return ESP_ERR_INVALID_ARG;
    }
    const esp_partition_t *p = ota_canonical(dev, partition);
    if (p == NULL) {
        OTK_LOGE(OTA_TAG, "resume: partition '%.16s' at 0x%x is not in the partition table",
                 partition->label, (unsigned)partition->address);
        return ESP_ERR_NOT_FOUND;
    }
    esp_err_t err = check_target(dev, p);
    if (err != ESP_OK) {
        return err;
    }
    otk_ota_entry_t *e = entry_free_slot(dev);
    if (e == NULL) {
        OTK_LOGE(OTA_TAG, "resume: all %u OTA handles are in use",
                 (unsigned)OTK_DEVICE_MAX_HANDLES);
        return ESP_ERR_NO_MEM;
    }
    memset(e, 0, sizeof *e);
    e->handle = next_handle(dev);
    e->staging = p;
    e->final = p;
    e->resumption = true;
    e->need_erase = erase_size == (size_t)OTA_WITH_SEQUENTIAL_WRITES;
    e->wrote_size = (uint32_t)image_offset;
    /* As ESP-IDF: the rest of the sector the interruption stopped in is taken as still
     * erased from the first attempt; the lazy erase goes on from the next sector. */
    e->erased_end = (uint32_t)((image_offset + OTK_FLASH_SECTOR_SIZE - 1) /
                               OTK_FLASH_SECTOR_SIZE * OTK_FLASH_SECTOR_SIZE);
    e->size_limit = p->size;
    /* Read what was written before the interruption once now, so the rest of the update
     * is still verified in one pass. */
    ota_ops_begin(dev);
    ota_stream_reset(dev, e);
    ota_stream_catch_up(e, e->wrote_size);
    *out_handle = e->handle;
    OTK_LOGI(OTA_TAG, "resume: handle %u on '%s' at image offset 0x%x", (unsigned)e->handle,
             p->label, (unsigned)e->wrote_size);
    return ESP_OK;
}

esp_err_t otk_ota_set_final_partition(otk_device_t *dev, esp_ota_handle_t handle,
                                      const esp_partition_t *final, bool finalize_with_copy)
{
    if (!ota_dev_ok(dev) || final == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_ota_entry_t *e = ota_entry_find(dev, handle);
    if (e == NULL) {
        OTK_LOGE(OTA_TAG, "set_final: handle %u not found", (unsigned)handle);
        return ESP_ERR_NOT_FOUND;
    }
    if (e->wrote_size != 0 && !e->resumption) {
        OTK_LOGE(OTA_TAG, "set_final: handle %u already wrote 0x%x bytes", (unsigned)handle,
                 (unsigned)e->wrote_size);
        return ESP_ERR_INVALID_STATE;
    }
    const esp_partition_t *f = ota_canonical(dev, final);
    if (f == NULL) {
        OTK_LOGE(OTA_TAG, "set_final: partition '%.16s' at 0x%x is not in the partition table",
                 final->label, (unsigned)final->address);
        return ESP_ERR_NOT_FOUND;
    }
    if (f != e->staging) {
        /* Decisions: a copy must not overwrite the running app, nor a partition another
         * update writes to. */
        if (f == dev->running) {
            OTK_LOGE(OTA_TAG, "set_final: '%s' holds the running app", f->label);
            return ESP_ERR_OTA_PARTITION_CONFLICT;
        }
        if (in_progress(dev, f, e)) {
            OTK_LOGE(OTA_TAG, "set_final: an update of '%s' is already in progress", f->label);
            return ESP_ERR_OTA_ALREADY_IN_PROGRESS;
        }
    }
    e->final = f;
    e->finalize_with_copy = f != e->staging && finalize_with_copy;
    /* The final's type picks the check at end: start the verification over for it. */
    ota_ops_begin(dev);
    ota_stream_reset(dev, e);
    ota_stream_catch_up(e, e->wrote_size);
    return ESP_OK;
}

esp_err_t otk_ota_abort(otk_device_t *dev, esp_ota_handle_t handle)
{
    if (!ota_dev_ok(dev)) {
        return ESP_ERR_INVALID_ARG;
    }
    otk_ota_entry_t *e = ota_entry_find(dev, handle);
    if (e == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    OTK_LOGI(OTA_TAG, "abort: handle %u on '%s' after 0x%x bytes", (unsigned)handle,
             e->staging->label, (unsigned)e->wrote_size);
    ota_entry_free(e);
    return ESP_OK;
}
