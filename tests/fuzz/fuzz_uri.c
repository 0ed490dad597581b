/* Fuzz the source layer's URI parser, and with the same bytes the control path's link URI
 * parser (unix:PATH, tcp://HOST:PORT, serial:TTY?baud=N, pty). Properties:
 *  - it never crashes, and a refusal is ESP_ERR_INVALID_ARG or ESP_ERR_NOT_SUPPORTED with
 *    a NUL-terminated reason;
 *  - an accepted URI has sane fields (an http(s) host and a non-zero port, a path starting
 *    with '/') and a normalized form no longer than the input that parses back to exactly
 *    the same fields (what goes into a checkpoint reads back the same). */
#include <stdlib.h>
#include <string.h>

#include "otakit/hosted_link.h"
#include "otakit/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static int source_uri(const uint8_t *data, size_t size);
static void link_uri(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    link_uri(data, size);
    return source_uri(data, size);
}

static int source_uri(const uint8_t *data, size_t size)
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

/* A link URI that parses formats to text that parses to the same link. */
static void link_uri(const uint8_t *data, size_t size)
{
    static char text[OTK_LINK_URI_MAX * 4];
    static char again[OTK_LINK_URI_MAX + 1];
    if (size >= sizeof text) {
        return;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    otk_link_uri_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (otk_link_uri_parse(text, &a, &diag) != ESP_OK) {
        check(memchr(diag.msg, '\0', sizeof diag.msg) != NULL && diag.msg[0] != '\0');
        return;
    }
    check(memchr(a.path, '\0', sizeof a.path) != NULL);
    check(memchr(a.host, '\0', sizeof a.host) != NULL);
    otk_link_uri_format(&a, again, sizeof again);
    check(otk_link_uri_parse(again, &b, &diag) == ESP_OK);
    /* The canonical form names the default host that an empty one means. */
    const char *host_a = a.host[0] != '\0' ? a.host : OTK_LINK_TCP_DEFAULT_HOST;
    const char *host_b = b.host[0] != '\0' ? b.host : OTK_LINK_TCP_DEFAULT_HOST;
    check(a.kind == b.kind && strcmp(a.path, b.path) == 0 &&
          (a.kind != OTK_LINK_TCP || strcmp(host_a, host_b) == 0) && a.port == b.port &&
          a.baud == b.baud);
}
