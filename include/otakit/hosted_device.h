/* The device side of the control path (docs/protocol.md): the request handler (one update
 * session over the esp_ota_* engine, persisted beside the flash so it survives a dropped
 * link and a reboot) and the server that runs it on a transport, one event loop, one host
 * at a time.
 *
 * The handler is transport-free: a request payload in, a response payload out, with the
 * time passed in. otakit-device --listen runs it through otk_hosted_serve; tests call it
 * directly. A handler (and the device under it) is used by one thread at a time; devices
 * served by different threads do not share anything. */
#ifndef OTAKIT_HOSTED_DEVICE_H
#define OTAKIT_HOSTED_DEVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "otakit/crypto.h"
#include "otakit/device_run.h"
#include "otakit/diag.h"
#include "otakit/hosted_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The session file: the flash image's path plus this suffix (dev.bin -> dev.bin.session). */
#define OTK_HOSTED_SESSION_SUFFIX ".session"
/* The session file is rewritten once this many new bytes have arrived and this much time
 * has passed since the last save (and always at a dropped link, at End, before a reboot):
 * a power cut loses at most the larger of 64 KiB and half a second of the transfer. On a
 * UART 64 KiB takes longer than that; on a fast link the time keeps saves rare (saving
 * every 64 KiB was a third of the device's CPU time in a 4 MiB push over a Unix socket).
 * ESP-ADF 3.x saves its resume point every 64 KiB. */
#define OTK_HOSTED_SAVE_EVERY 0x10000u
#define OTK_HOSTED_SAVE_MIN_MS 500u
/* After a reboot a session resumes from the start of the sector that holds its last
 * saved byte: that sector is erased and written again, so whatever a power cut left in it
 * (a torn page, a half-done erase) does not matter. */
#define OTK_HOSTED_RESUME_ALIGN 0x1000u
/* How long after Activate, Rollback or Reboot the device reboots: long enough for the
 * reply to reach the host, short as ESP-Hosted's own (2 s for activate, 5 s for end). */
#define OTK_HOSTED_REBOOT_DELAY_MS 500u
/* The longest delay a request may ask for. */
#define OTK_HOSTED_REBOOT_DELAY_MAX_MS 10000u

/* One update in progress. */
typedef struct {
    otk_hosted_session_state_t state;
    uint8_t sha256[OTK_HOSTED_SHA256_LEN]; /* Begin's: the session's identity */
    bool sha_known;             /* false: Begin gave none; End must (or a Begin naming one
                                   resumes this session, which then has it) */
    uint32_t image_size;
    uint32_t chunk_size;
    char slot[17];              /* the partition label (an esp_partition_t label) */
    esp_ota_handle_t handle;    /* 0: no esp_ota handle open (before the first chunk, or
                                   after a reboot until Begin resumes) */
    uint32_t written;           /* bytes in the slot, contiguous from offset 0 */
    uint32_t saved;             /* `written` as the session file has it */
    uint64_t saved_ms;          /* when it was saved (or the session began) */
    uint32_t duplicates;        /* writes acknowledged again */
    uint32_t gaps;              /* writes answered RESULT_GAP */
    esp_err_t last_err;         /* FAILED: why */
    char last_message[OTK_DIAG_MAX];
    esp_app_desc_t app;         /* VERIFIED: the image's descriptor */
} otk_hosted_session_t;

/* One host's link, as the handler sees it. */
typedef struct {
    bool auth_required;         /* TCP: nothing but Hello and Auth until authenticated */
    bool authenticated;
    bool nonce_valid;           /* a Hello gave out this nonce; one Auth may use it */
    uint8_t nonce[OTK_HOSTED_NONCE_LEN];
    bool begun;                 /* a Begin succeeded on this link: Writes may follow */
    bool greeted;               /* a Hello was logged (one line per link is enough) */
} otk_hosted_peer_t;

/* A power-on done for the handler (Activate, Rollback, Reboot): returns the boot's error. */
typedef esp_err_t (*otk_hosted_power_on_fn)(void *ctx, otk_device_run_t *run);

typedef struct {
    const char *token;          /* the TCP shared secret (NULL: none) */
    uint32_t reboot_delay_ms;   /* the default delay (OTK_HOSTED_REBOOT_DELAY_MS) */
    otk_hosted_power_on_fn power_on; /* NULL: otk_device_run_power_on with the device
                                        file's self-test option */
    void *power_on_ctx;
    FILE *log;                  /* the control path's log lines; NULL: the run's log */
} otk_hosted_handler_opts_t;

typedef struct {
    otk_device_run_t *run;
    otk_hosted_handler_opts_t opts;
    otk_hosted_session_t session;
    char session_path[OTK_DEVICE_STORE_PATH_MAX + 16];
    uint64_t boot_id;           /* random, new at every power-on */
    bool reboot_pending;
    uint64_t reboot_at_ms;
    bool rollback_pending;      /* the pending reboot is a Rollback's */
    bool dead;                  /* a reboot found nothing bootable */
    otk_hosted_link_stats_t link;
    uint64_t now_ms;            /* the time of the call being handled */
} otk_hosted_handler_t;

void otk_hosted_handler_opts_init(otk_hosted_handler_opts_t *opts);

/* Attach to a device that is powered on (run->dev.running set). Loads the session file
 * (a session found there is SUSPENDED until a Begin with the same image resumes it; one
 * that no longer fits the device is removed, with a log line). */
esp_err_t otk_hosted_handler_init(otk_hosted_handler_t *h, otk_device_run_t *run,
                                  const otk_hosted_handler_opts_t *opts, otk_diag_t *diag);

void otk_hosted_peer_init(otk_hosted_peer_t *peer, bool auth_required);

/* Handle one request payload at time now_ms. The response payload goes to out (cap:
 * OTK_FRAME_MAX_PAYLOAD suffices); returns its length. *close_after: the link must be
 * closed once the reply is sent (a failed Auth). */
size_t otk_hosted_handle(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const uint8_t *req,
                         size_t len, uint64_t now_ms, uint8_t *out, size_t cap,
                         bool *close_after);

/* The reply to a host that must wait: RESULT_BUSY for this request. */
size_t otk_hosted_refuse_busy(otk_hosted_handler_t *h, const uint8_t *req, size_t len,
                              uint8_t *out, size_t cap);

/* A peer's link closed: the session is saved (it stays resumable). */
void otk_hosted_handler_link_down(otk_hosted_handler_t *h, otk_hosted_peer_t *peer);

/* Time passes: a reboot that is due happens (the session is saved first, and reloaded
 * after the power-on). Returns true when the device rebooted: every link drops, as on a
 * real board. h->dead tells when nothing boots any more. */
bool otk_hosted_handler_tick(otk_hosted_handler_t *h, uint64_t now_ms);
/* Milliseconds until otk_hosted_handler_tick has something to do; -1: nothing planned. */
int otk_hosted_handler_timeout(const otk_hosted_handler_t *h, uint64_t now_ms);

/* The device powers off: the session is saved. */
void otk_hosted_handler_shutdown(otk_hosted_handler_t *h);

/* ---- the server ---------------------------------------------------------------------- */

/* A connection silent this long is closed, so a host that vanished without closing its
 * socket does not keep the device busy forever. */
#define OTK_HOSTED_IDLE_TIMEOUT_MS 30000u
/* A frame started but not finished within this time (plus its bytes' time at the link's
 * rate) is given up, so the decoder hunts again: its tail was lost. */
#define OTK_HOSTED_FRAME_STALE_MS 1000u

typedef struct {
    const char *uri;            /* unix:PATH, tcp://HOST:PORT, serial:TTY, pty (?baud=N) */
    otk_hosted_handler_opts_t handler;
    uint32_t idle_timeout_ms;   /* OTK_HOSTED_IDLE_TIMEOUT_MS */
    /* Called once the transport is ready, with where hosts reach it. */
    void (*on_listening)(void *ctx, const char *where);
    void *ctx;
    volatile sig_atomic_t *stop; /* set to non-zero (e.g. by a signal handler) to return */
} otk_hosted_serve_opts_t;

void otk_hosted_serve_opts_init(otk_hosted_serve_opts_t *opts);

/* Serve the control path on a powered-on device until *stop. Returns ESP_OK when told to
 * stop; ESP_ERR_NOT_FOUND when a reboot found nothing bootable; the transport's error
 * (with diag) when it cannot listen; ESP_ERR_INVALID_ARG for a TCP URI without a token. */
esp_err_t otk_hosted_serve(otk_device_run_t *run, const otk_hosted_serve_opts_t *opts,
                           otk_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif
