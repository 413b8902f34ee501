"""The event catalogue as the worker sees it: topic → version and payload validator.

`ops.event_types` holds one row per outbox topic (see the events_catalogue migration and
docs/events.md). The worker checks every claimed job against it before handing it to a
handler: a topic without a row, or a payload that fails the topic's JSON Schema, is a dead
letter with the reason — never acknowledged and dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from flagship.json_schema import validator

# Seconds: a refusal (unknown topic, invalid payload) reloads the catalogue first when it is
# older than this, so a topic registered or a schema changed by a migration applied while
# the worker runs is honoured instead of burying its jobs.
REFRESH_AFTER = 1.0


@dataclass(frozen=True)
class EventType:
    topic: str
    version: int
    handler: str
    webhooks: bool
    payload_schema: dict[str, Any]
    example: dict[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> EventType:
        return cls(
            topic=row["topic"],
            version=row["version"],
            handler=row["handler"],
            webhooks=row["webhooks"],
            payload_schema=row["payload_schema"],
            example=row["example"],
        )

    def validator(self) -> Draft202012Validator:
        """The topic's payload validator (formats such as uuid and email are checked)."""
        Draft202012Validator.check_schema(self.payload_schema)
        return validator(self.payload_schema)


def payload_errors(validator: Draft202012Validator, payload: Any, limit: int = 5) -> list[str]:
    """Readable reasons a payload fails its schema (`path: message`), the first `limit`."""
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(payload)'}: {e.message}"
        for e in errors[:limit]
    ]


def load_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute(
        "select topic, version, handler, webhooks, payload_schema, example"
        " from ops.event_types order by topic"
    ).fetchall()


class Catalogue:
    """Topic → compiled validator; reloaded from the database when a topic is unknown."""

    def __init__(self, rows: Iterable[Mapping[str, Any]] = (), *, loaded_at: float = 0.0):
        self.types: dict[str, EventType] = {}
        self._validators: dict[str, Draft202012Validator | str] = {}
        self.loaded_at = loaded_at
        self._set(rows)

    def _set(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.types = {r["topic"]: EventType.from_row(r) for r in rows}
        self._validators = {}
        for topic, event in self.types.items():
            try:
                self._validators[topic] = event.validator()
            except SchemaError as exc:
                # A broken schema is the catalogue's fault: its jobs wait as dead letters.
                self._validators[topic] = f"the catalogue's schema is invalid: {exc.message}"

    def load(self, conn: psycopg.Connection) -> Catalogue:
        self._set(load_rows(conn))
        self.loaded_at = time.monotonic()
        return self

    def reason_to_refuse(
        self, topic: str, payload: Any, conn: psycopg.Connection | None = None
    ) -> str | None:
        """None when the job may be delivered; otherwise why it is a dead letter."""
        reason = self._check(topic, payload)
        stale = not self.loaded_at or time.monotonic() - self.loaded_at >= REFRESH_AFTER
        if reason is not None and conn is not None and stale:
            self.load(conn)
            reason = self._check(topic, payload)
        return reason

    def _check(self, topic: str, payload: Any) -> str | None:
        validator = self._validators.get(topic)
        if validator is None:
            return f"unknown topic {topic!r}: not in the event catalogue (ops.event_types)"
        if isinstance(validator, str):
            return validator
        errors = payload_errors(validator, payload)
        if errors:
            version = self.types[topic].version
            return f"payload fails the schema of {topic} v{version}: " + "; ".join(errors)
        return None
