/* The session file beside the flash image (FLASH.session): what a device must remember
 * of an update in progress to resume it after a reboot, as a few "key = value" lines.
 *
 *   format     = 1
 *   slot       = ota_0
 *   image_size = 70000
 *   chunk_size = 4096
 *   sha256     = <64 hex digits>, or none (Begin left it to End)
 *   written    = 65536
 *
 * It is replaced atomically (written beside, then renamed), so a power cut leaves the old
 * file or the new one. It never claims more than the slot holds: it is written only
 * after the bytes it counts were programmed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosted_internal.h"

#define SESSION_FORMAT 1u
/* The file is eight short lines; a longer line, or a file over 2 KiB, is not ours. */
#define SESSION_LINE_MAX 160u
#define SESSION_FILE_MAX 2048u

bool session_store_save(const char *path, const otk_hosted_session_t *s, otk_diag_t *diag)
{
    char tmp[OTK_DEVICE_STORE_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        otk_diag_set(diag, "%s: %s", tmp, strerror(errno));
        return false;
    }
    char hex[2 * OTK_HOSTED_SHA256_LEN + 1] = "none";
    if (s->sha_known) {
        hosted_hex(s->sha256, sizeof s->sha256, hex);
    }
    fprintf(f,
            "# otakit control path: an update in progress, resumed by a Begin with the same\n"
            "# image (docs/protocol.md). Removed when the update is activated or aborted.\n"
            "format = %u\nslot = %s\nimage_size = %u\nchunk_size = %u\nsha256 = %s\n"
            "written = %u\n",
            SESSION_FORMAT, s->slot, (unsigned)s->image_size, (unsigned)s->chunk_size, hex,
            (unsigned)s->written);
    bool ok = fflush(f) == 0 && !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        otk_diag_set(diag, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

static bool parse_u32(const char *v, uint32_t *out)
{
    if (*v < '0' || *v > '9') { /* strtoul would take "-1" and " 1" */
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)n;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool parse_sha(const char *v, uint8_t out[OTK_HOSTED_SHA256_LEN])
{
    if (strlen(v) != 2 * OTK_HOSTED_SHA256_LEN) {
        return false;
    }
    for (size_t i = 0; i < OTK_HOSTED_SHA256_LEN; i++) {
        int hi = hex_digit(v[2 * i]), lo = hex_digit(v[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* One "key = value" line into s; counts the keys seen in *seen (a bit each). */
static bool parse_line(char *line, otk_hosted_session_t *s, unsigned *seen)
{
    char *eq = strchr(line, '=');
    if (eq == NULL) {
        return false;
    }
    char *key = line, *v = eq + 1;
    *eq = '\0';
    key[strcspn(key, " \t")] = '\0';
    v += strspn(v, " \t");
    v[strcspn(v, " \t\r\n")] = '\0';
    uint32_t format = 0;
    if (strcmp(key, "format") == 0) {
        *seen |= 1u;
        return parse_u32(v, &format) && format == SESSION_FORMAT;
    }
    if (strcmp(key, "slot") == 0) {
        *seen |= 2u;
        size_t n = strlen(v);
        if (n == 0 || n >= sizeof s->slot) {
            return false;
        }
        memcpy(s->slot, v, n + 1);
        return true;
    }
    if (strcmp(key, "image_size") == 0) {
        *seen |= 4u;
        return parse_u32(v, &s->image_size);
    }
    if (strcmp(key, "chunk_size") == 0) {
        *seen |= 8u;
        return parse_u32(v, &s->chunk_size);
    }
    if (strcmp(key, "sha256") == 0) {
        *seen |= 16u;
        s->sha_known = strcmp(v, "none") != 0;
        return !s->sha_known || parse_sha(v, s->sha256);
    }
    if (strcmp(key, "written") == 0) {
        *seen |= 32u;
        return parse_u32(v, &s->written);
    }
    return false;
}

bool session_store_parse(const char *text, size_t len, otk_hosted_session_t *s,
                         otk_diag_t *diag)
{
    otk_diag_clear(diag);
    memset(s, 0, sizeof *s);
    unsigned seen = 0;
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        char line[SESSION_LINE_MAX];
        if (n >= sizeof line || memchr(text + pos, '\0', n) != NULL) {
            otk_diag_set(diag, "line %u: not a session line", lineno);
            return false;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        char *p = line + strspn(line, " \t\r");
        if (*p == '#' || *p == '\0') {
            continue;
        }
        if (!parse_line(p, s, &seen)) {
            otk_diag_set(diag, "line %u: not a session line this device understands", lineno);
            return false;
        }
    }
    if (seen != 63u || s->written > s->image_size) {
        otk_diag_set(diag, "incomplete or inconsistent session");
        return false;
    }
    s->state = OTK_SESSION_SUSPENDED;
    s->saved = s->written;
    return true;
}

bool session_store_load(const char *path, otk_hosted_session_t *s, otk_diag_t *diag)
{
    otk_diag_clear(diag);
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno != ENOENT) {
            otk_diag_set(diag, "%s: %s", path, strerror(errno));
        }
        return false;
    }
    char text[SESSION_FILE_MAX + 1];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    if (len > SESSION_FILE_MAX) {
        otk_diag_set(diag, "%s: larger than a session file", path);
        return false;
    }
    otk_diag_t why;
    if (!session_store_parse(text, len, s, &why)) {
        otk_diag_set(diag, "%s: %s", path, why.msg);
        return false;
    }
    return true;
}

void session_store_remove(const char *path)
{
    unlink(path);
}
