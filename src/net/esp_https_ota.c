/* ESP-IDF's esp_https_ota_* (esp_https_ota.h) over the current device: the ESP config
 * checked and translated into otk_https_ota's, events posted to ESP_HTTPS_OTA_EVENT, and
 * errors mapped to the codes ESP-IDF returns from each call. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esp/esp_internal.h"
#include "esp_https_ota.h"
#include "net/esp_http_internal.h"
#include "otakit/https_ota.h"
#include "otakit/log.h"

#define TAG "esp_https_ota"
/* esp_http_client's defaults (DEFAULT_TIMEOUT_MS, DEFAULT_MAX_REDIRECT). */
#define ESP_HTTP_TIMEOUT_DEFAULT_MS 5000u
#define ESP_HTTP_MAX_REDIRECT_DEFAULT 10u
#define HTTP_PREFIX "http://"

ESP_EVENT_DEFINE_BASE(ESP_HTTPS_OTA_EVENT);

_Static_assert((int)ESP_HTTPS_OTA_ABORT == (int)OTK_HTTPS_OTA_ABORT &&
                   (int)ESP_HTTPS_OTA_WRITE_FLASH == (int)OTK_HTTPS_OTA_WRITE_FLASH,
               "esp_https_ota_event_t and otk_https_ota_event_t must agree");

static bool allow_http; /* CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP: n by default */

void otk_esp_https_ota_set_allow_http(bool allow)
{
    allow_http = allow;
}

bool otk_esp_https_ota_get_allow_http(void)
{
    return allow_http;
}

/* What esp_https_ota_handle_t points at. */
typedef struct {
    otk_https_ota_t *ota;
    struct esp_http_client client;
} esp_ota_ctx_t;

static void post_event(void *ctx, otk_https_ota_event_t event, const void *data, size_t len)
{
    (void)ctx;
    esp_err_t err = esp_event_post(ESP_HTTPS_OTA_EVENT, (int32_t)event, data, len, 0);
    if (err != ESP_OK) { /* no default loop: the app did not ask for events */
        OTK_LOGD(TAG, "event %d not posted: %s", (int)event, esp_err_to_name(err));
    }
}

static void note_ignored(const esp_http_client_config_t *hc)
{
    if (hc->host != NULL || hc->port != 0 || hc->path != NULL || hc->query != NULL) {
        OTK_LOGW(TAG, "host/port/path/query are ignored: the url says where");
    }
    if (hc->username != NULL || hc->password != NULL || hc->auth_type != HTTP_AUTH_TYPE_NONE) {
        OTK_LOGW(TAG, "HTTP authentication is not supported on the host: ignored");
    }
    if (hc->client_cert_pem != NULL || hc->client_key_pem != NULL) {
        OTK_LOGW(TAG, "client certificates are not supported on the host: ignored");
    }
}

static esp_err_t check_config(const esp_https_ota_config_t *c)
{
    if (c == NULL || c->http_config == NULL || c->http_config->url == NULL) {
        OTK_LOGE(TAG, "esp_https_ota_begin: Invalid argument");
        return ESP_ERR_INVALID_ARG;
    }
    const esp_http_client_config_t *hc = c->http_config;
    if (c->decrypt_cb != NULL) {
        OTK_LOGE(TAG, "decrypt_cb (pre-encrypted images) is not supported on the host");
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (hc->skip_cert_common_name_check) {
        OTK_LOGE(TAG, "skip_cert_common_name_check: the host always checks the server name");
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (hc->is_async) {
        OTK_LOGE(TAG, "esp_https_ota is blocking: is_async must be false");
        return ESP_ERR_INVALID_ARG;
    }
    if (!allow_http) {
        if (hc->cert_pem == NULL && !hc->use_global_ca_store && hc->crt_bundle_attach == NULL) {
            OTK_LOGE(TAG, "No option for server verification is enabled in esp_http_client "
                     "config (cert_pem, use_global_ca_store or crt_bundle_attach)");
            return ESP_ERR_INVALID_ARG;
        }
        if (strncasecmp(hc->url, HTTP_PREFIX, strlen(HTTP_PREFIX)) == 0) {
            OTK_LOGE(TAG, "%s: plain http:// needs CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP", hc->url);
            return ESP_ERR_INVALID_ARG;
        }
    }
    note_ignored(hc);
    return ESP_OK;
}

static void translate(const esp_https_ota_config_t *c, esp_ota_ctx_t *ctx,
                      otk_https_ota_config_t *o)
{
    const esp_http_client_config_t *hc = c->http_config;
    otk_https_ota_config_init(o);
    o->url = hc->url;
    o->source.ca_pem = hc->cert_pem;
    o->source.ca_pem_len = hc->cert_pem != NULL ? hc->cert_len : 0;
    o->source.allow_http = allow_http;
    uint32_t timeout = hc->timeout_ms > 0 ? (uint32_t)hc->timeout_ms : ESP_HTTP_TIMEOUT_DEFAULT_MS;
    o->source.connect_timeout_ms = timeout;
    o->source.stall_timeout_ms = timeout;
    o->source.max_redirects = hc->disable_auto_redirect ? 0
                              : hc->max_redirection_count > 0 ? (uint32_t)hc->max_redirection_count
                                                              : ESP_HTTP_MAX_REDIRECT_DEFAULT;
    o->source.headers = ctx->client.header_count > 0
                            ? (const char *const *)ctx->client.headers
                            : NULL;
    o->source.on_event = esp_http_client_host_event;
    o->source.event_ctx = &ctx->client;
    o->bulk_flash_erase = c->bulk_flash_erase;
    o->partial_http_download = c->partial_http_download;
    o->max_http_request_size = c->max_http_request_size > 0 ? (uint32_t)c->max_http_request_size
                                                            : 0;
    o->ota_resumption = c->ota_resumption;
    o->ota_image_bytes_written = (uint32_t)c->ota_image_bytes_written;
    o->staging = c->partition.staging;
    o->final = c->partition.final;
    o->finalize_with_copy = c->partition.finalize_with_copy;
    /* ESP-IDF's work buffer: the client's buffer size (512 by default), at least 1 KiB. */
    size_t buffer = hc->buffer_size > 0 ? (size_t)hc->buffer_size : DEFAULT_HTTP_BUF_SIZE;
    o->buffer_size = buffer < OTK_HTTPS_OTA_BUFFER_MIN ? OTK_HTTPS_OTA_BUFFER_MIN : buffer;
    o->on_event = post_event;
}

static void free_ctx(esp_ota_ctx_t *ctx)
{
    esp_http_client_host_free(&ctx->client);
    free(ctx);
}

esp_err_t esp_https_ota_begin(const esp_https_ota_config_t *ota_config,
                              esp_https_ota_handle_t *handle)
{
    if (handle == NULL) {
        OTK_LOGE(TAG, "esp_https_ota_begin: Invalid argument");
        return ESP_ERR_INVALID_ARG;
    }
    *handle = NULL;
    esp_err_t err = check_config(ota_config);
    if (err != ESP_OK) {
        return err;
    }
    otk_device_t *dev = otk_esp_device_for(__func__);
    if (dev == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    esp_ota_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_http_client_host_init(&ctx->client, ota_config->http_config);
    if (ota_config->http_client_init_cb != NULL) {
        err = ota_config->http_client_init_cb(&ctx->client);
        if (err != ESP_OK) {
            OTK_LOGE(TAG, "http_client_init_cb returned 0x%x", (unsigned)err);
            free_ctx(ctx);
            return err;
        }
    }
    otk_https_ota_config_t o;
    translate(ota_config, ctx, &o);
    err = otk_https_ota_begin(dev, &o, &ctx->ota);
    if (err != ESP_OK) {
        free_ctx(ctx);
        /* ESP-IDF: argument problems are INVALID_ARG, a failed connection or HTTP status
         * ESP_FAIL; the reason was logged. */
        return err == ESP_ERR_INVALID_ARG || err == ESP_ERR_NO_MEM ? err : ESP_FAIL;
    }
    *handle = ctx;
    return ESP_OK;
}

static otk_https_ota_t *ota_of(esp_https_ota_handle_t handle)
{
    return handle != NULL ? ((esp_ota_ctx_t *)handle)->ota : NULL;
}

esp_err_t esp_https_ota_perform(esp_https_ota_handle_t https_ota_handle)
{
    otk_https_ota_t *ota = ota_of(https_ota_handle);
    if (ota == NULL) {
        OTK_LOGE(TAG, "esp_https_ota_perform: Invalid argument");
        return ESP_ERR_INVALID_ARG;
    }
    return otk_https_ota_perform(ota);
}

bool esp_https_ota_is_complete_data_received(esp_https_ota_handle_t https_ota_handle)
{
    return otk_https_ota_is_complete_data_received(ota_of(https_ota_handle));
}

esp_err_t esp_https_ota_finish(esp_https_ota_handle_t https_ota_handle)
{
    otk_https_ota_t *ota = ota_of(https_ota_handle);
    if (ota == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = otk_https_ota_finish(ota);
    free_ctx(https_ota_handle);
    return err;
}

esp_err_t esp_https_ota_abort(esp_https_ota_handle_t https_ota_handle)
{
    otk_https_ota_t *ota = ota_of(https_ota_handle);
    if (ota == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = otk_https_ota_abort(ota);
    free_ctx(https_ota_handle);
    return err;
}

esp_err_t esp_https_ota_get_img_desc(esp_https_ota_handle_t https_ota_handle,
                                     esp_app_desc_t *new_app_info)
{
    otk_https_ota_t *ota = ota_of(https_ota_handle);
    if (ota == NULL || new_app_info == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return otk_https_ota_get_img_desc(ota, new_app_info);
}

int esp_https_ota_get_image_len_read(esp_https_ota_handle_t https_ota_handle)
{
    otk_https_ota_t *ota = ota_of(https_ota_handle);
    return ota != NULL ? otk_https_ota_get_image_len_read(ota) : -1;
}

int esp_https_ota_get_image_size(esp_https_ota_handle_t https_ota_handle)
{
    otk_https_ota_t *ota = ota_of(https_ota_handle);
    return ota != NULL ? otk_https_ota_get_image_size(ota) : -1;
}

esp_err_t esp_https_ota(const esp_https_ota_config_t *ota_config)
{
    if (ota_config == NULL || ota_config->http_config == NULL) {
        OTK_LOGE(TAG, "esp_https_ota: Invalid argument");
        return ESP_ERR_INVALID_ARG;
    }
    if (ota_config->ota_resumption) {
        OTK_LOGE(TAG, "esp_https_ota: ota_resumption needs esp_https_ota_begin/perform");
        return ESP_ERR_INVALID_ARG;
    }
    esp_https_ota_handle_t handle = NULL;
    esp_err_t err = esp_https_ota_begin(ota_config, &handle);
    if (err != ESP_OK) {
        return err;
    }
    do {
        err = esp_https_ota_perform(handle);
    } while (err == ESP_ERR_HTTPS_OTA_IN_PROGRESS);
    if (err != ESP_OK) {
        esp_https_ota_abort(handle);
        return err;
    }
    return esp_https_ota_finish(handle);
}
