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
from collections.abc import Mapping
from datetime import timedelta
from types import FrameType

import psycopg

from flagship.database import connect
from flagship.logs import logger
from sync.catalogue import Catalogue
from sync.handlers import Handler, Job, Unrecoverable

log = logger("sync.worker")
CHANNEL = "ops_outbox"  # ops.enqueue notifies it with the topic
WAKE_SLICE = 1.0  # seconds: longest a stop request waits while idle


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
    ) -> None:
        self.url = url
        self.handlers = default_handlers(url) if handlers is None else handlers
        self.catalogue = Catalogue() if catalogue is None else catalogue
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self.release_every = release_every
        self.schedule_every = schedule_every
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._conn: psycopg.Connection | None = None
        self._stop = threading.Event()
        self._last_release: float | None = None
        self._last_schedules: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connection(self) -> psycopg.Connection:
        """The worker's one connection (autocommit, listening); reopened after a loss."""
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url, autocommit=True, application_name="flagship-sync")
            self._conn.execute(f"listen {CHANNEL}")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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
        """Work until `stop()`; database failures are logged and retried, never fatal."""
        log.info("worker started", worker_id=self.worker_id)
        failures = 0
        while not self.stopping:
            try:
                handled = self.run_once()
                failures = 0
                if handled < self.batch_size and not self.stopping:
                    self.wait(self.poll_interval)
            except psycopg.Error as exc:
                failures += 1
                delay = min(30.0, 2.0**failures)
                log.error("database error; retrying", error=str(exc).strip(), retry_in=delay)
                self.close()
                self._stop.wait(delay)
        self.close()
        log.info("worker stopped", worker_id=self.worker_id)

    def run_once(self) -> int:
        """Claim one batch and process it; the number of jobs processed."""
        conn = self.connection()
        self._release_stale_if_due(conn)
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
        return len(jobs)

    def wait(self, timeout: float) -> bool:
        """Sleep until a job is enqueued, `timeout` passes or a stop is requested."""
        conn = self.connection()
        deadline = time.monotonic() + timeout
        while not self.stopping:
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
        reason = self.catalogue.reason_to_refuse(job.topic, job.payload, conn)
        handler = self.handlers.get(job.topic)
        if reason is None and handler is None:
            reason = f"no handler for topic {job.topic!r} in this worker (sync/topics.py)"
        if reason is not None or handler is None:
            self._bury(conn, job, reason or "no handler")
            return
        try:
            handler(job)
        except Unrecoverable as exc:
            self._bury(conn, job, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:
            self._fail(conn, job, exc)
            return
        self._complete(conn, job)

    def _bury(self, conn: psycopg.Connection, job: Job, reason: str) -> None:
        with conn.transaction():
            conn.execute("select ops.bury_outbox(%s, %s)", (job.id, reason))
        log.error("job dead letter", job_id=job.id, topic=job.topic, reason=reason)

    def _complete(self, conn: psycopg.Connection, job: Job) -> None:
        with conn.transaction():
            conn.execute("select ops.complete_outbox(%s)", (job.id,))

    def _fail(self, conn: psycopg.Connection, job: Job, exc: Exception) -> None:
        delay = self.backoff(job.attempts)
        error = f"{type(exc).__name__}: {exc}"
        with conn.transaction():
            row = conn.execute(
                "select ops.fail_outbox(%s, %s, %s) as status",
                (job.id, error, timedelta(seconds=delay)),
            ).fetchone()
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

    def _release_stale_if_due(self, conn: psycopg.Connection) -> None:
        now = time.monotonic()
        if self._last_release is not None and now - self._last_release < self.release_every:
            return
        self._last_release = now
        released = conn.execute(
            "select ops.release_stale_outbox(%s) as n", (self.stale_after,)
        ).fetchone()["n"]
        if released:
            log.warning("released stale jobs claimed by lost workers", count=released)

    def _run_schedules_if_due(self, conn: psycopg.Connection) -> None:
        """Periodic jobs (ops.schedules): the database decides which are due and who runs them."""
        now = time.monotonic()
        if self._last_schedules is not None and now - self._last_schedules < self.schedule_every:
            return
        self._last_schedules = now
        with conn.transaction():
            ran = conn.execute("select ops.run_due_schedules() as n").fetchone()["n"]
        if ran:
            log.info("ran scheduled jobs", count=ran)


def default_handlers(url: str) -> dict[str, Handler]:
    """Every registered handler, for the database at `url` (settings read once, here)."""
    from sync import topics
    from sync.settings import WorkerSettings

    return topics.build(WorkerSettings.from_env({**os.environ, "DATABASE_URL": url}))
