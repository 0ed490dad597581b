/* The device's in-place Write decoder (hosted_write_fast_decode, msg_write_fast.c) on bytes
 * written by hand: the fields in protobuf-c's order and reversed, proto3 defaults for the
 * fields left out, empty data, the 32-bit limits; and every form it leaves to protobuf-c
 * (unknown fields, a field given twice, varints and keys that are not minimal or wider than
 * 32 bits, a field number 0, another wire type, another request, cut-short bytes), each
 * shown to be one protobuf-c reads differently or refuses. A Write packed by protobuf-c
 * decodes to its values with data pointing into the packed bytes, and the device answers a
 * Write the same whichever decoder read it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted_internal.h"
#include "hosted_fixture.h"
#include "otakit/crc32.h"
#include "otakit/crypto.h"
#include "otakit/hosted.h"
#include "test_support.h"

static Otkctrl__Request q;
static Otkctrl__Write w;

static bool fast(const uint8_t *bytes, size_t len)
{
    return hosted_write_fast_decode(bytes, len, &q, &w);
}

/* id 7, Write{offset 4096, data "abc", crc32 0x352441C2 (zlib's CRC-32 of "abc")}, in the
 * order protobuf-c packs them. */
static const uint8_t NORMAL[] = {
    0x08, 0x07,                         /* id = 7 */
    0x2A, 0x0E,                         /* write: 14 bytes */
    0x08, 0x80, 0x20,                   /*   offset = 4096 */
    0x12, 0x03, 'a', 'b', 'c',          /*   data */
    0x18, 0xC2, 0x83, 0x91, 0xA9, 0x03, /*   crc32 */
};

static void assert_abc_write(const uint8_t *input, size_t len)
{
    assert_int_equal(q.id, 7);
    assert_int_equal(q.body_case, OTKCTRL__REQUEST__BODY_WRITE);
    assert_ptr_equal(q.write, &w);
    assert_int_equal(w.offset, 4096);
    assert_int_equal(w.crc32, 0x352441C2u);
    assert_int_equal(w.data.len, 3);
    assert_memory_equal(w.data.data, "abc", 3);
    assert_true(w.data.data > input && w.data.data + 3 <= input + len); /* not a copy */
}

/* protobuf-c's reading of bytes: NULL when it refuses them (caller frees otherwise). */
static Otkctrl__Request *slow(const uint8_t *bytes, size_t len)
{
    return otkctrl__request__unpack(NULL, len, bytes);
}

static void test_normal_order(void **state)
{
    (void)state;
    assert_true(fast(NORMAL, sizeof NORMAL));
    assert_abc_write(NORMAL, sizeof NORMAL);
    /* and protobuf-c reads the same */
    Otkctrl__Request *p = slow(NORMAL, sizeof NORMAL);
    assert_non_null(p);
    assert_int_equal(p->id, 7);
    assert_int_equal(p->write->offset, 4096);
    assert_int_equal(p->write->crc32, 0x352441C2u);
    assert_memory_equal(p->write->data.data, "abc", 3);
    otkctrl__request__free_unpacked(p, NULL);
}

static void test_reversed_order(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {
        0x2A, 0x0E,                         /* write first */
        0x18, 0xC2, 0x83, 0x91, 0xA9, 0x03, /*   crc32 */
        0x12, 0x03, 'a', 'b', 'c',          /*   data */
        0x08, 0x80, 0x20,                   /*   offset */
        0x08, 0x07,                         /* id last */
    };
    assert_true(fast(bytes, sizeof bytes));
    assert_abc_write(bytes, sizeof bytes);
}

static void test_defaults(void **state)
{
    (void)state;
    /* No id, no offset, no crc32: proto3's 0. */
    static const uint8_t data_only[] = {0x2A, 0x05, 0x12, 0x03, 'x', 'y', 'z'};
    assert_true(fast(data_only, sizeof data_only));
    assert_int_equal(q.id, 0);
    assert_int_equal(w.offset, 0);
    assert_int_equal(w.crc32, 0);
    assert_int_equal(w.data.len, 3);
    assert_ptr_equal(w.data.data, data_only + 4);
    /* Zeros written out are read as the same zeros. */
    static const uint8_t zeros[] = {0x08, 0x00, 0x2A, 0x06, 0x08, 0x00, 0x12, 0x00, 0x18, 0x00};
    assert_true(fast(zeros, sizeof zeros));
    assert_int_equal(q.id, 0);
    assert_int_equal(w.offset, 0);
    assert_int_equal(w.crc32, 0);
}

static void test_empty_data(void **state)
{
    (void)state;
    /* Empty data is NULL with length 0, as protobuf-c leaves it. */
    static const uint8_t empty_data[] = {0x08, 0x01, 0x2A, 0x04, 0x08, 0x05, 0x12, 0x00};
    assert_true(fast(empty_data, sizeof empty_data));
    assert_int_equal(w.offset, 5);
    assert_int_equal(w.data.len, 0);
    assert_null(w.data.data);
    /* An empty Write: every field at its default (session_write answers BAD_REQUEST). */
    static const uint8_t empty_write[] = {0x2A, 0x00};
    assert_true(fast(empty_write, sizeof empty_write));
    assert_int_equal(q.body_case, OTKCTRL__REQUEST__BODY_WRITE);
    assert_int_equal(w.data.len, 0);
    assert_null(w.data.data);
    Otkctrl__Request *p = slow(empty_write, sizeof empty_write);
    assert_non_null(p);
    assert_int_equal(p->body_case, OTKCTRL__REQUEST__BODY_WRITE);
    assert_null(p->write->data.data);
    otkctrl__request__free_unpacked(p, NULL);
}

static void test_32_bit_limits(void **state)
{
    (void)state;
    static const uint8_t max[] = {
        0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,               /* id = 0xFFFFFFFF */
        0x2A, 0x0F,                                       /* write */
        0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,               /*   offset */
        0x12, 0x01, 0x55,                                 /*   data */
        0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,               /*   crc32 */
    };
    assert_true(fast(max, sizeof max));
    assert_int_equal(q.id, 0xFFFFFFFFu);
    assert_int_equal(w.offset, 0xFFFFFFFFu);
    assert_int_equal(w.crc32, 0xFFFFFFFFu);
    /* One bit more: protobuf-c keeps the low 32 bits; that is its call, not ours. */
    static const uint8_t wide[] = {0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x2A, 0x00};
    assert_false(fast(wide, sizeof wide));
    Otkctrl__Request *p = slow(wide, sizeof wide);
    assert_non_null(p);
    assert_int_equal(p->id, 0xFFFFFFFFu);
    otkctrl__request__free_unpacked(p, NULL);
    /* A ten-byte varint (a negative int64 on the wire). */
    static const uint8_t ten[] = {0x2A, 0x0B, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_false(fast(ten, sizeof ten));
    p = slow(ten, sizeof ten);
    assert_non_null(p);
    assert_int_equal(p->write->offset, 0xFFFFFFFFu);
    otkctrl__request__free_unpacked(p, NULL);
}

/* The fast decoder refuses bytes; protobuf-c takes them (want_slow) or refuses them too. */
static void assert_fallback(const uint8_t *bytes, size_t len, bool want_slow)
{
    assert_false(fast(bytes, len));
    Otkctrl__Request *p = slow(bytes, len);
    if (want_slow) {
        assert_non_null(p);
    } else {
        assert_null(p);
    }
    otkctrl__request__free_unpacked(p, NULL);
}

static void test_unknown_fields(void **state)
{
    (void)state;
    /* Field 4 of Write (a varint): protobuf-c keeps it as an unknown field. */
    static const uint8_t in_write[] = {0x08, 0x07, 0x2A, 0x07, 0x12, 0x03, 'a', 'b', 'c',
                                       0x20, 0x01};
    assert_fallback(in_write, sizeof in_write, true);
    /* Field 15 of Request. */
    static const uint8_t in_request[] = {0x2A, 0x05, 0x12, 0x03, 'a', 'b', 'c', 0x7A, 0x00};
    assert_fallback(in_request, sizeof in_request, true);
    /* Field number 0 (the two-byte key 80 00, then a varint) inside the Write: protobuf-c
     * takes it, hosted_msg_wellformed refuses it. */
    static const uint8_t field0[] = {0x2A, 0x08, 0x12, 0x03, 'a', 'b', 'c', 0x80, 0x00, 0x01};
    assert_false(fast(field0, sizeof field0));
    Otkctrl__Request *p = slow(field0, sizeof field0);
    assert_non_null(p);
    assert_false(hosted_msg_wellformed(&p->base));
    otkctrl__request__free_unpacked(p, NULL);
    /* Another request altogether (Begin), and a Request with no body. */
    static const uint8_t begin[] = {0x08, 0x01, 0x22, 0x02, 0x08, 0x10};
    assert_fallback(begin, sizeof begin, true);
    static const uint8_t id_only[] = {0x08, 0x01};
    assert_fallback(id_only, sizeof id_only, true);
    assert_fallback(NULL, 0, true);
}

static void test_duplicates(void **state)
{
    (void)state;
    /* protobuf-c: the last id wins; two Writes merge; the last data wins. */
    static const uint8_t two_ids[] = {0x08, 0x01, 0x2A, 0x00, 0x08, 0x02};
    assert_fallback(two_ids, sizeof two_ids, true);
    static const uint8_t two_writes[] = {0x2A, 0x02, 0x08, 0x01, 0x2A, 0x02, 0x18, 0x02};
    assert_fallback(two_writes, sizeof two_writes, true);
    static const uint8_t two_offsets[] = {0x2A, 0x04, 0x08, 0x01, 0x08, 0x02};
    assert_fallback(two_offsets, sizeof two_offsets, true);
    static const uint8_t two_data[] = {0x2A, 0x06, 0x12, 0x01, 'a', 0x12, 0x01, 'b'};
    assert_fallback(two_data, sizeof two_data, true);
    static const uint8_t two_crcs[] = {0x2A, 0x04, 0x18, 0x01, 0x18, 0x02};
    assert_fallback(two_crcs, sizeof two_crcs, true);
}

static void test_not_minimal(void **state)
{
    (void)state;
    /* id 7 in three bytes. */
    static const uint8_t id[] = {0x08, 0x87, 0x80, 0x00, 0x2A, 0x00};
    assert_fallback(id, sizeof id, true);
    /* The Write's length 2 in two bytes; data's length 1 in two bytes. */
    static const uint8_t write_len[] = {0x2A, 0x82, 0x00, 0x08, 0x01};
    assert_fallback(write_len, sizeof write_len, true);
    static const uint8_t data_len[] = {0x2A, 0x04, 0x12, 0x81, 0x00, 'a'};
    assert_fallback(data_len, sizeof data_len, true);
    /* The key of id (field 1, varint) in two bytes. */
    static const uint8_t key[] = {0x88, 0x00, 0x07, 0x2A, 0x00};
    assert_fallback(key, sizeof key, true);
}

static void test_wire_types(void **state)
{
    (void)state;
    /* id as a length-delimited field, write as a varint, offset as a length-delimited
     * field, data as a varint, crc32 as fixed32: protobuf-c refuses each. */
    static const uint8_t id_len[] = {0x0A, 0x00, 0x2A, 0x00};
    assert_fallback(id_len, sizeof id_len, false);
    static const uint8_t write_varint[] = {0x28, 0x01};
    assert_fallback(write_varint, sizeof write_varint, false);
    static const uint8_t offset_len[] = {0x2A, 0x02, 0x0A, 0x00};
    assert_fallback(offset_len, sizeof offset_len, false);
    static const uint8_t data_varint[] = {0x2A, 0x02, 0x10, 0x01};
    assert_fallback(data_varint, sizeof data_varint, false);
    static const uint8_t crc_fixed32[] = {0x2A, 0x05, 0x1D, 0x01, 0x02, 0x03, 0x04};
    assert_fallback(crc_fixed32, sizeof crc_fixed32, false);
}

static void test_truncated(void **state)
{
    (void)state;
    /* Every cut of NORMAL is refused; protobuf-c refuses them too, except the empty
     * Request and the lone id (two requests without a body). */
    for (size_t n = 0; n < sizeof NORMAL; n++) {
        assert_false(fast(NORMAL, n));
        Otkctrl__Request *p = slow(NORMAL, n);
        if (n == 0 || n == 2) {
            assert_non_null(p);
            assert_int_equal(p->body_case, OTKCTRL__REQUEST__BODY__NOT_SET);
        } else {
            assert_null(p);
        }
        otkctrl__request__free_unpacked(p, NULL);
    }
    /* A length past the end of the Write, and past the end of the Request. */
    static const uint8_t past_write[] = {0x2A, 0x03, 0x12, 0x02, 'a'};
    assert_fallback(past_write, sizeof past_write, false);
    static const uint8_t past_request[] = {0x2A, 0x05, 0x12, 0x03, 'a', 'b'};
    assert_fallback(past_request, sizeof past_request, false);
    /* A varint whose last byte is missing. */
    static const uint8_t cut_varint[] = {0x2A, 0x00, 0x08, 0x80};
    assert_fallback(cut_varint, sizeof cut_varint, false);
}

/* What a host sends: a full chunk packed by protobuf-c. */
static void test_packed_by_protobuf_c(void **state)
{
    (void)state;
    static uint8_t data[OTK_HOSTED_MAX_CHUNK];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7u + 3u);
    }
    static const uint32_t ids[] = {0, 1, 127, 128, 300000, 0xFFFFFFFFu};
    static const uint32_t offsets[] = {0, 16384, 0x7FFFFFFFu, 0xFFFFFFF0u};
    static const size_t lens[] = {0, 1, 127, 128, 16383, OTK_HOSTED_MAX_CHUNK};
    static uint8_t packed[OTK_FRAME_MAX_PAYLOAD];
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        Otkctrl__Write in = OTKCTRL__WRITE__INIT;
        in.offset = offsets[k % 4];
        in.data.data = data;
        in.data.len = lens[k];
        in.crc32 = otk_crc32_update(0, data, lens[k]);
        Otkctrl__Request req = OTKCTRL__REQUEST__INIT;
        req.id = ids[k];
        req.body_case = OTKCTRL__REQUEST__BODY_WRITE;
        req.write = &in;
        size_t n = otkctrl__request__get_packed_size(&req);
        assert_true(n <= sizeof packed);
        assert_int_equal(otkctrl__request__pack(&req, packed), n);
        assert_true(fast(packed, n));
        assert_int_equal(q.id, ids[k]);
        assert_int_equal(q.body_case, OTKCTRL__REQUEST__BODY_WRITE);
        assert_int_equal(w.offset, in.offset);
        assert_int_equal(w.crc32, in.crc32);
        assert_int_equal(w.data.len, lens[k]);
        if (lens[k] == 0) {
            assert_null(w.data.data);
            continue;
        }
        /* In place: inside the packed bytes, not a copy. */
        assert_true(w.data.data > packed && w.data.data + lens[k] <= packed + n);
        assert_memory_equal(w.data.data, data, lens[k]);
    }
}

/* The device's reply to a Write, as bytes. */
static size_t handle(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const uint8_t *req,
                     size_t len, uint8_t *out)
{
    size_t m = otk_hosted_handle(h, peer, req, len, 1000, out, OTK_FRAME_MAX_PAYLOAD, NULL);
    assert_true(m > 0);
    return m;
}

/* The same Write read by the fast decoder and by protobuf-c (the id written with one more
 * byte than needed) gets byte-identical replies: a duplicate, a CRC mismatch, a gap. */
static void test_same_reply_either_way(void **state)
{
    (void)state;
    static otk_device_run_t run;
    static otk_hosted_handler_t h;
    otk_hosted_peer_t peer;
    const char *flash = hf_make_device(NULL);
    hf_open(&run, flash, NULL);
    otk_diag_t diag;
    otk_diag_clear(&diag);
    assert_int_equal(otk_hosted_handler_init(&h, &run, NULL, &diag), ESP_OK);
    otk_hosted_peer_init(&peer, false);
    size_t img_len;
    const uint8_t *img = hf_image("2.0.0", 20000, &img_len);
    static uint8_t req[OTK_FRAME_MAX_PAYLOAD + 8], out_a[OTK_FRAME_MAX_PAYLOAD],
        out_b[OTK_FRAME_MAX_PAYLOAD];
    uint8_t sha[32];
    otk_sha256(img, img_len, sha);
    Otkctrl__Begin b = OTKCTRL__BEGIN__INIT;
    b.image_size = (uint32_t)img_len;
    b.sha256.data = sha;
    b.sha256.len = sizeof sha;
    b.chunk_size = 4096;
    Otkctrl__Request breq = OTKCTRL__REQUEST__INIT;
    breq.id = 1;
    breq.body_case = OTKCTRL__REQUEST__BODY_BEGIN;
    breq.begin = &b;
    size_t n = otkctrl__request__pack(&breq, req);
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, handle(&h, &peer, req, n, out_a),
                                                     out_a);
    assert_non_null(r);
    assert_int_equal(r->result, OTKCTRL__RESULT__RESULT_OK);
    otkctrl__response__free_unpacked(r, NULL);

    struct {
        uint32_t offset;
        uint32_t crc_flip;
    } cases[] = {{0, 0}, {0, 0}, {0, 1}, {8192, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Otkctrl__Write wr = OTKCTRL__WRITE__INIT;
        wr.offset = cases[k].offset;
        wr.data.data = (uint8_t *)img + cases[k].offset;
        wr.data.len = 4096;
        wr.crc32 = otk_crc32_update(0, wr.data.data, 4096) ^ cases[k].crc_flip;
        Otkctrl__Request wq = OTKCTRL__REQUEST__INIT;
        wq.id = 5; /* one byte: 08 05 */
        wq.body_case = OTKCTRL__REQUEST__BODY_WRITE;
        wq.write = &wr;
        n = otkctrl__request__pack(&wq, req);
        assert_int_equal(req[0], 0x08);
        assert_int_equal(req[1], 0x05);
        assert_true(fast(req, n));
        size_t ma = handle(&h, &peer, req, n, out_a);
        if (k == 0) {
            continue; /* the first write of the chunk: the rest see it written */
        }
        /* The same request with id 5 as 85 00: only protobuf-c reads it. */
        memmove(req + 3, req + 2, n - 2);
        req[1] = 0x85;
        req[2] = 0x00;
        assert_false(fast(req, n + 1));
        size_t mb = handle(&h, &peer, req, n + 1, out_b);
        assert_int_equal(ma, mb);
        assert_memory_equal(out_a, out_b, ma);
    }
    assert_int_equal(h.session.duplicates, 2);
    assert_int_equal(h.session.gaps, 2);
    otk_hosted_handler_shutdown(&h);
    otk_device_run_close(&run);
    ts_cleanup_dir(hf_dir());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_order),
        cmocka_unit_test(test_reversed_order),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_data),
        cmocka_unit_test(test_32_bit_limits),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_not_minimal),
        cmocka_unit_test(test_wire_types),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_packed_by_protobuf_c),
        cmocka_unit_test(test_same_reply_either_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
