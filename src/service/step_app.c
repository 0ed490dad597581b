/* The default steps of an app node (ADF's ota_app_get_default_proc), on the OTA engine and
 * the source layer:
 *   prepare         find the next OTA slot; unless the list's version already says "not
 *                   newer", open the URI and read the image header, segment header and
 *                   esp_app_desc_t (nothing is erased yet); or go on from a checkpoint;
 *   need_upgrade    the incoming descriptor's version must parse ("Vx.y.z"), match the
 *                   list's, and be newer than the running app and than an app already
 *                   installed and waiting for the reboot;
 *   execute_upgrade esp_ota_begin (sequential writes: erased as written) or esp_ota_resume,
 *                   stream, check size and SHA-256, esp_ota_end, set_boot_partition;
 *   finished_check  the result as it is (the runner releases the handle and source). */
#include <stdio.h>
#include <string.h>

#include "otakit/ota.h"
#include "service/service_internal.h"

#define MAGIC_OFFSET 0 /* esp_image_header_t.magic: the first byte */

static void version_text(const char *from, char out[OTK_VERSION_TEXT_MAX + 1])
{
    snprintf(out, OTK_VERSION_TEXT_MAX + 1, "%.*s", (int)OTK_VERSION_TEXT_MAX, from);
}

/* The version the device runs now; NONE when it is not ADF's format (as ADF: then every
 * valid incoming version is newer). */
static int32_t running_version(otk_device_t *dev, char text[OTK_VERSION_TEXT_MAX + 1])
{
    const esp_app_desc_t *app = otk_device_running_app(dev);
    text[0] = '\0';
    if (app == NULL) {
        return OTK_VERSION_NONE;
    }
    char v[sizeof app->version + 1];
    snprintf(v, sizeof v, "%.*s", (int)sizeof app->version, app->version);
    version_text(v, text);
    return otk_version_pack(v);
}

/* An app installed by an earlier run that boots at the next reset: its version, or NONE. */
static int32_t pending_version(otk_device_t *dev, const char **label)
{
    const esp_partition_t *boot = otk_ota_get_boot_partition(dev);
    esp_app_desc_t desc;
    if (boot == NULL || boot == dev->running ||
        otk_ota_get_partition_description(dev, boot, &desc) != ESP_OK) {
        return OTK_VERSION_NONE;
    }
    char v[sizeof desc.version + 1];
    snprintf(v, sizeof v, "%.*s", (int)sizeof desc.version, desc.version);
    *label = boot->label;
    return otk_version_pack(v);
}

/* Check what was read ahead: an app image header and its descriptor. */
static otk_service_reason_t check_head(otk_service_job_t *job)
{
    otk_device_t *dev = job->svc->cfg->dev;
    if (job->head_len < SERVICE_HEAD_MAX) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_GET_NEW_APP_DESC_FAIL,
                          "%s: %zu bytes, too short for an app image header and descriptor",
                          job->node->uri, job->head_len);
    }
    if (job->head[MAGIC_OFFSET] != ESP_IMAGE_HEADER_MAGIC) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_ERROR_MAGIC_WORD,
                          "%s: first byte 0x%02x, an app image starts with 0x%02x",
                          job->node->uri, job->head[MAGIC_OFFSET], ESP_IMAGE_HEADER_MAGIC);
    }
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    opts.chip_id = dev->config.chip_id;
    opts.check_chip_rev = true;
    opts.chip_rev = dev->config.chip_rev;
    opts.max_size = job->target->size;
    opts.flash_offset = job->target->address;
    otk_image_stream_t check;
    otk_image_stream_init(&check, &opts);
    otk_diag_t why;
    otk_diag_clear(&why);
    if (otk_image_stream_feed(&check, job->head, job->head_len, &why) != ESP_OK) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_INVALID, "%s: %s", job->node->uri,
                          why.msg);
    }
    esp_app_desc_t desc;
    otk_image_app_desc_decode(job->head + OTK_IMAGE_DESC_OFFSET, &desc);
    if (desc.magic_word != ESP_APP_DESC_MAGIC_WORD) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_GET_NEW_APP_DESC_FAIL,
                          "%s: no esp_app_desc_t at image offset 0x%x", job->node->uri,
                          (unsigned)OTK_IMAGE_DESC_OFFSET);
    }
    char v[sizeof desc.version + 1];
    snprintf(v, sizeof v, "%.*s", (int)sizeof desc.version, desc.version);
    version_text(v, job->result->incoming_version);
    job->incoming = otk_version_pack(v);
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

static otk_service_reason_t app_prepare(otk_service_job_t *job)
{
    otk_device_t *dev = job->svc->cfg->dev;
    const otk_service_node_t *n = job->node;
    job->target = otk_ota_get_next_update_partition(dev, NULL);
    if (job->target == NULL) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_NOT_FOUND,
                          "the partition table has no OTA app slot to update");
    }
    job->dest = job->target;
    snprintf(job->result->partition, sizeof job->result->partition, "%s", job->target->label);
    job->current = running_version(dev, job->result->current_version);
    if (n->version[0] != '\0') {
        /* The list's word is enough to decline without downloading anything. */
        int32_t listed = otk_version_pack(n->version);
        if (listed == OTK_VERSION_NONE) {
            return job_reason(job, OTK_SERVICE_ERR_REASON_ERROR_VERSION,
                              "the list's version '%s' is not Vx.y.z", n->version);
        }
        if (listed <= job->current) {
            job->skip = true;
            version_text(n->version, job->result->incoming_version);
            job->incoming = listed;
            return OTK_SERVICE_ERR_REASON_SUCCESS;
        }
    }
    job->resuming = job_resume_fits(job, job->dest);
    const otk_service_resume_t *cp = &job->svc->state.resume;
    otk_service_reason_t r = job_open(job, job->resuming ? cp->offset : 0,
                                      job->resuming ? &cp->identity : NULL);
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        return r;
    }
    if (job->resuming && job->src_pos != cp->offset) {
        job->resuming = false; /* the resource changed: start over */
    }
    r = job_check_size(job, job->target->size);
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        return r;
    }
    if (job->resuming) {
        job->resume_offset = cp->offset;
        esp_err_t err = otk_partition_read(job->dest, 0, job->head, SERVICE_HEAD_MAX);
        if (err != ESP_OK) {
            return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_RD_FAIL,
                                  "reading the descriptor written before the interruption");
        }
        job->head_len = SERVICE_HEAD_MAX;
    } else {
        r = job_read_head(job, SERVICE_HEAD_MAX);
        if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
            return r;
        }
    }
    return check_head(job);
}

static otk_service_reason_t app_need_upgrade(otk_service_job_t *job)
{
    const otk_service_node_t *n = job->node;
    char cur[OTK_VERSION_TEXT_MAX + 1], inc[OTK_VERSION_TEXT_MAX + 1];
    snprintf(cur, sizeof cur, "%s", job->result->current_version);
    snprintf(inc, sizeof inc, "%s", job->result->incoming_version);
    otk_service_job_versions(job, cur, inc);
    if (job->skip) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION,
                          "the list's %s is not newer than the running %s: nothing downloaded",
                          inc, cur[0] != '\0' ? cur : "app");
    }
    if (job->incoming == OTK_VERSION_NONE) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_ERROR_VERSION,
                          "the image's version '%s' is not Vx.y.z (ADF's format)", inc);
    }
    if (n->version[0] != '\0' && otk_version_pack(n->version) != job->incoming) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_ERROR_VERSION,
                          "the list says %s, the image says %s", n->version, inc);
    }
    if (job->incoming <= job->current) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION,
                          "%s is not newer than the running %s", inc, cur);
    }
    const char *label = "";
    if (pending_version(job->svc->cfg->dev, &label) == job->incoming) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION,
                          "%s is already installed in %s and boots at the next reset", inc,
                          label);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

static otk_service_reason_t app_write(otk_service_job_t *job, const uint8_t *data, size_t len)
{
    otk_device_t *dev = job->svc->cfg->dev;
    esp_err_t err = otk_ota_write(dev, job->ota, data, len);
    if (err == ESP_OK) {
        return OTK_SERVICE_ERR_REASON_SUCCESS;
    }
    if (err == ESP_ERR_INVALID_SIZE || err == ESP_ERR_INVALID_ARG) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE,
                          "%s does not fit %s (0x%x bytes)", job->node->uri, job->dest->label,
                          (unsigned)job->dest->size);
    }
    if (err == ESP_ERR_OTA_VALIDATE_FAILED) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_INVALID,
                          "%s is not a valid app image for this device (esp_ota_write at byte "
                          "%llu)",
                          job->node->uri, (unsigned long long)job->written);
    }
    return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL, "esp_ota_write");
}

/* esp_ota_end refused the image: say why from the slot itself. */
static otk_service_reason_t invalid_image(otk_service_job_t *job)
{
    otk_device_t *dev = job->svc->cfg->dev;
    otk_image_verify_opts_t opts;
    otk_image_verify_opts_init(&opts);
    opts.chip_id = dev->config.chip_id;
    opts.check_chip_rev = true;
    opts.chip_rev = dev->config.chip_rev;
    opts.secure_boot = dev->config.secure_boot; /* a refused signature names its blocks */
    otk_diag_t why;
    otk_diag_clear(&why);
    otk_image_verify_flash(dev->flash, job->dest->address, job->dest->size, &opts, NULL, &why);
    return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_INVALID, "%s: esp_ota_end: %s",
                      job->node->uri, why.msg[0] != '\0' ? why.msg : "the image does not verify");
}

static otk_service_reason_t app_execute(otk_service_job_t *job)
{
    otk_device_t *dev = job->svc->cfg->dev;
    esp_err_t err = job->resuming
                        ? otk_ota_resume(dev, job->dest, OTA_WITH_SEQUENTIAL_WRITES,
                                         job->resume_offset, &job->ota)
                        : otk_ota_begin(dev, job->dest, OTA_WITH_SEQUENTIAL_WRITES, &job->ota);
    if (err == ESP_ERR_OTA_ROLLBACK_INVALID_STATE) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_INVALID_STATE,
                          "the running app is PENDING_VERIFY: it must confirm itself before an "
                          "update");
    }
    if (err != ESP_OK) {
        job->ota = 0;
        return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                              job->resuming ? "esp_ota_resume" : "esp_ota_begin");
    }
    job->result->resumed = job->resuming;
    job->result->resumed_from = job->resuming ? job->resume_offset : 0;
    otk_service_reason_t r = job_hash_start(job);
    uint8_t sha[OTK_SHA256_LEN];
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        r = job_stream(job, app_write, sha);
    }
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        /* A broken download may go on next time; wrong bytes never will. */
        if (r == OTK_SERVICE_ERR_REASON_SHA256_MISMATCH ||
            r == OTK_SERVICE_ERR_REASON_SIZE_MISMATCH ||
            r == OTK_SERVICE_ERR_REASON_IMAGE_INVALID) {
            job_forget_resume(job);
        }
        return r;
    }
    err = otk_ota_end(dev, job->ota);
    job->ota = 0; /* end frees the handle whatever it returns */
    if (err == ESP_ERR_OTA_VALIDATE_FAILED || err == ESP_ERR_IMAGE_INVALID) {
        job_forget_resume(job);
        return invalid_image(job);
    }
    if (err == ESP_OK) {
        err = otk_ota_set_boot_partition(dev, job->dest);
    }
    if (err == ESP_ERR_OTA_SMALL_SEC_VER) {
        /* Anti-rollback (spec §4.4): set_boot refused the image and erased the slot. */
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                          "%s: anti-rollback: its secure_version is below the eFuse's %u, so "
                          "esp_ota_set_boot_partition refused it and erased %s",
                          job->node->uri,
                          (unsigned)otk_boot_efuse_secure_version(
                              dev->efuse_secure_version, dev->config.secure_version_bits),
                          job->dest->label);
    }
    if (err != ESP_OK) {
        return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                              "esp_ota_end / esp_ota_set_boot_partition");
    }
    if (!job_forget_resume(job)) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_UNKNOWN, "%s", job->svc->state_diag.msg);
    }
    return job_reason(job, OTK_SERVICE_ERR_REASON_SUCCESS, "%s installed in %s (%llu bytes%s), "
                      "boots at the next reset",
                      job->result->incoming_version, job->dest->label,
                      (unsigned long long)job->written,
                      job->node->has_sha256 ? ", SHA-256 ok" : "");
}

static otk_service_reason_t app_finished(otk_service_job_t *job, otk_service_reason_t result)
{
    (void)job;
    return result;
}

const otk_service_steps_t *otk_service_app_steps(void)
{
    static const otk_service_steps_t steps = {
        .prepare = app_prepare,
        .need_upgrade = app_need_upgrade,
        .execute_upgrade = app_execute,
        .finished_check = app_finished,
    };
    return &steps;
}
