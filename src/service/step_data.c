/* The default steps of a data node (ADF's ota_data_get_default_proc, with the
 * need_upgrade ADF leaves to the application):
 *   prepare         find the target and the staging partition; learn the current
 *                   version (the partition's otakit data header, else the service's record
 *                   if the partition still hashes to it); decline from the list's version
 *                   without downloading when it can; else open the URI (or go on from a
 *                   checkpoint) and read the image's header, if it has one;
 *   need_upgrade    strictly newer (header or list version), or, for an image without any
 *                   version, different bytes (SHA-256) from what the partition holds;
 *   execute_upgrade stream into the staging partition, verify size, SHA-256 and header,
 *                   write the commit record, copy to the target (data_commit.c); without
 *                   staging, mark the target torn first and write it in place;
 *   finished_check  the result as it is. */
#include <stdio.h>
#include <string.h>

#include "otakit/log.h"
#include "service/service_internal.h"

static const esp_partition_t *find_data(otk_service_job_t *job, const char *label)
{
    return otk_partition_find_first(&job->svc->cfg->dev->table, ESP_PARTITION_TYPE_DATA,
                                    ESP_PARTITION_SUBTYPE_ANY, label);
}

esp_err_t otk_service_data_version(const otk_service_state_t *state, const esp_partition_t *part,
                                   char version[OTK_VERSION_TEXT_MAX + 1], bool *torn)
{
    version[0] = '\0';
    if (torn != NULL) {
        *torn = false;
    }
    const otk_service_record_t *rec = NULL;
    for (size_t i = 0; i < state->record_count; i++) {
        if (strcmp(state->records[i].label, part->label) == 0) {
            rec = &state->records[i];
        }
    }
    if (rec != NULL && rec->state == OTK_SERVICE_PART_TORN) {
        if (torn != NULL) {
            *torn = true; /* a header in it may already be the new one: trust nothing */
        }
        return ESP_OK;
    }
    uint8_t head[OTK_DATA_HEADER_LEN];
    esp_err_t err = otk_partition_read(part, 0, head, sizeof head);
    if (err != ESP_OK) {
        return err;
    }
    otk_data_header_t hdr;
    if (otk_data_header_decode(head, sizeof head, &hdr, NULL) == ESP_OK) {
        otk_version_format(hdr.version, version);
        return ESP_OK;
    }
    if (rec == NULL || rec->size == 0 || rec->size > part->size) {
        return ESP_OK;
    }
    uint8_t sha[OTK_SHA256_LEN];
    err = svc_hash_partition(part, rec->size, sha);
    if (err == ESP_OK && memcmp(sha, rec->sha256, OTK_SHA256_LEN) == 0) {
        snprintf(version, OTK_VERSION_TEXT_MAX + 1, "%s", rec->version);
    }
    return err;
}

/* The partition holds exactly the bytes the node names (by SHA-256): nothing to do. */
static bool holds_image(otk_service_job_t *job)
{
    const otk_service_node_t *n = job->node;
    const otk_service_record_t *rec = otk_service_state_record(&job->svc->state, n->label);
    if (!n->has_sha256 || rec == NULL || rec->state != OTK_SERVICE_PART_VALID ||
        memcmp(rec->sha256, n->sha256, OTK_SHA256_LEN) != 0 || rec->size > job->target->size) {
        return false;
    }
    uint8_t sha[OTK_SHA256_LEN];
    return svc_hash_partition(job->target, rec->size, sha) == ESP_OK &&
           memcmp(sha, rec->sha256, OTK_SHA256_LEN) == 0;
}

static otk_service_reason_t find_partitions(otk_service_job_t *job)
{
    const otk_service_node_t *n = job->node;
    job->target = find_data(job, n->label);
    if (job->target == NULL) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_NOT_FOUND,
                          "no data partition '%s' in the partition table", n->label);
    }
    const char *staging = n->staging[0] != '\0' ? n->staging : job->svc->cfg->default_staging;
    if (staging != NULL && staging[0] != '\0' && strcmp(staging, n->label) != 0) {
        job->staging = find_data(job, staging);
        if (job->staging == NULL) {
            return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_NOT_FOUND,
                              "no data partition '%s' to stage %s's image in", staging, n->label);
        }
    }
    /* otadata belongs to the OTA engine: writing it as data would change what boots. */
    const esp_partition_t *refused =
        job->target->subtype == ESP_PARTITION_SUBTYPE_DATA_OTA ? job->target
        : job->staging != NULL && job->staging->subtype == ESP_PARTITION_SUBTYPE_DATA_OTA
            ? job->staging
            : NULL;
    if (refused != NULL) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                          "'%s' is the otadata partition: only the OTA engine writes it",
                          refused->label);
    }
    job->dest = job->staging != NULL ? job->staging : job->target;
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* Where the image's version comes from before anything is downloaded. */
static otk_service_reason_t current_version(otk_service_job_t *job)
{
    bool torn = false;
    esp_err_t err = otk_service_data_version(&job->svc->state, job->target,
                                             job->result->current_version, &torn);
    if (err != ESP_OK) {
        return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_RD_FAIL,
                              "reading the data partition's version");
    }
    job->current = otk_version_pack(job->result->current_version);
    if (torn) {
        OTK_LOGW(SERVICE_TAG, "%s is torn by an interrupted update: writing it again",
                 job->target->label);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

static otk_service_reason_t data_prepare(otk_service_job_t *job)
{
    const otk_service_node_t *n = job->node;
    otk_service_reason_t r = find_partitions(job);
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        r = current_version(job);
    }
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        return r;
    }
    uint32_t room = job->target->size < job->dest->size ? job->target->size : job->dest->size;
    job->room = room;
    if (n->has_size && n->size > room) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE,
                          "an image of %u bytes does not fit %s%s%s (0x%x bytes)",
                          (unsigned)n->size, job->target->label, job->staging ? " or " : "",
                          job->staging ? job->staging->label : "", (unsigned)room);
    }
    int32_t listed = otk_version_pack(n->version);
    if (n->version[0] != '\0' && listed == OTK_VERSION_NONE) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_ERROR_VERSION,
                          "the list's version '%s' is not Vx.y.z", n->version);
    }
    if ((n->version[0] != '\0' && job->current != OTK_VERSION_NONE && listed <= job->current) ||
        (n->version[0] == '\0' && holds_image(job))) {
        job->skip = true; /* decided without a download */
        job->incoming = listed;
        snprintf(job->result->incoming_version, sizeof job->result->incoming_version, "%s",
                 n->version);
        return OTK_SERVICE_ERR_REASON_SUCCESS;
    }
    job->resuming = job_resume_fits(job, job->dest);
    const otk_service_resume_t *cp = &job->svc->state.resume;
    r = job_open(job, job->resuming ? cp->offset : 0, job->resuming ? &cp->identity : NULL);
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        return r;
    }
    if (job->resuming && job->src_pos != cp->offset) {
        job->resuming = false;
    }
    r = job_check_size(job, room);
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        return r;
    }
    if (job->resuming) {
        job->resume_offset = cp->offset;
        esp_err_t err = otk_partition_read(job->dest, 0, job->head, OTK_DATA_HEADER_LEN);
        if (err != ESP_OK) {
            return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_RD_FAIL,
                                  "reading the header written before the interruption");
        }
        job->head_len = OTK_DATA_HEADER_LEN;
    } else {
        r = job_read_head(job, OTK_DATA_HEADER_LEN);
        if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
            return r;
        }
    }
    otk_diag_clear(&job->header_diag);
    job->header_err = otk_data_header_decode(job->head, job->head_len, &job->header,
                                             &job->header_diag);
    job->incoming = job->header_err == ESP_OK ? job->header.version : listed;
    if (job->header_err == ESP_OK) {
        otk_version_format(job->header.version, job->result->incoming_version);
    } else {
        snprintf(job->result->incoming_version, sizeof job->result->incoming_version, "%s",
                 n->version);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

static otk_service_reason_t data_need_upgrade(otk_service_job_t *job)
{
    const otk_service_node_t *n = job->node;
    char cur[OTK_VERSION_TEXT_MAX + 1], inc[OTK_VERSION_TEXT_MAX + 1];
    snprintf(cur, sizeof cur, "%s", job->result->current_version);
    snprintf(inc, sizeof inc, "%s", job->result->incoming_version);
    otk_service_job_versions(job, cur, inc);
    if (job->skip && n->version[0] != '\0') {
        return job_reason(job, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION,
                          "%s holds %s, the list's %s is not newer: nothing downloaded",
                          job->target->label, cur, inc);
    }
    if (job->skip) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION,
                          "%s already holds the image (its SHA-256 matches the list's): "
                          "nothing downloaded",
                          job->target->label);
    }
    if (job->header_err != ESP_OK && job->header_err != ESP_ERR_NOT_FOUND) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_INVALID, "%s: broken %s",
                          n->uri, job->header_diag.msg);
    }
    if (job->header_err == ESP_OK && n->version[0] != '\0' &&
        otk_version_pack(n->version) != job->header.version) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_ERROR_VERSION,
                          "the list says %s, the image's header says %s", n->version, inc);
    }
    if (job->incoming != OTK_VERSION_NONE && job->incoming <= job->current) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION,
                          "%s holds %s, the image's %s is not newer", job->target->label, cur,
                          inc);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* Erase dest ahead of the bytes (sector by sector: an image refused early erases little),
 * then program them. */
static otk_service_reason_t data_write(otk_service_job_t *job, const uint8_t *data, size_t len)
{
    uint64_t end = job->written + len;
    if (end > job->room) { /* only when no size was known beforehand */
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE,
                          "%s is larger than %s%s%s (0x%x bytes)", job->node->uri,
                          job->target->label, job->staging != NULL ? " or " : "",
                          job->staging != NULL ? job->staging->label : "",
                          (unsigned)job->room);
    }
    while (job->erased_end < end) {
        esp_err_t err = otk_partition_erase_range(job->dest, job->erased_end, SERVICE_CHUNK);
        if (err != ESP_OK) {
            return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                                  "erasing the data partition");
        }
        job->erased_end += SERVICE_CHUNK;
    }
    esp_err_t err = otk_partition_write(job->dest, (size_t)job->written, data, len);
    if (err != ESP_OK) {
        return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                              "writing the data partition");
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* The whole image is in dest: its header (if any) must describe exactly these bytes. */
static otk_service_reason_t check_image(otk_service_job_t *job)
{
    if (job->header_err == ESP_OK &&
        job->written != (uint64_t)OTK_DATA_HEADER_LEN + job->header.payload_len) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_INVALID,
                          "%s: broken data image: its header says %u payload bytes, it has %llu",
                          job->node->uri, (unsigned)job->header.payload_len,
                          (unsigned long long)(job->written - (job->written >= OTK_DATA_HEADER_LEN
                          ? OTK_DATA_HEADER_LEN
                          : job->written)));
    }
    if (job->written == 0) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_SIZE_MISMATCH, "%s is empty",
                          job->node->uri);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* Read back what dest holds: the bytes programmed are the bytes hashed. */
static otk_service_reason_t read_back(otk_service_job_t *job, const uint8_t sha[OTK_SHA256_LEN])
{
    uint8_t got[OTK_SHA256_LEN];
    esp_err_t err = svc_hash_partition(job->dest, (uint32_t)job->written, got);
    if (err != ESP_OK) {
        return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_RD_FAIL,
                              "reading the image back");
    }
    if (memcmp(got, sha, OTK_SHA256_LEN) != 0) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                          "%s does not read back as written", job->dest->label);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* The incoming version as recorded: canonical "Vx.y.z", or "" for an image without one
 * (what a custom step showed the caller does not matter). */
static void incoming_text(const otk_service_job_t *job, char out[OTK_VERSION_TEXT_MAX + 1])
{
    if (job->incoming == OTK_VERSION_NONE) {
        out[0] = '\0';
    } else {
        otk_version_format(job->incoming, out);
    }
}

/* Without staging: the target is torn from its first erase until the record says what it
 * holds; the record goes first, so a power cut in between is never mistaken for data. */
static otk_service_reason_t mark_torn(otk_service_job_t *job)
{
    otk_service_record_t *rec = svc_record(job->svc, job->target->label);
    if (rec == NULL) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_UNKNOWN, "more than %u data partitions "
                          "recorded", (unsigned)OTK_SERVICE_MAX_RECORDS);
    }
    rec->state = OTK_SERVICE_PART_TORN;
    if (!svc_save(job->svc)) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_UNKNOWN, "%s", job->svc->state_diag.msg);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* In place, done: the tail after the image erased (the partition holds the image and
 * nothing else, as ADF leaves it), then the record. */
static otk_service_reason_t finish_in_place(otk_service_job_t *job,
                                            const uint8_t sha[OTK_SHA256_LEN])
{
    uint32_t from = (uint32_t)((job->written + SERVICE_CHUNK - 1) / SERVICE_CHUNK * SERVICE_CHUNK);
    if (from < job->erased_end) {
        from = job->erased_end;
    }
    if (from < job->target->size) {
        esp_err_t err = otk_partition_erase_range(job->target, from, job->target->size - from);
        if (err != ESP_OK) {
            return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
                                  "erasing the rest of the data partition");
        }
    }
    if (otk_flash_sync(job->svc->cfg->dev->flash) != ESP_OK) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL, "flash sync failed");
    }
    otk_service_record_t *rec = svc_record(job->svc, job->target->label);
    if (rec == NULL) { /* mark_torn made it; only a custom step could have skipped that */
        return job_reason(job, OTK_SERVICE_ERR_REASON_UNKNOWN, "no record for %s",
                          job->target->label);
    }
    rec->state = OTK_SERVICE_PART_VALID;
    memcpy(rec->sha256, sha, OTK_SHA256_LEN);
    rec->size = (uint32_t)job->written;
    incoming_text(job, rec->version);
    memset(&job->svc->state.resume, 0, sizeof job->svc->state.resume);
    if (!svc_save(job->svc)) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_UNKNOWN, "%s", job->svc->state_diag.msg);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* Staged, verified: the commit record makes the copy certain to happen. */
static otk_service_reason_t commit(otk_service_job_t *job, const uint8_t sha[OTK_SHA256_LEN])
{
    svc_t *svc = job->svc;
    if (otk_flash_sync(svc->cfg->dev->flash) != ESP_OK) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL, "flash sync failed");
    }
    otk_service_commit_t *c = &svc->state.commit;
    memset(c, 0, sizeof *c);
    c->active = true;
    snprintf(c->target, sizeof c->target, "%s", job->target->label);
    snprintf(c->staging, sizeof c->staging, "%s", job->staging->label);
    c->size = (uint32_t)job->written;
    memcpy(c->sha256, sha, OTK_SHA256_LEN);
    incoming_text(job, c->version);
    otk_service_record_t *rec = svc_record(svc, job->target->label);
    if (rec == NULL) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_UNKNOWN, "more than %u data partitions "
                          "recorded", (unsigned)OTK_SERVICE_MAX_RECORDS);
    }
    rec->state = OTK_SERVICE_PART_TORN; /* from the copy's first erase on */
    memset(&svc->state.resume, 0, sizeof svc->state.resume);
    if (!svc_save(svc)) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_UNKNOWN, "%s", svc->state_diag.msg);
    }
    otk_diag_t msg;
    otk_diag_clear(&msg);
    esp_err_t err = svc_commit_apply(svc, &msg);
    if (err == ESP_ERR_FLASH_OP_FAIL) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_POWER_LOST, "%s", msg.msg);
    }
    if (err != ESP_OK) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL, "%s", msg.msg);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

static otk_service_reason_t data_execute(otk_service_job_t *job)
{
    otk_service_reason_t r = OTK_SERVICE_ERR_REASON_SUCCESS;
    if (job->staging == NULL) {
        OTK_LOGW(SERVICE_TAG, "no staging partition for %s: writing it in place",
                 job->target->label);
        r = mark_torn(job);
    }
    job->erased_end = job->resuming ? job->resume_offset : 0;
    job->result->resumed = job->resuming;
    job->result->resumed_from = job->resuming ? job->resume_offset : 0;
    uint8_t sha[OTK_SHA256_LEN];
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        r = job_hash_start(job);
    }
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        r = job_stream(job, data_write, sha);
    }
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        r = check_image(job);
    }
    if (r == OTK_SERVICE_ERR_REASON_SUCCESS) {
        r = read_back(job, sha);
    }
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        if (r != OTK_SERVICE_ERR_REASON_STREAM_RD_FAIL && r != OTK_SERVICE_ERR_REASON_POWER_LOST) {
            job_forget_resume(job); /* wrong bytes: nothing to go on from */
        }
        return r;
    }
    r = job->staging != NULL ? commit(job, sha) : finish_in_place(job, sha);
    if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
        return r;
    }
    char hex[2 * OTK_SHA256_LEN + 1];
    return job_reason(job, OTK_SERVICE_ERR_REASON_SUCCESS, "%s%s%s written (%llu bytes, sha256 "
                      "%.16s...)%s%s",
                      job->target->label, job->incoming != OTK_VERSION_NONE ? " " : "",
                      job->incoming != OTK_VERSION_NONE ? job->result->incoming_version : "",
                      (unsigned long long)job->written, otk_sha256_to_hex(sha, hex),
                      job->staging != NULL ? ", staged in " : ", in place",
                      job->staging != NULL ? job->staging->label : "");
}

static otk_service_reason_t data_finished(otk_service_job_t *job, otk_service_reason_t result)
{
    (void)job;
    return result;
}

const otk_service_steps_t *otk_service_data_steps(void)
{
    static const otk_service_steps_t steps = {
        .prepare = data_prepare,
        .need_upgrade = data_need_upgrade,
        .execute_upgrade = data_execute,
        .finished_check = data_finished,
    };
    return &steps;
}
