/* FLASH.service: what the update service keeps between runs (otakit/service.h), as JSON
 * (cJSON). It stands in for a real device's NVS: the records of the data partitions it
 * wrote, the commit record of a staged data update, the download checkpoint, and the
 * manifest last applied. Parsed strictly on types, tolerant of keys it does not know. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "otakit/service.h"

#define STATE_FORMAT 1
/* Resource lengths are kept as JSON numbers: doubles, exact up to 2^53. */
#define STATE_LENGTH_MAX 9007199254740992.0

void otk_service_state_init(otk_service_state_t *state)
{
    memset(state, 0, sizeof *state);
}

otk_service_record_t *otk_service_state_record(otk_service_state_t *state, const char *label)
{
    for (size_t i = 0; i < state->record_count; i++) {
        if (strcmp(state->records[i].label, label) == 0) {
            return &state->records[i];
        }
    }
    return NULL;
}

bool otk_service_state_path(const char *flash_path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", flash_path, OTK_SERVICE_STATE_SUFFIX);
    return n > 0 && (size_t)n < cap;
}

/* ---- format ----------------------------------------------------------------------------- */

static bool add_hex(cJSON *obj, const char *key, const uint8_t sha[OTK_SHA256_LEN])
{
    char hex[2 * OTK_SHA256_LEN + 1];
    return cJSON_AddStringToObject(obj, key, otk_sha256_to_hex(sha, hex)) != NULL;
}

static bool add_record(cJSON *arr, const otk_service_record_t *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return false;
    }
    bool torn = r->state == OTK_SERVICE_PART_TORN;
    return cJSON_AddStringToObject(o, "label", r->label) != NULL &&
           cJSON_AddStringToObject(o, "state", torn ? "torn" : "valid") != NULL &&
           (torn || (cJSON_AddStringToObject(o, "version", r->version) != NULL &&
                     add_hex(o, "sha256", r->sha256) &&
                     cJSON_AddNumberToObject(o, "size", r->size) != NULL));
}

static bool add_commit(cJSON *root, const otk_service_commit_t *c)
{
    cJSON *o = cJSON_AddObjectToObject(root, "commit");
    return o != NULL && cJSON_AddStringToObject(o, "target", c->target) != NULL &&
           cJSON_AddStringToObject(o, "staging", c->staging) != NULL &&
           cJSON_AddNumberToObject(o, "size", c->size) != NULL && add_hex(o, "sha256", c->sha256) &&
           cJSON_AddStringToObject(o, "version", c->version) != NULL;
}

static bool add_resume(cJSON *root, const otk_service_resume_t *r)
{
    cJSON *o = cJSON_AddObjectToObject(root, "resume");
    return o != NULL && cJSON_AddStringToObject(o, "uri", r->uri) != NULL &&
           (!r->has_sha256 || add_hex(o, "sha256", r->sha256)) &&
           cJSON_AddStringToObject(o, "partition", r->partition) != NULL &&
           cJSON_AddNumberToObject(o, "offset", r->offset) != NULL &&
           cJSON_AddNumberToObject(o, "length", (double)r->identity.length) != NULL &&
           cJSON_AddStringToObject(o, "etag", r->identity.etag) != NULL &&
           cJSON_AddStringToObject(o, "last_modified", r->identity.last_modified) != NULL;
}

static bool add_seen(cJSON *root, const otk_service_seen_t *m)
{
    cJSON *o = cJSON_AddObjectToObject(root, "manifest");
    return o != NULL && cJSON_AddStringToObject(o, "uri", m->uri) != NULL &&
           cJSON_AddStringToObject(o, "etag", m->etag) != NULL && add_hex(o, "sha256", m->sha256);
}

static bool add_floor(cJSON *root, const otk_service_floor_t *f)
{
    cJSON *o = cJSON_AddObjectToObject(root, "manifest_floor");
    return o != NULL && cJSON_AddNumberToObject(o, "version", (double)f->version) != NULL &&
           add_hex(o, "sha256", f->sha256);
}

char *otk_service_state_format(const otk_service_state_t *state)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL && cJSON_AddNumberToObject(root, "format", STATE_FORMAT) != NULL;
    cJSON *arr = ok ? cJSON_AddArrayToObject(root, "partitions") : NULL;
    ok = ok && arr != NULL;
    for (size_t i = 0; ok && i < state->record_count; i++) {
        ok = add_record(arr, &state->records[i]);
    }
    ok = ok && (!state->commit.active || add_commit(root, &state->commit));
    ok = ok && (!state->resume.active || add_resume(root, &state->resume));
    ok = ok && (!state->manifest.active || add_seen(root, &state->manifest));
    ok = ok && (!state->floor.active || add_floor(root, &state->floor));
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* ---- parse ------------------------------------------------------------------------------ */

typedef struct {
    const char *where;
    otk_diag_t *diag;
} pctx_t;

static bool fail(pctx_t *p, const char *key, const char *what)
{
    otk_diag_set(p->diag, "%s.%s: %s", p->where, key, what);
    return false;
}

static bool get_str(pctx_t *p, const cJSON *o, const char *key, char *out, size_t cap,
                    bool required)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (it == NULL) {
        out[0] = '\0';
        return !required || fail(p, key, "missing");
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL || strlen(it->valuestring) >= cap) {
        return fail(p, key, "expected a string that fits");
    }
    memcpy(out, it->valuestring, strlen(it->valuestring) + 1);
    return true;
}

static bool get_num(pctx_t *p, const cJSON *o, const char *key, double lo, double hi,
                    double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi) ||
        (double)(int64_t)it->valuedouble != it->valuedouble) {
        return fail(p, key, "expected a whole number in range");
    }
    *out = it->valuedouble;
    return true;
}

static bool get_sha(pctx_t *p, const cJSON *o, const char *key, uint8_t out[OTK_SHA256_LEN],
                    bool *present)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (present != NULL) {
        *present = it != NULL;
        if (it == NULL) {
            return true;
        }
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL ||
        !otk_sha256_from_hex(it->valuestring, strlen(it->valuestring), out)) {
        return fail(p, key, "expected 64 hex digits");
    }
    return true;
}

static bool get_version(pctx_t *p, const cJSON *o, char *out)
{
    if (!get_str(p, o, "version", out, OTK_VERSION_TEXT_MAX + 1, true)) {
        return false;
    }
    return out[0] == '\0' || otk_version_pack(out) != OTK_VERSION_NONE ||
           fail(p, "version", "expected \"\" or Vx.y.z");
}

static bool parse_record(pctx_t *p, const cJSON *o, otk_service_record_t *r)
{
    char state[8];
    double size = 0;
    memset(r, 0, sizeof *r);
    if (!cJSON_IsObject(o) || !get_str(p, o, "label", r->label, sizeof r->label, true) ||
        r->label[0] == '\0' || !get_str(p, o, "state", state, sizeof state, true)) {
        return fail(p, "label", "expected {\"label\", \"state\", ...}");
    }
    if (strcmp(state, "torn") == 0) {
        r->state = OTK_SERVICE_PART_TORN;
        return true;
    }
    if (strcmp(state, "valid") != 0) {
        return fail(p, "state", "expected \"valid\" or \"torn\"");
    }
    r->state = OTK_SERVICE_PART_VALID;
    if (!get_version(p, o, r->version) || !get_sha(p, o, "sha256", r->sha256, NULL) ||
        !get_num(p, o, "size", 0, OTK_FLASH_MAX_SIZE, &size)) {
        return false;
    }
    r->size = (uint32_t)size;
    return true;
}

static bool parse_records(pctx_t *p, const cJSON *root, otk_service_state_t *s)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "partitions");
    if (arr == NULL) {
        return true;
    }
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > (int)OTK_SERVICE_MAX_RECORDS) {
        return fail(p, "partitions", "expected an array of at most 16 records");
    }
    p->where = "state.partitions[]";
    for (const cJSON *o = arr->child; o != NULL; o = o->next) {
        otk_service_record_t *r = &s->records[s->record_count];
        if (!parse_record(p, o, r)) {
            return false;
        }
        if (otk_service_state_record(s, r->label) != NULL) {
            return fail(p, "label", "a partition recorded twice");
        }
        s->record_count++;
    }
    return true;
}

static bool parse_commit(pctx_t *p, const cJSON *o, otk_service_commit_t *c)
{
    double size = 0;
    p->where = "state.commit";
    c->active = true;
    bool ok = cJSON_IsObject(o) && get_str(p, o, "target", c->target, sizeof c->target, true) &&
              get_str(p, o, "staging", c->staging, sizeof c->staging, true) &&
              get_num(p, o, "size", 1, OTK_FLASH_MAX_SIZE, &size) &&
              get_sha(p, o, "sha256", c->sha256, NULL) && get_version(p, o, c->version);
    c->size = (uint32_t)size;
    return ok;
}

static bool parse_resume(pctx_t *p, const cJSON *o, otk_service_resume_t *r)
{
    double offset = 0, length = 0;
    p->where = "state.resume";
    r->active = true;
    bool ok = cJSON_IsObject(o) && get_str(p, o, "uri", r->uri, sizeof r->uri, true) &&
              get_sha(p, o, "sha256", r->sha256, &r->has_sha256) &&
              get_str(p, o, "partition", r->partition, sizeof r->partition, true) &&
              get_num(p, o, "offset", 0, OTK_FLASH_MAX_SIZE, &offset) &&
              get_num(p, o, "length", -1, STATE_LENGTH_MAX, &length) &&
              get_str(p, o, "etag", r->identity.etag, sizeof r->identity.etag, false) &&
              get_str(p, o, "last_modified", r->identity.last_modified,
                      sizeof r->identity.last_modified, false);
    r->offset = (uint32_t)offset;
    r->identity.length = (int64_t)length;
    return ok;
}

static bool parse_seen(pctx_t *p, const cJSON *o, otk_service_seen_t *m)
{
    p->where = "state.manifest";
    m->active = true;
    return cJSON_IsObject(o) && get_str(p, o, "uri", m->uri, sizeof m->uri, true) &&
           get_str(p, o, "etag", m->etag, sizeof m->etag, false) &&
           get_sha(p, o, "sha256", m->sha256, NULL);
}

static bool parse_floor(pctx_t *p, const cJSON *o, otk_service_floor_t *f)
{
    double version = 0;
    p->where = "state.manifest_floor";
    f->active = true;
    bool ok = cJSON_IsObject(o) &&
              get_num(p, o, "version", 0, (double)OTK_MANIFEST_VERSION_MAX, &version) &&
              get_sha(p, o, "sha256", f->sha256, NULL);
    f->version = (uint64_t)version;
    return ok;
}

/* An optional object member: absent or null means inactive. */
static const cJSON *member(const cJSON *root, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    return it == NULL || cJSON_IsNull(it) ? NULL : it;
}

esp_err_t otk_service_state_parse(const char *text, size_t len, otk_service_state_t *state,
                                  otk_diag_t *diag)
{
    otk_service_state_init(state);
    if (text == NULL || len == 0 || len > OTK_SERVICE_STATE_FILE_MAX ||
        memchr(text, '\0', len) != NULL) {
        otk_diag_set(diag, "state: empty, too large or not text");
        return ESP_ERR_INVALID_ARG;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        otk_diag_set(diag, "state: not a JSON object");
        return ESP_ERR_INVALID_ARG;
    }
    pctx_t p = {.where = "state", .diag = diag};
    double format = 0;
    bool ok = get_num(&p, root, "format", 1, STATE_FORMAT, &format) &&
              parse_records(&p, root, state);
    const cJSON *it = member(root, "commit");
    ok = ok && (it == NULL || parse_commit(&p, it, &state->commit));
    it = member(root, "resume");
    ok = ok && (it == NULL || parse_resume(&p, it, &state->resume));
    it = member(root, "manifest");
    ok = ok && (it == NULL || parse_seen(&p, it, &state->manifest));
    it = member(root, "manifest_floor");
    ok = ok && (it == NULL || parse_floor(&p, it, &state->floor));
    cJSON_Delete(root);
    if (!ok) {
        otk_service_state_init(state);
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}
