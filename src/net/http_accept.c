/* The HTTP source's libcurl callbacks: a response's headers are checked when they are
 * complete, before any body byte is taken (status, and for a continuation that it is the
 * same resource from the byte asked for); body bytes go into the buffer the reader takes
 * them from, pausing the transfer when it is full. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net/http_internal.h"
#include "net/source_internal.h"
#include "otakit/log.h"

#define HTTP_STATUS_OK 200
#define HTTP_STATUS_PARTIAL 206
#define HTTP_STATUS_NOT_FOUND 404
#define HTTP_STATUS_GONE 410
#define HTTP_STATUS_TIMEOUT 408
#define HTTP_STATUS_TOO_MANY 429
#define HTTP_STATUS_RANGE_BAD 416
#define HTTP_STATUS_SERVER_ERROR 500

void http_emit(otk_source_t *src, otk_source_event_t ev, const char *key, const char *value,
               const void *data, size_t len)
{
    if (src->opts.on_event != NULL) {
        src->opts.on_event(src->opts.event_ctx, ev, key, value, data, len);
    }
}

/* ---- the response check ---------------------------------------------------------------- */

static bool refuse(http_state_t *h, esp_err_t err, bool transient)
{
    h->reject = err;
    h->reject_transient = transient;
    return false;
}

static bool status_error(otk_source_t *src, http_state_t *h)
{
    int s = h->resp.status;
    esp_err_t err = s == HTTP_STATUS_NOT_FOUND || s == HTTP_STATUS_GONE ? ESP_ERR_NOT_FOUND
                                                                         : ESP_FAIL;
    bool transient = s >= HTTP_STATUS_SERVER_ERROR || s == HTTP_STATUS_TIMEOUT ||
                     s == HTTP_STATUS_TOO_MANY;
    if (s >= 300 && s < 400) {
        otk_diag_set(&h->reject_why, "HTTP %d %s (%s): a redirect that is not followed (%s)",
                     s, h->resp.reason, src->uri.normalized,
                     h->resp.has_location ? "redirects disabled" : "no Location");
    } else {
        otk_diag_set(&h->reject_why, "HTTP %d %s (%s)", s, h->resp.reason,
                     src->uri.normalized);
    }
    return refuse(h, err, transient);
}

/* The response is not the continuation asked for: take the whole resource again. */
static bool start_over(otk_source_t *src, http_state_t *h, const char *why)
{
    OTK_LOGW(SOURCE_TAG, "%s: asked for byte %" PRIu64 ", %s: downloading again from byte 0",
             src->uri.normalized, h->req_from, why);
    h->restart = true;
    return false;
}

/* The headers of the final response are in: take its body, or say why not. */
static bool accept_response(otk_source_t *src, http_state_t *h)
{
    otk_source_identity_t got;
    http_response_identity(&h->resp, &got);
    otk_diag_t why;
    otk_diag_clear(&why);
    char text[OTK_DIAG_MAX + 32];
    switch (h->resp.status) {
    case HTTP_STATUS_OK:
        if (h->req_from > 0) {
            OTK_LOGW(SOURCE_TAG, "%s: asked for byte %" PRIu64 ", the server sent the whole "
                     "resource (200): downloading again from byte 0",
                     src->uri.normalized, h->req_from);
            src->stats.restarts++;
        }
        src->identity = got;
        h->have_identity = true;
        src->pos = 0;
        break;
    case HTTP_STATUS_PARTIAL:
        if (!h->resp.has_range) {
            otk_diag_set(&h->reject_why, "HTTP 206 without a valid Content-Range (%s)",
                         src->uri.normalized);
            return refuse(h, ESP_ERR_INVALID_RESPONSE, false);
        }
        if (h->resp.range_first != h->req_from) {
            snprintf(text, sizeof text, "the server sent bytes from %" PRIu64,
                     h->resp.range_first);
            return start_over(src, h, text);
        }
        if (h->have_identity && !source_same_resource(&src->identity, &got, &why)) {
            snprintf(text, sizeof text, "the resource changed (%s)", why.msg);
            return start_over(src, h, text);
        }
        if (!h->have_identity || src->identity.length < 0) {
            src->identity = got;
            h->have_identity = true;
        }
        src->pos = h->req_from;
        break;
    case HTTP_STATUS_RANGE_BAD:
        if (h->req_from == 0) {
            return status_error(src, h);
        }
        return start_over(src, h, "the server cannot serve that range (416)");
    default:
        return status_error(src, h);
    }
    h->accepted = true;
    return true;
}

static bool headers_done(otk_source_t *src, http_state_t *h)
{
    int s = h->resp.status;
    if (s > 0 && s < HTTP_STATUS_OK) { /* 100 Continue and friends: the real one follows */
        return true;
    }
    bool redirect = s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
    if (redirect && h->resp.has_location && src->opts.max_redirects > 0) {
        http_emit(src, OTK_SOURCE_EV_REDIRECT, NULL, NULL, NULL, 0);
        return true; /* libcurl follows it (or stops at the limit) */
    }
    src->stats.http_status = s;
    if (s == 0) {
        otk_diag_set(&h->reject_why, "not an HTTP response (%s)", src->uri.normalized);
        return refuse(h, ESP_ERR_INVALID_RESPONSE, false);
    }
    return accept_response(src, h);
}

/* ---- libcurl callbacks ----------------------------------------------------------------- */

size_t http_on_header(char *line, size_t size, size_t count, void *ctx)
{
    otk_source_t *src = ctx;
    http_state_t *h = src->kind;
    size_t len = size * count;
    h->activity_ms = http_now_ms();
    if (h->accepted) {
        return len; /* trailers after a chunked body: nothing to decide */
    }
    const char *key = NULL, *value = NULL;
    size_t key_len = 0, value_len = 0;
    switch (http_response_line(&h->resp, line, len, &key, &key_len, &value, &value_len)) {
    case HTTP_LINE_END:
        return headers_done(src, h) ? len : 0;
    case HTTP_LINE_FIELD:
        if (key != NULL && src->opts.on_event != NULL) {
            char k[HTTP_EVENT_KEY_MAX], v[HTTP_EVENT_VALUE_MAX];
            snprintf(k, sizeof k, "%.*s", (int)key_len, key);
            snprintf(v, sizeof v, "%.*s", (int)value_len, value);
            http_emit(src, OTK_SOURCE_EV_HEADER, k, v, NULL, 0);
        }
        return len;
    default:
        return len;
    }
}

size_t http_on_body(char *data, size_t size, size_t count, void *ctx)
{
    otk_source_t *src = ctx;
    http_state_t *h = src->kind;
    size_t len = size * count;
    if (!h->accepted) {
        otk_diag_set(&h->reject_why, "response body without a status (%s)",
                     src->uri.normalized);
        h->reject = ESP_ERR_INVALID_RESPONSE;
        return 0;
    }
    if (len > HTTP_BUFFER_SIZE - h->len) {
        h->paused = true; /* libcurl keeps these bytes and hands them again on resume */
        return CURL_WRITEFUNC_PAUSE;
    }
    if (h->head + h->len + len > HTTP_BUFFER_SIZE) {
        memmove(h->buf, h->buf + h->head, h->len);
        h->head = 0;
    }
    memcpy(h->buf + h->head + h->len, data, len);
    h->len += len;
    h->body_got += len;
    h->activity_ms = http_now_ms();
    h->fruitless = 0;
    http_emit(src, OTK_SOURCE_EV_DATA, NULL, NULL, data, len);
    return len;
}
