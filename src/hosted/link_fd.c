/* A host's link over a file descriptor (socket or tty): waiting reads, writes that wait
 * for room and for the rate limit, and otk_link_open's dispatch by URI kind. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hosted_internal.h"

static ssize_t fd_read(otk_link_t *link, void *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = link->fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }
    if (n == 0) {
        return 0;
    }
    ssize_t got = read(link->fd, buf, cap);
    if (got > 0) {
        return got;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return 0;
    }
    return -1; /* end of stream, or an error (EIO: the other end of a pty went away) */
}

/* One write of up to n bytes; sockets never raise SIGPIPE (the link is just down). */
static ssize_t send_some(otk_link_t *link, const uint8_t *p, size_t n)
{
    if (link->kind == OTK_LINK_UNIX || link->kind == OTK_LINK_TCP) {
        return send(link->fd, p, n, MSG_NOSIGNAL);
    }
    return write(link->fd, p, n);
}

static int fd_write(otk_link_t *link, const void *buf, size_t len, int timeout_ms)
{
    const uint8_t *p = buf;
    uint64_t deadline = otk_link_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    while (len > 0) {
        uint64_t now = otk_link_now_ms();
        if (now > deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        int left = (int)(deadline - now);
        int wait = 0;
        size_t allowed = otk_link_rate_allow(&link->rate, len, &wait);
        if (allowed == 0) {
            poll(NULL, 0, wait < left ? wait : left); /* a UART's bit times */
            continue;
        }
        struct pollfd pf = {.fd = link->fd, .events = POLLOUT};
        int ready = poll(&pf, 1, left);
        if (ready < 0 && errno != EINTR) {
            return -1;
        }
        if (ready <= 0) {
            continue;
        }
        if (pf.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            return -1;
        }
        ssize_t n = send_some(link, p, allowed);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                continue;
            }
            return -1;
        }
        otk_link_rate_spent(&link->rate, (size_t)n);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fd_close(otk_link_t *link)
{
    if (link->fd >= 0) {
        close(link->fd);
    }
    free(link);
}

static const otk_link_ops_t FD_OPS = {fd_read, fd_write, fd_close};

otk_link_t *link_fd_new(otk_link_kind_t kind, int fd, uint32_t baud)
{
    otk_link_t *link = calloc(1, sizeof *link);
    if (link == NULL) {
        close(fd);
        return NULL;
    }
    link->ops = &FD_OPS;
    link->kind = kind;
    link->fd = fd;
    otk_link_rate_init(&link->rate, baud);
    return link;
}

esp_err_t otk_link_open(const otk_link_uri_t *uri, otk_link_t **out, otk_diag_t *diag)
{
    *out = NULL;
    int fd = -1;
    esp_err_t err;
    switch (uri->kind) {
    case OTK_LINK_UNIX:
        err = unix_connect(uri, &fd, diag);
        break;
    case OTK_LINK_TCP:
        err = tcp_connect(uri, &fd, diag);
        break;
    case OTK_LINK_SERIAL:
        err = serial_open(uri->path, uri->baud, &fd, diag);
        break;
    default:
        otk_diag_set(diag, "pty is a device-side URI: a host opens serial:/dev/pts/N (the "
                           "path the device printed)");
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (err != ESP_OK) {
        return err;
    }
    *out = link_fd_new(uri->kind, fd, uri->baud);
    if (*out == NULL) {
        otk_diag_set(diag, "out of memory");
        return ESP_ERR_NO_MEM;
    }
    return ESP_OK;
}
