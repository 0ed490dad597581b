/* ESP-IDF's error type and codes (components/esp_common/include/esp_err.h and the
 * component headers that extend it), same names and values as ESP-IDF. */
#ifndef ESP_ERR_H
#define ESP_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef int esp_err_t;

#define ESP_OK 0
#define ESP_FAIL -1

#define ESP_ERR_NO_MEM 0x101
#define ESP_ERR_INVALID_ARG 0x102
#define ESP_ERR_INVALID_STATE 0x103
#define ESP_ERR_INVALID_SIZE 0x104
#define ESP_ERR_NOT_FOUND 0x105
#define ESP_ERR_NOT_SUPPORTED 0x106
#define ESP_ERR_TIMEOUT 0x107
#define ESP_ERR_INVALID_RESPONSE 0x108
#define ESP_ERR_INVALID_CRC 0x109
#define ESP_ERR_INVALID_VERSION 0x10A
#define ESP_ERR_INVALID_MAC 0x10B
#define ESP_ERR_NOT_FINISHED 0x10C
#define ESP_ERR_NOT_ALLOWED 0x10D

#define ESP_ERR_IMAGE_BASE 0x2000
#define ESP_ERR_IMAGE_FLASH_FAIL (ESP_ERR_IMAGE_BASE + 1)
#define ESP_ERR_IMAGE_INVALID (ESP_ERR_IMAGE_BASE + 2)

#define ESP_ERR_FLASH_BASE 0x6000
#define ESP_ERR_FLASH_OP_FAIL (ESP_ERR_FLASH_BASE + 1)
#define ESP_ERR_FLASH_OP_TIMEOUT (ESP_ERR_FLASH_BASE + 2)
#define ESP_ERR_FLASH_NOT_INITIALISED (ESP_ERR_FLASH_BASE + 3)
#define ESP_ERR_FLASH_UNSUPPORTED_HOST (ESP_ERR_FLASH_BASE + 4)
#define ESP_ERR_FLASH_UNSUPPORTED_CHIP (ESP_ERR_FLASH_BASE + 5)
#define ESP_ERR_FLASH_PROTECTED (ESP_ERR_FLASH_BASE + 6)

#define ESP_ERR_OTA_BASE 0x1500
#define ESP_ERR_OTA_PARTITION_CONFLICT (ESP_ERR_OTA_BASE + 0x01)
#define ESP_ERR_OTA_SELECT_INFO_INVALID (ESP_ERR_OTA_BASE + 0x02)
#define ESP_ERR_OTA_VALIDATE_FAILED (ESP_ERR_OTA_BASE + 0x03)
#define ESP_ERR_OTA_SMALL_SEC_VER (ESP_ERR_OTA_BASE + 0x04)
#define ESP_ERR_OTA_ROLLBACK_FAILED (ESP_ERR_OTA_BASE + 0x05)
#define ESP_ERR_OTA_ROLLBACK_INVALID_STATE (ESP_ERR_OTA_BASE + 0x06)
#define ESP_ERR_OTA_ALREADY_IN_PROGRESS (ESP_ERR_OTA_BASE + 0x07)
#define ESP_ERR_OTA_SPI_MODE_MISMATCH (ESP_ERR_OTA_BASE + 0x08)

#define ESP_ERR_HTTP_BASE 0x7000
#define ESP_ERR_HTTP_EAGAIN (ESP_ERR_HTTP_BASE + 7)
#define ESP_ERR_HTTP_NOT_MODIFIED (ESP_ERR_HTTP_BASE + 9)
#define ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE (ESP_ERR_HTTP_BASE + 10)

#define ESP_ERR_HTTPS_OTA_BASE 0x9000
#define ESP_ERR_HTTPS_OTA_IN_PROGRESS (ESP_ERR_HTTPS_OTA_BASE + 1)

/* Name of an error code ("ESP_ERR_INVALID_ARG"), or "UNKNOWN ERROR" like ESP-IDF. */
const char *esp_err_to_name(esp_err_t code);

/* What ESP_ERROR_CHECK calls on failure: prints the code, its name, the place and the
 * expression, then aborts (a chip would reset). */
void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function,
                             const char *expression) __attribute__((noreturn));
/* What ESP_ERROR_CHECK_WITHOUT_ABORT calls on failure: the same message, no abort. */
void _esp_error_check_failed_without_abort(esp_err_t rc, const char *file, int line,
                                           const char *function, const char *expression);

#define ESP_ERROR_CHECK(x)                                                              \
    do {                                                                                \
        esp_err_t esp_err_rc_ = (x);                                                    \
        if (esp_err_rc_ != ESP_OK) {                                                    \
            _esp_error_check_failed(esp_err_rc_, __FILE__, __LINE__, __func__, #x);     \
        }                                                                               \
    } while (0)

/* Evaluates to the code, like ESP-IDF's statement expression (a GNU C extension). */
#define ESP_ERROR_CHECK_WITHOUT_ABORT(x)                                                \
    __extension__({                                                                     \
        esp_err_t esp_err_rc_ = (x);                                                    \
        if (esp_err_rc_ != ESP_OK) {                                                    \
            _esp_error_check_failed_without_abort(esp_err_rc_, __FILE__, __LINE__,      \
                                                  __func__, #x);                        \
        }                                                                               \
        esp_err_rc_;                                                                    \
    })

#ifdef __cplusplus
}
#endif
#endif
