"""Helpers of the events tests: run the worker, read the mailbox, make users."""

from __future__ import annotations

import json

from flagship.testing.harness import User, create_user, grant_roles, scalar
from sync.worker import Worker


def drain(app_url: str, **options) -> int:
    """Run a worker with every handler until no job is due; how many jobs it processed."""
    total = 0
    with Worker(app_url, **options) as worker:
        while n := worker.run_once():
            total += n
    return total


def mailbox(conn, to: str, template: str | None = None) -> list[dict]:
    return conn.execute(
        "select * from ops.mailbox where lower(to_address) = lower(%s)"
        " and (%s::text is null or template = %s) order by id",
        (to, template, template),
    ).fetchall()


def committed(helper, conn, *args, **kwargs):
    """Run a harness helper (`rpc`, `scalar`, ...) in a transaction of its own, committed."""
    with conn.transaction():
        return helper(conn, *args, **kwargs)


def new_user(conn, username: str, *roles: str, **settings) -> User:
    """A user (with global roles), with `settings` merged into their preferences."""
    with conn.transaction():
        user = grant_roles(conn, create_user(conn, username=username), *roles)
    if settings:
        committed(
            scalar,
            conn,
            user,
            "select api.accounts_update_my_settings(%s)",
            (json.dumps(settings),),
        )
    return user


def dead_or_pending(conn) -> list[dict]:
    """Jobs that did not end well: every test expects none of these."""
    return conn.execute(
        "select id, topic, status, last_error from ops.outbox where status in ('dead', 'pending')"
        " and run_after <= now()"
    ).fetchall()
