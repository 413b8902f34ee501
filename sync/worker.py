"""The outbox worker: claim due jobs, hand each to its topic's handler, record the outcome.

Every state change goes through the `ops.*_outbox` functions, so the delivery rules (claims
with SKIP LOCKED, attempts, dead letters, stale claims) live in SQL and nowhere else.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from types import FrameType
from typing import Protocol

import psycopg
import structlog

from flagship.database import connect, direct_url, pooled
from flagship.logs import logger
from sync.catalogue import Catalogue
from sync.handlers import Handler, Job, Unrecoverable
from sync.observability import WorkerMetrics, report

log = logger("sync.worker")
CHANNEL = "ops_outbox"  # ops.enqueue notifies it with the topic
WAKE_SLICE = 1.0  # seconds: longest a stop request waits while idle
LINGER = 0.25  # seconds: the first wait after a batch (then SYNC_POLL_INTERVAL)
SCHEDULER_JOIN = 10.0  # seconds a stopping worker waits for a schedule in progress


class Queue(Protocol):
    """A delivery queue of its own that the loop also works (sync.webhooks.WebhookQueue)."""

    channel: str  # notified when work is queued

    def run_once(self, conn: psycopg.Connection, worker_id: str) -> int: ...

    def release_stale(self, conn: psycopg.Connection, timeout: timedelta) -> int: ...

    def close(self) -> None: ...


class Worker:
    """Delivers outbox jobs at least once, and never drops one.

    Every claimed job is checked against the event catalogue (`ops.event_types`, see
    sync/catalogue.py) first: a topic without a catalogue row or without a handler, a payload
    that fails the topic's JSON Schema, and a handler raising `Unrecoverable` make the job a
    dead letter at once (`ops.bury_outbox`), with the reason in `last_error` — retrying could
    not fix them. `ops.retry_dead_outbox` queues one again once the cause is fixed.

    A handler that raises anything else is retried with exponential backoff and jitter
    (`ops.fail_outbox` makes it dead after `max_attempts`). Each outcome is committed on its
    own, so a crash loses at most the job in hand, which `release_stale_outbox` gives back
    after `stale_after` — which must therefore exceed the slowest handler.
    """

    def __init__(
        self,
        url: str,
        *,
        handlers: Mapping[str, Handler] | None = None,
        catalogue: Catalogue | None = None,
        worker_id: str | None = None,
        batch_size: int = 10,
        poll_interval: float = 5.0,
        stale_after: timedelta = timedelta(minutes=5),
        release_every: float = 60.0,
        schedule_every: float = 15.0,
        backoff_base: float = 5.0,
        backoff_cap: float = 3600.0,
        metrics: WorkerMetrics | None = None,
        queues: Sequence[Queue] | None = None,
    ) -> None:
        self.url = url
        self.handlers = default_handlers(url) if handlers is None else handlers
        self.catalogue = Catalogue() if catalogue is None else catalogue
        self.queues = default_queues(url) if queues is None else queues
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self.release_every = release_every
        self.schedule_every = schedule_every
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # jobs by topic and outcome, heartbeat (the probe's liveness); see sync.observability
        self.metrics = metrics or WorkerMetrics(url, stale_after=max(60.0, 3 * poll_interval))
        self._conn: psycopg.Connection | None = None
        self._listener: psycopg.Connection | None = None
        self._stop = threading.Event()
        self._last_release: float | None = None
        self._last_schedules: float | None = None
        self._scheduler: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def connection(self) -> psycopg.Connection:
        """The worker's connection (autocommit); reopened after a loss. Without a pooler it
        also LISTENs; behind one (DATABASE_DIRECT_URL) a direct connection listens."""
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url, autocommit=True, application_name="flagship-sync")
            if not pooled():
                for channel in self.channels():
                    self._conn.execute(f"listen {channel}")
        return self._conn

    def listener(self) -> psycopg.Connection:
        """The connection notifications arrive on: a session of its own on the server behind
        a transaction pooler (LISTEN is session state), else the worker's connection."""
        if not pooled():
            return self.connection()
        if self._listener is None or self._listener.closed:
            self._listener = connect(
                direct_url(self.url), autocommit=True, application_name="flagship-sync-listen"
            )
            for channel in self.channels():
                self._listener.execute(f"listen {channel}")
        return self._listener

    def channels(self) -> tuple[str, ...]:
        """The outbox's notification channel and each extra queue's."""
        return (CHANNEL, *(q.channel for q in self.queues))

    def close(self) -> None:
        for conn in (self._conn, self._listener):
            if conn is not None:
                conn.close()
        self._conn = self._listener = None

    def shutdown(self) -> None:
        """Close the connection, the handlers' kept connections and the queues' resources
        (threads, HTTP pools)."""
        self.close()
        for handler in self.handlers.values():
            close = getattr(handler, "close", None)
            if callable(close):
                close()
        for queue in self.queues:
            queue.close()

    def stop(self) -> None:
        """Ask the worker to stop after the job in hand."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            log.info("stopping after the current job", signal=signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    # -- work --------------------------------------------------------------------------------
    def run(self) -> None:
        """Work until `stop()`; database failures are logged and retried, never fatal.
        Schedules run on a thread of their own (`_schedule_loop`), so that a long one (a
        recommendations refresh takes seconds) never holds the deliveries."""
        log.info("worker started", worker_id=self.worker_id)
        scheduler = threading.Thread(target=self._schedule_loop, name="sync-schedules", daemon=True)
        self._scheduler = scheduler
        scheduler.start()
        try:
            self._deliver_loop()
        finally:
            self._stop.set()
            scheduler.join(timeout=SCHEDULER_JOIN)
            self._scheduler = None

    def _deliver_loop(self) -> None:
        failures = 0
        busy = False
        while not self.stopping:
            try:
                handled = self.run_once()
                failures = 0
                if handled:
                    busy = True  # claim again at once: more may have been committed since
                elif not self.stopping:
                    # Right after work, look again soon: a job whose transaction overlapped
                    # the one that notified may commit after the last claim, unannounced
                    # (ops.enqueue lets one transaction at a time notify).
                    self.wait(LINGER if busy else self.poll_interval)
                    busy = False
            except psycopg.Error as exc:
                failures += 1
                delay = self._failed("database error; retrying", exc, failures)
                self.close()
                self._stop.wait(delay)
        self.close()
        log.info("worker stopped", worker_id=self.worker_id)

    def run_once(self) -> int:
        """Claim one batch and process it; the number of jobs processed."""
        conn = self.connection()
        self.metrics.heartbeat()
        self._release_stale_if_due(conn)
        if self._scheduler is None:  # called on its own (tests, one-off runs): schedules too
            self._run_schedules_if_due(conn)
        with conn.transaction():
            rows = conn.execute(
                "select * from ops.claim_outbox(%s, %s)", (self.worker_id, self.batch_size)
            ).fetchall()
        jobs = [Job.from_row(r) for r in rows]
        for done, job in enumerate(jobs):
            if self.stopping:
                self._give_back(conn, jobs[done:])
                return done
            self._process(conn, job)
        handled = len(jobs)
        for queue in self.queues:
            if self.stopping:
                break
            handled += queue.run_once(conn, self.worker_id)
        return handled

    def wait(self, timeout: float) -> bool:
        """Sleep until a job is enqueued, `timeout` passes or a stop is requested."""
        conn = self.listener()
        deadline = time.monotonic() + timeout
        while not self.stopping:
            self.metrics.heartbeat()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Drain every queued notification: one claim answers them all.
            if sum(1 for _ in conn.notifies(timeout=min(remaining, WAKE_SLICE), stop_after=1)):
                return True
        return False

    def backoff(self, attempts: int) -> float:
        """Seconds before retry number `attempts`: doubling, capped, half of it random."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not secrets)  # nosec B311

    # -- one job -----------------------------------------------------------------------------
    def _process(self, conn: psycopg.Connection, job: Job) -> None:
        # Every log line about the job (the handler's too) carries the id of the request
        # that queued it (ops.outbox.request_id) and the job's id and topic.
        with structlog.contextvars.bound_contextvars(
            request_id=job.request_id, job_id=job.id, topic=job.topic
        ):
            reason = self.catalogue.reason_to_refuse(job.topic, job.payload, conn)
            handler = self.handlers.get(job.topic)
            if reason is None and handler is None:
                reason = f"no handler for topic {job.topic!r} in this worker (sync/topics.py)"
            if reason is not None or handler is None:
                self._bury(conn, job, reason or "no handler")
                self.metrics.job(job.topic, "dead")
                return
            started = time.perf_counter()
            try:
                handler(job)
            except Unrecoverable as exc:
                self._bury(conn, job, f"{type(exc).__name__}: {exc}")
                self.metrics.job(job.topic, "dead", time.perf_counter() - started)
                return
            except Exception as exc:
                self._fail(conn, job, exc, time.perf_counter() - started)
                return
            self._complete(conn, job)
            elapsed = time.perf_counter() - started
            self.metrics.job(job.topic, "delivered", elapsed)
            log.info("job delivered", attempts=job.attempts, latency_ms=round(elapsed * 1000, 2))

    def _bury(self, conn: psycopg.Connection, job: Job, reason: str) -> None:
        with conn.transaction():
            conn.execute("select ops.bury_outbox(%s, %s)", (job.id, reason))
        log.error("job dead letter", job_id=job.id, topic=job.topic, reason=reason)

    def _complete(self, conn: psycopg.Connection, job: Job) -> None:
        with conn.transaction():
            conn.execute("select ops.complete_outbox(%s)", (job.id,))

    def _fail(
        self, conn: psycopg.Connection, job: Job, exc: Exception, seconds: float | None = None
    ) -> None:
        delay = self.backoff(job.attempts)
        error = f"{type(exc).__name__}: {exc}"
        with conn.transaction():
            row = conn.execute(
                "select ops.fail_outbox(%s, %s, %s) as status",
                (job.id, error, timedelta(seconds=delay)),
            ).fetchone()
        self.metrics.job(job.topic, "dead" if row["status"] == "dead" else "retry", seconds)
        report(exc, topic=job.topic, job_id=job.id, request_id=job.request_id,
               attempts=job.attempts, outcome=row["status"] or "released")  # fmt: skip
        if row["status"] is None:
            log.warning(
                "job failed after its claim was released", job_id=job.id, topic=job.topic,
                error=error,
            )  # fmt: skip
        elif row["status"] == "dead":
            log.error(
                "job dead", job_id=job.id, topic=job.topic, attempts=job.attempts, error=error
            )
        else:
            log.warning(
                "job attempt failed; retrying", job_id=job.id, topic=job.topic,
                attempts=job.attempts, retry_in=round(delay), error=error, exc_info=exc,
            )  # fmt: skip

    def _give_back(self, conn: psycopg.Connection, jobs: list[Job]) -> None:
        """Return claimed jobs not started before a stop, instead of waiting for staleness.

        Like a stale release, this counts the claim as an attempt; a job on its last attempt
        is left to `release_stale_outbox`, since failing it would make it dead.
        """
        for job in jobs:
            if job.attempts >= job.max_attempts:
                continue
            with conn.transaction():
                conn.execute(
                    "select ops.fail_outbox(%s, %s, interval '0')",
                    (job.id, "released: worker stopped before starting it"),
                )
            self.metrics.job(job.topic, "released")

    def _release_stale_if_due(self, conn: psycopg.Connection) -> None:
        now = time.monotonic()
        if self._last_release is not None and now - self._last_release < self.release_every:
            return
        self._last_release = now
        released = conn.execute(
            "select ops.release_stale_outbox(%s) as n", (self.stale_after,)
        ).fetchone()["n"]
        released += sum(q.release_stale(conn, self.stale_after) for q in self.queues)
        if released:
            log.warning("released stale jobs claimed by lost workers", count=released)

    def _schedule_loop(self) -> None:
        """The schedules' thread: every `schedule_every` seconds, on its own connection, the
        due schedules (ops.run_due_schedules: several workers run each one once). Failures
        are logged, reported and retried with backoff, as in the delivery loop."""
        conn: psycopg.Connection | None = None
        failures = 0
        while not self.stopping:
            try:
                if conn is None or conn.closed:  # closed covers a lost connection too
                    conn = connect(
                        self.url, autocommit=True, application_name="flagship-sync-schedules"
                    )
                self._run_schedules(conn)
                failures = 0
                delay = self.schedule_every
            except Exception as exc:  # the thread must outlive any failure: retried later
                failures += 1
                delay = self._failed("schedules failed; retrying", exc, failures)
                if conn is not None:
                    conn.close()
                conn = None
            self._stop.wait(delay)
        if conn is not None:
            conn.close()

    def _failed(self, event: str, exc: Exception, failures: int) -> float:
        """Log, count and report a loop's failure; the seconds to wait before the next try
        (doubling, capped at 30)."""
        delay = min(30.0, 2.0**failures)
        log.error(event, error=str(exc).strip(), retry_in=delay)
        if isinstance(exc, psycopg.Error):
            self.metrics.db_errors.inc()
        report(exc, worker_id=self.worker_id)
        return delay

    def _run_schedules_if_due(self, conn: psycopg.Connection) -> None:
        """Periodic jobs (ops.schedules): the database decides which are due and who runs them."""
        now = time.monotonic()
        if self._last_schedules is not None and now - self._last_schedules < self.schedule_every:
            return
        self._last_schedules = now
        self._run_schedules(conn)

    def _run_schedules(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            ran = conn.execute("select ops.run_due_schedules() as n").fetchone()["n"]
        if ran:
            log.info("ran scheduled jobs", count=ran)


def default_handlers(url: str) -> dict[str, Handler]:
    """Every registered handler, for the database at `url` (settings read once, here)."""
    from sync import topics
    from sync.settings import WorkerSettings

    return topics.build(WorkerSettings.from_env({**os.environ, "DATABASE_URL": url}))


def default_queues(url: str) -> list[Queue]:
    """The queues every worker works besides the outbox: outgoing webhook deliveries."""
    from sync.settings import WorkerSettings
    from sync.webhooks import WebhookQueue

    settings = WorkerSettings.from_env({**os.environ, "DATABASE_URL": url})
    return [WebhookQueue(settings.webhooks)]
