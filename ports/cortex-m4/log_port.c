/* The log port for a microcontroller: ESP-style lines ("E (1234) tag: message") handed to
 * a sink, no stderr and no clock_gettime. Time comes from a millisecond counter that the
 * board's SysTick handler advances (log_port_tick_ms).
 *
 * A build with OTK_CONFIG_LOG_MAX_LEVEL=0 never calls otk_log_write, so the linker drops
 * this formatter and printf with it. Not for concurrent use (one line buffer): the core
 * logs only from the thread that calls it, never from an interrupt. */
#include "otakit/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* Longest line kept; longer messages are cut. Static, not on the stack: the boot path's
 * stack budget is 2 KiB. */
#define LOG_LINE_MAX 160

static otk_log_level_t log_level = OTK_LOG_ERROR;
static otk_log_sink_t log_sink;
static void *log_sink_ctx;
static volatile uint32_t log_ms;
static char log_line[LOG_LINE_MAX];

void log_port_tick_ms(void);

void log_port_tick_ms(void)
{
    log_ms++;
}

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

void otk_log_write(otk_log_level_t level, const char *tag, const char *fmt, ...)
{
    /* No sink, no output: a board without a console loses nothing by skipping the work. */
    if (level > log_level || level == OTK_LOG_NONE || log_sink == NULL) {
        return;
    }
    static const char letters[] = "-EWIDV";
    int n = snprintf(log_line, sizeof log_line, "%c (%lu) %s: ", letters[level],
                     (unsigned long)log_ms, tag);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof log_line) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(log_line + n, sizeof log_line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    log_sink(log_sink_ctx, level, log_line);
}
