/* The device side of the control path: one request in, one response out. Dispatch, the
 * link-level requests (Hello, Auth), the running app's decisions (Confirm, Rollback),
 * Reboot, and the reboot timer. The update session itself is device_session.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hosted_internal.h"
#include "otakit/crc32.h"
#include "otakit/ota.h"

void hosted_log(otk_hosted_handler_t *h, char level, const char *fmt, ...)
{
    FILE *out = h->opts.log != NULL ? h->opts.log : h->run->log;
    if (out == NULL) {
        return;
    }
    char line[OTK_DIAG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    otk_device_log_line(out, &h->run->dev, level, CTRL_TAG, "%s", line);
    fflush(out);
}

void reply_set(otk_hosted_handler_t *h, hosted_reply_t *r, Otkctrl__Result result,
               esp_err_t esp_err, bool log_ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->resp.result = result;
    r->resp.esp_err = esp_err;
    r->resp.message = r->message;
    if (result != OTKCTRL__RESULT__RESULT_OK) {
        hosted_log(h, 'W', "%s: %s%s%s%s", otk_hosted_err_name((otk_hosted_err_t)result),
                   r->message, esp_err != ESP_OK ? " (" : "",
                   esp_err != ESP_OK ? esp_err_to_name(esp_err) : "", esp_err != ESP_OK ? ")" : "");
    } else if (log_ok) {
        hosted_log(h, 'I', "%s", r->message);
    }
}

void otk_hosted_handler_opts_init(otk_hosted_handler_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->reboot_delay_ms = OTK_HOSTED_REBOOT_DELAY_MS;
}

static uint64_t new_boot_id(void)
{
    uint64_t id = 0;
    if (!hosted_random(&id, sizeof id)) {
        id = otk_link_now_us(); /* still differs from the last boot's */
    }
    return id;
}

esp_err_t otk_hosted_handler_init(otk_hosted_handler_t *h, otk_device_run_t *run,
                                  const otk_hosted_handler_opts_t *opts, otk_diag_t *diag)
{
    memset(h, 0, sizeof *h);
    h->run = run;
    if (opts != NULL) {
        h->opts = *opts;
    } else {
        otk_hosted_handler_opts_init(&h->opts);
    }
    if (h->opts.reboot_delay_ms == 0) {
        h->opts.reboot_delay_ms = OTK_HOSTED_REBOOT_DELAY_MS;
    }
    if (run->dev.running == NULL) {
        otk_diag_set(diag, "the device is not running an app (power it on first)");
        return ESP_ERR_INVALID_STATE;
    }
    int n = snprintf(h->session_path, sizeof h->session_path, "%s%s", run->flash_path,
                     OTK_HOSTED_SESSION_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof h->session_path) {
        otk_diag_set(diag, "%s: the path is too long", run->flash_path);
        return ESP_ERR_INVALID_ARG;
    }
    h->boot_id = new_boot_id();
    session_reload(h);
    return ESP_OK;
}

void otk_hosted_peer_init(otk_hosted_peer_t *peer, bool auth_required)
{
    memset(peer, 0, sizeof *peer);
    peer->auth_required = auth_required;
}

static void do_hello(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const Otkctrl__Hello *q,
                     hosted_reply_t *r, Otkctrl__HelloReply *out, char *device, size_t cap)
{
    otkctrl__hello_reply__init(out);
    out->protocol = OTK_HOSTED_PROTOCOL;
    out->max_chunk = OTK_HOSTED_MAX_CHUNK;
    out->window = OTK_HOSTED_WINDOW;
    out->max_frame = OTK_FRAME_MAX_PAYLOAD;
    out->auth_required = peer->auth_required && !peer->authenticated;
    peer->nonce_valid = hosted_random(peer->nonce, sizeof peer->nonce);
    if (peer->nonce_valid) {
        out->nonce.data = peer->nonce;
        out->nonce.len = sizeof peer->nonce;
    }
    out->boot_id = h->boot_id;
    out->power_ons = h->run->power_ons;
    snprintf(device, cap, "otakit-device %s",
             otk_image_chip_id_name(h->run->dev.config.chip_id));
    out->device = device;
    r->resp.body_case = OTKCTRL__RESPONSE__BODY_HELLO;
    r->resp.hello = out;
    const char *client = q->client != NULL && q->client[0] != '\0' ? q->client : "a host";
    reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, !peer->greeted,
              "hello from %.64s (protocol %u)%s", client, (unsigned)q->protocol,
              out->auth_required ? ": token required" : "");
    peer->greeted = true;
}

static void do_auth(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const Otkctrl__Auth *q,
                    hosted_reply_t *r)
{
    if (!peer->auth_required) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false, "no token needed on this link");
        return;
    }
    if (!peer->nonce_valid || h->opts.token == NULL) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false,
                  "Auth answers the nonce of a Hello: send Hello first");
        return;
    }
    uint8_t want[OTK_HOSTED_SHA256_LEN];
    hosted_hmac_sha256(h->opts.token, strlen(h->opts.token), peer->nonce, sizeof peer->nonce,
                       want);
    peer->nonce_valid = false; /* one answer per nonce */
    if (q->mac.len != sizeof want || !hosted_equal_ct(q->mac.data, want, sizeof want)) {
        h->link.auth_failures++;
        r->close_after = true;
        reply_set(h, r, OTKCTRL__RESULT__RESULT_UNAUTHENTICATED, ESP_OK, false,
                  "wrong token: the link is closed");
        return;
    }
    peer->authenticated = true;
    reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true, "token accepted");
}

uint32_t handler_schedule_reboot(otk_hosted_handler_t *h, uint32_t delay_ms, bool rollback)
{
    if (delay_ms == 0) {
        delay_ms = h->opts.reboot_delay_ms;
    }
    if (delay_ms > OTK_HOSTED_REBOOT_DELAY_MAX_MS) {
        delay_ms = OTK_HOSTED_REBOOT_DELAY_MAX_MS;
    }
    h->reboot_pending = true;
    h->rollback_pending = rollback;
    h->reboot_at_ms = h->now_ms + delay_ms;
    return delay_ms;
}

/* Why esp_ota_mark_app_* refused, in the device's terms. */
static const char *mark_reason(esp_err_t err)
{
    switch (err) {
    case ESP_ERR_NOT_FOUND:
        return "the partition table has no otadata partition";
    case ESP_FAIL:
        return "the running app is the factory app (no otadata entry to mark)";
    case ESP_ERR_OTA_ROLLBACK_FAILED:
        return "there is no other bootable app to roll back to";
    case ESP_ERR_INVALID_STATE:
        return "no app is running";
    default:
        return esp_err_to_name(err);
    }
}

static void do_confirm(otk_hosted_handler_t *h, hosted_reply_t *r)
{
    if (h->reboot_pending) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false,
                  "the device is rebooting");
        return;
    }
    otk_device_t *dev = &h->run->dev;
    esp_err_t err = otk_device_run_confirm(h->run);
    if (err != ESP_OK) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_FAILED, err, false, "cannot confirm %s: %s",
                  dev->running != NULL ? dev->running->label : "?", mark_reason(err));
        return;
    }
    reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true,
              "%s is VALID: rollback cancelled", dev->running->label);
}

static void do_rollback(otk_hosted_handler_t *h, const Otkctrl__Rollback *q, hosted_reply_t *r)
{
    if (h->reboot_pending) {
        if (h->rollback_pending) {
            reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false,
                      "already rolling back: rebooting");
        } else {
            reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false,
                      "the device is rebooting");
        }
        return;
    }
    otk_device_t *dev = &h->run->dev;
    char was[17];
    snprintf(was, sizeof was, "%s", dev->running != NULL ? dev->running->label : "?");
    esp_err_t err = dev->running != NULL ? otk_ota_mark_app_invalid_rollback_and_reboot(dev)
                                         : ESP_ERR_INVALID_STATE;
    if (err != ESP_OK) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_FAILED, err, false, "cannot roll back %s: %s",
                  was, mark_reason(err));
        return;
    }
    dev->restart_requested = false; /* the timer below is the restart */
    otk_device_run_save(h->run, NULL);
    session_save(h, true);
    uint32_t delay = handler_schedule_reboot(h, q->reboot_delay_ms, true);
    reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true,
              "esp_ota_mark_app_invalid_rollback_and_reboot(): %s is INVALID; rebooting into "
              "the previous app in %u ms", was, (unsigned)delay);
}

static void do_reboot(otk_hosted_handler_t *h, const Otkctrl__Reboot *q, hosted_reply_t *r)
{
    if (h->reboot_pending) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false, "already rebooting");
        return;
    }
    session_save(h, true);
    uint32_t delay = handler_schedule_reboot(h, q->reboot_delay_ms, false);
    reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true, "rebooting in %u ms",
              (unsigned)delay);
}

/* Everything a reply may point to lives here while it is packed. */
typedef struct {
    hosted_reply_t r;
    Otkctrl__HelloReply hello;
    char device[48];
    Otkctrl__BeginReply begin;
    Otkctrl__WriteReply write;
    Otkctrl__EndReply end;
    Otkctrl__AppInfo app;
    hosted_app_strings_t app_strings;
    Otkctrl__StatusReply status;
} reply_storage_t;

static void dispatch(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const Otkctrl__Request *q,
                     reply_storage_t *st)
{
    hosted_reply_t *r = &st->r;
    switch (q->body_case) {
    case OTKCTRL__REQUEST__BODY_HELLO:
        do_hello(h, peer, q->hello, r, &st->hello, st->device, sizeof st->device);
        return;
    case OTKCTRL__REQUEST__BODY_AUTH:
        do_auth(h, peer, q->auth, r);
        return;
    case OTKCTRL__REQUEST__BODY__NOT_SET:
        reply_set(h, r, OTKCTRL__RESULT__RESULT_UNSUPPORTED, ESP_OK, false,
                  "a request this device does not know (protocol %u)", OTK_HOSTED_PROTOCOL);
        return;
    default:
        break;
    }
    if (peer->auth_required && !peer->authenticated) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_UNAUTHENTICATED, ESP_OK, false,
                  "this link needs the token: Hello, then Auth");
        return;
    }
    switch (q->body_case) {
    case OTKCTRL__REQUEST__BODY_BEGIN:
        session_begin(h, peer, q->begin, r, &st->begin);
        break;
    case OTKCTRL__REQUEST__BODY_WRITE:
        session_write(h, peer, q->write, r, &st->write);
        break;
    case OTKCTRL__REQUEST__BODY_END:
        session_end(h, q->end, r, &st->end, &st->app, &st->app_strings);
        break;
    case OTKCTRL__REQUEST__BODY_ACTIVATE:
        session_activate(h, q->activate, r);
        break;
    case OTKCTRL__REQUEST__BODY_ABORT:
        session_abort(h, r);
        break;
    case OTKCTRL__REQUEST__BODY_STATUS:
        status_fill(h, &st->status);
        r->resp.body_case = OTKCTRL__RESPONSE__BODY_STATUS;
        r->resp.status = &st->status;
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false, "status");
        break;
    case OTKCTRL__REQUEST__BODY_CONFIRM:
        do_confirm(h, r);
        break;
    case OTKCTRL__REQUEST__BODY_ROLLBACK:
        do_rollback(h, q->rollback, r);
        break;
    case OTKCTRL__REQUEST__BODY_REBOOT:
        do_reboot(h, q->reboot, r);
        break;
    default:
        reply_set(h, r, OTKCTRL__RESULT__RESULT_UNSUPPORTED, ESP_OK, false,
                  "request %d is not supported", (int)q->body_case);
        break;
    }
}

/* Pack the reply; a reply too large for cap (it cannot happen with
 * OTK_FRAME_MAX_PAYLOAD) becomes a short FAILED one. */
static size_t pack(otk_hosted_handler_t *h, hosted_reply_t *r, uint8_t *out, size_t cap)
{
    if (otkctrl__response__get_packed_size(&r->resp) > cap) {
        r->resp.body_case = OTKCTRL__RESPONSE__BODY__NOT_SET;
        reply_set(h, r, OTKCTRL__RESULT__RESULT_FAILED, ESP_ERR_NO_MEM, false,
                  "the reply does not fit %zu bytes", cap);
        if (otkctrl__response__get_packed_size(&r->resp) > cap) {
            return 0;
        }
    }
    return otkctrl__response__pack(&r->resp, out);
}

/* The request in req: a Write as hosts send it read in place into *fast and *fast_write
 * (its data stays in req), anything else by protobuf-c (the caller frees what is not
 * *fast). NULL: not a Request the device accepts. */
static Otkctrl__Request *decode(const uint8_t *req, size_t len, Otkctrl__Request *fast,
                                Otkctrl__Write *fast_write)
{
    if (hosted_write_fast_decode(req, len, fast, fast_write)) {
        return fast;
    }
    Otkctrl__Request *q = otkctrl__request__unpack(NULL, len, req);
    if (q != NULL && !hosted_msg_wellformed(&q->base)) {
        otkctrl__request__free_unpacked(q, NULL);
        q = NULL;
    }
    return q;
}

size_t otk_hosted_handle(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const uint8_t *req,
                         size_t len, uint64_t now_ms, uint8_t *out, size_t cap,
                         bool *close_after)
{
    static _Thread_local reply_storage_t st; /* ~2 KiB; lives until the reply is packed */
    memset(&st, 0, sizeof st);
    otkctrl__response__init(&st.r.resp);
    h->now_ms = now_ms;
    Otkctrl__Request fast;
    Otkctrl__Write fast_write;
    Otkctrl__Request *q = decode(req, len, &fast, &fast_write);
    if (q == NULL) {
        h->link.bad_messages++;
        reply_set(h, &st.r, OTKCTRL__RESULT__RESULT_BAD_REQUEST, ESP_OK, false,
                  "a frame of %zu bytes that is not a Request message", len);
    } else {
        st.r.resp.id = q->id;
        dispatch(h, peer, q, &st);
    }
    size_t n = pack(h, &st.r, out, cap);
    if (q != NULL && q != &fast) {
        otkctrl__request__free_unpacked(q, NULL);
    }
    if (close_after != NULL) {
        *close_after = st.r.close_after;
    }
    return n;
}

size_t otk_hosted_refuse_busy(otk_hosted_handler_t *h, const uint8_t *req, size_t len,
                              uint8_t *out, size_t cap)
{
    Otkctrl__Response resp;
    otkctrl__response__init(&resp);
    Otkctrl__Request *q = otkctrl__request__unpack(NULL, len, req);
    if (q != NULL) {
        resp.id = q->id;
        otkctrl__request__free_unpacked(q, NULL);
    }
    h->link.busy_refusals++;
    resp.result = OTKCTRL__RESULT__RESULT_BUSY;
    resp.message = (char *)"another host is connected to this device: try again when it is done";
    if (otkctrl__response__get_packed_size(&resp) > cap) {
        return 0;
    }
    return otkctrl__response__pack(&resp, out);
}

void otk_hosted_handler_link_down(otk_hosted_handler_t *h, otk_hosted_peer_t *peer)
{
    if (peer != NULL) {
        peer->begun = false;
    }
    session_save(h, true);
}

int otk_hosted_handler_timeout(const otk_hosted_handler_t *h, uint64_t now_ms)
{
    if (!h->reboot_pending) {
        return -1;
    }
    return h->reboot_at_ms > now_ms ? (int)(h->reboot_at_ms - now_ms) : 0;
}

bool otk_hosted_handler_tick(otk_hosted_handler_t *h, uint64_t now_ms)
{
    h->now_ms = now_ms;
    if (!h->reboot_pending || now_ms < h->reboot_at_ms) {
        return false;
    }
    h->reboot_pending = false;
    h->rollback_pending = false;
    session_save(h, true);
    hosted_log(h, 'I', "%s", "rebooting");
    esp_err_t err;
    if (h->opts.power_on != NULL) {
        err = h->opts.power_on(h->opts.power_on_ctx, h->run);
    } else {
        err = otk_device_run_power_on(h->run, h->run->store.selftest);
    }
    h->boot_id = new_boot_id();
    memset(&h->session, 0, sizeof h->session);
    if (err != ESP_OK || h->run->dev.running == NULL) {
        h->dead = true;
        return true;
    }
    session_reload(h);
    return true;
}

void otk_hosted_handler_shutdown(otk_hosted_handler_t *h)
{
    session_save(h, true);
}
