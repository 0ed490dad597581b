/* Whether a device takes a manifest: the freshness rules of a signed manifest (a version
 * that never goes down, an expiry) and the whole fetch -> authenticate -> parse -> check
 * sequence (docs/manifest.md, "Signed manifests"). The signature is checked before the
 * JSON parser sees a byte, so an attacker without the key reaches nothing but the DER
 * decoder and the crypto port. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/manifest.h"

/* "YYYY-MM-DDTHH:MM:SSZ" */
#define RFC3339_CHARS (OTK_RFC3339_LEN - 1u)
/* Expiry times before the Unix epoch are refused (no manifest expires before 1970), and
 * four digits end at 9999. */
#define YEAR_MIN 1970
#define YEAR_MAX 9999
#define SECONDS_PER_DAY 86400
#define SECONDS_PER_HOUR 3600
#define SECONDS_PER_MINUTE 60

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Leap years in [1, y - 1]: every 4th, but not every 100th, but every 400th. */
static int64_t leaps_before(int64_t y)
{
    return (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
}

/* Digits text[at..at+n) as a number; false if any is not a digit. */
static bool digits(const char *text, size_t at, size_t n, int *out)
{
    int v = 0;
    for (size_t i = at; i < at + n; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
}

bool otk_rfc3339_parse(const char *text, int64_t *unix_s)
{
    if (text == NULL || strlen(text) != RFC3339_CHARS || text[4] != '-' || text[7] != '-' ||
        text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z') {
        return false;
    }
    int y, mo, d, h, mi, s;
    if (!digits(text, 0, 4, &y) || !digits(text, 5, 2, &mo) || !digits(text, 8, 2, &d) ||
        !digits(text, 11, 2, &h) || !digits(text, 14, 2, &mi) || !digits(text, 17, 2, &s)) {
        return false;
    }
    /* Seconds stop at 59: a leap second is no time to end a manifest's life on. */
    if (y < YEAR_MIN || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || s > 59) {
        return false;
    }
    int64_t days = 365 * (int64_t)(y - YEAR_MIN) + leaps_before(y) - leaps_before(YEAR_MIN);
    for (int m = 1; m < mo; m++) {
        days += days_in_month(y, m);
    }
    days += d - 1;
    *unix_s = days * SECONDS_PER_DAY + (int64_t)h * SECONDS_PER_HOUR +
              (int64_t)mi * SECONDS_PER_MINUTE + s;
    return true;
}

char *otk_rfc3339_format(int64_t unix_s, char out[OTK_RFC3339_LEN])
{
    int64_t days = unix_s / SECONDS_PER_DAY, rest = unix_s % SECONDS_PER_DAY;
    int64_t y = YEAR_MIN;
    while (unix_s >= 0 && y <= YEAR_MAX && days >= (is_leap(y) ? 366 : 365)) {
        days -= is_leap(y) ? 366 : 365;
        y++;
    }
    if (unix_s < 0 || y > YEAR_MAX) {
        snprintf(out, OTK_RFC3339_LEN, "?");
        return out;
    }
    int m = 1;
    while (days >= days_in_month(y, m)) {
        days -= days_in_month(y, m);
        m++;
    }
    /* Room for what the compiler cannot prove the fields' widths to be. */
    char text[64];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, (int)days + 1,
             (int)(rest / SECONDS_PER_HOUR), (int)(rest % SECONDS_PER_HOUR / SECONDS_PER_MINUTE),
             (int)(rest % SECONDS_PER_MINUTE));
    otk_text_copy(out, OTK_RFC3339_LEN, text);
    return out;
}

esp_err_t otk_manifest_check_fresh(const otk_manifest_t *m, const uint8_t sha256[OTK_SHA256_LEN],
                                   const otk_manifest_trust_t *trust, otk_diag_t *diag)
{
    if (trust == NULL || trust->key == NULL) {
        return ESP_OK; /* nothing in an unauthenticated manifest is a promise */
    }
    if (!m->has_manifest_version || !m->has_expires) {
        otk_diag_set(diag, "manifest.%s: required when the device has a manifest key",
                     !m->has_manifest_version ? "manifest_version" : "expires");
        return ESP_ERR_INVALID_ARG;
    }
    if (trust->has_floor && (m->manifest_version < trust->floor ||
                             (m->manifest_version == trust->floor &&
                              memcmp(sha256, trust->floor_sha256, OTK_SHA256_LEN) != 0))) {
        otk_diag_set(diag, "manifest_version %llu %s %llu, the last one this device accepted: "
                     "%s", (unsigned long long)m->manifest_version,
                     m->manifest_version < trust->floor ? "is below" : "equals",
                     (unsigned long long)trust->floor,
                     m->manifest_version < trust->floor
                         ? "an older manifest is refused (a replay?)"
                         : "but the bytes differ (a new manifest needs a higher version)");
        return ESP_ERR_INVALID_VERSION;
    }
    if (trust->now >= m->expires) {
        char when[OTK_RFC3339_LEN], now[OTK_RFC3339_LEN];
        otk_diag_set(diag, "manifest expired at %s (the device's clock says %s)",
                     otk_rfc3339_format(m->expires, when), otk_rfc3339_format(trust->now, now));
        return ESP_ERR_TIMEOUT;
    }
    return ESP_OK;
}

/* With a key: the signature file, then the signature over the exact bytes. */
static esp_err_t authenticate(const char *text, size_t len, const otk_manifest_fetch_t *info,
                              const otk_source_opts_t *opts, const otk_manifest_trust_t *trust,
                              otk_diag_t *why)
{
    uint8_t sig[OTK_MANIFEST_SIG_DER_MAX];
    size_t sig_len = 0;
    otk_diag_t fetch;
    otk_diag_clear(&fetch);
    esp_err_t err = otk_manifest_fetch_sig(info->uri, opts, sig, &sig_len, &fetch);
    if (err == ESP_ERR_NOT_FOUND) {
        otk_diag_set(why, "not signed, and the device has a manifest key (%s)", fetch.msg);
        return err;
    }
    if (err != ESP_OK) {
        otk_diag_set(why, "%s", fetch.msg);
        return err;
    }
    return otk_manifest_verify(text, len, sig, sig_len, trust->key, why);
}

esp_err_t otk_manifest_get(const char *uri, const otk_source_opts_t *opts,
                           const char *if_none_match, const otk_manifest_trust_t *trust,
                           otk_manifest_t **out, otk_manifest_fetch_t *info, otk_diag_t *diag)
{
    if (out == NULL || uri == NULL || info == NULL) {
        otk_diag_set(diag, "manifest: NULL argument");
        return ESP_ERR_INVALID_ARG;
    }
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err = otk_manifest_fetch(uri, opts, if_none_match, &text, &len, info, &why);
    if (err == ESP_OK && info->not_modified) {
        return ESP_OK;
    }
    if (err == ESP_OK && trust != NULL && trust->key != NULL) {
        err = authenticate(text, len, info, opts, trust, &why);
    }
    otk_manifest_t *m = NULL;
    if (err == ESP_OK) {
        err = otk_manifest_parse(text, len, info->uri, &m, &why);
    }
    if (err == ESP_OK) {
        err = otk_manifest_check_fresh(m, info->sha256, trust, &why);
    }
    free(text);
    if (err != ESP_OK) {
        otk_manifest_free(m);
        otk_diag_set(diag, "manifest %s: %s", uri, why.msg);
        return err;
    }
    *out = m;
    return ESP_OK;
}
