"""Fixtures: a database clone of this package's own, served by a real gateway server.

The conformance schema `rest_conformance` (tables, a view, functions) is created in that
clone and exposed next to `api`, so the grammar tests do not depend on domain names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flagship.database import connect
from flagship.testing.gateway import GatewayServer, serve_gateway

FIXTURE_SQL = Path(__file__).with_name("conformance.sql")


@pytest.fixture(scope="session")
def gateway_db(test_server) -> Iterator[tuple[str, str]]:
    """(admin url, app url) of a clone with the conformance schema, dropped at the end."""
    name = test_server.clone()
    admin = test_server.admin(name)
    with connect(admin, autocommit=True) as conn:
        conn.execute(FIXTURE_SQL.read_text())
    try:
        yield admin, test_server.app(name)
    finally:
        test_server.drop(name)


@pytest.fixture(scope="session")
def gateway(gateway_db) -> Iterator[GatewayServer]:
    with serve_gateway(gateway_db[1], schemas=("api", "rest_conformance")) as server:
        yield server


@pytest.fixture
def rest(gateway) -> Iterator[httpx.Client]:
    """An HTTP client on /rest/v1 of the conformance schema, with the anon key."""
    headers = {
        "apikey": gateway.anon_key,
        "Authorization": f"Bearer {gateway.anon_key}",
        "Accept-Profile": "rest_conformance",
        "Content-Profile": "rest_conformance",
    }
    with httpx.Client(base_url=f"{gateway.url}/rest/v1", headers=headers, timeout=10) as c:
        yield c
