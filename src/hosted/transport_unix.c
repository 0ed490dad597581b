/* Unix stream sockets: a host connects to PATH, a device binds it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hosted_internal.h"

/* Connections a device lets wait in accept's queue: one host at work, one being told
 * "busy", and room for a reconnect racing the old link's close. */
#define UNIX_BACKLOG 4
/* A Unix socket has no token (docs/protocol.md): who may connect is who may write the
 * socket file, so only its owner may, whatever the process's umask. */
#define UNIX_SOCKET_MODE 0600

static esp_err_t make_addr(const char *path, struct sockaddr_un *sa, otk_diag_t *diag)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        otk_diag_set(diag, "unix:%s: the path is too long for a socket", path);
        return ESP_ERR_INVALID_ARG;
    }
    strcpy(sa->sun_path, path);
    return ESP_OK;
}

esp_err_t unix_connect(const otk_link_uri_t *uri, int *out, otk_diag_t *diag)
{
    struct sockaddr_un sa;
    esp_err_t err = make_addr(uri->path, &sa, diag);
    if (err != ESP_OK) {
        return err;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        otk_diag_set(diag, "unix:%s: socket: %s", uri->path, strerror(errno));
        return ESP_FAIL;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        otk_diag_set(diag, "unix:%s: cannot connect: %s%s", uri->path, strerror(e),
                     e == ENOENT || e == ECONNREFUSED ? " (is otakit-device --listen running?)"
                                                      : "");
        return e == ENOENT ? ESP_ERR_NOT_FOUND : ESP_FAIL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *out = fd;
    return ESP_OK;
}

/* A socket file at path: one nobody answers on is what a killed device leaves behind
 * (remove it); one that answers belongs to a running device (leave it alone). */
static esp_err_t clear_stale(const char *path, const struct sockaddr_un *sa, otk_diag_t *diag)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return ESP_OK;
    }
    if (!S_ISSOCK(st.st_mode)) {
        otk_diag_set(diag, "unix:%s: exists and is not a socket", path);
        return ESP_ERR_INVALID_STATE;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
        bool live = connect(probe, (const struct sockaddr *)sa, sizeof *sa) == 0;
        close(probe);
        if (live) {
            otk_diag_set(diag, "unix:%s: another device already listens there", path);
            return ESP_ERR_INVALID_STATE;
        }
    }
    unlink(path);
    return ESP_OK;
}

/* The socket's directory must not let another user swap the socket for theirs (write
 * access to it without the sticky bit, which /tmp has). */
static esp_err_t check_dir(const char *path, otk_diag_t *diag)
{
    char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : (size_t)(slash - path);
    if (slash == path) {
        n = 1; /* "/sock": the root */
    }
    memcpy(dir, n > 0 ? path : ".", n > 0 ? n : 1);
    dir[n > 0 ? n : 1] = '\0';
    struct stat st;
    if (stat(dir, &st) != 0) {
        otk_diag_set(diag, "unix:%s: its directory %s: %s", path, dir, strerror(errno));
        return ESP_ERR_NOT_FOUND;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
        otk_diag_set(diag, "unix:%s: its directory %s (mode %04o) is writable by other users "
                     "and not sticky: they could replace the socket; use a private directory",
                     path, dir, (unsigned)(st.st_mode & 07777));
        return ESP_ERR_INVALID_STATE;
    }
    return ESP_OK;
}

esp_err_t unix_listen(const otk_link_uri_t *uri, int *out, otk_diag_t *diag)
{
    struct sockaddr_un sa;
    esp_err_t err = make_addr(uri->path, &sa, diag);
    if (err == ESP_OK) {
        err = check_dir(uri->path, diag);
    }
    if (err == ESP_OK) {
        err = clear_stale(uri->path, &sa, diag);
    }
    if (err != ESP_OK) {
        return err;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        otk_diag_set(diag, "unix:%s: socket: %s", uri->path, strerror(errno));
        return ESP_FAIL;
    }
    /* Linux creates the file with the socket's own mode (less the umask): owner-only from
     * its first instant. The chmod after bind makes it so elsewhere too; either way it is
     * done before listen, and nobody can connect to a socket that does not listen. */
    bool ok = fchmod(fd, UNIX_SOCKET_MODE) == 0 &&
              bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    bool bound = ok;
    ok = ok && chmod(uri->path, UNIX_SOCKET_MODE) == 0 && listen(fd, UNIX_BACKLOG) == 0;
    if (!ok) {
        otk_diag_set(diag, "unix:%s: cannot listen: %s", uri->path, strerror(errno));
        close(fd);
        if (bound) {
            unlink(uri->path);
        }
        return ESP_FAIL;
    }
    *out = fd;
    return ESP_OK;
}
