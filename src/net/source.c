/* The source layer's front: options, opening by scheme, reading with positions, and the
 * identity rules every kind shares. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "net/source_internal.h"

void otk_source_opts_init(otk_source_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->connect_timeout_ms = OTK_SOURCE_CONNECT_TIMEOUT_MS;
    opts->stall_timeout_ms = OTK_SOURCE_STALL_TIMEOUT_MS;
    opts->max_redirects = OTK_SOURCE_MAX_REDIRECTS;
    opts->max_retries = OTK_SOURCE_MAX_RETRIES;
}

bool source_copy_field(char *field, size_t cap, const char *value, size_t len)
{
    while (len > 0 && isspace((unsigned char)value[0])) {
        value++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)value[len - 1])) {
        len--;
    }
    if (len >= cap) {
        field[0] = '\0';
        return false;
    }
    memcpy(field, value, len);
    field[len] = '\0';
    return true;
}

bool source_same_resource(const otk_source_identity_t *expect, const otk_source_identity_t *got,
                          otk_diag_t *why)
{
    if (expect->length >= 0 && got->length >= 0 && expect->length != got->length) {
        otk_diag_set(why, "length %lld, was %lld", (long long)got->length,
                     (long long)expect->length);
        return false;
    }
    if (expect->etag[0] != '\0' && got->etag[0] != '\0' && strcmp(expect->etag, got->etag) != 0) {
        otk_diag_set(why, "ETag %s, was %s", got->etag, expect->etag);
        return false;
    }
    if (expect->last_modified[0] != '\0' && got->last_modified[0] != '\0' &&
        strcmp(expect->last_modified, got->last_modified) != 0) {
        otk_diag_set(why, "Last-Modified %s, was %s", got->last_modified, expect->last_modified);
        return false;
    }
    return true;
}

esp_err_t otk_source_open(const char *uri, const otk_source_opts_t *opts, uint64_t offset,
                          const otk_source_identity_t *expect, otk_source_t **out,
                          otk_diag_t *diag)
{
    if (uri == NULL || out == NULL) {
        otk_diag_set(diag, "source: no URI given");
        return ESP_ERR_INVALID_ARG;
    }
    *out = NULL;
    otk_source_t *src = calloc(1, sizeof *src);
    if (src == NULL) {
        otk_diag_set(diag, "source: out of memory");
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = otk_uri_parse(uri, strlen(uri), &src->uri, diag);
    if (err != ESP_OK) {
        free(src);
        return err;
    }
    if (opts != NULL) {
        src->opts = *opts;
    } else {
        otk_source_opts_init(&src->opts);
    }
    src->identity.length = -1;
    src->ops = src->uri.scheme == OTK_URI_FILE ? &source_file_ops : &source_http_ops;
    err = src->ops->open(src, offset, expect, diag);
    if (err != ESP_OK) {
        src->ops->close(src);
        free(src);
        return err;
    }
    *out = src;
    return ESP_OK;
}

esp_err_t otk_source_read(otk_source_t *src, void *buf, size_t cap, size_t *got, uint64_t *at,
                          otk_diag_t *diag)
{
    if (got != NULL) {
        *got = 0;
    }
    if (src == NULL || got == NULL || (buf == NULL && cap > 0)) {
        otk_diag_set(diag, "source: read with a NULL argument");
        return ESP_ERR_INVALID_ARG;
    }
    if (cap == 0) {
        if (at != NULL) {
            *at = src->pos;
        }
        return ESP_OK;
    }
    /* The kind moves pos back to 0 when it had to start over, before the bytes it hands
     * out, so pos here is where the returned bytes belong. */
    esp_err_t err = src->ops->read(src, buf, cap, got, diag);
    if (at != NULL) {
        *at = src->pos;
    }
    if (err == ESP_OK) {
        src->pos += *got;
    }
    return err;
}

uint64_t otk_source_offset(const otk_source_t *src)
{
    return src != NULL ? src->pos : 0;
}

const otk_source_identity_t *otk_source_identity(const otk_source_t *src)
{
    return src != NULL ? &src->identity : NULL;
}

void otk_source_stats(const otk_source_t *src, otk_source_stats_t *stats)
{
    if (src != NULL && stats != NULL) {
        *stats = src->stats;
    }
}

const char *otk_source_uri(const otk_source_t *src)
{
    return src != NULL ? src->uri.normalized : "";
}

void otk_source_close(otk_source_t *src)
{
    if (src != NULL) {
        src->ops->close(src);
        free(src);
    }
}
