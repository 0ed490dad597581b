/* Names of the control path's codes, and small protobuf helpers both ends use. */
#include <stdio.h>
#include <string.h>

#include "hosted_internal.h"

const char *otk_hosted_err_name(otk_hosted_err_t err)
{
    static const char *const names[] = {
        "OK",           "BAD_REQUEST", "BAD_STATE",      "BUSY",        "UNAUTHENTICATED",
        "GAP",          "CRC_MISMATCH", "CONFLICT",      "OVERRUN",     "IMAGE_REJECTED",
        "FLASH_ERROR",  "UNSUPPORTED", "FAILED"};
    if ((unsigned)err < sizeof names / sizeof names[0]) {
        return names[err];
    }
    switch (err) {
    case OTK_HOSTED_ERR_LINK:
        return "LINK";
    case OTK_HOSTED_ERR_TIMEOUT:
        return "TIMEOUT";
    case OTK_HOSTED_ERR_PROTOCOL:
        return "PROTOCOL";
    case OTK_HOSTED_ERR_LOCAL:
        return "LOCAL";
    default:
        return "UNKNOWN";
    }
}

const char *otk_hosted_session_state_name(otk_hosted_session_state_t state)
{
    static const char *const names[] = {"none",     "receiving", "suspended",
                                        "verified", "failed",    "activated"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

/* A fixed-size descriptor string up to its first NUL. */
static void copy_field(char *dst, size_t cap, const char *src, size_t n)
{
    size_t len = strnlen(src, n < cap ? n : cap - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void hosted_app_info(const esp_app_desc_t *desc, Otkctrl__AppInfo *info,
                     hosted_app_strings_t *s)
{
    otkctrl__app_info__init(info);
    copy_field(s->project_name, sizeof s->project_name, desc->project_name,
               sizeof desc->project_name);
    copy_field(s->version, sizeof s->version, desc->version, sizeof desc->version);
    copy_field(s->idf_ver, sizeof s->idf_ver, desc->idf_ver, sizeof desc->idf_ver);
    copy_field(s->date, sizeof s->date, desc->date, sizeof desc->date);
    copy_field(s->time, sizeof s->time, desc->time, sizeof desc->time);
    info->project_name = s->project_name;
    info->version = s->version;
    info->idf_ver = s->idf_ver;
    info->date = s->date;
    info->time = s->time;
    info->secure_version = desc->secure_version;
    info->elf_sha256.data = (uint8_t *)desc->app_elf_sha256;
    info->elf_sha256.len = sizeof desc->app_elf_sha256;
}

void hosted_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xF];
    }
    out[2 * n] = '\0';
}

/* Found by fuzz_frame: the bytes "80 00" are field number 0 (invalid in protobuf) written
 * as a two-byte varint; protobuf-c keeps it as an unknown field instead of failing. The
 * walk follows every sub-message that is set (the schema's nesting bounds the depth). */
bool hosted_msg_wellformed(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0) {
            return false;
        }
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(const void *)(base + fd->quantifier_offset);
            ProtobufCMessage *const *items =
                *(ProtobufCMessage *const *const *)(const void *)(base + fd->offset);
            for (size_t k = 0; k < n; k++) {
                if (!hosted_msg_wellformed(items[k])) {
                    return false;
                }
            }
            continue;
        }
        if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
            *(const uint32_t *)(const void *)(base + fd->quantifier_offset) != fd->id) {
            continue; /* another member of the oneof is the one set */
        }
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(const void *)(base + fd->offset);
        if (sub != NULL && !hosted_msg_wellformed(sub)) {
            return false;
        }
    }
    return true;
}
