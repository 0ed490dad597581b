/* Fuzz the source layer's URI parser with any bytes. Properties:
 *  - it never crashes, and a refusal is ESP_ERR_INVALID_ARG or ESP_ERR_NOT_SUPPORTED with
 *    a NUL-terminated reason;
 *  - an accepted URI has sane fields (an http(s) host and a non-zero port, a path starting
 *    with '/') and a normalized form no longer than the input that parses back to exactly
 *    the same fields (what goes into a checkpoint reads back the same). */
#include <stdlib.h>
#include <string.h>

#include "otakit/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static otk_uri_t a, b;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_uri_parse((const char *)data, size, &a, &diag);
    check(memchr(diag.msg, '\0', sizeof diag.msg) != NULL);
    if (err != ESP_OK) {
        check(err == ESP_ERR_INVALID_ARG || err == ESP_ERR_NOT_SUPPORTED);
        return 0;
    }
    check(a.path[0] == '/');
    if (a.scheme == OTK_URI_FILE) {
        check(a.host[0] == '\0' && a.port == 0);
    } else {
        check(a.host[0] != '\0' && a.port != 0);
    }
    size_t n = strlen(a.normalized);
    check(n <= size + 1); /* "http://h?q" gains the "/" before its query */
    check(otk_uri_is_url(a.normalized));
    check(otk_uri_parse(a.normalized, n, &b, &diag) == ESP_OK);
    check(memcmp(&a, &b, sizeof a) == 0);
    return 0;
}
