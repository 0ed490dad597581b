/* Signed manifests end to end on a device (file:// manifests, the state file's floor):
 * with a key, an unsigned, wrongly signed, changed, expired, older or version-less
 * manifest is refused with its reason, and nothing is downloaded or written (flash and
 * state file byte-identical); a good one is accepted, raises the floor, and its list
 * installs the app. Without a key everything is as before keys existed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_vectors.h"
#include "otakit/service.h"
#include "service_fixture.h"
#include "test_support.h"

/* A second before the vectors expire. */
#define NOW (MV_EXPIRES - 1)

static sf_t f;
static uint8_t key[OTK_MANIFEST_KEY_LEN], key2[OTK_MANIFEST_KEY_LEN];
static char manifest_uri[300];

static int setup(void **state)
{
    (void)state;
    sf_start(&f, true);
    mv_unhex(MV_PUB_HEX, key);
    mv_unhex(MV_PUB2_HEX, key2);
    size_t len = 0;
    const uint8_t *app = sf_app("V2.0.0", &len);
    sf_file(&f, "app.bin", app, len); /* what every vector's node names */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sf_stop(&f);
    return 0;
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", f.dir, name);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(data, 1, len, out), len);
    fclose(out);
}

/* Publish a manifest (and its signature; NULL: none) as m.json / m.json.sig. */
static void publish(const char *text, const char *sig_hex)
{
    snprintf(manifest_uri, sizeof manifest_uri, "%s", sf_file(&f, "m.json", text, strlen(text)));
    char path[300];
    snprintf(path, sizeof path, "%s/m.json.sig", f.dir);
    remove(path);
    if (sig_hex != NULL) {
        uint8_t sig[128];
        write_file("m.json.sig", sig, mv_unhex(sig_hex, sig));
    }
}

/* SHA-256 of everything the device has: its whole flash and its state file. */
static void fingerprint(uint8_t out[OTK_SHA256_LEN])
{
    static uint8_t flash[SF_FLASH_SIZE];
    assert_int_equal(otk_flash_read(f.flash, 0, flash, sizeof flash), ESP_OK);
    otk_sha256_ctx_t ctx;
    otk_sha256_init(&ctx);
    otk_sha256_update(&ctx, flash, sizeof flash);
    FILE *st = fopen(f.state_path, "rb");
    if (st != NULL) {
        size_t n = fread(flash, 1, sizeof flash, st);
        fclose(st);
        otk_sha256_update(&ctx, flash, n);
    }
    otk_sha256_final(&ctx, out);
}

/* The device's whole update: fetch with its trust, then run the list if accepted. */
static esp_err_t update(const uint8_t *k, int64_t now, otk_diag_t *diag)
{
    otk_manifest_t *m = NULL;
    otk_manifest_fetch_t info;
    otk_diag_clear(diag);
    esp_err_t err = otk_service_manifest_get(manifest_uri, NULL, NULL, k, now, f.state_path, &m,
                                             &info, diag);
    if (err != ESP_OK) {
        assert_null(m);
        return err;
    }
    assert_non_null(m);
    err = sf_run(&f, m->nodes, m->count);
    otk_manifest_free(m);
    return err;
}

/* Refused with want and a message containing what; the device unchanged. */
static void expect_refused(const uint8_t *k, int64_t now, esp_err_t want, const char *what)
{
    uint8_t before[OTK_SHA256_LEN], after[OTK_SHA256_LEN];
    fingerprint(before);
    otk_diag_t diag;
    esp_err_t err = update(k, now, &diag);
    if (err != want || strstr(diag.msg, what) == NULL ||
        strstr(diag.msg, manifest_uri) == NULL) {
        fail_msg("got %s '%s', want %s '%s'", esp_err_to_name(err), diag.msg,
                 esp_err_to_name(want), what);
    }
    fingerprint(after);
    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(f.events, 0); /* the service never ran: no event, no download */
}

static void test_refusals_then_accept(void **state)
{
    (void)state;
    f.events = 0;
    /* Unsigned. */
    publish(MV_V5.text, NULL);
    expect_refused(key, NOW, ESP_ERR_NOT_FOUND,
                   "not signed, and the device has a manifest key (cannot open ");
    /* Signed by another key (the device has key2). */
    publish(MV_V5.text, MV_V5.sig_hex);
    expect_refused(key2, NOW, ESP_ERR_INVALID_CRC,
                   "signature: does not verify under the device's manifest key");
    /* The signature of another manifest; a changed manifest (one byte more). */
    publish(MV_V5.text, MV_V4.sig_hex);
    expect_refused(key, NOW, ESP_ERR_INVALID_CRC, "does not verify");
    char changed[256];
    snprintf(changed, sizeof changed, "%s ", MV_V5.text);
    publish(changed, MV_V5.sig_hex);
    expect_refused(key, NOW, ESP_ERR_INVALID_CRC, "does not verify");
    /* A signature file that is no signature, and one too large to be one. */
    publish(MV_V5.text, "00112233");
    expect_refused(key, NOW, ESP_ERR_INVALID_CRC, "signature: 4 bytes, not a DER ECDSA");
    char big[2 * 100 + 1];
    memset(big, '3', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    publish(MV_V5.text, big);
    expect_refused(key, NOW, ESP_ERR_INVALID_SIZE, "larger than a signature (72 bytes at most)");
    /* Expired: at the second it expires and after. */
    publish(MV_V5.text, MV_V5.sig_hex);
    expect_refused(key, MV_EXPIRES, ESP_ERR_TIMEOUT, "manifest expired at 2030-01-01T00:00:00Z");
    expect_refused(key, MV_EXPIRES + 86400, ESP_ERR_TIMEOUT,
                   "(the device's clock says 2030-01-02T00:00:00Z)");
    /* Signed but without manifest_version. */
    publish(MV_NO_VERSION.text, MV_NO_VERSION.sig_hex);
    expect_refused(key, NOW, ESP_ERR_INVALID_ARG, "manifest.manifest_version: required");

    /* The good one: accepted, the floor recorded, the app installed. */
    publish(MV_V5.text, MV_V5.sig_hex);
    otk_diag_t diag;
    assert_int_equal(update(key, NOW, &diag), ESP_OK);
    assert_int_equal(f.report.succeeded, 1);
    otk_service_state_t st;
    sf_state(&f, &st);
    assert_true(st.floor.active);
    assert_int_equal(st.floor.version, 5);
    uint8_t sha[OTK_SHA256_LEN];
    otk_sha256(MV_V5.text, strlen(MV_V5.text), sha);
    assert_memory_equal(st.floor.sha256, sha, sizeof sha);

    /* The same manifest again is fine (a poll, a retry): the node is skipped. */
    assert_int_equal(update(key, NOW, &diag), ESP_OK);
    assert_int_equal(f.report.skipped, 1);
    /* An older one, and another with the same version: refused, nothing written. */
    f.events = 0;
    publish(MV_V4.text, MV_V4.sig_hex);
    expect_refused(key, NOW, ESP_ERR_INVALID_VERSION,
                   "manifest_version 4 is below 5, the last one this device accepted");
    publish(MV_V5_SAME.text, MV_V5_SAME.sig_hex);
    expect_refused(key, NOW, ESP_ERR_INVALID_VERSION, "equals 5");
    /* A newer one raises the floor, and then 5 is refused too. */
    publish(MV_V6.text, MV_V6.sig_hex);
    assert_int_equal(update(key, NOW, &diag), ESP_OK);
    sf_state(&f, &st);
    assert_int_equal(st.floor.version, 6);
    f.events = 0;
    publish(MV_V5.text, MV_V5.sig_hex);
    expect_refused(key, NOW, ESP_ERR_INVALID_VERSION, "5 is below 6");
}

/* Without a key: unsigned manifests, old versions, expired ones all go as before; the
 * floor is neither checked nor written. */
static void test_no_key(void **state)
{
    (void)state;
    sf_stop(&f);
    setup(NULL);
    otk_diag_t diag;
    publish(MV_V5.text, NULL);
    assert_int_equal(update(NULL, MV_EXPIRES + 1, &diag), ESP_OK);
    assert_int_equal(f.report.succeeded, 1);
    publish("{\"nodes\": [{\"type\": \"app\", \"uri\": \"app.bin\"}]}", NULL);
    assert_int_equal(update(NULL, NOW, &diag), ESP_OK);
    otk_service_state_t st;
    sf_state(&f, &st);
    assert_false(st.floor.active);
}

/* The floor's record itself: a state file it cannot read refuses (never taken as "no
 * floor": that would let an old manifest back in); a floor survives a round trip. */
static void test_floor_state(void **state)
{
    (void)state;
    publish(MV_V5.text, MV_V5.sig_hex);
    static const char bad_floor[] = "{\"format\": 1, \"manifest_floor\": {\"version\": -1}}";
    write_file("flash.bin.service", bad_floor, strlen(bad_floor));
    otk_diag_t diag;
    assert_int_equal(update(key, NOW, &diag), ESP_ERR_INVALID_ARG);
    if (strstr(diag.msg, "state.manifest_floor.version: expected a whole number") == NULL) {
        fail_msg("%s", diag.msg);
    }
    otk_service_state_t a, b;
    otk_service_state_init(&a);
    a.floor.active = true;
    a.floor.version = OTK_MANIFEST_VERSION_MAX;
    memset(a.floor.sha256, 0xab, sizeof a.floor.sha256);
    char *text = otk_service_state_format(&a);
    assert_non_null(text);
    assert_int_equal(otk_service_state_parse(text, strlen(text), &b, &diag), ESP_OK);
    free(text);
    assert_true(b.floor.active);
    assert_true(b.floor.version == OTK_MANIFEST_VERSION_MAX);
    assert_memory_equal(a.floor.sha256, b.floor.sha256, sizeof a.floor.sha256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals_then_accept),
        cmocka_unit_test(test_no_key),
        cmocka_unit_test(test_floor_state),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
