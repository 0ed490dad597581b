/* TCP: a host connects to HOST:PORT, a device binds 127.0.0.1 (unless the URI names
 * another address). Nagle is off on both ends: requests and replies are small frames in
 * a pipeline, and waiting to coalesce them would add a delay to every round trip. The
 * token check is the protocol's (Hello + Auth), not the transport's. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hosted_internal.h"

/* How long a host waits for a TCP handshake before calling the device unreachable. */
#define TCP_CONNECT_TIMEOUT_MS 5000
/* As for Unix sockets: one host at work, one being refused, one reconnecting. */
#define TCP_BACKLOG 4

static const char *host_of(const otk_link_uri_t *uri)
{
    return uri->host[0] != '\0' ? uri->host : OTK_LINK_TCP_DEFAULT_HOST;
}

void tcp_tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static esp_err_t resolve(const otk_link_uri_t *uri, bool passive, struct addrinfo **res,
                         otk_diag_t *diag)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)uri->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    int rc = getaddrinfo(host_of(uri), port, &hints, res);
    if (rc != 0) {
        otk_diag_set(diag, "tcp://%s:%s: %s", host_of(uri), port, gai_strerror(rc));
        return ESP_ERR_NOT_FOUND;
    }
    return ESP_OK;
}

/* A non-blocking connect that gives up after TCP_CONNECT_TIMEOUT_MS. */
static int connect_one(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (poll(&p, 1, TCP_CONNECT_TIMEOUT_MS) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            close(fd);
            errno = soerr != 0 ? soerr : ETIMEDOUT;
            return -1;
        }
    }
    tcp_tune(fd);
    return fd;
}

esp_err_t tcp_connect(const otk_link_uri_t *uri, int *out, otk_diag_t *diag)
{
    if (uri->port == 0) {
        otk_diag_set(diag, "tcp://%s:0: a host needs the device's port", host_of(uri));
        return ESP_ERR_INVALID_ARG;
    }
    struct addrinfo *res = NULL;
    esp_err_t err = resolve(uri, false, &res, diag);
    if (err != ESP_OK) {
        return err;
    }
    int fd = -1;
    int last = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai);
        last = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        otk_diag_set(diag, "tcp://%s:%u: cannot connect: %s", host_of(uri),
                     (unsigned)uri->port, strerror(last));
        return ESP_FAIL;
    }
    *out = fd;
    return ESP_OK;
}

esp_err_t tcp_listen(const otk_link_uri_t *uri, int *out, uint16_t *port, otk_diag_t *diag)
{
    struct addrinfo *res = NULL;
    esp_err_t err = resolve(uri, true, &res, diag);
    if (err != ESP_OK) {
        return err;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, TCP_BACKLOG) != 0) {
        otk_diag_set(diag, "tcp://%s:%u: cannot listen: %s", host_of(uri), (unsigned)uri->port,
                     strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(res);
        return ESP_FAIL;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    *port = uri->port;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    *out = fd;
    return ESP_OK;
}
