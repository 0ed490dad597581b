/* esp_err.h: names, and ESP_ERROR_CHECK / ESP_ERROR_CHECK_WITHOUT_ABORT as ESP-IDF apps use
 * them (the abort runs in a child process). */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "esp_err.h"
#include "test_support.h"

static int calls;

static esp_err_t returns(esp_err_t rc)
{
    calls++;
    return rc;
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(esp_err_to_name(ESP_OK), "ESP_OK");
    assert_string_equal(esp_err_to_name(ESP_FAIL), "ESP_FAIL");
    assert_string_equal(esp_err_to_name(0x1503), "ESP_ERR_OTA_VALIDATE_FAILED");
    assert_string_equal(esp_err_to_name(0x1507), "ESP_ERR_OTA_ALREADY_IN_PROGRESS");
    assert_string_equal(esp_err_to_name(0x6001), "ESP_ERR_FLASH_OP_FAIL");
    assert_string_equal(esp_err_to_name(0x2002), "ESP_ERR_IMAGE_INVALID");
    assert_string_equal(esp_err_to_name(0x12345), "UNKNOWN ERROR");
}

static void test_check_ok_evaluates_once(void **state)
{
    (void)state;
    calls = 0;
    ESP_ERROR_CHECK(returns(ESP_OK));
    assert_int_equal(calls, 1);
    esp_err_t rc = ESP_ERROR_CHECK_WITHOUT_ABORT(returns(ESP_ERR_INVALID_SIZE));
    assert_int_equal(rc, ESP_ERR_INVALID_SIZE);
    assert_int_equal(calls, 2);
}

static void test_check_failure_aborts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child: a failing check must not return. */
        ESP_ERROR_CHECK(returns(ESP_ERR_NO_MEM));
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_check_ok_evaluates_once),
        cmocka_unit_test(test_check_failure_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
