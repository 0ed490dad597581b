/* Fuzz the device file parser with any text. Properties:
 *  - it never crashes, and a failure names a line ("line N: ...") that exists;
 *  - a text that parses formats back to a text that parses to the same store (the file
 *    a device writes is always one it can read), and formatting that again gives the same
 *    bytes (the format is a fixed point). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/device_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t lines = size > 0 ? 1 : 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n' && i + 1 < size) {
            lines++;
        }
    }
    return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    otk_device_store_t a;
    otk_diag_t diag;
    otk_device_store_init(&a);
    otk_diag_clear(&diag);
    esp_err_t err = otk_device_store_parse((const char *)data, size, &a, &diag);
    if (err != ESP_OK) {
        check(err == ESP_ERR_INVALID_ARG);
        check(memchr(diag.msg, '\0', sizeof diag.msg) != NULL);
        unsigned line = 0;
        check(sscanf(diag.msg, "line %u: ", &line) == 1);
        /* Line 0 only for the anti-rollback rule when the key came from the defaults. */
        check(line <= count_lines(data, size));
        return 0;
    }
    static char text[OTK_DEVICE_STORE_TEXT_MAX], again[OTK_DEVICE_STORE_TEXT_MAX];
    size_t len = 0, len2 = 0;
    check(otk_device_store_format(&a, text, sizeof text, &len) == ESP_OK);
    otk_device_store_t b;
    otk_device_store_init(&b);
    check(otk_device_store_parse(text, len, &b, &diag) == ESP_OK);
    check(memcmp(&a.config, &b.config, sizeof a.config) == 0);
    check(a.efuse_secure_version == b.efuse_secure_version && a.selftest == b.selftest);
    check(otk_device_store_format(&b, again, sizeof again, &len2) == ESP_OK);
    check(len == len2 && memcmp(text, again, len) == 0);
    return 0;
}
