/* `otakit push`: what its files share (cmd_push.c, push_image.c). */
#ifndef OTAKIT_CMD_PUSH_H
#define OTAKIT_CMD_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *device;   /* --device URI */
    const char *source;   /* IMAGE or URL */
    uint32_t chunk;       /* 0: the default */
    uint32_t window;      /* 0: the device's */
    const char *token;
    bool activate;
    uint32_t retries;
    uint32_t timeout_ms;  /* 0: the client's default */
    const char *ca_file;  /* --ca */
    bool allow_http;
    bool json;
    const char *inject;   /* --inject SPEC (tests) */
} push_opts_t;

/* The image to push, whole in memory (resume needs any part of it again). */
typedef struct {
    uint8_t *data;
    size_t len;
} push_image_t;

/* Read IMAGE (a file) or download URL (http, https: otakit/source.h) into img. Prints why
 * and returns false on failure. */
bool push_load_image(const push_opts_t *o, push_image_t *img);

#endif
