/* http:// and https:// sources over libcurl's multi interface, turned into a pull stream:
 * libcurl writes response bytes into a buffer (pausing the transfer when it is full), and
 * read takes them out, driving the transfer while the buffer is empty.
 *
 * This file makes the requests and decides what follows one (the next range, a retry
 * after a break, starting over, the end); http_accept.c checks each response before its
 * body is taken, http_setup.c sets libcurl up. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http_internal.h"
#include "net/source_internal.h"
#include "otakit/log.h"

#define NS_PER_MS 1000000L

/* ---- requests -------------------------------------------------------------------------- */

static void detach(http_state_t *h)
{
    if (h->attached) {
        curl_multi_remove_handle(h->multi, h->easy);
        h->attached = false;
    }
}

/* Range and If-Range for a request from byte `from`. */
static bool request_headers(otk_source_t *src, http_state_t *h, uint64_t from)
{
    curl_slist_free_all(h->req_headers);
    h->req_headers = NULL;
    for (struct curl_slist *l = h->base_headers; l != NULL; l = l->next) {
        if (!http_append_header(&h->req_headers, l->data)) {
            return false;
        }
    }
    char line[HTTP_HEADER_LINE_MAX];
    h->req_len = src->opts.range_size;
    if (h->req_len > 0) {
        snprintf(line, sizeof line, "Range: bytes=%" PRIu64 "-%" PRIu64, from,
                 from + h->req_len - 1);
    } else if (from > 0) {
        snprintf(line, sizeof line, "Range: bytes=%" PRIu64 "-", from);
    } else {
        line[0] = '\0';
    }
    if (line[0] != '\0' && !http_append_header(&h->req_headers, line)) {
        return false;
    }
    /* If-Range makes a server that has another version send all of it (200) instead of
     * a piece of it; a weak ETag cannot be used there (RFC 9110 13.1.5). */
    const otk_source_identity_t *id = &src->identity;
    line[0] = '\0';
    if (from > 0 && h->have_identity && id->etag[0] != '\0' && strncmp(id->etag, "W/", 2) != 0) {
        snprintf(line, sizeof line, "If-Range: %s", id->etag);
    } else if (from > 0 && h->have_identity && id->last_modified[0] != '\0') {
        snprintf(line, sizeof line, "If-Range: %s", id->last_modified);
    }
    if (line[0] != '\0' && !http_append_header(&h->req_headers, line)) {
        return false;
    }
    return curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->req_headers) == CURLE_OK;
}

static esp_err_t start_request(otk_source_t *src, http_state_t *h, uint64_t from,
                               otk_diag_t *diag)
{
    detach(h);
    h->req_from = from;
    http_response_reset(&h->resp);
    h->accepted = false;
    h->body_got = 0;
    h->restart = false;
    h->reject = ESP_OK;
    otk_diag_clear(&h->reject_why);
    h->stalled = false;
    h->done = false;
    h->errbuf[0] = '\0';
    if (!request_headers(src, h, from)) {
        otk_diag_set(diag, "out of memory for request headers (%s)", src->uri.normalized);
        return ESP_ERR_NO_MEM;
    }
    if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK) {
        otk_diag_set(diag, "libcurl cannot start a request (%s)", src->uri.normalized);
        return ESP_FAIL;
    }
    h->attached = true;
    h->activity_ms = http_now_ms();
    src->stats.requests++;
    http_emit(src, OTK_SOURCE_EV_CONNECTED, NULL, src->uri.normalized, NULL, 0);
    return ESP_OK;
}

/* Ask for the whole resource again, as a new version of it. */
static esp_err_t restart_from_zero(otk_source_t *src, http_state_t *h, otk_diag_t *diag)
{
    if (++h->restarts_here > HTTP_MAX_RESTARTS) {
        otk_diag_set(diag, "the resource changed %u times during the download (%s)",
                     HTTP_MAX_RESTARTS, src->uri.normalized);
        return ESP_ERR_INVALID_RESPONSE;
    }
    src->stats.restarts++;
    h->have_identity = false;
    return start_request(src, h, 0, diag);
}

/* One turn of the transfer: let libcurl work, then wait for the network a little. */
static void pump(otk_source_t *src, http_state_t *h)
{
    int running = 0;
    curl_multi_perform(h->multi, &running);
    int queued = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(h->multi, &queued)) != NULL) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->easy) {
            h->done = true;
            h->result = msg->data.result;
        }
    }
    if (h->done || h->len > 0) {
        return;
    }
    uint64_t idle = http_now_ms() - h->activity_ms;
    uint32_t stall = src->opts.stall_timeout_ms;
    if (stall > 0 && !h->paused && idle >= stall) {
        h->stalled = true;
        h->done = true;
        h->result = CURLE_OPERATION_TIMEDOUT;
        detach(h);
        return;
    }
    uint64_t wait = HTTP_POLL_MAX_MS;
    if (stall > 0 && stall - idle < wait) {
        wait = stall - idle;
    }
    curl_multi_poll(h->multi, NULL, 0, (int)wait, NULL);
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000u),
                          .tv_nsec = (long)(ms % 1000u) * NS_PER_MS};
    nanosleep(&ts, NULL);
}

/* The request ended (complete, refused, failed): go on, end, or fail. Called with the
 * buffer empty, so src->pos is the next byte wanted. */
static esp_err_t settle(otk_source_t *src, http_state_t *h, otk_diag_t *diag)
{
    detach(h);
    uint64_t next = src->pos;
    if (h->restart) {
        return restart_from_zero(src, h, diag);
    }
    if (h->result == CURLE_OK && h->reject == ESP_OK) {
        http_emit(src, OTK_SOURCE_EV_FINISHED, NULL, NULL, NULL, 0);
        int64_t total = src->identity.length;
        bool more = total >= 0 ? next < (uint64_t)total
                               : h->req_len > 0 && h->body_got == h->req_len;
        if (more && h->body_got > 0) {
            return start_request(src, h, next, diag); /* next range, or after an early close */
        }
        if (more) {
            otk_diag_set(diag, "the server ended the response at byte %" PRIu64 " of %" PRId64
                         " (%s)", next, total, src->uri.normalized);
            return ESP_ERR_INVALID_RESPONSE;
        }
        h->ended = true;
        return ESP_OK;
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err;
    bool transient;
    if (h->reject != ESP_OK) {
        why = h->reject_why;
        err = h->reject;
        transient = h->reject_transient;
    } else if (h->stalled) {
        otk_diag_set(&why, "timed out: no data for %u ms at byte %" PRIu64 " (%s)",
                     (unsigned)src->opts.stall_timeout_ms, next, src->uri.normalized);
        err = ESP_ERR_TIMEOUT;
        transient = true;
    } else {
        err = http_curl_error(h->result, h->errbuf, src->uri.normalized, h->ca_hint, &why);
        transient = http_curl_transient(h->result);
    }
    http_emit(src, h->accepted ? OTK_SOURCE_EV_DISCONNECTED : OTK_SOURCE_EV_ERROR, NULL, why.msg,
         NULL, 0);
    if (transient && h->opened && h->fruitless < src->opts.max_retries) {
        if (h->fruitless > 0) {
            sleep_ms(HTTP_RETRY_BACKOFF_MS * h->fruitless);
        }
        h->fruitless++;
        src->stats.reconnects++;
        OTK_LOGW(SOURCE_TAG, "%s: continuing from byte %" PRIu64 " with a new request",
                 why.msg, next);
        return start_request(src, h, next, diag);
    }
    if (h->fruitless > 0) {
        otk_diag_set(diag, "%s; %u more request(s) brought nothing", why.msg, h->fruitless);
    } else if (diag != NULL) {
        *diag = why;
    }
    return err;
}

/* ---- setup ----------------------------------------------------------------------------- */

static esp_err_t http_open(otk_source_t *src, uint64_t offset,
                           const otk_source_identity_t *expect, otk_diag_t *diag)
{
    if (src->uri.scheme == OTK_URI_HTTP && !src->opts.allow_http) {
        otk_diag_set(diag, "plain http:// is refused (%s): use https://, or allow http "
                     "explicitly (--allow-http, CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP)",
                     src->uri.normalized);
        return ESP_ERR_NOT_ALLOWED;
    }
    http_state_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        otk_diag_set(diag, "source: out of memory");
        return ESP_ERR_NO_MEM;
    }
    src->kind = h;
    h->curl_held = http_curl_acquire();
    if (!h->curl_held) {
        otk_diag_set(diag, "libcurl cannot be initialised");
        return ESP_FAIL;
    }
    h->buf = malloc(HTTP_BUFFER_SIZE);
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (h->buf == NULL || h->multi == NULL || h->easy == NULL || !http_copy_options(src, h)) {
        otk_diag_set(diag, "source: out of memory");
        return ESP_ERR_NO_MEM;
    }
    if (!http_set_options(src, h)) {
        otk_diag_set(diag, "libcurl refused an option (libcurl %s)", curl_version_info(
                     CURLVERSION_NOW)->version);
        return ESP_FAIL;
    }
    if (offset > 0 && expect != NULL) {
        src->identity = *expect;
        h->have_identity = true;
    }
    src->pos = offset;
    esp_err_t err = start_request(src, h, offset, diag);
    while (err == ESP_OK && !h->accepted) {
        if (h->done && h->restart) {
            err = restart_from_zero(src, h, diag);
        } else if (h->done) {
            err = settle(src, h, diag); /* not opened yet: no retry, the reason */
            if (err == ESP_OK) {       /* ended without a response we could take */
                otk_diag_set(diag, "no usable response (%s)", src->uri.normalized);
                err = ESP_ERR_INVALID_RESPONSE;
            }
        } else {
            pump(src, h);
        }
    }
    h->opened = err == ESP_OK;
    return err;
}

static esp_err_t http_read(otk_source_t *src, void *buf, size_t cap, size_t *got,
                           otk_diag_t *diag)
{
    http_state_t *h = src->kind;
    while (h->len == 0) {
        if (h->ended) {
            *got = 0;
            return ESP_OK;
        }
        if (h->done) {
            esp_err_t err = settle(src, h, diag);
            if (err != ESP_OK) {
                return err;
            }
            continue;
        }
        pump(src, h);
    }
    size_t n = cap < h->len ? cap : h->len;
    memcpy(buf, h->buf + h->head, n);
    h->head += n;
    h->len -= n;
    if (h->len == 0) {
        h->head = 0;
    }
    if (h->paused && HTTP_BUFFER_SIZE - h->len >= HTTP_RECV_SIZE) {
        h->paused = false;
        h->activity_ms = http_now_ms();
        curl_easy_pause(h->easy, CURLPAUSE_CONT);
    }
    *got = n;
    return ESP_OK;
}

static void http_close(otk_source_t *src)
{
    http_state_t *h = src->kind;
    if (h == NULL) {
        return;
    }
    detach(h);
    if (h->easy != NULL) {
        curl_easy_cleanup(h->easy);
    }
    if (h->multi != NULL) {
        curl_multi_cleanup(h->multi);
    }
    curl_slist_free_all(h->base_headers);
    curl_slist_free_all(h->req_headers);
    free(h->ca_file);
    free(h->ca_pem);
    free(h->buf);
    if (h->curl_held) {
        http_curl_release();
    }
    free(h);
    src->kind = NULL;
}

const source_ops_t source_http_ops = {
    .open = http_open,
    .read = http_read,
    .close = http_close,
};
