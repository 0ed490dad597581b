/* file:// sources: a local file read from an offset. Its identity is what a web server
 * would derive from it (nginx's ETag is modification time and size), plus the inode, so a
 * checkpoint made from one file is not continued from a replaced one. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/source_internal.h"

typedef struct {
    int fd;
} file_state_t;

static esp_err_t open_error(otk_source_t *src, otk_diag_t *diag)
{
    int e = errno;
    otk_diag_set(diag, "cannot open %s: %s", src->uri.path, strerror(e));
    return e == ENOENT || e == ENOTDIR ? ESP_ERR_NOT_FOUND : ESP_FAIL;
}

static void describe(otk_source_t *src, const struct stat *st)
{
    src->identity.length = (int64_t)st->st_size;
    snprintf(src->identity.etag, sizeof src->identity.etag, "\"%llx.%lx-%llx-%llx\"",
             (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec,
             (unsigned long long)st->st_size, (unsigned long long)st->st_ino);
}

static esp_err_t file_open(otk_source_t *src, uint64_t offset,
                           const otk_source_identity_t *expect, otk_diag_t *diag)
{
    file_state_t *f = calloc(1, sizeof *f);
    if (f == NULL) {
        otk_diag_set(diag, "source: out of memory");
        return ESP_ERR_NO_MEM;
    }
    f->fd = -1;
    src->kind = f;
    f->fd = open(src->uri.path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        return open_error(src, diag);
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        return open_error(src, diag);
    }
    if (!S_ISREG(st.st_mode)) {
        otk_diag_set(diag, "%s: not a regular file", src->uri.path);
        return ESP_ERR_INVALID_ARG;
    }
    describe(src, &st);
    src->stats.requests = 1;
    otk_diag_t why;
    otk_diag_clear(&why);
    if (offset > 0 && expect != NULL && !source_same_resource(expect, &src->identity, &why)) {
        offset = 0; /* another file now: start over */
        src->stats.restarts++;
    }
    if (offset > (uint64_t)st.st_size) {
        offset = 0;
        src->stats.restarts++;
    }
    if (lseek(f->fd, (off_t)offset, SEEK_SET) < 0) {
        otk_diag_set(diag, "%s: cannot seek to byte %llu: %s", src->uri.path,
                     (unsigned long long)offset, strerror(errno));
        return ESP_FAIL;
    }
    src->pos = offset;
    return ESP_OK;
}

static esp_err_t file_read(otk_source_t *src, void *buf, size_t cap, size_t *got,
                           otk_diag_t *diag)
{
    file_state_t *f = src->kind;
    ssize_t n;
    do {
        n = read(f->fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        otk_diag_set(diag, "%s: read error at byte %llu: %s", src->uri.path,
                     (unsigned long long)src->pos, strerror(errno));
        return ESP_FAIL;
    }
    *got = (size_t)n;
    return ESP_OK;
}

static void file_close(otk_source_t *src)
{
    file_state_t *f = src->kind;
    if (f != NULL) {
        if (f->fd >= 0) {
            close(f->fd);
        }
        free(f);
        src->kind = NULL;
    }
}

const source_ops_t source_file_ops = {
    .open = file_open,
    .read = file_read,
    .close = file_close,
};
