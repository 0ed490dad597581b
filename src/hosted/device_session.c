/* The update session on the device: Begin, Write, End, Activate, Abort over the esp_ota_*
 * engine (otakit/ota.h), and the session file that lets it survive a dropped link and a
 * reboot.
 *
 * The engine is opened with OTA_WITH_SEQUENTIAL_WRITES, so nothing is erased up front:
 * the writes erase just ahead of themselves. And it is opened only by the first chunk, once
 * that chunk has shown an app image this device can boot, so a wrong image leaves the
 * flash exactly as it was (ESP-Hosted erases the whole slot inside begin, before it has
 * seen a byte). Writes are taken in order; a write over bytes already written with the
 * same bytes is acknowledged again, a write past the next expected offset is answered
 * with that offset. */
#include <stdio.h>
#include <string.h>

#include "hosted_internal.h"
#include "otakit/crc32.h"
#include "otakit/ota.h"

/* Flash is read in pieces this big to compare and to re-hash (one sector: stack-sized). */
#define READ_PIECE 0x1000u

static const esp_partition_t *slot_of(otk_hosted_handler_t *h)
{
    return otk_partition_find_first(&h->run->dev.table, ESP_PARTITION_TYPE_APP,
                                    ESP_PARTITION_SUBTYPE_ANY, h->session.slot);
}

/* The first 8 bytes of a SHA-256 as hex, for log lines and messages. */
/* The first bytes of a session's SHA-256 for the log ("0123456789abcdef..."), or
 * "(hash with End)" while Begin has left it to End. */
static const char *session_sha(const otk_hosted_session_t *s, char buf[20])
{
    if (!s->sha_known) {
        return "(hash with End)";
    }
    hosted_hex(s->sha256, 8, buf);
    memcpy(buf + 16, "...", 4);
    return buf;
}

static const char *short_sha(const uint8_t *sha, char buf[17])
{
    hosted_hex(sha, 8, buf);
    return buf;
}

void session_save(otk_hosted_handler_t *h, bool force)
{
    otk_hosted_session_t *s = &h->session;
    bool resumable = s->state == OTK_SESSION_RECEIVING || s->state == OTK_SESSION_VERIFIED;
    if (!resumable || s->written == 0 || s->written == s->saved) {
        return;
    }
    bool due = s->written - s->saved >= OTK_HOSTED_SAVE_EVERY &&
               h->now_ms - s->saved_ms >= OTK_HOSTED_SAVE_MIN_MS;
    if (!force && !due && s->written != s->image_size) {
        return;
    }
    otk_diag_t diag;
    otk_diag_clear(&diag);
    if (!session_store_save(h->session_path, s, &diag)) {
        hosted_log(h, 'W', "cannot save the session: %s", diag.msg);
        return;
    }
    s->saved = s->written;
    s->saved_ms = h->now_ms;
}

void session_drop(otk_hosted_handler_t *h)
{
    otk_hosted_session_t *s = &h->session;
    if (s->handle != 0) {
        otk_ota_abort(&h->run->dev, s->handle);
    }
    session_store_remove(h->session_path);
    memset(s, 0, sizeof *s);
}

/* The image was refused or a flash operation failed: the session cannot go on. */
static void session_fail(otk_hosted_handler_t *h, hosted_reply_t *r, Otkctrl__Result result,
                         esp_err_t err, const char *why)
{
    otk_hosted_session_t *s = &h->session;
    if (s->handle != 0) {
        otk_ota_abort(&h->run->dev, s->handle);
        s->handle = 0;
    }
    session_store_remove(h->session_path);
    s->state = OTK_SESSION_FAILED;
    s->last_err = err;
    snprintf(s->last_message, sizeof s->last_message, "%s", why);
    reply_set(h, r, result, err, false, "%s: %s", s->slot, why);
}

void session_reload(otk_hosted_handler_t *h)
{
    otk_hosted_session_t *s = &h->session;
    otk_diag_t diag;
    if (!session_store_load(h->session_path, s, &diag)) {
        memset(s, 0, sizeof *s);
        if (diag.msg[0] != '\0') {
            hosted_log(h, 'W', "dropped the session file: %s", diag.msg);
            session_store_remove(h->session_path);
        }
        return;
    }
    otk_device_t *dev = &h->run->dev;
    const esp_partition_t *p = slot_of(h);
    const esp_partition_t *next = otk_ota_get_next_update_partition(dev, NULL);
    const char *why = NULL;
    if (p == NULL) {
        why = "its slot is not in the partition table";
    } else if (p == dev->running) {
        why = "its slot is the one running now";
    } else if (p != next) {
        why = "the next update goes to another slot now";
    } else if (s->image_size > p->size) {
        why = "the image does not fit its slot";
    }
    char sha[20];
    if (why != NULL) {
        hosted_log(h, 'W', "dropped the saved session (image %s, %u of %u bytes in %s): %s",
                   session_sha(s, sha), (unsigned)s->written, (unsigned)s->image_size,
                   s->slot, why);
        session_store_remove(h->session_path);
        memset(s, 0, sizeof *s);
        return;
    }
    hosted_log(h, 'I', "saved session: image %s, %u of %u bytes in %s; a Begin with the same "
               "image resumes it", session_sha(s, sha), (unsigned)s->written,
               (unsigned)s->image_size, s->slot);
}

/* A SUSPENDED session continues: from the start of the sector that holds its last saved
 * byte; esp_ota_resume reads what is before it into the engine's verifier. */
static bool resume_suspended(otk_hosted_handler_t *h, const esp_partition_t *slot,
                             hosted_reply_t *r)
{
    otk_hosted_session_t *s = &h->session;
    uint32_t at = s->written / OTK_HOSTED_RESUME_ALIGN * OTK_HOSTED_RESUME_ALIGN;
    if (at > 0) {
        esp_err_t err = otk_ota_resume(&h->run->dev, slot, OTA_WITH_SEQUENTIAL_WRITES, at,
                                       &s->handle);
        if (err != ESP_OK) {
            s->handle = 0;
            session_fail(h, r, OTKCTRL__RESULT__RESULT_FAILED, err,
                         "esp_ota_resume refused to continue the saved session");
            return false;
        }
    }
    s->written = s->saved = at;
    s->saved_ms = h->now_ms;
    s->state = OTK_SESSION_RECEIVING;
    return true;
}

/* What stops any update before looking at the image; NULL when nothing does. */
static const char *cannot_update(otk_hosted_handler_t *h, const esp_partition_t **target,
                                 Otkctrl__Result *result, esp_err_t *err)
{
    otk_device_t *dev = &h->run->dev;
    *result = OTKCTRL__RESULT__RESULT_BAD_STATE;
    *err = ESP_OK;
    if (h->reboot_pending) {
        return "the device is rebooting";
    }
    *target = otk_ota_get_next_update_partition(dev, NULL);
    if (*target == NULL) {
        *result = OTKCTRL__RESULT__RESULT_FAILED;
        *err = ESP_ERR_NOT_FOUND;
        return "the partition table has no OTA app slot to update";
    }
    esp_ota_img_states_t state;
    if (dev->config.rollback && otk_ota_get_state_partition(dev, dev->running, &state) == ESP_OK &&
        state == ESP_OTA_IMG_PENDING_VERIFY) {
        *err = ESP_ERR_OTA_ROLLBACK_INVALID_STATE;
        return "the running app is PENDING_VERIFY: it must confirm itself (Confirm) before an "
               "update (ESP-IDF refuses esp_ota_begin until then)";
    }
    return NULL;
}

static bool begin_args_ok(otk_hosted_handler_t *h, const Otkctrl__Begin *q, uint32_t *chunk,
                          hosted_reply_t *r)
{
    if (q->sha256.len != OTK_HOSTED_SHA256_LEN && q->sha256.len != 0) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_REQUEST, ESP_OK, false,
                  "Begin.sha256 has %zu bytes, a SHA-256 has 32 (or none: then End gives it)",
                  q->sha256.len);
        return false;
    }
    if (q->image_size < OTK_HOSTED_MIN_CHUNK) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED, ESP_ERR_INVALID_SIZE, false,
                  "an image of %u bytes cannot be an app (header, segment header and app "
                  "descriptor alone take %u)", (unsigned)q->image_size, OTK_HOSTED_MIN_CHUNK);
        return false;
    }
    *chunk = q->chunk_size != 0 ? q->chunk_size : OTK_HOSTED_DEFAULT_CHUNK;
    if (*chunk < OTK_HOSTED_MIN_CHUNK || *chunk > OTK_HOSTED_MAX_CHUNK) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_REQUEST, ESP_OK, false,
                  "chunk_size %u: must be %u..%u (the first chunk must hold the image header "
                  "and app descriptor)", (unsigned)*chunk, OTK_HOSTED_MIN_CHUNK,
                  OTK_HOSTED_MAX_CHUNK);
        return false;
    }
    return true;
}

void session_begin(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const Otkctrl__Begin *q,
                   hosted_reply_t *r, Otkctrl__BeginReply *out)
{
    otk_hosted_session_t *s = &h->session;
    otkctrl__begin_reply__init(out);
    const esp_partition_t *target = NULL;
    Otkctrl__Result result;
    esp_err_t err;
    uint32_t chunk = 0;
    if (!begin_args_ok(h, q, &chunk, r)) {
        return;
    }
    const char *why = cannot_update(h, &target, &result, &err);
    if (why != NULL) {
        reply_set(h, r, result, err, false, "%s", why);
        return;
    }
    if (q->image_size > target->size) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED, ESP_ERR_INVALID_SIZE, false,
                  "an image of %u bytes does not fit %s (%u bytes)", (unsigned)q->image_size,
                  target->label, (unsigned)target->size);
        return;
    }
    char sha[20];
    /* The same image: the same size and slot, and the same hash. A Begin without one
     * always starts a new session (a host begins so; it names the hash when it comes
     * back). A session whose hash was left to End is continued by a Begin that names one:
     * the host that began it, after a drop or a reboot; the bytes cannot be told apart
     * by their hash before End, but End proves every one of them against it (and the
     * engine the image's own rules as they arrive), and a host refused there starts over. */
    bool named = q->sha256.len == OTK_HOSTED_SHA256_LEN;
    bool same = named && s->state != OTK_SESSION_NONE && s->image_size == q->image_size &&
                strcmp(s->slot, target->label) == 0 &&
                (!s->sha_known || memcmp(s->sha256, q->sha256.data, OTK_HOSTED_SHA256_LEN) == 0);
    bool resumed = false, replaced = false;
    if (same && s->state == OTK_SESSION_SUSPENDED) {
        if (!resume_suspended(h, target, r)) {
            return;
        }
        resumed = true;
    } else if (same && (s->state == OTK_SESSION_RECEIVING || s->state == OTK_SESSION_VERIFIED)) {
        resumed = true;
    } else if (s->state != OTK_SESSION_NONE) {
        replaced = !same; /* a FAILED session of the same image just starts over */
        if (replaced) {
            hosted_log(h, 'I', "dropping the %s session of image %s (%u of %u bytes) for a "
                       "new image", otk_hosted_session_state_name(s->state),
                       session_sha(s, sha), (unsigned)s->written,
                       (unsigned)s->image_size);
        }
        session_drop(h);
    }
    if (!resumed) {
        memset(s, 0, sizeof *s);
        s->state = OTK_SESSION_RECEIVING;
        s->saved_ms = h->now_ms; /* the first save comes half a second on, at the earliest */
        s->image_size = q->image_size;
        snprintf(s->slot, sizeof s->slot, "%s", target->label);
    }
    if (named && !s->sha_known) { /* a new session, or one whose hash was left to End */
        memcpy(s->sha256, q->sha256.data, OTK_HOSTED_SHA256_LEN);
        s->sha_known = true;
    }
    s->chunk_size = chunk;
    peer->begun = true;
    out->slot = s->slot;
    out->slot_address = target->address;
    out->slot_size = target->size;
    out->next_offset = s->state == OTK_SESSION_VERIFIED ? s->image_size : s->written;
    out->resumed = resumed;
    out->replaced = replaced;
    r->resp.body_case = OTKCTRL__RESPONSE__BODY_BEGIN;
    r->resp.begin = out;
    if (resumed) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true,
                  "begin: %s <- image %s, %u bytes: resumed at %u%s", s->slot,
                  session_sha(s, sha), (unsigned)s->image_size,
                  (unsigned)out->next_offset,
                  s->state == OTK_SESSION_VERIFIED ? " (already verified)" : "");
    } else {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true,
                  "begin: %s (0x%x, %u bytes) <- image %s, %u bytes in %u-byte chunks; "
                  "nothing is erased until the first chunk checks out", s->slot,
                  (unsigned)target->address, (unsigned)target->size, session_sha(s, sha),
                  (unsigned)s->image_size, (unsigned)chunk);
    }
}

/* The session's state says no to writes: why. */
static const char *no_writes(const otk_hosted_handler_t *h, const otk_hosted_peer_t *peer)
{
    const otk_hosted_session_t *s = &h->session;
    if (h->reboot_pending) {
        return "the device is rebooting";
    }
    switch (s->state) {
    case OTK_SESSION_NONE:
        return "no update in progress: Begin first";
    case OTK_SESSION_SUSPENDED:
        return "a saved session waits: a Begin with its image resumes it";
    case OTK_SESSION_VERIFIED:
        return "the image is complete and verified: Activate it (or Abort)";
    case OTK_SESSION_FAILED:
        return "the update failed: Begin again, or Abort";
    case OTK_SESSION_ACTIVATED:
        return "the update is activated: the device reboots";
    case OTK_SESSION_RECEIVING:
        return peer->begun ? NULL : "Begin first on this link (with the same image it resumes "
                                    "the session)";
    }
    return "bad state";
}

/* Compare data with the slot's bytes at offset; false with *diff the first differing
 * offset (or a read error in *err). */
static bool same_as_flash(const esp_partition_t *slot, uint32_t offset, const uint8_t *data,
                          uint32_t len, uint32_t *diff, esp_err_t *err)
{
    uint8_t piece[READ_PIECE];
    *err = ESP_OK;
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < READ_PIECE ? len - done : READ_PIECE;
        *err = otk_partition_read(slot, offset + done, piece, n);
        if (*err != ESP_OK) {
            *diff = offset + done;
            return false;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (piece[i] != data[done + i]) {
                *diff = offset + done + i;
                return false;
            }
        }
        done += n;
    }
    return true;
}

/* The engine's reason for refusing an image, while its handle is still open. */
static void stream_reason(otk_device_t *dev, esp_ota_handle_t handle, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < OTK_DEVICE_MAX_HANDLES; i++) {
        const otk_ota_entry_t *e = &dev->ota[i];
        if (e->handle == handle && e->stream_ok && e->stream.err != ESP_OK) {
            snprintf(out, cap, "%s", e->stream.diag.msg);
        }
    }
}

static Otkctrl__Result result_of_write_error(esp_err_t err)
{
    switch (err) {
    case ESP_ERR_OTA_VALIDATE_FAILED:
        return OTKCTRL__RESULT__RESULT_IMAGE_REJECTED;
    case ESP_ERR_INVALID_SIZE:
        return OTKCTRL__RESULT__RESULT_OVERRUN;
    default:
        return (err & ~0xFF) == ESP_ERR_FLASH_BASE ? OTKCTRL__RESULT__RESULT_FLASH_ERROR
                                                   : OTKCTRL__RESULT__RESULT_FAILED;
    }
}

/* The new bytes at s->written: check a first chunk, open the engine, write. */
static void write_new(otk_hosted_handler_t *h, const esp_partition_t *slot, const uint8_t *data,
                      uint32_t n, hosted_reply_t *r)
{
    otk_hosted_session_t *s = &h->session;
    otk_device_t *dev = &h->run->dev;
    char why[OTK_DIAG_MAX + 64];
    if (s->written == 0) {
        if (n < OTK_HOSTED_MIN_CHUNK && n < s->image_size) {
            reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_REQUEST, ESP_OK, false,
                      "the first write must carry at least %u bytes (image header, segment "
                      "header, app descriptor) so the image is checked before anything is "
                      "erased; it has %u", OTK_HOSTED_MIN_CHUNK, (unsigned)n);
            return;
        }
        otk_diag_t diag;
        otk_diag_clear(&diag);
        esp_err_t err = ESP_OK;
        Otkctrl__Result res = check_first_chunk(h, data, n, &err, &diag);
        if (res != OTKCTRL__RESULT__RESULT_OK) {
            snprintf(why, sizeof why, "refused on the first chunk, nothing written: %s", diag.msg);
            session_fail(h, r, res, err, why);
            return;
        }
        err = otk_ota_begin(dev, slot, OTA_WITH_SEQUENTIAL_WRITES, &s->handle);
        if (err != ESP_OK) {
            s->handle = 0;
            session_fail(h, r, OTKCTRL__RESULT__RESULT_FAILED, err, "esp_ota_begin failed");
            return;
        }
        hosted_log(h, 'I', "%s: the first chunk is an app for this device (%s); erasing as "
                   "the data arrives", s->slot, diag.msg);
    }
    esp_err_t err = otk_ota_write(dev, s->handle, data, n);
    if (err != ESP_OK) {
        char reason[OTK_DIAG_MAX];
        stream_reason(dev, s->handle, reason, sizeof reason);
        snprintf(why, sizeof why, "esp_ota_write of %u bytes at %u failed%s%s", (unsigned)n,
                 (unsigned)s->written, reason[0] != '\0' ? ": the image is invalid: " : "",
                 reason);
        session_fail(h, r, result_of_write_error(err), err, why);
        return;
    }
    s->written += n;
    session_save(h, false);
    if (s->written == s->image_size) {
        hosted_log(h, 'I', "%s: all %u bytes received", s->slot, (unsigned)s->image_size);
    }
}

void session_write(otk_hosted_handler_t *h, otk_hosted_peer_t *peer, const Otkctrl__Write *q,
                   hosted_reply_t *r, Otkctrl__WriteReply *out)
{
    otk_hosted_session_t *s = &h->session;
    otkctrl__write_reply__init(out);
    r->resp.body_case = OTKCTRL__RESPONSE__BODY_WRITE;
    r->resp.write = out;
    out->next_offset = s->written;
    const char *why = no_writes(h, peer);
    if (why != NULL) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false, "%s", why);
        return;
    }
    uint32_t len = (uint32_t)q->data.len;
    if (len == 0 || len > OTK_HOSTED_MAX_CHUNK) {
        reply_set(h, r, len == 0 ? OTKCTRL__RESULT__RESULT_BAD_REQUEST
                                 : OTKCTRL__RESULT__RESULT_OVERRUN,
                  ESP_OK, false, "a write of %u bytes: must be 1..%u", (unsigned)len,
                  OTK_HOSTED_MAX_CHUNK);
        return;
    }
    uint32_t crc = otk_crc32_update(0, q->data.data, len);
    if (crc != q->crc32) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_CRC_MISMATCH, ESP_ERR_INVALID_CRC, false,
                  "write at %u: CRC-32 of the %u bytes is 0x%08x, the write says 0x%08x: "
                  "nothing written", (unsigned)q->offset, (unsigned)len, (unsigned)crc,
                  (unsigned)q->crc32);
        return;
    }
    if (q->offset > s->image_size || len > s->image_size - q->offset) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OVERRUN, ESP_ERR_INVALID_SIZE, false,
                  "write of %u bytes at %u runs past the image size %u: nothing written",
                  (unsigned)len, (unsigned)q->offset, (unsigned)s->image_size);
        return;
    }
    if (q->offset > s->written) {
        s->gaps++;
        r->resp.result = OTKCTRL__RESULT__RESULT_GAP; /* routine in a pipeline: not logged */
        snprintf(r->message, sizeof r->message, "write at %u, expected %u: nothing written",
                 (unsigned)q->offset, (unsigned)s->written);
        r->resp.message = r->message;
        return;
    }
    const esp_partition_t *slot = slot_of(h);
    uint32_t skip = 0;
    if (q->offset < s->written) {
        uint32_t end = q->offset + len;
        skip = (end < s->written ? end : s->written) - q->offset;
        uint32_t diff = 0;
        esp_err_t err = ESP_OK;
        if (!same_as_flash(slot, q->offset, q->data.data, skip, &diff, &err)) {
            reply_set(h, r, err != ESP_OK ? OTKCTRL__RESULT__RESULT_FLASH_ERROR
                                          : OTKCTRL__RESULT__RESULT_CONFLICT,
                      err, false, "write at %u: the byte at %u differs from the one already "
                      "written: nothing written", (unsigned)q->offset, (unsigned)diff);
            return;
        }
        if (skip == len) {
            s->duplicates++;
            out->duplicate = true;
            reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false,
                      "write at %u: already written (the same bytes)", (unsigned)q->offset);
            return;
        }
    }
    write_new(h, slot, q->data.data + skip, len - skip, r);
    out->next_offset = s->written;
    if (r->resp.message == NULL || r->resp.message[0] == '\0') {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false, "ok");
    }
}

/* The hash End checks the bytes against: Begin's, or End's when Begin left it; End's must
 * agree with Begin's when both are given. NULL (the reply set) when there is none. */
static const uint8_t *expected_sha(otk_hosted_handler_t *h, const Otkctrl__End *q,
                                   hosted_reply_t *r)
{
    const otk_hosted_session_t *s = &h->session;
    size_t n = q != NULL ? q->sha256.len : 0;
    if (n != 0 && n != OTK_HOSTED_SHA256_LEN) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_REQUEST, ESP_OK, false,
                  "End.sha256 has %zu bytes, a SHA-256 has 32", n);
        return NULL;
    }
    if (n == 0 && !s->sha_known) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_REQUEST, ESP_OK, false,
                  "Begin gave no SHA-256 of the image: End must");
        return NULL;
    }
    if (n != 0 && s->sha_known && memcmp(q->sha256.data, s->sha256, n) != 0) {
        char a[17], b[17];
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_REQUEST, ESP_OK, false,
                  "End names image %s..., Begin named %s...", short_sha(q->sha256.data, a),
                  short_sha(s->sha256, b));
        return NULL;
    }
    return n != 0 ? q->sha256.data : s->sha256;
}

void session_end(otk_hosted_handler_t *h, const Otkctrl__End *q, hosted_reply_t *r,
                 Otkctrl__EndReply *out, Otkctrl__AppInfo *app, hosted_app_strings_t *strings)
{
    otk_hosted_session_t *s = &h->session;
    otk_device_t *dev = &h->run->dev;
    otkctrl__end_reply__init(out);
    if (s->state == OTK_SESSION_RECEIVING && !h->reboot_pending) {
        if (s->written < s->image_size) {
            reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false,
                      "%u of %u bytes received: the next write must be at %u",
                      (unsigned)s->written, (unsigned)s->image_size, (unsigned)s->written);
            return;
        }
        const uint8_t *want = expected_sha(h, q, r);
        if (want == NULL) {
            return;
        }
        uint8_t got[OTK_SHA256_LEN];
        char why[OTK_DIAG_MAX + 64];
        /* The slot's bytes, hashed once: by the engine as it read each write back. */
        esp_err_t err = otk_ota_get_sha256(dev, s->handle, s->image_size, got);
        if (err != ESP_OK) {
            session_fail(h, r, OTKCTRL__RESULT__RESULT_FLASH_ERROR, err,
                         "cannot read back the image to check its SHA-256");
            return;
        }
        if (memcmp(got, want, sizeof got) != 0) {
            char a[17], b[17];
            snprintf(why, sizeof why, "the SHA-256 of the %u bytes received is %s..., the "
                     "host said %s...: they are not the host's image", (unsigned)s->image_size,
                     short_sha(got, a), short_sha(want, b));
            session_fail(h, r, OTKCTRL__RESULT__RESULT_IMAGE_REJECTED, ESP_ERR_INVALID_CRC, why);
            return;
        }
        char reason[OTK_DIAG_MAX];
        stream_reason(dev, s->handle, reason, sizeof reason);
        err = otk_ota_end(dev, s->handle);
        s->handle = 0; /* end frees the handle whatever it returns */
        if (err != ESP_OK) {
            snprintf(why, sizeof why, "esp_ota_end: the image does not verify%s%s",
                     reason[0] != '\0' ? ": " : "", reason);
            session_fail(h, r, err == ESP_ERR_OTA_VALIDATE_FAILED
                                   ? OTKCTRL__RESULT__RESULT_IMAGE_REJECTED
                                   : OTKCTRL__RESULT__RESULT_FAILED,
                         err, why);
            return;
        }
        otk_ota_get_partition_description(dev, slot_of(h), &s->app);
        if (!s->sha_known) { /* End named it: from now on it is the session's */
            memcpy(s->sha256, want, OTK_HOSTED_SHA256_LEN);
            s->sha_known = true;
        }
        s->state = OTK_SESSION_VERIFIED;
        session_save(h, true);
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true,
                  "end: %s holds %.32s %.32s, verified (image and SHA-256); Activate selects it",
                  s->slot, s->app.project_name, s->app.version);
    } else if (s->state == OTK_SESSION_VERIFIED && !h->reboot_pending) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false, "end: already verified");
    } else {
        const char *why = h->reboot_pending ? "the device is rebooting"
                          : s->state == OTK_SESSION_NONE ? "no update in progress"
                          : s->state == OTK_SESSION_SUSPENDED
                              ? "a saved session waits: Begin resumes it"
                              : "the update failed: Begin again, or Abort";
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false, "end: %s", why);
        return;
    }
    hosted_app_info(&s->app, app, strings);
    out->app = app;
    out->slot = s->slot;
    r->resp.body_case = OTKCTRL__RESPONSE__BODY_END;
    r->resp.end = out;
}

void session_activate(otk_hosted_handler_t *h, const Otkctrl__Activate *q, hosted_reply_t *r)
{
    otk_hosted_session_t *s = &h->session;
    if (h->reboot_pending) {
        bool ours = s->state == OTK_SESSION_ACTIVATED;
        reply_set(h, r, ours ? OTKCTRL__RESULT__RESULT_OK : OTKCTRL__RESULT__RESULT_BAD_STATE,
                  ESP_OK, false, "%s", ours ? "already activated: rebooting"
                                            : "the device is rebooting");
        return;
    }
    if (s->state != OTK_SESSION_VERIFIED) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false,
                  "activate: nothing verified to activate (session %s, %u of %u bytes): End "
                  "must pass first", otk_hosted_session_state_name(s->state),
                  (unsigned)s->written, (unsigned)s->image_size);
        return;
    }
    esp_err_t err = otk_ota_set_boot_partition(&h->run->dev, slot_of(h));
    if (err != ESP_OK) {
        session_fail(h, r, err == ESP_ERR_OTA_SMALL_SEC_VER ? OTKCTRL__RESULT__RESULT_IMAGE_REJECTED
                                                            : OTKCTRL__RESULT__RESULT_FAILED,
                     err, "esp_ota_set_boot_partition refused it");
        return;
    }
    s->state = OTK_SESSION_ACTIVATED;
    session_store_remove(h->session_path);
    otk_device_run_save(h->run, NULL);
    uint32_t delay = handler_schedule_reboot(h, q->reboot_delay_ms, false);
    reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true,
              "activate: %s (%.32s %.32s) boots next; rebooting in %u ms", s->slot,
              s->app.project_name, s->app.version, (unsigned)delay);
}

void session_abort(otk_hosted_handler_t *h, hosted_reply_t *r)
{
    otk_hosted_session_t *s = &h->session;
    if (s->state == OTK_SESSION_ACTIVATED) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_BAD_STATE, ESP_OK, false,
                  "abort: too late, the update is activated and the device reboots");
        return;
    }
    if (s->state == OTK_SESSION_NONE) {
        reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, false, "abort: no update in progress");
        return;
    }
    char sha[20];
    reply_set(h, r, OTKCTRL__RESULT__RESULT_OK, ESP_OK, true,
              "abort: dropped the %s update of image %s (%u of %u bytes in %s)",
              otk_hosted_session_state_name(s->state), session_sha(s, sha),
              (unsigned)s->written, (unsigned)s->image_size, s->slot);
    session_drop(h);
}
