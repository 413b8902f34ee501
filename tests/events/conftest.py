"""Events fixtures: a database per test module (the worker commits), its owner connection,
a worker with every handler, and scene builders shared by the events tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from flagship.database import connect
from flagship.testing.harness import User, create_user, grant_roles, scalar, with_database
from sync.worker import Worker


@pytest.fixture(scope="module")
def events_db(test_server) -> Iterator[tuple[str, str]]:
    """(admin_url, app_url) of a database of this module's own."""
    name = test_server.clone()
    try:
        admin = test_server.admin(name)
        yield admin, with_database(admin, urlsplit(admin).path.lstrip("/"), test_server.app_user)
    finally:
        test_server.drop(name)


@pytest.fixture(scope="module")
def app_url(events_db) -> str:
    return events_db[1]


@pytest.fixture
def admin(events_db) -> Iterator:
    """The module's database as its owner, autocommit (what the worker sees is committed)."""
    with connect(events_db[0], autocommit=True) as conn:
        yield conn


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
