"""A local webhook receiver for tests and the events bench: a real HTTP server on a free
loopback port that records every request and answers as told (200, 500, a redirect, a
timeout, a connection reset, a slow drip, an oversized body), over http or, given an
`ssl.SSLContext` as `tls`, over https.

    with Receiver() as rx:                       # answers 200
        ...  rx.url  ... rx.wait_for(3)  ... rx.received[0].headers["webhook-id"]

    with Receiver(lambda n, req: Reply(status=500)) as rx: ...

`behaviour(n, request)` is called for the n-th request (0-based) and returns a `Reply`.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.time() when the body had arrived


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a timeout when over the read timeout)
    reset: bool = False  # abort the connection with a TCP reset instead of answering
    drip: float = 0.0  # seconds between body bytes (a slow response)
    hold: threading.Event | None = None  # wait for this before answering


Behaviour = Callable[[int, Received], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real receivers
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms ACK wait
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        request = Received(
            self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
        )
        reply = self.server.receiver.record(request)
        if reply.hold is not None:
            reply.hold.wait(30)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            if reply.drip:
                for i in range(len(reply.body)):
                    self.wfile.write(reply.body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(reply.drip)
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.server.receiver.note_write_failed()
            self.close_connection = True


class Receiver:
    """The server; `received` lists the requests in arrival order."""

    def __init__(
        self, behaviour: Behaviour | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.behaviour = behaviour or (lambda n, request: Reply())
        self.scheme = "https" if tls else "http"
        self.received: list[Received] = []
        self.write_failures = 0
        self._cond = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/hook"

    def record(self, request: Received) -> Reply:
        with self._cond:
            n = len(self.received)
            self.received.append(request)
            self._cond.notify_all()
        return self.behaviour(n, request)

    def note_write_failed(self) -> None:
        with self._cond:
            self.write_failures += 1

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until `count` requests have arrived (or raise TimeoutError)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} requests arrived")
                self._cond.wait(remaining)
            return list(self.received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
