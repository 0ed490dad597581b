/* Hostile-input test helpers: see hostile.h. */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/crypto.h"
#include "otakit/log.h"
#include "test_support.h"

/* Read the device in pieces this large. */
#define HS_CHUNK 0x10000u

void hs_flash_sha(otk_flash_t *flash, uint8_t out[32])
{
    static uint8_t buf[HS_CHUNK];
    otk_sha256_ctx_t ctx;
    otk_sha256_init(&ctx);
    uint32_t size = otk_flash_size(flash);
    for (uint32_t at = 0; at < size; at += HS_CHUNK) {
        uint32_t n = size - at < HS_CHUNK ? size - at : HS_CHUNK;
        assert_int_equal(otk_flash_read(flash, at, buf, n), ESP_OK);
        otk_sha256_update(&ctx, buf, n);
    }
    otk_sha256_final(&ctx, out);
}

void hs_expect(const char *case_name, esp_err_t got, esp_err_t want, const char *msg,
               const char *what)
{
    if (got != want || msg == NULL || strstr(msg, what) == NULL) {
        fail_msg("%s: got %s '%s', want %s '%s'", case_name, esp_err_to_name(got),
                 msg != NULL ? msg : "(no message)", esp_err_to_name(want), what);
    }
}

void hs_unchanged(const char *case_name, otk_flash_t *flash, const uint8_t before[32])
{
    uint8_t after[32];
    hs_flash_sha(flash, after);
    if (memcmp(before, after, sizeof after) != 0) {
        fail_msg("%s: the flash changed", case_name);
    }
}

/* Long enough for any line the library logs. */
#define HS_LOG_MAX 512
static char last_log[HS_LOG_MAX];

static void keep_line(void *ctx, otk_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    snprintf(last_log, sizeof last_log, "%s", line);
}

void hs_log_capture(void)
{
    otk_log_set_level(OTK_LOG_INFO);
    otk_log_set_sink(keep_line, NULL);
    last_log[0] = '\0';
}

const char *hs_last_log(void)
{
    return last_log;
}

void hs_log_clear(void)
{
    last_log[0] = '\0';
}
