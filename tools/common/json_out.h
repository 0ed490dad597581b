/* A small streaming JSON writer for --json output (objects, arrays, scalars, escaping). */
#ifndef OTAKIT_JSON_OUT_H
#define OTAKIT_JSON_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Nesting deeper than this is a programming error in a command, not input-dependent. */
#define JSON_MAX_DEPTH 16

typedef struct {
    FILE *out;
    int depth;
    bool need_comma[JSON_MAX_DEPTH];
} json_out_t;

void json_init(json_out_t *j, FILE *out);
/* key is NULL inside arrays and for the top-level value. */
void json_object_begin(json_out_t *j, const char *key);
void json_object_end(json_out_t *j);
void json_array_begin(json_out_t *j, const char *key);
void json_array_end(json_out_t *j);
void json_string(json_out_t *j, const char *key, const char *value);
/* A string of at most max bytes (for fixed-size, maybe unterminated fields). */
void json_string_n(json_out_t *j, const char *key, const char *value, size_t max);
void json_int(json_out_t *j, const char *key, int64_t value);
void json_uint(json_out_t *j, const char *key, uint64_t value);
void json_bool(json_out_t *j, const char *key, bool value);
void json_null(json_out_t *j, const char *key);
/* Bytes as a lowercase hex string. */
void json_hex(json_out_t *j, const char *key, const uint8_t *bytes, size_t len);
/* Ends the document with a newline. */
void json_finish(json_out_t *j);

#endif
