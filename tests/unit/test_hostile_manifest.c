/* Hostile manifests: numbers that are negative, fractional, huge, past 2^53 and past
 * 2^1023; sizes of 0, one past the largest flash, and ones that parse but exceed the
 * partition the node writes; 17 and 1000 nodes; JSON nested 100000 deep; a text one byte
 * over the limit. Each is refused naming the field, and a node too large for its slot is
 * refused before its partition is erased: the flash hashes the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "otakit/service.h"
#include "service_fixture.h"
#include "test_support.h"

#define BASE "https://fleet.example.com/m.json"
#define APP_NODE "{\"type\": \"app\", \"uri\": \"a.bin\""
/* Deeper than any parser's stack should follow: cJSON stops at 1000 levels. */
#define DEEP 100000u

static void expect_refused(const char *text, size_t len, esp_err_t want, const char *what)
{
    otk_manifest_t *m = (otk_manifest_t *)1;
    otk_diag_t d;
    otk_diag_clear(&d);
    esp_err_t err = otk_manifest_parse(text, len, BASE, &m, &d);
    char name[80];
    snprintf(name, sizeof name, "%.70s", text);
    hs_expect(name, err, want, d.msg, what);
    assert_null(m);
}

static void expect_field(const char *text, esp_err_t want, const char *what)
{
    expect_refused(text, strlen(text), want, what);
}

static void test_numbers(void **state)
{
    (void)state;
    static const char *const sizes[] = {"0", "-1", "-0.5", "1.5", "1e300", "-1e300",
                                        "268435457", "4294967296", "9007199254740993",
                                        "\"20000\"", "null", "true", "[1]"};
    char text[256];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(text, sizeof text, "{\"nodes\": [" APP_NODE ", \"size\": %s}]}", sizes[i]);
        expect_field(text, ESP_ERR_INVALID_ARG,
                     "nodes[0].size: expected a whole number of bytes, 1 up to the largest flash");
    }
    /* The largest flash (256 MiB) is a size the reader takes. */
    otk_manifest_t *m = NULL;
    snprintf(text, sizeof text, "{\"nodes\": [" APP_NODE ", \"size\": 268435456}]}");
    assert_int_equal(otk_manifest_parse(text, strlen(text), BASE, &m, NULL), ESP_OK);
    assert_int_equal(m->nodes[0].size, 268435456u);
    otk_manifest_free(m);
    /* 1e308 is no format number either: past 2^53 a double is no whole number. */
    static const char *const formats[] = {"-1", "0", "0.5", "-1e308", "1e308", "\"1\""};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        snprintf(text, sizeof text, "{\"format\": %s, \"nodes\": [" APP_NODE "}]}", formats[i]);
        expect_field(text, ESP_ERR_INVALID_ARG, "manifest.format: expected a whole number from 1");
    }
    expect_field("{\"format\": 2, \"nodes\": [" APP_NODE "}]}", ESP_ERR_NOT_SUPPORTED,
                 "manifest.format: 2 is newer than this reader (1)");
    static const char *const versions[] = {"-1", "1e16", "1e300", "0.1", "\"7\""};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        snprintf(text, sizeof text, "{\"manifest_version\": %s, \"nodes\": [" APP_NODE "}]}",
                 versions[i]);
        expect_field(text, ESP_ERR_INVALID_ARG, "manifest.manifest_version: expected a whole");
    }
    /* A version string past ADF's 32 characters, and one whose parts pass 255. */
    expect_field("{\"nodes\": [" APP_NODE ", \"version\": \"V1.2.3333333333333333333333333333333"
                 "33333\"}]}",
                 ESP_ERR_INVALID_SIZE, "nodes[0].version: 41 characters, at most 32");
    expect_field("{\"nodes\": [" APP_NODE ", \"version\": \"V256.0.0\"}]}", ESP_ERR_INVALID_ARG,
                 "nodes[0].version: expected \"Vx.y.z\" with each part 0-255");
}

/* A manifest of n app nodes. */
static char *many_nodes(size_t n)
{
    size_t cap = 64 + n * 48;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t at = (size_t)snprintf(text, cap, "{\"nodes\": [");
    for (size_t i = 0; i < n; i++) {
        at += (size_t)snprintf(text + at, cap - at, "%s" APP_NODE "}", i > 0 ? ", " : "");
    }
    snprintf(text + at, cap - at, "]}");
    return text;
}

static void test_counts_and_depth(void **state)
{
    (void)state;
    char *text = many_nodes(16);
    otk_manifest_t *m = NULL;
    assert_int_equal(otk_manifest_parse(text, strlen(text), BASE, &m, NULL), ESP_OK);
    assert_int_equal(m->count, 16);
    otk_manifest_free(m);
    free(text);
    text = many_nodes(17);
    expect_field(text, ESP_ERR_INVALID_SIZE, "manifest.nodes: 17 nodes, expected 1 to 16");
    free(text);
    text = many_nodes(1000);
    expect_field(text, ESP_ERR_INVALID_SIZE, "manifest.nodes: 1000 nodes, expected 1 to 16");
    free(text);
    expect_field("{\"nodes\": []}", ESP_ERR_INVALID_ARG, "manifest.nodes: 0 nodes");
    /* Nested 100000 deep: refused as JSON, the stack untouched by the depth. */
    text = malloc(2 * DEEP + 1);
    assert_non_null(text);
    memset(text, '[', DEEP);
    memset(text + DEEP, ']', DEEP);
    text[2 * DEEP] = '\0';
    expect_field(text, ESP_ERR_INVALID_ARG, "manifest: not valid JSON");
    free(text);
    /* One byte over the limit is refused before it is parsed. */
    text = malloc(OTK_MANIFEST_TEXT_MAX + 1);
    assert_non_null(text);
    memset(text, ' ', OTK_MANIFEST_TEXT_MAX + 1);
    expect_refused(text, OTK_MANIFEST_TEXT_MAX + 1, ESP_ERR_INVALID_SIZE,
                   "manifest: 262145 bytes, at most 262144");
    free(text);
}

/* Sizes the reader takes (up to 256 MiB) but the slot cannot: refused when the node runs,
 * before its partition is touched. */
static void test_larger_than_the_slot(void **state)
{
    (void)state;
    static sf_t f;
    sf_start(&f, true);
    size_t len = 0;
    const uint8_t *app = sf_app("V2.0.0", &len);
    /* The app image, then filler to 0x10001 bytes: one byte more than the 64 KiB slot. */
    static uint8_t big[0x10001];
    memset(big, 0xFF, sizeof big);
    memcpy(big, app, len);
    const char *app_uri = sf_file(&f, "big.bin", big, sizeof big);
    const char *data_uri = sf_file(&f, "data.bin", big, SF_DATA_SIZE + 4);
    uint8_t before[32];
    hs_flash_sha(f.flash, before);
    otk_service_node_t nodes[2];
    otk_service_node_init(&nodes[0], OTK_NODE_APP);
    snprintf(nodes[0].uri, sizeof nodes[0].uri, "%s", app_uri);
    nodes[0].has_size = true;
    nodes[0].size = sizeof big;
    otk_service_node_init(&nodes[1], OTK_NODE_DATA);
    snprintf(nodes[1].uri, sizeof nodes[1].uri, "%s", data_uri);
    snprintf(nodes[1].label, sizeof nodes[1].label, "storage");
    nodes[1].has_size = true;
    nodes[1].size = SF_DATA_SIZE + 4;
    assert_int_equal(sf_run(&f, nodes, 2), ESP_OK);
    for (int i = 0; i < 2; i++) {
        const otk_service_node_result_t *r = &f.report.nodes[i];
        assert_int_equal(r->status, OTK_SERVICE_NODE_FAILED);
        hs_expect(i == 0 ? "app over its slot" : "data over its partition",
                  (esp_err_t)r->reason, (esp_err_t)OTK_SERVICE_ERR_REASON_IMAGE_TOO_LARGE,
                  r->message, i == 0 ? "an image of 65537 bytes does not fit ota_0 (0x10000"
                                     : "does not fit storage");
        assert_int_equal(r->bytes, 0);
    }
    hs_unchanged("nodes over their partitions", f.flash, before);
    sf_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_counts_and_depth),
        cmocka_unit_test(test_larger_than_the_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
