/* The checkpoint file beside a flash image: replaced atomically (a temporary file
 * written, synced and renamed over it, then the directory synced), so a power cut leaves
 * the old checkpoint or the new one, never half of one. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otakit/ota_pull.h"

#define TMP_SUFFIX ".tmp"
#define FILE_MODE 0644
/* A path Linux accepts (PATH_MAX). */
#define CP_PATH_MAX 4096u

bool otk_ota_checkpoint_path(const char *flash_path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", flash_path, OTK_OTA_CHECKPOINT_SUFFIX);
    return n > 0 && (size_t)n < cap;
}

esp_err_t otk_ota_checkpoint_load(const char *path, otk_https_ota_checkpoint_t *cp,
                                  bool *exists, otk_diag_t *diag)
{
    *exists = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return ESP_OK;
        }
        otk_diag_set(diag, "cannot read %s: %s", path, strerror(errno));
        return ESP_FAIL;
    }
    *exists = true;
    uint8_t *buf = malloc(OTK_HTTPS_OTA_CHECKPOINT_MAX + 1);
    ssize_t n = -1;
    if (buf != NULL) {
        size_t have = 0;
        while (have <= OTK_HTTPS_OTA_CHECKPOINT_MAX &&
               (n = read(fd, buf + have, OTK_HTTPS_OTA_CHECKPOINT_MAX + 1 - have)) > 0) {
            have += (size_t)n;
        }
        n = n < 0 ? -1 : (ssize_t)have;
    }
    close(fd);
    esp_err_t err;
    otk_diag_t why;
    otk_diag_clear(&why);
    if (n < 0) {
        otk_diag_set(diag, "cannot read %s", path);
        err = ESP_FAIL;
    } else if ((size_t)n > OTK_HTTPS_OTA_CHECKPOINT_MAX) {
        otk_diag_set(diag, "%s: too large for a checkpoint", path);
        err = ESP_ERR_INVALID_ARG;
    } else {
        err = otk_https_ota_checkpoint_decode(buf, (size_t)n, cp, &why);
        if (err != ESP_OK) {
            otk_diag_set(diag, "%s: %s", path, why.msg);
        }
    }
    free(buf);
    return err;
}

static bool write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The rename is durable only once the directory holding the file is synced. */
static void sync_dir(const char *path)
{
    char copy[CP_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

esp_err_t otk_ota_checkpoint_save(const char *path, const otk_https_ota_checkpoint_t *cp,
                                  otk_diag_t *diag)
{
    char tmp[CP_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s%s", path, TMP_SUFFIX) >= (int)sizeof tmp) {
        otk_diag_set(diag, "%s: path too long", path);
        return ESP_ERR_INVALID_ARG;
    }
    uint8_t *buf = malloc(OTK_HTTPS_OTA_CHECKPOINT_MAX);
    size_t len = buf != NULL ? otk_https_ota_checkpoint_encode(cp, buf, OTK_HTTPS_OTA_CHECKPOINT_MAX)
                             : 0;
    if (len == 0) {
        free(buf);
        otk_diag_set(diag, "%s: cannot encode the checkpoint", path);
        return ESP_ERR_NO_MEM;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, FILE_MODE);
    bool ok = fd >= 0 && write_all(fd, buf, len) && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0) {
        ok = close(fd) == 0 && ok;
    }
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        otk_diag_set(diag, "cannot write %s: %s", path, strerror(ok ? errno : e));
        unlink(tmp);
        return ESP_FAIL;
    }
    sync_dir(path);
    return ESP_OK;
}

void otk_ota_checkpoint_remove(const char *path)
{
    if (unlink(path) == 0) {
        sync_dir(path);
    }
}
