"""Webhook test helpers: a committed scene in a database of the test's own (the worker
commits), local delivery settings, and reading the rows back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg

from flagship.database import connect
from flagship.testing.harness import User, create_user, grant_roles, rpc
from sync.settings import WebhookSettings
from sync.webhooks import WebhookQueue

SOLVE = {
    "solve_id": 7,
    "event_id": "4e5f6071-8293-4dae-bfc0-3b4c5d6e7f80",
    "challenge_id": "5f607182-93a4-4ebf-c0d1-4c5d6e7f8091",
    "team_id": "60718293-a4b5-4fc0-d1e2-5d6e7f8091a2",
    "user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00",
    "points": 500,
    "blood_rank": 1,
}


def local_settings(**overrides: Any) -> WebhookSettings:
    """Delivery to a receiver on 127.0.0.1 over http, with short timeouts."""
    base: dict[str, Any] = {
        "allow_http": True,
        "allow_addresses": ("127.0.0.1",),
        "connect_timeout": 1.0,
        "read_timeout": 0.5,
        "concurrency": 4,
    }
    return WebhookSettings(**{**base, **overrides})


@dataclass
class Hooks:
    conn: psycopg.Connection  # superuser, commits after each helper
    app_url: str  # what the worker connects as
    admin: User

    def endpoint(self, url: str, topics: list[str] | None = None) -> dict:
        ep = rpc(self.conn, self.admin, "events_create_endpoint", p_url=url, p_topics=topics)
        self.conn.commit()
        return ep

    def call(self, fn: str, **kwargs: Any) -> Any:
        result = rpc(self.conn, self.admin, fn, **kwargs)
        self.conn.commit()
        return result

    def emit(self, topic: str = "ctf.solve", payload: dict | None = None, n: int = 1) -> None:
        for i in range(n):
            data = dict(payload or {**SOLVE, "solve_id": i + 1})
            self.conn.execute("select ops.enqueue(%s, %s::jsonb)", (topic, json.dumps(data)))
        self.conn.commit()

    def sql(self, statement: str, params: Any = None) -> list[dict]:
        cur = self.conn.execute(statement, params)
        rows = cur.fetchall() if cur.description else []
        self.conn.commit()
        return rows

    def deliveries(self) -> list[dict]:
        return self.sql("select * from events.deliveries order by id")

    def attempts(self) -> list[dict]:
        return self.sql("select * from events.delivery_attempts order by id")

    def make_due(self) -> None:
        """Move time forward for the queue: every pending delivery is due now."""
        self.sql("update events.deliveries set next_attempt_at = now() where status = 'pending'")


def build_hooks(admin_url: str, app_url: str) -> Hooks:
    conn = connect(admin_url)
    admin = grant_roles(conn, create_user(conn, username="hooks_admin"), "admin")
    conn.commit()
    return Hooks(conn, app_url, admin)


def run_queue(hooks: Hooks, queue: WebhookQueue, worker_id: str = "test-worker") -> int:
    with connect(hooks.app_url, autocommit=True) as c:
        return queue.run_once(c, worker_id)
