/* Reading HTTP response headers: the status line, and the fields a download depends on
 * (length, range, identity, redirect). Pure text handling. */
#include <ctype.h>
#include <string.h>

#include "net/http_internal.h"
#include "net/source_internal.h"

#define HTTP_STATUS_DIGITS 3
#define HTTP_STATUS_MIN 100
#define DECIMAL_MAX_DIGITS 18 /* fits int64_t without overflow checks */

void http_response_reset(http_response_t *r)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    r->range_total = -1;
}

static bool key_is(const char *key, size_t len, const char *name)
{
    if (strlen(name) != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (tolower((unsigned char)key[i]) != tolower((unsigned char)name[i])) {
            return false;
        }
    }
    return true;
}

/* A decimal of 1..18 digits; *end gets the index after it. */
static bool parse_decimal(const char *s, size_t len, size_t *end, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < len && i < DECIMAL_MAX_DIGITS + 1 && isdigit((unsigned char)s[i])) {
        v = v * 10u + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == 0 || i > DECIMAL_MAX_DIGITS) {
        return false;
    }
    *end = i;
    *out = v;
    return true;
}

bool http_parse_content_range(const char *v, size_t len, uint64_t *first, uint64_t *last,
                              int64_t *total)
{
    static const char unit[] = "bytes ";
    size_t u = sizeof unit - 1;
    if (len < u || strncmp(v, unit, u) != 0) {
        return false;
    }
    size_t i = u, n;
    uint64_t a, b, t;
    if (!parse_decimal(v + i, len - i, &n, &a)) {
        return false;
    }
    i += n;
    if (i >= len || v[i] != '-') {
        return false;
    }
    i++;
    if (!parse_decimal(v + i, len - i, &n, &b)) {
        return false;
    }
    i += n;
    if (i >= len || v[i] != '/' || b < a) {
        return false;
    }
    i++;
    if (i + 1 == len && v[i] == '*') {
        *total = -1;
    } else if (parse_decimal(v + i, len - i, &n, &t) && i + n == len && b < t) {
        *total = (int64_t)t;
    } else {
        return false;
    }
    *first = a;
    *last = b;
    return true;
}

/* "HTTP/1.1 206 Partial Content", "HTTP/2 200". */
static void parse_status(http_response_t *r, const char *line, size_t len)
{
    http_response_reset(r);
    const char *sp = memchr(line, ' ', len);
    if (sp == NULL) {
        return;
    }
    size_t i = (size_t)(sp - line) + 1;
    int status = 0;
    for (int d = 0; d < HTTP_STATUS_DIGITS; d++, i++) {
        if (i >= len || !isdigit((unsigned char)line[i])) {
            return;
        }
        status = status * 10 + (line[i] - '0');
    }
    if (status < HTTP_STATUS_MIN) {
        return;
    }
    r->status = status;
    while (i < len && line[i] == ' ') {
        i++;
    }
    source_copy_field(r->reason, sizeof r->reason, line + i, len - i);
}

static void parse_field(http_response_t *r, const char *key, size_t key_len, const char *value,
                        size_t value_len)
{
    uint64_t n;
    size_t end;
    if (key_is(key, key_len, "Content-Length")) {
        if (parse_decimal(value, value_len, &end, &n) && end == value_len) {
            r->content_length = (int64_t)n;
        }
    } else if (key_is(key, key_len, "Content-Range")) {
        r->has_range = http_parse_content_range(value, value_len, &r->range_first,
                                                &r->range_last, &r->range_total);
    } else if (key_is(key, key_len, "ETag")) {
        source_copy_field(r->etag, sizeof r->etag, value, value_len);
    } else if (key_is(key, key_len, "Last-Modified")) {
        source_copy_field(r->last_modified, sizeof r->last_modified, value, value_len);
    } else if (key_is(key, key_len, "Location")) {
        r->has_location = value_len > 0;
    }
}

http_line_t http_response_line(http_response_t *r, const char *line, size_t len,
                               const char **key, size_t *key_len, const char **value,
                               size_t *value_len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    if (len == 0) {
        return HTTP_LINE_END;
    }
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        parse_status(r, line, len);
        return HTTP_LINE_STATUS;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL) {
        return HTTP_LINE_FIELD;
    }
    size_t klen = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vlen = len - klen - 1;
    while (vlen > 0 && isspace((unsigned char)v[0])) {
        v++;
        vlen--;
    }
    while (vlen > 0 && isspace((unsigned char)v[vlen - 1])) {
        vlen--;
    }
    parse_field(r, line, klen, v, vlen);
    if (key != NULL) {
        *key = line;
        *key_len = klen;
        *value = v;
        *value_len = vlen;
    }
    return HTTP_LINE_FIELD;
}

void http_response_identity(const http_response_t *r, otk_source_identity_t *id)
{
    memset(id, 0, sizeof *id);
    id->length = r->has_range ? r->range_total : r->content_length;
    strcpy(id->etag, r->etag);
    strcpy(id->last_modified, r->last_modified);
}
