"""The worker's metrics, probe and error reports.

- Prometheus: jobs by topic and outcome, job duration, loop heartbeat and database errors,
  plus the outbox (depth, oldest pending age, dead letters) and database collectors shared
  with the edge (`flagship.observability`), read at scrape time over a short connection.
- Probe (SYNC_PROBE_PORT): `/healthz` is 200 while the work loop turns (a heartbeat at each
  claim or idle wake-up), `/readyz` 200 while the database answers, `/metrics`.
- Sentry (SENTRY_DSN): every failed delivery and database error, tagged with the topic, the
  job id and the request id that caused the job.
"""

from __future__ import annotations

import time

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from flagship import observability
from flagship.database import connect

OUTCOMES = ("delivered", "retry", "dead", "released")
PROBE_TIMEOUT = 2  # seconds a readiness or scrape connection may take


class WorkerMetrics:
    def __init__(self, url: str, *, stale_after: float = 60.0) -> None:
        self.url = url
        self.stale_after = stale_after  # seconds without a heartbeat before /healthz fails
        self.registry = CollectorRegistry()
        self.jobs = Counter(
            "flagship_sync_jobs",
            "Outbox jobs the worker finished handling, by topic and outcome (delivered, retry,"
            " dead: failed its last attempt or refused by the event catalogue, released: given"
            " back at stop).",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "flagship_sync_job_duration_seconds",
            "Time a handler took, by topic.",
            ["topic"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.heartbeat_at = Gauge(
            "flagship_sync_heartbeat_timestamp_seconds",
            "Unix time of the work loop's last turn.",
            registry=self.registry,
        )
        self.db_errors = Counter(
            "flagship_sync_database_errors",
            "Database errors the work loop recovered from.",
            registry=self.registry,
        )
        self.registry.register(observability.OutboxCollector(self._read("outbox")))
        self.registry.register(observability.DatabaseCollector(self._read("database")))
        self._last_beat = time.monotonic()
        self.heartbeat()

    def _read(self, what: str):
        query = (
            "select * from ops.outbox_stats()"
            if what == "outbox"
            else observability.DATABASE_STATS_SQL
        )

        def read() -> dict | None:
            try:
                with connect(self.url, connect_timeout=PROBE_TIMEOUT) as conn:
                    return conn.execute(query).fetchone()
            except psycopg.Error:
                return None

        return read

    def heartbeat(self) -> None:
        self._last_beat = time.monotonic()
        self.heartbeat_at.set_to_current_time()

    def job(self, topic: str, outcome: str, seconds: float | None = None) -> None:
        self.jobs.labels(topic, outcome).inc()
        if seconds is not None:
            self.duration.labels(topic).observe(seconds)

    def live(self) -> tuple[bool, str]:
        quiet = time.monotonic() - self._last_beat
        return quiet < self.stale_after, f"last loop turn {quiet:.0f}s ago"

    def ready(self) -> tuple[bool, str]:
        try:
            with connect(self.url, connect_timeout=PROBE_TIMEOUT) as conn:
                conn.execute("select 1")
            return True, "database reachable"
        except psycopg.Error as exc:
            return False, f"database unreachable: {type(exc).__name__}"

    def serve(self, host: str, port: int) -> observability.ProbeServer:
        return observability.ProbeServer(host, port, self.registry, self.live, self.ready).start()


def report(exc: BaseException, **tags: object) -> None:
    """Send an exception to Sentry with tags (a no-op unless Sentry was initialised)."""
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        for key, value in tags.items():
            if value is not None:
                scope.set_tag(key, str(value))
        sentry_sdk.capture_exception(exc)
