"""The host side of the control path (docs/protocol.md), as the C client does it
(include/otakit/hosted_client.h, src/hosted/client.c, push.c): one call per request, and
push, which sends a whole image with a window of pipelined writes, resumes after a dropped
link or a device reboot, activates it, waits for the reboot and checks what runs.

A client connects on its first call (open the link, Hello, Auth on TCP) and again after
disconnect(). A request that gets no answer is sent again with a fresh id (every request
is safe to repeat). Not thread-safe.
"""

import hashlib
import hmac
import os
import secrets
import time

from . import frame, proto
from .errors import (BAD_STATE, CRC_MISMATCH, GAP, OK, UNAUTHENTICATED, AnswerTimeout,
                     DeviceError, LinkError, LocalError, OtakitError, ProtocolError)
from .link import open_link, parse_uri

PROTOCOL = 1
DEFAULT_CHUNK = 4096
MIN_CHUNK = 288          # the first write carries header + segment header + app descriptor
TIMEOUT = 2.0            # seconds an answer may take before the request is sent again
RETRIES = 3              # times a request is sent again after a timeout
RTO_MIN = 0.2            # the retransmission timeout's floor (a scheduler's hiccup)
PUSH_RETRIES = 10        # reconnects in a row without progress before a push gives up
PUSH_WINDOW_MAX = 64
REBOOT_WAIT = 15.0
REBOOT_POLL = 0.1
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 1.0

SLOT_STATE_NAMES = ["-", "NEW", "PENDING_VERIFY", "VALID", "INVALID", "ABORTED", "UNDEFINED"]
SESSION_STATE_NAMES = ["none", "receiving", "suspended", "verified", "failed", "activated"]


def slot_state_name(state):
    return SLOT_STATE_NAMES[state] if 0 <= state < len(SLOT_STATE_NAMES) else "?"


def session_state_name(state):
    return SESSION_STATE_NAMES[state] if 0 <= state < len(SESSION_STATE_NAMES) else "?"


def auth_mac(token, nonce):
    """Auth.mac: HMAC-SHA256(key = token, message = the latest HelloReply's nonce)."""
    if isinstance(token, str):
        token = token.encode()
    return hmac.new(token, nonce, hashlib.sha256).digest()


class Progress:
    """What push is doing: event ("connect", "begin", "write", "retry", "reconnect", "end",
    "activate", "reboot", "done"), acked (bytes the device has, contiguous from 0), size,
    detail (a line, or None)."""

    __slots__ = ("event", "acked", "size", "detail")

    def __init__(self, event, acked, size, detail):
        self.event, self.acked, self.size, self.detail = event, acked, size, detail

    def __repr__(self):
        return "Progress(%r, %d/%d, %r)" % (self.event, self.acked, self.size, self.detail)


class PushResult:
    """What a push did (the fields of the C client's otk_hosted_push_result_t)."""

    def __init__(self, size):
        self.slot = ""
        self.size = size
        self.chunk = 0
        self.window = 0
        self.resumed_from = 0  # where the first Begin said to start (0: a fresh session)
        self.resumes = 0       # Begins that continued the session (after the first)
        self.resumed_at = 0    # where the last of them continued
        self.connects = 0      # links opened
        self.timeouts = 0      # windows sent again after no answer
        self.rewinds = 0       # windows sent again after a GAP answer
        self.writes = 0        # Write requests sent
        self.bytes_sent = 0    # Write data bytes sent (with resends)
        self.transfer_s = 0.0  # from the first Begin to End's answer
        self.image = None      # AppInfo End verified
        self.activated = False
        self.rebooted = False
        self.running_slot = ""
        self.running = None    # AppInfo after the reboot
        self.running_state = 0
        self.runs_image = False


class Client:
    """A client for the device at uri ("unix:PATH", "tcp://HOST:PORT", "serial:TTY").

    token: TCP's shared secret (default $OTAKIT_TOKEN). timeout: seconds an answer may take
    before a request is sent again (the ceiling of the retransmission timeout); retries:
    times it is sent again. Testing hooks: baud sends at a UART's pace on any link;
    drop_at cuts the first link after that many bytes.
    """

    def __init__(self, uri, token=None, timeout=TIMEOUT, retries=RETRIES, name="otakit_host",
                 baud=None, drop_at=None, proto_path=None):
        self.msg = proto.load(proto_path)
        self.uri = parse_uri(uri) if isinstance(uri, str) else uri
        if token is None:
            token = os.environ.get("OTAKIT_TOKEN") or None
        self.token = token.encode() if isinstance(token, str) else token
        self.timeout = timeout
        self.retries = retries
        self.name = name
        self.baud = baud
        self.drop_at = drop_at
        self.link = None
        self.connected = False
        self.hello_info = None  # the latest HelloReply
        self.last_esp_err = 0
        self.connects = 0
        self._dec = frame.Decoder(frame.MAX_PAYLOAD)
        # Ids start at a random place so answers to an earlier host still queued on a
        # serial line cannot be taken for ours.
        self._next_id = secrets.randbits(32)
        self._srtt = None
        self._rttvar = 0.0
        self._line_dirty = True  # whoever used a serial line before may have left half a frame
        self._links_opened = 0

    # ---- plumbing ------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.disconnect()

    def disconnect(self):
        if self.link is not None:
            self.link.close()
            self.link = None
        self.connected = False
        self._dec.reset()

    def _link_down(self, err):
        self.disconnect()
        self._line_dirty = True
        return err

    def rto(self, tries=0):
        """The retransmission timeout (RFC 6298's estimator, 0.2 s .. timeout), doubled per
        try without an answer."""
        rto = self._srtt + 4 * self._rttvar if self._srtt is not None else self.timeout
        rto = max(rto, RTO_MIN)
        for _ in range(tries):
            if rto >= self.timeout:
                break
            rto *= 2
        return min(rto, self.timeout)

    def _rtt_sample(self, m):
        if self._srtt is None:
            self._srtt, self._rttvar = m, m / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - m)
            self._srtt = 0.875 * self._srtt + 0.125 * m

    def _frame(self, req):
        """Give req a fresh id; its frame."""
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF or 1  # 0 answers an unreadable request
        req.id = self._next_id
        payload = req.SerializeToString()
        if len(payload) > frame.MAX_PAYLOAD:
            raise LocalError("a request of %d bytes is over the frame limit" % len(payload))
        return frame.encode(payload)

    def _send_raw(self, data):
        if self.link is None:
            raise LinkError("%s: not connected" % self.uri)
        try:
            self.link.write(data, self.timeout)
        except LinkError as e:
            raise self._link_down(e)

    def _send(self, req):
        """Send req with a fresh id; returns the id."""
        data = self._frame(req)
        self._send_raw(data)
        return req.id

    def _recv(self, timeout):
        """The next Response, or None when none came within timeout seconds (0: only what
        has arrived already). LinkError when the link went down."""
        deadline = time.monotonic() + timeout
        while True:
            for payload in self._dec:
                r = self.msg.Response()
                try:
                    r.ParseFromString(payload)
                except Exception:  # DecodeError: a frame that holds no Response
                    continue
                return r
            if self.link is None:
                raise LinkError("%s: not connected" % self.uri)
            left = deadline - time.monotonic()
            try:
                data = self.link.read(65536, max(left, 0))
            except LinkError as e:
                raise self._link_down(e)
            if data:
                self._dec.feed(data)
            elif left <= 0:
                return None

    def _exchange(self, req):
        """Send req and wait for its answer, sending again (fresh id) after a timeout."""
        for attempt in range(self.retries + 1):
            rid = self._send(req)
            sent = time.monotonic()
            self._line_dirty = True  # until an answer comes the request may be cut short
            deadline = sent + self.rto(attempt)
            while True:
                left = deadline - time.monotonic()
                r = self._recv(left) if left > 0 else None
                if r is None:
                    break
                if r.id == rid:
                    self._line_dirty = False
                    self._rtt_sample(time.monotonic() - sent)
                    return r
                # else: a late answer to an earlier try
        raise AnswerTimeout("%s: no answer after %d tries (the last waited %d ms)"
                            % (self.uri, self.retries + 1, self.rto(self.retries) * 1000))

    def _result(self, r):
        self.last_esp_err = r.esp_err
        if r.result != OK:
            raise DeviceError(r)
        return r

    # ---- connect -------------------------------------------------------------------------
    def connect(self):
        """Open the link, Hello (the capability query), and Auth when the device asks for
        the token. Returns the HelloReply."""
        self.disconnect()
        drop_at = self.drop_at if self._links_opened == 0 else None
        self.link = open_link(self.uri, self.timeout, baud=self.baud, drop_at=drop_at)
        self._links_opened += 1
        try:
            if self.uri.kind == "serial" and self._line_dirty:
                # A frame's worth of zeros completes any half frame the device still holds
                # from an earlier host (it fails its CRC) instead of swallowing our Hello.
                self._send_raw(bytes(frame.MAX_FRAME))
            reply = self.hello()
            if reply.auth_required:
                self.auth()
        except OtakitError:
            self.disconnect()
            raise
        self.connects += 1
        self._line_dirty = False
        self.connected = True
        return reply

    def hello(self):
        """Hello -> HelloReply (protocol, max_chunk, window, max_frame, auth_required,
        nonce, boot_id, power_ons, device). Allowed before Auth, any number of times."""
        if self.link is None:
            return self.connect()
        r = self._result(self._exchange(self.msg.Request(
            hello=self.msg.Hello(protocol=PROTOCOL, client=self.name))))
        if r.WhichOneof("body") != "hello":
            raise ProtocolError("%s: the answer to Hello is not a HelloReply" % self.uri)
        self.hello_info = r.hello
        return r.hello

    def capabilities(self):
        """The device's HelloReply as a dict (connecting first when needed)."""
        if not self.connected:
            self.connect()
        h = self.hello_info
        return {"protocol": h.protocol, "max_chunk": h.max_chunk, "window": h.window,
                "max_frame": h.max_frame, "auth_required": h.auth_required,
                "boot_id": h.boot_id, "power_ons": h.power_ons, "device": h.device}

    def auth(self, token=None):
        """Auth with HMAC-SHA256(token, the latest nonce). A wrong token: DeviceError
        UNAUTHENTICATED, and the device closes the link."""
        token = token if token is not None else self.token
        if not token:
            raise OtakitError(UNAUTHENTICATED, "%s: the device needs the shared-secret token "
                              "(--token or OTAKIT_TOKEN)" % self.uri)
        if self.hello_info is None:
            raise LocalError("Auth needs a HelloReply's nonce: call hello() first")
        mac = auth_mac(token, self.hello_info.nonce)
        self._result(self._exchange(self.msg.Request(auth=self.msg.Auth(mac=mac))))

    def _call(self, want=None, **body):
        """One request, connecting first when needed; the answer (OK) with its reply."""
        if not self.connected:
            self.connect()
        r = self._result(self._exchange(self.msg.Request(**body)))
        if want is not None and r.WhichOneof("body") != want:
            raise ProtocolError("%s: an answer without the expected %s reply" % (self.uri, want))
        return r

    # ---- one call each -------------------------------------------------------------------
    def begin(self, image_size, sha256, chunk_size=DEFAULT_CHUNK):
        """Begin -> BeginReply (slot, slot_address, slot_size, next_offset, resumed,
        replaced): write from next_offset."""
        return self._call("begin", begin=self.msg.Begin(
            image_size=image_size, sha256=sha256, chunk_size=chunk_size)).begin

    def write(self, offset, data):
        """One Write, answered before it returns -> WriteReply (next_offset, duplicate).
        A GAP raises DeviceError whose .response.write.next_offset says where to go on."""
        return self._call("write", write=self.msg.Write(
            offset=offset, data=data, crc32=frame.crc32(data))).write

    def end(self):
        """End -> EndReply (app: the verified image's AppInfo, slot)."""
        return self._call("end", end=self.msg.End()).end

    def activate(self, reboot_delay_ms=0):
        self._call(activate=self.msg.Activate(reboot_delay_ms=reboot_delay_ms))

    def abort(self):
        self._call(abort=self.msg.Abort())

    def status(self):
        """Status -> StatusReply (running, running_slot, slots, session, link, boot_id,
        power_ons, chip)."""
        return self._call("status", status=self.msg.Status()).status

    def confirm(self):
        self._call(confirm=self.msg.Confirm())

    def rollback(self, reboot_delay_ms=0):
        self._call(rollback=self.msg.Rollback(reboot_delay_ms=reboot_delay_ms))

    def reboot(self, reboot_delay_ms=0):
        self._call(reboot=self.msg.Reboot(reboot_delay_ms=reboot_delay_ms))

    def wait_reboot(self, before_boot_id, timeout=REBOOT_WAIT):
        """Wait until the device answers Hello with a boot id other than before_boot_id."""
        if self.connected and self.hello_info.boot_id != before_boot_id:
            return
        deadline = time.monotonic() + timeout
        saved = self.timeout, self.retries
        self.timeout, self.retries = min(self.timeout, 0.5), 0
        last = "no answer"
        try:
            if self.connected and self.uri.kind != "serial":
                # A rebooting device drops every socket link: wait for ours to go down.
                try:
                    while self.link is not None and time.monotonic() < deadline:
                        self._recv(deadline - time.monotonic())
                except LinkError:
                    pass
            while time.monotonic() < deadline:
                try:
                    if self.connected and self.uri.kind == "serial":
                        self.hello()  # a serial line stays open across the reboot
                    else:
                        self.connect()
                    if self.hello_info.boot_id != before_boot_id:
                        return
                    last = "the device has not rebooted yet"
                except LocalError:
                    raise
                except OtakitError as e:
                    if e.code == UNAUTHENTICATED:
                        raise
                    last = e.message
                if self.uri.kind != "serial":
                    self.disconnect()
                time.sleep(REBOOT_POLL)
        finally:
            self.timeout, self.retries = saved
        raise AnswerTimeout("%s: the device did not come back within %d ms (%s)"
                            % (self.uri, timeout * 1000, last))

    # ---- push ----------------------------------------------------------------------------
    def push(self, image, chunk=None, window=None, activate=True, progress=None,
             retries=PUSH_RETRIES, reboot_wait=REBOOT_WAIT):
        """Push image (bytes): Begin (resumes what the device already has of it), writes
        with up to window in flight, End; after a dropped link, a timeout or a device
        reboot, connect again and Begin again. With activate: Activate, wait for the
        reboot, check the device runs the image. Returns a PushResult; raises
        OtakitError (code, message, esp_err) for the step that failed, with
        .push_result saying how far it got."""
        image = bytes(image)
        if not image or len(image) > 0xFFFFFFFF:
            raise LocalError("an image of %d bytes cannot be pushed" % len(image))
        job = _Push(self, image, chunk, window, activate, progress, retries, reboot_wait)
        try:
            return job.run()
        except OtakitError as e:
            e.push_result = job.res  # how far it got
            raise


class _Push:
    """Go-back-N over the window: writes go out back to back up to the window; every
    answer carries the device's next expected offset. A GAP (or CRC_MISMATCH) answer to a
    write in flight, or no answer within the retransmission timeout, sends everything
    again from the device's offset; answers to writes sent before that are ignored."""

    def __init__(self, client, image, chunk, window, activate, progress, retries, reboot_wait):
        self.c = client
        self.image = image
        self.size = len(image)
        self.sha = hashlib.sha256(image).digest()
        self.want_chunk = chunk
        self.want_window = window
        self.activate_after = activate
        self.progress_cb = progress
        self.retries = retries
        self.reboot_wait = reboot_wait
        self.res = PushResult(self.size)
        self.chunk = DEFAULT_CHUNK
        self.window = 1
        self.acked = 0
        self.sent = 0
        self.inflight = []  # [id, offset, length, time sent], oldest first
        self.t_begin = None

    def progress(self, event, detail=None):
        if self.progress_cb is not None:
            self.progress_cb(Progress(event, self.acked, self.size, detail))

    def rewind(self, offset):
        self.inflight = []
        self.acked = self.sent = offset

    def begin(self, first):
        c = self.c
        if not c.connected:
            self.progress("connect", str(c.uri))
            c.connect()
            self.res.connects += 1
        h = c.hello_info
        max_chunk = h.max_chunk or DEFAULT_CHUNK
        self.chunk = min(self.want_chunk or DEFAULT_CHUNK, max_chunk)
        self.window = max(1, min(self.want_window or h.window or 1, PUSH_WINDOW_MAX))
        if first:
            self.t_begin = time.monotonic()
        b = c.begin(self.size, self.sha, self.chunk)
        self.res.slot = b.slot
        self.res.chunk, self.res.window = self.chunk, self.window
        if first:
            self.res.resumed_from = b.next_offset
        elif b.resumed:
            self.res.resumes += 1
            self.res.resumed_at = b.next_offset
        self.rewind(b.next_offset)
        self.progress("begin", "%s: %s at %d" % (b.slot, "resumed" if b.resumed else
                                                 "new session", b.next_offset))

    def take(self, r):
        """One answer. Raises DeviceError when the device refused what retrying cannot
        fix."""
        idx = next((i for i, f in enumerate(self.inflight) if f[0] == r.id), -1)
        if idx >= 0:
            self.c._rtt_sample(time.monotonic() - self.inflight[idx][3])
            del self.inflight[idx]
        nxt = r.write.next_offset if r.WhichOneof("body") == "write" else self.acked
        if r.result == OK:
            self.acked = max(self.acked, nxt)  # the device's count only grows in a session
        elif r.result in (GAP, CRC_MISMATCH):
            # A write before this one was lost. Only an answer to a write still in flight
            # counts: the rest of an abandoned window says the same thing again.
            if idx >= 0:
                self.res.rewinds += 1
                self.rewind(nxt)
        elif not (idx < 0 and r.result == BAD_STATE):  # else: an old answer from before
            self.c._result(r)

    def stream(self):
        """Writes until the device has every byte."""
        c = self.c
        silent = 0
        image, size = self.image, self.size
        Request, Write = c.msg.Request, c.msg.Write
        while self.acked < size:
            self.sent = max(self.sent, self.acked)
            burst = []
            while len(self.inflight) < self.window and self.sent < size:
                n = min(self.chunk, size - self.sent)
                data = image[self.sent:self.sent + n]
                req = Request(write=Write(offset=self.sent, data=data, crc32=frame.crc32(data)))
                burst.append(c._frame(req))
                self.inflight.append([req.id, self.sent, n, 0.0])
                self.sent += n
                self.res.writes += 1
                self.res.bytes_sent += n
            if burst:
                now = time.monotonic()
                for f in self.inflight[-len(burst):]:
                    f[3] = now
                c._send_raw(b"".join(burst))  # the refill goes out as one burst
            due = self.inflight[0][3] + c.rto(silent) if self.inflight else time.monotonic()
            r = c._recv(max(due - time.monotonic(), 0.001))
            if r is None:
                self.res.timeouts += 1
                silent += 1
                if silent > c.retries:
                    raise AnswerTimeout("no answer to %d windows in a row" % silent)
                self.rewind(self.acked)
                self.progress("retry", "no answer: sending again from the device's offset")
                continue
            before = self.acked
            # Every answer already here before refilling the window: one write per answer
            # turns a pipeline into a ping-pong that waits for the scheduler at each step.
            while r is not None:
                self.take(r)
                r = c._recv(0) if self.inflight else None
            if self.acked > before:
                silent = 0
                self.progress("write")

    def transfer(self):
        """Begin, stream, End until End passes, reconnecting after link trouble."""
        first = True
        failures = 0
        best = 0
        while True:
            begun = False
            try:
                self.begin(first)
                first, begun = False, True
                self.stream()
                self.res.image = self.c.end().app
                return
            except (LinkError, AnswerTimeout) as e:
                err = e
            except DeviceError as e:
                # After Begin, BAD_STATE means the session moved under us (the device
                # rebooted and kept it suspended): Begin again says where it stands.
                if not begun or e.code != BAD_STATE:
                    raise  # Begin refused (busy, the image, the device's state), or final
                err = e
            if self.acked > best:
                best, failures = self.acked, 0  # progress: the failures count starts over
            failures += 1
            if failures > self.retries:
                raise err
            self.c.disconnect()
            self.progress("reconnect", err.message)
            if failures > 1:  # straight back after progress; then doubling waits
                time.sleep(min(BACKOFF_FIRST * (1 << min(failures - 2, 5)), BACKOFF_MAX))

    def activate(self):
        c, res = self.c, self.res
        before = c.hello_info.boot_id
        try:
            c.activate()
        except (LinkError, AnswerTimeout):
            # The answer was lost. Not rebooted yet: Activate again (it answers OK again,
            # or does it now); rebooted already: the status below says into what.
            c.connect()
            if c.hello_info.boot_id == before:
                c.activate()
        res.activated = True
        self.progress("activate", res.slot)
        c.wait_reboot(before, self.reboot_wait)
        res.rebooted = True
        self.progress("reboot")
        st = c.status()
        res.running_slot = st.running_slot
        res.running = st.running if st.HasField("running") else None
        for s in st.slots:
            if s.running:
                res.running_state = s.state
        res.runs_image = (st.running_slot == res.slot and res.running is not None and
                          res.image is not None and
                          res.running.project_name == res.image.project_name and
                          res.running.version == res.image.version and
                          res.running.elf_sha256 == res.image.elf_sha256)
        if not res.runs_image:
            run = res.running
            raise OtakitError(12, "after the reboot the device runs %s %s from %s (%s), not "
                              "the pushed image in %s" % (
                                  run.project_name if run else "?", run.version if run else "?",
                                  st.running_slot, slot_state_name(res.running_state),
                                  res.slot))

    def run(self):
        try:
            self.transfer()
        finally:
            if self.t_begin is not None:
                self.res.transfer_s = time.monotonic() - self.t_begin
        self.progress("end", self.res.slot)
        if self.activate_after:
            self.activate()
        self.progress("done")
        return self.res
