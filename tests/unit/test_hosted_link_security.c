/* The control path's own protections (docs/protocol.md, docs/security.md): the MAC
 * comparison (every byte counts, any length, no early answer), a wrong or malformed token
 * refused, counted, logged and the link closed, TCP refusing to serve without a token, and
 * the Unix socket created owner-only (0600 whatever the umask) in a directory nobody else
 * can swap it in; the link URI a device prints reads back as the same socket. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosted/hosted_internal.h"
#include "hosted_fixture.h"
#include "otakit/hosted.h"
#include "test_support.h"

#define MAC_LEN OTK_HOSTED_SHA256_LEN
#define TOKEN "s3cret"

static void test_equal_ct(void **state)
{
    (void)state;
    uint8_t a[MAC_LEN], b[MAC_LEN];
    for (size_t i = 0; i < MAC_LEN; i++) {
        a[i] = b[i] = (uint8_t)(i * 37 + 5);
    }
    assert_true(hosted_equal_ct(a, b, MAC_LEN));
    assert_true(hosted_equal_ct(a, b, 0)); /* nothing to differ */
    /* A difference in any byte, in any bit, is found: the first, the last, each one. */
    for (size_t i = 0; i < MAC_LEN; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            assert_false(hosted_equal_ct(a, b, MAC_LEN));
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Bytes that differ in opposite bits do not cancel out (an OR of XORs, not a sum). */
    b[0] ^= 0x01;
    b[1] ^= 0x01;
    assert_false(hosted_equal_ct(a, b, MAC_LEN));
    /* Only len bytes count. */
    assert_true(hosted_equal_ct(a, b, 0));
    b[0] ^= 0x01;
    assert_true(hosted_equal_ct(a, b, 1));
    assert_false(hosted_equal_ct(a, b, 2));
}

static otk_device_run_t run; /* ~50 KiB */

/* Send a request to the handler; returns the response (free it). */
static Otkctrl__Response *call(otk_hosted_handler_t *h, otk_hosted_peer_t *peer,
                               Otkctrl__Request *q, bool *closed)
{
    static uint8_t in[OTK_FRAME_MAX_PAYLOAD], out[OTK_FRAME_MAX_PAYLOAD];
    size_t n = otkctrl__request__pack(q, in);
    size_t m = otk_hosted_handle(h, peer, in, n, 1000, out, sizeof out, closed);
    assert_true(m > 0);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, m, out);
    assert_non_null(r);
    return r;
}

/* Hello, then Auth with the first mac_len bytes of the nonce's HMAC under key (its last
 * bit flipped on request, zeros past its end); returns the Auth's result. */
static int hello_auth(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const char *key,
                      size_t mac_len, bool flip_last, bool *closed)
{
    Otkctrl__Hello hello = OTKCTRL__HELLO__INIT;
    Otkctrl__Request qh = OTKCTRL__REQUEST__INIT;
    qh.body_case = OTKCTRL__REQUEST__BODY_HELLO;
    qh.hello = &hello;
    Otkctrl__Response *r = call(h, peer, &qh, closed);
    assert_true(r->hello->auth_required);
    uint8_t mac[MAC_LEN + 1] = {0};
    hosted_hmac_sha256(key, strlen(key), r->hello->nonce.data, r->hello->nonce.len, mac);
    otkctrl__response__free_unpacked(r, NULL);
    if (flip_last) {
        mac[MAC_LEN - 1] ^= 0x80;
    }
    Otkctrl__Auth auth = OTKCTRL__AUTH__INIT;
    auth.mac.data = mac;
    auth.mac.len = mac_len;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_AUTH;
    q.auth = &auth;
    r = call(h, peer, &q, closed);
    int result = r->result;
    otkctrl__response__free_unpacked(r, NULL);
    return result;
}

static void test_wrong_token_refused_and_logged(void **state)
{
    (void)state;
    const char *flash = hf_make_device("");
    hf_open(&run, flash, NULL);
    char log_path[300];
    snprintf(log_path, sizeof log_path, "%s/ctrl.log", hf_dir());
    FILE *log = fopen(log_path, "w+");
    assert_non_null(log);
    otk_hosted_handler_opts_t opts;
    otk_hosted_handler_opts_init(&opts);
    opts.token = TOKEN;
    opts.log = log;
    otk_hosted_handler_t h;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_handler_init(&h, &run, &opts, &diag), ESP_OK);
    otk_hosted_peer_t peer;
    bool closed = false;
    /* Another token; the right one with its last bit flipped; a MAC one byte short, one
     * byte long, empty: each refused, the link closed, counted. */
    static const struct {
        const char *key;
        size_t len;
        bool flip;
    } wrong[] = {{"guess", MAC_LEN, false}, {TOKEN, MAC_LEN, true}, {TOKEN, MAC_LEN - 1, false},
                 {TOKEN, MAC_LEN + 1, false}, {TOKEN, 0, false}};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        otk_hosted_peer_init(&peer, true);
        closed = false;
        assert_int_equal(hello_auth(&h, &peer, wrong[i].key, wrong[i].len, wrong[i].flip, &closed),
                         OTKCTRL__RESULT__RESULT_UNAUTHENTICATED);
        assert_true(closed);
        assert_false(peer.authenticated);
        assert_int_equal(h.link.auth_failures, i + 1);
    }
    /* The right token opens the link. */
    otk_hosted_peer_init(&peer, true);
    closed = false;
    assert_int_equal(hello_auth(&h, &peer, TOKEN, MAC_LEN, false, &closed),
                     OTKCTRL__RESULT__RESULT_OK);
    assert_false(closed);
    assert_true(peer.authenticated);
    otk_hosted_handler_shutdown(&h);
    otk_device_run_close(&run);
    /* Each refusal is a warning line in the device's log. */
    fflush(log);
    rewind(log);
    char line[512];
    unsigned refusals = 0;
    while (fgets(line, sizeof line, log) != NULL) {
        if (strstr(line, "W (") == line &&
            strstr(line, "UNAUTHENTICATED: wrong token: the link is closed") != NULL) {
            refusals++;
        }
    }
    fclose(log);
    assert_int_equal(refusals, 5);
    ts_cleanup_dir(hf_dir());
}

static void test_tcp_needs_token(void **state)
{
    (void)state;
    const char *flash = hf_make_device("");
    hf_open(&run, flash, NULL);
    otk_hosted_serve_opts_t so;
    otk_hosted_serve_opts_init(&so);
    so.uri = "tcp://127.0.0.1:0";
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_serve(&run, &so, &diag), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(diag.msg, "TCP needs a shared-secret token"));
    so.handler.token = "";
    assert_int_equal(otk_hosted_serve(&run, &so, &diag), ESP_ERR_INVALID_ARG);
    otk_device_run_close(&run);
    ts_cleanup_dir(hf_dir());
}

static esp_err_t listen_at(const char *path, otk_listener_t **l, otk_diag_t *diag)
{
    char text[300];
    snprintf(text, sizeof text, "unix:%s", path);
    otk_link_uri_t uri;
    assert_int_equal(otk_link_uri_parse(text, &uri, diag), ESP_OK);
    return otk_listener_open(&uri, l, diag);
}

static void test_unix_socket_owner_only(void **state)
{
    (void)state;
    const char *dir = ts_make_temp_dir();
    char path[300];
    snprintf(path, sizeof path, "%s/d.sock", dir);
    /* The laxest umask: the socket must still be owner-only. */
    mode_t old = umask(0);
    otk_listener_t *l = NULL;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = listen_at(path, &l, &diag);
    umask(old);
    assert_int_equal(err, ESP_OK);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    otk_listener_close(l);
    assert_int_not_equal(lstat(path, &st), 0); /* removed at close */

    /* A directory others can write without the sticky bit: refused, nothing created. */
    char shared[200];
    snprintf(shared, sizeof shared, "%s/shared", dir);
    assert_int_equal(mkdir(shared, 0700), 0);
    assert_int_equal(chmod(shared, 0777), 0);
    snprintf(path, sizeof path, "%s/d.sock", shared);
    assert_int_equal(listen_at(path, &l, &diag), ESP_ERR_INVALID_STATE);
    assert_non_null(strstr(diag.msg, "(mode 0777) is writable by other users and not sticky"));
    assert_int_not_equal(lstat(path, &st), 0);
    /* Sticky (as /tmp is): fine. Group-writable without it: refused too. */
    assert_int_equal(chmod(shared, 01777), 0);
    assert_int_equal(listen_at(path, &l, &diag), ESP_OK);
    otk_listener_close(l);
    assert_int_equal(chmod(shared, 0770), 0);
    assert_int_equal(listen_at(path, &l, &diag), ESP_ERR_INVALID_STATE);
    /* A missing directory says so. */
    snprintf(path, sizeof path, "%s/none/d.sock", dir);
    assert_int_equal(listen_at(path, &l, &diag), ESP_ERR_NOT_FOUND);
    assert_non_null(strstr(diag.msg, "/none: No such file or directory"));
    ts_cleanup_dir(dir);
}

/* The text a device prints for where it listens names the same socket: a path that begins
 * with "//" keeps it (found by fuzz_uri: "unix:////tmp/s" printed as "unix://tmp/s", which
 * reads back as the relative path "tmp/s"). */
static void test_link_uri_round_trip(void **state)
{
    (void)state;
    static const struct {
        const char *text, *path, *canonical;
    } cases[] = {
        {"unix:/tmp/d.sock", "/tmp/d.sock", "unix:/tmp/d.sock"},
        {"unix:///tmp/d.sock", "/tmp/d.sock", "unix:/tmp/d.sock"},
        {"unix:////tmp/d.sock", "//tmp/d.sock", "unix:////tmp/d.sock"},
        {"unix:d.sock", "d.sock", "unix:d.sock"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        otk_link_uri_t a, b;
        otk_diag_t diag;
        assert_int_equal(otk_link_uri_parse(cases[i].text, &a, &diag), ESP_OK);
        assert_string_equal(a.path, cases[i].path);
        char out[OTK_LINK_URI_MAX];
        otk_link_uri_format(&a, out, sizeof out);
        assert_string_equal(out, cases[i].canonical);
        assert_int_equal(otk_link_uri_parse(out, &b, &diag), ESP_OK);
        assert_string_equal(b.path, a.path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_ct),
        cmocka_unit_test(test_wrong_token_refused_and_logged),
        cmocka_unit_test(test_tcp_needs_token),
        cmocka_unit_test(test_unix_socket_owner_only),
        cmocka_unit_test(test_link_uri_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
