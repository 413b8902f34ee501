"""Edge fixtures: a database per test module (the edge commits) and an app client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from edge_helpers import make_client

from flagship.database import connect


@pytest.fixture(scope="module")
def edge_db(test_server) -> Iterator[tuple[str, str]]:
    """(admin_url, app_url) of a database of this module's own."""
    name = test_server.clone()
    try:
        yield test_server.admin(name), test_server.app(name)
    finally:
        test_server.drop(name)


@pytest.fixture(scope="module")
def admin_url(edge_db) -> str:
    return edge_db[0]


@pytest.fixture(scope="module")
def app_url(edge_db) -> str:
    return edge_db[1]


@pytest.fixture
def admin(admin_url) -> Iterator:
    with connect(admin_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def client(app_url) -> Iterator:
    with make_client(app_url) as c:
        yield c
