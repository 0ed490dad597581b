/* ESP-IDF's default event loop on the host (esp_event.h): a table of handlers, and posts
 * that run the matching ones at once. The table belongs to one power-on of the current
 * device, as a chip's RAM does: when the device (or its boot count) is not the one the
 * table was made in, it is empty again. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "esp_event.h"
#include "otakit/esp_host.h"

typedef struct {
    bool used;
    esp_event_base_t base;
    int32_t id;
    esp_event_handler_t handler;
    void *arg;
} event_entry_t;

static struct {
    const otk_device_t *dev; /* whose RAM this is */
    uint32_t boot_count;
    bool created;
    event_entry_t entries[ESP_EVENT_HOST_MAX_HANDLERS];
} loop;

/* The loop as the current power-on sees it. */
static void refresh(void)
{
    const otk_device_t *dev = otk_esp_get_current_device();
    uint32_t boots = dev != NULL ? dev->boot_count : 0;
    if (dev != loop.dev || boots != loop.boot_count) {
        memset(&loop, 0, sizeof loop);
        loop.dev = dev;
        loop.boot_count = boots;
    }
}

esp_err_t esp_event_loop_create_default(void)
{
    refresh();
    if (loop.created) {
        return ESP_ERR_INVALID_STATE;
    }
    loop.created = true;
    return ESP_OK;
}

esp_err_t esp_event_loop_delete_default(void)
{
    refresh();
    if (!loop.created) {
        return ESP_ERR_INVALID_STATE;
    }
    memset(loop.entries, 0, sizeof loop.entries);
    loop.created = false;
    return ESP_OK;
}

esp_err_t esp_event_handler_instance_register(esp_event_base_t event_base, int32_t event_id,
                                              esp_event_handler_t event_handler,
                                              void *event_handler_arg,
                                              esp_event_handler_instance_t *instance)
{
    refresh();
    if (event_handler == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!loop.created) {
        return ESP_ERR_INVALID_STATE;
    }
    for (size_t i = 0; i < ESP_EVENT_HOST_MAX_HANDLERS; i++) {
        event_entry_t *e = &loop.entries[i];
        if (!e->used) {
            *e = (event_entry_t){true, event_base, event_id, event_handler, event_handler_arg};
            if (instance != NULL) {
                *instance = e;
            }
            return ESP_OK;
        }
    }
    return ESP_ERR_NO_MEM;
}

esp_err_t esp_event_handler_register(esp_event_base_t event_base, int32_t event_id,
                                     esp_event_handler_t event_handler, void *event_handler_arg)
{
    return esp_event_handler_instance_register(event_base, event_id, event_handler,
                                               event_handler_arg, NULL);
}

esp_err_t esp_event_handler_unregister(esp_event_base_t event_base, int32_t event_id,
                                       esp_event_handler_t event_handler)
{
    refresh();
    if (event_handler == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!loop.created) {
        return ESP_ERR_INVALID_STATE;
    }
    for (size_t i = 0; i < ESP_EVENT_HOST_MAX_HANDLERS; i++) {
        event_entry_t *e = &loop.entries[i];
        if (e->used && e->base == event_base && e->id == event_id &&
            e->handler == event_handler) {
            memset(e, 0, sizeof *e);
        }
    }
    return ESP_OK;
}

esp_err_t esp_event_handler_instance_unregister(esp_event_base_t event_base, int32_t event_id,
                                                esp_event_handler_instance_t instance)
{
    refresh();
    if (instance == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!loop.created) {
        return ESP_ERR_INVALID_STATE;
    }
    for (size_t i = 0; i < ESP_EVENT_HOST_MAX_HANDLERS; i++) {
        event_entry_t *e = &loop.entries[i];
        if (e == instance && e->used && e->base == event_base && e->id == event_id) {
            memset(e, 0, sizeof *e);
            return ESP_OK;
        }
    }
    return ESP_ERR_NOT_FOUND;
}

esp_err_t esp_event_post(esp_event_base_t event_base, int32_t event_id, const void *event_data,
                         size_t event_data_size, uint32_t ticks_to_wait)
{
    (void)ticks_to_wait; /* nothing queues: the handlers run now */
    refresh();
    if (!loop.created) {
        return ESP_ERR_INVALID_STATE;
    }
    /* Handlers get their own copy, as ESP-IDF's loop copies the data into the event. */
    void *copy = NULL;
    if (event_data != NULL && event_data_size > 0) {
        copy = malloc(event_data_size);
        if (copy == NULL) {
            return ESP_ERR_NO_MEM;
        }
        memcpy(copy, event_data, event_data_size);
    }
    const otk_device_t *dev = loop.dev;
    uint32_t boots = loop.boot_count;
    for (size_t i = 0; i < ESP_EVENT_HOST_MAX_HANDLERS; i++) {
        event_entry_t e = loop.entries[i];
        bool base_ok = e.base == ESP_EVENT_ANY_BASE || e.base == event_base;
        bool id_ok = e.id == ESP_EVENT_ANY_ID || e.id == event_id;
        if (e.used && base_ok && id_ok) {
            e.handler(e.arg, event_base, event_id, copy);
        }
        if (loop.dev != dev || loop.boot_count != boots) {
            break; /* a handler restarted the device: its RAM, this loop, is gone */
        }
    }
    free(copy);
    return ESP_OK;
}
