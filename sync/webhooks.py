"""Outgoing webhooks: claim due deliveries, sign them (Standard Webhooks), send, record.

The worker loop (`sync.worker.Worker`) runs `WebhookQueue.run_once` after each outbox batch.
Deliveries are rows of `events.deliveries`, queued in the same transaction as the event (the
fan-out trigger on `ops.outbox`); this module never decides who receives what.

- Signing: the official `standardwebhooks` library. `webhook-id` is the message id (the same
  for every attempt and replay: the receiver's idempotency key), `webhook-timestamp` the
  attempt's Unix time, `webhook-signature` one `v1,<base64>` per live secret, space-separated
  (during a rotation's overlap: the new secret's first, then the old one's).
- Destinations: `sync.ssrf` resolves the URL once and the connection goes to that address
  (the Host header, TLS server name and certificate check use the URL's name); no redirect
  is followed; connect and read timeouts; at most `max_response_bytes` of the answer is read.
- Retries: Svix's schedule — immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — each
  delay with ±10 % jitter and multiplied by `retry_scale`; the delivery fails after the
  eighth attempt. An endpoint whose attempts have all failed for `disable_after` (5 days) is
  disabled by `events.finish_deliveries`, and its owner emailed.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import certifi
import psycopg
import urllib3
from standardwebhooks.webhooks import Webhook

from flagship.logs import logger
from sync import ssrf
from sync.settings import WebhookSettings

log = logger("sync.webhooks")
CHANNEL = "events_deliveries"  # notified when a delivery is queued outside the outbox (replay)
USER_AGENT = "Flagship-Webhooks/1"
# Seconds before attempt n + 1 after attempt n failed (n = 1..7): Svix's schedule.
SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.1
LOG_BODY_CHARS = 2048
PIPELINE_TICK = 0.02  # seconds: how often a busy queue records results and claims again


def retry_delay(attempt: int, scale: float = 1.0) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based) before the next one."""
    base = SCHEDULE[min(max(attempt, 1), len(SCHEDULE)) - 1] * scale
    jitter = random.uniform(-JITTER, JITTER)  # noqa: S311 (jitter, not secrets)  # nosec B311
    return max(0.0, base * (1 + jitter))


def signature(secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The webhook-signature header: one `v1,<base64>` per secret, space-separated."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    latency_ms: int
    body: str | None = None
    error: str | None = None


class ResponseTooSlow(Exception):
    """The response did not arrive whole within the read deadline."""


class Sender:
    """POSTs to checked destinations over pooled connections keyed by the resolved address."""

    def __init__(self, settings: WebhookSettings, max_pools: int = 256) -> None:
        self.settings = settings
        self.policy = settings.policy()
        self.timeout = urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout)
        self._pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()
        self._max_pools = max_pools
        self._lock = threading.Lock()

    def _pool(self, dest: ssrf.Destination) -> urllib3.HTTPConnectionPool:
        key = (dest.scheme, dest.address, dest.port, dest.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            common: dict[str, Any] = {
                "timeout": self.timeout,
                "maxsize": self.settings.concurrency,
                "retries": False,
            }
            if dest.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    dest.address,
                    dest.port,
                    server_hostname=dest.host,
                    assert_hostname=dest.host,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=self.settings.ca_file or certifi.where(),
                    **common,
                )
            else:
                pool = urllib3.HTTPConnectionPool(dest.address, dest.port, **common)
            self._pools[key] = pool
            while len(self._pools) > self._max_pools:
                self._pools.popitem(last=False)[1].close()
            return pool

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        start = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - start) * 1000)

        try:
            dest = ssrf.resolve(url, self.policy)
        except ssrf.Blocked as exc:
            return Outcome(False, None, elapsed(), error=f"blocked: {exc}")
        try:
            response = self._pool(dest).urlopen(
                "POST",
                dest.target,
                body=body,
                headers={**headers, "Host": dest.host_header},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            return Outcome(False, None, elapsed(), error=describe(exc))
        except OSError as exc:
            return Outcome(False, None, elapsed(), error=describe(exc))
        try:
            text = self._read_capped(response, start)
        except (ResponseTooSlow, urllib3.exceptions.HTTPError, OSError) as exc:
            response.close()
            return Outcome(False, response.status, elapsed(), error=describe(exc))
        status = response.status
        ok = 200 <= status < 300
        error = None
        if not ok:
            error = (
                f"redirect not followed (HTTP {status})"
                if 300 <= status < 400
                else f"HTTP {status}"
            )
        return Outcome(ok, status, elapsed(), body=text, error=error)

    def _read_capped(self, response: urllib3.BaseHTTPResponse, start: float) -> str:
        """At most max_response_bytes of the body, within the read deadline; the log keeps
        its first characters. A body over the cap is cut and its connection dropped."""
        cap = self.settings.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        deadline = start + self.settings.connect_timeout + self.settings.read_timeout
        while chunk := response.read1(8192, decode_content=False):  # what has arrived
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise ResponseTooSlow("the response exceeded the read deadline")
            if size > cap:
                response.close()  # the rest is never read; the connection is not reused
                break
        else:
            response.release_conn()
        return b"".join(chunks)[:cap].decode("utf-8", "replace")[:LOG_BODY_CHARS]

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def describe(exc: BaseException) -> str:
    """A short, stable reason for the delivery log (no stack, no secrets)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    reasons: list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]] = [
        (ConnectionResetError, "connection reset by the receiver"),
        (ConnectionRefusedError, "connection refused"),
        (ResponseTooSlow, "timeout: the response was too slow"),
        # urllib3's NewConnectionError subclasses ConnectTimeoutError: real timeouts only
        (urllib3.exceptions.ReadTimeoutError, "timeout: waiting for the response"),
        (TimeoutError, "timeout: connecting"),
    ]
    for kind, reason in reasons:
        if any(isinstance(e, kind) for e in chain):
            return reason
    for e in chain:
        if isinstance(e, urllib3.exceptions.SSLError):
            return f"TLS error: {e}"[:300]
        if isinstance(e, urllib3.exceptions.ProtocolError):
            return f"connection broken: {e}"[:300]
    if any(type(e) is urllib3.exceptions.ConnectTimeoutError for e in chain):
        return "timeout: connecting"
    return f"{type(exc).__name__}: {exc}"[:300]


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    message_id: str
    url: str
    attempt: int
    max_attempts: int
    body: str
    secrets: list[str]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Claimed:
        return cls(
            row["delivery_id"],
            row["message_id"],
            row["url"],
            row["attempt"],
            row["max_attempts"],
            row["body"],
            list(row["secrets"] or []),
        )


class WebhookQueue:
    """One worker's webhook deliveries: claim a batch, send it concurrently, record it."""

    channel = CHANNEL

    def __init__(self, settings: WebhookSettings, sender: Sender | None = None) -> None:
        self.settings = settings
        self.sender = sender or Sender(settings)
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, settings.concurrency), thread_name_prefix="webhook"
        )

    def run_once(self, conn: psycopg.Connection, worker_id: str) -> int:
        """Deliver what is due, as a pipeline, until nothing is due or `busy_for` passes;
        how many deliveries were attempted.

        Up to `batch_size` deliveries are in flight at once. Finished ones are recorded in
        small groups while the others are still being sent, and freed places are claimed
        again at once — so a slow receiver holds only its own places, and an event committed
        meanwhile waits for a free place, not for the slowest delivery of a batch. Every
        claimed delivery is recorded before this returns (a crash leaves its claims to
        `release_stale`).
        """
        deadline = time.monotonic() + self.settings.busy_for
        capacity = max(1, self.settings.batch_size)
        inflight: dict[Future, Claimed] = {}
        finished: list[dict[str, Any]] = []
        attempted = 0
        last_claim = last_flush = 0.0
        while True:
            now = time.monotonic()
            free = capacity - len(inflight)
            if now < deadline and free > 0 and now - last_claim >= PIPELINE_TICK:
                claimed = self._claim(conn, worker_id, free)
                last_claim = 0.0 if len(claimed) == free else now
                for item in claimed:
                    inflight[self._pool.submit(self.deliver, item)] = item
                attempted += len(claimed)
            if not inflight:
                break
            done, _ = wait(inflight, timeout=PIPELINE_TICK, return_when=FIRST_COMPLETED)
            for future in done:
                item = inflight.pop(future)
                outcome, at = future.result()
                finished.append(self._result(item, outcome, at))
            now = time.monotonic()
            if finished and (not inflight or now - last_flush >= PIPELINE_TICK):
                self._finish(conn, worker_id, finished)
                finished, last_flush = [], now
        if finished:
            self._finish(conn, worker_id, finished)
        return attempted

    def _claim(self, conn: psycopg.Connection, worker_id: str, limit: int) -> list[Claimed]:
        with conn.transaction():
            rows = conn.execute(
                "select * from events.claim_deliveries(%s, %s)", (worker_id, limit)
            ).fetchall()
        return [Claimed.from_row(r) for r in rows]

    def _finish(self, conn: psycopg.Connection, worker_id: str, results: list[dict]) -> None:
        with conn.transaction():
            conn.execute(
                "select events.finish_deliveries(%s, %s::jsonb, %s)",
                (worker_id, json.dumps(results), timedelta(seconds=self.settings.disable_after)),
            )
        failed = [r for r in results if not r["ok"]]
        if failed:
            log.warning(
                "webhook attempts failed", count=len(failed), delivered=len(results) - len(failed),
                first_error=failed[0]["error"],
            )  # fmt: skip

    def deliver(self, item: Claimed) -> tuple[Outcome, datetime]:
        """Sign and send one delivery (runs in the thread pool)."""
        now = datetime.now(UTC)
        if not item.secrets:
            return Outcome(False, None, 0, error="the endpoint has no live secret"), now
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": item.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature(item.secrets, item.message_id, now, item.body),
        }
        return self.sender.post(item.url, headers, item.body.encode()), now

    def _result(self, item: Claimed, outcome: Outcome, at: datetime) -> dict[str, Any]:
        retry = 0.0
        if not outcome.ok and item.attempt < item.max_attempts:
            retry = retry_delay(item.attempt, self.settings.retry_scale)
        return {
            "id": item.delivery_id,
            "ok": outcome.ok,
            "status": outcome.status,
            "latency_ms": outcome.latency_ms,
            "body": outcome.body,
            "error": outcome.error,
            "retry_in_ms": round(retry * 1000),
            "attempted_at": at.isoformat(),
        }

    def release_stale(self, conn: psycopg.Connection, timeout: timedelta) -> int:
        """Give back deliveries claimed by workers that died mid-delivery."""
        return conn.execute(
            "select events.release_stale_deliveries(%s) as n", (timeout,)
        ).fetchone()["n"]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sender.close()
