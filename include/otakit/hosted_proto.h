/* The control path's shared definitions: the protocol version, its limits, and the
 * result codes both ends use (docs/protocol.md). otakit/hosted.h includes everything. */
#ifndef OTAKIT_HOSTED_PROTO_H
#define OTAKIT_HOSTED_PROTO_H

#include <stdint.h>

#include "otakit/hosted_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hello.protocol / HelloReply.protocol. */
#define OTK_HOSTED_PROTOCOL 1u
/* The largest write a device accepts (HelloReply.max_chunk). */
#define OTK_HOSTED_MAX_CHUNK OTK_FRAME_MAX_CHUNK
/* The smallest chunk a Begin may announce, and the least the first write must carry: the
 * image header (24), the first segment header (8) and the app descriptor (256), so the
 * device can check the image before it erases anything. */
#define OTK_HOSTED_MIN_CHUNK 288u
/* The chunk a host uses unless told otherwise: one flash sector (so each write costs at
 * most one sector erase), and about what ESP-Hosted's hosts send (4000 bytes). */
#define OTK_HOSTED_DEFAULT_CHUNK 4096u
/* The chunk a host uses on a socket (unix, tcp) unless told otherwise: the largest. There
 * a lost frame costs microseconds to resend, and each write carries per-request work on
 * both ends (a request, a reply, an engine call) that 4 KiB chunks pay four times as
 * often: 16 KiB pushes a 4 MiB image about twice as fast over a Unix socket. A window
 * of them (128 KiB) also keeps the device busy while the host refills. */
#define OTK_HOSTED_SOCKET_CHUNK OTK_HOSTED_MAX_CHUNK
/* Writes a host may have in flight (HelloReply.window). Eight 4 KiB writes (a serial
 * line's chunk) are 32 KiB: more than a 921600-baud UART moves in the ~0.3 s a write waits
 * in the pipeline. Eight 16 KiB writes (a socket's) are 128 KiB: a local socket's latency
 * is covered many times over, and the device's socket buffers (about 200 KiB) hold them
 * without it reading ahead. */
#define OTK_HOSTED_WINDOW 8u
/* Bytes of the nonce in HelloReply (for Auth's HMAC). */
#define OTK_HOSTED_NONCE_LEN 16u
/* SHA-256 sizes (Begin.sha256, the HMAC). */
#define OTK_HOSTED_SHA256_LEN 32u

/* A call's outcome. 0..12 are the protocol's Result values (the device said so); 100 and
 * up happen on the host (the device said nothing usable). */
typedef enum {
    OTK_HOSTED_OK = 0,
    OTK_HOSTED_BAD_REQUEST = 1,
    OTK_HOSTED_BAD_STATE = 2,
    OTK_HOSTED_BUSY = 3,
    OTK_HOSTED_UNAUTHENTICATED = 4,
    OTK_HOSTED_GAP = 5,
    OTK_HOSTED_CRC_MISMATCH = 6,
    OTK_HOSTED_CONFLICT = 7,
    OTK_HOSTED_OVERRUN = 8,
    OTK_HOSTED_IMAGE_REJECTED = 9,
    OTK_HOSTED_FLASH_ERROR = 10,
    OTK_HOSTED_UNSUPPORTED = 11,
    OTK_HOSTED_FAILED = 12,
    OTK_HOSTED_ERR_LINK = 100,    /* cannot connect, or the link went down */
    OTK_HOSTED_ERR_TIMEOUT = 101, /* no answer in time (after the retries) */
    OTK_HOSTED_ERR_PROTOCOL = 102,/* an answer that is not a valid Response */
    OTK_HOSTED_ERR_LOCAL = 103,   /* a problem on the host (arguments, a file, memory) */
} otk_hosted_err_t;

/* "OK", "BAD_STATE", ..., "LINK", "TIMEOUT". */
const char *otk_hosted_err_name(otk_hosted_err_t err);

/* The session states (SessionInfo.state). */
typedef enum {
    OTK_SESSION_NONE = 0,
    OTK_SESSION_RECEIVING = 1,
    OTK_SESSION_SUSPENDED = 2,
    OTK_SESSION_VERIFIED = 3,
    OTK_SESSION_FAILED = 4,
    OTK_SESSION_ACTIVATED = 5,
} otk_hosted_session_state_t;

/* Counters of the device's end of its links (StatusReply.link; docs/protocol.md). */
typedef struct {
    uint64_t frames_ok;       /* delivered to the handler */
    uint64_t frames_dropped;  /* frame starts whose header or payload failed a check */
    uint64_t bytes_discarded; /* bytes not part of a good frame */
    uint64_t bad_messages;    /* good frames that held no Request */
    uint64_t busy_refusals;
    uint64_t auth_failures;
} otk_hosted_link_stats_t;

/* "none", "receiving", "suspended", "verified", "failed", "activated". */
const char *otk_hosted_session_state_name(otk_hosted_session_state_t state);

#ifdef __cplusplus
}
#endif

#endif
