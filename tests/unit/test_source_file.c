/* file:// sources: whole reads, opening at an offset, the identity that tells a replaced
 * file from the same one (a continuation of another file starts over at 0), errors. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "otakit/source.h"
#include "test_support.h"

#define FILE_LEN 100000u
#define READ_CHUNK 7000u

static char dir[64];
static char path[128];
static char url[192];
static uint8_t data[FILE_LEN];

static void write_file(const uint8_t *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", ts_make_temp_dir());
    snprintf(path, sizeof path, "%s/app.bin", dir);
    snprintf(url, sizeof url, "file://%s", path);
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7u + (i >> 9));
    }
    write_file(data, sizeof data);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_cleanup_dir(dir);
    return 0;
}

/* Read everything from src into out; returns the count, asserting positions. */
static size_t drain(otk_source_t *src, uint8_t *out, size_t cap, uint64_t start)
{
    size_t total = 0;
    for (;;) {
        size_t got = 0;
        uint64_t at = 0;
        assert_int_equal(otk_source_read(src, out + total, cap - total < READ_CHUNK
                                                               ? cap - total
                                                               : READ_CHUNK,
                                         &got, &at, NULL),
                         ESP_OK);
        if (got == 0) {
            return total;
        }
        assert_int_equal(at, start + total);
        total += got;
    }
}

static void test_whole_file(void **state)
{
    (void)state;
    otk_source_t *src = NULL;
    assert_int_equal(otk_source_open(url, NULL, 0, NULL, &src, NULL), ESP_OK);
    const otk_source_identity_t *id = otk_source_identity(src);
    assert_int_equal(id->length, FILE_LEN);
    assert_true(id->etag[0] == '"');
    static uint8_t out[FILE_LEN + 16];
    assert_int_equal(drain(src, out, sizeof out, 0), FILE_LEN);
    assert_memory_equal(out, data, FILE_LEN);
    assert_int_equal(otk_source_offset(src), FILE_LEN);
    otk_source_stats_t st;
    otk_source_stats(src, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.restarts, 0);
    assert_string_equal(otk_source_uri(src), url);
    otk_source_close(src);
}

static void test_offset_same_file(void **state)
{
    (void)state;
    otk_source_t *first = NULL, *src = NULL;
    assert_int_equal(otk_source_open(url, NULL, 0, NULL, &first, NULL), ESP_OK);
    otk_source_identity_t id = *otk_source_identity(first);
    otk_source_close(first);
    assert_int_equal(otk_source_open(url, NULL, 40000, &id, &src, NULL), ESP_OK);
    assert_int_equal(otk_source_offset(src), 40000);
    static uint8_t out[FILE_LEN];
    assert_int_equal(drain(src, out, sizeof out, 40000), FILE_LEN - 40000);
    assert_memory_equal(out, data + 40000, FILE_LEN - 40000);
    otk_source_close(src);
}

static void test_replaced_file_starts_over(void **state)
{
    (void)state;
    otk_source_t *first = NULL, *src = NULL;
    assert_int_equal(otk_source_open(url, NULL, 0, NULL, &first, NULL), ESP_OK);
    otk_source_identity_t id = *otk_source_identity(first);
    otk_source_close(first);
    /* Same length, new contents and modification time: another version. */
    static uint8_t other[FILE_LEN];
    memset(other, 0x5A, sizeof other);
    write_file(other, sizeof other);
    struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(otk_source_open(url, NULL, 40000, &id, &src, NULL), ESP_OK);
    assert_int_equal(otk_source_offset(src), 0);
    otk_source_stats_t st;
    otk_source_stats(src, &st);
    assert_int_equal(st.restarts, 1);
    static uint8_t out[FILE_LEN];
    assert_int_equal(drain(src, out, sizeof out, 0), FILE_LEN);
    assert_memory_equal(out, other, FILE_LEN);
    otk_source_close(src);
    write_file(data, sizeof data);
}

static void test_errors(void **state)
{
    (void)state;
    otk_source_t *src = (otk_source_t *)1;
    otk_diag_t d;
    char missing[256];
    snprintf(missing, sizeof missing, "file://%s/nosuch.bin", dir);
    assert_int_equal(otk_source_open(missing, NULL, 0, NULL, &src, &d), ESP_ERR_NOT_FOUND);
    assert_null(src);
    assert_non_null(strstr(d.msg, "nosuch.bin"));
    char folder[256];
    snprintf(folder, sizeof folder, "file://%s", dir);
    assert_int_equal(otk_source_open(folder, NULL, 0, NULL, &src, &d), ESP_ERR_INVALID_ARG);
    assert_non_null(strstr(d.msg, "not a regular file"));
    assert_int_equal(otk_source_open("gopher://x/y", NULL, 0, NULL, &src, &d),
                     ESP_ERR_NOT_SUPPORTED);
    assert_int_equal(otk_source_open(NULL, NULL, 0, NULL, &src, &d), ESP_ERR_INVALID_ARG);
    /* An offset past the end of the file is not a continuation of it. */
    assert_int_equal(otk_source_open(url, NULL, FILE_LEN + 1, NULL, &src, &d), ESP_OK);
    assert_int_equal(otk_source_offset(src), 0);
    size_t got = 1;
    assert_int_equal(otk_source_read(src, NULL, 1, &got, NULL, &d), ESP_ERR_INVALID_ARG);
    otk_source_close(src);
    otk_source_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_file),
        cmocka_unit_test(test_offset_same_file),
        cmocka_unit_test(test_replaced_file_starts_over),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
