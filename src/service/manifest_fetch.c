/* Fetching a manifest's text through the source layer, conditionally: a fleet polls one
 * URL, and an unchanged manifest should cost one small request (If-None-Match -> 304),
 * not a download and a parse. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "otakit/manifest.h"

/* The body buffer grows by this much at a time (manifests are small). */
#define FETCH_CHUNK 4096u
/* "If-None-Match: " plus an ETag. */
#define FETCH_HEADER_MAX (OTK_SOURCE_ETAG_MAX + 32u)

typedef struct {
    const otk_source_opts_t *user;     /* the caller's options (their event callback) */
    char etag[OTK_SOURCE_ETAG_MAX + 1]; /* ETag of the last response seen, "" none */
} fetch_watch_t;

/* The source layer reports a 304 as an HTTP error; the response's ETag tells us it was
 * the answer to our If-None-Match (the server still has the version we have). */
static void watch(void *ctx, otk_source_event_t ev, const char *key, const char *value,
                  const void *data, size_t len)
{
    fetch_watch_t *w = ctx;
    if (ev == OTK_SOURCE_EV_CONNECTED) {
        w->etag[0] = '\0';
    } else if (ev == OTK_SOURCE_EV_HEADER && key != NULL && value != NULL &&
               strcasecmp(key, "ETag") == 0 && strlen(value) < sizeof w->etag) {
        memcpy(w->etag, value, strlen(value) + 1);
    }
    if (w->user != NULL && w->user->on_event != NULL) {
        w->user->on_event(w->user->event_ctx, ev, key, value, data, len);
    }
}

/* Read the whole body into a growing buffer. */
static esp_err_t read_all(otk_source_t *src, char **text, size_t *len, otk_diag_t *diag)
{
    size_t cap = FETCH_CHUNK, n = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        otk_diag_set(diag, "manifest: out of memory");
        return ESP_ERR_NO_MEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap > OTK_MANIFEST_TEXT_MAX) {
                free(buf);
                otk_diag_set(diag, "manifest %s: larger than %u bytes", otk_source_uri(src),
                             (unsigned)OTK_MANIFEST_TEXT_MAX);
                return ESP_ERR_INVALID_SIZE;
            }
            char *grown = realloc(buf, cap * 2 + 1);
            if (grown == NULL) {
                free(buf);
                otk_diag_set(diag, "manifest: out of memory");
                return ESP_ERR_NO_MEM;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = 0;
        uint64_t at = 0;
        esp_err_t err = otk_source_read(src, buf + n, cap - n, &got, &at, diag);
        if (err != ESP_OK) {
            free(buf);
            return err;
        }
        if (got == 0) {
            break;
        }
        if (at != n) { /* the source started over (at 0): what was read before is void */
            memmove(buf + at, buf + n, got);
        }
        n = (size_t)at + got;
    }
    if (n > OTK_MANIFEST_TEXT_MAX) {
        free(buf);
        otk_diag_set(diag, "manifest %s: %zu bytes, at most %u", otk_source_uri(src), n,
                     (unsigned)OTK_MANIFEST_TEXT_MAX);
        return ESP_ERR_INVALID_SIZE;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return ESP_OK;
}

esp_err_t otk_manifest_fetch(const char *uri, const otk_source_opts_t *opts,
                             const char *if_none_match, char **text, size_t *len,
                             otk_manifest_fetch_t *info, otk_diag_t *diag)
{
    if (uri == NULL || text == NULL || len == NULL || info == NULL) {
        otk_diag_set(diag, "manifest fetch: NULL argument");
        return ESP_ERR_INVALID_ARG;
    }
    memset(info, 0, sizeof *info);
    *text = NULL;
    *len = 0;
    otk_source_opts_t o;
    if (opts != NULL) {
        o = *opts;
    } else {
        otk_source_opts_init(&o);
    }
    fetch_watch_t w = {.user = opts};
    o.on_event = watch;
    o.event_ctx = &w;
    bool conditional = if_none_match != NULL && if_none_match[0] != '\0' &&
                       strlen(if_none_match) <= OTK_SOURCE_ETAG_MAX;
    char header[FETCH_HEADER_MAX];
    const char *headers[2] = {header, NULL};
    if (conditional) {
        snprintf(header, sizeof header, "If-None-Match: %s", if_none_match);
        o.headers = headers; /* a file source ignores headers */
    }
    otk_source_t *src = NULL;
    esp_err_t err = otk_source_open(uri, &o, 0, NULL, &src, diag);
    if (err != ESP_OK) {
        if (conditional && strcmp(w.etag, if_none_match) == 0) {
            info->not_modified = true;
            snprintf(info->etag, sizeof info->etag, "%s", if_none_match);
            otk_diag_clear(diag);
            return ESP_OK;
        }
        return err;
    }
    snprintf(info->uri, sizeof info->uri, "%s", otk_source_uri(src));
    snprintf(info->etag, sizeof info->etag, "%s", otk_source_identity(src)->etag);
    /* A file (or a server that ignores If-None-Match) with the same ETag: unchanged. */
    if (conditional && strcmp(info->etag, if_none_match) == 0) {
        info->not_modified = true;
        otk_source_close(src);
        return ESP_OK;
    }
    err = read_all(src, text, len, diag);
    otk_source_close(src);
    if (err == ESP_OK) {
        otk_sha256(*text, *len, info->sha256);
    }
    return err;
}

esp_err_t otk_manifest_fetch_sig(const char *manifest_uri, const otk_source_opts_t *opts,
                                 uint8_t sig[OTK_MANIFEST_SIG_DER_MAX], size_t *sig_len,
                                 otk_diag_t *diag)
{
    char uri[OTK_URI_MAX + 1];
    *sig_len = 0;
    if (manifest_uri == NULL || !otk_manifest_sig_uri(manifest_uri, uri, sizeof uri)) {
        otk_diag_set(diag, "the signature's URI would be longer than %u characters",
                     (unsigned)OTK_URI_MAX);
        return ESP_ERR_INVALID_SIZE;
    }
    otk_source_opts_t o;
    if (opts != NULL) {
        o = *opts;
    } else {
        otk_source_opts_init(&o);
    }
    o.headers = NULL; /* a manifest's If-None-Match is not the signature's */
    otk_source_t *src = NULL;
    esp_err_t err = otk_source_open(uri, &o, 0, NULL, &src, diag);
    if (err != ESP_OK) {
        return err;
    }
    /* One byte more than a signature can be tells a larger file from one that fits. */
    uint8_t buf[OTK_MANIFEST_SIG_DER_MAX + 1];
    size_t n = 0;
    for (;;) {
        size_t got = 0;
        uint64_t at = 0;
        err = otk_source_read(src, buf + n, sizeof buf - n, &got, &at, diag);
        if (err != ESP_OK || got == 0) {
            break;
        }
        if (at != n) { /* the source started over (at 0): what was read before is void */
            memmove(buf + at, buf + n, got);
        }
        n = (size_t)at + got;
        if (n == sizeof buf) {
            otk_diag_set(diag, "%s: larger than a signature (%u bytes at most)", uri,
                         (unsigned)OTK_MANIFEST_SIG_DER_MAX);
            err = ESP_ERR_INVALID_SIZE;
            break;
        }
    }
    otk_source_close(src);
    if (err == ESP_OK) {
        memcpy(sig, buf, n);
        *sig_len = n;
    }
    return err;
}
