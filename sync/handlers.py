"""Topic → handler registry for outbox jobs: one decorator, `@handler("topic")`.

A handler module declares each topic it delivers with a factory::

    @handler("email.send")
    def email_send(settings: WorkerSettings) -> Handler:
        return EmailDelivery(settings)

The worker builds every registered handler once, from its settings (`sync.topics.build`).
A handler delivers one job and returns; raising means "retry later" (the worker backs off,
and the job goes dead after its `max_attempts`), raising `Unrecoverable` means "never" (a
dead letter at once). Every topic also has a row in the event catalogue (ops.event_types:
schema, example, this handler's module); the worker validates payloads before the handler
sees them. Delivery is at least once, so a handler
must be idempotent: pass `job.idempotency_key` to the provider (Resend, Stripe, webhooks).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from flagship.database import connect
from flagship.logs import logger
from sync.settings import WorkerSettings


@dataclass(frozen=True)
class Job:
    """A claimed outbox row, as a handler sees it."""

    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    dedupe_key: str | None = None
    request_id: str | None = None  # X-Request-Id of the request that queued it

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(
            id=row["id"],
            topic=row["topic"],
            payload=row["payload"] or {},
            attempts=row["attempts"],
            max_attempts=row["max_attempts"],
            dedupe_key=row.get("dedupe_key"),
            request_id=row.get("request_id"),
        )

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of this job, so a retried delivery is not repeated."""
        return f"flagship-outbox-{self.id}"


class Unrecoverable(Exception):
    """Raised by a handler for a job no retry can deliver: the worker makes it a dead letter
    at once, with this message as the reason (other exceptions are retried)."""


Handler = Callable[[Job], None]
HandlerFactory = Callable[[WorkerSettings], Handler]

# Topic → factory, filled by `@handler` when the handler modules are imported (sync.topics).
REGISTRY: dict[str, HandlerFactory] = {}


def handler(topic: str) -> Callable[[HandlerFactory], HandlerFactory]:
    """Decorator: make `factory(settings)` build the handler of `topic` (one per topic)."""

    def wrap(factory: HandlerFactory) -> HandlerFactory:
        if topic in REGISTRY:
            raise ValueError(f"topic {topic!r} already has a handler")
        REGISTRY[topic] = factory
        return factory

    return wrap


class PayloadCall:
    """A handler that passes the job's payload to one SQL function (`private.<name>(jsonb)`)
    in its own transaction — for topics whose delivery is a database write (notifications,
    realtime broadcasts, imports). The function must be idempotent, as delivery is at least
    once.

    Its connection is kept between jobs (one per thread; reopened after a loss, rolled back
    after a failed job): a new connection per job cost more than most deliveries. Nothing of
    a job outlives its transaction, so this holds behind a transaction pooler too."""

    def __init__(self, url: str, function: str) -> None:
        self.url = url
        self.function = function
        self.statement = sql.SQL("select {}(%s::jsonb) as r").format(
            sql.Identifier(*function.split("."))
        )
        self.log = logger(f"sync.{function}")
        self._local = threading.local()

    def _connection(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:  # closed covers a lost connection too
            conn = connect(self.url, application_name="flagship-sync")
            self._local.conn = conn
        return conn

    def __call__(self, job: Job) -> Any:
        conn = self._connection()
        try:
            result = conn.execute(self.statement, (json.dumps(job.payload),)).fetchone()["r"]
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        self.log.info("delivered", job_id=job.id, topic=job.topic, result=str(result))
        return result

    def close(self) -> None:
        """Close this thread's connection (the worker's shutdown calls it)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
