/* ESP_ERROR_CHECK's failure path, with ESP-IDF's message layout. On a chip the abort resets
 * the device; on the host the process stops, which is what a test wants to see. */
#include <stdio.h>
#include <stdlib.h>

#include "esp_err.h"

static void print_check_failure(const char *what, esp_err_t rc, const char *file, int line,
                                const char *function, const char *expression)
{
    fprintf(stderr, "%s failed: esp_err_t 0x%x (%s) at %s:%d\nfile: \"%s\" line %d\nfunc: %s\n"
                    "expression: %s\n",
            what, (unsigned)rc, esp_err_to_name(rc), file, line, file, line, function,
            expression);
}

void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function,
                             const char *expression)
{
    print_check_failure("ESP_ERROR_CHECK", rc, file, line, function, expression);
    abort();
}

void _esp_error_check_failed_without_abort(esp_err_t rc, const char *file, int line,
                                           const char *function, const char *expression)
{
    print_check_failure("ESP_ERROR_CHECK_WITHOUT_ABORT", rc, file, line, function, expression);
}
