/* Fuzz what a device parses of a signed manifest before it trusts anything: the detached
 * signature (DER), the signature's URI, the verification over the manifest's bytes under
 * a fixed key, and the RFC 3339 expiry. The input is the signature file; the same bytes
 * are tried as a manifest URI and as an expiry time. Properties:
 *  - nothing crashes, and a refusal has a one-line reason;
 *  - an accepted DER encodes back to exactly the input (one encoding per signature);
 *  - verification of a random "signature" never succeeds, and never returns anything but
 *    INVALID_CRC (or NOT_SUPPORTED on a backend without ECDSA);
 *  - a signature URI fits and keeps the manifest URI's query after ".sig";
 *  - an accepted time formats back to the same text. */
#include <stdlib.h>
#include <string.h>

#include "otakit/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The P-256 generator point: a valid public key nobody holds a signature of here. */
static const uint8_t KEY[OTK_MANIFEST_KEY_LEN] = {
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
    0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
static const char TEXT[] = "{\"nodes\": [{\"type\": \"app\", \"uri\": \"app.bin\"}]}";

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void der(const uint8_t *data, size_t size)
{
    uint8_t rs[OTK_MANIFEST_SIG_RS_LEN], again[OTK_MANIFEST_SIG_DER_MAX];
    otk_diag_t diag;
    otk_diag_clear(&diag);
    esp_err_t err = otk_manifest_sig_decode(data, size, rs, &diag);
    if (err != ESP_OK) {
        check(err == ESP_ERR_INVALID_ARG && diag.msg[0] != '\0');
    } else {
        size_t n = otk_manifest_sig_encode(rs, again);
        check(n == size && memcmp(again, data, size) == 0);
    }
    otk_diag_clear(&diag);
    err = otk_manifest_verify(TEXT, strlen(TEXT), data, size, KEY, &diag);
    check(err == ESP_ERR_INVALID_CRC || err == ESP_ERR_NOT_SUPPORTED);
    check(diag.msg[0] != '\0');
}

static void as_text(const uint8_t *data, size_t size)
{
    static char text[OTK_URI_MAX + 1], out[OTK_URI_MAX + 1];
    if (size > OTK_URI_MAX) {
        return;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (otk_manifest_sig_uri(text, out, sizeof out)) {
        size_t len = strlen(text), path = strcspn(text, "?#"), end = strcspn(text, "#");
        check(strlen(out) == end + strlen(OTK_MANIFEST_SIG_SUFFIX));
        check(memcmp(out, text, path) == 0);
        check(memcmp(out + path, OTK_MANIFEST_SIG_SUFFIX, strlen(OTK_MANIFEST_SIG_SUFFIX)) == 0);
        check(len >= end);
    } else {
        check(strcspn(text, "#") + strlen(OTK_MANIFEST_SIG_SUFFIX) >= sizeof out);
    }
    int64_t t = 0;
    char back[OTK_RFC3339_LEN];
    if (otk_rfc3339_parse(text, &t)) {
        check(t >= 0);
        check(strcmp(otk_rfc3339_format(t, back), text) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    der(data, size);
    as_text(data, size);
    return 0;
}
