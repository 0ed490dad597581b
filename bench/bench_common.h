/* What every benchmark program shares: a clock, a device to update, and the row it writes
 * to the results file. A row compares our figure with a reference measured in the same run;
 * the ratio is oriented so that higher is better and the row meets its target when
 * ratio >= target. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/device.h"
#include "otakit/flash.h"

/* Seconds on the monotonic clock. */
double bench_now(void);

/* CPU seconds of the calling thread (user + system). For CPU-bound work on a shared
 * machine: time the thread spent preempted by other programs is not counted. */
double bench_thread_cpu(void);

/* Append one row (a JSON object on one line) to $OTAKIT_BENCH_ROWS, or stdout when unset,
 * and print it readably on stderr. */
void bench_row(const char *name, const char *unit, double ours, double reference,
               double ratio, double target, const char *note);

/* A flash with the table compiled from csv at 0x8000 and a small factory app written, on a
 * file (path != NULL; e.g. in /dev/shm) or in memory. Exits on failure. */
otk_flash_t *bench_flash(const char *csv, uint32_t flash_size, const char *path);

/* An ESP32 app image of about `len` bytes: a DROM segment (app descriptor + payload) and an
 * IROM segment, each about half. Returns a malloc'ed buffer and its length. */
uint8_t *bench_image(const char *version, size_t len, size_t *out_len);

/* The path of a program of the build (otakit, otakit-device, otakit-sweep): in
 * $OTAKIT_BUILD, else in the directory above this program's (BUILD/bench/..). */
void bench_tool_path(const char *name, char *out, size_t cap);

/* The median of n values (sorts them). */
double bench_median(double *v, size_t n);

#endif
