/* The host side: a client over one link at a time. Connect (open, Hello, Auth), send a
 * request, wait for the Response with its id (others are late answers to requests sent
 * again: dropped), send again after a timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted_internal.h"
#include "otakit/crc32.h"

/* The retransmission timeout's floor: a scheduler's hiccup must not resend. */
#define CLIENT_RTO_MIN_MS 200.0

int client_rto_ms(const otk_hosted_client_t *c, uint32_t tries)
{
    double max = (double)c->timeout_ms;
    double rto = c->rtt.have ? c->rtt.srtt_ms + 4.0 * c->rtt.rttvar_ms : max;
    rto = rto < CLIENT_RTO_MIN_MS ? CLIENT_RTO_MIN_MS : rto;
    for (uint32_t i = 0; i < tries && rto < max; i++) {
        rto *= 2.0;
    }
    return (int)(rto > max ? max : rto);
}

void client_rtt_sample(otk_hosted_client_t *c, double m)
{
    client_rtt_t *r = &c->rtt;
    if (!r->have) {
        r->srtt_ms = m;
        r->rttvar_ms = m / 2.0;
        r->have = true;
        return;
    }
    double d = r->srtt_ms > m ? r->srtt_ms - m : m - r->srtt_ms;
    r->rttvar_ms = 0.75 * r->rttvar_ms + 0.25 * d;
    r->srtt_ms = 0.875 * r->srtt_ms + 0.125 * m;
}

void otk_hosted_client_opts_init(otk_hosted_client_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->timeout_ms = OTK_HOSTED_CLIENT_TIMEOUT_MS;
    opts->retries = OTK_HOSTED_CLIENT_RETRIES;
}

otk_hosted_err_t otk_hosted_client_new(const char *uri, const otk_hosted_client_opts_t *opts,
                                       otk_hosted_client_t **out, otk_diag_t *diag)
{
    *out = NULL;
    otk_hosted_client_opts_t defaults;
    if (opts == NULL) {
        otk_hosted_client_opts_init(&defaults);
        opts = &defaults;
    }
    otk_hosted_client_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        otk_diag_set(diag, "out of memory");
        return OTK_HOSTED_ERR_LOCAL;
    }
    if (otk_link_uri_parse(uri, &c->uri, diag) != ESP_OK) {
        free(c);
        return OTK_HOSTED_ERR_LOCAL;
    }
    otk_link_uri_format(&c->uri, c->uri_text, sizeof c->uri_text);
    const char *token = opts->token != NULL ? opts->token : getenv("OTAKIT_TOKEN");
    if (token != NULL && token[0] != '\0') {
        if (strlen(token) >= sizeof c->token) {
            otk_diag_set(diag, "the token is longer than %zu bytes", sizeof c->token - 1);
            free(c);
            return OTK_HOSTED_ERR_LOCAL;
        }
        strcpy(c->token, token);
        c->has_token = true;
    }
    snprintf(c->name, sizeof c->name, "%s", opts->name != NULL ? opts->name : "otakit");
    c->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : OTK_HOSTED_CLIENT_TIMEOUT_MS;
    c->retries = opts->retries;
    if (opts->fault != NULL) {
        c->use_fault = true;
        otk_link_fault_init(&c->fault, opts->fault);
    }
    /* Ids start at a random place so replies to an earlier client still queued on a
     * serial line cannot be taken for ours. */
    if (!hosted_random(&c->next_id, sizeof c->next_id)) {
        c->next_id = (uint32_t)otk_link_now_us();
    }
    otk_frame_decoder_init(&c->dec, c->rx, sizeof c->rx, OTK_FRAME_MAX_PAYLOAD);
    c->line_dirty = true; /* whoever used the line before may have left half a frame */
    *out = c;
    return OTK_HOSTED_OK;
}

void otk_hosted_disconnect(otk_hosted_client_t *c)
{
    if (c->link != NULL) {
        otk_link_close(c->link);
        c->link = NULL;
    }
    c->connected = false;
    c->batch_len = 0; /* frames for the old link are not sent on a new one */
    otk_frame_decoder_reset(&c->dec);
}

void otk_hosted_client_free(otk_hosted_client_t *c)
{
    if (c != NULL) {
        otk_hosted_disconnect(c);
        memset(c->token, 0, sizeof c->token);
        free(c);
    }
}

bool otk_hosted_connected(const otk_hosted_client_t *c)
{
    return c->connected;
}

const otk_hosted_hello_t *otk_hosted_hello_info(const otk_hosted_client_t *c)
{
    return &c->hello;
}

int32_t otk_hosted_last_esp_err(const otk_hosted_client_t *c)
{
    return c->last_esp_err;
}

const otk_link_fault_stats_t *otk_hosted_fault_stats(const otk_hosted_client_t *c)
{
    return c->use_fault ? &c->fault.stats : NULL;
}

static otk_hosted_err_t link_down(otk_hosted_client_t *c, otk_diag_t *diag, const char *what)
{
    otk_hosted_disconnect(c);
    c->line_dirty = true; /* a frame may have been cut in the middle */
    otk_diag_set(diag, "%s: the link went down (%s)", c->uri_text, what);
    return OTK_HOSTED_ERR_LINK;
}

otk_hosted_err_t client_flush(otk_hosted_client_t *c, otk_diag_t *diag)
{
    size_t len = c->batch_len;
    c->batch_len = 0;
    if (len == 0) {
        return OTK_HOSTED_OK;
    }
    if (c->link == NULL) {
        otk_diag_set(diag, "%s: not connected", c->uri_text);
        return OTK_HOSTED_ERR_LINK;
    }
    if (otk_link_write(c->link, c->batch, len, (int)c->timeout_ms) != 0) {
        return link_down(c, diag, "sending");
    }
    return OTK_HOSTED_OK;
}

otk_hosted_err_t client_queue(otk_hosted_client_t *c, Otkctrl__Request *q, uint32_t *id,
                              otk_diag_t *diag)
{
    if (c->link == NULL) {
        c->batch_len = 0;
        otk_diag_set(diag, "%s: not connected", c->uri_text);
        return OTK_HOSTED_ERR_LINK;
    }
    if (++c->next_id == 0) {
        c->next_id = 1; /* 0 answers a request the device could not read */
    }
    q->id = c->next_id; /* before the size: the id is part of it */
    *id = q->id;
    size_t n = otkctrl__request__get_packed_size(q);
    if (n > OTK_FRAME_MAX_PAYLOAD) {
        otk_diag_set(diag, "a request of %zu bytes is over the frame limit", n);
        return OTK_HOSTED_ERR_LOCAL;
    }
    if (CLIENT_BATCH_SIZE - c->batch_len < n + OTK_FRAME_OVERHEAD) {
        otk_hosted_err_t err = client_flush(c, diag);
        if (err != OTK_HOSTED_OK) {
            return err;
        }
    }
    /* Packed in place, after the frames already queued: no copy of the data. */
    uint8_t *frame = c->batch + c->batch_len;
    otkctrl__request__pack(q, frame + OTK_FRAME_HEADER_LEN);
    c->batch_len += otk_frame_seal(frame, n);
    return OTK_HOSTED_OK;
}

otk_hosted_err_t client_send(otk_hosted_client_t *c, Otkctrl__Request *q, uint32_t *id,
                             otk_diag_t *diag)
{
    otk_hosted_err_t err = client_queue(c, q, id, diag);
    return err != OTK_HOSTED_OK ? err : client_flush(c, diag);
}

otk_hosted_err_t client_recv(otk_hosted_client_t *c, int timeout_ms, Otkctrl__Response **out,
                             otk_diag_t *diag)
{
    uint64_t deadline = otk_link_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        const uint8_t *payload;
        size_t len;
        while (otk_frame_decoder_next(&c->dec, &payload, &len)) {
            Otkctrl__Response *r = otkctrl__response__unpack(NULL, len, payload);
            if (r != NULL && !hosted_msg_wellformed(&r->base)) {
                otkctrl__response__free_unpacked(r, NULL); /* garbage that seemed a message */
                r = NULL;
            }
            if (r != NULL) {
                *out = r;
                return OTK_HOSTED_OK;
            }
        }
        if (c->link == NULL) {
            otk_diag_set(diag, "%s: not connected", c->uri_text);
            return OTK_HOSTED_ERR_LINK;
        }
        uint64_t now = otk_link_now_ms();
        if (now >= deadline && timeout_ms > 0) {
            otk_diag_set(diag, "%s: no answer within %d ms", c->uri_text, timeout_ms);
            return OTK_HOSTED_ERR_TIMEOUT;
        }
        /* Read no more than the decoder can take, so no byte is ever dropped here (it
         * always has room: it only waits when a frame is incomplete). */
        uint8_t buf[4096];
        size_t room = c->dec.cap - (c->dec.end - c->dec.start);
        int left = now < deadline ? (int)(deadline - now) : 0;
        ssize_t n = otk_link_read(c->link, buf, room < sizeof buf ? room : sizeof buf, left);
        if (n < 0) {
            return link_down(c, diag, "receiving");
        }
        if (n == 0 && timeout_ms <= 0) {
            return OTK_HOSTED_ERR_TIMEOUT;
        }
        otk_frame_decoder_feed(&c->dec, buf, (size_t)n);
    }
}

otk_hosted_err_t client_result(otk_hosted_client_t *c, const Otkctrl__Response *resp,
                               otk_diag_t *diag)
{
    c->last_esp_err = resp->esp_err;
    if (resp->result == OTKCTRL__RESULT__RESULT_OK) {
        return OTK_HOSTED_OK;
    }
    bool said = resp->message != NULL && resp->message[0] != '\0';
    otk_diag_set(diag, "%s",
                 said ? resp->message : otk_hosted_err_name((otk_hosted_err_t)resp->result));
    if ((unsigned)resp->result > OTKCTRL__RESULT__RESULT_FAILED) {
        return OTK_HOSTED_ERR_PROTOCOL; /* a result this host does not know */
    }
    return (otk_hosted_err_t)resp->result;
}

/* Send q and wait for its answer, sending again after a timeout. *resp is the answer
 * (free it) whenever the device answered. */
static otk_hosted_err_t exchange(otk_hosted_client_t *c, Otkctrl__Request *q,
                                 Otkctrl__Response **resp, otk_diag_t *diag)
{
    *resp = NULL;
    otk_hosted_err_t err = OTK_HOSTED_ERR_TIMEOUT;
    for (uint32_t attempt = 0; attempt <= c->retries; attempt++) {
        uint32_t id = 0;
        err = client_send(c, q, &id, diag);
        if (err != OTK_HOSTED_OK) {
            return err;
        }
        uint64_t sent = otk_link_now_us();
        c->line_dirty = true; /* until an answer comes, the request may be cut short */
        uint64_t deadline = sent / 1000u + (uint64_t)client_rto_ms(c, attempt);
        for (;;) {
            uint64_t now = otk_link_now_ms();
            int left = now < deadline ? (int)(deadline - now) : 0;
            Otkctrl__Response *r = NULL;
            err = left > 0 ? client_recv(c, left, &r, diag) : OTK_HOSTED_ERR_TIMEOUT;
            if (err != OTK_HOSTED_OK) {
                break;
            }
            if (r->id == id) {
                c->line_dirty = false;
                client_rtt_sample(c, (double)(otk_link_now_us() - sent) / 1000.0);
                *resp = r;
                return OTK_HOSTED_OK;
            }
            otkctrl__response__free_unpacked(r, NULL); /* a late answer to an older try */
        }
        if (err != OTK_HOSTED_ERR_TIMEOUT) {
            return err;
        }
    }
    otk_diag_set(diag, "%s: no answer after %u tries (the last waited %d ms)", c->uri_text,
                 (unsigned)c->retries + 1u, client_rto_ms(c, c->retries));
    return OTK_HOSTED_ERR_TIMEOUT;
}

/* Resync preamble for a serial line: a frame's worth of zero bytes, so a frame the device
 * was still assembling from an earlier link completes (and fails its CRC) instead of
 * swallowing our Hello. */
static otk_hosted_err_t serial_preamble(otk_hosted_client_t *c, otk_diag_t *diag)
{
    memset(c->tx, 0, OTK_FRAME_BUFFER_SIZE);
    if (otk_link_write(c->link, c->tx, OTK_FRAME_BUFFER_SIZE, (int)c->timeout_ms) != 0) {
        return link_down(c, diag, "sending the resync preamble");
    }
    return OTK_HOSTED_OK;
}

static otk_hosted_err_t authenticate(otk_hosted_client_t *c, const Otkctrl__HelloReply *hr,
                                     otk_diag_t *diag)
{
    if (!c->has_token) {
        otk_diag_set(diag, "%s: the device needs the shared-secret token (--token or "
                           "OTAKIT_TOKEN)", c->uri_text);
        return OTK_HOSTED_UNAUTHENTICATED;
    }
    uint8_t mac[OTK_HOSTED_SHA256_LEN];
    hosted_hmac_sha256(c->token, strlen(c->token), hr->nonce.data, hr->nonce.len, mac);
    Otkctrl__Auth auth;
    otkctrl__auth__init(&auth);
    auth.mac.data = mac;
    auth.mac.len = sizeof mac;
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_AUTH;
    q.auth = &auth;
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = exchange(c, &q, &r, diag);
    if (err == OTK_HOSTED_OK) {
        err = client_result(c, r, diag);
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

static void take_hello(otk_hosted_client_t *c, const Otkctrl__HelloReply *hr)
{
    otk_hosted_hello_t *h = &c->hello;
    memset(h, 0, sizeof *h);
    h->protocol = hr->protocol;
    h->max_chunk = hr->max_chunk;
    h->window = hr->window;
    h->max_frame = hr->max_frame;
    h->boot_id = hr->boot_id;
    h->power_ons = hr->power_ons;
    snprintf(h->device, sizeof h->device, "%s", hr->device != NULL ? hr->device : "");
}

otk_hosted_err_t client_hello(otk_hosted_client_t *c, otk_diag_t *diag)
{
    Otkctrl__Hello hello;
    otkctrl__hello__init(&hello);
    hello.protocol = OTK_HOSTED_PROTOCOL;
    hello.client = c->name;
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_HELLO;
    q.hello = &hello;
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = exchange(c, &q, &r, diag);
    if (err == OTK_HOSTED_OK) {
        err = client_result(c, r, diag);
    }
    if (err == OTK_HOSTED_OK &&
        (r->body_case != OTKCTRL__RESPONSE__BODY_HELLO || r->hello == NULL)) {
        otk_diag_set(diag, "%s: the answer to Hello is not a HelloReply", c->uri_text);
        err = OTK_HOSTED_ERR_PROTOCOL;
    }
    if (err == OTK_HOSTED_OK) {
        take_hello(c, r->hello);
        if (r->hello->auth_required) {
            err = authenticate(c, r->hello, diag);
        }
    }
    if (r != NULL) {
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

otk_hosted_err_t otk_hosted_connect(otk_hosted_client_t *c, otk_diag_t *diag)
{
    otk_hosted_disconnect(c);
    otk_link_t *link = NULL;
    esp_err_t open_err = otk_link_open(&c->uri, &link, diag);
    if (open_err != ESP_OK) {
        /* A URI no device can be behind is the host's mistake; anything else (refused,
         * not there yet) may pass: the device may be rebooting. */
        return open_err == ESP_ERR_INVALID_ARG || open_err == ESP_ERR_NOT_SUPPORTED
                   ? OTK_HOSTED_ERR_LOCAL : OTK_HOSTED_ERR_LINK;
    }
    c->link = c->use_fault ? otk_link_fault_wrap(link, &c->fault) : link;
    if (c->link == NULL) {
        otk_diag_set(diag, "out of memory");
        return OTK_HOSTED_ERR_LOCAL;
    }
    otk_hosted_err_t err = OTK_HOSTED_OK;
    if (c->uri.kind == OTK_LINK_SERIAL && c->line_dirty) {
        err = serial_preamble(c, diag);
    }
    if (err == OTK_HOSTED_OK) {
        err = client_hello(c, diag);
    }
    if (err != OTK_HOSTED_OK) {
        otk_hosted_disconnect(c);
        return err;
    }
    c->connects++;
    c->line_dirty = false;
    c->connected = true;
    return OTK_HOSTED_OK;
}

/* One request and its answer, connecting first when needed. *resp (freed by the caller)
 * is set when the device answered OK with the expected body. */
static otk_hosted_err_t call(otk_hosted_client_t *c, Otkctrl__Request *q,
                             Otkctrl__Response__BodyCase want, Otkctrl__Response **resp,
                             otk_diag_t *diag)
{
    *resp = NULL;
    if (!c->connected) {
        otk_hosted_err_t err = otk_hosted_connect(c, diag);
        if (err != OTK_HOSTED_OK) {
            return err;
        }
    }
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = exchange(c, q, &r, diag);
    if (err != OTK_HOSTED_OK) {
        return err;
    }
    err = client_result(c, r, diag);
    bool body_ok = want == OTKCTRL__RESPONSE__BODY__NOT_SET || r->body_case == want;
    if (err == OTK_HOSTED_OK && !body_ok) {
        otk_diag_set(diag, "%s: an answer without the expected reply", c->uri_text);
        err = OTK_HOSTED_ERR_PROTOCOL;
    }
    bool has_body = want != OTKCTRL__RESPONSE__BODY__NOT_SET && r->body_case == want;
    if (err == OTK_HOSTED_OK || has_body) {
        *resp = r; /* also a GAP's WriteReply: it says where to continue */
    } else {
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

/* A request without a reply body. */
static otk_hosted_err_t simple(otk_hosted_client_t *c, Otkctrl__Request *q, otk_diag_t *diag)
{
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = call(c, q, OTKCTRL__RESPONSE__BODY__NOT_SET, &r, diag);
    if (r != NULL) {
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

otk_hosted_err_t otk_hosted_begin(otk_hosted_client_t *c, uint32_t image_size,
                                  const uint8_t sha256[32], uint32_t chunk_size,
                                  otk_hosted_begin_t *out, otk_diag_t *diag)
{
    Otkctrl__Begin b;
    otkctrl__begin__init(&b);
    b.image_size = image_size;
    b.sha256.data = (uint8_t *)sha256;
    b.sha256.len = sha256 != NULL ? OTK_HOSTED_SHA256_LEN : 0;
    b.chunk_size = chunk_size;
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_BEGIN;
    q.begin = &b;
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = call(c, &q, OTKCTRL__RESPONSE__BODY_BEGIN, &r, diag);
    if (r != NULL) {
        if (out != NULL) {
            memset(out, 0, sizeof *out);
            snprintf(out->slot, sizeof out->slot, "%s", r->begin->slot);
            out->slot_address = r->begin->slot_address;
            out->slot_size = r->begin->slot_size;
            out->next_offset = r->begin->next_offset;
            out->resumed = r->begin->resumed;
            out->replaced = r->begin->replaced;
        }
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

otk_hosted_err_t otk_hosted_write(otk_hosted_client_t *c, uint32_t offset, const void *data,
                                  size_t len, uint32_t *next_offset, otk_diag_t *diag)
{
    Otkctrl__Write w;
    otkctrl__write__init(&w);
    w.offset = offset;
    w.data.data = (uint8_t *)data;
    w.data.len = len;
    w.crc32 = otk_crc32_update(0, data, len);
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_WRITE;
    q.write = &w;
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = call(c, &q, OTKCTRL__RESPONSE__BODY_WRITE, &r, diag);
    if (r != NULL) {
        if (next_offset != NULL) {
            *next_offset = r->write->next_offset;
        }
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

otk_hosted_err_t otk_hosted_end(otk_hosted_client_t *c, const uint8_t sha256[32],
                                otk_hosted_app_t *app, otk_diag_t *diag)
{
    Otkctrl__End e;
    otkctrl__end__init(&e);
    e.sha256.data = (uint8_t *)sha256;
    e.sha256.len = sha256 != NULL ? OTK_HOSTED_SHA256_LEN : 0;
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_END;
    q.end = &e;
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = call(c, &q, OTKCTRL__RESPONSE__BODY_END, &r, diag);
    if (r != NULL) {
        if (app != NULL) {
            client_app(r->end->app, app);
        }
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

otk_hosted_err_t otk_hosted_activate(otk_hosted_client_t *c, uint32_t delay_ms, otk_diag_t *diag)
{
    Otkctrl__Activate a;
    otkctrl__activate__init(&a);
    a.reboot_delay_ms = delay_ms;
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_ACTIVATE;
    q.activate = &a;
    return simple(c, &q, diag);
}

otk_hosted_err_t otk_hosted_abort(otk_hosted_client_t *c, otk_diag_t *diag)
{
    Otkctrl__Abort a;
    otkctrl__abort__init(&a);
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_ABORT;
    q.abort = &a;
    return simple(c, &q, diag);
}

otk_hosted_err_t otk_hosted_status(otk_hosted_client_t *c, otk_hosted_status_t *out,
                                   otk_diag_t *diag)
{
    Otkctrl__Status s;
    otkctrl__status__init(&s);
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_STATUS;
    q.status = &s;
    Otkctrl__Response *r = NULL;
    otk_hosted_err_t err = call(c, &q, OTKCTRL__RESPONSE__BODY_STATUS, &r, diag);
    if (r != NULL) {
        client_status(r->status, out);
        otkctrl__response__free_unpacked(r, NULL);
    }
    return err;
}

otk_hosted_err_t otk_hosted_confirm(otk_hosted_client_t *c, otk_diag_t *diag)
{
    Otkctrl__Confirm m;
    otkctrl__confirm__init(&m);
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_CONFIRM;
    q.confirm = &m;
    return simple(c, &q, diag);
}

otk_hosted_err_t otk_hosted_rollback(otk_hosted_client_t *c, uint32_t delay_ms, otk_diag_t *diag)
{
    Otkctrl__Rollback m;
    otkctrl__rollback__init(&m);
    m.reboot_delay_ms = delay_ms;
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_ROLLBACK;
    q.rollback = &m;
    return simple(c, &q, diag);
}

otk_hosted_err_t otk_hosted_reboot(otk_hosted_client_t *c, uint32_t delay_ms, otk_diag_t *diag)
{
    Otkctrl__Reboot m;
    otkctrl__reboot__init(&m);
    m.reboot_delay_ms = delay_ms;
    Otkctrl__Request q;
    otkctrl__request__init(&q);
    q.body_case = OTKCTRL__REQUEST__BODY_REBOOT;
    q.reboot = &m;
    return simple(c, &q, diag);
}
