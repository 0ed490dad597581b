/* The second half of a staged data update: the verified image in the staging partition is
 * copied to its target. The commit record (FLASH.service) was saved before the target's
 * first erase and is dropped only after the target is verified and recorded, in one
 * atomic save; so whatever point power is lost at, the next run finds the record and
 * copies again from the start. The copy is idempotent (erase, program, verify) and needs
 * nothing but the two partitions: no network, no manifest. */
#include <stdio.h>
#include <string.h>

#include "otakit/log.h"
#include "service/service_internal.h"

static const esp_partition_t *find(svc_t *svc, const char *label)
{
    return otk_partition_find_first(&svc->cfg->dev->table, ESP_PARTITION_TYPE_DATA,
                                    ESP_PARTITION_SUBTYPE_ANY, label);
}

static esp_err_t flash_error(svc_t *svc, esp_err_t err, otk_diag_t *msg, const char *what,
                             const char *label)
{
    if (!otk_flash_is_powered(svc->cfg->dev->flash)) {
        svc->power_lost = true;
        otk_diag_set(msg, "power lost while %s %s", what, label);
        return ESP_ERR_FLASH_OP_FAIL;
    }
    otk_diag_set(msg, "%s %s: %s", what, label, esp_err_to_name(err));
    return err;
}

/* Erase the whole target (so it holds the image and nothing else), then program it from
 * the staging partition chunk by chunk. */
static esp_err_t copy(svc_t *svc, const esp_partition_t *from, const esp_partition_t *to,
                      uint32_t size, otk_diag_t *msg)
{
    esp_err_t err = otk_partition_erase_range(to, 0, to->size);
    if (err != ESP_OK) {
        return flash_error(svc, err, msg, "erasing", to->label);
    }
    uint8_t buf[SERVICE_CHUNK];
    for (uint32_t off = 0; off < size; off += SERVICE_CHUNK) {
        uint32_t n = size - off < SERVICE_CHUNK ? size - off : SERVICE_CHUNK;
        err = otk_partition_read(from, off, buf, n);
        if (err != ESP_OK) {
            return flash_error(svc, err, msg, "reading", from->label);
        }
        err = otk_partition_write(to, off, buf, n);
        if (err != ESP_OK) {
            return flash_error(svc, err, msg, "writing", to->label);
        }
    }
    return ESP_OK;
}

esp_err_t svc_commit_apply(svc_t *svc, otk_diag_t *msg)
{
    otk_service_commit_t c = svc->state.commit;
    const esp_partition_t *target = find(svc, c.target);
    const esp_partition_t *staging = find(svc, c.staging);
    if (target == NULL || staging == NULL || c.size > target->size || c.size > staging->size) {
        otk_diag_set(msg, "commit of %s from %s: a partition is missing or too small for %u "
                          "bytes: left torn",
                     c.target, c.staging, (unsigned)c.size);
        memset(&svc->state.commit, 0, sizeof svc->state.commit);
        svc_save(svc);
        return ESP_ERR_NOT_FOUND;
    }
    uint8_t sha[OTK_SHA256_LEN];
    esp_err_t err = svc_hash_partition(staging, c.size, sha);
    if (err != ESP_OK) {
        return flash_error(svc, err, msg, "reading", staging->label);
    }
    if (memcmp(sha, c.sha256, OTK_SHA256_LEN) != 0) {
        /* Only something outside the service writes staging; the image is gone, so the
         * target stays torn and the list's node writes it again. */
        otk_diag_set(msg, "%s no longer holds the committed image for %s: %s left torn",
                     staging->label, target->label, target->label);
        memset(&svc->state.commit, 0, sizeof svc->state.commit);
        svc_save(svc);
        return ESP_ERR_INVALID_CRC;
    }
    err = copy(svc, staging, target, c.size, msg);
    if (err == ESP_OK) {
        err = svc_hash_partition(target, c.size, sha);
        if (err != ESP_OK) {
            return flash_error(svc, err, msg, "reading", target->label);
        }
        if (memcmp(sha, c.sha256, OTK_SHA256_LEN) != 0) {
            otk_diag_set(msg, "%s does not read back as copied", target->label);
            return ESP_ERR_INVALID_CRC;
        }
        err = otk_flash_sync(svc->cfg->dev->flash);
    }
    if (err != ESP_OK) {
        return err;
    }
    otk_service_record_t *rec = svc_record(svc, c.target);
    if (rec != NULL) {
        rec->state = OTK_SERVICE_PART_VALID;
        memcpy(rec->sha256, c.sha256, OTK_SHA256_LEN);
        rec->size = c.size;
        snprintf(rec->version, sizeof rec->version, "%s", c.version);
    }
    memset(&svc->state.commit, 0, sizeof svc->state.commit);
    if (!svc_save(svc)) {
        otk_diag_set(msg, "%s", svc->state_diag.msg);
        return svc->state_err;
    }
    otk_diag_set(msg, "%s%s%s copied from %s (%u bytes, verified)", target->label,
                 c.version[0] != '\0' ? " " : "", c.version, staging->label, (unsigned)c.size);
    OTK_LOGI(SERVICE_TAG, "%s", msg->msg);
    return ESP_OK;
}
