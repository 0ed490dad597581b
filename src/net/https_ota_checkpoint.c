/* Checkpoints as bytes: what a power cut must not lose, in a form that a program reading
 * it later (maybe a different one) either takes exactly or refuses. Layout, little-endian:
 *
 *   "OTKCKPT\0"  u32 version  u32 sizeof(otk_image_stream_t)  char[40] crypto backend
 *   u16 url_len, url   i64 length   u16 etag_len, etag   u16 lm_len, last_modified
 *   char[17] staging label   u32 staging address   u32 staging size   u8 bulk erase
 *   u32 offset   the verifier's bytes   u32 CRC-32 of everything before it
 *
 * The verifier (the engine's, over what it read back from flash; a resume compares it with
 * the one the engine rebuilds from flash) is stored as its raw bytes (it is plain data by
 * design), so only a build with the same layout and crypto backend may continue it:
 * anything else is refused and the update starts from 0, which is always safe. */
#include <stdio.h>
#include <string.h>

#include "otakit/crc32.h"
#include "otakit/crypto.h"
#include "otakit/https_ota.h"

#define CP_MAGIC "OTKCKPT"
#define CP_MAGIC_LEN 8u
/* 2: the verifier is the engine's, of the bytes read back from flash (1: of the bytes
 * downloaded); a version-1 checkpoint is refused and the update starts from 0. */
#define CP_VERSION 2u
#define CP_BACKEND_LEN 40u
#define CP_LABEL_LEN 17u
/* The longest fixed-size piece the verifier gathers between chunks (its buf). */
#define CP_STREAM_BUF_MAX 32u

/* The verifier's states as image_stream.c numbers them, for the sanity check below. */
enum {
    CP_ST_HEADER,
    CP_ST_SEG_HEADER,
    CP_ST_SEG_DATA,
    CP_ST_PAD,
    CP_ST_HASH,
    CP_ST_DONE,
    CP_ST_STOPPED,
};

typedef struct {
    uint8_t *out;
    size_t cap, len;
    bool ok;
} writer_t;

static void put(writer_t *w, const void *p, size_t n)
{
    if (!w->ok || w->cap - w->len < n) {
        w->ok = false;
        return;
    }
    memcpy(w->out + w->len, p, n);
    w->len += n;
}

static void put_u(writer_t *w, uint64_t v, size_t bytes)
{
    uint8_t b[8];
    for (size_t i = 0; i < bytes; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    put(w, b, bytes);
}

static void put_text(writer_t *w, const char *s)
{
    size_t n = strlen(s);
    put_u(w, n, 2);
    put(w, s, n);
}

static void backend_name(char out[CP_BACKEND_LEN])
{
    memset(out, 0, CP_BACKEND_LEN);
    snprintf(out, CP_BACKEND_LEN, "%s", otk_crypto_backend());
}

size_t otk_https_ota_checkpoint_encode(const otk_https_ota_checkpoint_t *cp, uint8_t *out,
                                       size_t cap)
{
    writer_t w = {.out = out, .cap = out != NULL ? cap : 0, .ok = true};
    char backend[CP_BACKEND_LEN];
    backend_name(backend);
    put(&w, CP_MAGIC, CP_MAGIC_LEN); /* with its NUL */
    put_u(&w, CP_VERSION, 4);
    put_u(&w, sizeof cp->stream, 4);
    put(&w, backend, sizeof backend);
    put_text(&w, cp->url);
    put_u(&w, (uint64_t)cp->identity.length, 8);
    put_text(&w, cp->identity.etag);
    put_text(&w, cp->identity.last_modified);
    char label[CP_LABEL_LEN] = {0};
    snprintf(label, sizeof label, "%.*s", (int)(sizeof label - 1), cp->staging_label);
    put(&w, label, sizeof label);
    put_u(&w, cp->staging_address, 4);
    put_u(&w, cp->staging_size, 4);
    put_u(&w, cp->bulk_erase ? 1u : 0u, 1);
    put_u(&w, cp->offset, 4);
    put(&w, &cp->stream, sizeof cp->stream);
    if (!w.ok) {
        return 0;
    }
    put_u(&w, otk_crc32_update(0, out, w.len), 4);
    return w.ok ? w.len : 0;
}

typedef struct {
    const uint8_t *in;
    size_t len, pos;
    bool ok;
} reader_t;

static const uint8_t *take(reader_t *r, size_t n)
{
    if (!r->ok || r->len - r->pos < n) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *p = r->in + r->pos;
    r->pos += n;
    return p;
}

static uint64_t take_u(reader_t *r, size_t bytes)
{
    const uint8_t *p = take(r, bytes);
    uint64_t v = 0;
    for (size_t i = 0; p != NULL && i < bytes; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* A length-prefixed string without NUL into field (cap with the NUL). */
static bool take_text(reader_t *r, char *field, size_t cap)
{
    size_t n = (size_t)take_u(r, 2);
    const uint8_t *p = take(r, n);
    if (p == NULL || n >= cap || memchr(p, '\0', n) != NULL) {
        return false;
    }
    memcpy(field, p, n);
    field[n] = '\0';
    return true;
}

static esp_err_t bad(otk_diag_t *diag, const char *what)
{
    otk_diag_set(diag, "checkpoint: %s", what);
    return ESP_ERR_INVALID_ARG;
}

/* Image offset where a buffered state's bytes begin (as image_stream.c places them). */
static uint32_t buffered_from(const otk_image_stream_t *s)
{
    switch (s->state) {
    case CP_ST_HEADER:
        return 0;
    case CP_ST_SEG_HEADER:
        return s->state_end - OTK_IMAGE_SEGMENT_HEADER_LEN;
    case CP_ST_PAD:
        return s->info.data_end;
    default:
        return s->info.image_len;
    }
}

/* The verifier's own invariants, so bytes that passed the CRC but were not written by a
 * verifier cannot steer it out of its buffers. Defence in depth: only this code writes
 * checkpoints. */
static bool stream_sane(const otk_image_stream_t *s, uint32_t offset)
{
    if (s->pos > offset || s->state > CP_ST_STOPPED || s->seg > OTK_IMAGE_MAX_SEGMENTS ||
        s->info.segments_read > OTK_IMAGE_MAX_SEGMENTS || s->desc_len > sizeof s->desc_raw ||
        memchr(s->diag.msg, '\0', sizeof s->diag.msg) == NULL) {
        return false;
    }
    if (s->state >= CP_ST_DONE || s->state == CP_ST_SEG_DATA) {
        return s->state >= CP_ST_DONE || s->pos <= s->state_end;
    }
    uint32_t from = buffered_from(s);
    return from <= s->pos && s->pos <= s->state_end && s->state_end - from <= CP_STREAM_BUF_MAX;
}

esp_err_t otk_https_ota_checkpoint_decode(const uint8_t *data, size_t len,
                                          otk_https_ota_checkpoint_t *cp, otk_diag_t *diag)
{
    if (data == NULL || cp == NULL) {
        return bad(diag, "nothing to read");
    }
    memset(cp, 0, sizeof *cp);
    reader_t r = {.in = data, .len = len, .ok = true};
    const uint8_t *magic = take(&r, CP_MAGIC_LEN);
    if (magic == NULL || memcmp(magic, CP_MAGIC, CP_MAGIC_LEN) != 0) {
        return bad(diag, "not a checkpoint file (magic)");
    }
    if (len < CP_MAGIC_LEN + 4 ||
        otk_crc32_update(0, data, len - 4) != (uint32_t)(data[len - 4] | data[len - 3] << 8 |
                                                         data[len - 2] << 16 |
                                                         (uint32_t)data[len - 1] << 24)) {
        return bad(diag, "CRC mismatch (a torn or damaged file)");
    }
    r.len = len - 4;
    if (take_u(&r, 4) != CP_VERSION) {
        return bad(diag, "unknown version");
    }
    char backend[CP_BACKEND_LEN];
    backend_name(backend);
    const uint8_t *stored_backend = NULL;
    if (take_u(&r, 4) != sizeof cp->stream ||
        (stored_backend = take(&r, CP_BACKEND_LEN)) == NULL ||
        memcmp(stored_backend, backend, CP_BACKEND_LEN) != 0) {
        return bad(diag, "written by another build (verifier layout or crypto backend)");
    }
    bool ok = take_text(&r, cp->url, sizeof cp->url);
    cp->identity.length = (int64_t)take_u(&r, 8);
    ok = ok && take_text(&r, cp->identity.etag, sizeof cp->identity.etag) &&
         take_text(&r, cp->identity.last_modified, sizeof cp->identity.last_modified);
    const uint8_t *label = take(&r, CP_LABEL_LEN);
    if (!ok || label == NULL || memchr(label, '\0', CP_LABEL_LEN) == NULL) {
        return bad(diag, "truncated or malformed fields");
    }
    /* As a string: bytes after its NUL are not part of the checkpoint. */
    snprintf(cp->staging_label, sizeof cp->staging_label, "%s", (const char *)label);
    cp->staging_address = (uint32_t)take_u(&r, 4);
    cp->staging_size = (uint32_t)take_u(&r, 4);
    uint64_t bulk = take_u(&r, 1);
    cp->offset = (uint32_t)take_u(&r, 4);
    const uint8_t *stream = take(&r, sizeof cp->stream);
    if (!r.ok || r.pos != r.len || bulk > 1) {
        return bad(diag, "truncated or malformed fields");
    }
    cp->bulk_erase = bulk == 1;
    memcpy(&cp->stream, stream, sizeof cp->stream);
    otk_uri_t uri;
    if (otk_uri_parse(cp->url, strlen(cp->url), &uri, NULL) != ESP_OK ||
        strcmp(uri.normalized, cp->url) != 0) {
        return bad(diag, "the URL is not a normalized URI");
    }
    if (cp->identity.length < -1 || cp->offset > cp->staging_size ||
        (cp->identity.length >= 0 && cp->offset > cp->identity.length) ||
        !stream_sane(&cp->stream, cp->offset)) {
        return bad(diag, "fields out of range");
    }
    cp->stream.info.chip = NULL; /* a pointer of the writer's process: never trusted */
    return ESP_OK;
}
