/* Private to the update service (the files of src/service): one run, one job per node, and the
 * helpers the default steps share. */
#ifndef OTAKIT_SERVICE_INTERNAL_H
#define OTAKIT_SERVICE_INTERNAL_H

#include "otakit/image.h"
#include "otakit/service.h"

#define SERVICE_TAG "service" /* log tag */
/* Bytes read from a source and written at a time: one flash sector, so every checkpoint
 * falls on an erase boundary and a resumed write starts on a fresh sector. */
#define SERVICE_CHUNK OTK_FLASH_SECTOR_SIZE
/* What is read ahead before anything is erased: an app's image header, segment 0's header
 * and its esp_app_desc_t (288 bytes); a data image's header is shorter. */
#define SERVICE_HEAD_MAX (OTK_IMAGE_DESC_OFFSET + sizeof(esp_app_desc_t))

/* One run of a list. */
typedef struct {
    const otk_service_config_t *cfg;
    otk_service_state_t state;   /* as last saved (or to be saved next) */
    otk_service_report_t *report;
    bool power_lost;             /* the flash lost power: nothing more is written */
    esp_err_t state_err;         /* a save that failed (the run stops), with its reason */
    otk_diag_t state_diag;
} svc_t;

struct otk_service_job {
    svc_t *svc;
    size_t index;
    const otk_service_node_t *node;
    otk_service_node_result_t *result;
    void *user;
    /* Used by the default steps; released by the runner. */
    const esp_partition_t *target;  /* the partition the node updates */
    const esp_partition_t *dest;    /* where the bytes are written (target or staging) */
    const esp_partition_t *staging; /* data: the staging partition, NULL in place */
    otk_source_t *src;
    uint64_t src_pos;               /* resource offset of the source's next byte */
    uint8_t head[SERVICE_HEAD_MAX]; /* image bytes [0, head_len), read ahead */
    size_t head_len;
    bool skip;                      /* prepare found the node need not run */
    otk_service_reason_t skip_reason;
    bool resuming;                  /* bytes [0, resume_offset) are already in dest */
    uint32_t resume_offset;
    int32_t current;                /* packed versions (OTK_VERSION_NONE: unknown) */
    int32_t incoming;
    esp_err_t header_err;           /* data: the image's header (ESP_ERR_NOT_FOUND: raw) */
    otk_data_header_t header;
    otk_diag_t header_diag;
    esp_ota_handle_t ota;           /* app: the open OTA handle (0: none) */
    int64_t total;                  /* expected image bytes; -1 unknown */
    uint64_t written;               /* image bytes in dest (resumed ones included) */
    uint64_t progress_mark;         /* last PROGRESS event's multiple of the step */
    uint32_t erased_end;            /* data: dest bytes [0, erased_end) are erased */
    uint32_t room;                  /* data: the largest image target and dest both hold */
    otk_sha256_ctx_t sha;           /* data: of image bytes [0, written) (an app's are
                                       hashed by the OTA engine: otk_ota_get_sha256) */
};

/* ---- events and messages (service.c) ------------------------------------------------------ */

void svc_emit(svc_t *svc, otk_service_event_type_t type, size_t index,
              const otk_service_node_t *node, const otk_service_node_result_t *result,
              uint64_t done, int64_t total);
/* Set the node's message and return reason (for `return job_reason(...)`). */
otk_service_reason_t job_reason(otk_service_job_t *job, otk_service_reason_t reason,
                              const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A flash error: POWER_LOST when the flash lost power (the run stops), else `reason`. */
otk_service_reason_t job_flash_fail(otk_service_job_t *job, esp_err_t err,
                                    otk_service_reason_t reason, const char *what);
/* Save the state file (when the run has one). false: the run must stop (svc->state_err). */
bool svc_save(svc_t *svc);
/* Record (creating it) for a partition label; NULL when the table of records is full. */
otk_service_record_t *svc_record(svc_t *svc, const char *label);

/* ---- sources and streams (job.c) ------------------------------------------------------- */

/* Open the node's URI at offset (0, or a checkpoint's with its identity). */
otk_service_reason_t job_open(otk_service_job_t *job, uint64_t offset,
                              const otk_source_identity_t *expect);
/* Sizes the list and the source give agree (before anything is erased); sets job->total. */
otk_service_reason_t job_check_size(otk_service_job_t *job, uint32_t room);
/* Read ahead up to want bytes into job->head (fewer only at the end of the image). */
otk_service_reason_t job_read_head(otk_service_job_t *job, size_t want);
/* The checkpoint in the state fits this node and dest: bytes can go on from it. */
bool job_resume_fits(otk_service_job_t *job, const esp_partition_t *dest);
/* Start the SHA-256 over image bytes already in dest [0, resume_offset) (or none). */
otk_service_reason_t job_hash_start(otk_service_job_t *job);

/* Writes one chunk of image bytes at job->written into dest. */
typedef otk_service_reason_t (*job_writer_t)(otk_service_job_t *job, const uint8_t *data,
                                             size_t len);
/* Stream the image: head bytes first (unless resuming), then the source, in
 * SERVICE_CHUNK pieces through `write`, checkpointing every cfg->checkpoint_bytes; then
 * the size and SHA-256 the list gives are checked. *sha_out gets the image's digest. */
otk_service_reason_t job_stream(otk_service_job_t *job, job_writer_t write,
                                uint8_t sha_out[OTK_SHA256_LEN]);
/* Drop the checkpoint (the download is done or its bytes are useless) and save. */
bool job_forget_resume(otk_service_job_t *job);
/* SHA-256 of part [0, len). */
esp_err_t svc_hash_partition(const esp_partition_t *part, uint32_t len,
                             uint8_t out[OTK_SHA256_LEN]);
/* Release what the job holds (source, OTA handle). */
void job_release(otk_service_job_t *job);

/* ---- data partitions (data_commit.c) ----------------------------------------------------- */

/* Copy the committed staging image to its target, verify it, record it, drop the commit.
 * ESP_OK; ESP_ERR_FLASH_OP_FAIL (power lost); ESP_ERR_INVALID_CRC (staging no longer
 * holds the image: the target is left torn); ESP_ERR_NOT_FOUND (a partition is gone);
 * the state file's error. msg gets one line. */
esp_err_t svc_commit_apply(svc_t *svc, otk_diag_t *msg);

#endif
