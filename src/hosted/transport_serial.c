/* Serial lines: a tty in raw mode (a real UART, or the slave end of a pty), and the pty
 * pair a device creates so a host on the same machine has a serial port to open.
 *
 * The rate limit that models a UART's speed is applied by the writers (link_fd.c on the
 * host, server.c on the device), since a pty moves bytes as fast as memory does. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hosted_internal.h"

/* The termios speed for a standard bit rate; B0 when there is none (a pty, or a rate a
 * real UART driver would need a custom divisor for: the rate model still applies). */
static speed_t speed_of(uint32_t baud)
{
    static const struct {
        uint32_t baud;
        speed_t speed;
    } table[] = {{9600, B9600},     {19200, B19200},   {38400, B38400},
                 {57600, B57600},   {115200, B115200}, {230400, B230400},
                 {460800, B460800}, {921600, B921600}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].baud == baud) {
            return table[i].speed;
        }
    }
    return B0;
}

/* Raw bytes: no echo, no line editing, no CR/LF translation, no flow-control characters,
 * 8 data bits. A read returns whatever has arrived. */
esp_err_t serial_make_raw(int fd, uint32_t baud, const char *path, otk_diag_t *diag)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        otk_diag_set(diag, "serial:%s: not a tty: %s", path, strerror(errno));
        return ESP_ERR_INVALID_ARG;
    }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    speed_t speed = speed_of(baud);
    if (speed != B0) {
        cfsetispeed(&t, speed);
        cfsetospeed(&t, speed);
    }
    if (tcsetattr(fd, TCSANOW, &t) != 0) {
        otk_diag_set(diag, "serial:%s: cannot set raw mode: %s", path, strerror(errno));
        return ESP_FAIL;
    }
    return ESP_OK;
}

esp_err_t serial_open(const char *path, uint32_t baud, int *out, otk_diag_t *diag)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        otk_diag_set(diag, "serial:%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? ESP_ERR_NOT_FOUND : ESP_FAIL;
    }
    esp_err_t err = serial_make_raw(fd, baud, path, diag);
    if (err != ESP_OK) {
        close(fd);
        return err;
    }
    /* Bytes queued before we came (replies to a host that went away) are not ours. */
    tcflush(fd, TCIFLUSH);
    *out = fd;
    return ESP_OK;
}

esp_err_t pty_create(int *master_out, int *slave_out, char *path, size_t cap, otk_diag_t *diag)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
        otk_diag_set(diag, "pty: cannot create a pty pair: %s", strerror(errno));
        if (m >= 0) {
            close(m);
        }
        return ESP_FAIL;
    }
    const char *name = ptsname(m);
    if (name == NULL || strlen(name) >= cap) {
        otk_diag_set(diag, "pty: no slave name");
        close(m);
        return ESP_FAIL;
    }
    strcpy(path, name);
    /* The device keeps the slave end open itself: when a host closes it (to reconnect),
     * the master then sees no hang-up, and the raw mode set here stays in force. */
    int s = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        otk_diag_set(diag, "pty: cannot open %s: %s", path, strerror(errno));
        close(m);
        return ESP_FAIL;
    }
    esp_err_t err = serial_make_raw(s, 0, path, diag);
    if (err != ESP_OK) {
        close(s);
        close(m);
        return err;
    }
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    *master_out = m;
    *slave_out = s;
    return ESP_OK;
}
