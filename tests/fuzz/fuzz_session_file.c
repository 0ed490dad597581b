/* Fuzz the session file parser (FLASH.session, src/hosted/session_store.c): whatever the
 * text, it is refused or gives a session that is SUSPENDED, consistent (written <= image
 * size, a slot label that fits), and that saving and parsing again reproduces. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otk_hosted_session_t s;
    otk_diag_t diag;
    if (!session_store_parse((const char *)data, size, &s, &diag)) {
        if (diag.msg[0] == '\0') {
            abort(); /* a refusal always says why */
        }
        return 0;
    }
    if (s.state != OTK_SESSION_SUSPENDED || s.written > s.image_size ||
        strnlen(s.slot, sizeof s.slot) == sizeof s.slot || s.slot[0] == '\0') {
        abort();
    }
    /* The same fields as a file of ours, and back. */
    char text[1024];
    char hex[65] = "none"; /* the hash was left to End */
    if (s.sha_known) {
        hosted_hex(s.sha256, sizeof s.sha256, hex);
    }
    int n = snprintf(text, sizeof text, "format = 1\nslot = %s\nimage_size = %u\n"
                     "chunk_size = %u\nsha256 = %s\nwritten = %u\n", s.slot,
                     (unsigned)s.image_size, (unsigned)s.chunk_size, hex, (unsigned)s.written);
    otk_hosted_session_t t;
    if (n <= 0 || !session_store_parse(text, (size_t)n, &t, &diag) ||
        memcmp(t.sha256, s.sha256, 32) != 0 || t.sha_known != s.sha_known ||
        t.written != s.written ||
        t.image_size != s.image_size || strcmp(t.slot, s.slot) != 0) {
        abort();
    }
    return 0;
}
