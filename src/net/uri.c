/* The URI parser of the source layer: file://, http://, https:// (RFC 3986, the subset an
 * update URL needs). Strict on purpose: what it accepts is handed to libcurl or open(2)
 * unchanged in meaning, so anything ambiguous (credentials, raw spaces, non-ASCII, a
 * relative file path) is refused with the position and the reason. */
#include <stdio.h>
#include <string.h>

#include "otakit/source.h"

#define URI_SCHEME_SEP "://"
#define URI_SCHEME_MAX 16u   /* longer than any scheme we could be asked about */
#define URI_PORT_DIGITS 5u   /* 65535 */
#define URI_PORT_LIMIT 65535u
#define HTTP_DEFAULT_PORT 80u
#define HTTPS_DEFAULT_PORT 443u
#define ASCII_DEL 0x7Fu
#define ASCII_SPACE 0x20u

static const char *const scheme_names[] = {"file", "http", "https"};

const char *otk_uri_scheme_name(otk_uri_scheme_t scheme)
{
    return (unsigned)scheme < sizeof scheme_names / sizeof scheme_names[0] ? scheme_names[scheme]
                                                                           : "?";
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (is_digit(c)) {
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

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* RFC 3986 unreserved characters. */
static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* pchar without pct-encoded, plus '/': what a path may hold literally. */
static bool is_path_char(char c)
{
    return is_unreserved(c) || strchr("!$&'()*+,;=:@/", c) != NULL;
}

/* Length of "scheme" when text starts with "scheme://", else 0. */
static size_t scheme_length(const char *text, size_t len)
{
    if (len == 0 || !is_alpha(text[0])) {
        return 0;
    }
    size_t i = 1;
    while (i < len && i <= URI_SCHEME_MAX &&
           (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '+' || text[i] == '-' ||
            text[i] == '.')) {
        i++;
    }
    size_t sep = sizeof URI_SCHEME_SEP - 1;
    if (i > URI_SCHEME_MAX || len - i < sep || memcmp(text + i, URI_SCHEME_SEP, sep) != 0) {
        return 0;
    }
    return i;
}

bool otk_uri_is_url(const char *text)
{
    return text != NULL && scheme_length(text, strlen(text)) > 0;
}

static bool equals_nocase(const char *a, size_t a_len, const char *b)
{
    size_t b_len = strlen(b);
    if (a_len != b_len) {
        return false;
    }
    for (size_t i = 0; i < a_len; i++) {
        if (lower(a[i]) != b[i]) {
            return false;
        }
    }
    return true;
}

/* Every character must be printable ASCII: the rest has to be percent-encoded. */
static esp_err_t check_characters(const char *text, size_t len, otk_diag_t *diag)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0) {
            otk_diag_set(diag, "URI: NUL character at position %zu", i);
            return ESP_ERR_INVALID_ARG;
        }
        if (c < ASCII_SPACE || c == ASCII_DEL) {
            otk_diag_set(diag, "URI: control character 0x%02x at position %zu", c, i);
            return ESP_ERR_INVALID_ARG;
        }
        if (c == ASCII_SPACE) {
            otk_diag_set(diag, "URI: space at position %zu (write it as %%20)", i);
            return ESP_ERR_INVALID_ARG;
        }
        if (c > ASCII_DEL) {
            otk_diag_set(diag, "URI: non-ASCII byte 0x%02x at position %zu (percent-encode it)",
                         c, i);
            return ESP_ERR_INVALID_ARG;
        }
    }
    return ESP_OK;
}

/* Check the path-and-query part of an http(s) URI: literal pchars, '/', '?' and %XX. */
static esp_err_t check_http_path(const char *p, size_t len, size_t base, otk_diag_t *diag)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '%') {
            if (i + 2 >= len || hex_value(p[i + 1]) < 0 || hex_value(p[i + 2]) < 0) {
                otk_diag_set(diag, "URI: '%%' at position %zu is not followed by two hex "
                             "digits", base + i);
                return ESP_ERR_INVALID_ARG;
            }
            i += 2;
        } else if (!is_path_char(p[i]) && p[i] != '?') {
            otk_diag_set(diag, "URI: character '%c' at position %zu must be percent-encoded",
                         p[i], base + i);
            return ESP_ERR_INVALID_ARG;
        }
    }
    return ESP_OK;
}

/* Decode a file URI's path into out (cap bytes with the NUL). */
static esp_err_t decode_file_path(const char *p, size_t len, size_t base, char *out, size_t cap,
                                  otk_diag_t *diag)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '%') {
            int h = i + 2 < len ? hex_value(p[i + 1]) : -1;
            int l = i + 2 < len ? hex_value(p[i + 2]) : -1;
            if (h < 0 || l < 0) {
                otk_diag_set(diag, "URI: '%%' at position %zu is not followed by two hex "
                             "digits", base + i);
                return ESP_ERR_INVALID_ARG;
            }
            c = (char)(h * 16 + l);
            if (c == '\0') {
                otk_diag_set(diag, "URI: %%00 at position %zu: a path cannot hold NUL", base + i);
                return ESP_ERR_INVALID_ARG;
            }
            i += 2;
        } else if (c == '?') {
            otk_diag_set(diag, "URI: '?' at position %zu: a file URI has no query (write it "
                         "as %%3F)", base + i);
            return ESP_ERR_INVALID_ARG;
        } else if (!is_path_char(c)) {
            otk_diag_set(diag, "URI: character '%c' at position %zu must be percent-encoded", c,
                         base + i);
            return ESP_ERR_INVALID_ARG;
        }
        if (n + 1 >= cap) {
            otk_diag_set(diag, "URI: path longer than %u bytes", (unsigned)(cap - 1));
            return ESP_ERR_INVALID_ARG;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return ESP_OK;
}

/* Host and port of an http(s) authority. */
static esp_err_t parse_authority(const char *a, size_t len, size_t base, otk_uri_t *uri,
                                 otk_diag_t *diag)
{
    if (len == 0) {
        otk_diag_set(diag, "URI: no host after '%s://'", otk_uri_scheme_name(uri->scheme));
        return ESP_ERR_INVALID_ARG;
    }
    const char *at = memchr(a, '@', len);
    if (at != NULL) {
        otk_diag_set(diag, "URI: credentials in the URL (position %zu) are not supported",
                     base + (size_t)(at - a));
        return ESP_ERR_INVALID_ARG;
    }
    size_t host_end; /* index after the host text in a */
    size_t host_from = 0, host_len;
    if (a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (close == NULL) {
            otk_diag_set(diag, "URI: IPv6 literal at position %zu has no ']'", base);
            return ESP_ERR_INVALID_ARG;
        }
        host_from = 1;
        host_len = (size_t)(close - a) - 1;
        host_end = (size_t)(close - a) + 1;
        bool colon = false;
        for (size_t i = 0; i < host_len; i++) {
            char c = a[1 + i];
            colon = colon || c == ':';
            if (hex_value(c) < 0 && c != ':' && c != '.') {
                otk_diag_set(diag, "URI: character '%c' at position %zu in an IPv6 literal", c,
                             base + 1 + i);
                return ESP_ERR_INVALID_ARG;
            }
        }
        if (!colon) {
            otk_diag_set(diag, "URI: '[...]' at position %zu is not an IPv6 address", base);
            return ESP_ERR_INVALID_ARG;
        }
        uri->ipv6 = true;
    } else {
        const char *colon = memchr(a, ':', len);
        host_len = colon != NULL ? (size_t)(colon - a) : len;
        host_end = host_len;
        for (size_t i = 0; i < host_len; i++) {
            if (!is_unreserved(a[i])) {
                otk_diag_set(diag, "URI: character '%c' at position %zu in the host name",
                             a[i], base + i);
                return ESP_ERR_INVALID_ARG;
            }
        }
    }
    if (host_len == 0) {
        otk_diag_set(diag, "URI: empty host at position %zu", base);
        return ESP_ERR_INVALID_ARG;
    }
    if (host_len > OTK_URI_HOST_MAX) {
        otk_diag_set(diag, "URI: host name longer than %u characters", OTK_URI_HOST_MAX);
        return ESP_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < host_len; i++) {
        uri->host[i] = lower(a[host_from + i]);
    }
    uri->host[host_len] = '\0';

    uri->port = uri->scheme == OTK_URI_HTTPS ? HTTPS_DEFAULT_PORT : HTTP_DEFAULT_PORT;
    if (host_end == len) {
        return ESP_OK;
    }
    if (a[host_end] != ':') {
        otk_diag_set(diag, "URI: unexpected '%c' at position %zu after the host", a[host_end],
                     base + host_end);
        return ESP_ERR_INVALID_ARG;
    }
    const char *digits = a + host_end + 1;
    size_t n = len - host_end - 1;
    uint32_t port = 0;
    if (n == 0 || n > URI_PORT_DIGITS) {
        otk_diag_set(diag, "URI: port at position %zu: expected 1 to %u digits",
                     base + host_end + 1, URI_PORT_DIGITS);
        return ESP_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(digits[i])) {
            otk_diag_set(diag, "URI: port at position %zu: '%c' is not a digit",
                         base + host_end + 1 + i, digits[i]);
            return ESP_ERR_INVALID_ARG;
        }
        port = port * 10u + (uint32_t)(digits[i] - '0');
    }
    if (port == 0 || port > URI_PORT_LIMIT) {
        otk_diag_set(diag, "URI: port %u is not in 1..%u", (unsigned)port, URI_PORT_LIMIT);
        return ESP_ERR_INVALID_ARG;
    }
    uri->port = (uint16_t)port;
    uri->port_given = true;
    return ESP_OK;
}

/* Append to the normalized form; false when it would not fit. */
static bool put(otk_uri_t *uri, size_t *n, const char *s, size_t len)
{
    if (*n + len >= sizeof uri->normalized) {
        return false;
    }
    memcpy(uri->normalized + *n, s, len);
    *n += len;
    uri->normalized[*n] = '\0';
    return true;
}

static bool put_str(otk_uri_t *uri, size_t *n, const char *s)
{
    return put(uri, n, s, strlen(s));
}

/* The decoded file path, encoded again where a URI needs it. */
static bool put_encoded_path(otk_uri_t *uri, size_t *n, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const char *p = path; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (is_path_char((char)c)) {
            if (!put(uri, n, (const char *)p, 1)) {
                return false;
            }
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 0xFu]};
            if (!put(uri, n, enc, sizeof enc)) {
                return false;
            }
        }
    }
    return true;
}

static esp_err_t normalize(otk_uri_t *uri, otk_diag_t *diag)
{
    size_t n = 0;
    bool ok = put_str(uri, &n, otk_uri_scheme_name(uri->scheme)) &&
              put_str(uri, &n, URI_SCHEME_SEP);
    if (uri->scheme == OTK_URI_FILE) {
        ok = ok && put_encoded_path(uri, &n, uri->path);
    } else {
        char port[8];
        snprintf(port, sizeof port, ":%u", (unsigned)uri->port);
        ok = ok && put_str(uri, &n, uri->ipv6 ? "[" : "") && put_str(uri, &n, uri->host) &&
             put_str(uri, &n, uri->ipv6 ? "]" : "") &&
             put_str(uri, &n, uri->port_given ? port : "") && put_str(uri, &n, uri->path);
    }
    if (!ok) {
        otk_diag_set(diag, "URI: longer than %u characters", OTK_URI_MAX);
        return ESP_ERR_INVALID_ARG;
    }
    return ESP_OK;
}

static esp_err_t parse_file(const char *rest, size_t len, size_t base, otk_uri_t *uri,
                            otk_diag_t *diag)
{
    const char *slash = memchr(rest, '/', len);
    size_t auth_len = slash != NULL ? (size_t)(slash - rest) : len;
    if (auth_len != 0 && !equals_nocase(rest, auth_len, "localhost")) {
        otk_diag_set(diag, "URI: file URI names host '%.*s' (only local files: file:///path)",
                     (int)(auth_len < OTK_URI_HOST_MAX ? auth_len : OTK_URI_HOST_MAX), rest);
        return ESP_ERR_INVALID_ARG;
    }
    if (slash == NULL) {
        otk_diag_set(diag, "URI: file URI without an absolute path (file:///path)");
        return ESP_ERR_INVALID_ARG;
    }
    return decode_file_path(rest + auth_len, len - auth_len, base + auth_len, uri->path,
                            sizeof uri->path, diag);
}

static esp_err_t parse_http(const char *rest, size_t len, size_t base, otk_uri_t *uri,
                            otk_diag_t *diag)
{
    size_t auth_len = 0;
    while (auth_len < len && rest[auth_len] != '/' && rest[auth_len] != '?') {
        auth_len++;
    }
    esp_err_t err = parse_authority(rest, auth_len, base, uri, diag);
    if (err != ESP_OK) {
        return err;
    }
    const char *path = rest + auth_len;
    size_t path_len = len - auth_len;
    err = check_http_path(path, path_len, base + auth_len, diag);
    if (err != ESP_OK) {
        return err;
    }
    size_t n = 0;
    if (path_len == 0 || path[0] == '?') {
        uri->path[n++] = '/';
    }
    if (n + path_len >= sizeof uri->path) {
        otk_diag_set(diag, "URI: longer than %u characters", OTK_URI_MAX);
        return ESP_ERR_INVALID_ARG;
    }
    memcpy(uri->path + n, path, path_len);
    uri->path[n + path_len] = '\0';
    return ESP_OK;
}

esp_err_t otk_uri_parse(const char *text, size_t len, otk_uri_t *uri, otk_diag_t *diag)
{
    if (text == NULL || uri == NULL) {
        otk_diag_set(diag, "URI: none given");
        return ESP_ERR_INVALID_ARG;
    }
    memset(uri, 0, sizeof *uri);
    if (len > OTK_URI_MAX) {
        otk_diag_set(diag, "URI: %zu characters, longer than %u", len, OTK_URI_MAX);
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = check_characters(text, len, diag);
    if (err != ESP_OK) {
        return err;
    }
    size_t scheme_len = scheme_length(text, len);
    if (scheme_len == 0) {
        otk_diag_set(diag, "URI: '%.*s' does not start with scheme:// (file, http, https)",
                     (int)(len < OTK_DIAG_MAX / 2 ? len : OTK_DIAG_MAX / 2), text);
        return ESP_ERR_INVALID_ARG;
    }
    if (equals_nocase(text, scheme_len, "file")) {
        uri->scheme = OTK_URI_FILE;
    } else if (equals_nocase(text, scheme_len, "http")) {
        uri->scheme = OTK_URI_HTTP;
    } else if (equals_nocase(text, scheme_len, "https")) {
        uri->scheme = OTK_URI_HTTPS;
    } else {
        otk_diag_set(diag, "URI: scheme '%.*s' is not supported (file, http, https)",
                     (int)scheme_len, text);
        return ESP_ERR_NOT_SUPPORTED;
    }
    size_t base = scheme_len + sizeof URI_SCHEME_SEP - 1;
    const char *hash = memchr(text + base, '#', len - base);
    size_t end = hash != NULL ? (size_t)(hash - text) : len; /* a fragment is never sent */
    err = uri->scheme == OTK_URI_FILE ? parse_file(text + base, end - base, base, uri, diag)
                                      : parse_http(text + base, end - base, base, uri, diag);
    return err != ESP_OK ? err : normalize(uri, diag);
}
