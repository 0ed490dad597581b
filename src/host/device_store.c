/* The device file's text: parse "key = value" lines and format them back
 * (otakit/device_store.h). Pure: text in memory, no files; the fuzz harness drives the
 * parser directly. One table of keys serves both directions. */
#include "otakit/device_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "otakit/boot.h"
#include "otakit/flash.h"
#include "otakit/image.h"

/* How much of a bad value or key an error message quotes. */
#define QUOTE_MAX 40
/* A value is a word, a number or a manifest key in hex (128 digits); anything longer is
 * wrong whatever the key. */
#define VALUE_MAX 128
#define KEY_HEX_LEN (2u * OTK_DEVICE_STORE_KEY_LEN)

typedef struct {
    const char *name;
    /* Parse value into the store; on failure write what was expected into diag (without
     * the line prefix) and return false. */
    bool (*parse)(const char *value, otk_device_store_t *s, otk_diag_t *why);
    /* The value as text. */
    void (*format)(const otk_device_store_t *s, char *out, size_t cap);
    const char *comment;
} store_key_t;

/* ---- value parsers ------------------------------------------------------------------ */

/* Decimal or 0x-hex, no sign, no junk, within uint32_t. Written out so it depends on no
 * locale and stops at any byte it does not expect. */
static bool parse_u32(const char *text, uint32_t *out)
{
    uint32_t base = 10;
    const char *p = text;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (*p == '\0') {
        return false;
    }
    uint64_t v = 0;
    for (; *p != '\0'; p++) {
        uint32_t d;
        if (*p >= '0' && *p <= '9') {
            d = (uint32_t)(*p - '0');
        } else if (base == 16 && *p >= 'a' && *p <= 'f') {
            d = (uint32_t)(*p - 'a' + 10);
        } else if (base == 16 && *p >= 'A' && *p <= 'F') {
            d = (uint32_t)(*p - 'A' + 10);
        } else {
            return false;
        }
        v = v * base + d;
        if (v > UINT32_MAX) {
            return false;
        }
    }
    *out = (uint32_t)v;
    return true;
}

static bool parse_on_off(const char *value, bool *out, otk_diag_t *why)
{
    if (strcmp(value, "on") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(value, "off") == 0) {
        *out = false;
        return true;
    }
    otk_diag_set(why, "expected on or off");
    return false;
}

static bool parse_chip(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    const otk_image_chip_t *chip = otk_image_chip_by_name(value);
    if (chip == NULL) {
        otk_diag_set(why, "expected a chip name like esp32, esp32s3 or esp32c3");
        return false;
    }
    s->config.chip_id = chip->chip_id;
    return true;
}

static bool parse_chip_rev(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    uint32_t v;
    if (!parse_u32(value, &v) || v > UINT16_MAX) {
        otk_diag_set(why, "expected major * 100 + minor, 0..65535 (300 is v3.0)");
        return false;
    }
    s->config.chip_rev = (uint16_t)v;
    return true;
}

static bool parse_rollback(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    return parse_on_off(value, &s->config.rollback, why);
}

static bool parse_anti_rollback(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    return parse_on_off(value, &s->config.anti_rollback, why);
}

static bool parse_table_md5(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    return parse_on_off(value, &s->config.table_md5, why);
}

static bool parse_bits(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    uint32_t v;
    if (!parse_u32(value, &v) || v < 1 || v > OTK_BOOT_EFUSE_MAX_BITS) {
        otk_diag_set(why, "expected 1..%u", (unsigned)OTK_BOOT_EFUSE_MAX_BITS);
        return false;
    }
    s->config.secure_version_bits = (uint8_t)v;
    return true;
}

static bool parse_table_offset(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    uint32_t v;
    if (!parse_u32(value, &v) || v == 0 || v % OTK_FLASH_SECTOR_SIZE != 0 ||
        v >= OTK_FLASH_MAX_SIZE) {
        otk_diag_set(why, "expected a non-zero multiple of 0x1000, like 0x8000");
        return false;
    }
    s->config.table_offset = v;
    return true;
}

static bool parse_rule(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    if (strcmp(value, "v6") == 0) {
        s->config.otadata_rule = OTK_OTADATA_RULE_V6;
    } else if (strcmp(value, "v5") == 0) {
        s->config.otadata_rule = OTK_OTADATA_RULE_V5;
    } else {
        otk_diag_set(why, "expected v6 or v5");
        return false;
    }
    return true;
}

static bool parse_selftest(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    if (!otk_selftest_policy_from_name(value, &s->selftest)) {
        otk_diag_set(why, "expected auto, pass or fail");
        return false;
    }
    return true;
}

static bool parse_efuse(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    if (!parse_u32(value, &s->efuse_secure_version)) {
        otk_diag_set(why, "expected a 32-bit bit pattern, like 0x00000003");
        return false;
    }
    return true;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static bool parse_manifest_key(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    if (strcmp(value, "none") == 0) {
        s->has_manifest_key = false;
        memset(s->manifest_key, 0, sizeof s->manifest_key);
        return true;
    }
    if (strlen(value) != KEY_HEX_LEN) {
        otk_diag_set(why, "expected none or %u hex digits (the P-256 key's x || y; set it "
                     "with otakit device config --manifest-key PEM)", (unsigned)KEY_HEX_LEN);
        return false;
    }
    for (size_t i = 0; i < OTK_DEVICE_STORE_KEY_LEN; i++) {
        int hi = hex_digit(value[2 * i]), lo = hex_digit(value[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            otk_diag_set(why, "expected hex digits only");
            return false;
        }
        s->manifest_key[i] = (uint8_t)(hi << 4 | lo);
    }
    s->has_manifest_key = true;
    return true;
}

static bool parse_secure_boot(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    return parse_on_off(value, &s->config.secure_boot.enabled, why);
}

/* key_digestN = none | 64 hex digits: eFuse key digest block N (none: blank, all zero). */
static bool parse_key_digest(const char *value, uint8_t out[OTK_SHA256_LEN], otk_diag_t *why)
{
    if (strcmp(value, "none") == 0) {
        memset(out, 0, OTK_SHA256_LEN);
        return true;
    }
    uint8_t d[OTK_SHA256_LEN];
    bool ok = strlen(value) == 2u * OTK_SHA256_LEN;
    for (size_t i = 0; ok && i < OTK_SHA256_LEN; i++) {
        int hi = hex_digit(value[2 * i]), lo = hex_digit(value[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        if (ok) { /* -1 << 4 is undefined (found by fuzz_device_store) */
            d[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    if (!ok || otk_image_sig_digest_blank(d)) {
        otk_diag_set(why, "expected none or a Secure Boot v2 key digest: %u hex digits, not "
                     "all zero (otakit image key-digest KEY.pem)", 2u * OTK_SHA256_LEN);
        return false;
    }
    memcpy(out, d, OTK_SHA256_LEN);
    return true;
}

static bool parse_key_digest0(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    return parse_key_digest(value, s->config.secure_boot.key_digest[0], why);
}

static bool parse_key_digest1(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    return parse_key_digest(value, s->config.secure_boot.key_digest[1], why);
}

static bool parse_key_digest2(const char *value, otk_device_store_t *s, otk_diag_t *why)
{
    return parse_key_digest(value, s->config.secure_boot.key_digest[2], why);
}

/* ---- value formatters --------------------------------------------------------------- */

static void fmt_chip(const otk_device_store_t *s, char *out, size_t cap)
{
    const otk_image_chip_t *chip = otk_image_chip_by_id(s->config.chip_id);
    snprintf(out, cap, "%s", chip != NULL ? chip->name : "?");
}

static void fmt_chip_rev(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%u", (unsigned)s->config.chip_rev);
}

static void fmt_rollback(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s->config.rollback ? "on" : "off");
}

static void fmt_anti_rollback(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s->config.anti_rollback ? "on" : "off");
}

static void fmt_table_md5(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s->config.table_md5 ? "on" : "off");
}

static void fmt_bits(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%u", (unsigned)s->config.secure_version_bits);
}

static void fmt_table_offset(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "0x%x", (unsigned)s->config.table_offset);
}

static void fmt_rule(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s->config.otadata_rule == OTK_OTADATA_RULE_V5 ? "v5" : "v6");
}

static void fmt_selftest(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", otk_selftest_policy_name(s->selftest));
}

static void fmt_efuse(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "0x%08x", (unsigned)s->efuse_secure_version);
}

static void fmt_manifest_key(const otk_device_store_t *s, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    if (!s->has_manifest_key || cap < KEY_HEX_LEN + 1) {
        snprintf(out, cap, "none");
        return;
    }
    for (size_t i = 0; i < OTK_DEVICE_STORE_KEY_LEN; i++) {
        out[2 * i] = digits[s->manifest_key[i] >> 4];
        out[2 * i + 1] = digits[s->manifest_key[i] & 0xFu];
    }
    out[KEY_HEX_LEN] = '\0';
}

static void fmt_secure_boot(const otk_device_store_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "%s", s->config.secure_boot.enabled ? "on" : "off");
}

static void fmt_key_digest(const uint8_t d[OTK_SHA256_LEN], char *out, size_t cap)
{
    if (otk_image_sig_digest_blank(d) || cap < 2u * OTK_SHA256_LEN + 1u) {
        snprintf(out, cap, "none");
        return;
    }
    for (size_t i = 0; i < OTK_SHA256_LEN; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

static void fmt_key_digest0(const otk_device_store_t *s, char *out, size_t cap)
{
    fmt_key_digest(s->config.secure_boot.key_digest[0], out, cap);
}

static void fmt_key_digest1(const otk_device_store_t *s, char *out, size_t cap)
{
    fmt_key_digest(s->config.secure_boot.key_digest[1], out, cap);
}

static void fmt_key_digest2(const otk_device_store_t *s, char *out, size_t cap)
{
    fmt_key_digest(s->config.secure_boot.key_digest[2], out, cap);
}

/* The order here is the order of the file. */
static const store_key_t keys[] = {
    {"chip", parse_chip, fmt_chip, "the chip the device is"},
    {"chip_rev", parse_chip_rev, fmt_chip_rev, "major * 100 + minor"},
    {"rollback", parse_rollback, fmt_rollback, "CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE"},
    {"anti_rollback", parse_anti_rollback, fmt_anti_rollback,
     "CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK"},
    {"secure_version_bits", parse_bits, fmt_bits, "eFuse field width (SEC_VER_SIZE)"},
    {"table_offset", parse_table_offset, fmt_table_offset, "CONFIG_PARTITION_TABLE_OFFSET"},
    {"table_md5", parse_table_md5, fmt_table_md5, "CONFIG_PARTITION_TABLE_MD5"},
    {"otadata_rule", parse_rule, fmt_rule, "set_boot on the selected slot: v6 or v5"},
    {"selftest", parse_selftest, fmt_selftest, "auto (the image decides), pass, fail"},
    {"efuse_secure_version", parse_efuse, fmt_efuse, "eFuse bits burnt (thermometer code)"},
    {"manifest_key", parse_manifest_key, fmt_manifest_key,
     "P-256 key (x || y) update manifests are signed with"},
    {"secure_boot", parse_secure_boot, fmt_secure_boot,
     "Secure Boot v2 eFuse: only signed images boot and install"},
    {"key_digest0", parse_key_digest0, fmt_key_digest0, "eFuse: trusted key digest 0"},
    {"key_digest1", parse_key_digest1, fmt_key_digest1, "eFuse: trusted key digest 1"},
    {"key_digest2", parse_key_digest2, fmt_key_digest2, "eFuse: trusted key digest 2"},
};
#define KEY_COUNT (sizeof keys / sizeof keys[0])
#define KEY_CHIP 0u
#define KEY_ANTI_ROLLBACK 3u
#define KEY_BITS 4u
/* Found by name: keys[] may grow before it. */
static const char SECURE_BOOT_KEY[] = "secure_boot";

void otk_device_store_init(otk_device_store_t *store)
{
    memset(store, 0, sizeof *store);
    otk_device_config_init(&store->config);
    store->efuse_secure_version = 0;
    store->selftest = OTK_SELFTEST_AUTO;
}

/* ---- parser ------------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trim [*b, *e) of blanks on both sides. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b)) {
        (*b)++;
    }
    while (*e > *b && is_space((*e)[-1])) {
        (*e)--;
    }
}

/* A quotable copy of [b, e): cut, with non-printing bytes as '?'. */
static void quote(const char *b, const char *e, char out[QUOTE_MAX + 4])
{
    size_t n = 0;
    for (; b < e && n < QUOTE_MAX; b++) {
        unsigned char c = (unsigned char)*b;
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (b < e) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static size_t find_key(const char *b, const char *e)
{
    size_t n = (size_t)(e - b);
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (strlen(keys[k].name) == n && memcmp(keys[k].name, b, n) == 0) {
            return k;
        }
    }
    return KEY_COUNT;
}

/* One line without its newline. Returns false with diag (line prefix added by caller). */
static bool parse_line(const char *b, const char *e, otk_device_store_t *s, bool seen[],
                       otk_diag_t *why)
{
    const char *hash = memchr(b, '#', (size_t)(e - b));
    if (hash != NULL) {
        e = hash;
    }
    trim(&b, &e);
    if (b == e) {
        return true;
    }
    if (memchr(b, '\0', (size_t)(e - b)) != NULL) {
        otk_diag_set(why, "a NUL byte: this is not a text file");
        return false;
    }
    char q[QUOTE_MAX + 4];
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (eq == NULL) {
        quote(b, e, q);
        otk_diag_set(why, "'%s': expected key = value", q);
        return false;
    }
    const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
    trim(&kb, &ke);
    trim(&vb, &ve);
    size_t k = find_key(kb, ke);
    if (k == KEY_COUNT) {
        quote(kb, ke, q);
        otk_diag_set(why, "unknown key '%s' (keys: chip, chip_rev, rollback, anti_rollback, "
                     "secure_version_bits, table_offset, table_md5, otadata_rule, selftest, "
                     "efuse_secure_version, manifest_key, secure_boot, key_digest0..2)", q);
        return false;
    }
    if (seen[k]) {
        otk_diag_set(why, "%s is set twice", keys[k].name);
        return false;
    }
    seen[k] = true;
    char value[VALUE_MAX + 1];
    size_t vlen = (size_t)(ve - vb);
    otk_diag_t expected;
    otk_diag_clear(&expected);
    if (vlen == 0 || vlen > VALUE_MAX) {
        otk_diag_set(why, "%s: %s value", keys[k].name, vlen == 0 ? "missing" : "overlong");
        return false;
    }
    memcpy(value, vb, vlen);
    value[vlen] = '\0';
    if (!keys[k].parse(value, s, &expected)) {
        quote(vb, ve, q);
        otk_diag_set(why, "%s = %s: %s", keys[k].name, q, expected.msg);
        return false;
    }
    return true;
}

esp_err_t otk_device_store_parse(const char *text, size_t len, otk_device_store_t *store,
                                 otk_diag_t *diag)
{
    if (store == NULL || (text == NULL && len > 0)) {
        otk_diag_set(diag, "device store: no text or no store");
        return ESP_ERR_INVALID_ARG;
    }
    bool seen[KEY_COUNT] = {false};
    unsigned line = 0, anti_rollback_line = 0, secure_boot_line = 0;
    const size_t key_secure_boot =
        find_key(SECURE_BOOT_KEY, SECURE_BOOT_KEY + sizeof SECURE_BOOT_KEY - 1u);
    const char *p = text, *end = text + len;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        otk_diag_t why;
        otk_diag_clear(&why);
        if ((size_t)(le - p) > OTK_DEVICE_STORE_LINE_MAX) {
            otk_diag_set(diag, "line %u: longer than %u bytes", line,
                         (unsigned)OTK_DEVICE_STORE_LINE_MAX);
            return ESP_ERR_INVALID_ARG;
        }
        bool had_anti = seen[KEY_ANTI_ROLLBACK];
        if (!parse_line(p, le, store, seen, &why)) {
            otk_diag_set(diag, "line %u: %s", line, why.msg);
            return ESP_ERR_INVALID_ARG;
        }
        if (!had_anti && seen[KEY_ANTI_ROLLBACK]) {
            anti_rollback_line = line;
        }
        if (secure_boot_line == 0 && seen[key_secure_boot]) {
            secure_boot_line = line;
        }
        p = nl != NULL ? nl + 1 : end;
    }
    /* A chip without an explicit field width gets that chip's width, as Kconfig would. */
    if (seen[KEY_CHIP] && !seen[KEY_BITS]) {
        store->config.secure_version_bits = otk_boot_efuse_default_bits(store->config.chip_id);
    }
    if (store->config.anti_rollback && !store->config.rollback) {
        otk_diag_set(diag, "line %u: anti_rollback = on needs rollback = on (a Kconfig "
                     "dependency of CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK)", anti_rollback_line);
        return ESP_ERR_INVALID_ARG;
    }
    /* eFuse would take it, but such a device could never boot or install anything. */
    const otk_image_secure_boot_t *sb = &store->config.secure_boot;
    if (sb->enabled && otk_image_sig_digest_blank(sb->key_digest[0]) &&
        otk_image_sig_digest_blank(sb->key_digest[1]) &&
        otk_image_sig_digest_blank(sb->key_digest[2])) {
        otk_diag_set(diag, "line %u: secure_boot = on needs a trusted key in key_digest0, 1 "
                     "or 2 (otakit device config --trust KEY.pem); without one nothing could "
                     "boot", secure_boot_line);
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

/* ---- formatter ---------------------------------------------------------------------- */

static const char HEADER[] =
    "# otakit simulated device: what ESP-IDF keeps outside the flash (the Kconfig options\n"
    "# that change OTA behaviour, the chip, its eFuses) and the device's self-test option.\n"
    "# One \"key = value\" per line, '#' starts a comment. Edit by hand or with\n"
    "# `otakit device config FLASH --help`; docs/device.md describes every key.\n";

/* Append printf output; false once it no longer fits. */
static bool append(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool append(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
{
    if (*pos >= cap) {
        return false;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *pos) {
        return false;
    }
    *pos += (size_t)n;
    return true;
}

esp_err_t otk_device_store_format(const otk_device_store_t *store, char *buf, size_t cap,
                                  size_t *out_len)
{
    if (store == NULL || buf == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t pos = 0;
    bool ok = append(buf, cap, &pos, "%s", HEADER);
    for (size_t k = 0; ok && k < KEY_COUNT; k++) {
        char value[VALUE_MAX + 1];
        keys[k].format(store, value, sizeof value);
        ok = append(buf, cap, &pos, "%-21s = %-11s # %s\n", keys[k].name, value,
                    keys[k].comment);
    }
    if (!ok) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return ESP_ERR_INVALID_SIZE;
    }
    if (out_len != NULL) {
        *out_len = pos;
    }
    return ESP_OK;
}

bool otk_device_store_path(const char *flash_path, char *out, size_t cap)
{
    if (flash_path == NULL || out == NULL) {
        return false;
    }
    int n = snprintf(out, cap, "%s%s", flash_path, OTK_DEVICE_STORE_SUFFIX);
    return n > 0 && (size_t)n < cap;
}
