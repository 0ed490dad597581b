/* What the default steps share: opening a node's source, reading ahead, resuming from a
 * checkpoint, and the one streaming loop that writes an image chunk by chunk while it
 * hashes it, reports progress and saves checkpoints. */
#include <stdio.h>
#include <string.h>

#include "otakit/log.h"
#include "otakit/ota.h"
#include "service/service_internal.h"

otk_service_reason_t job_open(otk_service_job_t *job, uint64_t offset,
                              const otk_source_identity_t *expect)
{
    const otk_service_node_t *n = job->node;
    otk_source_opts_t opts = job->svc->cfg->source;
    if (n->cert_pem != NULL) {
        opts.ca_pem = n->cert_pem;
        opts.ca_pem_len = 0;
        opts.ca_file = NULL;
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err = otk_source_open(n->uri, &opts, offset, expect, &job->src, &why);
    if (err != ESP_OK) {
        job->src = NULL;
        otk_service_reason_t r = err == ESP_ERR_INVALID_ARG || err == ESP_ERR_NOT_SUPPORTED
                                     ? OTK_SERVICE_ERR_REASON_URL_PARSE_FAIL
                                 : err == ESP_ERR_NOT_FOUND
                                     ? OTK_SERVICE_ERR_REASON_FILE_NOT_FOUND
                                     : OTK_SERVICE_ERR_REASON_STREAM_INIT_FAIL;
        return job_reason(job, r, "%s", why.msg);
    }
    job->src_pos = otk_source_offset(job->src);
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

otk_service_reason_t job_check_size(otk_service_job_t *job, uint32_t room)
{
    const otk_service_node_t *n = job->node;
    int64_t length = otk_source_identity(job->src)->length;
    if (n->has_size && length >= 0 && (uint64_t)length != n->size) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_SIZE_MISMATCH,
                          "%s is %lld bytes, the list says %u", n->uri, (long long)length,
                          (unsigned)n->size);
    }
    job->total = n->has_size ? (int64_t)n->size : length;
    if (job->total > (int64_t)room) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE,
                          "an image of %lld bytes does not fit %s (0x%x bytes)",
                          (long long)job->total, job->target->label, (unsigned)room);
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* Read until len bytes or the end; a source that started over means the resource changed
 * under us: the bytes taken so far are from another version. */
static otk_service_reason_t read_some(otk_service_job_t *job, uint8_t *buf, size_t len,
                                      size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t n = 0;
        uint64_t at = 0;
        otk_diag_t why;
        otk_diag_clear(&why);
        esp_err_t err = otk_source_read(job->src, buf + *got, len - *got, &n, &at, &why);
        if (err != ESP_OK) {
            return job_reason(job, OTK_SERVICE_ERR_REASON_STREAM_RD_FAIL, "at byte %llu: %s",
                              (unsigned long long)job->src_pos, why.msg);
        }
        if (n == 0) {
            break;
        }
        if (at != job->src_pos) {
            return job_reason(job, OTK_SERVICE_ERR_REASON_STREAM_RD_FAIL,
                              "%s changed during the download (at byte %llu)", job->node->uri,
                              (unsigned long long)job->src_pos);
        }
        job->src_pos += n;
        *got += n;
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

otk_service_reason_t job_read_head(otk_service_job_t *job, size_t want)
{
    if (want > sizeof job->head) {
        want = sizeof job->head;
    }
    return read_some(job, job->head, want, &job->head_len);
}

bool job_resume_fits(otk_service_job_t *job, const esp_partition_t *dest)
{
    const otk_service_resume_t *r = &job->svc->state.resume;
    const otk_service_node_t *n = job->node;
    return job->svc->cfg->state_path != NULL && r->active && strcmp(r->uri, n->uri) == 0 &&
           r->has_sha256 == n->has_sha256 &&
           (!n->has_sha256 || memcmp(r->sha256, n->sha256, OTK_SHA256_LEN) == 0) &&
           strcmp(r->partition, dest->label) == 0 && r->offset > 0 &&
           r->offset % SERVICE_CHUNK == 0 && r->offset <= dest->size &&
           (!n->has_size || r->offset <= n->size);
}

esp_err_t svc_hash_partition(const esp_partition_t *part, uint32_t len,
                             uint8_t out[OTK_SHA256_LEN])
{
    otk_sha256_ctx_t sha;
    otk_sha256_init(&sha);
    esp_err_t err = otk_partition_sha256_update(part, 0, len, &sha);
    if (err == ESP_OK) {
        otk_sha256_final(&sha, out);
    }
    return err;
}

otk_service_reason_t job_hash_start(otk_service_job_t *job)
{
    otk_sha256_init(&job->sha);
    job->written = 0;
    if (!job->resuming) {
        return OTK_SERVICE_ERR_REASON_SUCCESS;
    }
    /* An app: esp_ota_resume has read these bytes into the engine's verifier already. */
    esp_err_t err = job->ota != 0 ? ESP_OK
                                  : otk_partition_sha256_update(job->dest, 0, job->resume_offset,
                                                                &job->sha);
    if (err != ESP_OK) {
        return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_RD_FAIL,
                              "reading the part written before the interruption");
    }
    job->written = job->resume_offset;
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

/* Bytes [0, written) of the image are durable in dest: a later run may go on from here. */
static void checkpoint(otk_service_job_t *job)
{
    svc_t *svc = job->svc;
    if (svc->cfg->state_path == NULL) {
        return;
    }
    if (otk_flash_sync(svc->cfg->dev->flash) != ESP_OK) {
        return; /* not durable: keep the older checkpoint */
    }
    otk_service_resume_t *r = &svc->state.resume;
    memset(r, 0, sizeof *r);
    r->active = true;
    snprintf(r->uri, sizeof r->uri, "%s", job->node->uri);
    r->has_sha256 = job->node->has_sha256;
    memcpy(r->sha256, job->node->sha256, OTK_SHA256_LEN);
    snprintf(r->partition, sizeof r->partition, "%s", job->dest->label);
    r->offset = (uint32_t)job->written;
    r->identity = *otk_source_identity(job->src);
    /* A checkpoint that cannot be saved only costs a longer download next time. */
    if (otk_service_state_save(svc->cfg->state_path, &svc->state, NULL) != ESP_OK) {
        OTK_LOGW(SERVICE_TAG, "checkpoint at byte %u not saved", (unsigned)r->offset);
    }
}

bool job_forget_resume(otk_service_job_t *job)
{
    svc_t *svc = job->svc;
    if (!svc->state.resume.active) {
        return true;
    }
    memset(&svc->state.resume, 0, sizeof svc->state.resume);
    return svc_save(svc);
}

static void progress(otk_service_job_t *job, bool last)
{
    uint64_t mark = job->written / OTK_SERVICE_PROGRESS_STEP;
    if (mark != job->progress_mark || last) {
        job->progress_mark = mark;
        svc_emit(job->svc, OTK_SERVICE_EV_PROGRESS, job->index, job->node, job->result,
                 job->written, job->total);
    }
}

/* The next chunk: read-ahead bytes first, then the source. */
static otk_service_reason_t next_chunk(otk_service_job_t *job, uint8_t *buf, size_t *len)
{
    size_t n = 0;
    if (!job->resuming && job->written < job->head_len) {
        n = job->head_len - (size_t)job->written;
        n = n < SERVICE_CHUNK ? n : SERVICE_CHUNK;
        memcpy(buf, job->head + job->written, n);
    }
    size_t got = 0;
    otk_service_reason_t r = read_some(job, buf + n, SERVICE_CHUNK - n, &got);
    *len = n + got;
    return r;
}

otk_service_reason_t job_stream(otk_service_job_t *job, job_writer_t write,
                                uint8_t sha_out[OTK_SHA256_LEN])
{
    const otk_service_node_t *n = job->node;
    uint32_t every = job->svc->cfg->checkpoint_bytes != 0 ? job->svc->cfg->checkpoint_bytes
                                                          : OTK_SERVICE_CHECKPOINT_BYTES;
    uint8_t buf[SERVICE_CHUNK];
    uint64_t start = job->written;
    for (;;) {
        size_t len = 0;
        otk_service_reason_t r = next_chunk(job, buf, &len);
        if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
            return r;
        }
        if (len == 0) {
            break;
        }
        if (job->total >= 0 && job->written + len > (uint64_t)job->total) {
            return job_reason(job, OTK_SERVICE_ERR_REASON_SIZE_MISMATCH,
                              "%s has more than the %lld bytes expected", n->uri,
                              (long long)job->total);
        }
        if (job->ota == 0) { /* an app's bytes are hashed by the engine, as read back */
            otk_sha256_update(&job->sha, buf, len);
        }
        r = write(job, buf, len);
        if (r != OTK_SERVICE_ERR_REASON_SUCCESS) {
            return r;
        }
        job->written += len;
        job->result->bytes = job->written - start;
        progress(job, false);
        if (len == SERVICE_CHUNK && job->written % every == 0) {
            checkpoint(job);
        }
    }
    progress(job, true);
    if (job->total >= 0 && job->written != (uint64_t)job->total) {
        return job_reason(job, OTK_SERVICE_ERR_REASON_SIZE_MISMATCH,
                          "%s ended after %llu bytes, expected %lld", n->uri,
                          (unsigned long long)job->written, (long long)job->total);
    }
    if (job->ota != 0) {
        esp_err_t err = otk_ota_get_sha256(job->svc->cfg->dev, job->ota, (uint32_t)job->written,
                                           sha_out);
        if (err != ESP_OK) {
            return job_flash_fail(job, err, OTK_SERVICE_ERR_REASON_PARTITION_RD_FAIL,
                                  "reading the image back for its SHA-256");
        }
    } else {
        otk_sha256_final(&job->sha, sha_out);
    }
    if (n->has_sha256 && memcmp(sha_out, n->sha256, OTK_SHA256_LEN) != 0) {
        char got[2 * OTK_SHA256_LEN + 1], want[2 * OTK_SHA256_LEN + 1];
        return job_reason(job, OTK_SERVICE_ERR_REASON_SHA256_MISMATCH,
                          "SHA-256 of %s is %.16s..., the list says %.16s...", n->uri,
                          otk_sha256_to_hex(sha_out, got), otk_sha256_to_hex(n->sha256, want));
    }
    return OTK_SERVICE_ERR_REASON_SUCCESS;
}

void job_release(otk_service_job_t *job)
{
    if (job->ota != 0) {
        otk_ota_abort(job->svc->cfg->dev, job->ota);
        job->ota = 0;
    }
    otk_source_close(job->src);
    job->src = NULL;
}
