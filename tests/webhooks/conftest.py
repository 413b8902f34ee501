"""Webhook fixtures (helpers live in hookkit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from hookkit import Hooks, build_hooks

from flagship.testing.harness import with_database


@pytest.fixture
def hooks(fresh_db, test_server) -> Iterator[Hooks]:
    """A committed scene (an admin) in a database of this test's own."""
    app_url = with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)
    h = build_hooks(fresh_db, app_url)
    try:
        yield h
    finally:
        h.conn.close()
