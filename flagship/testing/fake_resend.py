"""A local stand-in for Resend's HTTP API, driven through the real `resend` client.

`POST /emails` and `POST /emails/batch` answer like Resend: an id per email, and the same
answer again for a repeated `Idempotency-Key` (a retried call delivers nothing new). Every
request is recorded; `emails` maps each delivered email id to its request body. `hold`
makes the next answer wait until `release` is set (to kill a worker mid-call). Tests and
`flagship bench newsletter` use it; it listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeResend:
    def __init__(self, record_bodies: bool = True) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {}  # idempotency key → the answer given
        self.delivered: dict[str, dict[str, Any]] = {}  # email id → its params
        self.record_bodies = record_bodies
        self.hold = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                answer = fake.answer(self.path, dict(self.headers), body)
                if fake.hold.is_set():
                    fake.hold.clear()
                    fake.release.wait(30)
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, headers: dict[str, str], body: Any) -> Any:
        key = headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append(
                {"path": path, "headers": headers, "json": body if self.record_bodies else None}
            )
            if key is not None and key in self.answers:
                return self.answers[key]
            batch = path.rstrip("/").endswith("/batch")
            ids = []
            for params in body if batch else [body]:
                email_id = f"email-{len(self.delivered) + 1}"
                self.delivered[email_id] = params if self.record_bodies else {"to": params["to"]}
                ids.append(email_id)
            answer = {"data": [{"id": i} for i in ids]} if batch else {"id": ids[0]}
            if key is not None:
                self.answers[key] = answer
            return answer

    @property
    def emails(self) -> dict[str, str]:
        """Idempotency key → the first email id it delivered (single sends)."""
        return {k: (a["id"] if "id" in a else a["data"][0]["id"]) for k, a in self.answers.items()}

    def __enter__(self) -> FakeResend:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
