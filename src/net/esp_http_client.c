/* The little of esp_http_client the host needs around esp_https_ota: request headers set
 * by http_client_init_cb, the HTTP event handler, and esp_crt_bundle_attach. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esp_crt_bundle.h"
#include "net/esp_http_internal.h"

esp_err_t esp_crt_bundle_attach(void *conf)
{
    (void)conf; /* the system CA store stands in for the bundle */
    return ESP_OK;
}

void esp_http_client_host_init(struct esp_http_client *client,
                               const esp_http_client_config_t *config)
{
    memset(client, 0, sizeof *client);
    client->handler = config->event_handler;
    client->user_data = config->user_data;
    if (config->user_agent != NULL) {
        esp_http_client_set_header(client, "User-Agent", config->user_agent);
    }
}

void esp_http_client_host_free(struct esp_http_client *client)
{
    for (size_t i = 0; i < client->header_count; i++) {
        free(client->headers[i]);
    }
    memset(client, 0, sizeof *client);
}

/* Index of the header named key, or header_count. */
static size_t find_header(const struct esp_http_client *client, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < client->header_count; i++) {
        const char *h = client->headers[i];
        if (strncasecmp(h, key, klen) == 0 && h[klen] == ':') {
            return i;
        }
    }
    return client->header_count;
}

esp_err_t esp_http_client_delete_header(esp_http_client_handle_t client, const char *key)
{
    if (client == NULL || key == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t i = find_header(client, key);
    if (i == client->header_count) {
        return ESP_OK;
    }
    free(client->headers[i]);
    memmove(&client->headers[i], &client->headers[i + 1],
            (client->header_count - i) * sizeof client->headers[0]);
    client->header_count--;
    return ESP_OK;
}

esp_err_t esp_http_client_set_header(esp_http_client_handle_t client, const char *key,
                                     const char *value)
{
    if (client == NULL || key == NULL || value == NULL || key[0] == '\0' ||
        strpbrk(key, ":\r\n") != NULL || strpbrk(value, "\r\n") != NULL) {
        return ESP_ERR_INVALID_ARG; /* a CR or LF would smuggle in another header */
    }
    esp_http_client_delete_header(client, key);
    if (client->header_count >= ESP_HTTP_CLIENT_HOST_MAX_HEADERS) {
        return ESP_ERR_NO_MEM;
    }
    size_t len = strlen(key) + strlen(value) + 3;
    char *line = malloc(len);
    if (line == NULL) {
        return ESP_ERR_NO_MEM;
    }
    snprintf(line, len, "%s: %s", key, value);
    client->headers[client->header_count++] = line;
    client->headers[client->header_count] = NULL;
    return ESP_OK;
}

void esp_http_client_host_event(void *ctx, otk_source_event_t event, const char *key,
                                const char *value, const void *data, size_t len)
{
    struct esp_http_client *client = ctx;
    if (client->handler == NULL) {
        return;
    }
    esp_http_client_event_t evt;
    memset(&evt, 0, sizeof evt);
    evt.client = client;
    evt.user_data = client->user_data;
    switch (event) {
    case OTK_SOURCE_EV_CONNECTED:
        evt.event_id = HTTP_EVENT_ON_CONNECTED;
        client->handler(&evt);
        evt.event_id = HTTP_EVENT_HEADERS_SENT;
        break;
    case OTK_SOURCE_EV_HEADER:
        evt.event_id = HTTP_EVENT_ON_HEADER;
        evt.header_key = (char *)key;
        evt.header_value = (char *)value;
        break;
    case OTK_SOURCE_EV_DATA:
        evt.event_id = HTTP_EVENT_ON_DATA;
        evt.data = (void *)data;
        evt.data_len = (int)len;
        break;
    case OTK_SOURCE_EV_FINISHED:
        evt.event_id = HTTP_EVENT_ON_FINISH;
        break;
    case OTK_SOURCE_EV_DISCONNECTED:
        evt.event_id = HTTP_EVENT_DISCONNECTED;
        break;
    case OTK_SOURCE_EV_REDIRECT:
        evt.event_id = HTTP_EVENT_REDIRECT;
        break;
    default:
        evt.event_id = HTTP_EVENT_ERROR;
        evt.data = (void *)value;
        evt.data_len = value != NULL ? (int)strlen(value) : 0;
        break;
    }
    client->handler(&evt);
}
