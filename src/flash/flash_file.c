/* File backend: the flash is a file mapped MAP_SHARED, as ESP-IDF's linux target does, so
 * the image outlives the process and other tools can read it while a device runs. */
#include "flash_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otakit/log.h"

/* Bytes of 0xFF handed to the kernel per write when a file is made: few system calls for
 * a large image, a small buffer. */
#define FILL_CHUNK (1024u * 1024u)
#define NEW_FILE_MODE 0644

typedef struct {
    otk_flash_bytes_t array; /* first: the mapping, for the shared byte-array operations */
    size_t size;
} file_ctx_t;

static esp_err_t file_sync(void *ctx)
{
    file_ctx_t *file = ctx;
    if (msync(file->array.bytes, file->size, MS_SYNC) != 0) {
        OTK_LOGE(OTK_FLASH_TAG, "msync of the flash file failed: %s", strerror(errno));
        return ESP_FAIL;
    }
    return ESP_OK;
}

static void file_close(void *ctx)
{
    file_ctx_t *file = ctx;
    munmap(file->array.bytes, file->size);
    free(file);
}

static const otk_flash_backend_t file_backend = {
    .read = otk_flash_bytes_read,
    .write = otk_flash_bytes_write,
    .sync = file_sync,
    .close = file_close,
    .map = otk_flash_bytes_map,
    .erase = otk_flash_bytes_erase,
};

static esp_err_t open_error(const char *path, const char *what)
{
    int e = errno;
    OTK_LOGE(OTK_FLASH_TAG, "%s %s: %s", what, path, strerror(e));
    if (e == ENOENT) {
        return ESP_ERR_NOT_FOUND;
    }
    return e == EISDIR ? ESP_ERR_INVALID_ARG : ESP_FAIL; /* a directory is a wrong argument */
}

/* Write size bytes of 0xFF from the start of fd. */
static esp_err_t fill_erased(int fd, const char *path, uint32_t size)
{
    uint8_t *ones = malloc(FILL_CHUNK);
    if (ones == NULL) {
        return ESP_ERR_NO_MEM;
    }
    memset(ones, 0xFF, FILL_CHUNK);
    esp_err_t err = ESP_OK;
    for (off_t done = 0; done < (off_t)size;) {
        size_t chunk = (size_t)size - (size_t)done < FILL_CHUNK ? (size_t)size - (size_t)done
                                                                : FILL_CHUNK;
        ssize_t n = pwrite(fd, ones, chunk, done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            OTK_LOGE(OTK_FLASH_TAG, "writing 0xFF to %s at 0x%jx failed: %s", path,
                     (uintmax_t)done, n < 0 ? strerror(errno) : "no progress");
            err = ESP_FAIL;
            break;
        }
        done += n;
    }
    free(ones);
    return err;
}

/* Map fd (which this closes: the mapping keeps the file alive) and make the device. */
static esp_err_t map_file(int fd, const char *path, uint32_t size, otk_flash_t **out)
{
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED) {
        OTK_LOGE(OTK_FLASH_TAG, "mmap of %s (0x%" PRIx32 " bytes) failed: %s", path, size,
                 strerror(map_errno));
        return ESP_FAIL;
    }
    file_ctx_t *file = calloc(1, sizeof *file);
    if (file == NULL) {
        munmap(map, size);
        return ESP_ERR_NO_MEM;
    }
    file->array.bytes = map;
    file->size = size;
    return otk_flash_new(&file_backend, file, size, out);
}

esp_err_t otk_flash_file_create(const char *path, uint32_t size, otk_flash_t **out)
{
    if (path == NULL || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = otk_flash_check_size(size);
    if (err != ESP_OK) {
        return err;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, NEW_FILE_MODE);
    if (fd < 0) {
        return open_error(path, "cannot create flash file");
    }
    err = fill_erased(fd, path, size);
    if (err != ESP_OK) {
        close(fd);
        return err;
    }
    return map_file(fd, path, size, out);
}

/* A flash file's length must be a possible device size. */
static esp_err_t check_file_length(const char *path, off_t length)
{
    if (length <= 0 || length % OTK_FLASH_SECTOR_SIZE != 0 || length > OTK_FLASH_MAX_SIZE) {
        OTK_LOGE(OTK_FLASH_TAG, "flash file %s is 0x%jx bytes: not a non-zero multiple of "
                 "0x%x up to 0x%x", path, (intmax_t)length, OTK_FLASH_SECTOR_SIZE,
                 OTK_FLASH_MAX_SIZE);
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

esp_err_t otk_flash_file_open(const char *path, otk_flash_t **out)
{
    if (path == NULL || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return open_error(path, "cannot open flash file");
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        esp_err_t err = open_error(path, "cannot stat flash file");
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        OTK_LOGE(OTK_FLASH_TAG, "flash file %s is not a regular file", path);
        close(fd);
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = check_file_length(path, st.st_size);
    if (err != ESP_OK) {
        close(fd);
        return err;
    }
    return map_file(fd, path, (uint32_t)st.st_size, out);
}
