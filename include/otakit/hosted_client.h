/* The host side of the control path (docs/protocol.md): a client that opens a link by URI
 * and makes one call per request, each returning an otk_hosted_err_t and a message (diag)
 * that says what the device or the link did; and push, which sends a whole image with a
 * window of pipelined writes, resumes after a dropped link or a device reboot, activates
 * it, waits for the reboot and checks that the device runs it.
 *
 * A client connects on its first call (open the link, Hello, Auth on TCP) and again after
 * otk_hosted_disconnect. Requests that get no answer are sent again (every request is
 * safe to repeat: the device answers a repeated one the same way). Not thread-safe. */
#ifndef OTAKIT_HOSTED_CLIENT_H
#define OTAKIT_HOSTED_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/diag.h"
#include "otakit/hosted_link.h"
#include "otakit/hosted_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How long a call waits for its answer before sending the request again: far above a
 * local round trip, and above the ~0.2 s a full window takes on a 921600-baud UART. */
#define OTK_HOSTED_CLIENT_TIMEOUT_MS 2000u
/* Times a call sends its request again after a timeout before giving up. */
#define OTK_HOSTED_CLIENT_RETRIES 3u
/* Slots a Status reply is read into (more are left out). */
#define OTK_HOSTED_STATUS_SLOTS_MAX 16u

typedef struct otk_hosted_client otk_hosted_client_t;

typedef struct {
    const char *token;       /* TCP's shared secret; NULL: $OTAKIT_TOKEN, else none */
    uint32_t timeout_ms;     /* 0: OTK_HOSTED_CLIENT_TIMEOUT_MS */
    uint32_t retries;        /* OTK_HOSTED_CLIENT_RETRIES */
    const char *name;        /* Hello.client (NULL: "otakit") */
    const otk_link_fault_spec_t *fault; /* tests: break every link on purpose (NULL: no) */
} otk_hosted_client_opts_t;

void otk_hosted_client_opts_init(otk_hosted_client_opts_t *opts);

/* What the device's HelloReply said. */
typedef struct {
    uint32_t protocol;
    uint32_t max_chunk;
    uint32_t window;
    uint32_t max_frame;
    uint64_t boot_id;
    uint32_t power_ons;
    char device[64];
} otk_hosted_hello_t;

/* An app descriptor as the device reported it. */
typedef struct {
    bool present;
    char project_name[33];
    char version[33];
    char idf_ver[33];
    char date[17];
    char time[17];
    uint32_t secure_version;
    uint8_t elf_sha256[32];
} otk_hosted_app_t;

typedef struct {
    char slot[17];
    uint32_t slot_address;
    uint32_t slot_size;
    uint32_t next_offset;
    bool resumed;
    bool replaced;
} otk_hosted_begin_t;

/* SlotInfo.state. */
typedef enum {
    OTK_HOSTED_SLOT_NONE = 0,
    OTK_HOSTED_SLOT_NEW,
    OTK_HOSTED_SLOT_PENDING_VERIFY,
    OTK_HOSTED_SLOT_VALID,
    OTK_HOSTED_SLOT_INVALID,
    OTK_HOSTED_SLOT_ABORTED,
    OTK_HOSTED_SLOT_UNDEFINED,
} otk_hosted_slot_state_t;

/* "-", "NEW", "PENDING_VERIFY", "VALID", "INVALID", "ABORTED", "UNDEFINED". */
const char *otk_hosted_slot_state_name(otk_hosted_slot_state_t state);

typedef struct {
    char label[17];
    uint32_t address;
    uint32_t size;
    uint32_t subtype;
    otk_hosted_slot_state_t state;
    bool running;
    bool boots_next;
    otk_hosted_app_t app;
} otk_hosted_slot_t;

typedef struct {
    otk_hosted_session_state_t state;
    bool sha_known;     /* false: Begin left the hash to End (sha256 all zero) */
    uint8_t sha256[32];
    uint32_t image_size;
    uint32_t received;
    uint32_t next_offset;
    char slot[17];
    uint32_t chunk_size;
    uint32_t duplicates;
    uint32_t gaps;
    int32_t last_esp_err;
    char last_message[256];
} otk_hosted_session_info_t;

typedef struct {
    otk_hosted_app_t running;
    char running_slot[17];
    size_t slot_count;
    otk_hosted_slot_t slots[OTK_HOSTED_STATUS_SLOTS_MAX];
    otk_hosted_session_info_t session;
    otk_hosted_link_stats_t link;
    uint64_t boot_id;
    uint32_t power_ons;
    char chip[24];
} otk_hosted_status_t;

/* A client for the device at uri (no I/O yet). OTK_HOSTED_ERR_LOCAL for a bad URI or
 * fault spec, with diag. */
otk_hosted_err_t otk_hosted_client_new(const char *uri, const otk_hosted_client_opts_t *opts,
                                       otk_hosted_client_t **out, otk_diag_t *diag);
void otk_hosted_client_free(otk_hosted_client_t *c);

/* Open the link, Hello, and Auth when the device asks for the token. Closes a link that
 * is open first. */
otk_hosted_err_t otk_hosted_connect(otk_hosted_client_t *c, otk_diag_t *diag);
void otk_hosted_disconnect(otk_hosted_client_t *c);
bool otk_hosted_connected(const otk_hosted_client_t *c);
/* The last HelloReply (valid after a connect). */
const otk_hosted_hello_t *otk_hosted_hello_info(const otk_hosted_client_t *c);
/* The esp_err the device gave with its last answer (0 when none). */
int32_t otk_hosted_last_esp_err(const otk_hosted_client_t *c);
/* What the fault injector did (NULL without one). */
const otk_link_fault_stats_t *otk_hosted_fault_stats(const otk_hosted_client_t *c);

/* One call each. They connect first when needed. On failure diag holds the device's
 * message (or what happened on the link). sha256 NULL in Begin: End gives it (then it
 * must not be NULL there); both given: they must agree. */
otk_hosted_err_t otk_hosted_begin(otk_hosted_client_t *c, uint32_t image_size,
                                  const uint8_t sha256[32], uint32_t chunk_size,
                                  otk_hosted_begin_t *out, otk_diag_t *diag);
/* One write, answered before it returns. *next_offset (may be NULL) gets the device's next
 * expected offset (also with OTK_HOSTED_GAP). */
otk_hosted_err_t otk_hosted_write(otk_hosted_client_t *c, uint32_t offset, const void *data,
                                  size_t len, uint32_t *next_offset, otk_diag_t *diag);
otk_hosted_err_t otk_hosted_end(otk_hosted_client_t *c, const uint8_t sha256[32],
                                otk_hosted_app_t *app, otk_diag_t *diag);
/* delay_ms 0: the device's default. */
otk_hosted_err_t otk_hosted_activate(otk_hosted_client_t *c, uint32_t delay_ms, otk_diag_t *diag);
otk_hosted_err_t otk_hosted_abort(otk_hosted_client_t *c, otk_diag_t *diag);
otk_hosted_err_t otk_hosted_status(otk_hosted_client_t *c, otk_hosted_status_t *out,
                                   otk_diag_t *diag);
otk_hosted_err_t otk_hosted_confirm(otk_hosted_client_t *c, otk_diag_t *diag);
otk_hosted_err_t otk_hosted_rollback(otk_hosted_client_t *c, uint32_t delay_ms, otk_diag_t *diag);
otk_hosted_err_t otk_hosted_reboot(otk_hosted_client_t *c, uint32_t delay_ms, otk_diag_t *diag);

/* Wait until the device has rebooted (its boot id differs from before_boot_id) and
 * answers Hello again, at most timeout_ms. */
otk_hosted_err_t otk_hosted_wait_reboot(otk_hosted_client_t *c, uint64_t before_boot_id,
                                        uint32_t timeout_ms, otk_diag_t *diag);

/* ---- push ---------------------------------------------------------------------------- */

/* Reconnects in a row that bring no progress before a push gives up. */
#define OTK_HOSTED_PUSH_RETRIES 10u
/* How long a push waits for the device to come back after Activate. */
#define OTK_HOSTED_REBOOT_WAIT_MS 15000u

typedef struct {
    const char *event;  /* "connect", "begin", "write", "retry", "reconnect", "restart"
                           (refused after a resume: from byte 0 again), "end",
                           "activate", "reboot", "done" */
    uint32_t acked;     /* bytes the device has, contiguous from 0 */
    uint32_t size;
    const char *detail; /* a line about the event (may be NULL) */
} otk_hosted_progress_t;

typedef struct {
    uint32_t chunk;     /* 0: OTK_HOSTED_SOCKET_CHUNK on unix and tcp links,
                           OTK_HOSTED_DEFAULT_CHUNK on serial ones, halved (down to 1 KiB)
                           after each link that dropped before a chunk got through; capped
                           at the device's max_chunk */
    uint32_t window;    /* 0: the device's window (HelloReply.window) */
    uint32_t retries;   /* OTK_HOSTED_PUSH_RETRIES */
    bool activate;      /* then Activate, wait for the reboot, check what runs */
    uint32_t reboot_wait_ms; /* OTK_HOSTED_REBOOT_WAIT_MS */
    void (*progress)(void *ctx, const otk_hosted_progress_t *p);
    void *ctx;
} otk_hosted_push_opts_t;

void otk_hosted_push_opts_init(otk_hosted_push_opts_t *opts);

typedef struct {
    char slot[17];
    uint32_t size;
    uint32_t chunk;
    uint32_t window;
    bool hashed;             /* sha256 holds the image's SHA-256 (hashed while it was sent;
                                false when the push stopped before) */
    uint8_t sha256[32];
    uint32_t resumed_from;   /* where the first Begin said to start (0: a fresh session) */
    uint32_t resumes;        /* Begins that continued a session (after the first) */
    uint32_t resumed_at;     /* where the last of them continued */
    uint32_t connects;       /* links opened */
    uint32_t timeouts;       /* windows resent after no answer */
    uint32_t rewinds;        /* windows resent after a GAP answer */
    uint32_t writes;         /* Write requests sent */
    uint64_t bytes_sent;     /* Write data bytes sent (with resends) */
    double transfer_s;       /* from the first Begin to End's answer */
    otk_hosted_app_t image;  /* what End verified */
    bool activated;
    bool rebooted;
    char running_slot[17];   /* after the reboot */
    otk_hosted_app_t running;
    otk_hosted_slot_state_t running_state;
    bool runs_image;         /* the device now runs the pushed image */
} otk_hosted_push_result_t;

/* Push image[0, size) through c. OTK_HOSTED_OK when the image is on the device verified
 * (and, with activate, running). Otherwise the error of the step that failed, with diag. */
otk_hosted_err_t otk_hosted_push(otk_hosted_client_t *c, const uint8_t *image, size_t size,
                                 const otk_hosted_push_opts_t *opts,
                                 otk_hosted_push_result_t *res, otk_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif
