#define _DEFAULT_SOURCE
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *ts_corpus_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("OTAKIT_CORPUS");
    if (dir == NULL) {
        dir = "../shared/corpus";
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

uint8_t *ts_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

const char *ts_make_temp_dir(void)
{
    static char dir[64];
    strcpy(dir, "/tmp/otakit-test-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        fail_msg("mkdtemp failed");
    }
    return dir;
}

void ts_cleanup_dir(const char *dir)
{
    char cmd[256];
    if (strncmp(dir, "/tmp/otakit-test-", 17) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "warning: could not remove %s\n", dir);
        }
    }
}

void ts_hex(const uint8_t *bytes, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        sprintf(out + 2 * i, "%02x", bytes[i]);
    }
    out[2 * len] = '\0';
}
