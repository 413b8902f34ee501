"""Topic → handler registry for outbox jobs.

A handler delivers one job and returns; raising means "retry later" (the worker backs off,
and the job goes dead after its `max_attempts`). Delivery is at least once, so a handler
must be idempotent: pass `job.idempotency_key` to the provider (Resend, Stripe, webhooks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    """A claimed outbox row, as a handler sees it."""

    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    dedupe_key: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(
            id=row["id"],
            topic=row["topic"],
            payload=row["payload"] or {},
            attempts=row["attempts"],
            max_attempts=row["max_attempts"],
            dedupe_key=row.get("dedupe_key"),
        )

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of this job, so a retried delivery is not repeated."""
        return f"flagship-outbox-{self.id}"


Handler = Callable[[Job], None]

# Filled by `register` as delivery modules are written (email, webhooks, ...).
HANDLERS: dict[str, Handler] = {}


def register(topic: str) -> Callable[[Handler], Handler]:
    """Decorator: make `fn` the handler of `topic` (one handler per topic)."""

    def wrap(fn: Handler) -> Handler:
        if topic in HANDLERS:
            raise ValueError(f"topic {topic!r} already has a handler")
        HANDLERS[topic] = fn
        return fn

    return wrap
