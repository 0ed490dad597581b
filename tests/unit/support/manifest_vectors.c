/* Signed-manifest test vectors: see manifest_vectors.h. */
#include "manifest_vectors.h"

#include <stdio.h>
#include <string.h>

const char MV_PUB_HEX[] = "977a50d059c7afe377f587795d93bc9d005e559c23aed49c03a951517136492f"
                          "31ad16e86a3fc95009e4ca883ca6d4145cd4d260f60abe5d7ebc736191a6d735";
const char MV_PUB2_HEX[] = "529a06660189f996a430f2f56fc7e17b5e7788478417270e9f188a3233505021"
                           "65b774a25639e947f9ee835a4622bc60e35f6e9e5b96cdb8614dd2508efc296f";

const mv_signed_t MV_V5 = {
    "{\"manifest_version\": 5, \"expires\": \"2030-01-01T00:00:00Z\", \"nodes\": "
    "[{\"type\": \"app\", \"uri\": \"app.bin\"}]}",
    "3046022100cec472af27161067220752ce16a519edf20fe1f2b66db9a3c412d070f75c2627022100dcbb1386"
    "4ef234efc9f2abca13f5cfb3394eaf11164cd67209670aede9955760"};
const mv_signed_t MV_V4 = {
    "{\"manifest_version\": 4, \"expires\": \"2030-01-01T00:00:00Z\", \"nodes\": "
    "[{\"type\": \"app\", \"uri\": \"app.bin\"}]}",
    "304502200550826f28d60cb9913283d70755b0e8a361fd66de2046e4195f96b1c62bff53022100cc1b6514"
    "142aa26b9d205b5fd225d490162f32c5efa3b68bfc4ab87f5b52e231"};
const mv_signed_t MV_V5_SAME = {
    "{\"manifest_version\": 5, \"expires\": \"2030-01-01T00:00:00Z\", \"nodes\": "
    "[{\"type\": \"app\", \"uri\": \"other.bin\"}]}",
    "3046022100cac6e15f30123bdbdfc9890478ecadef751a3c33a6052358a5ed93f4e3ccf7be022100a8038465"
    "9c332b5ca766f88ac70c73228b378689bc0333d96ae9da897a18d160"};
const mv_signed_t MV_V6 = {
    "{\"manifest_version\": 6, \"expires\": \"2030-01-01T00:00:00Z\", \"nodes\": "
    "[{\"type\": \"app\", \"uri\": \"app.bin\"}]}",
    "3045022100c3ebf50e001c233061f48d5b2b1caa464399d9c918e500e24e3566721d7375cd022055c849ed"
    "4bb2d4ec6d0911b6522295cbb002376c5d73ed310006c9b3c5c507dc"};
const mv_signed_t MV_NO_VERSION = {
    "{\"expires\": \"2030-01-01T00:00:00Z\", \"nodes\": [{\"type\": \"app\", \"uri\": "
    "\"app.bin\"}]}",
    "304502203bf5ed40705f42f64f5d14b5e0c1df6643dbb0f015069225902c0766b04d8ef802210094304e2f"
    "196e450369e25149bcbc913fdbb4f5c416b6fef9092f775f5ae8da71"};

size_t mv_unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return i;
        }
        out[i] = (uint8_t)v;
    }
    return n;
}
