/* The update service: ESP-ADF's ota_service on a simulated device. A list of nodes (app or
 * data partition, URI, flags; otakit/manifest.h) is processed in order; each node runs the
 * steps prepare -> need_upgrade -> execute_upgrade -> finished_check, overridable per node
 * through a table of callbacks, with defaults for app partitions (the OTA engine and the
 * source layer) and for data partitions. Events tell the caller what happens.
 *
 * Where it differs from ADF on purpose (docs/service.md):
 *   - a node that is not newer is SKIPPED, never SUCCESS, and never reboots by itself;
 *   - a data partition is never written half without a record of it: the image goes to a
 *     staging partition, is verified, and a commit record makes the copy to the target
 *     redone at the next run if power is lost (or, without staging, the target is marked
 *     torn before its first erase and the node is redone);
 *   - every image is checked against the list's SHA-256 and size when given, before
 *     anything is selected or committed;
 *   - downloads resume after an interruption or a power cut (checkpoints in the state
 *     file), and the library never reboots: it reports that a reboot is wanted;
 *   - the FINISH event always comes, also when a reboot is wanted.
 *
 * The state the service keeps between runs (data versions, the commit record, the resume
 * checkpoint, the last manifest seen) lives in a small JSON file, FLASH.service beside the
 * flash image, standing in for what a real device keeps in NVS; it is replaced atomically.
 *
 * Not thread-safe; one run at a time per device. */
#ifndef OTAKIT_SERVICE_H
#define OTAKIT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "otakit/device.h"
#include "otakit/diag.h"
#include "otakit/manifest.h"
#include "otakit/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results ---------------------------------------------------------------------------- */

/* ADF's ota_service_err_reason_t, same values, plus otakit's own after them. */
#define OTK_SERVICE_ERR_REASON_BASE 0x90000
typedef enum {
    OTK_SERVICE_ERR_REASON_UNKNOWN = ESP_FAIL,
    OTK_SERVICE_ERR_REASON_SUCCESS = ESP_OK,
    OTK_SERVICE_ERR_REASON_NULL_POINTER = OTK_SERVICE_ERR_REASON_BASE + 1,
    OTK_SERVICE_ERR_REASON_URL_PARSE_FAIL,
    OTK_SERVICE_ERR_REASON_ERROR_VERSION,
    OTK_SERVICE_ERR_REASON_NO_HIGHER_VERSION,
    OTK_SERVICE_ERR_REASON_ERROR_MAGIC_WORD,
    OTK_SERVICE_ERR_REASON_ERROR_PROJECT_NAME,
    OTK_SERVICE_ERR_REASON_FILE_NOT_FOUND,
    OTK_SERVICE_ERR_REASON_PARTITION_NOT_FOUND,
    OTK_SERVICE_ERR_REASON_PARTITION_WT_FAIL,
    OTK_SERVICE_ERR_REASON_PARTITION_RD_FAIL,
    OTK_SERVICE_ERR_REASON_STREAM_INIT_FAIL,
    OTK_SERVICE_ERR_REASON_STREAM_RD_FAIL,
    OTK_SERVICE_ERR_REASON_GET_NEW_APP_DESC_FAIL,
    /* otakit's */
    OTK_SERVICE_ERR_REASON_SHA256_MISMATCH = OTK_SERVICE_ERR_REASON_BASE + 0x40,
    OTK_SERVICE_ERR_REASON_SIZE_MISMATCH,  /* not the size the list gives */
    OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE,/* does not fit the partition (or staging) */
    OTK_SERVICE_ERR_REASON_IMAGE_INVALID,  /* an app that does not verify, a broken data
                                              header */
    OTK_SERVICE_ERR_REASON_POWER_LOST,     /* the flash lost power: the run stopped */
    OTK_SERVICE_ERR_REASON_NOT_RUN,        /* an earlier node failed with break_after_fail */
    OTK_SERVICE_ERR_REASON_INVALID_STATE,  /* the device refuses now (e.g. the running app
                                              is PENDING_VERIFY) */
} otk_service_reason_t;

/* "SUCCESS", "NO_HIGHER_VERSION", "SHA256_MISMATCH", ... ("?" for others). */
const char *otk_service_reason_name(otk_service_reason_t reason);

typedef enum {
    OTK_SERVICE_NODE_SUCCESS = 0, /* the node's image was written, verified, selected or
                                     committed */
    OTK_SERVICE_NODE_SKIPPED,     /* need_upgrade declined (not newer, already there) */
    OTK_SERVICE_NODE_FAILED,
    OTK_SERVICE_NODE_NOT_RUN,     /* the list stopped before it (break_after_fail, power) */
} otk_service_status_t;

/* "success", "skipped", "failed", "not_run". */
const char *otk_service_status_name(otk_service_status_t status);

typedef struct {
    otk_service_status_t status;
    otk_service_reason_t reason;   /* finished_check's result (SUCCESS for success) */
    char message[OTK_DIAG_MAX];    /* what happened, one line */
    char partition[OTK_PARTITION_LABEL_LEN + 1]; /* the partition updated ("" unknown) */
    char current_version[OTK_VERSION_TEXT_MAX + 1];  /* as read on the device ("" none) */
    char incoming_version[OTK_VERSION_TEXT_MAX + 1]; /* of the image ("" none) */
    uint64_t bytes;                /* bytes of the image written this run */
    bool resumed;                  /* the download went on from a checkpoint */
    uint64_t resumed_from;         /* the checkpoint's offset */
} otk_service_node_result_t;

typedef struct {
    size_t count;
    otk_service_node_result_t nodes[OTK_MANIFEST_MAX_NODES];
    unsigned succeeded, skipped, failed, not_run;
    unsigned recovered;   /* interrupted data updates completed at the start of the run */
    bool reboot;          /* a node that succeeded has reboot_flag: the caller reboots */
    bool interrupted;     /* the flash lost power during the run */
} otk_service_report_t;

/* ---- events ----------------------------------------------------------------------------- */

typedef enum {
    OTK_SERVICE_EV_RECOVER = 0, /* an interrupted data update found at the start of the run:
                                   partition, status (success: completed from staging),
                                   message */
    OTK_SERVICE_EV_START,       /* count nodes follow */
    OTK_SERVICE_EV_NODE_BEGIN,  /* index, node */
    OTK_SERVICE_EV_VERSION,     /* index: current_version and incoming_version known */
    OTK_SERVICE_EV_PROGRESS,    /* index: done of total bytes (total -1: unknown); at
                                   most once per OTK_SERVICE_PROGRESS_STEP and at the end */
    OTK_SERVICE_EV_RESULT,      /* index: result (ADF's OTA_SERV_EVENT_TYPE_RESULT) */
    OTK_SERVICE_EV_FINISH,      /* report complete (ADF's FINISH; also when a reboot is
                                   wanted) */
} otk_service_event_type_t;

/* "recover", "start", "node_begin", "version", "progress", "result", "finish". */
const char *otk_service_event_name(otk_service_event_type_t type);

/* Progress events are emitted when writing crosses a multiple of this. */
#define OTK_SERVICE_PROGRESS_STEP (64u * 1024u)

typedef struct {
    otk_service_event_type_t type;
    size_t index;                            /* the node (NODE_BEGIN .. RESULT) */
    size_t count;                            /* nodes in the list */
    const otk_service_node_t *node;          /* NULL for RECOVER, START, FINISH */
    const otk_service_node_result_t *result; /* VERSION, PROGRESS, RESULT; RECOVER too */
    uint64_t done;                           /* PROGRESS */
    int64_t total;                           /* PROGRESS; -1 unknown */
    const otk_service_report_t *report;      /* FINISH */
} otk_service_event_t;

typedef void (*otk_service_event_cb_t)(void *ctx, const otk_service_event_t *event);

/* ---- steps ------------------------------------------------------------------------------ */

/* One node being processed. The runner owns it and everything the default steps open
 * through it (a source, an OTA handle): they are released after finished_check, whatever
 * a custom step did. */
typedef struct otk_service_job otk_service_job_t;

typedef otk_service_reason_t (*otk_service_step_t)(otk_service_job_t *job);
typedef otk_service_reason_t (*otk_service_check_t)(otk_service_job_t *job,
                                                    otk_service_reason_t result);

/* ADF's callbacks. prepare, need_upgrade and execute_upgrade run while the previous one
 * returned SUCCESS; finished_check always runs with the earlier result and its return is
 * the node's final reason. A NULL member is the default step of the node's type, so a
 * table may override only what it needs (ADF requires all four). The status follows from
 * the reasons: SUCCESS only when execute_upgrade ran and finished_check returned SUCCESS;
 * SKIPPED when need_upgrade declined (NO_HIGHER_VERSION) and finished_check did not turn
 * it into another failure; FAILED otherwise. */
typedef struct otk_service_steps {
    otk_service_step_t prepare;
    otk_service_step_t need_upgrade;
    otk_service_step_t execute_upgrade;
    otk_service_check_t finished_check;
} otk_service_steps_t;

/* The defaults (ADF's ota_app_get_default_proc / ota_data_get_default_proc; the data
 * table has a need_upgrade of its own, see docs/service.md). */
const otk_service_steps_t *otk_service_app_steps(void);
const otk_service_steps_t *otk_service_data_steps(void);

/* What a step can use. */
const otk_service_node_t *otk_service_job_node(const otk_service_job_t *job);
size_t otk_service_job_index(const otk_service_job_t *job);
otk_device_t *otk_service_job_device(otk_service_job_t *job);
/* A pointer slot for a custom step's own context (NULL at first). */
void **otk_service_job_user(otk_service_job_t *job);
/* The node's result so far: a step may fill message, versions, partition. */
otk_service_node_result_t *otk_service_job_result(otk_service_job_t *job);
/* Set the node's message (printf-style). */
void otk_service_job_message(otk_service_job_t *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Tell the caller the versions (a VERSION event). */
void otk_service_job_versions(otk_service_job_t *job, const char *current,
                              const char *incoming);
/* Report progress (throttled into PROGRESS events). */
void otk_service_job_progress(otk_service_job_t *job, uint64_t done, int64_t total);

/* ---- the otakit data image header ------------------------------------------------------- */

/* A data image may begin with this 32-byte header (docs/service.md), which carries its
 * version as ADF's tone partition header does; the whole image, header included, is what
 * lands in the partition, so the partition then says its own version.
 *
 *   0  4  magic "OTKD"
 *   4  1  header format, 1
 *   5  3  0xFF
 *   8  4  version, ADF packing (major << 16 | minor << 8 | patch), little-endian
 *  12  4  payload length: bytes after the header, little-endian
 *  16 12  0xFF
 *  28  4  CRC-32 (zlib, = esp_rom_crc32_le(0, ...)) of bytes 0..27, little-endian */
#define OTK_DATA_HEADER_LEN 32u
#define OTK_DATA_HEADER_MAGIC "OTKD"
#define OTK_DATA_HEADER_FORMAT 1u

typedef struct {
    int32_t version;     /* packed */
    uint32_t payload_len;
} otk_data_header_t;

/* ESP_OK: a valid header. ESP_ERR_NOT_FOUND: no "OTKD" magic (a raw image).
 * ESP_ERR_INVALID_CRC / ESP_ERR_INVALID_VERSION (format, version out of range): a header
 * that is broken, with diag. len < OTK_DATA_HEADER_LEN: NOT_FOUND. */
esp_err_t otk_data_header_decode(const uint8_t *bytes, size_t len, otk_data_header_t *hdr,
                                 otk_diag_t *diag);
void otk_data_header_encode(const otk_data_header_t *hdr, uint8_t out[OTK_DATA_HEADER_LEN]);

/* ---- the state kept between runs -------------------------------------------------------- */

#define OTK_SERVICE_STATE_SUFFIX ".service"
/* Data partitions the service remembers. */
#define OTK_SERVICE_MAX_RECORDS 16u
/* The state file is a few KiB; anything larger is not one. */
#define OTK_SERVICE_STATE_FILE_MAX (64u * 1024u)

typedef enum {
    OTK_SERVICE_PART_VALID = 0, /* holds the image recorded (version, sha256, size) */
    OTK_SERVICE_PART_TORN,      /* an update of it was interrupted: its contents are no
                                   image; a commit record or the list repairs it */
} otk_service_part_state_t;

/* What the device knows of one data partition it wrote. */
typedef struct {
    char label[OTK_PARTITION_LABEL_LEN + 1];
    otk_service_part_state_t state;
    char version[OTK_VERSION_TEXT_MAX + 1]; /* "" when the image had none */
    uint8_t sha256[OTK_SHA256_LEN];         /* of [0, size) of the partition */
    uint32_t size;
} otk_service_record_t;

/* A verified image in a staging partition, to be copied to its target (redone until
 * done). */
typedef struct {
    bool active;
    char target[OTK_PARTITION_LABEL_LEN + 1];
    char staging[OTK_PARTITION_LABEL_LEN + 1];
    uint32_t size;
    uint8_t sha256[OTK_SHA256_LEN];
    char version[OTK_VERSION_TEXT_MAX + 1];
} otk_service_commit_t;

/* A download that can go on: bytes [0, offset) of the image are in `partition`. */
typedef struct {
    bool active;
    char uri[OTK_URI_MAX + 1];          /* the node's URI */
    bool has_sha256;                    /* the node's expected hash (part of its identity) */
    uint8_t sha256[OTK_SHA256_LEN];
    char partition[OTK_PARTITION_LABEL_LEN + 1];
    uint32_t offset;
    otk_source_identity_t identity;     /* of the resource the bytes came from */
} otk_service_resume_t;

/* The manifest last applied (for polling). */
typedef struct {
    bool active;
    char uri[OTK_URI_MAX + 1];
    char etag[OTK_SOURCE_ETAG_MAX + 1];
    uint8_t sha256[OTK_SHA256_LEN];
} otk_service_seen_t;

/* The newest signed manifest this device accepted (docs/manifest.md): one with a lower
 * manifest_version, or the same one with other bytes, is refused. Raised, never lowered,
 * each time a device with a manifest key accepts a manifest. */
typedef struct {
    bool active;
    uint64_t version;
    uint8_t sha256[OTK_SHA256_LEN]; /* of that manifest's bytes */
} otk_service_floor_t;

typedef struct {
    size_t record_count;
    otk_service_record_t records[OTK_SERVICE_MAX_RECORDS];
    otk_service_commit_t commit;
    otk_service_resume_t resume;
    otk_service_seen_t manifest;
    otk_service_floor_t floor;
} otk_service_state_t;

void otk_service_state_init(otk_service_state_t *state);
/* The record of a partition, or NULL. */
otk_service_record_t *otk_service_state_record(otk_service_state_t *state, const char *label);
/* Parse / format the file's JSON. Parse errors: ESP_ERR_INVALID_ARG with diag naming the
 * field. format returns a malloc'd NUL-terminated text (NULL when out of memory). */
esp_err_t otk_service_state_parse(const char *text, size_t len, otk_service_state_t *state,
                                  otk_diag_t *diag);
char *otk_service_state_format(const otk_service_state_t *state);
/* "dev.bin" -> "dev.bin.service"; false when it does not fit. */
bool otk_service_state_path(const char *flash_path, char *out, size_t cap);
/* Load (a missing file is a fresh state) / save (written beside, synced, renamed over:
 * a crash leaves the old file or the new one). ESP_FAIL / ESP_ERR_INVALID_ARG with diag. */
esp_err_t otk_service_state_load(const char *path, otk_service_state_t *state,
                                 otk_diag_t *diag);
esp_err_t otk_service_state_save(const char *path, const otk_service_state_t *state,
                                 otk_diag_t *diag);

/* ---- a trusted manifest ------------------------------------------------------------------ */

/* otk_manifest_get with the device's trust: key (OTK_MANIFEST_KEY_LEN bytes; NULL: none),
 * its clock, and the floor kept in the state file at state_path (NULL: none kept). A
 * manifest accepted under a key raises the floor to its manifest_version (saved before
 * this returns, so a crash cannot forget it); nothing is written for a refused one.
 * Errors: otk_manifest_get's, or the state file's. */
esp_err_t otk_service_manifest_get(const char *uri, const otk_source_opts_t *opts,
                                   const char *if_none_match, const uint8_t *key, int64_t now,
                                   const char *state_path, otk_manifest_t **out,
                                   otk_manifest_fetch_t *info, otk_diag_t *diag);

/* ---- running a list --------------------------------------------------------------------- */

/* A checkpoint of a download is saved every this many bytes (ADF 3.x's default, 64 KiB):
 * a power cut costs at most this much download again. */
#define OTK_SERVICE_CHECKPOINT_BYTES (64u * 1024u)

typedef struct {
    otk_device_t *dev;          /* powered on: the running app is what updates */
    /* FLASH.service. NULL: nothing persists (no resume, no data records across runs). */
    const char *state_path;
    /* For every node's source (CA file, allow_http, timeouts); a node's cert_pem replaces
     * ca_pem for that node. */
    otk_source_opts_t source;
    /* Staging partition for data nodes that name none; NULL or "": none (in place). */
    const char *default_staging;
    uint32_t checkpoint_bytes;  /* 0: OTK_SERVICE_CHECKPOINT_BYTES; a multiple of 4 KiB */
    otk_service_event_cb_t on_event;
    void *event_ctx;
} otk_service_config_t;

/* Defaults: no state file, otk_source_opts_init, no staging, no events. */
void otk_service_config_init(otk_service_config_t *cfg, otk_device_t *dev);

/* Finish an interrupted data update (a commit record: copy the staging partition to the
 * target again) and report partitions left torn. Run by otk_service_run first; callable
 * alone at boot so a data partition is repaired even when no list can be fetched.
 * Returns ESP_OK, ESP_ERR_FLASH_OP_FAIL (power lost again), or the state file's error;
 * report (may be NULL) gets recovered counted. */
esp_err_t otk_service_recover(const otk_service_config_t *cfg, otk_service_report_t *report,
                              otk_diag_t *diag);

/* Recover, then process nodes[0..count) in order (ADF's ota_service task). The report
 * (required) gets each node's result. Returns ESP_OK when the list ran (nodes may have
 * failed: see the report), ESP_ERR_FLASH_OP_FAIL when power was lost (report->interrupted;
 * nothing further was written, the state file holds the last checkpoint),
 * ESP_ERR_INVALID_ARG (no device, count over OTK_MANIFEST_MAX_NODES), or the state file's
 * error (diag). */
esp_err_t otk_service_run(const otk_service_config_t *cfg, const otk_service_node_t *nodes,
                          size_t count, otk_service_report_t *report, otk_diag_t *diag);

/* The current version of a data partition as the service sees it: its otakit data
 * header, else the state's record if the partition still hashes to it; "" when unknown
 * or the partition is torn. *torn (may be NULL) tells the latter. */
esp_err_t otk_service_data_version(const otk_service_state_t *state, const esp_partition_t *part,
                                   char version[OTK_VERSION_TEXT_MAX + 1], bool *torn);

#ifdef __cplusplus
}
#endif
#endif
