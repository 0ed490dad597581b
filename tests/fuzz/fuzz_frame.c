/* Fuzz the control path's decoders: the frame decoder (resync, length limit, CRCs) fed in
 * pieces, and every payload it delivers through the protobuf message decoders (Request,
 * Response). The input is also tried as a bare message. Properties:
 *  - every byte fed is accounted for: delivered in a frame, discarded, or still pending;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t step = 1 + data[0] % 97; /* how the stream arrives: in pieces of this size */
    data++;
    size--;
    check_request(data, size);
    check_response(data, size);
    otk_frame_decoder_t dec;
    if (!otk_frame_decoder_init(&dec, dec_buf, sizeof dec_buf, OTK_FRAME_MAX_PAYLOAD)) {
        abort();
    }
    uint64_t delivered = 0;
    for (size_t i = 0; i < size;) {
        size_t n = size - i < step ? size - i : step;
        i += otk_frame_decoder_feed(&dec, data + i, n);
        const uint8_t *p;
        size_t plen;
        while (otk_frame_decoder_next(&dec, &p, &plen)) {
            delivered += plen + OTK_FRAME_OVERHEAD;
            memcpy(work, p, plen); /* the payload is ours until the next call */
            check_request(work, plen);
            check_response(work, plen);
            check_reframe(work, plen);
        }
    }
    if (dec.stats.garbage_bytes + delivered + (dec.end - dec.start) != size) {
        abort();
    }
    /* Giving up on what is pending only ever moves bytes to garbage or to frames. */
    while (otk_frame_decoder_pending(&dec)) {
        otk_frame_decoder_expire(&dec);
        const uint8_t *p;
        size_t plen;
        while (otk_frame_decoder_next(&dec, &p, &plen)) {
            delivered += plen + OTK_FRAME_OVERHEAD;
        }
    }
    if (dec.stats.garbage_bytes + delivered != size) {
        abort();
    }
    return 0;
}
