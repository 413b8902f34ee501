"""Edge fixtures: a database per test module (the edge commits) and an app client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from edge_helpers import make_client

from flagship.database import connect


@pytest.fixture(scope="module")
def edge_db(test_server) -> Iterator[tuple[str, str]]:
    """(admin_url, app_url) of a database of this module's own."""
    with test_server.database() as urls:
        yield urls


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
