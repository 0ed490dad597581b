/* Fuzz the manifest parser (and, with the same bytes, the service's state file parser and
 * the relative URI resolver). Properties:
 *  - nothing crashes, leaks or reads out of bounds, whatever the text;
 *  - a refused manifest leaves no list behind and a one-line reason;
 *  - an accepted manifest has 1..16 nodes, each with an absolute URI the source layer
 *    accepts, a label for data nodes, and a version that is "" or ADF's format;
 *  - an accepted state file formats to a text that parses to the same state;
 *  - a resolved URI fits its buffer and resolving it again changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "otakit/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "https://fleet.example.com/v1/a/manifest.json?x=1"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void manifest(const uint8_t *data, size_t size, const char *base)
{
    otk_manifest_t *m = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_manifest_parse((const char *)data, size, base, &m, &diag);
    if (err != ESP_OK) {
        check(m == NULL && memchr(diag.msg, '\0', sizeof diag.msg) != NULL && diag.msg[0] != 0);
        return;
    }
    check(m->count >= 1 && m->count <= OTK_MANIFEST_MAX_NODES);
    static otk_uri_t uri;
    for (size_t i = 0; i < m->count; i++) {
        const otk_service_node_t *n = &m->nodes[i];
        check(otk_uri_parse(n->uri, strlen(n->uri), &uri, NULL) == ESP_OK);
        check(n->type == OTK_NODE_APP || n->label[0] != '\0');
        check(n->version[0] == '\0' || otk_version_pack(n->version) != OTK_VERSION_NONE);
        check(!n->has_size || n->size > 0);
    }
    otk_manifest_free(m);
}

static void state(const uint8_t *data, size_t size)
{
    static otk_service_state_t a, b;
    if (otk_service_state_parse((const char *)data, size, &a, NULL) != ESP_OK) {
        return;
    }
    char *text = otk_service_state_format(&a);
    check(text != NULL);
    check(otk_service_state_parse(text, strlen(text), &b, NULL) == ESP_OK);
    free(text);
    check(a.record_count == b.record_count && a.commit.active == b.commit.active &&
          a.resume.active == b.resume.active && a.manifest.active == b.manifest.active);
    check(memcmp(a.records, b.records, sizeof a.records) == 0);
}

static void resolve(const uint8_t *data, size_t size)
{
    char ref[512], out[OTK_URI_MAX + 1], again[OTK_URI_MAX + 1];
    size_t n = size < sizeof ref - 1 ? size : sizeof ref - 1;
    memcpy(ref, data, n);
    ref[n] = '\0';
    if (otk_uri_resolve(BASE, ref, out, sizeof out, NULL) != ESP_OK) {
        return;
    }
    check(strlen(out) < sizeof out);
    check(otk_uri_resolve(BASE, out, again, sizeof again, NULL) == ESP_OK);
    check(strcmp(out, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    manifest(data, size, BASE);
    manifest(data, size, NULL);
    state(data, size);
    resolve(data, size);
    return 0;
}
