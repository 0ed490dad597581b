/* The pieces of Python that gen_esp32part's CSV reader leans on, rebuilt on byte spans of
 * UTF-8 text: str.splitlines, str.strip, os.path.expandvars, int(s, 0) and the tool's own
 * parse_int (K/M suffixes, keywords). Getting these exactly right is what makes offsets,
 * sizes, names and line numbers match the tool. */
#include <stdio.h>
#include <string.h>

#include "partition_internal.h"

#define KIB 1024
#define MIB (1024 * 1024)

/* ---- UTF-8 ------------------------------------------------------------------------- */

static bool is_cont(uint8_t c)
{
    return (c & 0xC0u) == 0x80u;
}

bool pt_utf8_valid(const uint8_t *s, size_t n, size_t *bad_at)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the first continuation byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2, lo = 0xA0; /* no overlong 3-byte forms */
        } else if (c == 0xED) {
            need = 2, hi = 0x9F; /* no UTF-16 surrogates */
        } else if (c >= 0xE1 && c <= 0xEF) {
            need = 2;
        } else if (c == 0xF0) {
            need = 3, lo = 0x90; /* no overlong 4-byte forms */
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3, hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            need = 0;
        }
        bool ok = need > 0 && n - i > need && s[i + 1] >= lo && s[i + 1] <= hi;
        for (size_t k = 2; ok && k <= need; k++) {
            ok = is_cont(s[i + k]);
        }
        if (!ok) {
            if (bad_at != NULL) {
                *bad_at = i;
            }
            return false;
        }
        i += need + 1;
    }
    return true;
}

/* ---- lines and whitespace ------------------------------------------------------------ */

/* Width of a line break starting at s[i] (0 if none), as str.splitlines sees them:
 * \n \r \r\n \v \f \x1c \x1d \x1e U+0085 U+2028 U+2029. */
static size_t line_break_at(const uint8_t *s, size_t len, size_t i)
{
    uint8_t c = s[i];
    if (c == '\n' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E)) {
        return 1;
    }
    if (c == '\r') {
        return (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
    }
    if (c == 0xC2 && i + 1 < len && s[i + 1] == 0x85) {
        return 2;
    }
    if (c == 0xE2 && i + 2 < len && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
        return 3;
    }
    return 0;
}

bool pt_next_line(const char *text, size_t len, size_t *pos, const char **line,
                  size_t *line_len)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t start = *pos;
    if (start >= len) {
        return false;
    }
    for (size_t i = start; i < len; i++) {
        size_t w = line_break_at(s, len, i);
        if (w > 0) {
            *line = text + start;
            *line_len = i - start;
            *pos = i + w;
            return true;
        }
    }
    *line = text + start;
    *line_len = len - start;
    *pos = len;
    return true;
}

/* Width of the Python whitespace character that starts at s[0] (0 if none):
 * \t..\r, \x1c..\x1f, space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
 * U+202F, U+205F, U+3000. */
static size_t space_at(const uint8_t *s, size_t n)
{
    if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0D) || (s[0] >= 0x1C && s[0] <= 0x20))) {
        return 1;
    }
    if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0)) {
        return 2;
    }
    if (n >= 3) {
        if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) {
            return 3;
        }
        if (s[0] == 0xE2 && s[1] == 0x80 &&
            ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF)) {
            return 3;
        }
        if (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) {
            return 3;
        }
        if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) {
            return 3;
        }
    }
    return 0;
}

/* Width of the whitespace character that ends at s[n-1] (0 if none). */
static size_t space_before(const uint8_t *s, size_t n)
{
    for (size_t w = 1; w <= 3 && w <= n; w++) {
        if (space_at(s + n - w, w) == w) {
            return w;
        }
    }
    return 0;
}

void pt_strip(const char **str, size_t *len)
{
    const uint8_t *s = (const uint8_t *)*str;
    size_t n = *len, w;
    while (n > 0 && (w = space_at(s, n)) > 0) {
        s += w;
        n -= w;
    }
    while (n > 0 && (w = space_before(s, n)) > 0) {
        n -= w;
    }
    *str = (const char *)s;
    *len = n;
}

/* ---- $VAR expansion ------------------------------------------------------------------ */

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static bool append(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
    if (len > cap - *n) {
        return false;
    }
    memcpy(out + *n, s, len);
    *n += len;
    return true;
}

esp_err_t pt_expand_vars(const char *s, size_t len, otk_partition_getvar_t getvar, void *ctx,
                         char *out, size_t cap, size_t *out_len)
{
    size_t n = 0, i = 0;
    while (i < len) {
        /* posixpath.expandvars matches \$(\w+|\{[^}]*\}) with \w ASCII-only. */
        size_t match = 0, name_at = 0, name_len = 0;
        if (s[i] == '$' && i + 1 < len) {
            if (s[i + 1] == '{') {
                const char *close = memchr(s + i + 2, '}', len - i - 2);
                if (close != NULL) {
                    name_at = i + 2;
                    name_len = (size_t)(close - (s + name_at));
                    match = name_len + 3;
                }
            } else if (is_word(s[i + 1])) {
                name_at = i + 1;
                while (name_at + name_len < len && is_word(s[name_at + name_len])) {
                    name_len++;
                }
                match = name_len + 1;
            }
        }
        if (match == 0) {
            if (!append(out, cap, &n, s + i, 1)) {
                return ESP_ERR_INVALID_SIZE;
            }
            i++;
            continue;
        }
        const char *value = getvar != NULL ? getvar(ctx, s + name_at, name_len) : NULL;
        /* A variable that is not set stays as written; a value is not expanded again. */
        bool ok = value != NULL ? append(out, cap, &n, value, strlen(value))
                                : append(out, cap, &n, s + i, match);
        if (!ok) {
            return ESP_ERR_INVALID_SIZE;
        }
        i += match;
    }
    *out_len = n;
    return ESP_OK;
}

/* ---- numbers --------------------------------------------------------------------------- */

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }
    return 99; /* not a digit in any base we use */
}

pt_int_result_t pt_parse_pyint(const char *s, size_t len, int64_t *value)
{
    pt_strip(&s, &len);
    bool neg = false;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s++;
        len--;
    }
    if (len == 0) {
        return PT_INT_INVALID;
    }
    int base = 10;
    size_t i = 0;
    bool underscore_ok = false; /* an underscore may follow a digit, or the base prefix */
    if (len >= 2 && s[0] == '0') {
        char p = s[1];
        base = (p == 'x' || p == 'X') ? 16 : (p == 'o' || p == 'O') ? 8
             : (p == 'b' || p == 'B') ? 2 : 10;
        if (base != 10) {
            i = 2;
            underscore_ok = true;
        }
    }
    /* Base 0 forbids leading zeros in decimals: "0", "00", "0_0" are fine, "01" is not. */
    bool zeros_only = base == 10 && s[0] == '0';
    uint64_t v = 0;
    bool big = false, any_digit = false;
    for (; i < len; i++) {
        if (s[i] == '_') {
            if (!underscore_ok || i + 1 >= len || s[i + 1] == '_') {
                return PT_INT_INVALID;
            }
            underscore_ok = false;
            continue;
        }
        int d = digit_value(s[i]);
        if (d >= base || (zeros_only && d != 0)) {
            return PT_INT_INVALID;
        }
        any_digit = true;
        underscore_ok = true;
        if (!big) {
            v = v * (uint64_t)base + (uint64_t)d;
            big = v > (uint64_t)PT_INT_LIMIT;
        }
    }
    if (!any_digit) {
        return PT_INT_INVALID;
    }
    if (big) {
        return PT_INT_RANGE;
    }
    *value = neg ? -(int64_t)v : (int64_t)v;
    return PT_INT_OK;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool keyword_equal(const char *s, size_t len, const char *kw)
{
    if (strlen(kw) != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (ascii_lower(s[i]) != kw[i]) {
            return false;
        }
    }
    return true;
}

static void keyword_error(const char *s, size_t len, const pt_keyword_t *kw, size_t nkw,
                          char *err, size_t cap)
{
    int at = snprintf(err, cap, "Value '%.*s' is not valid. Known keywords: ", (int)len, s);
    for (size_t k = 0; k < nkw && at >= 0 && (size_t)at < cap; k++) {
        int w = snprintf(err + at, cap - (size_t)at, "%s%s", k ? ", " : "", kw[k].name);
        at = w < 0 ? -1 : at + w;
    }
}

pt_int_result_t pt_parse_field(const char *s, size_t len, const pt_keyword_t *kw, size_t nkw,
                               int64_t *value, char *err, size_t err_cap)
{
    /* parse_int recurses once per trailing k/K/m/M: "1kk" is 1 MiB, "appk" is 0. */
    int64_t mult = 1;
    bool big = false;
    while (len > 0) {
        char c = ascii_lower(s[len - 1]);
        int64_t m = c == 'k' ? KIB : c == 'm' ? MIB : 0;
        if (m == 0) {
            break;
        }
        big = big || mult > PT_INT_LIMIT / m;
        mult = big ? mult : mult * m;
        len--;
    }
    int64_t v = 0;
    pt_int_result_t r = pt_parse_pyint(s, len, &v);
    if (r == PT_INT_INVALID) {
        size_t k = 0;
        while (k < nkw && !keyword_equal(s, len, kw[k].name)) {
            k++;
        }
        if (k == nkw) {
            if (nkw == 0) {
                snprintf(err, err_cap, "Invalid field value %.*s", (int)len, s);
            } else {
                keyword_error(s, len, kw, nkw, err, err_cap);
            }
            return PT_INT_INVALID;
        }
        v = kw[k].value;
    }
    if (r == PT_INT_RANGE || (v != 0 && big) ||
        (v != 0 && (v > PT_INT_LIMIT / mult || v < -PT_INT_LIMIT / mult))) {
        snprintf(err, err_cap, "value %.*s is out of range", (int)len, s);
        return PT_INT_RANGE;
    }
    *value = v * mult;
    return PT_INT_OK;
}
