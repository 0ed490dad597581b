/* The purpose-made HTTP server of the tests (tests/cli/http_server.py) run from a C test:
 * started on a free 127.0.0.1 port serving a temp dir, its request log readable, stopped
 * by pid. */
#ifndef HTTP_FIXTURE_H
#define HTTP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    char dir[64];      /* the served root (a fresh temp dir) */
    char log[128];     /* one line per request */
    unsigned port;
    pid_t pid;
} hf_server_t;

/* Start it; fails the test if it does not come up. */
void hf_start(hf_server_t *s);
void hf_stop(hf_server_t *s);
/* Write a file under the root. */
void hf_put(const hf_server_t *s, const char *name, const void *data, size_t len);
/* "http://127.0.0.1:PORT/PATH" into a static buffer. */
const char *hf_url(const hf_server_t *s, const char *path);
/* Requests logged so far, and the text of line n (0-based; "" past the end). */
unsigned hf_requests(const hf_server_t *s);
const char *hf_request(const hf_server_t *s, unsigned n);
/* Forget the requests so far. */
void hf_clear_log(const hf_server_t *s);

#endif
