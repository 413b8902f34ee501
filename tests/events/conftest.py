"""Events fixtures: a database per test module (the worker commits) and its owner
connection; helpers are in events_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flagship.database import connect


@pytest.fixture(scope="module")
def events_db(test_server) -> Iterator[tuple[str, str]]:
    """(admin_url, app_url) of a database of this module's own."""
    with test_server.database() as urls:
        yield urls


@pytest.fixture(scope="module")
def app_url(events_db) -> str:
    return events_db[1]


@pytest.fixture
def admin(events_db) -> Iterator:
    """The module's database as its owner, autocommit (what the worker sees is committed)."""
    with connect(events_db[0], autocommit=True) as conn:
        yield conn
