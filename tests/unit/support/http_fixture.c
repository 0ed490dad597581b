#define _POSIX_C_SOURCE 200809L
#include "http_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

#define PYTHON "/usr/bin/python3"
#define START_TRIES 200 /* x 25 ms: a server not up in 5 s is broken */
#define START_SLEEP_NS 25000000L
#define LOG_LINE_MAX 512

void hf_start(hf_server_t *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", ts_make_temp_dir());
    snprintf(s->log, sizeof s->log, "%s/requests.log", s->dir);
    char port_file[128], script[1024];
    snprintf(port_file, sizeof port_file, "%s/port", s->dir);
    const char *src = getenv("OTAKIT_SOURCE");
    snprintf(script, sizeof script, "%s/tests/cli/http_server.py", src != NULL ? src : ".");
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        execl(PYTHON, PYTHON, script, "--root", s->dir, "--log", s->log, "--port-file",
              port_file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < START_TRIES && s->port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            if (fscanf(f, "%u", &s->port) != 1) {
                s->port = 0;
            }
            fclose(f);
        }
        if (s->port == 0) {
            struct timespec ts = {0, START_SLEEP_NS};
            nanosleep(&ts, NULL);
        }
    }
    if (s->port == 0) {
        hf_stop(s);
        fail_msg("the test HTTP server did not start (%s)", script);
    }
    FILE *f = fopen(s->log, "w");
    if (f != NULL) {
        fclose(f);
    }
}

void hf_stop(hf_server_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->dir[0] != '\0') {
        ts_cleanup_dir(s->dir);
        s->dir[0] = '\0';
    }
}

void hf_put(const hf_server_t *s, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

const char *hf_url(const hf_server_t *s, const char *path)
{
    static char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/%s", s->port, path);
    return url;
}

const char *hf_request(const hf_server_t *s, unsigned n)
{
    static char line[LOG_LINE_MAX];
    line[0] = '\0';
    FILE *f = fopen(s->log, "r");
    if (f == NULL) {
        return line;
    }
    for (unsigned i = 0; i <= n; i++) {
        if (fgets(line, sizeof line, f) == NULL) {
            line[0] = '\0';
            break;
        }
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

unsigned hf_requests(const hf_server_t *s)
{
    unsigned n = 0;
    FILE *f = fopen(s->log, "r");
    if (f == NULL) {
        return 0;
    }
    int c;
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

void hf_clear_log(const hf_server_t *s)
{
    FILE *f = fopen(s->log, "w");
    if (f != NULL) {
        fclose(f);
    }
}
