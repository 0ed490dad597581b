#include "json_out.h"

#include <string.h>

void json_init(json_out_t *j, FILE *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
}

static void json_escaped(FILE *out, const char *s, size_t max);

/* Separator from the previous member, then the member's key when in an object. */
static void json_key(json_out_t *j, const char *key)
{
    if (j->need_comma[j->depth]) {
        fputc(',', j->out);
    }
    j->need_comma[j->depth] = true;
    if (key != NULL) {
        json_escaped(j->out, key, strlen(key));
        fputc(':', j->out);
    }
}

static void json_escaped(FILE *out, const char *s, size_t max)
{
    fputc('"', out);
    for (size_t i = 0; i < max && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
        } else if (c < 0x20 || c >= 0x7f) {
            /* Firmware strings are ASCII; anything else is shown, not trusted. */
            fprintf(out, "\\u%04x", c);
        } else {
            fputc(c, out);
        }
    }
    fputc('"', out);
}

void json_object_begin(json_out_t *j, const char *key)
{
    json_key(j, key);
    fputc('{', j->out);
    j->need_comma[++j->depth] = false;
}

void json_object_end(json_out_t *j)
{
    j->depth--;
    fputc('}', j->out);
}

void json_array_begin(json_out_t *j, const char *key)
{
    json_key(j, key);
    fputc('[', j->out);
    j->need_comma[++j->depth] = false;
}

void json_array_end(json_out_t *j)
{
    j->depth--;
    fputc(']', j->out);
}

void json_string_n(json_out_t *j, const char *key, const char *value, size_t max)
{
    json_key(j, key);
    json_escaped(j->out, value, max);
}

void json_string(json_out_t *j, const char *key, const char *value)
{
    json_string_n(j, key, value, strlen(value));
}

void json_int(json_out_t *j, const char *key, int64_t value)
{
    json_key(j, key);
    fprintf(j->out, "%lld", (long long)value);
}

void json_uint(json_out_t *j, const char *key, uint64_t value)
{
    json_key(j, key);
    fprintf(j->out, "%llu", (unsigned long long)value);
}

void json_bool(json_out_t *j, const char *key, bool value)
{
    json_key(j, key);
    fputs(value ? "true" : "false", j->out);
}

void json_null(json_out_t *j, const char *key)
{
    json_key(j, key);
    fputs("null", j->out);
}

void json_hex(json_out_t *j, const char *key, const uint8_t *bytes, size_t len)
{
    json_key(j, key);
    fputc('"', j->out);
    for (size_t i = 0; i < len; i++) {
        fprintf(j->out, "%02x", bytes[i]);
    }
    fputc('"', j->out);
}

void json_finish(json_out_t *j)
{
    fputc('\n', j->out);
    fflush(j->out);
}
