/* The device file on disk: read it whole and parse it, or format and replace it atomically
 * (otakit/device_store.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/device_store.h"

/* The temporary file beside the device file while saving. */
#define TMP_SUFFIX ".tmp"

esp_err_t otk_device_store_load(const char *flash_path, otk_device_store_t *store,
                                bool *existed, otk_diag_t *diag)
{
    char path[OTK_DEVICE_STORE_PATH_MAX];
    if (existed != NULL) {
        *existed = false;
    }
    if (store == NULL || !otk_device_store_path(flash_path, path, sizeof path)) {
        otk_diag_set(diag, "device file: no flash path, or the path is too long");
        return ESP_ERR_INVALID_ARG;
    }
    otk_device_store_init(store);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT) {
            return ESP_OK; /* a new device */
        }
        otk_diag_set(diag, "%s: cannot open: %s", path, strerror(errno));
        return ESP_FAIL;
    }
    /* One byte more than allowed tells "too large" from "exactly the limit". */
    char *text = malloc(OTK_DEVICE_STORE_FILE_MAX + 1u);
    if (text == NULL) {
        fclose(f);
        otk_diag_set(diag, "%s: out of memory", path);
        return ESP_ERR_NO_MEM;
    }
    size_t len = fread(text, 1, OTK_DEVICE_STORE_FILE_MAX + 1u, f);
    bool read_error = ferror(f) != 0;
    fclose(f);
    esp_err_t err = ESP_OK;
    if (read_error) {
        otk_diag_set(diag, "%s: read error", path);
        err = ESP_FAIL;
    } else if (len > OTK_DEVICE_STORE_FILE_MAX) {
        otk_diag_set(diag, "%s: larger than %u bytes: not a device file", path,
                     (unsigned)OTK_DEVICE_STORE_FILE_MAX);
        err = ESP_ERR_INVALID_SIZE;
    } else {
        otk_diag_t why;
        otk_diag_clear(&why);
        err = otk_device_store_parse(text, len, store, &why);
        if (err != ESP_OK) {
            /* "line N: ..." becomes "PATH:N: ..." like a compiler's message. */
            const char *msg = strncmp(why.msg, "line ", 5) == 0 ? why.msg + 5 : why.msg;
            otk_diag_set(diag, "%s:%s", path, msg);
        }
    }
    free(text);
    if (existed != NULL && err == ESP_OK) {
        *existed = true;
    }
    return err;
}

esp_err_t otk_device_store_save(const char *flash_path, const otk_device_store_t *store,
                                otk_diag_t *diag)
{
    char path[OTK_DEVICE_STORE_PATH_MAX], tmp[OTK_DEVICE_STORE_PATH_MAX + sizeof TMP_SUFFIX];
    if (store == NULL || !otk_device_store_path(flash_path, path, sizeof path)) {
        otk_diag_set(diag, "device file: no flash path, or the path is too long");
        return ESP_ERR_INVALID_ARG;
    }
    snprintf(tmp, sizeof tmp, "%s%s", path, TMP_SUFFIX);
    char text[OTK_DEVICE_STORE_TEXT_MAX];
    size_t len = 0;
    esp_err_t err = otk_device_store_format(store, text, sizeof text, &len);
    if (err != ESP_OK) {
        otk_diag_set(diag, "%s: cannot format the device state", path);
        return err;
    }
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        otk_diag_set(diag, "%s: cannot create: %s", tmp, strerror(errno));
        return ESP_FAIL;
    }
    bool ok = fwrite(text, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        otk_diag_set(diag, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        return ESP_FAIL;
    }
    return ESP_OK;
}
