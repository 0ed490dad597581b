/* Frames over a byte stream: encode, and a decoder that resynchronises (hosted_frame.h). */
#include <string.h>

#include "otakit/crc32.h"
#include "otakit/hosted_frame.h"

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t otk_frame_seal(uint8_t *frame, size_t payload_len)
{
    frame[0] = OTK_FRAME_MAGIC0;
    frame[1] = OTK_FRAME_MAGIC1;
    frame[2] = OTK_FRAME_VERSION;
    frame[3] = 0;
    put_le32(frame + 4, (uint32_t)payload_len);
    put_le32(frame + 8, otk_crc32_update(0, frame, 8));
    put_le32(frame + OTK_FRAME_HEADER_LEN + payload_len,
             otk_crc32_update(0, frame + OTK_FRAME_HEADER_LEN, payload_len));
    return payload_len + OTK_FRAME_OVERHEAD;
}

size_t otk_frame_encode(const void *payload, size_t len, uint8_t *out, size_t cap)
{
    if (len > UINT32_MAX || cap < OTK_FRAME_OVERHEAD || len > cap - OTK_FRAME_OVERHEAD ||
        (len > 0 && payload == NULL)) {
        return 0;
    }
    if (len > 0) {
        memmove(out + OTK_FRAME_HEADER_LEN, payload, len);
    }
    return otk_frame_seal(out, len);
}

bool otk_frame_decoder_init(otk_frame_decoder_t *dec, uint8_t *buf, size_t cap,
                            size_t max_payload)
{
    memset(dec, 0, sizeof *dec);
    if (buf == NULL || max_payload == 0 || max_payload > UINT32_MAX ||
        cap < max_payload + OTK_FRAME_OVERHEAD) {
        return false;
    }
    dec->buf = buf;
    dec->cap = cap;
    dec->max_payload = max_payload;
    return true;
}

void otk_frame_decoder_reset(otk_frame_decoder_t *dec)
{
    dec->stats.garbage_bytes += dec->end - dec->start;
    dec->start = dec->end = 0;
}

size_t otk_frame_decoder_space(otk_frame_decoder_t *dec, size_t want, uint8_t **at)
{
    if (dec->start > 0 && dec->cap - dec->end < want) {
        /* Move the undecided bytes down only when the room is needed: a frame is then
         * copied at most once more. */
        memmove(dec->buf, dec->buf + dec->start, dec->end - dec->start);
        dec->end -= dec->start;
        dec->start = 0;
    }
    *at = dec->buf + dec->end;
    return dec->cap - dec->end;
}

void otk_frame_decoder_commit(otk_frame_decoder_t *dec, size_t n)
{
    /* More than the room is the caller's bug; the bytes past it were never written. */
    size_t room = dec->cap - dec->end;
    dec->end += n < room ? n : room;
}

/* A copy into the room of space and commit, so the two ways in cannot differ. */
size_t otk_frame_decoder_feed(otk_frame_decoder_t *dec, const void *data, size_t len)
{
    uint8_t *at;
    size_t room = otk_frame_decoder_space(dec, len, &at);
    size_t n = len < room ? len : room;
    if (n > 0) {
        memcpy(at, data, n);
        otk_frame_decoder_commit(dec, n);
    }
    return n;
}

/* Skip to the next possible frame start: a MAGIC0 followed by MAGIC1, or a MAGIC0 as the
 * last buffered byte (its partner may still come). Skipped bytes are garbage. */
static void hunt(otk_frame_decoder_t *dec)
{
    while (dec->start < dec->end) {
        const uint8_t *p = memchr(dec->buf + dec->start, OTK_FRAME_MAGIC0, dec->end - dec->start);
        size_t at = p != NULL ? (size_t)(p - dec->buf) : dec->end;
        dec->stats.garbage_bytes += at - dec->start;
        dec->start = at;
        if (at + 1 >= dec->end || dec->buf[at + 1] == OTK_FRAME_MAGIC1) {
            return;
        }
        dec->start++; /* a lone MAGIC0 */
        dec->stats.garbage_bytes++;
    }
}

/* The frame start at buf[start] failed a check: drop its first byte, hunt from there. */
static void drop_one(otk_frame_decoder_t *dec)
{
    dec->start++;
    dec->stats.garbage_bytes++;
}

static bool header_ok(const otk_frame_decoder_t *dec, const uint8_t *h, size_t *payload_len)
{
    if (h[2] != OTK_FRAME_VERSION || h[3] != 0) {
        return false;
    }
    if (get_le32(h + 8) != otk_crc32_update(0, h, 8)) {
        return false;
    }
    uint32_t n = get_le32(h + 4);
    if (n > dec->max_payload) {
        return false;
    }
    *payload_len = n;
    return true;
}

bool otk_frame_decoder_next(otk_frame_decoder_t *dec, const uint8_t **payload, size_t *len)
{
    for (;;) {
        hunt(dec);
        size_t avail = dec->end - dec->start;
        if (avail < OTK_FRAME_HEADER_LEN) {
            return false;
        }
        const uint8_t *h = dec->buf + dec->start;
        size_t n = 0;
        if (!header_ok(dec, h, &n)) {
            dec->stats.bad_headers++;
            drop_one(dec);
            continue;
        }
        if (avail < n + OTK_FRAME_OVERHEAD) {
            return false;
        }
        const uint8_t *body = h + OTK_FRAME_HEADER_LEN;
        if (get_le32(body + n) != otk_crc32_update(0, body, n)) {
            dec->stats.bad_payloads++;
            drop_one(dec);
            continue;
        }
        dec->start += n + OTK_FRAME_OVERHEAD;
        dec->stats.frames++;
        if (dec->start == dec->end) {
            /* Nothing undecided: the next feed starts at the front again (the payload
             * handed out stays intact until then). */
            dec->start = dec->end = 0;
        }
        *payload = body;
        *len = n;
        return true;
    }
}

bool otk_frame_decoder_pending(const otk_frame_decoder_t *dec)
{
    return dec->end > dec->start;
}

void otk_frame_decoder_expire(otk_frame_decoder_t *dec)
{
    hunt(dec);
    if (dec->start < dec->end) {
        drop_one(dec);
    }
}
