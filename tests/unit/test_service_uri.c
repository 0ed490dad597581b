/* Relative URIs in a manifest resolved against the manifest's own URI: RFC 3986's own
 * examples (section 5.4, normal and abnormal; fragments are dropped, as they are never
 * sent to a server), then file:// bases and the errors. */
#include <string.h>

#include "otakit/manifest.h"
#include "test_support.h"

typedef struct {
    const char *ref;
    const char *want;
} case_t;

static void check(const char *base, const case_t *cases, size_t n)
{
    char out[OTK_URI_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        otk_diag_t diag;
        otk_diag_clear(&diag);
        esp_err_t err = otk_uri_resolve(base, cases[i].ref, out, sizeof out, &diag);
        if (err != ESP_OK || strcmp(out, cases[i].want) != 0) {
            fail_msg("'%s' against '%s': got '%s' (%s %s), want '%s'", cases[i].ref, base, out,
                     esp_err_to_name(err), diag.msg, cases[i].want);
        }
    }
}

static void test_rfc3986_normal(void **state)
{
    (void)state;
    static const case_t cases[] = {
        {"g:h", "g:h"},
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q"},
        {"g#s", "http://a/b/c/g"},
        {"g?y#s", "http://a/b/c/g?y"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
    };
    check("http://a/b/c/d;p?q", cases, sizeof cases / sizeof cases[0]);
}

static void test_rfc3986_abnormal(void **state)
{
    (void)state;
    static const case_t cases[] = {
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g"},
        {"g#s/../x", "http://a/b/c/g"},
        {"http:g", "http:g"},
    };
    check("http://a/b/c/d;p?q", cases, sizeof cases / sizeof cases[0]);
}

static void test_manifest_bases(void **state)
{
    (void)state;
    static const case_t file_cases[] = {
        {"app.bin", "file:///srv/fleet/app.bin"},
        {"img/data%20v2.bin", "file:///srv/fleet/img/data%20v2.bin"},
        {"../images/app.bin", "file:///srv/images/app.bin"},
        {"/abs/app.bin", "file:///abs/app.bin"},
        {"https://cdn.example.com/app.bin", "https://cdn.example.com/app.bin"},
        {"file:///other/app.bin", "file:///other/app.bin"},
    };
    check("file:///srv/fleet/manifest.json", file_cases,
          sizeof file_cases / sizeof file_cases[0]);
    static const case_t http_cases[] = {
        {"app.bin", "https://fleet.example.com:8443/v1/app.bin"},
        {"app.bin?token=x", "https://fleet.example.com:8443/v1/app.bin?token=x"},
        {"//cdn.example.com/a.bin", "https://cdn.example.com/a.bin"},
        {"/root.bin", "https://fleet.example.com:8443/root.bin"},
    };
    check("https://fleet.example.com:8443/v1/manifest.json?device=7", http_cases,
          sizeof http_cases / sizeof http_cases[0]);
    /* A base with an authority and no path. */
    static const case_t bare[] = {{"app.bin", "http://h/app.bin"}, {"", "http://h"}};
    check("http://h", bare, 2);
}

static void test_errors(void **state)
{
    (void)state;
    char out[32];
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_uri_resolve("manifest.json", "app.bin", out, sizeof out, &diag),
                     ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, "no scheme"));
    assert_int_equal(otk_uri_resolve("http://a/b", "a-long-name-that-does-not-fit.bin", out,
                                     sizeof out, &diag),
                     ESP_ERR_INVALID_SIZE);
    assert_string_equal(out, "");
    assert_int_equal(otk_uri_resolve(NULL, "x", out, sizeof out, NULL), ESP_ERR_INVALID_ARG);
    /* Exactly filling the buffer works. */
    assert_int_equal(otk_uri_resolve("http://a/", "0123456789012345678901", out, sizeof out,
                                     NULL),
                     ESP_OK);
    assert_int_equal(strlen(out), sizeof out - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3986_normal),
        cmocka_unit_test(test_rfc3986_abnormal),
        cmocka_unit_test(test_manifest_bases),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
