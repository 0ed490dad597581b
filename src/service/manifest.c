/* The JSON manifest (docs/manifest.md) parsed with cJSON into an update list. Every error
 * names the field ("nodes[1].sha256: ..."); unknown keys are ignored so newer manifests
 * still read; a key given twice is an error (which of the two would count is not
 * obvious to the person who wrote it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "otakit/manifest.h"

/* The newest manifest format this reader understands ("format" key, optional). */
#define MANIFEST_FORMAT 1
/* Room for a field path in messages: "nodes[15].break_after_fail". */
#define FIELD_NAME_MAX 40
/* Whole numbers are checked below 2^53, where doubles are exact. */
#define WHOLE_LIMIT 9007199254740992.0

void otk_service_node_init(otk_service_node_t *node, otk_node_type_t type)
{
    memset(node, 0, sizeof *node);
    node->type = type;
    /* A fleet manifest that installs an app means it to run: apps reboot by default,
     * data partitions (read by the running app) need no reboot. */
    node->reboot_flag = type == OTK_NODE_APP;
}

const char *otk_node_type_name(otk_node_type_t type)
{
    return type == OTK_NODE_APP ? "app" : type == OTK_NODE_DATA ? "data" : "?";
}

void otk_manifest_free(otk_manifest_t *manifest)
{
    if (manifest == NULL) {
        return;
    }
    for (size_t i = 0; i < manifest->count; i++) {
        free(manifest->nodes[i].cert_pem);
    }
    free(manifest);
}

/* One parse: where we are (for messages) and scratch space too large for the stack. */
typedef struct {
    char field[FIELD_NAME_MAX];
    otk_diag_t *diag;
    char ref[OTK_URI_MAX + 1];
    otk_uri_t parsed;
} ctx_t;

/* A JSON number that is a whole number small enough to be exact (no libm needed). */
static bool is_whole(double v)
{
    return v > -WHOLE_LIMIT && v < WHOLE_LIMIT && (double)(int64_t)v == v;
}

static esp_err_t bad(ctx_t *c, const char *key, const char *what)
{
    otk_diag_set(c->diag, "%s%s%s: %s", c->field, key[0] != '\0' ? "." : "", key, what);
    return ESP_ERR_INVALID_ARG;
}

/* No key of the object appears twice. */
static esp_err_t check_unique(ctx_t *c, const cJSON *obj)
{
    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (a->string != NULL && b->string != NULL && strcmp(a->string, b->string) == 0) {
                return bad(c, a->string, "given twice");
            }
        }
    }
    return ESP_OK;
}

/* A string field into a fixed buffer: absent -> ESP_OK and *found false. */
static esp_err_t get_string(ctx_t *c, const cJSON *obj, const char *key, char *out, size_t cap,
                            bool *found)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *found = item != NULL;
    if (item == NULL) {
        return ESP_OK;
    }
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return bad(c, key, "expected a string");
    }
    size_t len = strlen(item->valuestring);
    if (len >= cap) {
        otk_diag_set(c->diag, "%s.%s: %zu characters, at most %zu", c->field, key, len, cap - 1);
        return ESP_ERR_INVALID_SIZE;
    }
    memcpy(out, item->valuestring, len + 1);
    return ESP_OK;
}

static esp_err_t get_bool(ctx_t *c, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (item == NULL) {
        return ESP_OK;
    }
    if (!cJSON_IsBool(item)) {
        return bad(c, key, "expected true or false");
    }
    *out = cJSON_IsTrue(item);
    return ESP_OK;
}

static esp_err_t get_type(ctx_t *c, const cJSON *obj, otk_node_type_t *type)
{
    char text[8];
    bool found = false;
    if (get_string(c, obj, "type", text, sizeof text, &found) != ESP_OK || !found) {
        return bad(c, "type", "expected \"app\" or \"data\"");
    }
    if (strcmp(text, "app") == 0) {
        *type = OTK_NODE_APP;
    } else if (strcmp(text, "data") == 0) {
        *type = OTK_NODE_DATA;
    } else {
        return bad(c, "type", "expected \"app\" or \"data\"");
    }
    return ESP_OK;
}

static esp_err_t get_uri(ctx_t *c, const cJSON *obj, const char *base, otk_service_node_t *n)
{
    char *ref = c->ref;
    bool found = false;
    esp_err_t err = get_string(c, obj, "uri", ref, sizeof c->ref, &found);
    if (err != ESP_OK) {
        return err;
    }
    if (!found || ref[0] == '\0') {
        return bad(c, "uri", "required (file://, http:// or https://, or relative to the "
                             "manifest)");
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    if (base != NULL) {
        err = otk_uri_resolve(base, ref, n->uri, sizeof n->uri, &why);
    } else if (otk_uri_is_url(ref)) {
        memcpy(n->uri, ref, strlen(ref) + 1);
    } else {
        otk_diag_set(&why, "a relative URI needs the manifest's own URI");
        err = ESP_ERR_INVALID_ARG;
    }
    if (err == ESP_OK) {
        /* Refused now rather than when the node runs: a broken manifest is the
         * publisher's mistake and should fail loudly, as a whole. */
        err = otk_uri_parse(n->uri, strlen(n->uri), &c->parsed, &why);
    }
    if (err != ESP_OK) {
        otk_diag_set(c->diag, "%s.uri: %s", c->field, why.msg);
        return err == ESP_ERR_INVALID_SIZE ? ESP_ERR_INVALID_SIZE : ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

static esp_err_t get_label(ctx_t *c, const cJSON *obj, const char *key, char *out,
                           bool required)
{
    bool found = false;
    esp_err_t err = get_string(c, obj, key, out, OTK_PARTITION_LABEL_LEN + 1, &found);
    if (err == ESP_ERR_INVALID_SIZE) {
        return bad(c, key, "a partition label has at most 16 characters");
    }
    if (err != ESP_OK) {
        return err;
    }
    if (required && (!found || out[0] == '\0')) {
        return bad(c, key, "required for a data node: the partition to update");
    }
    return ESP_OK;
}

static esp_err_t get_checks(ctx_t *c, const cJSON *obj, otk_service_node_t *n)
{
    bool found = false;
    esp_err_t err = get_string(c, obj, "version", n->version, sizeof n->version, &found);
    if (err != ESP_OK) {
        return err;
    }
    if (found && otk_version_pack(n->version) == OTK_VERSION_NONE) {
        return bad(c, "version", "expected \"Vx.y.z\" with each part 0-255 (ADF's format)");
    }
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(obj, "sha256");
    if (sha != NULL) {
        if (!cJSON_IsString(sha) || sha->valuestring == NULL ||
            !otk_sha256_from_hex(sha->valuestring, strlen(sha->valuestring), n->sha256)) {
            return bad(c, "sha256", "expected 64 hex digits");
        }
        n->has_sha256 = true;
    }
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(obj, "size");
    if (size != NULL) {
        double v = cJSON_IsNumber(size) ? size->valuedouble : -1.0;
        if (!(v >= 1.0 && v <= (double)OTK_FLASH_MAX_SIZE) || !is_whole(v)) {
            return bad(c, "size", "expected a whole number of bytes, 1 up to the largest "
                                  "flash");
        }
        n->has_size = true;
        n->size = (uint32_t)v;
    }
    return ESP_OK;
}

static esp_err_t get_ca(ctx_t *c, const cJSON *obj, otk_service_node_t *n)
{
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(obj, "cert_pem");
    if (ca == NULL || cJSON_IsNull(ca)) {
        return ESP_OK;
    }
    if (!cJSON_IsString(ca) || ca->valuestring == NULL) {
        return bad(c, "cert_pem", "expected PEM text");
    }
    size_t len = strlen(ca->valuestring);
    if (len == 0 || len > OTK_MANIFEST_CA_MAX) {
        return bad(c, "cert_pem", "expected PEM text of at most 64 KiB");
    }
    n->cert_pem = malloc(len + 1);
    if (n->cert_pem == NULL) {
        otk_diag_set(c->diag, "manifest: out of memory");
        return ESP_ERR_NO_MEM;
    }
    memcpy(n->cert_pem, ca->valuestring, len + 1);
    return ESP_OK;
}

static esp_err_t parse_node(ctx_t *c, const cJSON *obj, const char *base, otk_service_node_t *n)
{
    if (!cJSON_IsObject(obj)) {
        return bad(c, "", "expected an object");
    }
    otk_node_type_t type = OTK_NODE_APP;
    esp_err_t err = check_unique(c, obj);
    if (err == ESP_OK) {
        err = get_type(c, obj, &type);
    }
    if (err != ESP_OK) {
        return err;
    }
    otk_service_node_init(n, type);
    err = get_label(c, obj, "label", n->label, type == OTK_NODE_DATA);
    if (err == ESP_OK && type == OTK_NODE_APP && n->label[0] != '\0') {
        err = bad(c, "label", "an app node takes no label: it goes to the next OTA slot");
    }
    if (err == ESP_OK) {
        err = get_label(c, obj, "staging", n->staging, false);
    }
    if (err == ESP_OK && type == OTK_NODE_APP && n->staging[0] != '\0') {
        err = bad(c, "staging", "only data nodes are staged (an app slot is its own "
                                "staging)");
    }
    if (err == ESP_OK && n->staging[0] != '\0' && strcmp(n->staging, n->label) == 0) {
        err = bad(c, "staging", "must be another partition than the one updated");
    }
    if (err == ESP_OK) {
        err = get_uri(c, obj, base, n);
    }
    if (err == ESP_OK) {
        err = get_checks(c, obj, n);
    }
    if (err == ESP_OK) {
        err = get_bool(c, obj, "reboot_flag", &n->reboot_flag);
    }
    if (err == ESP_OK) {
        err = get_bool(c, obj, "break_after_fail", &n->break_after_fail);
    }
    if (err == ESP_OK) {
        err = get_ca(c, obj, n);
    }
    return err;
}

/* The signed promises of the publisher (docs/manifest.md): checked for form here, against
 * the device's trust by otk_manifest_check_fresh. */
static esp_err_t get_freshness(ctx_t *c, const cJSON *root, otk_manifest_t *m)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "manifest_version");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || !is_whole(v->valuedouble) || v->valuedouble < 0 ||
            v->valuedouble > (double)OTK_MANIFEST_VERSION_MAX) {
            return bad(c, "manifest_version", "expected a whole number from 0 to 10^15 - 1");
        }
        m->has_manifest_version = true;
        m->manifest_version = (uint64_t)v->valuedouble;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "expires");
    if (e != NULL) {
        if (!cJSON_IsString(e) || e->valuestring == NULL ||
            !otk_rfc3339_parse(e->valuestring, &m->expires)) {
            return bad(c, "expires", "expected a UTC time like \"2026-05-01T12:00:00Z\"");
        }
        m->has_expires = true;
    }
    return ESP_OK;
}

static esp_err_t parse_root(ctx_t *c, const cJSON *root, const char *base, otk_manifest_t *m)
{
    if (!cJSON_IsObject(root)) {
        return bad(c, "", "expected an object {\"nodes\": [...]}");
    }
    esp_err_t err = check_unique(c, root);
    if (err != ESP_OK) {
        return err;
    }
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (format != NULL) {
        if (!cJSON_IsNumber(format) || format->valuedouble < 1 ||
            !is_whole(format->valuedouble)) {
            return bad(c, "format", "expected a whole number from 1");
        }
        if (format->valuedouble > MANIFEST_FORMAT) {
            otk_diag_set(c->diag, "manifest.format: %g is newer than this reader (%d)",
                         format->valuedouble, MANIFEST_FORMAT);
            return ESP_ERR_NOT_SUPPORTED;
        }
    }
    err = get_freshness(c, root, m);
    if (err != ESP_OK) {
        return err;
    }
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    if (!cJSON_IsArray(nodes)) {
        return bad(c, "nodes", "required: an array of nodes");
    }
    int count = cJSON_GetArraySize(nodes);
    if (count < 1 || count > (int)OTK_MANIFEST_MAX_NODES) {
        otk_diag_set(c->diag, "manifest.nodes: %d nodes, expected 1 to %u", count,
                     (unsigned)OTK_MANIFEST_MAX_NODES);
        return count < 1 ? ESP_ERR_INVALID_ARG : ESP_ERR_INVALID_SIZE;
    }
    int i = 0;
    for (const cJSON *n = nodes->child; n != NULL; n = n->next, i++) {
        snprintf(c->field, sizeof c->field, "nodes[%d]", i);
        err = parse_node(c, n, base, &m->nodes[i]);
        m->count = (size_t)i + 1; /* so free releases what this node allocated */
        if (err != ESP_OK) {
            return err;
        }
    }
    return ESP_OK;
}

esp_err_t otk_manifest_parse(const char *text, size_t len, const char *base_uri,
                             otk_manifest_t **out, otk_diag_t *diag)
{
    if (out == NULL || (text == NULL && len > 0)) {
        otk_diag_set(diag, "manifest: NULL argument");
        return ESP_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (len > OTK_MANIFEST_TEXT_MAX) {
        otk_diag_set(diag, "manifest: %zu bytes, at most %u", len,
                     (unsigned)OTK_MANIFEST_TEXT_MAX);
        return ESP_ERR_INVALID_SIZE;
    }
    if (len == 0 || memchr(text, '\0', len) != NULL) {
        otk_diag_set(diag, "manifest: %s", len == 0 ? "empty" : "a NUL byte in the text");
        return ESP_ERR_INVALID_ARG;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root == NULL) {
        size_t at = end != NULL && end >= text ? (size_t)(end - text) : 0;
        otk_diag_set(diag, "manifest: not valid JSON (at byte %zu)", at);
        return ESP_ERR_INVALID_ARG;
    }
    while (end != NULL && end < text + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) {
        end++;
    }
    if (end == NULL || end != text + len) {
        cJSON_Delete(root);
        otk_diag_set(diag, "manifest: text after the JSON value (at byte %zu)",
                     end != NULL ? (size_t)(end - text) : 0);
        return ESP_ERR_INVALID_ARG;
    }
    otk_manifest_t *m = calloc(1, sizeof *m);
    ctx_t *c = calloc(1, sizeof *c);
    if (m == NULL || c == NULL) {
        free(m);
        free(c);
        cJSON_Delete(root);
        otk_diag_set(diag, "manifest: out of memory");
        return ESP_ERR_NO_MEM;
    }
    snprintf(c->field, sizeof c->field, "manifest");
    c->diag = diag;
    esp_err_t err = parse_root(c, root, base_uri, m);
    free(c);
    cJSON_Delete(root);
    if (err != ESP_OK) {
        otk_manifest_free(m);
        return err;
    }
    *out = m;
    return ESP_OK;
}
