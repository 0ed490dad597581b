/* Private to the control path (the files of src/hosted): what they share. */
#ifndef OTAKIT_HOSTED_INTERNAL_H
#define OTAKIT_HOSTED_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/hosted.h"
#include "otakit_ctrl.pb-c.h"

#define CTRL_TAG "ctrl" /* the device's log tag for the control path */

/* ---- transports (transport_*.c, link_fd.c) ----------------------------------------------- */

esp_err_t unix_connect(const otk_link_uri_t *uri, int *out, otk_diag_t *diag);
esp_err_t unix_listen(const otk_link_uri_t *uri, int *out, otk_diag_t *diag);
esp_err_t tcp_connect(const otk_link_uri_t *uri, int *out, otk_diag_t *diag);
esp_err_t tcp_listen(const otk_link_uri_t *uri, int *out, uint16_t *port, otk_diag_t *diag);
/* TCP_NODELAY: frames go out as they are written. */
void tcp_tune(int fd);
esp_err_t serial_make_raw(int fd, uint32_t baud, const char *path, otk_diag_t *diag);
esp_err_t serial_open(const char *path, uint32_t baud, int *out, otk_diag_t *diag);
esp_err_t pty_create(int *master, int *slave, char *path, size_t cap, otk_diag_t *diag);
/* A host link over fd (owned; closed on failure). */
otk_link_t *link_fd_new(otk_link_kind_t kind, int fd, uint32_t baud);

/* ---- auth.c ------------------------------------------------------------------------------ */

/* HMAC-SHA256 (RFC 2104) of msg under key. */
void hosted_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        uint8_t out[OTK_HOSTED_SHA256_LEN]);
/* Equal without a timing difference on where they differ. */
bool hosted_equal_ct(const uint8_t *a, const uint8_t *b, size_t len);
/* Random bytes from the OS (getrandom); false when it has none to give. */
bool hosted_random(void *out, size_t len);

/* ---- msg.c: protobuf helpers -------------------------------------------------------------- */

/* An esp_app_desc_t as AppInfo; strings point into `strings` (5 x 33 bytes). */
typedef struct {
    char project_name[33];
    char version[33];
    char idf_ver[33];
    char date[17];
    char time[17];
} hosted_app_strings_t;
void hosted_app_info(const esp_app_desc_t *desc, Otkctrl__AppInfo *info,
                     hosted_app_strings_t *strings);
/* Lowercase hex of the first n bytes (at most 32) into out (2n + 1). */
void hosted_hex(const uint8_t *bytes, size_t n, char *out);
/* A message protobuf-c decoded is one protobuf allows: no field number 0 anywhere in it
 * (protobuf-c takes one written as a non-minimal varint, writes it back as 0x00 and then
 * refuses its own bytes). Decoders treat a message that is not as garbage. */
bool hosted_msg_wellformed(const ProtobufCMessage *m);

/* ---- session_store.c: the session file ---------------------------------------------------- */

/* Write the session (state, image, progress) to path, atomically. false with diag. */
bool session_store_save(const char *path, const otk_hosted_session_t *s, otk_diag_t *diag);
/* Read it back: true with *s filled (state SUSPENDED, no handle, hash not computed),
 * false when there is none (diag empty) or it is unreadable (diag says why). */
bool session_store_load(const char *path, otk_hosted_session_t *s, otk_diag_t *diag);
/* The file's text (len bytes, no NUL needed) into *s, as load does. */
bool session_store_parse(const char *text, size_t len, otk_hosted_session_t *s,
                         otk_diag_t *diag);
void session_store_remove(const char *path);

/* ---- device_handler.c / device_session.c / device_status.c --------------------------------- */

/* The reply being built for one request. */
typedef struct {
    Otkctrl__Response resp;
    char message[OTK_DIAG_MAX + 64];
    bool close_after;
} hosted_reply_t;

/* Set the result, the esp_err behind it and the message (also logged: W for failures, I
 * for successes when log_ok). */
void reply_set(otk_hosted_handler_t *h, hosted_reply_t *r, Otkctrl__Result result,
               esp_err_t esp_err, bool log_ok, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* One control-path line in the device's log. */
void hosted_log(otk_hosted_handler_t *h, char level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The requests of the update session (device_session.c). */
void session_begin(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const Otkctrl__Begin *req,
                   hosted_reply_t *r, Otkctrl__BeginReply *out);
void session_write(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const Otkctrl__Write *req,
                   hosted_reply_t *r, Otkctrl__WriteReply *out);
void session_end(otk_hosted_handler_t *h, const Otkctrl__End *q, hosted_reply_t *r,
                 Otkctrl__EndReply *out, Otkctrl__AppInfo *app, hosted_app_strings_t *strings);
void session_activate(otk_hosted_handler_t *h, const Otkctrl__Activate *req, hosted_reply_t *r);
void session_abort(otk_hosted_handler_t *h, hosted_reply_t *r);
/* Save the session file if it is behind (force: whatever the distance). */
void session_save(otk_hosted_handler_t *h, bool force);
/* Forget the session: abort its handle, remove the file. */
void session_drop(otk_hosted_handler_t *h);
/* After a power-on: load the session file and keep it if it still fits the device. */
void session_reload(otk_hosted_handler_t *h);
/* Plan a reboot in delay_ms (0: the default; capped); returns the delay. */
uint32_t handler_schedule_reboot(otk_hosted_handler_t *h, uint32_t delay_ms, bool rollback);

/* The first chunk of an image (at least OTK_HOSTED_MIN_CHUNK bytes, or the whole image):
 * is it an app this device can boot? Result and esp_err of the refusal, diag why. */
Otkctrl__Result check_first_chunk(otk_hosted_handler_t *h, const uint8_t *data, size_t len,
                                  esp_err_t *esp_err, otk_diag_t *diag);

/* The Status reply; its storage lives in the handler's scratch (one at a time). */
void status_fill(otk_hosted_handler_t *h, Otkctrl__StatusReply *out);

/* ---- client.c: the host side's machinery (push.c uses it too) -------------------------- */

/* RFC 6298's round-trip estimator: how long to wait for an answer before sending again. */
typedef struct {
    double srtt_ms;
    double rttvar_ms;
    bool have;
} client_rtt_t;

/* The most bytes of frames the client sends in one write: a window of 4 KiB writes (eight
 * of them) is one system call and one wake-up of the device instead of eight. */
#define CLIENT_BATCH_SIZE (64u * 1024u)

struct otk_hosted_client {
    otk_link_uri_t uri;
    char uri_text[OTK_LINK_URI_MAX];
    char token[256];
    bool has_token;
    char name[64];
    uint32_t timeout_ms;
    uint32_t retries;
    bool use_fault;
    otk_link_fault_t fault;
    otk_link_t *link;
    bool connected;
    bool line_dirty; /* serial: the device may hold half a frame: resync before Hello */
    uint32_t next_id;
    uint32_t connects;
    int32_t last_esp_err;
    client_rtt_t rtt;
    otk_hosted_hello_t hello;
    otk_frame_decoder_t dec;
    uint8_t rx[OTK_FRAME_BUFFER_SIZE];
    uint8_t tx[OTK_FRAME_BUFFER_SIZE];
    /* Frames queued by client_queue, sent by client_flush in one write. */
    size_t batch_len;
    uint8_t batch[CLIENT_BATCH_SIZE];
};

/* Send one request (its id is assigned here and returned in *id). ERR_LINK when the link
 * fails (it is then closed). */
otk_hosted_err_t client_send(otk_hosted_client_t *c, Otkctrl__Request *q, uint32_t *id,
                             otk_diag_t *diag);
/* Like client_send, but the frame waits in the client's batch (sent first when the batch
 * is full) until client_flush. */
otk_hosted_err_t client_queue(otk_hosted_client_t *c, Otkctrl__Request *q, uint32_t *id,
                              otk_diag_t *diag);
/* Send the queued frames (nothing when none). ERR_LINK when the link fails. */
otk_hosted_err_t client_flush(otk_hosted_client_t *c, otk_diag_t *diag);
/* The next Response to arrive within timeout_ms (the caller frees it with
 * otkctrl__response__free_unpacked). ERR_TIMEOUT, or ERR_LINK (closed). */
otk_hosted_err_t client_recv(otk_hosted_client_t *c, int timeout_ms, Otkctrl__Response **out,
                             otk_diag_t *diag);
/* The retransmission timeout after `tries` timeouts in a row (doubling each time),
 * between CLIENT_RTO_MIN_MS and the client's timeout; the full timeout until a round trip
 * was measured. */
int client_rto_ms(const otk_hosted_client_t *c, uint32_t tries);
/* A measured round trip, in ms. */
void client_rtt_sample(otk_hosted_client_t *c, double ms);
/* Hello (and Auth when asked) on the open link. */
otk_hosted_err_t client_hello(otk_hosted_client_t *c, otk_diag_t *diag);
/* A Response's result as a code; its message into diag when it is not OK. */
otk_hosted_err_t client_result(otk_hosted_client_t *c, const Otkctrl__Response *resp,
                               otk_diag_t *diag);
/* An AppInfo into the host's struct. */
void client_app(const Otkctrl__AppInfo *in, otk_hosted_app_t *out);
/* A StatusReply into the host's struct. */
void client_status(const Otkctrl__StatusReply *in, otk_hosted_status_t *out);

/* ---- msg_write_fast.c: the Write request without protobuf-c ------------------------------- */

/* A Request that is a Write in the form hosts send (msg_write_fast.c says exactly which),
 * decoded in place: true with *q and *w filled, q->write == w and w->data.data pointing into
 * buf (no copy, nothing to free; valid while buf is). false: anything else, for
 * otkctrl__request__unpack to decide. Whatever it accepts, protobuf-c reads the same. */
bool hosted_write_fast_decode(const uint8_t *buf, size_t len, Otkctrl__Request *q,
                              Otkctrl__Write *w);

#endif
