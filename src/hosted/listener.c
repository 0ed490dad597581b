/* A device's end of a transport: a listening socket (unix, tcp) that hands out
 * connections, or one serial stream (a tty, or the master end of a pty it creates). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hosted_internal.h"

struct otk_listener {
    otk_link_uri_t uri;
    int fd;
    int pty_slave; /* the device's own hold on a pty's slave end; -1 otherwise */
    char where[OTK_LINK_URI_MAX];
};

esp_err_t otk_listener_open(const otk_link_uri_t *uri, otk_listener_t **out, otk_diag_t *diag)
{
    *out = NULL;
    otk_listener_t *l = calloc(1, sizeof *l);
    if (l == NULL) {
        otk_diag_set(diag, "out of memory");
        return ESP_ERR_NO_MEM;
    }
    l->uri = *uri;
    l->fd = l->pty_slave = -1;
    esp_err_t err = ESP_OK;
    otk_link_uri_t shown = *uri;
    switch (uri->kind) {
    case OTK_LINK_UNIX:
        err = unix_listen(uri, &l->fd, diag);
        break;
    case OTK_LINK_TCP:
        err = tcp_listen(uri, &l->fd, &shown.port, diag);
        if (shown.host[0] == '\0') {
            strcpy(shown.host, OTK_LINK_TCP_DEFAULT_HOST);
        }
        break;
    case OTK_LINK_SERIAL:
        err = serial_open(uri->path, uri->baud, &l->fd, diag);
        break;
    case OTK_LINK_PTY:
        err = pty_create(&l->fd, &l->pty_slave, shown.path, sizeof shown.path, diag);
        shown.kind = OTK_LINK_SERIAL; /* what a host opens */
        break;
    }
    if (err != ESP_OK) {
        free(l);
        return err;
    }
    otk_link_uri_format(&shown, l->where, sizeof l->where);
    *out = l;
    return ESP_OK;
}

int otk_listener_fd(const otk_listener_t *l)
{
    return l->fd;
}

bool otk_listener_accepts(const otk_listener_t *l)
{
    return l->uri.kind == OTK_LINK_UNIX || l->uri.kind == OTK_LINK_TCP;
}

int otk_listener_accept(otk_listener_t *l, char *peer, size_t peer_cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (l->uri.kind == OTK_LINK_TCP) {
        tcp_tune(fd);
        char addr[64] = "?";
        unsigned port = 0;
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
            const uint8_t *a = (const uint8_t *)&in->sin_addr;
            snprintf(addr, sizeof addr, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            snprintf(addr, sizeof addr, "[ipv6]");
            port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
        }
        snprintf(peer, peer_cap, "tcp %s:%u", addr, port);
    } else {
        snprintf(peer, peer_cap, "unix fd %d", fd);
    }
    return fd;
}

const char *otk_listener_where(const otk_listener_t *l)
{
    return l->where;
}

uint32_t otk_listener_baud(const otk_listener_t *l)
{
    return l->uri.baud;
}

void otk_listener_close(otk_listener_t *l)
{
    if (l == NULL) {
        return;
    }
    if (l->fd >= 0) {
        close(l->fd);
    }
    if (l->pty_slave >= 0) {
        close(l->pty_slave);
    }
    if (l->uri.kind == OTK_LINK_UNIX) {
        unlink(l->uri.path);
    }
    free(l);
}
