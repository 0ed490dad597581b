/* ESP-IDF's esp_https_ota API on the current device: ESP-IDF's argument and server
 * verification checks, esp_https_ota() end to end with ESP_HTTPS_OTA_EVENT delivered
 * through the default event loop, the begin/perform/finish flow with its getters, the
 * HTTP client's events and a header added by http_client_init_cb (against the test
 * server), error mapping, and the event loop's life across power-ons. */
#include <stdio.h>
#include <string.h>

#include "esp_crt_bundle.h"
#include "esp_event.h"
#include "esp_https_ota.h"
#include "esp_ota_ops.h"
#include "http_fixture.h"
#include "ota_fixture.h"
#include "otakit/esp_host.h"
#include "otakit/https_ota.h"
#include "test_support.h"

#define IMAGE_CAP 0x30000u
#define PAYLOAD_LEN 100000u
#define MAX_EVENTS 64

static otk_flash_t *flash;
static otk_device_t dev;
static hf_server_t server;
static uint8_t image[IMAGE_CAP];
static size_t image_len;
static char file_url[256];

static int setup(void **state)
{
    (void)state;
    image_len = of_build(image, sizeof image, "2.0", 0, PAYLOAD_LEN);
    hf_start(&server);
    hf_put(&server, "app.bin", image, image_len);
    snprintf(file_url, sizeof file_url, "file://%s/app.bin", server.dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hf_stop(&server);
    return 0;
}

static int fresh(void **state)
{
    (void)state;
    flash = of_flash(OF_CSV_1M, OF_FLASH_SIZE_1M);
    of_put(flash, "factory", "1.0", 0);
    of_start(&dev, flash, NULL, 0);
    otk_esp_set_current_device(&dev);
    otk_esp_https_ota_set_allow_http(false);
    return 0;
}

static int destroy(void **state)
{
    (void)state;
    otk_esp_set_current_device(NULL);
    otk_flash_destroy(flash);
    return 0;
}

static void test_argument_checks(void **state)
{
    (void)state;
    esp_https_ota_handle_t h = (esp_https_ota_handle_t)1;
    assert_int_equal(esp_https_ota(NULL), ESP_ERR_INVALID_ARG);
    esp_https_ota_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(esp_https_ota(&cfg), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_ERR_INVALID_ARG);
    assert_null(h);
    esp_http_client_config_t http = {.url = file_url};
    cfg.http_config = &http;
    /* No server verification configured (and CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP off). */
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_ERR_INVALID_ARG);
    http.cert_pem = "-----BEGIN CERTIFICATE-----\n";
    http.url = hf_url(&server, "plain/app.bin");
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_ERR_INVALID_ARG); /* http:// */
    http.url = file_url;
    http.skip_cert_common_name_check = true;
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_ERR_NOT_SUPPORTED);
    http.skip_cert_common_name_check = false;
    cfg.ota_resumption = true;
    assert_int_equal(esp_https_ota(&cfg), ESP_ERR_INVALID_ARG);
    cfg.ota_resumption = false;
    otk_esp_set_current_device(NULL);
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_ERR_INVALID_STATE);
    otk_esp_set_current_device(&dev);
    assert_int_equal(esp_https_ota_perform(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_https_ota_finish(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_https_ota_abort(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_https_ota_get_image_len_read(NULL), -1);
    assert_int_equal(esp_https_ota_get_image_size(NULL), -1);
    assert_false(esp_https_ota_is_complete_data_received(NULL));
    /* Nothing was written anywhere. */
    assert_ptr_equal(esp_ota_get_boot_partition(), of_part(&dev, "factory"));
}

static struct {
    int32_t ids[MAX_EVENTS];
    size_t n;
    int written;
    esp_partition_subtype_t boot_subtype;
} seen;

static void on_ota_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    assert_ptr_equal(base, ESP_HTTPS_OTA_EVENT);
    if (seen.n < MAX_EVENTS && (seen.n == 0 || seen.ids[seen.n - 1] != id)) {
        seen.ids[seen.n++] = id; /* runs of WRITE_FLASH collapse */
    }
    if (id == ESP_HTTPS_OTA_WRITE_FLASH) {
        seen.written = *(int *)data;
    }
    if (id == ESP_HTTPS_OTA_UPDATE_BOOT_PARTITION) {
        seen.boot_subtype = *(esp_partition_subtype_t *)data;
    }
}

static void test_esp_https_ota_with_events(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(esp_event_loop_create_default(), ESP_OK);
    assert_int_equal(esp_event_loop_create_default(), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_event_handler_register(ESP_HTTPS_OTA_EVENT, ESP_EVENT_ANY_ID,
                                                on_ota_event, NULL),
                     ESP_OK);
    esp_http_client_config_t http = {.url = file_url, .crt_bundle_attach = esp_crt_bundle_attach};
    esp_https_ota_config_t cfg = {.http_config = &http};
    assert_int_equal(esp_https_ota(&cfg), ESP_OK);
    static const int32_t want[] = {ESP_HTTPS_OTA_START,
                                   ESP_HTTPS_OTA_CONNECTED,
                                   ESP_HTTPS_OTA_VERIFY_CHIP_ID,
                                   ESP_HTTPS_OTA_VERIFY_CHIP_REVISION,
                                   ESP_HTTPS_OTA_WRITE_FLASH,
                                   ESP_HTTPS_OTA_UPDATE_BOOT_PARTITION,
                                   ESP_HTTPS_OTA_FINISH};
    assert_int_equal(seen.n, sizeof want / sizeof want[0]);
    assert_memory_equal(seen.ids, want, sizeof want);
    assert_int_equal(seen.written, (int)image_len);
    assert_int_equal(seen.boot_subtype, ESP_PARTITION_SUBTYPE_APP_OTA_0);
    assert_ptr_equal(esp_ota_get_boot_partition(), of_part(&dev, "ota_0"));
    /* A power-on clears the loop (RAM): the app creates it again. */
    of_reboot(&dev);
    assert_int_equal(esp_event_post(ESP_HTTPS_OTA_EVENT, 0, NULL, 0, 0), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_event_loop_create_default(), ESP_OK);
    assert_int_equal(esp_event_loop_delete_default(), ESP_OK);
    assert_string_equal(of_running_version(&dev), "2.0");
}

static void test_begin_perform_finish(void **state)
{
    (void)state;
    esp_http_client_config_t http = {.url = file_url, .use_global_ca_store = true};
    esp_https_ota_config_t cfg = {.http_config = &http, .bulk_flash_erase = true};
    esp_https_ota_handle_t h = NULL;
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_OK);
    assert_int_equal(esp_https_ota_get_image_size(h), (int)image_len);
    esp_app_desc_t desc;
    assert_int_equal(esp_https_ota_get_img_desc(h, &desc), ESP_OK);
    assert_string_equal(desc.version, "2.0");
    esp_err_t err;
    int last = 0;
    while ((err = esp_https_ota_perform(h)) == ESP_ERR_HTTPS_OTA_IN_PROGRESS) {
        int now = esp_https_ota_get_image_len_read(h);
        assert_true(now >= last); /* progress never goes back */
        last = now;
    }
    assert_int_equal(err, ESP_OK);
    assert_true(esp_https_ota_is_complete_data_received(h));
    assert_int_equal(esp_https_ota_finish(h), ESP_OK);
    assert_ptr_equal(esp_ota_get_boot_partition(), of_part(&dev, "ota_0"));
    /* Abort after begin: nothing written, nothing selected. */
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_OK);
    assert_int_equal(esp_https_ota_abort(h), ESP_OK);
}

static struct {
    unsigned connected, headers_sent, on_header, finished, errors;
    size_t data_bytes;
    bool etag;
    void *user_data;
} http_seen;

static esp_err_t on_http_event(esp_http_client_event_t *evt)
{
    http_seen.user_data = evt->user_data;
    switch (evt->event_id) {
    case HTTP_EVENT_ON_CONNECTED:
        http_seen.connected++;
        break;
    case HTTP_EVENT_HEADERS_SENT:
        http_seen.headers_sent++;
        break;
    case HTTP_EVENT_ON_HEADER:
        http_seen.on_header++;
        http_seen.etag = http_seen.etag || strcmp(evt->header_key, "ETag") == 0;
        break;
    case HTTP_EVENT_ON_DATA:
        http_seen.data_bytes += (size_t)evt->data_len;
        break;
    case HTTP_EVENT_ON_FINISH:
        http_seen.finished++;
        break;
    default:
        http_seen.errors++;
        break;
    }
    return ESP_OK;
}

static esp_err_t add_token(esp_http_client_handle_t client)
{
    assert_int_equal(esp_http_client_set_header(client, "X-Token", "first"), ESP_OK);
    assert_int_equal(esp_http_client_set_header(client, "X-Token", "abc123"), ESP_OK);
    assert_int_equal(esp_http_client_set_header(client, "Bad\r\nHeader", "x"),
                     ESP_ERR_INVALID_ARG);
    return ESP_OK;
}

static void test_http_events_and_init_cb(void **state)
{
    (void)state;
    memset(&http_seen, 0, sizeof http_seen);
    hf_clear_log(&server);
    otk_esp_https_ota_set_allow_http(true); /* CONFIG_ESP_HTTPS_OTA_ALLOW_HTTP=y */
    assert_true(otk_esp_https_ota_get_allow_http());
    int marker = 0;
    esp_http_client_config_t http = {.url = hf_url(&server, "drop-once/40000/app.bin"),
                                     .event_handler = on_http_event,
                                     .user_data = &marker,
                                     .timeout_ms = 2000};
    esp_https_ota_config_t cfg = {.http_config = &http, .http_client_init_cb = add_token};
    assert_int_equal(esp_https_ota(&cfg), ESP_OK);
    assert_int_equal(http_seen.connected, 2); /* the drop cost one request */
    assert_int_equal(http_seen.headers_sent, 2);
    assert_true(http_seen.etag);
    assert_int_equal(http_seen.data_bytes, image_len);
    assert_int_equal(http_seen.finished, 1);
    assert_int_equal(http_seen.errors, 1); /* HTTP_EVENT_DISCONNECTED at the drop */
    assert_ptr_equal(http_seen.user_data, &marker);
    assert_int_equal(hf_requests(&server), 2);
    assert_non_null(strstr(hf_request(&server, 0), "token=abc123"));
    assert_non_null(strstr(hf_request(&server, 1), "bytes=40000- "));
    assert_ptr_equal(esp_ota_get_boot_partition(), of_part(&dev, "ota_0"));
}

static void test_http_errors_are_esp_fail(void **state)
{
    (void)state;
    otk_esp_https_ota_set_allow_http(true);
    esp_http_client_config_t http = {.url = hf_url(&server, "status/404")};
    esp_https_ota_config_t cfg = {.http_config = &http};
    esp_https_ota_handle_t h = NULL;
    assert_int_equal(esp_https_ota_begin(&cfg, &h), ESP_FAIL);
    assert_null(h);
    http.url = hf_url(&server, "status/500");
    assert_int_equal(esp_https_ota(&cfg), ESP_FAIL);
    /* A server that accepts nothing: the connection is refused. */
    http.url = "http://127.0.0.1:1/app.bin";
    assert_int_equal(esp_https_ota(&cfg), ESP_FAIL);
    assert_ptr_equal(esp_ota_get_boot_partition(), of_part(&dev, "factory"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fresh, destroy)
    const struct CMUnitTest tests[] = {
        T(test_argument_checks),
        T(test_esp_https_ota_with_events),
        T(test_begin_perform_finish),
        T(test_http_events_and_init_cb),
        T(test_http_errors_are_esp_fail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
