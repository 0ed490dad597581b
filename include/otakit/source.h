/* Where update images come from: file://, http:// and https:// behind one streaming
 * interface (open at an offset, read until the end, close). HTTP goes through libcurl.
 *
 * What a source promises its reader:
 *   - TLS is verified (peer and host name) against a CA file, a CA given as PEM text, or the
 *     system store; plain http:// is refused unless allowed (ESP-IDF's
 *     CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP), also as the target of a redirect;
 *   - redirects are followed up to a limit; a connection that does not come up, or a
 *     response that stalls, is given up after its timeout;
 *   - a response that breaks off mid-transfer (closed connection, stall) is continued with
 *     one new request "Range: bytes=N-" carrying If-Range, so a drop costs one request,
 *     not a restart; only requests that bring no byte count against max_retries;
 *   - bytes are never spliced from two versions of a resource: a continuation must be a 206
 *     whose Content-Range starts at N and whose total length, ETag and Last-Modified match
 *     the first response's (where both sides have them). A 200, a 416 or a mismatch makes
 *     the source start over from byte 0, and the reader is told (otk_source_read's *at);
 *   - HTTP errors come back as a code and a one-line reason with the status and the URL.
 *
 * A source is used by one thread at a time. */
#ifndef OTAKIT_SOURCE_H
#define OTAKIT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "otakit/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- URIs ---------------------------------------------------------------------------- */

/* Longest URI accepted. Update URLs are short; a bound keeps the parser and the checkpoint
 * (which stores the URL) fixed-size. 2048 is what common servers and proxies accept. */
#define OTK_URI_MAX 2048u
/* A DNS name is at most 253 characters; an IPv6 literal far less. */
#define OTK_URI_HOST_MAX 255u

typedef enum {
    OTK_URI_FILE = 0, /* file:///absolute/path (authority empty or "localhost") */
    OTK_URI_HTTP,
    OTK_URI_HTTPS,
} otk_uri_scheme_t;

typedef struct {
    otk_uri_scheme_t scheme;
    char host[OTK_URI_HOST_MAX + 1]; /* "" for file; an IPv6 literal without brackets */
    bool ipv6;                       /* host was a bracketed IPv6 literal */
    uint16_t port;                   /* given or the scheme's default (80, 443); 0 for file */
    bool port_given;
    /* file: the local path, percent-decoded. http(s): path and query as given (still
     * percent-encoded), "/" when empty. A fragment is dropped (never sent to a server). */
    char path[OTK_URI_MAX + 1];
    /* The URI rebuilt from the fields: lowercase scheme and host, the port only when it was
     * given, no fragment. What is handed to libcurl and written into checkpoints;
     * parsing it again gives the same fields. */
    char normalized[OTK_URI_MAX + 1];
} otk_uri_t;

/* Parse text[0..len) (no NUL needed; a NUL inside is an error). Errors, with diag naming
 * the character position and what was expected: ESP_ERR_INVALID_ARG (malformed, too long,
 * control or non-ASCII characters, credentials in the authority, a bad port, a relative
 * file path, %00), ESP_ERR_NOT_SUPPORTED (a scheme other than file, http, https). */
esp_err_t otk_uri_parse(const char *text, size_t len, otk_uri_t *uri, otk_diag_t *diag);

/* "file", "http", "https". */
const char *otk_uri_scheme_name(otk_uri_scheme_t scheme);

/* True when text starts with "scheme://" (letters, digits, '+', '-', '.'): the argument is
 * meant as a URL rather than a file path. */
bool otk_uri_is_url(const char *text);

/* ---- sources ------------------------------------------------------------------------- */

/* An ETag is an opaque quoted string; servers keep them short (nginx: 20 characters).
 * Longer ones are not kept, so a continuation cannot be checked against them. */
#define OTK_SOURCE_ETAG_MAX 127u
/* An HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT") is 29 characters. */
#define OTK_SOURCE_DATE_MAX 63u

/* What identifies one version of a resource. */
typedef struct {
    int64_t length;                              /* bytes; -1 when unknown (chunked) */
    char etag[OTK_SOURCE_ETAG_MAX + 1];          /* "" when the server sent none */
    char last_modified[OTK_SOURCE_DATE_MAX + 1]; /* "" when none */
} otk_source_identity_t;

/* Seen on the wire, for ESP-IDF's HTTP client events and for logs. */
typedef enum {
    OTK_SOURCE_EV_CONNECTED = 0, /* a request is on its way (before its response) */
    OTK_SOURCE_EV_HEADER,        /* one response header: key, value */
    OTK_SOURCE_EV_DATA,          /* body bytes arrived: data, len */
    OTK_SOURCE_EV_FINISHED,      /* a response ended complete */
    OTK_SOURCE_EV_DISCONNECTED,  /* a response broke off (drop, stall) */
    OTK_SOURCE_EV_REDIRECT,      /* a 3xx with a Location is being followed */
    OTK_SOURCE_EV_ERROR,         /* a request failed: value is the reason */
} otk_source_event_t;

typedef void (*otk_source_event_cb_t)(void *ctx, otk_source_event_t event, const char *key,
                                      const char *value, const void *data, size_t len);

/* Defaults (otk_source_opts_init). ESP-IDF's HTTP client waits 5 s on the network and
 * follows 10 redirects; a stall of 30 s on a host link means the peer is gone. Three
 * requests in a row that bring nothing: the server is down, not flaky. */
#define OTK_SOURCE_CONNECT_TIMEOUT_MS 10000u
#define OTK_SOURCE_STALL_TIMEOUT_MS 30000u
#define OTK_SOURCE_MAX_REDIRECTS 10u
#define OTK_SOURCE_MAX_RETRIES 3u

typedef struct {
    const char *ca_file;     /* PEM file of trusted CAs; NULL: ca_pem, else the system store */
    const char *ca_pem;      /* PEM text of trusted CAs (ESP-IDF's cert_pem); NULL: none */
    size_t ca_pem_len;       /* 0: ca_pem is NUL-terminated */
    bool allow_http;         /* plain http:// accepted (also as a redirect target) */
    uint32_t connect_timeout_ms; /* TCP + TLS handshake */
    uint32_t stall_timeout_ms;   /* no response byte for this long: the request is dropped */
    uint32_t max_redirects;      /* 0: redirects are not followed (a 3xx is an error) */
    uint32_t max_retries;        /* new requests in a row that bring no byte */
    /* > 0: ask for at most this many bytes per request (ESP-IDF's partial HTTP download;
     * a server that answers 200 simply sends everything at once). */
    uint32_t range_size;
    /* Extra request headers "Key: value", NULL-terminated; NULL: none. Copied at open. */
    const char *const *headers;
    otk_source_event_cb_t on_event; /* NULL: none */
    void *event_ctx;
} otk_source_opts_t;

void otk_source_opts_init(otk_source_opts_t *opts);

typedef struct otk_source otk_source_t;

/* Counters of one source. */
typedef struct {
    unsigned requests;   /* requests sent (file: 1) */
    unsigned reconnects; /* requests made to continue after a response broke off */
    unsigned restarts;   /* times the source started over from byte 0 */
    int http_status;     /* status of the last response; 0 for files */
} otk_source_stats_t;

/* Open uri and position at byte `offset`. For HTTP the first request is made here and its
 * status checked, so a wrong URL, a refused certificate or an HTTP error come back now.
 * With offset > 0, `expect` (may be NULL) is the identity the bytes before offset came
 * from; when the resource is not that one any more, or the server ignores the range, the
 * source is positioned at 0 instead: check otk_source_offset.
 * Errors (diag says what, with the URL): ESP_ERR_INVALID_ARG (bad URI or options),
 * ESP_ERR_NOT_SUPPORTED (scheme), ESP_ERR_NOT_ALLOWED (plain http:// not allowed),
 * ESP_ERR_NOT_FOUND (no such file, HTTP 404/410), ESP_ERR_TIMEOUT (connect or stall),
 * ESP_ERR_NO_MEM, ESP_FAIL (connection, TLS, other HTTP statuses, I/O). */
esp_err_t otk_source_open(const char *uri, const otk_source_opts_t *opts, uint64_t offset,
                          const otk_source_identity_t *expect, otk_source_t **out,
                          otk_diag_t *diag);

/* Read up to cap bytes. Blocks until at least one byte, the end (*got = 0), or an error.
 * *at gets the resource offset of the bytes returned: the offset the reader expects, or 0
 * when the source had to start over (everything read before is void; see above). Breaks
 * in the transfer are continued inside, within max_retries. Errors as for open. */
esp_err_t otk_source_read(otk_source_t *src, void *buf, size_t cap, size_t *got, uint64_t *at,
                          otk_diag_t *diag);

/* Offset of the next byte read returns. */
uint64_t otk_source_offset(const otk_source_t *src);
/* The resource's identity as the server (or the file system) describes it. */
const otk_source_identity_t *otk_source_identity(const otk_source_t *src);
void otk_source_stats(const otk_source_t *src, otk_source_stats_t *stats);
/* The URI as given to open, normalized (otk_uri_t.normalized). */
const char *otk_source_uri(const otk_source_t *src);
/* Close and free; NULL is a no-op. */
void otk_source_close(otk_source_t *src);

#ifdef __cplusplus
}
#endif
#endif
