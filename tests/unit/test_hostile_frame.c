/* Hostile control-path input: frames whose length field is at the receiver's limit, one
 * past it, 0 and 0xFFFFFFFF (each with a header CRC that checks out, so only the limit can
 * refuse them), and requests whose numbers are at or past theirs (image sizes, chunk
 * sizes, write offsets near 4 GiB, a write one byte too long). The decoder refuses a
 * length at once (it never waits for 4 GiB), counts it, and finds the good frame behind
 * it; the device answers each request with its reason and writes no flash byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted_internal.h"
#include "hosted_fixture.h"
#include "otakit/crc32.h"
#include "otakit/hosted.h"
#include "test_support.h"

static uint8_t dec_buf[OTK_FRAME_BUFFER_SIZE];
static uint8_t frame[OTK_FRAME_BUFFER_SIZE + 64];

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* A header claiming len payload bytes, with a correct header CRC. */
static void header(uint8_t *h, uint32_t len)
{
    h[0] = OTK_FRAME_MAGIC0;
    h[1] = OTK_FRAME_MAGIC1;
    h[2] = OTK_FRAME_VERSION;
    h[3] = 0;
    put32(h + 4, len);
    put32(h + 8, otk_crc32_update(0, h, 8));
}

/* Feed a lying header then a good frame of 5 bytes: the lie is refused at once and
 * counted, the good frame still comes out. */
static void refused_then_found(uint32_t claimed)
{
    otk_frame_decoder_t d;
    assert_true(otk_frame_decoder_init(&d, dec_buf, sizeof dec_buf, OTK_FRAME_MAX_PAYLOAD));
    uint8_t lie[OTK_FRAME_HEADER_LEN];
    header(lie, claimed);
    assert_int_equal(otk_frame_decoder_feed(&d, lie, sizeof lie), sizeof lie);
    const uint8_t *p = NULL;
    size_t n = 0;
    assert_false(otk_frame_decoder_next(&d, &p, &n));
    assert_int_equal(d.stats.bad_headers, 1); /* refused now, not after waiting for bytes */
    size_t len = otk_frame_encode("hello", 5, frame, sizeof frame);
    assert_int_equal(otk_frame_decoder_feed(&d, frame, len), len);
    assert_true(otk_frame_decoder_next(&d, &p, &n));
    assert_int_equal(n, 5);
    assert_memory_equal(p, "hello", 5);
    assert_int_equal(d.stats.garbage_bytes, sizeof lie);
    assert_int_equal(d.stats.frames, 1);
}

static void test_frame_lengths(void **state)
{
    (void)state;
    /* Exactly the limit: delivered whole. */
    static uint8_t payload[OTK_FRAME_MAX_PAYLOAD];
    memset(payload, 0x5A, sizeof payload);
    size_t len = otk_frame_encode(payload, sizeof payload, frame, sizeof frame);
    assert_int_equal(len, OTK_FRAME_BUFFER_SIZE);
    otk_frame_decoder_t d;
    assert_true(otk_frame_decoder_init(&d, dec_buf, sizeof dec_buf, OTK_FRAME_MAX_PAYLOAD));
    assert_int_equal(otk_frame_decoder_feed(&d, frame, len), len);
    const uint8_t *p = NULL;
    size_t n = 0;
    assert_true(otk_frame_decoder_next(&d, &p, &n));
    assert_int_equal(n, OTK_FRAME_MAX_PAYLOAD);
    /* One past, far past, and the largest the field holds. */
    refused_then_found(OTK_FRAME_MAX_PAYLOAD + 1);
    refused_then_found(0x80000000u);
    refused_then_found(0xFFFFFFFFu);
    /* 0 is a frame: an empty message (which the device answers as a bad request). */
    len = otk_frame_encode(NULL, 0, frame, sizeof frame);
    assert_int_equal(len, OTK_FRAME_OVERHEAD);
    otk_frame_decoder_reset(&d);
    assert_int_equal(otk_frame_decoder_feed(&d, frame, len), len);
    assert_true(otk_frame_decoder_next(&d, &p, &n));
    assert_int_equal(n, 0);
    /* The encoder does not make what the decoder refuses, and never overruns its buffer. */
    assert_int_equal(otk_frame_encode(payload, sizeof payload, frame, OTK_FRAME_BUFFER_SIZE - 1),
                     0);
    assert_int_equal(otk_frame_encode(payload, 1, frame, OTK_FRAME_OVERHEAD), 0);
    /* A decoder cannot be set up with a buffer smaller than its own limit needs. */
    assert_false(otk_frame_decoder_init(&d, dec_buf, OTK_FRAME_BUFFER_SIZE - 1,
                                        OTK_FRAME_MAX_PAYLOAD));
    assert_false(otk_frame_decoder_init(&d, dec_buf, sizeof dec_buf, 0));
}

/* ---- requests at and past their limits ------------------------------------------------ */

static otk_device_run_t run; /* ~50 KiB */
static otk_hosted_handler_t h;
static otk_hosted_peer_t peer;

static Otkctrl__Response *call(Otkctrl__Request *q)
{
    static uint8_t in[OTK_FRAME_MAX_PAYLOAD], out[OTK_FRAME_MAX_PAYLOAD];
    bool closed = false;
    size_t n = otkctrl__request__pack(q, in);
    size_t m = otk_hosted_handle(&h, &peer, in, n, 1000, out, sizeof out, &closed);
    assert_true(m > 0);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, m, out);
    assert_non_null(r);
    return r;
}

/* The request's result must be want and its message contain what. */
static void expect(Otkctrl__Request *q, int want, const char *what)
{
    Otkctrl__Response *r = call(q);
    if ((int)r->result != want || r->message == NULL || strstr(r->message, what) == NULL) {
        fail_msg("got %d '%s', want %d '%s'", (int)r->result, r->message ? r->message : "",
                 want, what);
    }
    otkctrl__response__free_unpacked(r, NULL);
}

static void begin(uint32_t size, uint32_t chunk, size_t sha_len, int want, const char *what)
{
    uint8_t sha[33] = {0};
    Otkctrl__Begin b = OTKCTRL__BEGIN__INIT;
    b.image_size = size;
    b.sha256.data = sha;
    b.sha256.len = sha_len;
    b.chunk_size = chunk;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_BEGIN;
    q.begin = &b;
    expect(&q, want, what);
}

static void write_at(uint32_t offset, const uint8_t *data, size_t len, int want, const char *what)
{
    Otkctrl__Write w = OTKCTRL__WRITE__INIT;
    w.offset = offset;
    w.data.data = (uint8_t *)data;
    w.data.len = len;
    w.crc32 = otk_crc32_update(0, data, len);
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_WRITE;
    q.write = &w;
    expect(&q, want, what);
}

static void test_request_limits(void **state)
{
    (void)state;
    const char *flash = hf_make_device("");
    hf_open(&run, flash, NULL);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_handler_init(&h, &run, NULL, &diag), ESP_OK);
    otk_hosted_peer_init(&peer, false);
    size_t before_len = 0;
    uint8_t *before = hf_flash_bytes(flash, &before_len);

    /* Begin: sizes 0, 287 (below an app's first bytes), past the 1 MiB slot, 0xFFFFFFFF;
     * chunk sizes one past each end; a hash of 31 and 33 bytes. */
    begin(0, 0, 32, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED, "an image of 0 bytes cannot be");
    begin(OTK_HOSTED_MIN_CHUNK - 1, 0, 32, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED,
          "an image of 287 bytes cannot be an app");
    begin(0x100001, 0, 32, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED,
          "an image of 1048577 bytes does not fit ota_0 (1048576 bytes)");
    begin(0xFFFFFFFFu, 0, 32, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED,
          "an image of 4294967295 bytes does not fit");
    begin(0x10000, OTK_HOSTED_MAX_CHUNK + 1, 32, OTKCTRL__RESULT__RESULT_BAD_REQUEST,
          "chunk_size 16385: must be 288..16384");
    begin(0x10000, OTK_HOSTED_MIN_CHUNK - 1, 32, OTKCTRL__RESULT__RESULT_BAD_REQUEST,
          "chunk_size 287");
    begin(0x10000, 0xFFFFFFFFu, 32, OTKCTRL__RESULT__RESULT_BAD_REQUEST, "chunk_size 4294967295");
    begin(0x10000, 0, 31, OTKCTRL__RESULT__RESULT_BAD_REQUEST, "Begin.sha256 has 31 bytes");
    begin(0x10000, 0, 33, OTKCTRL__RESULT__RESULT_BAD_REQUEST, "Begin.sha256 has 33 bytes");

    /* A session of exactly the slot's size, then writes at the edges of its numbers. */
    begin(0x100000, 0, 32, OTKCTRL__RESULT__RESULT_OK, "");
    static uint8_t data[OTK_HOSTED_MAX_CHUNK + 1];
    memset(data, 0xA5, sizeof data);
    write_at(0, data, sizeof data, OTKCTRL__RESULT__RESULT_OVERRUN,
             "a write of 16385 bytes: must be 1..16384");
    write_at(0, data, 0, OTKCTRL__RESULT__RESULT_BAD_REQUEST, "a write of 0 bytes");
    write_at(0xFFFFFFFFu, data, 4, OTKCTRL__RESULT__RESULT_OVERRUN,
             "write of 4 bytes at 4294967295 runs past the image size 1048576: nothing written");
    write_at(0xFFFFFFFCu, data, 8, OTKCTRL__RESULT__RESULT_OVERRUN, "runs past the image size");
    write_at(0x100000 - 1, data, 2, OTKCTRL__RESULT__RESULT_OVERRUN, "runs past the image size");
    write_at(0x100000, data, 1, OTKCTRL__RESULT__RESULT_OVERRUN, "runs past the image size");
    /* A write with a CRC that does not match its bytes. */
    Otkctrl__Write w = OTKCTRL__WRITE__INIT;
    w.data.data = data;
    w.data.len = 16;
    w.crc32 = otk_crc32_update(0, data, 16) ^ 1u;
    Otkctrl__Request q = OTKCTRL__REQUEST__INIT;
    q.body_case = OTKCTRL__REQUEST__BODY_WRITE;
    q.write = &w;
    expect(&q, OTKCTRL__RESULT__RESULT_CRC_MISMATCH, "nothing written");
    /* Garbage as a request: not a message. */
    static const uint8_t junk[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F};
    static uint8_t out[OTK_FRAME_MAX_PAYLOAD];
    bool closed = false;
    size_t m = otk_hosted_handle(&h, &peer, junk, sizeof junk, 1000, out, sizeof out, &closed);
    assert_true(m > 0);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, m, out);
    assert_non_null(r);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    otkctrl__response__free_unpacked(r, NULL);
    /* Field number 0, written as the two-byte varint 80 00: protobuf-c decodes it as an
     * unknown field, protobuf forbids it; the device refuses the frame (fuzz_frame found
     * that protobuf-c cannot read back what it then encodes). */
    static const uint8_t field0[] = {0x08, 0x07, 0x80, 0x00, 0x01};
    uint64_t bad = h.link.bad_messages;
    m = otk_hosted_handle(&h, &peer, field0, sizeof field0, 1000, out, sizeof out, &closed);
    r = otkctrl__response__unpack(NULL, m, out);
    assert_non_null(r);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_BAD_REQUEST);
    assert_non_null(strstr(r->message, "a frame of 5 bytes that is not a Request message"));
    otkctrl__response__free_unpacked(r, NULL);
    assert_int_equal(h.link.bad_messages, bad + 1);
    Otkctrl__Request *q0 = otkctrl__request__unpack(NULL, sizeof field0, field0);
    assert_non_null(q0); /* what protobuf-c alone would have taken */
    assert_false(hosted_msg_wellformed(&q0->base));
    otkctrl__request__free_unpacked(q0, NULL);

    otk_hosted_handler_shutdown(&h);
    otk_device_run_close(&run);
    size_t after_len = 0;
    uint8_t *after = hf_flash_bytes(flash, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(before);
    free(after);
    ts_cleanup_dir(hf_dir());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_lengths),
        cmocka_unit_test(test_request_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
