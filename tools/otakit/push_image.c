/* The image `otakit push` sends: a file read whole, or a URL downloaded whole first (the
 * source layer continues a broken download with HTTP Range). The device gets it only
 * once it is complete here, so its SHA-256 can go in Begin. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_push.h"
#include "otakit/image.h"
#include "otakit/source.h"

/* No app partition is larger (ESP-IDF's limit on an app image's partition). */
#define PUSH_IMAGE_MAX OTK_IMAGE_MAX_PARTITION_SIZE
#define DOWNLOAD_PIECE 65536u

static bool download(const push_opts_t *o, push_image_t *img)
{
    otk_source_opts_t so;
    otk_source_opts_init(&so);
    so.ca_file = o->ca_file;
    so.allow_http = o->allow_http;
    otk_diag_t diag;
    otk_diag_clear(&diag);
    otk_source_t *src = NULL;
    if (otk_source_open(o->source, &so, 0, NULL, &src, &diag) != ESP_OK) {
        cli_error("%s", diag.msg);
        return false;
    }
    size_t cap = DOWNLOAD_PIECE, len = 0;
    uint8_t *buf = malloc(cap);
    bool ok = buf != NULL;
    while (ok) {
        if (len == cap) {
            if (cap >= PUSH_IMAGE_MAX) {
                cli_error("%s: larger than %u bytes: not an app image", o->source,
                          (unsigned)PUSH_IMAGE_MAX);
                ok = false;
                break;
            }
            uint8_t *grown = realloc(buf, cap * 2);
            ok = grown != NULL;
            buf = ok ? grown : buf;
            cap *= 2;
            continue;
        }
        size_t got = 0;
        uint64_t at = 0;
        if (otk_source_read(src, buf + len, cap - len, &got, &at, &diag) != ESP_OK) {
            cli_error("%s", diag.msg);
            ok = false;
        } else if (got == 0) {
            break;
        } else if (at != len) {
            /* The source started over from byte 0: what was read before is void. */
            memmove(buf, buf + len, got);
            len = got;
        } else {
            len += got;
        }
    }
    otk_source_close(src);
    if (!ok) {
        free(buf);
        return false;
    }
    img->data = buf;
    img->len = len;
    return true;
}

bool push_load_image(const push_opts_t *o, push_image_t *img)
{
    memset(img, 0, sizeof *img);
    bool ok;
    if (otk_uri_is_url(o->source)) {
        ok = download(o, img);
    } else {
        ok = cli_read_file(o->source, PUSH_IMAGE_MAX, &img->data, &img->len);
        if (!ok) {
            cli_error("cannot read %s (a file of at most %u bytes)", o->source,
                      (unsigned)PUSH_IMAGE_MAX);
        }
    }
    if (ok && img->len == 0) {
        cli_error("%s: empty: not an app image", o->source);
        free(img->data);
        ok = false;
    }
    return ok; /* (its SHA-256 is the push's: hashed as it is sent) */
}
