/* esp_log.h over the log port (otakit/log.h). Per-tag levels live here: the port has one
 * level, which is ESP-IDF's default ("*") level. */
#define _POSIX_C_SOURCE 200809L
#include "esp_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "otakit/log.h"

/* ESP-IDF keeps a list of any length; a handful covers real apps, and a fixed table keeps
 * the layer allocation-free. */
#define TAG_LEVELS_MAX 16
/* Tags are short ("native_ota", "esp_https_ota"); longer ones are matched on this prefix. */
#define TAG_LEN_MAX 32
/* The port cuts lines at 512 bytes; formatting here first must not cut earlier. */
#define MESSAGE_MAX 512

static struct {
    char tag[TAG_LEN_MAX];
    esp_log_level_t level;
} s_tag_levels[TAG_LEVELS_MAX];
static size_t s_tag_count;

static int find_tag(const char *tag)
{
    for (size_t i = 0; i < s_tag_count; i++) {
        if (strncmp(s_tag_levels[i].tag, tag, TAG_LEN_MAX - 1) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void esp_log_level_set(const char *tag, esp_log_level_t level)
{
    if (level >= ESP_LOG_MAX) {
        level = ESP_LOG_VERBOSE;
    }
    if (tag == NULL || strcmp(tag, "*") == 0) {
        otk_log_set_level((otk_log_level_t)level);
        s_tag_count = 0;
        return;
    }
    int i = find_tag(tag);
    if (i < 0) {
        if (s_tag_count == TAG_LEVELS_MAX) {
            otk_log_write(OTK_LOG_WARN, "log", "esp_log_level_set: more than %d tags, '%s' "
                          "keeps the default level", TAG_LEVELS_MAX, tag);
            return;
        }
        i = (int)s_tag_count++;
        snprintf(s_tag_levels[i].tag, sizeof s_tag_levels[i].tag, "%s", tag);
    }
    s_tag_levels[i].level = level;
}

esp_log_level_t esp_log_level_get(const char *tag)
{
    int i = tag != NULL ? find_tag(tag) : -1;
    return i >= 0 ? s_tag_levels[i].level : (esp_log_level_t)otk_log_get_level();
}

uint32_t esp_log_timestamp(void)
{
    static int64_t start_ms = -1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (start_ms < 0) {
        start_ms = now;
    }
    return (uint32_t)(now - start_ms);
}

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
{
    if (level == ESP_LOG_NONE || level >= ESP_LOG_MAX || tag == NULL ||
        level > esp_log_level_get(tag)) {
        return;
    }
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, format);
    vsnprintf(msg, sizeof msg, format, ap);
    va_end(ap);
    otk_log_write((otk_log_level_t)level, tag, "%s", msg);
}

void esp_log_buffer_hex_internal(const char *tag, const void *buffer, uint16_t buff_len,
                                 esp_log_level_t level)
{
    const uint8_t *bytes = buffer;
    for (uint16_t at = 0; at < buff_len; at += 16) {
        char line[16 * 3 + 1] = "";
        size_t n = 0;
        for (uint16_t i = at; i < buff_len && i < at + 16; i++) {
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%02x", i == at ? "" : " ",
                                  bytes[i]);
        }
        esp_log_write(level, tag, "%s", line);
    }
}
