"""The worker's operations side: Prometheus metrics and the health probe over real HTTP, and
errors reported to Sentry through the real sentry-sdk, received by a local fake Sentry."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
import sentry_sdk

from flagship.database import connect
from flagship.observability import init_sentry
from flagship.testing.harness import register_test_topics, with_database
from sync.observability import WorkerMetrics
from sync.worker import Worker


@pytest.fixture
def app_url(fresh_db, test_server) -> str:
    with connect(fresh_db, autocommit=True) as conn:
        register_test_topics(conn, "tests.test_sync_observability", "test.ok", "test.fails")
    return with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)


def enqueue(url: str, topic: str, request_id: str | None = None) -> int:
    with connect(url) as conn:
        if request_id:
            conn.execute(
                "select set_config('request.headers', %s, true)",
                (json.dumps({"x-request-id": request_id}),),
            )
        job = conn.execute("select ops.enqueue(%s, '{}'::jsonb) as id", (topic,)).fetchone()
        conn.commit()
    return job["id"]


def boom(job):
    raise RuntimeError(f"provider refused job {job.id}")


def metric(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        key, value = line.rsplit(" ", 1)
        if key == (f"{name}{{{want}}}" if want else name):
            return float(value)
    return None


def test_probe_serves_health_readiness_and_metrics(app_url, fresh_db):
    for _ in range(2):
        enqueue(fresh_db, "test.ok", "req-probe-1")
    dead = enqueue(fresh_db, "test.fails")
    with connect(fresh_db, autocommit=True) as admin:
        admin.execute("update ops.outbox set max_attempts = 1 where id = %s", (dead,))
    metrics = WorkerMetrics(app_url)
    probe = metrics.serve("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{probe.port}"
        handlers = {"test.ok": lambda job: None, "test.fails": boom}
        with Worker(app_url, handlers=handlers, metrics=metrics) as worker:
            assert worker.run_once() == 3
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ok"
        text = httpx.get(f"{base}/metrics").text
        assert metric(text, "flagship_sync_jobs_total", topic="test.ok", outcome="delivered") == 2
        assert metric(text, "flagship_sync_jobs_total", topic="test.fails", outcome="dead") == 1
        assert metric(text, "flagship_outbox_jobs", status="dead") == 1
        assert metric(text, "flagship_outbox_up") == 1
        assert metric(text, "flagship_sync_job_duration_seconds_count", topic="test.ok") == 2
        # pg_stat_statements is optional: absent here, said so, and no statement series
        available = metric(text, "flagship_db_statements_available")
        assert available in (0, 1)
        if available == 0:
            assert "flagship_db_statement_calls{" not in text
        assert httpx.get(f"{base}/nope").status_code == 404
        # the loop stops turning: liveness fails; the database goes away: readiness fails
        metrics.stale_after = 0
        assert httpx.get(f"{base}/healthz").status_code == 503
    finally:
        probe.stop()
    gone = WorkerMetrics("postgresql://127.0.0.1:1/none?connect_timeout=1")
    probe = gone.serve("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{probe.port}"
        assert httpx.get(f"{base}/readyz").status_code == 503
        assert metric(httpx.get(f"{base}/metrics").text, "flagship_outbox_up") == 0
    finally:
        probe.stop()


class FakeSentry:
    """Sentry's ingestion endpoint on loopback: keeps every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes: list[list[dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                items = []
                for line in body.splitlines():
                    try:
                        items.append(json.loads(line))
                    except ValueError:
                        continue
                fake.envelopes.append(items)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"

    def events(self) -> list[dict]:
        return [i for env in self.envelopes for i in env if "exception" in i]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_sentry():
    fake = FakeSentry()
    try:
        yield fake
    finally:
        sentry_sdk.init()  # back to a disabled client for the other tests
        fake.close()


def test_failed_deliveries_reach_sentry_with_job_and_request_ids(app_url, fresh_db, fake_sentry):
    assert init_sentry(fake_sentry.dsn, service="sync")
    job_id = enqueue(fresh_db, "test.fails", "req-sentry-7")
    with Worker(app_url, handlers={"test.fails": boom}) as worker:
        assert worker.run_once() == 1
    sentry_sdk.flush(timeout=10)
    events = fake_sentry.events()
    assert len(events) == 1, fake_sentry.envelopes
    event = events[0]
    (exc,) = event["exception"]["values"]
    assert exc["type"] == "RuntimeError" and f"job {job_id}" in exc["value"]
    assert event["tags"]["topic"] == "test.fails"
    assert event["tags"]["job_id"] == str(job_id)
    assert event["tags"]["request_id"] == "req-sentry-7"
    assert event["tags"]["service"] == "sync"
    assert event["tags"]["outcome"] == "pending"
