/* The source layer's URI parser: what it accepts (and the fields it gives), what it
 * refuses (with the position and the reason), and that the normalized form parses back to
 * the same fields. */
#include <string.h>

#include "otakit/source.h"
#include "test_support.h"

static esp_err_t parse(const char *text, otk_uri_t *uri, otk_diag_t *diag)
{
    otk_diag_clear(diag);
    return otk_uri_parse(text, strlen(text), uri, diag);
}

static void assert_roundtrip(const otk_uri_t *uri)
{
    otk_uri_t again;
    otk_diag_t diag;
    assert_int_equal(parse(uri->normalized, &again, &diag), ESP_OK);
    assert_memory_equal(uri, &again, sizeof again);
}

static void test_https_fields(void **state)
{
    (void)state;
    otk_uri_t u;
    otk_diag_t d;
    assert_int_equal(parse("HTTPS://Updates.Example.COM:8443/fw/app.bin?v=2#frag", &u, &d),
                     ESP_OK);
    assert_int_equal(u.scheme, OTK_URI_HTTPS);
    assert_string_equal(u.host, "updates.example.com");
    assert_int_equal(u.port, 8443);
    assert_true(u.port_given);
    assert_false(u.ipv6);
    assert_string_equal(u.path, "/fw/app.bin?v=2");
    assert_string_equal(u.normalized, "https://updates.example.com:8443/fw/app.bin?v=2");
    assert_roundtrip(&u);
}

static void test_defaults_and_ipv6(void **state)
{
    (void)state;
    otk_uri_t u;
    otk_diag_t d;
    assert_int_equal(parse("http://127.0.0.1", &u, &d), ESP_OK);
    assert_int_equal(u.port, 80);
    assert_false(u.port_given);
    assert_string_equal(u.path, "/");
    assert_string_equal(u.normalized, "http://127.0.0.1/");
    assert_int_equal(parse("https://host?x=1", &u, &d), ESP_OK);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.path, "/?x=1");
    assert_roundtrip(&u);
    assert_int_equal(parse("http://[::1]:8080/a%20b", &u, &d), ESP_OK);
    assert_true(u.ipv6);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.path, "/a%20b");
    assert_string_equal(u.normalized, "http://[::1]:8080/a%20b");
    assert_roundtrip(&u);
}

static void test_file_paths(void **state)
{
    (void)state;
    otk_uri_t u;
    otk_diag_t d;
    assert_int_equal(parse("file:///tmp/dir%20x/app.bin", &u, &d), ESP_OK);
    assert_int_equal(u.scheme, OTK_URI_FILE);
    assert_string_equal(u.path, "/tmp/dir x/app.bin");
    assert_string_equal(u.normalized, "file:///tmp/dir%20x/app.bin");
    assert_roundtrip(&u);
    assert_int_equal(parse("file://localhost/a%3Fb", &u, &d), ESP_OK);
    assert_string_equal(u.path, "/a?b");
    assert_string_equal(u.normalized, "file:///a%3Fb");
    assert_roundtrip(&u);
}

static void expect_refused(const char *text, esp_err_t err, const char *why)
{
    otk_uri_t u;
    otk_diag_t d;
    assert_int_equal(parse(text, &u, &d), err);
    if (strstr(d.msg, why) == NULL) {
        fail_msg("'%s': diag '%s' lacks '%s'", text, d.msg, why);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("ftp://host/x", ESP_ERR_NOT_SUPPORTED, "scheme 'ftp' is not supported");
    expect_refused("/tmp/app.bin", ESP_ERR_INVALID_ARG, "does not start with scheme://");
    expect_refused("http://", ESP_ERR_INVALID_ARG, "no host");
    expect_refused("http://:80/x", ESP_ERR_INVALID_ARG, "empty host");
    expect_refused("http://user:pw@host/x", ESP_ERR_INVALID_ARG, "credentials");
    expect_refused("http://host:0/x", ESP_ERR_INVALID_ARG, "port 0 is not in 1..65535");
    expect_refused("http://host:65536/x", ESP_ERR_INVALID_ARG, "port 65536");
    expect_refused("http://host:/x", ESP_ERR_INVALID_ARG, "expected 1 to 5 digits");
    expect_refused("http://host:8a/x", ESP_ERR_INVALID_ARG, "'a' is not a digit");
    expect_refused("http://ho st/x", ESP_ERR_INVALID_ARG, "space at position 9");
    expect_refused("http://host/a b", ESP_ERR_INVALID_ARG, "space at position 13");
    expect_refused("http://host/a\tb", ESP_ERR_INVALID_ARG, "control character 0x09");
    expect_refused("http://host/\xc3\xa9", ESP_ERR_INVALID_ARG, "non-ASCII byte 0xc3");
    expect_refused("http://host/a%zz", ESP_ERR_INVALID_ARG, "not followed by two hex digits");
    expect_refused("http://host/a%2", ESP_ERR_INVALID_ARG, "not followed by two hex digits");
    expect_refused("http://host/a<b", ESP_ERR_INVALID_ARG, "'<' at position 13 must be");
    expect_refused("http://[::1/x", ESP_ERR_INVALID_ARG, "has no ']'");
    expect_refused("http://[zz]/x", ESP_ERR_INVALID_ARG, "IPv6 literal");
    expect_refused("http://ho%41st/", ESP_ERR_INVALID_ARG, "in the host name");
    expect_refused("file://otherhost/x", ESP_ERR_INVALID_ARG, "only local files");
    expect_refused("file://", ESP_ERR_INVALID_ARG, "without an absolute path");
    expect_refused("file:///a%00b", ESP_ERR_INVALID_ARG, "%00");
    expect_refused("file:///a?b", ESP_ERR_INVALID_ARG, "no query");
    otk_uri_t u;
    otk_diag_t d;
    const char nul[] = "http://host/a\0b";
    assert_int_equal(otk_uri_parse(nul, sizeof nul - 1, &u, &d), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(d.msg, "NUL character at position 13"));
    static char longest[OTK_URI_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    memcpy(longest, "http://h/", 9);
    assert_int_equal(otk_uri_parse(longest, OTK_URI_MAX + 1, &u, &d), ESP_ERR_INVALID_ARG);
    assert_int_equal(otk_uri_parse(longest, OTK_URI_MAX, &u, &d), ESP_OK);
    assert_roundtrip(&u);
    assert_int_equal(otk_uri_parse(NULL, 0, &u, &d), ESP_ERR_INVALID_ARG);
}

static void test_is_url(void **state)
{
    (void)state;
    assert_true(otk_uri_is_url("https://x/y"));
    assert_true(otk_uri_is_url("file:///x"));
    assert_true(otk_uri_is_url("ftp://x"));
    assert_false(otk_uri_is_url("./https://x"));
    assert_false(otk_uri_is_url("app.bin"));
    assert_false(otk_uri_is_url("c:/x"));
    assert_false(otk_uri_is_url(NULL));
    assert_string_equal(otk_uri_scheme_name(OTK_URI_HTTPS), "https");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_fields),  cmocka_unit_test(test_defaults_and_ipv6),
        cmocka_unit_test(test_file_paths),    cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_is_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
