/* ESP-IDF's logging (components/log/include/esp_log.h): ESP_LOGx macros and level control,
 * printed by otakit's log port (otakit/log.h) in ESP-IDF's form "I (123) tag: message".
 *
 * Differences from a chip: the time is milliseconds since the process's first log line;
 * no colours; esp_log_write formats the prefix itself (ESP-IDF's macros pass it in the
 * format string), and the "*" level set by esp_log_level_set is the log port's level, so
 * it also governs otakit's own lines and caps per-tag levels (like ESP-IDF's
 * CONFIG_LOG_MAXIMUM_LEVEL). */
#ifndef ESP_LOG_H
#define ESP_LOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ESP_LOG_NONE,
    ESP_LOG_ERROR,
    ESP_LOG_WARN,
    ESP_LOG_INFO,
    ESP_LOG_DEBUG,
    ESP_LOG_VERBOSE,
    ESP_LOG_MAX,
} esp_log_level_t;

/* tag "*": every tag without a level of its own (and forgets those levels, as ESP-IDF
 * does); otherwise that tag only. Up to 16 tags keep a level of their own; more are
 * ignored with a warning. */
void esp_log_level_set(const char *tag, esp_log_level_t level);
esp_log_level_t esp_log_level_get(const char *tag);

/* Milliseconds since the first log line of the process. */
uint32_t esp_log_timestamp(void);

/* One line "L (ms) tag: message" if the tag's level allows it. */
void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Hex dump of a buffer, 16 bytes a line, at the given level. */
void esp_log_buffer_hex_internal(const char *tag, const void *buffer, uint16_t buff_len,
                                 esp_log_level_t level);

#define ESP_LOGE(tag, ...) esp_log_write(ESP_LOG_ERROR, tag, __VA_ARGS__)
#define ESP_LOGW(tag, ...) esp_log_write(ESP_LOG_WARN, tag, __VA_ARGS__)
#define ESP_LOGI(tag, ...) esp_log_write(ESP_LOG_INFO, tag, __VA_ARGS__)
#define ESP_LOGD(tag, ...) esp_log_write(ESP_LOG_DEBUG, tag, __VA_ARGS__)
#define ESP_LOGV(tag, ...) esp_log_write(ESP_LOG_VERBOSE, tag, __VA_ARGS__)
#define ESP_LOG_LEVEL(level, tag, ...) esp_log_write(level, tag, __VA_ARGS__)

/* Before the scheduler starts, on a chip; the same here. */
#define ESP_EARLY_LOGE ESP_LOGE
#define ESP_EARLY_LOGW ESP_LOGW
#define ESP_EARLY_LOGI ESP_LOGI
#define ESP_EARLY_LOGD ESP_LOGD
#define ESP_EARLY_LOGV ESP_LOGV

#define ESP_LOG_BUFFER_HEX_LEVEL(tag, buffer, buff_len, level) \
    esp_log_buffer_hex_internal(tag, buffer, buff_len, level)
#define ESP_LOG_BUFFER_HEX(tag, buffer, buff_len) \
    ESP_LOG_BUFFER_HEX_LEVEL(tag, buffer, buff_len, ESP_LOG_INFO)

#ifdef __cplusplus
}
#endif
#endif
