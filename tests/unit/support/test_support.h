/* Shared helpers for the unit tests: the corpus, whole-file reads, temp files. */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file in ../shared/corpus (from $OTAKIT_CORPUS); static buffer. */
const char *ts_corpus_path(const char *name);
/* Read a whole file; fails the test if it cannot. Caller frees. */
uint8_t *ts_read_file(const char *path, size_t *len);
/* A fresh empty directory under /tmp for this test, removed by ts_cleanup_dir(). */
const char *ts_make_temp_dir(void);
void ts_cleanup_dir(const char *dir);
/* Lowercase hex of bytes into out (2*len+1). */
void ts_hex(const uint8_t *bytes, size_t len, char *out);

#endif
