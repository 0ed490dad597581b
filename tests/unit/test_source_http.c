/* http:// sources against the purpose-made test server (tests/cli/http_server.py): what
 * each misbehaviour costs in requests and what the reader sees. A drop costs one range
 * request; a 200 or another ETag for a range makes the source start over at 0 (and say
 * so); a stall times out; HTTP errors come back with the status and the URL; plain http
 * needs allow_http; partial downloads ask in pieces; events come in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_fixture.h"
#include "otakit/source.h"
#include "test_support.h"

#define BODY_LEN 150000u
#define READ_CHUNK 5000u
/* Short timeouts keep the stall cases quick; the server is local. */
#define TEST_TIMEOUT_MS 200u

static hf_server_t server;
static uint8_t body[BODY_LEN];
static uint8_t other[BODY_LEN + 1000];

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof body; i++) {
        body[i] = (uint8_t)(i * 13u + (i >> 11));
    }
    for (size_t i = 0; i < sizeof other; i++) {
        other[i] = (uint8_t)(i * 5u + 1u);
    }
    hf_start(&server);
    hf_put(&server, "app.bin", body, sizeof body);
    hf_put(&server, "other.bin", other, sizeof other);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hf_stop(&server);
    return 0;
}

static void opts_for_test(otk_source_opts_t *o)
{
    otk_source_opts_init(o);
    o->allow_http = true;
    o->stall_timeout_ms = TEST_TIMEOUT_MS;
    o->connect_timeout_ms = TEST_TIMEOUT_MS * 5;
}

typedef struct {
    uint8_t bytes[BODY_LEN + 1000 + READ_CHUNK]; /* the larger file and one read */
    size_t len;
    unsigned restarts_seen; /* reads whose *at went back to 0 */
} sink_t;

/* Read to the end like a consumer: bytes go where *at says. */
static esp_err_t drain(otk_source_t *src, sink_t *s, otk_diag_t *diag)
{
    s->len = (size_t)otk_source_offset(src);
    for (;;) {
        size_t got = 0;
        uint64_t at = 0;
        assert_true(s->len + READ_CHUNK <= sizeof s->bytes);
        esp_err_t err = otk_source_read(src, s->bytes + s->len, READ_CHUNK, &got, &at, diag);
        if (err != ESP_OK || got == 0) {
            return err;
        }
        if (at != s->len) {
            assert_int_equal(at, 0); /* never anything but "here" or "from the start" */
            s->restarts_seen++;
            memmove(s->bytes, s->bytes + s->len, got);
            s->len = 0;
        }
        s->len += got;
    }
}

static void test_plain_get(void **state)
{
    (void)state;
    hf_clear_log(&server);
    otk_source_opts_t o;
    opts_for_test(&o);
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "plain/app.bin"), &o, 0, NULL, &src, NULL),
                     ESP_OK);
    const otk_source_identity_t *id = otk_source_identity(src);
    assert_int_equal(id->length, BODY_LEN);
    assert_true(id->etag[0] == '"');
    assert_string_equal(id->last_modified, "Mon, 01 Jan 2024 00:00:00 GMT");
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    assert_int_equal(s.len, BODY_LEN);
    assert_memory_equal(s.bytes, body, BODY_LEN);
    otk_source_stats_t st;
    otk_source_stats(src, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.http_status, 200);
    otk_source_close(src);
    assert_int_equal(hf_requests(&server), 1);
}

static void test_drops_cost_one_request_each(void **state)
{
    (void)state;
    hf_clear_log(&server);
    otk_source_opts_t o;
    opts_for_test(&o);
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "drop/40000/app.bin"), &o, 0, NULL, &src,
                                     NULL),
                     ESP_OK);
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    assert_int_equal(s.len, BODY_LEN);
    assert_memory_equal(s.bytes, body, BODY_LEN);
    assert_int_equal(s.restarts_seen, 0);
    otk_source_stats_t st;
    otk_source_stats(src, &st);
    assert_int_equal(st.reconnects, 3); /* 150000 in pieces of 40000: 4 requests */
    assert_int_equal(st.requests, 4);
    otk_source_close(src);
    assert_int_equal(hf_requests(&server), 4);
    assert_non_null(strstr(hf_request(&server, 1), "bytes=40000- \""));
    assert_non_null(strstr(hf_request(&server, 3), "bytes=120000- \""));
}

static void test_200_for_a_range_starts_over(void **state)
{
    (void)state;
    hf_clear_log(&server);
    otk_source_opts_t o;
    opts_for_test(&o);
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "norange-after/30000/app.bin"), &o, 0,
                                     NULL, &src, NULL),
                     ESP_OK);
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    assert_int_equal(s.restarts_seen, 1);
    assert_int_equal(s.len, BODY_LEN);
    assert_memory_equal(s.bytes, body, BODY_LEN);
    otk_source_stats_t st;
    otk_source_stats(src, &st);
    assert_int_equal(st.restarts, 1);
    assert_int_equal(st.requests, 2);
    otk_source_close(src);
    assert_non_null(strstr(hf_request(&server, 1), "bytes=30000- "));
    assert_non_null(strstr(hf_request(&server, 1), "-> 200"));
}

static void test_other_etag_for_a_range_starts_over(void **state)
{
    (void)state;
    hf_clear_log(&server);
    otk_source_opts_t o;
    opts_for_test(&o);
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "swap/30000/app.bin:other.bin"), &o, 0,
                                     NULL, &src, NULL),
                     ESP_OK);
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    /* never a mix: the whole of the other file */
    assert_int_equal(s.restarts_seen, 1);
    assert_int_equal(s.len, sizeof other);
    assert_memory_equal(s.bytes, other, sizeof other);
    assert_int_equal(otk_source_identity(src)->length, sizeof other);
    otk_source_close(src);
    assert_int_equal(hf_requests(&server), 3);
    assert_non_null(strstr(hf_request(&server, 1), "bytes=30000- \"")); /* with If-Range */
    assert_non_null(strstr(hf_request(&server, 1), "-> 206"));
    assert_non_null(strstr(hf_request(&server, 2), "GET /swap/30000/app.bin:other.bin - - "));
}

static void test_resume_at_offset(void **state)
{
    (void)state;
    otk_source_opts_t o;
    opts_for_test(&o);
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "plain/app.bin"), &o, 0, NULL, &src, NULL),
                     ESP_OK);
    otk_source_identity_t id = *otk_source_identity(src);
    otk_source_close(src);
    hf_clear_log(&server);
    /* The same resource: one 206 from the offset. */
    assert_int_equal(otk_source_open(hf_url(&server, "plain/app.bin"), &o, 100000, &id, &src,
                                     NULL),
                     ESP_OK);
    assert_int_equal(otk_source_offset(src), 100000);
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    assert_int_equal(s.len, BODY_LEN);
    assert_memory_equal(s.bytes + 100000, body + 100000, BODY_LEN - 100000);
    otk_source_close(src);
    assert_non_null(strstr(hf_request(&server, 0), "bytes=100000- "));
    assert_non_null(strstr(hf_request(&server, 0), id.etag));
    /* Another resource behind the URL now (expected identity differs): from 0. */
    otk_source_identity_t stale = id;
    stale.etag[1] ^= 1;
    stale.last_modified[0] = '\0';
    assert_int_equal(otk_source_open(hf_url(&server, "plain/app.bin"), &o, 100000, &stale, &src,
                                     NULL),
                     ESP_OK);
    assert_int_equal(otk_source_offset(src), 0);
    otk_source_close(src);
}

static void test_stall_times_out(void **state)
{
    (void)state;
    otk_source_opts_t o;
    opts_for_test(&o);
    o.max_retries = 1;
    otk_source_t *src = NULL;
    otk_diag_t d;
    assert_int_equal(otk_source_open(hf_url(&server, "stall/0/app.bin"), &o, 0, NULL, &src, &d),
                     ESP_OK);
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, &d), ESP_ERR_TIMEOUT);
    assert_non_null(strstr(d.msg, "no data for 200 ms at byte 0"));
    assert_non_null(strstr(d.msg, "1 more request(s) brought nothing"));
    otk_source_close(src);
}

static void test_http_errors(void **state)
{
    (void)state;
    otk_source_opts_t o;
    opts_for_test(&o);
    otk_source_t *src = NULL;
    otk_diag_t d;
    assert_int_equal(otk_source_open(hf_url(&server, "status/404"), &o, 0, NULL, &src, &d),
                     ESP_ERR_NOT_FOUND);
    assert_null(src);
    char want[256];
    snprintf(want, sizeof want, "HTTP 404 Not Found (%s)", hf_url(&server, "status/404"));
    assert_string_equal(d.msg, want);
    assert_int_equal(otk_source_open(hf_url(&server, "status/503"), &o, 0, NULL, &src, &d),
                     ESP_FAIL);
    assert_non_null(strstr(d.msg, "HTTP 503 Service Unavailable"));
    assert_int_equal(otk_source_open(hf_url(&server, "status/204"), &o, 0, NULL, &src, &d),
                     ESP_FAIL);
    o.allow_http = false;
    assert_int_equal(otk_source_open(hf_url(&server, "plain/app.bin"), &o, 0, NULL, &src, &d),
                     ESP_ERR_NOT_ALLOWED);
    assert_non_null(strstr(d.msg, "plain http:// is refused"));
}

static void test_chunked_has_no_length(void **state)
{
    (void)state;
    otk_source_opts_t o;
    opts_for_test(&o);
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "chunked/app.bin"), &o, 0, NULL, &src,
                                     NULL),
                     ESP_OK);
    assert_int_equal(otk_source_identity(src)->length, -1);
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    assert_int_equal(s.len, BODY_LEN);
    assert_memory_equal(s.bytes, body, BODY_LEN);
    otk_source_close(src);
}

static void test_partial_download_in_pieces(void **state)
{
    (void)state;
    hf_clear_log(&server);
    otk_source_opts_t o;
    opts_for_test(&o);
    o.range_size = 65536;
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "plain/app.bin"), &o, 0, NULL, &src, NULL),
                     ESP_OK);
    assert_int_equal(otk_source_identity(src)->length, BODY_LEN); /* from Content-Range */
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    assert_memory_equal(s.bytes, body, BODY_LEN);
    otk_source_close(src);
    assert_int_equal(hf_requests(&server), 3);
    assert_non_null(strstr(hf_request(&server, 0), "bytes=0-65535 - -> 206"));
    assert_non_null(strstr(hf_request(&server, 2), "bytes=131072-196607 "));
}

typedef struct {
    char seq[64];
    size_t n;
    size_t data_bytes;
    bool saw_etag;
} events_t;

static void on_event(void *ctx, otk_source_event_t ev, const char *key, const char *value,
                     const void *data, size_t len)
{
    events_t *e = ctx;
    static const char letters[] = "CHDFXRE"; /* connected header data finished ... */
    char c = letters[ev];
    if (ev == OTK_SOURCE_EV_DATA) {
        assert_non_null(data);
        e->data_bytes += len;
    }
    if (ev == OTK_SOURCE_EV_HEADER && strcmp(key, "ETag") == 0 && value[0] == '"') {
        e->saw_etag = true;
    }
    if (e->n + 1 < sizeof e->seq && (e->n == 0 || e->seq[e->n - 1] != c)) {
        e->seq[e->n++] = c; /* runs of one kind collapse to one letter */
    }
}

static void test_events(void **state)
{
    (void)state;
    otk_source_opts_t o;
    opts_for_test(&o);
    events_t e;
    memset(&e, 0, sizeof e);
    o.on_event = on_event;
    o.event_ctx = &e;
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(hf_url(&server, "drop-once/50000/app.bin"), &o, 0, NULL,
                                     &src, NULL),
                     ESP_OK);
    static sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(drain(src, &s, NULL), ESP_OK);
    otk_source_close(src);
    /* connect, headers, data, broken off; connect, headers, data, finished */
    assert_string_equal(e.seq, "CHDXCHDF");
    assert_true(e.saw_etag);
    assert_int_equal(e.data_bytes, BODY_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_get),
        cmocka_unit_test(test_drops_cost_one_request_each),
        cmocka_unit_test(test_200_for_a_range_starts_over),
        cmocka_unit_test(test_other_etag_for_a_range_starts_over),
        cmocka_unit_test(test_resume_at_offset),
        cmocka_unit_test(test_stall_times_out),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_chunked_has_no_length),
        cmocka_unit_test(test_partial_download_in_pieces),
        cmocka_unit_test(test_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
