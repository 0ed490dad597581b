/* Log port for POSIX hosts: ESP-style lines on stderr, time in ms since the first line. */
#define _POSIX_C_SOURCE 200809L
#include "otakit/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Longest line kept; longer messages are cut (a log line, not a data channel). */
#define LOG_LINE_MAX 512

static otk_log_level_t log_level = OTK_LOG_ERROR;
static otk_log_sink_t log_sink;
static void *log_sink_ctx;

void otk_log_set_level(otk_log_level_t level)
{
    log_level = level;
}

otk_log_level_t otk_log_get_level(void)
{
    return log_level;
}

void otk_log_set_sink(otk_log_sink_t sink, void *ctx)
{
    log_sink = sink;
    log_sink_ctx = ctx;
}

static uint32_t log_ms(void)
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

void otk_log_write(otk_log_level_t level, const char *tag, const char *fmt, ...)
{
    if (level > log_level || level == OTK_LOG_NONE) {
        return;
    }
    static const char letters[] = "-EWIDV";
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "%c (%u) %s: ", letters[level], log_ms(), tag);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (log_sink != NULL) {
        log_sink(log_sink_ctx, level, line);
    } else {
        fprintf(stderr, "%s\n", line);
    }
}
