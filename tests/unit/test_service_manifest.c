/* The JSON manifest: the issue's form, defaults, relative URIs, every field's errors
 * (each naming the field), and the state file's JSON (round trip, refusals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/service.h"
#include "test_support.h"

#define BASE "https://fleet.example.com/v1/manifest.json"
#define SHA_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static otk_manifest_t *parse_ok(const char *text)
{
    otk_manifest_t *m = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_manifest_parse(text, strlen(text), BASE, &m, &diag);
    if (err != ESP_OK) {
        fail_msg("%s: %s", esp_err_to_name(err), diag.msg);
    }
    return m;
}

/* Parse must fail with err and a message containing what. */
static void parse_bad(const char *text, esp_err_t want, const char *what)
{
    otk_manifest_t *m = (otk_manifest_t *)1;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_manifest_parse(text, strlen(text), BASE, &m, &diag);
    if (err != want || m != NULL || strstr(diag.msg, what) == NULL) {
        fail_msg("'%s': got %s '%s', want %s '%s'", text, esp_err_to_name(err), diag.msg,
                 esp_err_to_name(want), what);
    }
}

static void test_issue_form(void **state)
{
    (void)state;
    otk_manifest_t *m = parse_ok(
        "{\"nodes\": [{\"type\": \"app\", \"uri\": \"app.bin\", \"version\": \"V2.0.0\", "
        "\"sha256\": \"" SHA_A "\", \"size\": 65872},"
        "{\"type\": \"data\", \"label\": \"storage\", \"uri\": \"../data/storage.bin\", "
        "\"version\": \"V1.0.1\", \"sha256\": \"" SHA_A "\", \"size\": 4096}]}");
    assert_int_equal(m->count, 2);
    const otk_service_node_t *a = &m->nodes[0], *d = &m->nodes[1];
    assert_int_equal(a->type, OTK_NODE_APP);
    assert_string_equal(a->uri, "https://fleet.example.com/v1/app.bin");
    assert_string_equal(a->version, "V2.0.0");
    assert_true(a->has_sha256 && a->has_size);
    assert_int_equal(a->size, 65872);
    assert_int_equal(a->sha256[0], 0xba);
    assert_true(a->reboot_flag); /* defaults: an app reboots, data does not */
    assert_false(a->break_after_fail);
    assert_null(a->cert_pem);
    assert_null(a->steps);
    assert_int_equal(d->type, OTK_NODE_DATA);
    assert_string_equal(d->label, "storage");
    assert_string_equal(d->staging, "");
    assert_string_equal(d->uri, "https://fleet.example.com/data/storage.bin");
    assert_false(d->reboot_flag);
    otk_manifest_free(m);
}

static void test_optional_fields(void **state)
{
    (void)state;
    otk_manifest_t *m = parse_ok(
        "{\"format\": 1, \"comment\": \"unknown keys are ignored\", \"nodes\": ["
        "{\"type\": \"data\", \"label\": \"storage\", \"staging\": \"spare\", "
        "\"uri\": \"file:///sd/tone.bin\", \"reboot_flag\": true, \"break_after_fail\": true, "
        "\"cert_pem\": \"-----BEGIN CERTIFICATE-----\\nMII\\n-----END CERTIFICATE-----\\n\", "
        "\"x-future\": {\"a\": [1, 2]}},"
        "{\"type\": \"app\", \"uri\": \"http://10.0.0.1:8070/hello.bin\", \"reboot_flag\": false,"
        " \"cert_pem\": null}]}");
    assert_int_equal(m->count, 2);
    assert_string_equal(m->nodes[0].staging, "spare");
    assert_string_equal(m->nodes[0].uri, "file:///sd/tone.bin");
    assert_true(m->nodes[0].reboot_flag && m->nodes[0].break_after_fail);
    assert_non_null(strstr(m->nodes[0].cert_pem, "BEGIN CERTIFICATE"));
    assert_false(m->nodes[0].has_sha256 || m->nodes[0].has_size);
    assert_string_equal(m->nodes[0].version, "");
    assert_false(m->nodes[1].reboot_flag);
    assert_null(m->nodes[1].cert_pem);
    otk_manifest_free(m);
}

static void test_errors(void **state)
{
    (void)state;
    parse_bad("", ESP_ERR_INVALID_ARG, "empty");
    parse_bad("{\"nodes\": [", ESP_ERR_INVALID_ARG, "not valid JSON");
    parse_bad("{\"nodes\": []} x", ESP_ERR_INVALID_ARG, "text after");
    parse_bad("[1]", ESP_ERR_INVALID_ARG, "expected an object");
    parse_bad("{}", ESP_ERR_INVALID_ARG, "manifest.nodes: required");
    parse_bad("{\"nodes\": {}}", ESP_ERR_INVALID_ARG, "manifest.nodes");
    parse_bad("{\"nodes\": []}", ESP_ERR_INVALID_ARG, "0 nodes");
    parse_bad("{\"nodes\": [], \"nodes\": []}", ESP_ERR_INVALID_ARG, "given twice");
    parse_bad("{\"format\": 2, \"nodes\": []}", ESP_ERR_NOT_SUPPORTED, "newer");
    parse_bad("{\"format\": 1.5, \"nodes\": []}", ESP_ERR_INVALID_ARG, "format");
    parse_bad("{\"nodes\": [7]}", ESP_ERR_INVALID_ARG, "nodes[0]: expected an object");
    parse_bad("{\"nodes\": [{\"uri\": \"a\"}]}", ESP_ERR_INVALID_ARG, "nodes[0].type");
    parse_bad("{\"nodes\": [{\"type\": \"bootloader\", \"uri\": \"a\"}]}", ESP_ERR_INVALID_ARG,
              "nodes[0].type");
    parse_bad("{\"nodes\": [{\"type\": \"app\"}]}", ESP_ERR_INVALID_ARG, "nodes[0].uri: required");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": 5}]}", ESP_ERR_INVALID_ARG,
              "nodes[0].uri: expected a string");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"ftp://h/a.bin\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].uri");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a b.bin\"}]}", ESP_ERR_INVALID_ARG,
              "nodes[0].uri");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"uri\": \"b\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].uri: given twice");
    parse_bad("{\"nodes\": [{\"type\": \"data\", \"uri\": \"a\"}]}", ESP_ERR_INVALID_ARG,
              "nodes[0].label: required");
    parse_bad("{\"nodes\": [{\"type\": \"data\", \"label\": \"seventeen-chars-x\", "
              "\"uri\": \"a\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].label: a partition label has at most 16");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"label\": \"ota_0\", \"uri\": \"a\"}]}",
              ESP_ERR_INVALID_ARG, "an app node takes no label");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"staging\": \"s\", \"uri\": \"a\"}]}",
              ESP_ERR_INVALID_ARG, "only data nodes are staged");
    parse_bad("{\"nodes\": [{\"type\": \"data\", \"label\": \"s\", \"staging\": \"s\", "
              "\"uri\": \"a\"}]}",
              ESP_ERR_INVALID_ARG, "another partition");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"version\": \"2.0.0\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].version");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"sha256\": \"abc\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].sha256: expected 64 hex digits");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"size\": 0}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].size");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"size\": 1.5}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].size");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"size\": \"10\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].size");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"size\": 1e12}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].size");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"reboot_flag\": 1}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].reboot_flag: expected true or false");
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"cert_pem\": \"\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[0].cert_pem");
    /* The second node's error names it; the first node's allocation is released. */
    parse_bad("{\"nodes\": [{\"type\": \"app\", \"uri\": \"a\", \"cert_pem\": \"x\"}, "
              "{\"type\": \"app\"}]}",
              ESP_ERR_INVALID_ARG, "nodes[1].uri");
}

static void test_limits(void **state)
{
    (void)state;
    /* 16 nodes fit, 17 do not. */
    char text[4096] = "{\"nodes\": [";
    for (int i = 0; i < 17; i++) {
        strcat(text, i > 0 ? ",{\"type\": \"app\", \"uri\": \"a.bin\"}"
                           : "{\"type\": \"app\", \"uri\": \"a.bin\"}");
        if (i == 15) {
            char ok[4096];
            strcpy(ok, text);
            strcat(ok, "]}");
            otk_manifest_t *m = parse_ok(ok);
            assert_int_equal(m->count, 16);
            otk_manifest_free(m);
        }
    }
    strcat(text, "]}");
    parse_bad(text, ESP_ERR_INVALID_SIZE, "17 nodes");
    /* Without a base URI, relative URIs are refused and absolute ones kept. */
    otk_manifest_t *m = NULL;
    const char *rel = "{\"nodes\": [{\"type\": \"app\", \"uri\": \"a.bin\"}]}";
    assert_int_equal(otk_manifest_parse(rel, strlen(rel), NULL, &m, NULL), ESP_ERR_INVALID_ARG);
    const char *abs = "{\"nodes\": [{\"type\": \"app\", \"uri\": \"file:///x/a.bin\"}]}";
    assert_int_equal(otk_manifest_parse(abs, strlen(abs), NULL, &m, NULL), ESP_OK);
    assert_string_equal(m->nodes[0].uri, "file:///x/a.bin");
    otk_manifest_free(m);
    /* A NUL inside the text, and no text. */
    assert_int_equal(otk_manifest_parse("{\0}", 3, BASE, &m, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_manifest_parse(NULL, 0, BASE, &m, NULL), ESP_ERR_INVALID_ARG);
    otk_manifest_free(NULL);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    otk_service_state_t s, back;
    otk_service_state_init(&s);
    s.record_count = 2;
    strcpy(s.records[0].label, "storage");
    s.records[0].state = OTK_SERVICE_PART_VALID;
    strcpy(s.records[0].version, "V1.0.1");
    s.records[0].size = 4096;
    s.records[0].sha256[31] = 0x5a;
    strcpy(s.records[1].label, "small");
    s.records[1].state = OTK_SERVICE_PART_TORN;
    s.commit.active = true;
    strcpy(s.commit.target, "storage");
    strcpy(s.commit.staging, "staging");
    s.commit.size = 4096;
    s.commit.sha256[0] = 1;
    s.resume.active = true;
    strcpy(s.resume.uri, "https://h/app.bin");
    s.resume.has_sha256 = true;
    strcpy(s.resume.partition, "ota_0");
    s.resume.offset = 0x10000;
    s.resume.identity.length = 123456;
    strcpy(s.resume.identity.etag, "\"abc-1\"");
    s.manifest.active = true;
    strcpy(s.manifest.uri, "https://h/m.json");
    char *text = otk_service_state_format(&s);
    assert_non_null(text);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_service_state_parse(text, strlen(text), &back, &diag), ESP_OK);
    free(text);
    assert_int_equal(back.record_count, 2);
    assert_memory_equal(&back.records[0], &s.records[0], sizeof s.records[0]);
    assert_int_equal(back.records[1].state, OTK_SERVICE_PART_TORN);
    assert_memory_equal(&back.commit, &s.commit, sizeof s.commit);
    assert_memory_equal(&back.resume, &s.resume, sizeof s.resume);
    assert_memory_equal(&back.manifest, &s.manifest, sizeof s.manifest);

    static const char *const bad[] = {
        "{}",
        "{\"format\": 2}",
        "{\"format\": 1, \"partitions\": [{\"label\": \"a\", \"state\": \"odd\"}]}",
        "{\"format\": 1, \"partitions\": [{\"label\": \"a\", \"state\": \"torn\"}, "
        "{\"label\": \"a\", \"state\": \"torn\"}]}",
        "{\"format\": 1, \"commit\": {\"target\": \"a\"}}",
        "{\"format\": 1, \"resume\": {\"uri\": \"u\", \"partition\": \"p\", \"offset\": -1, "
        "\"length\": 1}}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (otk_service_state_parse(bad[i], strlen(bad[i]), &back, &diag) != ESP_ERR_INVALID_ARG) {
            fail_msg("accepted: %s", bad[i]);
        }
    }
}

static void test_state_file(void **state)
{
    (void)state;
    const char *dir = ts_make_temp_dir();
    char path[256];
    assert_true(otk_service_state_path("/x/dev.bin", path, sizeof path));
    assert_string_equal(path, "/x/dev.bin.service");
    snprintf(path, sizeof path, "%s/dev.bin.service", dir);
    otk_service_state_t s;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    /* Missing: a fresh state. */
    assert_int_equal(otk_service_state_load(path, &s, &diag), ESP_OK);
    assert_int_equal(s.record_count, 0);
    s.record_count = 1;
    strcpy(s.records[0].label, "storage");
    assert_int_equal(otk_service_state_save(path, &s, &diag), ESP_OK);
    otk_service_state_t back;
    assert_int_equal(otk_service_state_load(path, &back, &diag), ESP_OK);
    assert_string_equal(back.records[0].label, "storage");
    /* A damaged file is refused with its name, not taken as empty. */
    FILE *f = fopen(path, "w");
    fputs("{\"format\": 1, \"partitions\": 3}", f);
    fclose(f);
    assert_int_equal(otk_service_state_load(path, &back, &diag), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, path));
    ts_cleanup_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_form),       cmocka_unit_test(test_optional_fields),
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_limits),
        cmocka_unit_test(test_state_round_trip), cmocka_unit_test(test_state_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
