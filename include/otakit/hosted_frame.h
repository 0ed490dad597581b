/* Framing of the control path: messages over a byte stream (a socket, a UART).
 *
 * A frame is
 *
 *   offset  size  field
 *   0       2     magic A5 C3
 *   2       1     version (1)
 *   3       1     flags (0 in version 1; anything else is a bad header)
 *   4       4     payload length n, little-endian, at most the receiver's limit
 *   8       4     CRC-32 of bytes 0..7, little-endian
 *   12      n     payload (one protobuf message, src/hosted/otakit_ctrl.proto)
 *   12+n    4     CRC-32 of the payload, little-endian
 *
 * CRC-32 is zlib's (otakit/crc32.h). The header has its own CRC so that a damaged length
 * is caught at once instead of making the receiver wait for bytes that never come.
 *
 * The decoder resynchronises after anything: it hunts for the magic, checks the header,
 * waits for the payload, checks its CRC; whenever a check fails it drops one byte (the
 * first magic byte) and hunts again from there, so a frame hidden behind garbage, or
 * behind a frame that was cut short, is still found. A frame that fails a check is never
 * delivered; it is counted. The decoder never allocates: it works in a buffer the caller
 * gives it. */
#ifndef OTAKIT_HOSTED_FRAME_H
#define OTAKIT_HOSTED_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Two bytes that are neither ASCII (so console text does not alias them) nor a line's
 * idle level (0x00, 0xFF). */
#define OTK_FRAME_MAGIC0 0xA5u
#define OTK_FRAME_MAGIC1 0xC3u
#define OTK_FRAME_VERSION 1u
#define OTK_FRAME_HEADER_LEN 12u
#define OTK_FRAME_TRAILER_LEN 4u
#define OTK_FRAME_OVERHEAD (OTK_FRAME_HEADER_LEN + OTK_FRAME_TRAILER_LEN)

/* The largest Write.data otakit peers send, and the payload limit that follows from it.
 * 16 KiB: four flash sectors, large enough that framing and protobuf cost under 0.2 %,
 * small enough that a frame lost on a 921600-baud UART costs only ~0.18 s to resend. The
 * protobuf fields around the data (request id, offset, CRC, tags and lengths) take at
 * most 32 bytes; 256 leaves room for any other message (a Status reply with 16 slots is
 * well under this limit too). */
#define OTK_FRAME_MAX_CHUNK 16384u
#define OTK_FRAME_MAX_PAYLOAD (OTK_FRAME_MAX_CHUNK + 256u)
/* A decoder buffer that holds any frame up to OTK_FRAME_MAX_PAYLOAD. */
#define OTK_FRAME_BUFFER_SIZE (OTK_FRAME_MAX_PAYLOAD + OTK_FRAME_OVERHEAD)

/* What a decoder saw. Every byte it was fed ends up in exactly one of: a delivered
 * frame, garbage_bytes, or the buffer (not decided yet). */
typedef struct {
    uint64_t frames;        /* delivered */
    uint64_t bad_headers;   /* a magic whose header failed its CRC, version, flags or limit */
    uint64_t bad_payloads;  /* a good header whose payload failed its CRC */
    uint64_t garbage_bytes; /* bytes skipped: between frames, and of frames that failed */
} otk_frame_stats_t;

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t max_payload;
    size_t start; /* undecided bytes are buf[start, end) */
    size_t end;
    otk_frame_stats_t stats;
} otk_frame_decoder_t;

/* buf must hold max_payload + OTK_FRAME_OVERHEAD bytes (so any acceptable frame fits);
 * returns false otherwise, or when max_payload is 0. */
bool otk_frame_decoder_init(otk_frame_decoder_t *dec, uint8_t *buf, size_t cap,
                            size_t max_payload);
/* Forget buffered bytes (counted as garbage); keeps the statistics. */
void otk_frame_decoder_reset(otk_frame_decoder_t *dec);

/* Take up to len bytes; returns how many were taken (less than len only when the buffer
 * is full: call otk_frame_decoder_next until it returns false, then feed the rest). */
size_t otk_frame_decoder_feed(otk_frame_decoder_t *dec, const void *data, size_t len);

/* The same without the copy, for a caller that reads straight into the decoder (read(2)
 * into its buffer): space makes room for want bytes if it can (by moving the undecided
 * bytes down, as feed does) and returns the room there is at *at, which may be more or
 * less than want (0: call otk_frame_decoder_next until it returns false first); commit
 * then takes the first n bytes written there (at most the room). Bytes written there and
 * not committed are not the decoder's. feed(data, len) is space(len), a copy, commit. */
size_t otk_frame_decoder_space(otk_frame_decoder_t *dec, size_t want, uint8_t **at);
void otk_frame_decoder_commit(otk_frame_decoder_t *dec, size_t n);

/* The next complete, valid frame's payload. The pointer stays valid until the next call
 * of feed, space, next, expire or reset. false: more bytes are needed. */
bool otk_frame_decoder_next(otk_frame_decoder_t *dec, const uint8_t **payload, size_t *len);

/* Bytes are buffered that may be the start of a frame (for a stale-frame timer). */
bool otk_frame_decoder_pending(const otk_frame_decoder_t *dec);
/* Give up on the frame being assembled: its first byte is dropped and the hunt starts
 * again after it (a frame whose tail was lost on the link would otherwise make the
 * decoder wait for bytes that belong to the frames after it). */
void otk_frame_decoder_expire(otk_frame_decoder_t *dec);

/* Frame a payload: header, payload, CRC into out. Returns the frame's length, or 0 when
 * it does not fit cap. (The encoder does not apply a payload limit: receivers do.) */
size_t otk_frame_encode(const void *payload, size_t len, uint8_t *out, size_t cap);
/* In place: frame[OTK_FRAME_HEADER_LEN ..] already holds payload_len bytes; write the
 * header before them and the CRC after them (frame must have room for the trailer).
 * Returns the frame's length. */
size_t otk_frame_seal(uint8_t *frame, size_t payload_len);

#ifdef __cplusplus
}
#endif
#endif
