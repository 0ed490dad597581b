/* Helpers of the hostile-input tests (tests/unit/test_hostile_*.c): "it failed with this
 * code and said why" and "not one flash byte changed". */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdint.h>

#include "esp_err.h"
#include "otakit/flash.h"

/* SHA-256 of every byte of the device. */
void hs_flash_sha(otk_flash_t *flash, uint8_t out[32]);
/* Fail unless got == want and msg contains what (both shown otherwise, with case). */
void hs_expect(const char *case_name, esp_err_t got, esp_err_t want, const char *msg,
               const char *what);
/* From now on the library's log lines go to a buffer (level INFO and up): for calls that
 * say why in the log rather than a diag. */
void hs_log_capture(void);
/* The last line logged since hs_log_capture (or the last hs_log_clear); "" none. */
const char *hs_last_log(void);
void hs_log_clear(void);
/* Fail unless the device hashes to before. */
void hs_unchanged(const char *case_name, otk_flash_t *flash, const uint8_t before[32]);

#endif
