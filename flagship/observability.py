"""What the services share for operations: Sentry, the database-side Prometheus collectors
(outbox, pg_stat_statements, replica lag) and a small probe server for processes without an
HTTP app of their own (the worker).

Collectors read the database at scrape time through a `read()` callable the service gives
them (its own pool or a short connection), so a scrape never shares the worker's connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from flagship.logs import logger

log = logger("flagship.observability")


def init_sentry(dsn: str | None, **tags: str) -> bool:
    """Error tracking only when SENTRY_DSN is set; no personal data, no performance traces.
    `tags` (e.g. service="sync") are set on every event."""
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(dsn=dsn, send_default_pii=False, traces_sample_rate=0.0)
    for key, value in tags.items():
        sentry_sdk.set_tag(key, value)
    return True


class OutboxCollector:
    """Outbox depth, age and delivery failures, read from the database at scrape time."""

    def __init__(self, read: Callable[[], dict | None]) -> None:
        self.read = read  # () -> dict from ops.outbox_stats(), or None when unreachable

    def collect(self):
        stats = self.read()
        up = GaugeMetricFamily("flagship_outbox_up", "1 when the outbox could be read.")
        up.add_metric([], 0 if stats is None else 1)
        yield up
        if stats is None:
            return
        jobs = GaugeMetricFamily(
            "flagship_outbox_jobs", "Outbox jobs by status.", labels=["status"]
        )
        for status in ("pending", "processing", "dead"):
            jobs.add_metric([status], stats[status])
        yield jobs
        yield GaugeMetricFamily(
            "flagship_outbox_retrying_jobs",
            "Pending jobs whose last delivery attempt failed.",
            value=stats["retrying"],
        )
        yield GaugeMetricFamily(
            "flagship_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending job.",
            value=stats["oldest_pending_age"],
        )


class DatabaseCollector:
    """Top statements from pg_stat_statements (optional extension), replica lag and failing
    webhook endpoints: `read()` returns the row of DATABASE_STATS_SQL, or None when the
    database cannot be reached."""

    def __init__(self, read: Callable[[], dict[str, Any] | None]) -> None:
        self.read = read

    def collect(self):
        data = self.read() or {}
        stats = data.get("statements") or {"available": False}
        available = GaugeMetricFamily(
            "flagship_db_statements_available",
            "1 when pg_stat_statements is installed and loaded (the statement metrics follow).",
        )
        available.add_metric([], 1 if stats.get("available") else 0)
        yield available
        labels = ["queryid", "query"]
        calls = GaugeMetricFamily(
            "flagship_db_statement_calls", "Calls of a top statement (cumulative).", labels=labels
        )
        mean = GaugeMetricFamily(
            "flagship_db_statement_mean_seconds", "Mean execution time of a statement.",
            labels=labels,
        )  # fmt: skip
        total = GaugeMetricFamily(
            "flagship_db_statement_total_seconds", "Total execution time of a statement.",
            labels=labels,
        )  # fmt: skip
        for row in stats.get("statements") or []:
            key = [row["queryid"], row["query"]]
            calls.add_metric(key, row["calls"])
            mean.add_metric(key, row["mean_ms"] / 1000)
            total.add_metric(key, row["total_ms"] / 1000)
        yield calls
        yield mean
        yield total
        lag = GaugeMetricFamily(
            "flagship_db_replica_lag_seconds",
            "Replication replay lag per streaming replica (on a standby: its own).",
            labels=["replica"],
        )
        for row in (data.get("replication") or {}).get("replicas") or []:
            lag.add_metric([row["replica"] or "unnamed"], float(row["lag_seconds"]))
        yield lag
        failing = GaugeMetricFamily(
            "flagship_webhook_endpoint_failing_seconds",
            "Seconds since deliveries to an outgoing webhook endpoint started failing (0: ok).",
            labels=["endpoint", "enabled"],
        )
        for row in data.get("webhooks") or []:
            enabled = "true" if row["enabled"] else "false"
            failing.add_metric([row["endpoint"], enabled], float(row["failing_seconds"]))
        yield failing


DATABASE_STATS_SQL = (
    "select ops.statement_stats(20) as statements, ops.replica_lag() as replication,"
    " ops.webhook_endpoint_health() as webhooks"
)


class ProbeServer:
    """`/healthz` (liveness), `/readyz` (readiness) and `/metrics` on host:port, in a thread.

    `live()` and `ready()` return (ok, detail); the answer is 200 or 503 with a JSON body."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        live: Callable[[], tuple[bool, str]],
        ready: Callable[[], tuple[bool, str]],
    ) -> None:
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, generate_latest(probe.registry), CONTENT_TYPE_LATEST)
                elif path in ("/healthz", "/readyz"):
                    ok, detail = (probe.live if path == "/healthz" else probe.ready)()
                    status = "ok" if ok else "unavailable"
                    body = f'{{"status": "{status}", "detail": "{detail}"}}'.encode()
                    self._answer(200 if ok else 503, body, "application/json")
                else:
                    self._answer(404, b'{"status": "not found"}', "application/json")

            def _answer(self, status: int, body: bytes, media: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # scrapes are not worth a log line each

        self.registry = registry
        self.live = live
        self.ready = ready
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="probe", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> ProbeServer:
        self.thread.start()
        log.info("probe listening", host=self.server.server_address[0], port=self.port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
