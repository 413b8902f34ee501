"""CTF fixtures (helpers live in ctfkit.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ctfkit import Scene, build_scene

from flagship.testing.gateway import GatewayServer, serve_gateway


@pytest.fixture
def ctf(db) -> Scene:
    return build_scene(db)


@pytest.fixture
def served(test_server) -> Iterator[tuple[str, str, GatewayServer]]:
    """A database of the test's own (admin url, app url) served by a real gateway."""
    name = test_server.clone()
    try:
        with serve_gateway(test_server.app(name)) as server:
            yield test_server.admin(name), test_server.app(name), server
    finally:
        test_server.drop(name)
