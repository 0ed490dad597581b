/* Private to the HTTP source (src/net/source_http.c, http_*.c): the response headers it
 * reads, and libcurl's global state and error codes in the source layer's terms. */
#ifndef OTAKIT_HTTP_INTERNAL_H
#define OTAKIT_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "otakit/source.h"

/* The status reason phrase kept for messages ("Not Found"). */
#define HTTP_REASON_MAX 63u

/* What the headers of one response say. */
typedef struct {
    int status;                          /* 0 until a status line was seen */
    char reason[HTTP_REASON_MAX + 1];
    int64_t content_length;              /* -1: none */
    bool has_range;                      /* a valid Content-Range was seen */
    uint64_t range_first, range_last;    /* Content-Range bytes first-last/total */
    int64_t range_total;                 /* -1: "*" (unknown) */
    bool has_location;
    char etag[OTK_SOURCE_ETAG_MAX + 1];
    char last_modified[OTK_SOURCE_DATE_MAX + 1];
} http_response_t;

typedef enum {
    HTTP_LINE_FIELD = 0, /* a header field (or a line ignored) */
    HTTP_LINE_STATUS,    /* a status line: the response was reset to it */
    HTTP_LINE_END,       /* the blank line that ends the header block */
} http_line_t;

void http_response_reset(http_response_t *r);

/* One header line as libcurl hands it (with its CRLF). For a field, key and key_len,
 * value and value_len (all may be NULL) are set to the name and the trimmed value, both
 * pointing into line. */
http_line_t http_response_line(http_response_t *r, const char *line, size_t len,
                               const char **key, size_t *key_len, const char **value,
                               size_t *value_len);

/* "bytes FIRST-LAST/TOTAL" with FIRST <= LAST < TOTAL, or with an asterisk for TOTAL
 * (unknown: *total = -1). */
bool http_parse_content_range(const char *v, size_t len, uint64_t *first, uint64_t *last,
                              int64_t *total);

/* The resource's identity as this response describes it: for a 206 the Content-Range
 * total, for a 200 the Content-Length; plus ETag and Last-Modified. */
void http_response_identity(const http_response_t *r, otk_source_identity_t *id);

/* libcurl's global initialisation, counted: the first source initialises it, the last
 * one to close cleans it up (so leak checkers see nothing left behind). false: failed. */
bool http_curl_acquire(void);
void http_curl_release(void);

/* A libcurl failure as a source error: the code and a reason naming the URL. ca_hint
 * names the trusted CAs for TLS failures. */
esp_err_t http_curl_error(CURLcode code, const char *errbuf, const char *url,
                          const char *ca_hint, otk_diag_t *diag);
/* Failures worth another request (a drop, a stall, a reset) as opposed to ones that will
 * fail the same way again (TLS trust, protocol refused, too many redirects). */
bool http_curl_transient(CURLcode code);

/* Milliseconds of a monotonic clock. */
uint64_t http_now_ms(void);

/* ---- the HTTP source's state (source_http.c, http_accept.c, http_setup.c) ------------ */

/* libcurl's receive buffer (CURLOPT_BUFFERSIZE), the most one body callback hands over:
 * 64 KiB instead of its default 16 KiB takes a fast link's bytes in a quarter of the
 * receive calls and callbacks (the curl tool itself reads 100 KiB at a time). */
#define HTTP_RECV_SIZE (64u * 1024u)
/* Bytes buffered between libcurl and the reader: several receive buffers, so the transfer
 * rarely pauses while the reader programs flash. */
#define HTTP_BUFFER_SIZE (256u * 1024u)
/* Longest single wait for the network: stall checks stay within this of their deadline. */
#define HTTP_POLL_MAX_MS 250u
/* A resource that changes this often during one download is not going to hold still. */
#define HTTP_MAX_RESTARTS 3u
/* Pause before a retry that follows a failed one, times the failures in a row: a server
 * that is restarting gets a moment, a flaky link costs little. */
#define HTTP_RETRY_BACKOFF_MS 100u
#define HTTP_HEADER_LINE_MAX 160u /* "Range: bytes=N-M", "If-Range: <etag or date>" */
#define HTTP_EVENT_KEY_MAX 64u    /* header names handed to event callbacks */
#define HTTP_EVENT_VALUE_MAX 512u /* header values handed to event callbacks (cut beyond) */

/* The state of one http(s) source (otk_source_t.kind). */
typedef struct {
    CURLM *multi;
    CURL *easy;
    bool curl_held;   /* http_curl_acquire succeeded */
    bool attached;    /* easy is in multi: a request is under way */
    struct curl_slist *base_headers;
    struct curl_slist *req_headers;
    char *ca_file;
    char *ca_pem;
    char ca_hint[96]; /* the trusted CAs, for TLS error messages */
    uint8_t *buf;
    size_t head, len; /* buffered bytes: buf[head, head + len) */
    bool paused;      /* the body callback paused the transfer: the buffer was full */
    bool opened;      /* open finished: failures from now on may be retried */
    bool have_identity;
    bool ended;       /* every byte of the resource was handed out */
    unsigned fruitless; /* requests in a row that brought no body byte */
    unsigned restarts_here;
    /* The request under way. */
    uint64_t req_from;
    uint64_t req_len; /* bytes asked for (range_size), 0: to the end */
    http_response_t resp;
    bool accepted;    /* its final response was checked and its body is being taken */
    uint64_t body_got;
    bool restart;     /* its response does not continue the resource: ask from 0 */
    esp_err_t reject; /* why the header check refused it (ESP_OK: it did not) */
    bool reject_transient;
    otk_diag_t reject_why;
    bool stalled;
    bool done;
    CURLcode result;
    uint64_t activity_ms; /* last time anything arrived (or the request started) */
    char errbuf[CURL_ERROR_SIZE];
} http_state_t;

/* Hand an event to the caller's callback, if there is one. */
void http_emit(otk_source_t *src, otk_source_event_t ev, const char *key, const char *value,
               const void *data, size_t len);
/* libcurl's header and body callbacks (http_accept.c): the final response's check when its
 * headers are complete, and the buffer the reader takes bytes from. */
size_t http_on_header(char *line, size_t size, size_t count, void *ctx);
size_t http_on_body(char *data, size_t size, size_t count, void *ctx);
/* Keep the option strings and headers for the source's lifetime, then set the easy
 * handle's options (http_setup.c). false: out of memory / refused by libcurl. */
bool http_copy_options(otk_source_t *src, http_state_t *h);
bool http_set_options(otk_source_t *src, http_state_t *h);
bool http_append_header(struct curl_slist **list, const char *line);

#endif
