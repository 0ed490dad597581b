"""Transports (docs/protocol.md, section 2): where the frames travel.

    unix:PATH                  a Unix stream socket
    tcp://HOST:PORT            TCP (the device requires the token: Hello + Auth)
    serial:/dev/ttyX[?baud=N]  a tty in raw mode (8N1, no flow control, no echo); the
                               slave end of the pty an `otakit-device --listen pty` made

?baud=N models a UART: this side sends at most N/10 bytes per second (a real tty's line
speed is set too). No pyserial: os.open and termios are enough.
"""

import errno
import os
import select
import socket
import termios
import time

from .errors import LinkError, LocalError

UART_BITS_PER_BYTE = 10
RATE_BURST = 128  # bytes a sender may push at once after an idle pause (a UART's FIFO)
TCP_DEFAULT_HOST = "127.0.0.1"


class Uri:
    """A parsed device URI: kind ("unix", "tcp", "serial"), path, host, port, baud."""

    def __init__(self, kind, path="", host="", port=0, baud=0):
        self.kind, self.path, self.host, self.port, self.baud = kind, path, host, port, baud

    def __str__(self):
        if self.kind == "unix":
            return "unix:" + self.path
        if self.kind == "tcp":
            host = self.host or TCP_DEFAULT_HOST
            return "tcp://%s:%d" % ("[%s]" % host if ":" in host else host, self.port)
        return "serial:%s%s" % (self.path, "?baud=%d" % self.baud if self.baud else "")


def _baud(text, query):
    if not query:
        return 0
    if not query.startswith("baud="):
        raise LocalError("'%s': the only option is ?baud=N (a UART's bit rate)" % text)
    try:
        baud = int(query[5:], 10)
    except ValueError:
        baud = -1
    if not UART_BITS_PER_BYTE <= baud <= 100000000:
        raise LocalError("'%s': baud must be a number from 10 to 100000000" % text)
    return baud


def parse_uri(text):
    if text.startswith("unix:"):
        path = text[5:]
        path = path[2:] if path.startswith("//") else path  # unix:///tmp/d.sock
        if not path:
            raise LocalError("'%s': the path is empty" % text)
        return Uri("unix", path=path)
    if text.startswith("tcp://"):
        rest = text[6:]
        host, sep, port = rest.rpartition(":")
        if not sep:
            raise LocalError("'%s': expected tcp://HOST:PORT" % text)
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not port.isdigit() or int(port) > 65535:
            raise LocalError("'%s': the port must be a number from 0 to 65535" % text)
        return Uri("tcp", host=host, port=int(port))
    if text.startswith("serial:"):
        path, _, query = text[7:].partition("?")
        if not path:
            raise LocalError("'%s': the path is empty" % text)
        return Uri("serial", path=path, baud=_baud(text, query))
    if text == "pty" or text.startswith("pty?"):
        raise LocalError("'%s': pty is a device-side URI; a host opens the serial:/dev/pts/N "
                         "the device logs" % text)
    raise LocalError("'%s': expected unix:PATH, tcp://HOST:PORT or serial:TTY[?baud=N]" % text)


class Rate:
    """A UART's pace: at most baud/10 bytes per second, a FIFO's worth at once."""

    def __init__(self, baud):
        self.bytes_per_s = baud // UART_BITS_PER_BYTE if baud else 0
        self.t0 = None
        self.sent = 0

    def allow(self, want):
        """(bytes that may go now, seconds to wait when none may)."""
        if not self.bytes_per_s:
            return want, 0.0
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
        budget = int((now - self.t0) * self.bytes_per_s) + RATE_BURST
        if budget > self.sent + RATE_BURST:  # idle: a UART does not save up bit times
            self.t0, self.sent, budget = now, 0, RATE_BURST
        n = min(want, budget - self.sent)
        if n > 0:
            return n, 0.0
        return 0, (self.sent - budget + 1) / self.bytes_per_s

    def spent(self, n):
        self.sent += n


class Link:
    """One open link: read what has arrived, write whole frames. An fd (a socket's or a
    tty's) in non-blocking mode, waited on with poll."""

    def __init__(self, uri, fd, owner=None, baud=0, drop_at=None):
        self.uri = uri
        self.fd = fd
        self._owner = owner  # the socket object (keeps the fd alive), or None for a tty
        self.rate = Rate(baud)
        self.drop_at = drop_at  # tests: cut the link after this many bytes (sent + received)
        self.moved = 0
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)

    def _count(self, n):
        self.moved += n

    def read(self, cap, timeout):
        """Up to cap bytes, waiting at most timeout seconds for the first; b"" when none
        came. LinkError when the link is down."""
        if self.fd is None:
            raise LinkError("%s: not connected" % self.uri)
        if not self._poll.poll(max(0, int(timeout * 1000 + 0.999))):
            return b""
        try:
            data = os.read(self.fd, cap)
        except BlockingIOError:
            return b""
        except OSError as e:
            raise LinkError("%s: the link went down (receiving: %s)" % (self.uri, e.strerror))
        if not data:
            raise LinkError("%s: the link went down (closed by the device)" % self.uri)
        self._count(len(data))
        if self.drop_at is not None and self.moved >= self.drop_at:
            self.close()
            raise LinkError("%s: the link went down (dropped on purpose after %d bytes)"
                            % (self.uri, self.drop_at))
        return data

    def write(self, data, timeout):
        """Send all of data within timeout seconds, else LinkError."""
        if self.fd is None:
            raise LinkError("%s: not connected" % self.uri)
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        cut = self.drop_at is not None and self.moved + len(view) >= self.drop_at
        if cut:
            view = view[:max(0, self.drop_at - self.moved)]
        out = select.poll()
        out.register(self.fd, select.POLLOUT)
        while view:
            n, wait = self.rate.allow(len(view))
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkError("%s: the link went down (sending: no room for %.1f s)"
                                % (self.uri, timeout))
            if n == 0:
                time.sleep(min(wait, left))
                continue
            if not out.poll(int(left * 1000 + 0.999)):
                continue
            try:
                sent = os.write(self.fd, view[:n])
            except BlockingIOError:
                continue
            except OSError as e:
                raise LinkError("%s: the link went down (sending: %s)" % (self.uri, e.strerror))
            self.rate.spent(sent)
            self._count(sent)
            view = view[sent:]
        if cut:
            self.close()
            raise LinkError("%s: the link went down (dropped on purpose after %d bytes)"
                            % (self.uri, self.drop_at))

    def close(self):
        if self.fd is None:
            return
        if self._owner is not None:
            self._owner.close()
        else:
            os.close(self.fd)
        self.fd = None


def make_raw(fd, baud):
    """cfmakeraw, plus: no flow control, a read returns what has arrived, the line speed."""
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
    iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP |
               termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON |
               termios.IXOFF | termios.IXANY)
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | getattr(termios, "CRTSCTS", 0))
    cflag |= termios.CS8 | termios.CLOCAL | termios.CREAD
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    speed = getattr(termios, "B%d" % baud, None) if baud else None
    if speed is not None:
        ispeed = ospeed = speed
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, ispeed, ospeed, cc])


def open_link(uri, timeout=2.0, baud=None, drop_at=None):
    """Connect to a device (unix, tcp) or open its tty (raw mode; input already queued is
    discarded: it is not ours). baud (tests) sends at a UART's pace on any transport;
    by default only a serial URI's ?baud=N does."""
    if isinstance(uri, str):
        uri = parse_uri(uri)
    pace = baud if baud is not None else uri.baud
    if uri.kind == "serial":
        try:
            fd = os.open(uri.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise LinkError("serial:%s: cannot open: %s" % (uri.path, e.strerror)) from None
        try:
            make_raw(fd, uri.baud)
            termios.tcflush(fd, termios.TCIFLUSH)
        except termios.error as e:
            os.close(fd)
            raise LocalError("serial:%s: not a tty: %s" % (uri.path, e.args[-1])) from None
        return Link(uri, fd, baud=pace, drop_at=drop_at)
    if uri.kind == "tcp" and uri.port == 0:
        raise LocalError("%s: a host needs the device's port (the device's log says which)"
                         % uri)
    if uri.kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        addr = uri.path
    else:
        host = uri.host or TCP_DEFAULT_HOST
        try:
            info = socket.getaddrinfo(host, uri.port, type=socket.SOCK_STREAM)[0]
        except socket.gaierror as e:
            raise LinkError("%s: cannot connect: %s" % (uri, e.strerror)) from None
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        addr = info[4]
    try:
        sock.settimeout(timeout)
        sock.connect(addr)
        sock.setblocking(False)
        if uri.kind == "tcp":
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as e:
        sock.close()
        why = e.strerror or str(e)
        if e.errno == errno.ENOENT:
            why = "no such socket"
        raise LinkError("%s: cannot connect: %s" % (uri, why)) from None
    return Link(uri, sock.fileno(), owner=sock, baud=pace, drop_at=drop_at)
