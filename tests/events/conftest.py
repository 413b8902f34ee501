"""Events fixtures: a database per test module (the worker commits) and its owner
connection; helpers are in events_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from flagship.database import connect
from flagship.testing.harness import with_database


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
