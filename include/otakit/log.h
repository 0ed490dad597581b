/* Logging in ESP-IDF's style: "I (1234) tag: message".
 *
 * The level and sink are process-wide settings of the platform port (like ESP-IDF's
 * esp_log_level_set), not core state. The library is quiet by default (errors only);
 * programs raise the level. */
#ifndef OTAKIT_LOG_H
#define OTAKIT_LOG_H

#include "otakit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    OTK_LOG_NONE = 0,
    OTK_LOG_ERROR,
    OTK_LOG_WARN,
    OTK_LOG_INFO,
    OTK_LOG_DEBUG,
    OTK_LOG_VERBOSE,
} otk_log_level_t;

/* Receives each finished line (without newline). */
typedef void (*otk_log_sink_t)(void *ctx, otk_log_level_t level, const char *line);

void otk_log_set_level(otk_log_level_t level);
otk_log_level_t otk_log_get_level(void);
/* NULL restores the default sink (stderr). */
void otk_log_set_sink(otk_log_sink_t sink, void *ctx);

void otk_log_write(otk_log_level_t level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when calls at `level` are compiled in (OTK_CONFIG_LOG_MAX_LEVEL, otakit/config.h).
 * A constant, so a call above the maximum folds away with its format string; its arguments
 * still count as used, so no build warns about a variable kept only for a log line. */
#define OTK_LOG_COMPILED(level) ((int)(level) <= OTK_CONFIG_LOG_MAX_LEVEL)
#define OTK_LOG_AT(level, tag, ...)                                                         \
    do {                                                                                    \
        if (OTK_LOG_COMPILED(level)) {                                                      \
            otk_log_write(level, tag, __VA_ARGS__);                                         \
        }                                                                                   \
    } while (0)

#define OTK_LOGE(tag, ...) OTK_LOG_AT(OTK_LOG_ERROR, tag, __VA_ARGS__)
#define OTK_LOGW(tag, ...) OTK_LOG_AT(OTK_LOG_WARN, tag, __VA_ARGS__)
#define OTK_LOGI(tag, ...) OTK_LOG_AT(OTK_LOG_INFO, tag, __VA_ARGS__)
#define OTK_LOGD(tag, ...) OTK_LOG_AT(OTK_LOG_DEBUG, tag, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
