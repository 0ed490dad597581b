/* ESP-IDF's esp_event.h, the default event loop only: enough for an app to register for
 * ESP_HTTPS_OTA_EVENT and see the update's progress.
 *
 * Differences from a chip: there is no event task; esp_event_post runs the matching
 * handlers at once, in the posting thread, in registration order (a chip queues the
 * event and runs them later on its event task), with a copy of the data. The loop and
 * its handlers live in the current device's RAM: after a power-on or esp_restart they are
 * gone, so app_main creates the loop and registers again, as on a chip. Up to
 * ESP_EVENT_HOST_MAX_HANDLERS registrations. */
#ifndef ESP_EVENT_H
#define ESP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A fixed table keeps the host loop allocation-free; apps register a handful. */
#define ESP_EVENT_HOST_MAX_HANDLERS 32

typedef const char *esp_event_base_t;
typedef void *esp_event_loop_handle_t;
typedef void (*esp_event_handler_t)(void *event_handler_arg, esp_event_base_t event_base,
                                    int32_t event_id, void *event_data);
typedef void *esp_event_handler_instance_t;

#define ESP_EVENT_DECLARE_BASE(id) extern esp_event_base_t const id
#define ESP_EVENT_DEFINE_BASE(id) esp_event_base_t const id = #id

#define ESP_EVENT_ANY_BASE NULL
#define ESP_EVENT_ANY_ID -1

/* ESP_ERR_INVALID_STATE when it already exists (in this power-on). */
esp_err_t esp_event_loop_create_default(void);
/* ESP_ERR_INVALID_STATE when there is none. */
esp_err_t esp_event_loop_delete_default(void);

/* ESP_ERR_INVALID_ARG (NULL handler), ESP_ERR_INVALID_STATE (no default loop),
 * ESP_ERR_NO_MEM (table full). */
esp_err_t esp_event_handler_register(esp_event_base_t event_base, int32_t event_id,
                                     esp_event_handler_t event_handler,
                                     void *event_handler_arg);
esp_err_t esp_event_handler_unregister(esp_event_base_t event_base, int32_t event_id,
                                       esp_event_handler_t event_handler);
esp_err_t esp_event_handler_instance_register(esp_event_base_t event_base, int32_t event_id,
                                              esp_event_handler_t event_handler,
                                              void *event_handler_arg,
                                              esp_event_handler_instance_t *instance);
esp_err_t esp_event_handler_instance_unregister(esp_event_base_t event_base, int32_t event_id,
                                                esp_event_handler_instance_t instance);

/* Runs the matching handlers now. ticks_to_wait is ignored (nothing queues). ESP_OK,
 * ESP_ERR_INVALID_STATE (no default loop), ESP_ERR_NO_MEM. */
esp_err_t esp_event_post(esp_event_base_t event_base, int32_t event_id, const void *event_data,
                         size_t event_data_size, uint32_t ticks_to_wait);

#ifdef __cplusplus
}
#endif
#endif
