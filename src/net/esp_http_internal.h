/* Private to the esp_https_ota layer (src/net/esp_*.c): the esp_http_client that
 * http_client_init_cb and the HTTP event handler see. */
#ifndef OTAKIT_ESP_HTTP_INTERNAL_H
#define OTAKIT_ESP_HTTP_INTERNAL_H

#include "esp_http_client.h"
#include "otakit/source.h"

/* Request headers an init callback may add: OTA requests carry a token or two. */
#define ESP_HTTP_CLIENT_HOST_MAX_HEADERS 16

struct esp_http_client {
    http_event_handle_cb handler;
    void *user_data;
    const char *user_agent;
    /* "Key: value" lines, NULL-terminated (handed to the source as extra headers). */
    char *headers[ESP_HTTP_CLIENT_HOST_MAX_HEADERS + 2];
    size_t header_count;
};

void esp_http_client_host_init(struct esp_http_client *client,
                               const esp_http_client_config_t *config);
void esp_http_client_host_free(struct esp_http_client *client);
/* The source's events as ESP-IDF's HTTP_EVENT_* to the config's event_handler. */
void esp_http_client_host_event(void *ctx, otk_source_event_t event, const char *key,
                                const char *value, const void *data, size_t len);

#endif
