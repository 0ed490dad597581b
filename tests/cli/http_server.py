#!/usr/bin/python3
"""A purpose-made misbehaving HTTP server for the source layer's tests (stdlib only).

nginx serves the real transfers; this one does what a well-behaved server never does, on
purpose and on request. It serves files under --root; the first path segments choose the
behaviour, the rest names the file:

  /plain/FILE              ranges honoured, ETag and Last-Modified sent
  /drop/K/FILE             every response closes the connection after K body bytes
  /drop-once/K/FILE        only the first response is cut after K bytes
  /norange-after/K/FILE    the first response is cut after K bytes; later requests ignore
                           Range (200 with everything)
  /swap/K/FILE:OTHER       the first response serves FILE cut after K bytes; later ones
                           serve OTHER and answer a range with 206 and OTHER's ETag
                           (ignoring If-Range), as a broken cache would
  /stall/K/FILE            headers and K body bytes, then nothing (the connection stays open)
  /chunked/FILE            chunked transfer encoding, no Content-Length, no ranges
  /status/CODE             that status with a short body

Every request is appended to --log as one line: "METHOD PATH RANGE IF-RANGE -> STATUS",
plus " token=VALUE" when the request carried an X-Token header.
The port (bound on 127.0.0.1, chosen by the system) is written to --port-file once the
server listens.
"""
import argparse
import hashlib
import http.server
import os
import socketserver
import sys
import threading
import time

STALL_SECONDS = 600  # far longer than any test's timeout; the client gives up first
CHUNK = 4096


class State:
    def __init__(self, root, log_path):
        self.root = root
        self.log_path = log_path
        self.lock = threading.Lock()
        self.seen = {}  # path -> requests so far

    def count(self, path):
        with self.lock:
            n = self.seen.get(path, 0)
            self.seen[path] = n + 1
            return n

    def log(self, line):
        with self.lock:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")


def etag_of(data):
    return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the request log is the record
        pass

    def note(self, status):
        token = self.headers.get("X-Token")
        self.server.state.log("%s %s %s %s -> %d%s" % (
            self.command, self.path, self.headers.get("Range", "-"),
            self.headers.get("If-Range", "-"), status,
            "" if token is None else " token=" + token))

    def read_file(self, name):
        path = os.path.join(self.server.state.root, name)
        with open(path, "rb") as f:
            return f.read()

    def parse_range(self, size):
        value = self.headers.get("Range")
        if not value or not value.startswith("bytes="):
            return None
        first, _, last = value[len("bytes="):].partition("-")
        first = int(first)
        last = int(last) if last else size - 1
        return first, min(last, size - 1)

    def send_body(self, status, data, headers, cut=None, stall=False):
        # Logged before the client can see anything: its next request is logged after.
        self.note(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        body = data if cut is None else data[:cut]
        for i in range(0, len(body), CHUNK):
            self.wfile.write(body[i:i + CHUNK])
        self.wfile.flush()
        if stall:
            time.sleep(STALL_SECONDS)
        if cut is not None or stall:
            self.close_connection = True

    def serve(self, data, cut=None, honour_range=True, etag=None, stall=False):
        etag = etag or etag_of(data)
        headers = [("ETag", etag), ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
                   ("Accept-Ranges", "bytes" if honour_range else "none")]
        rng = self.parse_range(len(data)) if honour_range else None
        if rng is not None:
            first, last = rng
            if first >= len(data):
                self.send_body(416, b"", [("Content-Range", "bytes */%d" % len(data))])
                return
            headers.append(("Content-Range", "bytes %d-%d/%d" % (first, last, len(data))))
            self.send_body(206, data[first:last + 1], headers, cut, stall)
        else:
            self.send_body(200, data, headers, cut, stall)

    def do_GET(self):
        parts = self.path.lstrip("/").split("/")
        mode = parts[0]
        n = self.server.state.count(self.path)
        try:
            if mode == "plain":
                self.serve(self.read_file(parts[1]))
            elif mode == "drop":
                self.serve(self.read_file(parts[2]), cut=int(parts[1]))
            elif mode == "drop-once":
                self.serve(self.read_file(parts[2]), cut=int(parts[1]) if n == 0 else None)
            elif mode == "norange-after":
                data = self.read_file(parts[2])
                if n == 0:
                    self.serve(data, cut=int(parts[1]))
                else:
                    self.serve(data, honour_range=False)
            elif mode == "swap":
                first, other = parts[2].split(":")
                if n == 0:
                    self.serve(self.read_file(first), cut=int(parts[1]))
                else:
                    self.serve(self.read_file(other))
            elif mode == "stall":
                self.serve(self.read_file(parts[2]), cut=int(parts[1]), stall=True)
            elif mode == "chunked":
                self.chunked(self.read_file(parts[1]))
            elif mode == "status":
                code = int(parts[1])
                self.send_body(code, b"status %d\n" % code, [("Content-Type", "text/plain")])
            else:
                self.send_body(404, b"unknown mode\n", [])
        except (FileNotFoundError, IndexError, ValueError):
            self.send_body(404, b"not found\n", [])
        except (BrokenPipeError, ConnectionResetError):
            pass

    def chunked(self, data):
        self.note(200)
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(data), CHUNK):
            piece = data[i:i + CHUNK]
            self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients hang up on purpose here (timeouts, kills): not worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(args.root, args.log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)  # the reader never sees half a number
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
