/* What every otakit program needs around the library: errors, sizes, whole files. */
#ifndef OTAKIT_CLI_H
#define OTAKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes of every subcommand. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* the input is invalid, or the operation failed */
#define CLI_EXIT_USAGE 2 /* wrong arguments */

/* "otakit: error: ..." on stderr; returns CLI_EXIT_FAIL for `return cli_error(...)`. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "otakit: ..." usage problem on stderr plus a pointer to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "4MB", "4M", "0x400000", "1024K", "4096" into bytes. Returns false on junk or
 * overflow of uint32_t. */
bool cli_parse_size(const char *text, uint32_t *out);
/* Parse a plain integer (decimal or 0x-hex) into uint32_t. */
bool cli_parse_u32(const char *text, uint32_t *out);

/* Read a whole file (at most max bytes; larger files fail). Caller frees *data. */
bool cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len);
/* Write a whole file, replacing it. */
bool cli_write_file(const char *path, const void *data, size_t len);

/* True when argv contains -h or --help (checked before anything else runs). */
bool cli_wants_help(int argc, char **argv);

#endif
