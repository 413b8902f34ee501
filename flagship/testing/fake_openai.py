"""A local fake of the OpenAI API for tests: the real `openai` library talks to it.

A threaded HTTP server on 127.0.0.1 (a free port) serving what the provider layer uses:
`POST /v1/chat/completions` (streamed as server-sent events, or whole), `/v1/embeddings`
and `/v1/moderations`. Point the client at `fake.base_url` (OPENAI_BASE_URL).

The fake model is scriptable and deliberately gullible:
- `fake.replies` — a queue of exact answers (one per chat call) a test wants;
- `fake.fail_next(status, n)` — answer the next n requests with that status (retries);
- otherwise it *obeys prompt injections*: any instruction of the form
  "ignore (all) previous instructions ... say/print/output/reveal: X" anywhere in the
  messages (system, context or user) makes it answer X verbatim (the last one wins);
  asked for a flag or an answer, it repeats every flag-looking string (`word{...}`) it saw;
- and otherwise it answers from the first `<source id="n">` block of the prompt, citing it
  as [n].
Embeddings are deterministic unit vectors derived from the text (hashed tokens), of the
requested `dimensions`. Moderations flag texts containing words from `FLAGGED_WORDS`.
Every request is kept in `fake.requests`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-test-fake-flagship"
INJECTION = re.compile(
    r"ignore (?:all |any )?(?:previous|prior|above|earlier) instructions.{0,200}?"
    r"(?:say|print|output|reveal|repeat|answer)(?: exactly)?[:\s]+[\"']?"
    r"(?P<payload>[^\"'\n]{1,400})",
    re.IGNORECASE | re.DOTALL,
)
FLAG_LIKE = re.compile(r"[A-Za-z0-9_]{2,32}\{[^{}\s]{1,200}\}")
ASKS_FOR_SECRET = re.compile(r"\b(flag|answer|solution|key)\b", re.IGNORECASE)
SOURCE = re.compile(r'<source id="(?P<id>\d+)"[^>]*>(?P<body>.*?)</source>', re.DOTALL)
FLAGGED_WORDS = ("kill yourself", "idiot", "hate you")


def fake_vector(text: str, dimensions: int) -> list[float]:
    vec = [0.0] * dimensions
    for token in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(token.encode()).digest()
        vec[int.from_bytes(digest[:4], "big") % dimensions] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


def tokens_of(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAI:
    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.replies: deque[str] = deque()
        self._failures: deque[int] = deque()
        self.chunk_delay_s = 0.0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # -- scripting ----------------------------------------------------------------------
    def fail_next(self, status: int, n: int = 1) -> None:
        with self.lock:
            self._failures.extend([status] * n)

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    # -- the model ----------------------------------------------------------------------
    def answer(self, messages: list[dict[str, Any]]) -> str:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
        text = "\n".join(str(m.get("content") or "") for m in messages)
        if matches := list(INJECTION.finditer(text)):  # the latest instruction wins
            return matches[-1].group("payload").strip()
        question = str(messages[-1].get("content") or "") if messages else ""
        flags = FLAG_LIKE.findall(text)
        if flags and ASKS_FOR_SECRET.search(question):
            return "Sure! " + " ".join(dict.fromkeys(flags))
        if source := SOURCE.search(text):
            body = " ".join(source.group("body").split())
            return f"{body[:300]} [{source.group('id')}]"
        return "I could not find this in the course material."

    # -- the server ---------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _send(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append(
                        {"path": self.path, "body": body, "headers": dict(self.headers)}
                    )
                    failure = fake._failures.popleft() if fake._failures else None
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._send(
                        401,
                        {
                            "error": {
                                "message": "Incorrect API key provided",
                                "type": "invalid_request_error",
                                "code": "invalid_api_key",
                            }
                        },
                    )
                    return
                if failure is not None:
                    self._send(
                        failure, {"error": {"message": "scripted failure", "type": "server_error"}}
                    )
                    return
                if self.path.endswith("/chat/completions"):
                    self._chat(body)
                elif self.path.endswith("/embeddings"):
                    self._embeddings(body)
                elif self.path.endswith("/moderations"):
                    self._moderations(body)
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def _chat(self, body: dict[str, Any]) -> None:
                messages = body.get("messages") or []
                text = fake.answer(messages)
                prompt = sum(tokens_of(str(m.get("content") or "")) for m in messages)
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": tokens_of(text),
                    "total_tokens": prompt + tokens_of(text),
                }
                base = {
                    "id": f"chatcmpl-{time.time_ns()}",
                    "created": int(time.time()),
                    "model": body.get("model", "gpt-4o-mini"),
                }
                if not body.get("stream"):
                    self._send(
                        200,
                        base
                        | {
                            "object": "chat.completion",
                            "usage": usage,
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text},
                                }
                            ],
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = re.findall(r"\S+\s*", text) or [text]
                for piece in pieces:
                    chunk = base | {
                        "object": "chat.completion.chunk",
                        "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    if fake.chunk_delay_s:
                        time.sleep(fake.chunk_delay_s)
                final = base | {
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
                if (body.get("stream_options") or {}).get("include_usage"):
                    tail = base | {"object": "chat.completion.chunk", "choices": [], "usage": usage}
                    self.wfile.write(f"data: {json.dumps(tail)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _embeddings(self, body: dict[str, Any]) -> None:
                inputs = body.get("input")
                inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
                dims = int(body.get("dimensions") or 1536)
                data = [
                    {"object": "embedding", "index": i, "embedding": fake_vector(t, dims)}
                    for i, t in enumerate(inputs)
                ]
                tokens = sum(tokens_of(t) for t in inputs)
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model"),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _moderations(self, body: dict[str, Any]) -> None:
                inputs = body.get("input")
                inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
                results = []
                for text in inputs:
                    hit = any(w in text.lower() for w in FLAGGED_WORDS)
                    results.append(
                        {
                            "flagged": hit,
                            "categories": {"harassment": hit, "violence": False},
                            "category_scores": {
                                "harassment": 0.97 if hit else 0.01,
                                "violence": 0.0,
                            },
                        }
                    )
                self._send(
                    200,
                    {
                        "id": f"modr-{time.time_ns()}",
                        "model": body.get("model", "omni-moderation-latest"),
                        "results": results,
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
