/* Link URIs (unix:PATH, tcp://HOST:PORT, serial:PATH?baud=N, pty?baud=N), the UART rate
 * model, and the monotonic clock the control path runs on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otakit/hosted_link.h"

/* A UART sends 10 bit times per byte with 8N1 framing (start, 8 data, stop). */
#define UART_BITS_PER_BYTE 10u
/* Bytes a sender may push at once after an idle pause: an ESP32 UART's 128-byte FIFO. */
#define RATE_BURST 128u
#define US_PER_S 1000000u

uint64_t otk_link_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * US_PER_S + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t otk_link_now_ms(void)
{
    return otk_link_now_us() / 1000u;
}

const char *otk_link_kind_name(otk_link_kind_t kind)
{
    switch (kind) {
    case OTK_LINK_UNIX:
        return "unix";
    case OTK_LINK_TCP:
        return "tcp";
    case OTK_LINK_SERIAL:
        return "serial";
    case OTK_LINK_PTY:
        return "pty";
    }
    return "?";
}

/* "?baud=N" (or nothing) after a serial or pty URI. */
static esp_err_t parse_query(const char *q, otk_link_uri_t *uri, const char *text,
                             otk_diag_t *diag)
{
    if (*q == '\0') {
        return ESP_OK;
    }
    if (strncmp(q, "?baud=", 6) != 0) {
        otk_diag_set(diag, "'%s': the only option is ?baud=N (a UART's bit rate)", text);
        return ESP_ERR_INVALID_ARG;
    }
    char *end = NULL;
    errno = 0;
    unsigned long baud = strtoul(q + 6, &end, 10);
    if (errno != 0 || end == q + 6 || *end != '\0' || baud < UART_BITS_PER_BYTE ||
        baud > 100000000ul) {
        otk_diag_set(diag, "'%s': baud must be a number from %u to 100000000", text,
                     UART_BITS_PER_BYTE);
        return ESP_ERR_INVALID_ARG;
    }
    uri->baud = (uint32_t)baud;
    return ESP_OK;
}

static esp_err_t copy_path(char *dst, const char *src, size_t len, const char *text,
                           otk_diag_t *diag)
{
    if (len == 0) {
        otk_diag_set(diag, "'%s': the path is empty", text);
        return ESP_ERR_INVALID_ARG;
    }
    if (len >= OTK_LINK_PATH_MAX) {
        otk_diag_set(diag, "'%s': the path is longer than %u bytes", text,
                     OTK_LINK_PATH_MAX - 1u);
        return ESP_ERR_INVALID_ARG;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return ESP_OK;
}

static esp_err_t parse_tcp(const char *rest, otk_link_uri_t *uri, const char *text,
                           otk_diag_t *diag)
{
    const char *colon = strrchr(rest, ':');
    if (colon == NULL) {
        otk_diag_set(diag, "'%s': expected tcp://HOST:PORT (or tcp://:PORT for %s)", text,
                     OTK_LINK_TCP_DEFAULT_HOST);
        return ESP_ERR_INVALID_ARG;
    }
    size_t host_len = (size_t)(colon - rest);
    const char *host = rest;
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') { /* [::1] */
        host++;
        host_len -= 2;
    }
    if (host_len >= OTK_LINK_HOST_MAX) {
        otk_diag_set(diag, "'%s': the host name is too long", text);
        return ESP_ERR_INVALID_ARG;
    }
    memcpy(uri->host, host, host_len);
    uri->host[host_len] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || port > 65535) {
        otk_diag_set(diag, "'%s': the port must be a number from 0 to 65535", text);
        return ESP_ERR_INVALID_ARG;
    }
    uri->port = (uint16_t)port;
    return ESP_OK;
}

esp_err_t otk_link_uri_parse(const char *text, otk_link_uri_t *uri, otk_diag_t *diag)
{
    memset(uri, 0, sizeof *uri);
    if (text == NULL) {
        otk_diag_set(diag, "no URI");
        return ESP_ERR_INVALID_ARG;
    }
    if (strncmp(text, "unix:", 5) == 0) {
        uri->kind = OTK_LINK_UNIX;
        const char *p = text + 5;
        if (strncmp(p, "//", 2) == 0) { /* unix:///tmp/d.sock */
            p += 2;
        }
        return copy_path(uri->path, p, strlen(p), text, diag);
    }
    if (strncmp(text, "tcp://", 6) == 0) {
        uri->kind = OTK_LINK_TCP;
        return parse_tcp(text + 6, uri, text, diag);
    }
    if (strncmp(text, "serial:", 7) == 0) {
        uri->kind = OTK_LINK_SERIAL;
        const char *p = text + 7;
        const char *q = strchr(p, '?');
        size_t len = q != NULL ? (size_t)(q - p) : strlen(p);
        esp_err_t err = copy_path(uri->path, p, len, text, diag);
        return err != ESP_OK ? err : parse_query(q != NULL ? q : "", uri, text, diag);
    }
    if (strncmp(text, "pty", 3) == 0 && (text[3] == '\0' || text[3] == '?')) {
        uri->kind = OTK_LINK_PTY;
        return parse_query(text + 3, uri, text, diag);
    }
    otk_diag_set(diag, "'%s': expected unix:PATH, tcp://HOST:PORT, serial:TTY[?baud=N] or "
                       "pty[?baud=N]", text);
    return ESP_ERR_INVALID_ARG;
}

void otk_link_uri_format(const otk_link_uri_t *uri, char *out, size_t cap)
{
    char baud[24] = "";
    if (uri->baud != 0) {
        snprintf(baud, sizeof baud, "?baud=%u", (unsigned)uri->baud);
    }
    switch (uri->kind) {
    case OTK_LINK_UNIX:
        /* The parser takes "unix://P" as P, so a path that itself begins with "//" needs
         * that prefix written out, or the text would name another path (fuzz_uri). */
        snprintf(out, cap, "unix:%s%s", strncmp(uri->path, "//", 2) == 0 ? "//" : "",
                 uri->path);
        break;
    case OTK_LINK_TCP: {
        const char *host = uri->host[0] != '\0' ? uri->host : OTK_LINK_TCP_DEFAULT_HOST;
        bool v6 = strchr(host, ':') != NULL;
        snprintf(out, cap, "tcp://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
                 (unsigned)uri->port);
        break;
    }
    case OTK_LINK_SERIAL:
        snprintf(out, cap, "serial:%s%s", uri->path, baud);
        break;
    case OTK_LINK_PTY:
        snprintf(out, cap, "pty%s", baud);
        break;
    }
}

void otk_link_rate_init(otk_link_rate_t *r, uint32_t baud)
{
    memset(r, 0, sizeof *r);
    r->bytes_per_s = baud / UART_BITS_PER_BYTE;
}

size_t otk_link_rate_allow(otk_link_rate_t *r, size_t want, int *wait_ms)
{
    if (wait_ms != NULL) {
        *wait_ms = 0;
    }
    if (r->bytes_per_s == 0) {
        return want;
    }
    uint64_t now = otk_link_now_us();
    if (r->t0_us == 0) {
        r->t0_us = now;
    }
    uint64_t budget = (now - r->t0_us) * r->bytes_per_s / US_PER_S + RATE_BURST;
    if (budget > r->sent + RATE_BURST) {
        /* Idle for a while: a UART does not save up bit times, start the budget over. */
        r->t0_us = now;
        r->sent = 0;
        budget = RATE_BURST;
    }
    uint64_t avail = budget > r->sent ? budget - r->sent : 0;
    if (avail == 0) {
        if (wait_ms != NULL) {
            /* When the next byte's bit times are over. */
            uint64_t due_us = (r->sent + 1 - RATE_BURST) * US_PER_S / r->bytes_per_s;
            uint64_t elapsed = now - r->t0_us;
            uint64_t ms = due_us > elapsed ? (due_us - elapsed + 999u) / 1000u : 1u;
            *wait_ms = (int)(ms > 0 ? ms : 1);
        }
        return 0;
    }
    return want < avail ? want : (size_t)avail;
}

void otk_link_rate_spent(otk_link_rate_t *r, size_t n)
{
    r->sent += n;
}
