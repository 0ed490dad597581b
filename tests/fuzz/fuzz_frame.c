/* Fuzz the control path's decoders: the frame decoder (resync, length limit, CRCs) fed in
 * pieces, and every payload it delivers through the protobuf message decoders (Request,
 * Response). The input is also tried as a bare message. Properties:
 *  - every byte fed is accounted for: delivered in a frame, discarded, or still pending;
 *  - a second decoder (another buffer size) given the same bytes through space/commit, as
 *    the device's server reads them, in other pieces and asking for other amounts of room,
 *    delivers the same frames and counts the same, before and after giving up on what is
 *    pending;
 *  - a delivered payload re-framed decodes to the same payload;
 *  - a message that decodes (and is well-formed: no field number 0, which protobuf-c
 *    reads but the device refuses) packs again, and that decodes to the same packed size. */
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted_internal.h"
#include "otakit/hosted_frame.h"
#include "otakit_ctrl.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t dec_buf[OTK_FRAME_BUFFER_SIZE];
static uint8_t work[OTK_FRAME_BUFFER_SIZE];
/* Up to twice the smallest buffer, like the server's burst-plus-frame one. */
static uint8_t direct_buf[2 * OTK_FRAME_BUFFER_SIZE];

static void check_request(const uint8_t *p, size_t n)
{
    Otkctrl__Request *q = otkctrl__request__unpack(NULL, n, p);
    if (q != NULL && !hosted_msg_wellformed(&q->base)) {
        otkctrl__request__free_unpacked(q, NULL); /* the device refuses it as garbage */
        return;
    }
    if (q == NULL) {
        return;
    }
    size_t len = otkctrl__request__get_packed_size(q);
    uint8_t *again = malloc(len + 1);
    if (otkctrl__request__pack(q, again) != len) {
        abort();
    }
    Otkctrl__Request *q2 = otkctrl__request__unpack(NULL, len, again);
    if (q2 == NULL || otkctrl__request__get_packed_size(q2) != len) {
        abort();
    }
    otkctrl__request__free_unpacked(q2, NULL);
    otkctrl__request__free_unpacked(q, NULL);
    free(again);
}

static void check_response(const uint8_t *p, size_t n)
{
    Otkctrl__Response *r = otkctrl__response__unpack(NULL, n, p);
    if (r != NULL && !hosted_msg_wellformed(&r->base)) {
        otkctrl__response__free_unpacked(r, NULL); /* the host refuses it as garbage */
        return;
    }
    if (r == NULL) {
        return;
    }
    size_t len = otkctrl__response__get_packed_size(r);
    uint8_t *again = malloc(len + 1);
    if (otkctrl__response__pack(r, again) != len) {
        abort();
    }
    Otkctrl__Response *r2 = otkctrl__response__unpack(NULL, len, again);
    if (r2 == NULL || otkctrl__response__get_packed_size(r2) != len) {
        abort();
    }
    otkctrl__response__free_unpacked(r2, NULL);
    otkctrl__response__free_unpacked(r, NULL);
    free(again);
}

/* A delivered payload, framed again, comes back whole from a fresh decoder. */
static void check_reframe(const uint8_t *p, size_t n)
{
    static uint8_t frame[OTK_FRAME_BUFFER_SIZE];
    static uint8_t buf2[OTK_FRAME_BUFFER_SIZE];
    size_t len = otk_frame_encode(p, n, frame, sizeof frame);
    otk_frame_decoder_t d;
    if (len == 0 || !otk_frame_decoder_init(&d, buf2, sizeof buf2, OTK_FRAME_MAX_PAYLOAD) ||
        otk_frame_decoder_feed(&d, frame, len) != len) {
        abort();
    }
    const uint8_t *q;
    size_t qn;
    if (!otk_frame_decoder_next(&d, &q, &qn) || qn != n || memcmp(q, p, n) != 0) {
        abort();
    }
}

/* The frames a decoder delivered, in order: each as its length (4 bytes) and its payload.
 * At most the input's size (a frame's 16 bytes of overhead hold its length). */
typedef struct {
    uint8_t *bytes;
    size_t len;
} frame_log_t;

static void log_frame(frame_log_t *log, const uint8_t *p, size_t n)
{
    uint32_t len = (uint32_t)n;
    memcpy(log->bytes + log->len, &len, 4);
    memcpy(log->bytes + log->len + 4, p, n);
    log->len += 4 + n;
}

/* Pieces and room requests for the second decoder, from the input (xorshift32). */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* The same bytes read straight into a decoder of another size (space/commit, as the
 * server reads), in other pieces: *dec and *log are what it delivered and kept. */
static void read_direct(const uint8_t *data, size_t size, uint8_t seed, otk_frame_decoder_t *dec,
                        frame_log_t *log)
{
    uint32_t r = 0x9E3779B9u ^ ((uint32_t)seed << 8) ^ (uint32_t)size;
    size_t cap = OTK_FRAME_BUFFER_SIZE + next_rand(&r) % (OTK_FRAME_BUFFER_SIZE + 1);
    if (!otk_frame_decoder_init(dec, direct_buf, cap, OTK_FRAME_MAX_PAYLOAD)) {
        abort();
    }
    for (size_t i = 0; i < size;) {
        /* Ask for a little, a piece, or more than the buffer holds. */
        uint32_t how = next_rand(&r);
        size_t want = how % 4 == 0 ? 1 + how % 64 : how % 4 == 1 ? cap + 1 : 1 + how % cap;
        uint8_t *at;
        size_t room = otk_frame_decoder_space(dec, want, &at);
        if (room == 0 || at < direct_buf || at + room > direct_buf + cap) {
            abort(); /* after next returned false there is always room, inside the buffer */
        }
        size_t n = next_rand(&r) % (room + 1); /* a read brings anything up to the room */
        n = n < size - i ? n : size - i;
        memcpy(at, data + i, n);
        /* Bytes past the committed ones are not the decoder's: a stray magic there must
         * change nothing. */
        memset(at + n, OTK_FRAME_MAGIC0, room - n < 16 ? room - n : 16);
        otk_frame_decoder_commit(dec, n);
        i += n;
        const uint8_t *p;
        size_t plen;
        while (otk_frame_decoder_next(dec, &p, &plen)) {
            log_frame(log, p, plen);
        }
    }
}

/* Two decoders delivered the same frames, counted the same and keep as many bytes. */
static void check_same(const otk_frame_decoder_t *a, const frame_log_t *alog,
                       const otk_frame_decoder_t *b, const frame_log_t *blog)
{
    if (alog->len != blog->len || memcmp(alog->bytes, blog->bytes, alog->len) != 0 ||
        memcmp(&a->stats, &b->stats, sizeof a->stats) != 0 ||
        a->end - a->start != b->end - b->start) {
        abort();
    }
}

/* Give up on what is pending until nothing is: the frames found behind it go to log. */
static void expire_all(otk_frame_decoder_t *dec, frame_log_t *log, uint64_t *delivered)
{
    while (otk_frame_decoder_pending(dec)) {
        otk_frame_decoder_expire(dec);
        const uint8_t *p;
        size_t plen;
        while (otk_frame_decoder_next(dec, &p, &plen)) {
            *delivered += plen + OTK_FRAME_OVERHEAD;
            log_frame(log, p, plen);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t seed = data[0];
    size_t step = 1 + seed % 97; /* how the stream arrives: in pieces of this size */
    data++;
    size--;
    check_request(data, size);
    check_response(data, size);
    otk_frame_decoder_t dec;
    if (!otk_frame_decoder_init(&dec, dec_buf, sizeof dec_buf, OTK_FRAME_MAX_PAYLOAD)) {
        abort();
    }
    uint64_t delivered = 0;
    frame_log_t fed = {malloc(size + 4), 0};
    for (size_t i = 0; i < size;) {
        size_t n = size - i < step ? size - i : step;
        i += otk_frame_decoder_feed(&dec, data + i, n);
        const uint8_t *p;
        size_t plen;
        while (otk_frame_decoder_next(&dec, &p, &plen)) {
            delivered += plen + OTK_FRAME_OVERHEAD;
            log_frame(&fed, p, plen);
            memcpy(work, p, plen); /* the payload is ours until the next call */
            check_request(work, plen);
            check_response(work, plen);
            check_reframe(work, plen);
        }
    }
    if (dec.stats.garbage_bytes + delivered + (dec.end - dec.start) != size) {
        abort();
    }
    otk_frame_decoder_t direct;
    frame_log_t direct_log = {malloc(size + 4), 0};
    read_direct(data, size, seed, &direct, &direct_log);
    check_same(&dec, &fed, &direct, &direct_log);
    /* Giving up on what is pending only ever moves bytes to garbage or to frames. */
    expire_all(&dec, &fed, &delivered);
    if (dec.stats.garbage_bytes + delivered != size) {
        abort();
    }
    uint64_t direct_delivered = 0;
    expire_all(&direct, &direct_log, &direct_delivered);
    check_same(&dec, &fed, &direct, &direct_log);
    free(fed.bytes);
    free(direct_log.bytes);
    return 0;
}
