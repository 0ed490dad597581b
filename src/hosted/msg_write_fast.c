/* The device's hot path: a Request that carries a Write, decoded without protobuf-c.
 *
 * protobuf-c's unpack allocates the message and copies Write.data (up to 16 KiB) out of the
 * frame, and the handler frees it again right after; during a push that is one more pass
 * over every image byte. A host's Writes are always the same few fields, so they are read
 * here in place: data points into the frame's payload.
 *
 * Only what is certain is accepted; anything else returns false and protobuf-c decides, so
 * a device answers every input as it did with protobuf-c alone. Accepted: a Request whose
 * fields are id (1, varint) at most once and write (5, length-delimited) exactly once, the
 * Write's fields offset (1, varint), data (2, length-delimited), crc32 (3, varint) each at
 * most once; any order; every key one byte, every varint and length minimal and at most 32
 * bits. Left to protobuf-c: unknown fields (it keeps them, and a field number 0 among them
 * makes the message garbage: hosted_msg_wellformed), a field given twice (the last wins, or
 * two Writes merge), keys and varints that are not minimal (it reads them, and a varint of
 * more than 32 bits it truncates), wire types it refuses, and a Request without a Write. */
#include <stdint.h>

#include "hosted_internal.h"

/* Keys (field number << 3 | wire type) of the fields above: one byte each, as field numbers
 * 1..15 always are when written minimally. */
#define KEY_REQUEST_ID 0x08u    /* 1, varint */
#define KEY_REQUEST_WRITE 0x2Au /* 5, length-delimited */
#define KEY_WRITE_OFFSET 0x08u  /* 1, varint */
#define KEY_WRITE_DATA 0x12u    /* 2, length-delimited */
#define KEY_WRITE_CRC32 0x18u   /* 3, varint */

/* A minimal varint of at most 32 bits at p (avail bytes there): its length in bytes, 0 when
 * it is cut short, longer than needed, or larger than 32 bits. */
static size_t varint32(const uint8_t *p, size_t avail, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 5 && i < avail; i++) {
        uint8_t b = p[i];
        if (i == 4 && b > 0x0Fu) {
            return 0; /* bits 32 and up (or a sixth byte): protobuf-c would truncate */
        }
        v |= (uint32_t)(b & 0x7Fu) << (7 * i);
        if ((b & 0x80u) == 0) {
            if (i > 0 && b == 0) {
                return 0; /* a trailing zero group: not minimal */
            }
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

/* A length-delimited field's length at p[*at]: advances *at past it; false when the length
 * is not a minimal varint or runs past end. */
static bool length_at(const uint8_t *p, size_t end, size_t *at, uint32_t *len)
{
    size_t used = varint32(p + *at, end - *at, len);
    if (used == 0 || *len > end - *at - used) {
        return false;
    }
    *at += used;
    return true;
}

static bool varint_at(const uint8_t *p, size_t end, size_t *at, uint32_t *v)
{
    size_t used = varint32(p + *at, end - *at, v);
    *at += used;
    return used != 0;
}

/* The Write message's bytes p[0, end). */
static bool parse_write(const uint8_t *p, size_t end, Otkctrl__Write *w)
{
    bool seen_offset = false, seen_data = false, seen_crc = false;
    size_t at = 0;
    while (at < end) {
        uint8_t key = p[at++];
        if (key == KEY_WRITE_OFFSET && !seen_offset) {
            seen_offset = true;
            if (!varint_at(p, end, &at, &w->offset)) {
                return false;
            }
        } else if (key == KEY_WRITE_CRC32 && !seen_crc) {
            seen_crc = true;
            if (!varint_at(p, end, &at, &w->crc32)) {
                return false;
            }
        } else if (key == KEY_WRITE_DATA && !seen_data) {
            seen_data = true;
            uint32_t len;
            if (!length_at(p, end, &at, &len)) {
                return false;
            }
            /* Read-only from here on (session_write takes the Write as const); an empty
             * field is NULL, as protobuf-c leaves it. */
            w->data.data = len > 0 ? (uint8_t *)(uintptr_t)(p + at) : NULL;
            w->data.len = len;
            at += len;
        } else {
            return false; /* another field, a second one, or another wire type */
        }
    }
    return true;
}

bool hosted_write_fast_decode(const uint8_t *buf, size_t len, Otkctrl__Request *q,
                              Otkctrl__Write *w)
{
    otkctrl__request__init(q);
    otkctrl__write__init(w);
    bool seen_id = false, seen_write = false;
    size_t at = 0;
    while (at < len) {
        uint8_t key = buf[at++];
        if (key == KEY_REQUEST_ID && !seen_id) {
            seen_id = true;
            if (!varint_at(buf, len, &at, &q->id)) {
                return false;
            }
        } else if (key == KEY_REQUEST_WRITE && !seen_write) {
            seen_write = true;
            uint32_t n;
            if (!length_at(buf, len, &at, &n) || !parse_write(buf + at, n, w)) {
                return false;
            }
            at += n;
        } else {
            return false;
        }
    }
    if (!seen_write) {
        return false; /* an id alone: a request with no body, protobuf-c's case */
    }
    q->body_case = OTKCTRL__REQUEST__BODY_WRITE;
    q->write = w;
    return true;
}
