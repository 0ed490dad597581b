/* libcurl's global state and its error codes, in the source layer's terms. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "net/http_internal.h"

#define MS_PER_S 1000u
#define NS_PER_MS 1000000u

static pthread_mutex_t curl_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned curl_users;

bool http_curl_acquire(void)
{
    bool ok = true;
    pthread_mutex_lock(&curl_lock);
    if (curl_users == 0) {
        ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    }
    if (ok) {
        curl_users++;
    }
    pthread_mutex_unlock(&curl_lock);
    return ok;
}

void http_curl_release(void)
{
    pthread_mutex_lock(&curl_lock);
    if (curl_users > 0 && --curl_users == 0) {
        curl_global_cleanup();
    }
    pthread_mutex_unlock(&curl_lock);
}

uint64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

bool http_curl_transient(CURLcode code)
{
    switch (code) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR: /* also a reset during the handshake */
        return true;
    default:
        return false;
    }
}

esp_err_t http_curl_error(CURLcode code, const char *errbuf, const char *url,
                          const char *ca_hint, otk_diag_t *diag)
{
    const char *detail = errbuf != NULL && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        otk_diag_set(diag, "timed out: %s (%s)", detail, url);
        return ESP_ERR_TIMEOUT;
    case CURLE_UNSUPPORTED_PROTOCOL:
        otk_diag_set(diag, "refused: %s (%s); plain http:// is used only when allowed "
                     "(--allow-http, CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP)", detail, url);
        return ESP_ERR_NOT_ALLOWED;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ISSUER_ERROR:
        otk_diag_set(diag, "TLS: the server is not trusted with %s: %s (%s)", ca_hint, detail,
                     url);
        return ESP_FAIL;
    case CURLE_OUT_OF_MEMORY:
        otk_diag_set(diag, "out of memory (%s)", url);
        return ESP_ERR_NO_MEM;
    case CURLE_TOO_MANY_REDIRECTS:
        otk_diag_set(diag, "too many redirects: %s (%s)", detail, url);
        return ESP_FAIL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        otk_diag_set(diag, "cannot connect: %s (%s)", detail, url);
        return ESP_FAIL;
    default:
        otk_diag_set(diag, "%s (%s)", detail, url);
        return ESP_FAIL;
    }
}
