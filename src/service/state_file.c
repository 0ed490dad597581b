/* Loading and saving FLASH.service. A save is the service's commit point (the record that
 * makes an interrupted data update redone, the checkpoint a download resumes from), so it
 * is durable before it counts: written beside, fsync'd, renamed over, directory fsync'd. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otakit/service.h"

/* Linux PATH_MAX: longer paths are not ours to handle. */
#define STATE_PATH_MAX 4096u

esp_err_t otk_service_state_load(const char *path, otk_service_state_t *state,
                                 otk_diag_t *diag)
{
    otk_service_state_init(state);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return ESP_OK; /* a device whose service never ran */
        }
        otk_diag_set(diag, "%s: cannot open: %s", path, strerror(errno));
        return ESP_FAIL;
    }
    char *text = malloc(OTK_SERVICE_STATE_FILE_MAX + 1);
    size_t len = 0;
    ssize_t n = 0;
    while (text != NULL && len <= OTK_SERVICE_STATE_FILE_MAX &&
           (n = read(fd, text + len, OTK_SERVICE_STATE_FILE_MAX + 1 - len)) > 0) {
        len += (size_t)n;
    }
    close(fd);
    if (text == NULL || n < 0 || len > OTK_SERVICE_STATE_FILE_MAX) {
        free(text);
        otk_diag_set(diag, "%s: cannot read, or larger than %u bytes", path,
                     (unsigned)OTK_SERVICE_STATE_FILE_MAX);
        return ESP_FAIL;
    }
    otk_diag_t why;
    otk_diag_clear(&why);
    esp_err_t err = otk_service_state_parse(text, len, state, &why);
    free(text);
    if (err != ESP_OK) {
        otk_diag_set(diag, "%s: %s (the service's own file: fix or remove it)", path, why.msg);
    }
    return err;
}

static bool write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        text += n;
        len -= (size_t)n;
    }
    return true;
}

/* The rename is durable once the directory entry is. */
static void sync_dir(const char *path)
{
    char copy[STATE_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

esp_err_t otk_service_state_save(const char *path, const otk_service_state_t *state,
                                 otk_diag_t *diag)
{
    char tmp[STATE_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        otk_diag_set(diag, "%s: path too long", path);
        return ESP_FAIL;
    }
    char *text = otk_service_state_format(state);
    if (text == NULL) {
        otk_diag_set(diag, "%s: out of memory", path);
        return ESP_ERR_NO_MEM;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write_all(fd, text, strlen(text)) && write_all(fd, "\n", 1) &&
              fsync(fd) == 0;
    int e = errno;
    if (fd >= 0) {
        ok = close(fd) == 0 && ok;
    }
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        otk_diag_set(diag, "%s: cannot write: %s", path, strerror(e));
        return ESP_FAIL;
    }
    sync_dir(path);
    return ESP_OK;
}
